"""Identity rules.

- A shopper's *entry attribution* is fixed at first registration: the WeChat scene
  value, the channel code carried in a QR code's ``scene`` parameter (≤ 32 visible
  characters, e.g. ``c=AB12&s=9``), the sharer who brought them and the device's
  anonymous id. Later logins never overwrite it.
- Operators have one role. Owners may do everything; operators run the store but do
  not manage accounts; analysts read; support handles orders and after-sales but
  cannot touch prices, stock or the catalog.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, unquote, urlsplit

from siyu.fields import MAX_ID

ANONYMOUS_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")

CHANNEL_CODE_RE = re.compile(r"^[0-9A-Za-z_-]{1,32}$")
QR_SCENE_RE = re.compile(r"^[0-9A-Za-z!#$&'()*+,/:;=?@\-._~]{1,32}$")


@dataclass(frozen=True)
class EntryAttribution:
    scene: int | None
    channel_code: str | None
    sharer_id: int | None


def is_valid_anonymous_id(value: str) -> bool:
    return bool(ANONYMOUS_ID_RE.match(value))


def parse_entry(scene: int | None, qr_scene: str | None, sharer_id: int | None) -> EntryAttribution:
    """Read the channel code and sharer from a QR ``scene`` parameter.

    ``c=AB12&s=9`` → channel ``AB12``, sharer 9; a bare ``AB12`` is a channel code.
    An explicit ``sharer_id`` (from a share card's path) wins over the QR's.
    Malformed values are ignored rather than failing the login: attribution is
    best effort, a shopper must always be able to get in.
    """
    channel: str | None = None
    qr_sharer: int | None = None
    if qr_scene:
        decoded = unquote(qr_scene)
        if QR_SCENE_RE.match(decoded):
            if "=" in decoded:
                params = dict(parse_qsl(decoded, keep_blank_values=False))
                code = params.get("c") or params.get("ch")
                if code and CHANNEL_CODE_RE.match(code):
                    channel = code
                sharer_raw = params.get("s") or params.get("i")
                if sharer_raw and sharer_raw.isdigit() and 0 < int(sharer_raw) <= MAX_ID:
                    qr_sharer = int(sharer_raw)
            elif CHANNEL_CODE_RE.match(decoded):
                channel = decoded
    if scene is not None and not 1000 <= scene <= 9999:
        scene = None
    return EntryAttribution(
        scene=scene,
        channel_code=channel,
        sharer_id=sharer_id if sharer_id and 0 < sharer_id <= MAX_ID else qr_sharer,
    )


class Role(StrEnum):
    owner = "owner"
    operator = "operator"
    analyst = "analyst"
    support = "support"


class Permission(StrEnum):
    catalog_read = "catalog.read"
    catalog_write = "catalog.write"
    price_write = "price.write"
    stock_write = "stock.write"
    order_read = "order.read"
    order_ship = "order.ship"
    order_cancel = "order.cancel"
    aftersale_read = "aftersale.read"
    aftersale_decide = "aftersale.decide"
    shopper_read = "shopper.read"
    analytics_read = "analytics.read"
    goals_write = "goals.write"
    marketing_read = "marketing.read"
    marketing_write = "marketing.write"
    operator_manage = "operator.manage"
    audit_read = "audit.read"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.owner: frozenset(Permission),
    Role.operator: frozenset(Permission) - {Permission.operator_manage, Permission.audit_read},
    Role.analyst: frozenset(
        {
            Permission.catalog_read,
            Permission.order_read,
            Permission.aftersale_read,
            Permission.shopper_read,
            Permission.analytics_read,
            Permission.marketing_read,
        }
    ),
    Role.support: frozenset(
        {
            Permission.catalog_read,
            Permission.order_read,
            Permission.order_ship,
            Permission.order_cancel,
            Permission.aftersale_read,
            Permission.aftersale_decide,
            Permission.shopper_read,
        }
    ),
}


NICKNAME_MAX = 20  # characters; WeChat's own nickname limit
AVATAR_URL_MAX = 512


def clean_nickname(raw: str) -> str | None:
    """A shopper's nickname as stored: trimmed, each run of whitespace (line breaks
    included) made one space; None when it is empty, longer than :data:`NICKNAME_MAX`
    characters or holds a control or formatting character (zero-width and direction
    marks, private-use or unassigned code points)."""
    text = " ".join(raw.split())
    if not 1 <= len(text) <= NICKNAME_MAX:
        return None
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in text):
        return None
    return text


AVATAR_MAX_BYTES = 2 * 1024 * 1024
AVATAR_PREFIX = "/media/avatars/"  # + the file name: its SHA-256 and type
AVATAR_NAME_RE = re.compile(r"^[0-9a-f]{64}\.(png|jpg|webp|gif)$")
AVATAR_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}


def sniff_image(data: bytes) -> str | None:
    """The image type of ``data`` by its signature (png, jpg, webp, gif), else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    return None


def is_avatar_url(value: str) -> bool:
    """An avatar is an https URL, an image uploaded here (``/media/avatars/…``, what
    the mini-program's chosen avatar becomes), or "" for none."""
    if value == "" or (
        value.startswith(AVATAR_PREFIX) and AVATAR_NAME_RE.match(value[len(AVATAR_PREFIX) :])
    ):
        return True
    if len(value) > AVATAR_URL_MAX or any(ch.isspace() for ch in value):
        return False
    parsed = urlsplit(value)
    return parsed.scheme == "https" and bool(parsed.hostname)


def can(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]


def is_strong_password(password: str) -> bool:
    """At least 10 characters with letters and digits: enough to stop the obvious."""
    return (
        len(password) >= 10
        and any(c.isalpha() for c in password)
        and any(c.isdigit() for c in password)
    )


def mask_name(nickname: str) -> str:
    """张三丰 → 张**, 张三 → 张*: how a shopper is shown to other shoppers (group members,
    bargain helpers, the social-proof feed). Never more than the first character."""
    name = nickname.strip() or "微信用户"
    return name[0] + "*" * min(max(len(name) - 1, 1), 2)
