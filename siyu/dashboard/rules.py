"""Dashboard rules: the store's headline numbers, from plain facts, with no I/O.

- Periods are Asia/Shanghai calendar days. "Today" runs from local midnight to now;
  "last 7 days" is today and the six days before it; "last 30 days" likewise. Each
  period is compared with the one just before it, of the same length and cut at the
  same time of day, so this morning is compared with yesterday morning, not with the
  whole of yesterday. Both ends of a window are included.
- A *visitor* is a person (a shopper, or a device not linked to one) with a tracked
  client event, a login or an order placed or paid in the period — the analytics
  overview's visitors — once the store has tracked client events. Before that, visitors are login-based: shoppers who logged in or placed
  an order in the period (so every paying shopper is also a visitor).
- *New shoppers* registered in the period. *Orders* were placed in it. *GMV* is what
  shoppers paid for orders paid in it; *AOV* is GMV per paid order; *conversion* is
  paying shoppers per visitor; *refund rate* is the refunded share of the amount paid
  for the orders paid in the period (it rises as later refunds land).
- A ratio over zero has no value (shown as a dash), and so has a change from zero:
  "up ∞ %" tells an operator nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from siyu.clock import SHANGHAI, as_utc


class Period(StrEnum):
    today = "today"
    last_7_days = "7d"
    last_30_days = "30d"


PERIOD_DAYS: dict[Period, int] = {Period.today: 1, Period.last_7_days: 7, Period.last_30_days: 30}
MIN_TREND_DAYS = 7  # a one-point chart says nothing; "today" shows the last week


@dataclass(frozen=True)
class Window:
    """A span of time in UTC, both ends included."""

    start: datetime
    end: datetime

    def contains(self, at: datetime) -> bool:
        return self.start <= as_utc(at) <= self.end


def local_midnight(now: datetime) -> datetime:
    """The start of ``now``'s Shanghai day, in UTC."""
    local = as_utc(now).astimezone(SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def period_windows(period: Period, now: datetime) -> tuple[Window, Window]:
    """The current window and the previous one, of equal length."""
    days = PERIOD_DAYS[period]
    end = as_utc(now)
    current = Window(local_midnight(end) - timedelta(days=days - 1), end)
    shift = timedelta(days=days)
    return current, Window(current.start - shift, current.end - shift)


def trend_days(period: Period, now: datetime) -> list[date]:
    """The Shanghai dates a trend chart shows, oldest first, ending today."""
    count = max(PERIOD_DAYS[period], MIN_TREND_DAYS)
    today = as_utc(now).astimezone(SHANGHAI).date()
    return [today - timedelta(days=count - 1 - i) for i in range(count)]


def local_date(at: datetime) -> date:
    return as_utc(at).astimezone(SHANGHAI).date()


def safe_ratio(numerator: int | float, denominator: int | float) -> float | None:
    return None if denominator == 0 else numerator / denominator


def change_pct(current: int | float | None, previous: int | float | None) -> float | None:
    """Period-over-period change in percent; None when there is nothing to compare with."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / abs(previous) * 100


def average_fen(total_fen: int, count: int) -> int | None:
    """An average amount in whole fen, halves rounded up; a display figure only."""
    if count <= 0:
        return None
    return (2 * total_fen + count) // (2 * count)


# ---------------------------------------------------------------- facts → metrics


@dataclass(frozen=True)
class Activity:
    """A shopper did something countable at a moment: logged in, registered, ordered."""

    shopper_id: int
    at: datetime


@dataclass(frozen=True)
class Payment:
    shopper_id: int
    at: datetime  # when the order was paid
    paid_fen: int
    refunded_fen: int


@dataclass(frozen=True)
class PeriodFacts:
    visitors: int
    new_shoppers: int
    orders: int
    paid_orders: int
    paying_shoppers: int
    gmv_fen: int
    refunded_fen: int


@dataclass(frozen=True)
class Metrics:
    visitors: int
    new_shoppers: int
    orders: int
    gmv_fen: int
    conversion: float | None  # 0..1
    aov_fen: int | None
    refund_rate: float | None  # 0..1


METRIC_KEYS = (
    "visitors",
    "new_shoppers",
    "orders",
    "gmv_fen",
    "conversion",
    "aov_fen",
    "refund_rate",
)


@dataclass(frozen=True)
class MetricChange:
    key: str
    current: int | float | None
    previous: int | float | None
    change_pct: float | None


def collect_facts(
    window: Window,
    *,
    logins: Iterable[Activity],
    registrations: Iterable[Activity],
    placements: Iterable[Activity],
    payments: Iterable[Payment],
    tracked_visitors: int | None = None,
) -> PeriodFacts:
    """The period's facts; ``tracked_visitors``: the visitors tracking counted, which
    replace the login-based ones."""
    placed = [a for a in placements if window.contains(a.at)]
    paid = [p for p in payments if window.contains(p.at)]
    if tracked_visitors is None:
        visitors = {a.shopper_id for a in logins if window.contains(a.at)}
        visitors |= {a.shopper_id for a in placed}
        visitor_count = len(visitors)
    else:
        visitor_count = tracked_visitors
    return PeriodFacts(
        visitors=visitor_count,
        new_shoppers=sum(1 for a in registrations if window.contains(a.at)),
        orders=len(placed),
        paid_orders=len(paid),
        paying_shoppers=len({p.shopper_id for p in paid}),
        gmv_fen=sum(p.paid_fen for p in paid),
        refunded_fen=sum(p.refunded_fen for p in paid),
    )


def compute_metrics(facts: PeriodFacts) -> Metrics:
    return Metrics(
        visitors=facts.visitors,
        new_shoppers=facts.new_shoppers,
        orders=facts.orders,
        gmv_fen=facts.gmv_fen,
        conversion=safe_ratio(facts.paying_shoppers, facts.visitors),
        aov_fen=average_fen(facts.gmv_fen, facts.paid_orders),
        refund_rate=safe_ratio(facts.refunded_fen, facts.gmv_fen),
    )


def compare(current: Metrics, previous: Metrics) -> list[MetricChange]:
    changes = []
    for key in METRIC_KEYS:
        now_value, then_value = getattr(current, key), getattr(previous, key)
        changes.append(MetricChange(key, now_value, then_value, change_pct(now_value, then_value)))
    return changes


# ---------------------------------------------------------------- trend


@dataclass(frozen=True)
class Trend:
    days: list[date]
    visitors: list[int]
    orders: list[int]
    gmv_fen: list[int]


def build_trend(
    days: list[date],
    *,
    logins: Iterable[Activity],
    placements: Iterable[Activity],
    payments: Iterable[Payment],
    tracked_visitors: Mapping[date, int] | None = None,
) -> Trend:
    """Visitors, orders and GMV per day; ``tracked_visitors``: tracking's visitors per
    Shanghai day, which replace the login-based ones."""
    index = {d: i for i, d in enumerate(days)}
    visitors: list[set[int]] = [set() for _ in days]
    orders = [0] * len(days)
    gmv = [0] * len(days)
    for activity in logins:
        i = index.get(local_date(activity.at))
        if i is not None:
            visitors[i].add(activity.shopper_id)
    for activity in placements:
        i = index.get(local_date(activity.at))
        if i is not None:
            visitors[i].add(activity.shopper_id)
            orders[i] += 1
    for payment in payments:
        i = index.get(local_date(payment.at))
        if i is not None:
            gmv[i] += payment.paid_fen
    if tracked_visitors is not None:
        return Trend(days, [tracked_visitors.get(d, 0) for d in days], orders, gmv)
    return Trend(days, [len(v) for v in visitors], orders, gmv)
