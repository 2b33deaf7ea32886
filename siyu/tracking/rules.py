"""Tracking rules: what a client event must look like, when it happened, where it came from.

- **Validation.** An event has an ``event_id`` (8–64 of ``A-Z a-z 0-9 _ . : -``; it is
  the dedup key, so a retried event is stored once), a name matching
  ``^[$a-z][a-z0-9_.:$-]{0,63}$``, the device's anonymous id (the rule of
  :mod:`siyu.identity.rules`) and a client time. Optional: ``shopper_id``, ``page`` and
  ``referrer`` (≤ 512 characters each), ``scene`` (a WeChat scene value, 1000–9999),
  ``query`` (≤ 32 string pairs) and ``properties`` (a JSON object ≤ 8 KB). Names of
  server-side facts (``order.*``, ``refund.*``, ``shopper.*``, ``coupon.*``,
  ``payment.*``) are reserved: only the server records revenue and registrations.
  A bad event is rejected on its own; the rest of its batch is kept.
- **Clock skew.** Phones' clocks are wrong. When a batch says when it was sent, an
  event happened at ``client_time + (received_at − sent_at)``: the client's clock
  error cancels out. A time more than 7 days before or 1 hour after receipt is
  absurd: the event is put at ``received_at`` and marked ``$skew_clamped``.
- **Channel.** The WeChat scene value of the launch maps to a channel group
  (``specs/wechat.md`` §4). Visits by WeChat's crawler (scene 1129) are not tracked.
- **Share chain.** A shared page's query carries the sharer (``sharer_id``) and how
  many hops from the first share it is (``share_depth``, 1 = shared by the first
  sharer; capped at 255). A channel code comes from ``c=`` in the query, the
  mini-program code's ``scene`` parameter (``c=AB12&s=9``) or a plain-link QR's ``q``.
- **Rate.** Each device may send a burst of 20 batches, refilled at 2 a second
  (a token bucket).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, unquote, urlparse

import orjson

from siyu.identity.rules import (
    ANONYMOUS_ID_RE,
    CHANNEL_CODE_RE,
    MAX_ID,
    parse_entry,
)

EVENT_NAME_RE = re.compile(r"^[$a-z][a-z0-9_.:$-]{0,63}$")
EVENT_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")
RESERVED_PREFIXES = ("order.", "refund.", "shopper.", "coupon.", "payment.")
MAX_BATCH_EVENTS = 500
MAX_BODY_BYTES = 1024 * 1024  # decompressed
MAX_PROPERTIES_BYTES = 8 * 1024
MAX_TEXT = 512  # page, referrer, query values
MAX_QUERY_PAIRS = 32
MAX_QUERY_KEY = 64
MAX_SHARE_DEPTH = 255
MAX_PAST = timedelta(days=7)
MAX_FUTURE = timedelta(hours=1)
SKEW_CLAMPED = "$skew_clamped"
# Epoch milliseconds accepted as times: 2000-01-01 .. 2100-01-01.
_MIN_EPOCH_MS = 946_684_800_000
_MAX_EPOCH_MS = 4_102_444_800_000

BUCKET_CAPACITY = 20.0
BUCKET_REFILL_PER_SECOND = 2.0


class ChannelGroup(StrEnum):
    share = "share"
    group_share = "group_share"
    qr = "qr"
    push = "push"
    official_account = "official_account"
    app = "app"
    mini_program = "mini_program"
    ads = "ads"
    search = "search"
    direct = "direct"
    timeline = "timeline"
    web = "web"
    pay = "pay"
    crawler = "crawler"
    other = "other"


def _scenes(group: ChannelGroup, *scenes: int) -> dict[int, ChannelGroup]:
    return dict.fromkeys(scenes, group)


# specs/wechat.md §4; scenes not listed are "other".
SCENE_CHANNELS: dict[int, ChannelGroup] = {
    **_scenes(ChannelGroup.direct, 1001, 1089, 1104),
    **_scenes(ChannelGroup.search, 1005, 1006, 1053, 1106),
    **_scenes(ChannelGroup.share, 1007, 1008),
    **_scenes(ChannelGroup.group_share, 1044),
    **_scenes(ChannelGroup.qr, 1011, 1012, 1013, 1047, 1048, 1049),
    **_scenes(ChannelGroup.push, 1014, 1107),
    **_scenes(ChannelGroup.official_account, 1035, 1043, 1058, 1074, 1082, 1091),
    **_scenes(ChannelGroup.app, 1036, 1069),
    **_scenes(ChannelGroup.mini_program, 1037, 1038),
    **_scenes(ChannelGroup.ads, 1045, 1046, 1067, 1084, 1095),
    **_scenes(ChannelGroup.timeline, 1154, 1155),
    **_scenes(ChannelGroup.web, 1065, 1167, 1194),
    **_scenes(ChannelGroup.pay, 1034, 1060),
    **_scenes(ChannelGroup.crawler, 1129),
}


# The same as plain strings: StrEnum's ``.value`` costs a property call per event.
_SCENE_CHANNEL_TEXT: dict[int, str] = {scene: g.value for scene, g in SCENE_CHANNELS.items()}
_OTHER = ChannelGroup.other.value
_CRAWLER = ChannelGroup.crawler.value


def channel_for_scene(scene: int | None) -> str:
    """The channel group of a launch scene; ``""`` when the client sent none (H5)."""
    if not scene:
        return ""
    return _SCENE_CHANNEL_TEXT.get(scene, _OTHER)


@dataclass(frozen=True)
class ShareInfo:
    channel_code: str = ""
    sharer_id: int = 0
    share_depth: int = 0


def _positive_id(raw: str | None) -> int:
    if raw and raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_ID:
        return int(raw)
    return 0


_NO_SHARE = ShareInfo()
_SHARE_KEYS = frozenset(("scene", "c", "ch", "q", "sharer_id", "share_depth"))


def read_share(query: Mapping[str, str]) -> ShareInfo:
    """Channel code, sharer and share depth from a page's query (best effort: malformed
    values are ignored, never a reason to drop the event)."""
    if _SHARE_KEYS.isdisjoint(query):
        return _NO_SHARE  # the common case: nothing about sharing in the query
    get = query.get
    # The same few share links arrive again and again: their reading is cached.
    return _read_share(
        get("scene"), get("c"), get("ch"), get("q"), get("sharer_id"), get("share_depth")
    )


@lru_cache(maxsize=4096)
def _read_share(
    scene: str | None,
    c: str | None,
    ch: str | None,
    q: str | None,
    sharer_id: str | None,
    share_depth: str | None,
) -> ShareInfo:
    query = {
        key: value
        for key, value in (
            ("scene", scene),
            ("c", c),
            ("ch", ch),
            ("q", q),
            ("sharer_id", sharer_id),
            ("share_depth", share_depth),
        )
        if value is not None
    }
    qr = parse_entry(None, query.get("scene"), None)
    code = query.get("c") or query.get("ch") or ""
    if not code and query.get("q"):
        link = parse_qsl(urlparse(unquote(query["q"])).query)
        code = next((v for k, v in link if k in ("c", "ch")), "")
    if not CHANNEL_CODE_RE.match(code):
        code = ""
    sharer = _positive_id(query.get("sharer_id")) or (qr.sharer_id or 0)
    depth_raw = query.get("share_depth", "")
    depth = int(depth_raw) if depth_raw.isascii() and depth_raw.isdigit() else 0
    if sharer and depth == 0:
        depth = 1
    return ShareInfo(
        channel_code=code or qr.channel_code or "",
        sharer_id=sharer,
        share_depth=min(depth, MAX_SHARE_DEPTH),
    )


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time with an offset, or epoch milliseconds; None if neither."""
    if type(value) is int:  # the common case first (bool is not int here)
        if not _MIN_EPOCH_MS <= value <= _MAX_EPOCH_MS:
            return None
        return _from_timestamp(value / 1000, UTC)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if not math.isfinite(value) or not _MIN_EPOCH_MS <= value <= _MAX_EPOCH_MS:
            return None
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str) and 10 <= len(value) <= 40:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            return None  # a local time of an unknown zone
        return parsed.astimezone(UTC)
    return None


def correct_timestamp(
    client_time: datetime, *, sent_at: datetime | None, received_at: datetime
) -> tuple[datetime, bool]:
    """When the event happened, on the server's clock; the flag says it was clamped."""
    return _Receipt(sent_at, received_at).correct(client_time)


class _Receipt:
    """What :func:`correct_timestamp` needs of a batch, worked out once per batch."""

    __slots__ = ("high", "low", "received_at", "skew")

    def __init__(self, sent_at: datetime | None, received_at: datetime) -> None:
        self.received_at = received_at
        self.skew = None if sent_at is None else received_at - sent_at
        self.low = received_at - MAX_PAST
        self.high = received_at + MAX_FUTURE

    def correct(self, client_time: datetime) -> tuple[datetime, bool]:
        corrected = client_time if self.skew is None else client_time + self.skew
        if corrected < self.low or corrected > self.high:
            return self.received_at, True
        return corrected, False


@dataclass(frozen=True)
class TrackedEvent:
    event_id: str
    event: str
    anonymous_id: str
    shopper_id: int
    timestamp: datetime
    client_time: datetime
    received_at: datetime
    page: str
    referrer: str
    scene: int
    channel: str
    channel_code: str
    sharer_id: int
    share_depth: int
    properties: str  # a JSON object


@dataclass(frozen=True)
class Rejection:
    index: int
    code: str
    message: str


MESSAGES: dict[str, str] = {
    "not_an_object": "事件须为 JSON 对象 / An event must be a JSON object",
    "bad_event_id": "event_id 须为 8 到 64 位字母数字或 _ . : - / "
    "event_id must be 8-64 letters, digits, _ . : -",
    "bad_event_name": "事件名须以小写字母或 $ 开头，最长 64 位 / "
    "event must start with a-z or $ and be at most 64 of a-z 0-9 _ . : $ -",
    "reserved_event_name": "该事件名由服务端记录，客户端不可上报 / "
    "This event name is recorded by the server only",
    "bad_anonymous_id": "anonymous_id 须为 8 到 64 位字母数字 / "
    "anonymous_id must be 8-64 letters, digits, _ . : -",
    "bad_shopper_id": "shopper_id 须为正整数 / shopper_id must be a positive integer",
    "bad_client_time": "client_time 须为带时区的 ISO 8601 时间或毫秒时间戳 / "
    "client_time must be ISO 8601 with an offset or epoch milliseconds",
    "bad_page": "page 须为不超过 512 字的字符串 / page must be a string of at most 512 characters",
    "bad_referrer": "referrer 须为不超过 512 字的字符串 / "
    "referrer must be a string of at most 512 characters",
    "bad_scene": "scene 须为 1000 到 9999 的场景值 / scene must be a WeChat scene value 1000-9999",
    "bad_query": "query 须为最多 32 个字符串键值对 / query must be at most 32 string pairs",
    "bad_properties": "properties 须为 JSON 对象 / properties must be a JSON object",
    "properties_too_large": "properties 不能超过 8 KB / properties must be at most 8 KB of JSON",
    "duplicate_event_id": "同一批次中 event_id 重复 / event_id repeats an earlier event of this batch",
    "crawler_excluded": "微信爬虫访问不计入统计 / WeChat crawler visits are not tracked",
    "shopper_mismatch": "shopper_id 与登录用户不符 / shopper_id is not the logged-in shopper",
}


def _text(value: object) -> str | None:
    """A bounded optional string: None (absent) → "", too long or not a string → None."""
    if value is None:
        return ""
    if isinstance(value, str) and len(value) <= MAX_TEXT:
        return value
    return None


def _query(value: object) -> dict[str, str] | None:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_QUERY_PAIRS:
        return None
    for key, item in value.items():
        if len(key) > MAX_QUERY_KEY or not isinstance(item, str) or len(item) > MAX_TEXT:
            return None
    return value


# Bound once: the validation of one event runs these a few hundred thousand times a second.
_event_id_ok = EVENT_ID_RE.match
_event_name_ok = EVENT_NAME_RE.match
_anonymous_id_ok = ANONYMOUS_ID_RE.match  # is_valid_anonymous_id's rule
_SURELY_SMALL = MAX_PROPERTIES_BYTES // 4
_new_event = object.__new__
_from_timestamp = datetime.fromtimestamp


def _has_float(value: object) -> bool:
    """Whether a decoded JSON value holds a float anywhere (orjson writes some floats
    differently from :func:`json.dumps`: ``0.00001`` for ``1e-05``, ``null`` for NaN)."""
    kind = type(value)
    if kind is float:
        return True
    if kind is dict:
        return any(_has_float(item) for item in value.values())  # type: ignore[attr-defined]
    if kind is list:
        return any(_has_float(item) for item in value)  # type: ignore[attr-defined]
    return not (kind is str or kind is int or kind is bool or value is None)  # be exact


def holds_float(properties: dict[str, Any]) -> bool:
    """Whether properties hold a float (or anything but JSON's other types) anywhere."""
    for item in properties.values():
        kind = type(item)
        # flat values (almost all of them) without a call each
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if _has_float(item):
            return True
    return False


def encode_properties(properties: dict[str, Any]) -> str:
    """Compact JSON of an event's properties, exactly as
    ``json.dumps(properties, ensure_ascii=False, separators=(",", ":"))`` writes it."""
    if not properties:
        return "{}"
    if not holds_float(properties):
        try:
            # Only str keys, str / int / bool / None / list / dict values here: orjson
            # writes these exactly as json.dumps does, far faster.
            return orjson.dumps(properties).decode()
        except (TypeError, orjson.JSONEncodeError):  # ints beyond 64 bits, lone surrogates
            pass
    return json.dumps(properties, ensure_ascii=False, separators=(",", ":"))


# A valid event as the tuple of its TrackedEvent fields, received_at left out (it is the
# batch's): event_id, event, anonymous_id, shopper_id, timestamp, client_time, page,
# referrer, scene, channel, channel_code, sharer_id, share_depth, properties.
EventFields = tuple[str, str, str, int, datetime, datetime, str, str, int, str, str, int, int, str]


def _tracked(fields: EventFields, received_at: datetime) -> TrackedEvent:
    """TrackedEvent(...) field by field, without the frozen dataclass's slow __init__
    (one object.__setattr__ per field): the same object, ≈ 1.5 µs less per event."""
    (
        event_id,
        name,
        anonymous_id,
        shopper_id,
        timestamp,
        client_time,
        page,
        referrer,
        scene,
        channel,
        channel_code,
        sharer_id,
        share_depth,
        properties,
    ) = fields
    event = _new_event(TrackedEvent)
    event.__dict__.update(
        event_id=event_id,
        event=name,
        anonymous_id=anonymous_id,
        shopper_id=shopper_id,
        timestamp=timestamp,
        client_time=client_time,
        received_at=received_at,
        page=page,
        referrer=referrer,
        scene=scene,
        channel=channel,
        channel_code=channel_code,
        sharer_id=sharer_id,
        share_depth=share_depth,
        properties=properties,
    )
    return event


def validate_event(
    raw: object,
    *,
    sent_at: datetime | None,
    received_at: datetime,
    authenticated_shopper: int | None = None,
) -> TrackedEvent | str:
    """The event to store, or the code of the first thing wrong with it."""
    fields = _validate(raw, _Receipt(sent_at, received_at), authenticated_shopper)
    return fields if isinstance(fields, str) else _tracked(fields, received_at)


def _validate(
    raw: object, receipt: _Receipt, authenticated_shopper: int | None
) -> EventFields | str:
    """:func:`validate_event`'s verdict, with the batch's receipt worked out already and
    the event as its fields (building a TrackedEvent is left to who needs one)."""
    if not isinstance(raw, dict):
        return "not_an_object"
    event_id = raw.get("event_id")
    if not isinstance(event_id, str) or not _event_id_ok(event_id):
        return "bad_event_id"
    name = raw.get("event")
    if not isinstance(name, str) or not _event_name_ok(name):
        return "bad_event_name"
    if name.startswith(RESERVED_PREFIXES):
        return "reserved_event_name"
    anonymous_id = raw.get("anonymous_id")
    if not isinstance(anonymous_id, str) or not _anonymous_id_ok(anonymous_id):
        return "bad_anonymous_id"
    shopper_id = raw.get("shopper_id")
    if shopper_id is None:
        shopper_id = authenticated_shopper or 0
    elif (
        isinstance(shopper_id, bool)
        or not isinstance(shopper_id, int)
        or not 0 < shopper_id <= MAX_ID
    ):
        return "bad_shopper_id"
    elif authenticated_shopper is not None and shopper_id != authenticated_shopper:
        return "shopper_mismatch"
    client_time = parse_time(raw.get("client_time"))
    if client_time is None:
        return "bad_client_time"
    page = _text(raw.get("page"))
    if page is None:
        return "bad_page"
    referrer = _text(raw.get("referrer"))
    if referrer is None:
        return "bad_referrer"
    scene = raw.get("scene")
    if scene is None:
        scene = 0
    elif isinstance(scene, bool) or not isinstance(scene, int) or not 1000 <= scene <= 9999:
        return "bad_scene"
    query = _query(raw.get("query"))
    if query is None:
        return "bad_query"
    properties: Any = raw.get("properties")
    if properties is None:
        properties = {}
    elif not isinstance(properties, dict):
        return "bad_properties"
    encoded = encode_properties(properties)
    if len(encoded) > _SURELY_SMALL and (  # ≤ 4 UTF-8 bytes a character
        len(encoded) > MAX_PROPERTIES_BYTES or len(encoded.encode()) > MAX_PROPERTIES_BYTES
    ):
        return "properties_too_large"
    channel = _SCENE_CHANNEL_TEXT.get(scene, _OTHER) if scene else ""  # channel_for_scene
    if channel == _CRAWLER:
        return "crawler_excluded"
    timestamp, clamped = receipt.correct(client_time)
    if clamped:
        encoded = encode_properties({**properties, SKEW_CLAMPED: True})
    share = read_share(query)
    return (
        event_id,
        name,
        anonymous_id,
        shopper_id,
        timestamp,
        client_time,
        page,
        referrer,
        scene,
        channel,
        share.channel_code,
        share.sharer_id,
        share.share_depth,
        encoded,
    )


def validate_batch(
    raw_events: Iterable[object],
    *,
    sent_at: datetime | None,
    received_at: datetime,
    authenticated_shopper: int | None = None,
) -> tuple[list[TrackedEvent], list[Rejection]]:
    """Valid events to store and, one by one, the events rejected and why."""
    accepted, rejected = validate_batch_fields(
        raw_events,
        sent_at=sent_at,
        received_at=received_at,
        authenticated_shopper=authenticated_shopper,
    )
    return [_tracked(fields, received_at) for fields in accepted], rejected


def validate_batch_fields(
    raw_events: Iterable[object],
    *,
    sent_at: datetime | None,
    received_at: datetime,
    authenticated_shopper: int | None = None,
) -> tuple[list[EventFields], list[Rejection]]:
    """:func:`validate_batch` with each valid event as its :data:`EventFields` (all
    received at ``received_at``): what storing needs, without an object per event."""
    accepted: list[EventFields] = []
    rejected: list[Rejection] = []
    seen: set[str] = set()
    receipt = _Receipt(sent_at, received_at)  # the same for every event of the batch
    for index, raw in enumerate(raw_events):
        fields = _validate(raw, receipt, authenticated_shopper)
        if isinstance(fields, str):
            rejected.append(Rejection(index, fields, MESSAGES[fields]))
            continue
        event_id = fields[0]
        if event_id in seen:
            rejected.append(Rejection(index, "duplicate_event_id", MESSAGES["duplicate_event_id"]))
            continue
        seen.add(event_id)
        accepted.append(fields)
    return accepted, rejected


def batch_dedup_token(event_ids: Iterable[str]) -> str:
    """The same set of events always gets the same token, however it is ordered."""
    digest = hashlib.sha256("\n".join(sorted(event_ids)).encode()).hexdigest()
    return f"track-{digest[:40]}"


@dataclass(frozen=True)
class Bucket:
    tokens: float
    updated_at: datetime


def take_token(
    bucket: Bucket | None,
    now: datetime,
    *,
    capacity: float = BUCKET_CAPACITY,
    per_second: float = BUCKET_REFILL_PER_SECOND,
) -> tuple[Bucket, float]:
    """Spend one token. Returns the bucket after and 0.0, or, when it is empty, the
    bucket unchanged and the seconds until a token is back."""
    if bucket is None:
        bucket = Bucket(capacity, now)
    elapsed = max(0.0, (now - bucket.updated_at).total_seconds())
    tokens = min(capacity, bucket.tokens + elapsed * per_second)
    if tokens < 1.0:
        return Bucket(tokens, now), (1.0 - tokens) / per_second
    return Bucket(tokens - 1.0, now), 0.0


def is_bucket_full(
    bucket: Bucket,
    now: datetime,
    *,
    capacity: float = BUCKET_CAPACITY,
    per_second: float = BUCKET_REFILL_PER_SECOND,
) -> bool:
    """A full bucket carries no information: it can be forgotten."""
    elapsed = (now - bucket.updated_at).total_seconds()
    return bucket.tokens + elapsed * per_second >= capacity
