"""Channel rules: what a channel code is, where it is printed, what spend may be.

- A **channel** is a place a store puts its link or mini-program code: a poster, a
  short-video account, a WeCom group. Operators give it a short **code** of 1–20 of
  ``0-9 A-Z a-z _ -`` (unique), a name, a **group** (the same vocabulary as the
  tracking scene groups, :class:`siyu.tracking.rules.ChannelGroup`, minus the crawler)
  and a note.
- The code travels in the mini-program code's ``scene`` parameter as ``c=CODE``: at
  most 23 characters, well inside WeChat's 32 visible characters, leaving room for a
  sharer (``&s=…``). The H5 storefront link carries the same text URL-encoded in
  ``qr_scene`` plus the launch ``scene`` (1047 = scanned a mini-program code), which
  the storefront keeps until login, so a registration through it records the channel.
- **Spend** is entered per channel per Shanghai calendar day in integer fen; entering
  a day again replaces it (an upsert); it is never negative.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from siyu.tracking.rules import ChannelGroup

SHANGHAI = ZoneInfo("Asia/Shanghai")

CODE_RE = re.compile(r"^[0-9A-Za-z_-]{1,20}$")
QR_SCENE_LIMIT = 32  # WeChat getUnlimitedQRCode: at most 32 visible characters
STOREFRONT_LAUNCH_SCENE = 1047  # scanned a mini-program code
MAX_SPEND_FEN = 10_000_000_000  # ¥100M a day: anything above is a typo
GROUPS: tuple[str, ...] = tuple(g.value for g in ChannelGroup if g is not ChannelGroup.crawler)


def is_valid_code(code: str) -> bool:
    return bool(CODE_RE.match(code))


def is_valid_group(group: str) -> bool:
    return group in GROUPS


def is_valid_spend(amount_fen: int) -> bool:
    return 0 <= amount_fen <= MAX_SPEND_FEN


def mini_program_scene(code: str) -> str:
    """The ``scene`` parameter for ``getUnlimitedQRCode`` (read back by
    :func:`siyu.identity.rules.parse_entry`)."""
    if not is_valid_code(code):
        raise ValueError(f"invalid channel code {code!r}")
    scene = f"c={code}"
    assert len(scene) <= QR_SCENE_LIMIT
    return scene


def storefront_link(public_base_url: str, code: str) -> str:
    """The H5 storefront URL to print for a channel:
    ``{base}/shop?qr_scene=c%3DAB12&scene=1047``."""
    qr_scene = quote(mini_program_scene(code), safe="")
    return f"{public_base_url.rstrip('/')}/shop?qr_scene={qr_scene}&scene={STOREFRONT_LAUNCH_SCENE}"


def spend_days(date_from: datetime, date_to: datetime) -> tuple[date, date]:
    """The Shanghai calendar days (first, last — inclusive) whose spend belongs to the
    half-open time range ``[date_from, date_to)``. A day the range only partly covers
    counts whole: spend is entered per day and cannot be split by the hour."""
    if date_from.tzinfo is None or date_to.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    first = date_from.astimezone(SHANGHAI).date()
    last = (date_to - timedelta(microseconds=1)).astimezone(SHANGHAI).date()
    return first, max(first, last)
