"""Flash-sale rules (秒杀), pure.

A **session** is a window of time (``starts_at`` ≤ now < ``ends_at``, stored in UTC,
set by the operator in Asia/Shanghai, e.g. 每天 10:00–10:30). Each **item** of a
session sells one SKU at a sale price: ``quantity`` units in all, at most
``per_shopper_limit`` units per shopper. An item's units are ``sold`` (paid),
``reserved`` (an order placed, not paid yet: it comes back to the sale if the order is
cancelled or times out) or left: ``units_left = quantity - sold - reserved`` ≥ 0.

The gate (``siyu.flash_sale.gate``) hands units out before an order is placed; the
database keeps the truth. These functions are the arithmetic both use: the session's
window and countdown, the token bucket of the rate limits, and the drift between the
gate's counts and the database's (the reconciliation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
SOURCE = "flash_sale"  # the order's source
START_TIMER = "flash_sale.session_start"  # preload the gate
END_TIMER = "flash_sale.session_end"  # reconcile after the session
RECONCILE_DELAY = timedelta(minutes=1)  # after the end: late placements have committed
MAX_ITEMS = 50
MAX_PER_SHOPPER = 10
MIN_TIMEOUT_MINUTES = 2
MAX_TIMEOUT_MINUTES = 30


class SessionStatus(StrEnum):
    active = "active"
    disabled = "disabled"


class Phase(StrEnum):
    upcoming = "upcoming"
    running = "running"
    ended = "ended"
    disabled = "disabled"


class PurchaseStatus(StrEnum):
    reserved = "reserved"  # order placed, not paid
    paid = "paid"
    released = "released"  # the order was cancelled (shopper, timeout): units back


class Refusal(StrEnum):
    """Why the gate did not let a request through."""

    sold_out = "sold_out"
    limit = "limit"  # the shopper has their units already
    not_running = "not_running"
    rate_limited = "rate_limited"
    waiting_room = "waiting_room"  # the gate is saturated: try again shortly


def phase(status: SessionStatus, starts_at: datetime, ends_at: datetime, now: datetime) -> Phase:
    if status is SessionStatus.disabled:
        return Phase.disabled
    if now < starts_at:
        return Phase.upcoming
    if now < ends_at:
        return Phase.running
    return Phase.ended


def countdown_seconds(target: datetime, now: datetime) -> int:
    """Whole seconds until ``target`` (0 once reached), rounded up: a countdown shows
    00:00 only when the moment has come."""
    left = (target - now).total_seconds()
    return max(int(-(-left // 1)), 0)


def shanghai_window(day: date, start: time, end: time) -> tuple[datetime, datetime]:
    """A session on a Shanghai calendar day (``10:00``–``10:30``) in UTC; an end at or
    before the start is on the next day (22:00–00:30)."""
    starts = datetime.combine(day, start, tzinfo=SHANGHAI)
    ends = datetime.combine(day, end, tzinfo=SHANGHAI)
    if ends <= starts:
        ends += timedelta(days=1)
    return starts.astimezone(UTC), ends.astimezone(UTC)


def daily_windows(
    first_day: date, days: int, start: time, end: time
) -> list[tuple[datetime, datetime]]:
    """每天 10:00–10:30 for ``days`` days from ``first_day`` (Shanghai), in UTC."""
    return [shanghai_window(first_day + timedelta(days=i), start, end) for i in range(days)]


def check_session(starts_at: datetime, ends_at: datetime, timeout_minutes: int) -> str | None:
    if ends_at <= starts_at:
        return "结束时间需晚于开始时间 / The end is after the start"
    if ends_at - starts_at > timedelta(days=7):
        return "一场秒杀最长 7 天 / A session lasts at most 7 days"
    if not MIN_TIMEOUT_MINUTES <= timeout_minutes <= MAX_TIMEOUT_MINUTES:
        return (
            f"支付时限需在 {MIN_TIMEOUT_MINUTES} 到 {MAX_TIMEOUT_MINUTES} 分钟之间 / "
            f"The payment time limit is {MIN_TIMEOUT_MINUTES}-{MAX_TIMEOUT_MINUTES} minutes"
        )
    return None


def check_item(
    sale_price_fen: int, shelf_price_fen: int, quantity: int, per_shopper_limit: int
) -> str | None:
    if not 0 < sale_price_fen < shelf_price_fen:
        return "秒杀价需大于 0 且低于原价 / The sale price is above 0 and below the price"
    if quantity < 1:
        return "秒杀数量至少 1 件 / At least one unit"
    if not 1 <= per_shopper_limit <= MAX_PER_SHOPPER:
        return f"每人限购 1 到 {MAX_PER_SHOPPER} 件 / 1-{MAX_PER_SHOPPER} units a shopper"
    return None


def units_left(quantity: int, sold: int, reserved: int) -> int:
    return max(quantity - sold - reserved, 0)


# ---------------------------------------------------------------- rate limits


@dataclass(frozen=True)
class Bucket:
    """A token bucket: ``rate`` tokens a second up to ``burst``."""

    rate: float
    burst: int


@dataclass(frozen=True)
class BucketState:
    tokens: float
    at: float  # seconds (monotonic or epoch: the caller's)


def take_token(
    bucket: Bucket, state: BucketState | None, now: float
) -> tuple[bool, BucketState, float]:
    """Take one token: (allowed, the new state, seconds until a token is back)."""
    tokens = float(bucket.burst) if state is None else state.tokens
    if state is not None:
        tokens = min(float(bucket.burst), tokens + max(now - state.at, 0.0) * bucket.rate)
    if tokens >= 1.0:
        return True, BucketState(tokens - 1.0, now), 0.0
    return False, BucketState(tokens, now), (1.0 - tokens) / bucket.rate


# ---------------------------------------------------------------- reconciliation


@dataclass(frozen=True)
class ItemCounts:
    """One item as the database or the gate counts it: units left and units per
    shopper (only shoppers with units)."""

    item_id: int
    units_left: int
    per_shopper: dict[int, int]


@dataclass(frozen=True)
class Drift:
    item_id: int
    db_units_left: int
    gate_units_left: int | None  # None: the gate has not loaded the item
    shoppers: dict[int, tuple[int, int]]  # shopper -> (database, gate) where they differ

    @property
    def clean(self) -> bool:
        return self.gate_units_left in (None, self.db_units_left) and not self.shoppers


def drift(db: ItemCounts, gate: ItemCounts | None) -> Drift:
    """Where the gate's counts differ from the database's. A gate that never loaded the
    item has nothing to differ."""
    if gate is None:
        return Drift(db.item_id, db.units_left, None, {})
    shoppers = {
        s: (db.per_shopper.get(s, 0), gate.per_shopper.get(s, 0))
        for s in set(db.per_shopper) | set(gate.per_shopper)
        if db.per_shopper.get(s, 0) != gate.per_shopper.get(s, 0)
    }
    return Drift(db.item_id, db.units_left, gate.units_left, shoppers)
