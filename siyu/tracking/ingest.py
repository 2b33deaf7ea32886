"""The one way an event enters the analytics store.

- Client batches (``POST /api/track``, which the SDK, the storefront and the simulator
  all post to): :func:`track_batch` / :func:`submit_batch` / :func:`queue_batch` decode
  the batch, rate-limit the device, validate the events (:mod:`siyu.tracking.rules`),
  store the valid ones and link devices to shoppers.
- Server facts (order paid, refund succeeded, registered, ... — the ``server`` events of
  ``siyu/events.py``): :func:`store_fact`, called by :mod:`siyu.tracking.facts` when the
  outbox relays the order seam's and identity's events.
- Identity links (a device belongs to a shopper): :func:`link_devices`.

Nothing else writes ``events`` or ``person_links`` (``siyu.devtools.simulate_bulk``
fills a bench database with generated SQL and says so).

Storing goes through the process's group commit (:mod:`siyu.tracking.buffer`) when the
store offers one (the context's analytics holder does): the valid rows join the next
combined insert and the request is answered once that insert is written. A store
without one (a bare store in a script) gets its own insert per batch, with a dedup
token made of the batch's event ids.

A retried batch never double counts: the buffer drops ids it stored lately or holds
already, and ``events`` is a ReplacingMergeTree on ``event_id`` read through
``siyu.analytics.schema.EVENTS``.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from siyu.analytics.store import AnalyticsStore
from siyu.errors import DomainError, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from siyu.identity.rules import is_valid_anonymous_id
from siyu.tracking.buffer import IngestBuffer
from siyu.tracking.rules import (
    MAX_BATCH_EVENTS,
    MAX_BODY_BYTES,
    Bucket,
    EventFields,
    Rejection,
    TrackedEvent,
    batch_dedup_token,
    holds_float,
    is_bucket_full,
    parse_time,
    take_token,
    validate_batch,
    validate_batch_fields,
)

EVENT_COLUMNS = (
    "event_id",
    "event",
    "anonymous_id",
    "shopper_id",
    "timestamp",
    "client_time",
    "received_at",
    "page",
    "referrer",
    "scene",
    "channel",
    "channel_code",
    "sharer_id",
    "share_depth",
    "properties",
    "source",
)
LINK_COLUMNS = ("anonymous_id", "shopper_id", "linked_at")
ACCEPTED_TYPES = ("application/json", "text/plain")  # text/plain: navigator.sendBeacon
MAX_KEYS_PER_BATCH = 50


@dataclass(frozen=True)
class DecodedBatch:
    sent_at: datetime | None
    events: list[Any]


@dataclass(frozen=True)
class TrackResult:
    accepted: int
    rejected: list[Rejection]


def ch_time(value: datetime) -> str:
    """A UTC time as ClickHouse reads it into DateTime64(3, 'UTC')."""
    return value.replace(tzinfo=None).isoformat(" ", "milliseconds")


def too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        "payload_too_large",
        "请求体超过 1 MB，请拆分批次 / The request body exceeds 1 MB; send smaller batches",
    )


def read_body(raw: bytes, *, content_type: str | None, content_encoding: str | None) -> bytes:
    """The request body, decompressed and size-checked (≤ 1 MB after decompression)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in ACCEPTED_TYPES:
        raise UnsupportedMediaType(
            "unsupported_media_type",
            "请以 application/json 提交 / Send the batch as application/json",
        )
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        if len(raw) > MAX_BODY_BYTES:
            raise too_large()
        return raw
    if encoding != "gzip":
        raise UnsupportedMediaType(
            "unsupported_encoding",
            "仅支持 gzip 压缩 / Only gzip Content-Encoding is supported",
        )
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(raw, MAX_BODY_BYTES + 1)
    except zlib.error as exc:
        raise DomainError("bad_gzip", "gzip 数据损坏 / The gzip body is corrupt") from exc
    if len(body) > MAX_BODY_BYTES or inflater.unconsumed_tail:
        raise too_large()
    return body


def _json_loads(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DomainError(
            "malformed_json", "请求体不是合法 JSON / The body is not valid JSON"
        ) from exc


def _float_properties(data: Any) -> bool:
    """Whether some event's properties hold a float. orjson reads an integer beyond 64
    bits as a float, json as an int, and properties are stored as written: such a
    body is read again by json (the path of every other body json reads and orjson
    does not: NaN, lone surrogates, a byte-order mark, UTF-16)."""
    events = data.get("batch") if isinstance(data, dict) else None
    if not isinstance(events, list):
        return False
    for event in events:
        if isinstance(event, dict):
            properties = event.get("properties")
            if isinstance(properties, dict) and holds_float(properties):
                return True
    return False


def decode_batch(body: bytes) -> DecodedBatch:
    """``{"sent_at"?: ISO 8601 | epoch ms, "batch": [event, …]}`` (≤ 500 events)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = _json_loads(body)  # what orjson refuses, json may read: it decides
    else:
        if _float_properties(data):
            data = _json_loads(body)
    if not isinstance(data, dict) or not isinstance(data.get("batch"), list):
        raise InvalidInput(
            "invalid_input",
            '请求体须为 {"batch": [...]} / The body must be {"batch": [...]}',
            {"batch": "required list"},
        )
    events: list[Any] = data["batch"]
    if len(events) > MAX_BATCH_EVENTS:
        raise PayloadTooLarge(
            "too_many_events",
            f"每批最多 {MAX_BATCH_EVENTS} 个事件 / At most {MAX_BATCH_EVENTS} events per batch",
        )
    sent_at = None
    if "sent_at" in data:  # optional, but when present it must be a time (not null)
        sent_at = parse_time(data["sent_at"])
        if sent_at is None:
            raise InvalidInput(
                "bad_sent_at",
                "sent_at 须为带时区的 ISO 8601 时间或毫秒时间戳 / "
                "sent_at must be ISO 8601 with an offset or epoch milliseconds",
                {"sent_at": "invalid"},
            )
    return DecodedBatch(sent_at, events)


def device_keys(events: Iterable[Any], fallback: str) -> list[str]:
    """Who is sending: the batch's anonymous ids (a few at most), else the fallback."""
    keys: list[str] = []
    for event in events:
        anonymous_id = event.get("anonymous_id") if isinstance(event, dict) else None
        if (
            isinstance(anonymous_id, str)
            and anonymous_id not in keys
            and is_valid_anonymous_id(anonymous_id)
        ):
            keys.append(anonymous_id)
            if len(keys) == MAX_KEYS_PER_BATCH:
                break
    return keys or [fallback]


@dataclass
class RateLimiter:
    """In-process token buckets per device (one API process; Redis when there are N)."""

    max_keys: int = 100_000
    _buckets: dict[str, Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self, keys: Sequence[str], now: datetime) -> float:
        """Take a token from every key's bucket, or from none: 0.0 when allowed, else
        the seconds to wait."""
        with self._lock:
            taken: dict[str, Bucket] = {}
            wait = 0.0
            for key in keys:
                bucket, retry_after = take_token(self._buckets.get(key), now)
                taken[key] = bucket
                wait = max(wait, retry_after)
            if wait > 0:
                return wait
            self._buckets.update(taken)
            if len(self._buckets) > self.max_keys:
                self._forget(now)
            return 0.0

    def _forget(self, now: datetime) -> None:
        full = [key for key, bucket in self._buckets.items() if is_bucket_full(bucket, now)]
        for key in full:
            del self._buckets[key]
        while len(self._buckets) > self.max_keys:  # all busy: drop the oldest
            del self._buckets[next(iter(self._buckets))]


@dataclass
class RecentLinks:
    """Device → shopper pairs linked lately, so each batch does not relink them."""

    max_size: int = 50_000
    _pairs: OrderedDict[tuple[str, int], None] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def new_pairs(self, pairs: Iterable[tuple[str, int]]) -> list[tuple[str, int]]:
        with self._lock:
            fresh = [p for p in dict.fromkeys(pairs) if p not in self._pairs]
            for pair in fresh:
                self._pairs[pair] = None
            while len(self._pairs) > self.max_size:
                self._pairs.popitem(last=False)
            return fresh

    def forget(self, pairs: Iterable[tuple[str, int]]) -> None:
        with self._lock:
            for pair in pairs:
                self._pairs.pop(pair, None)


@dataclass
class TrackingState:
    """Per-process state of the track endpoint."""

    limiter: RateLimiter = field(default_factory=RateLimiter)
    links: RecentLinks = field(default_factory=RecentLinks)


_SECOND_TEXT = tuple(f"{second:02d}." for second in range(60))
_MILLI_TEXT = tuple(f"{milli:03d}" for milli in range(1000))
_MINUTES_KEPT = 4096
_minutes: dict[tuple[int, int, int], str] = {}  # (day ordinal, hour, minute) → "YYYY-MM-DD HH:MM:"


def _ch_time_utc(value: datetime) -> str:
    """:func:`ch_time`, quicker for a UTC time (what validation produces): the text up to
    the minute is shared by the events of that minute, so it is written once, and the
    rest comes from tables (an aware ``isoformat`` costs ≈ 1.5 µs, this ≈ 0.4 µs)."""
    if value.tzinfo is not UTC:
        return ch_time(value)
    key = (value.toordinal(), value.hour, value.minute)
    prefix = _minutes.get(key)
    if prefix is None:
        if len(_minutes) >= _MINUTES_KEPT:
            _minutes.clear()  # bounded; a race only means writing a prefix twice
        prefix = _minutes[key] = value.isoformat(" ", "minutes")[:16] + ":"
    return prefix + _SECOND_TEXT[value.second] + _MILLI_TEXT[value.microsecond // 1000]


def event_row(event: TrackedEvent, received_at: str | None = None) -> tuple[Any, ...]:
    """The row of ``EVENT_COLUMNS``; ``received_at``: ``ch_time(event.received_at)``
    when the caller has it already (one per batch)."""
    return (
        event.event_id,
        event.event,
        event.anonymous_id,
        event.shopper_id,
        _ch_time_utc(event.timestamp),
        _ch_time_utc(event.client_time),
        received_at if received_at is not None else _ch_time_utc(event.received_at),
        event.page,
        event.referrer,
        event.scene,
        event.channel,
        event.channel_code,
        event.sharer_id,
        event.share_depth,
        event.properties,
        "client",
    )


def event_rows(events: Sequence[TrackedEvent]) -> list[tuple[Any, ...]]:
    """``event_row`` of each event, formatting a batch's shared receipt time once."""
    rows: list[tuple[Any, ...]] = []
    received: tuple[datetime, str] | None = None
    for event in events:
        if received is None or event.received_at is not received[0]:
            received = (event.received_at, _ch_time_utc(event.received_at))
        rows.append(event_row(event, received[1]))
    return rows


def field_rows(events: Sequence[EventFields], received_at: datetime) -> list[tuple[Any, ...]]:
    """The rows of ``EVENT_COLUMNS`` of events validated by ``validate_batch_fields``:
    ``event_rows`` of the same events as TrackedEvents, without making them."""
    received = _ch_time_utc(received_at)
    time_text = _ch_time_utc
    return [
        (
            event_id,
            name,
            anonymous_id,
            shopper_id,
            time_text(timestamp),
            time_text(client_time),
            received,
            page,
            referrer,
            scene,
            channel,
            channel_code,
            sharer_id,
            share_depth,
            properties,
            "client",
        )
        for (
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
        ) in events
    ]


def store_events(store: AnalyticsStore, events: Sequence[TrackedEvent]) -> int:
    if not events:
        return 0
    token = batch_dedup_token(e.event_id for e in events)
    store.insert("events", EVENT_COLUMNS, event_rows(events), dedup_token=token)
    return len(events)


def link_devices(
    store: AnalyticsStore,
    pairs: Iterable[tuple[str, int]],
    linked_at: datetime,
    *,
    dedup_token: str | None = None,
) -> int:
    """Record that each device belongs to its shopper (the latest link wins)."""
    rows = [(anonymous_id, shopper_id, ch_time(linked_at)) for anonymous_id, shopper_id in pairs]
    if not rows:
        return 0
    return store.insert("person_links", LINK_COLUMNS, rows, dedup_token=dedup_token)


FACT_COLUMNS = (*EVENT_COLUMNS, "amount_fen", "order_id")


def store_fact(store: AnalyticsStore, row: Sequence[Any], *, event_id: str) -> None:
    """A server-side event: one row of ``FACT_COLUMNS``, stored once per outbox event
    (``event_id`` is the dedup token, so a relay retry does not count it twice)."""
    store.insert("events", FACT_COLUMNS, [row], dedup_token=event_id)


def ingest_buffer(store: AnalyticsStore) -> IngestBuffer | None:
    """The store's group commit, if it has one (the context's analytics holder does)."""
    get = getattr(store, "ingest_buffer", None)
    return get() if callable(get) else None


@dataclass(frozen=True)
class PendingTrack:
    """A batch handed over: ``stored`` completes once its valid events are durable
    (already done without a buffer); answer only then."""

    result: TrackResult
    stored: Future[None]
    buffer: IngestBuffer | None


def _done() -> Future[None]:
    future: Future[None] = Future()
    future.set_result(None)
    return future


@dataclass(frozen=True)
class QueuedTrack:
    """A batch validated and queued in the group commit (:func:`queue_batch`); the
    devices in ``links`` are still to be linked to the shopper (:func:`link_new_devices`,
    which writes, so it may block)."""

    pending: PendingTrack
    links: list[tuple[str, int]]


def queue_batch(
    buffer: IngestBuffer,
    state: TrackingState,
    batch: DecodedBatch,
    *,
    received_at: datetime,
    shopper_id: int | None,
) -> QueuedTrack:
    """Validate the batch and queue its valid events in ``buffer``. Only CPU and a
    short lock: it never waits for the store, so an async handler may call it. Raises
    :class:`~siyu.tracking.buffer.IngestUnavailable` when the buffer refuses them."""
    events, rejected = validate_batch_fields(
        batch.events,
        sent_at=batch.sent_at,
        received_at=received_at,
        authenticated_shopper=shopper_id,
    )
    stored = buffer.submit(field_rows(events, received_at)) if events else _done()
    links: list[tuple[str, int]] = []
    if shopper_id is not None and events:
        links = state.links.new_pairs((e[2], shopper_id) for e in events)  # anonymous_id
    return QueuedTrack(PendingTrack(TrackResult(len(events), rejected), stored, buffer), links)


def link_new_devices(
    store: AnalyticsStore,
    state: TrackingState,
    pairs: list[tuple[str, int]],
    linked_at: datetime,
) -> None:
    """:func:`link_devices` for the pairs :meth:`RecentLinks.new_pairs` handed out; on
    failure they are forgotten, so the next batch tries again."""
    try:
        link_devices(store, pairs, linked_at)
    except Exception:
        state.links.forget(pairs)
        raise


def submit_batch(
    store: AnalyticsStore,
    state: TrackingState,
    batch: DecodedBatch,
    *,
    received_at: datetime,
    shopper_id: int | None,
) -> PendingTrack:
    """Validate the batch and queue its valid events (or insert them, without a
    buffer); a logged-in shopper's devices are linked to them. Raises
    :class:`~siyu.tracking.buffer.IngestUnavailable` when the buffer refuses them."""
    buffer = ingest_buffer(store)
    if buffer is not None:
        queued = queue_batch(buffer, state, batch, received_at=received_at, shopper_id=shopper_id)
        if queued.links:
            link_new_devices(store, state, queued.links, received_at)
        return queued.pending
    events, rejected = validate_batch(
        batch.events,
        sent_at=batch.sent_at,
        received_at=received_at,
        authenticated_shopper=shopper_id,
    )
    store_events(store, events)
    if shopper_id is not None and events:
        fresh = state.links.new_pairs((e.anonymous_id, shopper_id) for e in events)
        link_new_devices(store, state, fresh, received_at)
    return PendingTrack(TrackResult(len(events), rejected), _done(), None)


def track_batch(
    store: AnalyticsStore,
    state: TrackingState,
    batch: DecodedBatch,
    *,
    received_at: datetime,
    shopper_id: int | None,
) -> TrackResult:
    """Store the batch's valid events, returning once they are durable."""
    pending = submit_batch(store, state, batch, received_at=received_at, shopper_id=shopper_id)
    if pending.buffer is not None:
        pending.buffer.wait(pending.stored)
    return pending.result
