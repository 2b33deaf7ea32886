"""Address book rules, in plain words:

- A shopper keeps at most :data:`MAX_ADDRESSES` addresses.
- While the book is not empty exactly one address is the default (默认地址): the first
  address becomes it, making another the default unsets the old one, and deleting the
  default promotes the most recently added of the rest. The default cannot simply be
  switched off; another address is made the default instead.
- The phone is a mainland China mobile number, 11 digits ``1[3-9]XXXXXXXXX``; the
  postal code, when given, is 6 digits.
- An order does not point at an address: it keeps a copy (snapshot) of it, so editing
  or deleting the address later leaves the order as it was placed.
"""

from __future__ import annotations

import re

MAX_ADDRESSES = 20
CN_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
# The one rule for a mainland mobile number (address book, checkout, phone binding; the
# storefront's SY.isMobile is the same pattern) and the one message when it is broken.
CN_MOBILE_MESSAGE = "请输入 11 位手机号（1 开头） / Enter an 11-digit mainland China mobile number"
POSTAL_CODE_RE = re.compile(r"^\d{6}$")


def is_cn_mobile(phone: str) -> bool:
    return bool(CN_MOBILE_RE.fullmatch(phone))


def is_postal_code(code: str) -> bool:
    return bool(POSTAL_CODE_RE.fullmatch(code))


def can_add_address(count: int) -> bool:
    return count < MAX_ADDRESSES
