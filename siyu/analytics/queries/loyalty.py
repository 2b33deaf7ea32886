"""Loyalty analytics (会员与积分), computed from the store: the points ledger, tier
changes, check-ins and paid orders live in the OLTP database (SQLite or PostgreSQL),
not in the events, so these are SQL queries over a ``Session``, like the portfolio.
Every function is pure apart from its reads: a session, a range ``[date_from,
date_to)`` (aware datetimes, Shanghai midnights from the console) and ``now``; nothing
after ``now`` is counted. Periods are Asia/Shanghai calendar days or Monday-started
weeks, clipped to the range.

Points (:func:`points_flows`), every ledger entry falls in exactly one flow by its kind:

- **issued 发放**: ``order_earn`` (pending, at payment), ``reward`` (sign-up, check-in,
  birthday …), ``lottery_prize`` and a positive ``adjust``;
- **reversed 冲回**: ``order_earn_reversed`` (a refund took earned points back, pending
  or available) and a negative ``adjust`` (an operator's deduction);
- **spent 消耗**: ``order_spend``, ``mall_exchange``, ``lottery_draw``,
  ``checkin_makeup``;
- **returned 退回**: ``order_spend_returned`` (spent points given back on cancel or
  refund);
- **expired 过期**: ``expire``, dated when the sweep (or a debit) expired the lot;
- ``order_settled`` moves points from pending to available and is no flow.

So the outstanding points change by issued − reversed − spent + returned − expired.
**Outstanding 未兑付积分** at an instant is the ledger's balance then: the sum of every
entry before it, per bucket (``available`` live and ``pending`` not yet settled). At
the end of a period it is taken at the period's end, or at ``now`` for the period
running. ``now`` also reports points past their expiry that the sweep has not reached
yet (``overdue``), which the live figure leaves out, as a quote does. The fen value is
``⌊points × 100 ÷ points_per_yuan⌋`` at the store's redemption rate.

Tiers (:func:`tier_distribution`): every shopper registered before the end of a period
holds a level then (every signed-in shopper is a member, 青铜 from growth 0); the level is
the ``to_level`` of their last ``tier_changes`` row before that instant, else the
``from_level`` of their first later one, else 0.

Check-in (:func:`checkin_retention`): the cohort of a shopper is the period of their
first check-in ever (make-ups left out: a make-up is not a visit on its date); day k
counts them if they checked in (not a make-up) on first date + k; a shopper counts
towards day k only once that date has come (first + k ≤ today). "Kept" counts those
who checked in on every day 1…k. Streak lengths: maximal runs of consecutive check-in
dates (make-ups included: a make-up joins the streak, as the store counts it) whose
last date falls in the range, in buckets 1…7, 8–14, 15–30, 31+.

Member repurchase (:func:`member_repurchase`): an order counts when it was paid in the
range and kept at least one unit (not fully refunded: the store's own test). A buyer
has at least one counted order; a repeat buyer at least two. The buyer's level is the
one held just before their first counted order in the range was paid (so the order
that lifts them does not make them a member already); **member 会员** = that level ≥
``member_level`` (1, 白银, by default, since every shopper holds 青铜).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from siyu.analytics.queries.base import percentage
from siyu.analytics.queries.loyalty_engagement import (  # noqa: F401 (re-exported)
    STREAK_BUCKETS,
    CheckinCohort,
    CheckinReport,
    StreakBucket,
    checkin_retention,
    streak_runs,
)
from siyu.analytics.queries.loyalty_time import (  # noqa: F401 (re-exported)
    DEFAULT_MEMBER_LEVEL,
    STREAK_LOOKBACK_DAYS,
    Period,
    PeriodSpan,
    _as_date,
    _dialect,
    _midnight,
    local_date,
    local_day,
    period_key,
    periods,
)
from siyu.clock import as_utc
from siyu.identity.models import Shopper
from siyu.loyalty.models import PointsBalance, PointsEntry, PointsLot
from siyu.loyalty.rules import Bucket, EntryKind
from siyu.loyalty.tiers.models import TierChange
from siyu.order.models import Order, OrderLine

Flow = Literal["issued", "reversed", "spent", "returned", "expired"]

FLOWS: tuple[Flow, ...] = ("issued", "reversed", "spent", "returned", "expired")
# Each kind's flow (None: a transfer between buckets); ``adjust`` goes by its sign.
KIND_FLOW: dict[EntryKind, Flow | None] = {
    EntryKind.order_earn: "issued",
    EntryKind.reward: "issued",
    EntryKind.lottery_prize: "issued",
    EntryKind.order_earn_reversed: "reversed",
    EntryKind.order_spend: "spent",
    EntryKind.mall_exchange: "spent",
    EntryKind.lottery_draw: "spent",
    EntryKind.checkin_makeup: "spent",
    EntryKind.order_spend_returned: "returned",
    EntryKind.expire: "expired",
    EntryKind.order_settled: None,
    EntryKind.adjust: None,  # by sign: issued or reversed
}
# +1: the flow is the entries' sum; -1: it is minus their sum (the points left).
FLOW_SIGN: dict[Flow, int] = {
    "issued": 1,
    "reversed": -1,
    "spent": -1,
    "returned": 1,
    "expired": -1,
}


def flow_of(kind: EntryKind, delta: int) -> Flow | None:
    """The flow an entry of ``kind`` and sign of ``delta`` belongs to."""
    if kind is EntryKind.adjust:
        return "issued" if delta > 0 else "reversed"
    return KIND_FLOW[kind]


def fen_value(points: int, points_per_yuan: int | None) -> int | None:
    """What ``points`` take off orders at the redemption rate (``points_per_yuan``
    points = ¥1), rounded down to the fen; None without a rate."""
    if not points_per_yuan or points_per_yuan <= 0:
        return None
    return points * 100 // points_per_yuan


# ------------------------------------------------------------------------- points


@dataclass(frozen=True)
class PointsPeriod:
    first: date  # the period's first day
    as_of: datetime  # the end of the period, or now for the period running
    issued: int
    reversed: int
    spent: int
    returned: int
    expired: int
    available: int  # outstanding at ``as_of``: live …
    pending: int  # … and pending (earned on orders not settled yet)
    outstanding_fen: int | None

    @property
    def net(self) -> int:
        return self.issued - self.reversed - self.spent + self.returned - self.expired

    @property
    def outstanding(self) -> int:
        return self.available + self.pending


@dataclass(frozen=True)
class PointsNow:
    available: int  # on the balances
    pending: int
    overdue: int  # past expiry, not yet expired by the sweep: not spendable
    points_per_yuan: int | None
    live_fen: int | None
    outstanding_fen: int | None

    @property
    def live(self) -> int:
        return self.available - self.overdue

    @property
    def outstanding(self) -> int:
        return self.live + self.pending


@dataclass(frozen=True)
class PointsReport:
    period: Period
    opening_available: int  # before the range
    opening_pending: int
    periods: list[PointsPeriod]
    totals: dict[str, int]  # each flow over the range
    now: PointsNow

    @property
    def net(self) -> int:
        t = self.totals
        return t["issued"] - t["reversed"] - t["spent"] + t["returned"] - t["expired"]


def points_flows(
    session: Session,
    date_from: datetime,
    date_to: datetime,
    now: datetime,
    *,
    period: Period = "day",
    points_per_yuan: int | None = None,
) -> PointsReport:
    """Points issued, reversed, spent, returned and expired per period, and what is
    outstanding at each period's end and now (see the module)."""
    end = min(date_to, now)
    opening = {Bucket.available: 0, Bucket.pending: 0}
    for bucket, total in session.execute(
        select(PointsEntry.bucket, func.sum(PointsEntry.delta))
        .where(PointsEntry.created_at < date_from)
        .group_by(PointsEntry.bucket)
    ):
        opening[Bucket(bucket)] = int(total or 0)

    day = local_day(PointsEntry.created_at, _dialect(session))
    positive = case((PointsEntry.delta > 0, 1), else_=0)
    by_day: dict[date, list[tuple[EntryKind, Bucket, int]]] = defaultdict(list)
    if end > date_from:
        stmt = (
            select(day, PointsEntry.kind, PointsEntry.bucket, positive, func.sum(PointsEntry.delta))
            .where(PointsEntry.created_at >= date_from, PointsEntry.created_at < end)
            .group_by(day, PointsEntry.kind, PointsEntry.bucket, positive)
        )
        for d, kind, bucket, _, total in session.execute(stmt):
            by_day[_as_date(d)].append((EntryKind(kind), Bucket(bucket), int(total or 0)))

    rows: list[PointsPeriod] = []
    available, pending = opening[Bucket.available], opening[Bucket.pending]
    totals: dict[str, int] = dict.fromkeys(FLOWS, 0)
    spans = periods(date_from, date_to, period)
    for span in spans:
        if rows and span.start >= now:
            break  # the future
        flows = dict.fromkeys(FLOWS, 0)
        day_ = span.first
        while _midnight(day_) < span.end:
            for kind, bucket, total in by_day.get(day_, ()):
                flow = flow_of(kind, total)
                if flow is not None:
                    flows[flow] += FLOW_SIGN[flow] * total
                if bucket is Bucket.available:
                    available += total
                else:
                    pending += total
            day_ += timedelta(days=1)
        for flow in FLOWS:
            totals[flow] += flows[flow]
        rows.append(
            PointsPeriod(
                first=span.first,
                as_of=min(span.end, now),
                **flows,
                available=available,
                pending=pending,
                outstanding_fen=fen_value(available + pending, points_per_yuan),
            )
        )
    return PointsReport(
        period=period,
        opening_available=opening[Bucket.available],
        opening_pending=opening[Bucket.pending],
        periods=rows,
        totals=totals,
        now=points_now(session, now, points_per_yuan),
    )


def points_now(session: Session, now: datetime, points_per_yuan: int | None) -> PointsNow:
    available, pending = session.execute(
        select(
            func.coalesce(func.sum(PointsBalance.available), 0),
            func.coalesce(func.sum(PointsBalance.pending), 0),
        )
    ).one()
    overdue = session.scalar(
        select(func.coalesce(func.sum(PointsLot.remaining), 0)).where(
            PointsLot.expires_at <= now, PointsLot.remaining > 0
        )
    )
    live = int(available) - int(overdue or 0)
    return PointsNow(
        available=int(available),
        pending=int(pending),
        overdue=int(overdue or 0),
        points_per_yuan=points_per_yuan,
        live_fen=fen_value(live, points_per_yuan),
        outstanding_fen=fen_value(live + int(pending), points_per_yuan),
    )


# -------------------------------------------------------------------------- tiers


@dataclass(frozen=True)
class TierPeriod:
    first: date
    as_of: datetime
    shoppers: dict[int, int]  # level → shoppers holding it at ``as_of``

    @property
    def total(self) -> int:
        return sum(self.shoppers.values())


@dataclass(frozen=True)
class TierReport:
    period: Period
    levels: list[int]  # every level shown, lowest first
    periods: list[TierPeriod]
    upgrades: int  # tier changes up in the range
    downgrades: int  # … and down


@dataclass(frozen=True)
class _Change:
    at: datetime
    from_level: int
    to_level: int


def _changes(session: Session, end: datetime, shoppers: Any = None) -> dict[int, list[_Change]]:
    stmt = select(
        TierChange.shopper_id, TierChange.at, TierChange.from_level, TierChange.to_level
    ).where(TierChange.at < end)
    if shoppers is not None:
        stmt = stmt.where(TierChange.shopper_id.in_(shoppers))
    out: dict[int, list[_Change]] = defaultdict(list)
    for shopper_id, at, old, new in session.execute(stmt.order_by(TierChange.at, TierChange.id)):
        out[int(shopper_id)].append(_Change(at, int(old), int(new)))
    return out


def level_at(changes: Sequence[_Change], at: datetime) -> int:
    """The level held at ``at``: the last change before it, else the level the first
    later change moved from, else 青铜 (0)."""
    index = bisect_left([c.at for c in changes], at)  # changes strictly before ``at``
    if index > 0:
        return changes[index - 1].to_level
    return changes[0].from_level if changes else 0


def tier_distribution(
    session: Session,
    date_from: datetime,
    date_to: datetime,
    now: datetime,
    *,
    period: Period = "day",
    levels: Iterable[int] = (),
) -> TierReport:
    """Shoppers per level at the end of each period (see the module)."""
    end = min(date_to, now)
    before = int(session.scalar(select(func.count()).where(Shopper.registered_at < date_from)) or 0)
    joined: dict[date, int] = {}
    if end > date_from:
        day = local_day(Shopper.registered_at, _dialect(session))
        for d, n in session.execute(
            select(day, func.count())
            .where(Shopper.registered_at >= date_from, Shopper.registered_at < end)
            .group_by(day)
        ):
            joined[_as_date(d)] = int(n)
    changes = _changes(session, end)
    timeline = sorted((c.at, shopper_id, c) for shopper_id, cs in changes.items() for c in cs)
    level_of: dict[int, int] = {}
    for shopper_id, cs in changes.items():
        level_of[shopper_id] = cs[0].from_level  # before any change
    held = Counter(level_of.values())  # shoppers with a change, by level held
    up = sum(1 for at, _, c in timeline if at >= date_from and c.to_level > c.from_level)
    down = sum(1 for at, _, c in timeline if at >= date_from and c.to_level < c.from_level)

    shown = set(levels) | {0}
    rows: list[TierPeriod] = []
    registered = before
    index = 0
    for span in periods(date_from, date_to, period):
        if rows and span.start >= now:
            break  # the future
        as_of = min(span.end, now)
        day_ = span.first
        while _midnight(day_) < span.end:
            registered += joined.get(day_, 0)
            day_ += timedelta(days=1)
        while index < len(timeline) and timeline[index][0] < as_of:
            _, shopper_id, change = timeline[index]
            held[level_of[shopper_id]] -= 1
            held[change.to_level] += 1
            level_of[shopper_id] = change.to_level
            index += 1
        # levels above 青铜 held by someone; 青铜 is what is left of the registered
        above = {level: n for level, n in held.items() if level > 0 and n > 0}
        counts = {level: above.get(level, 0) for level in sorted(shown | set(above))}
        counts[0] = registered - sum(above.values())
        shown |= set(above)
        rows.append(TierPeriod(first=span.first, as_of=as_of, shoppers=counts))
    every = sorted(shown)
    for row in rows:
        for level in every:
            row.shoppers.setdefault(level, 0)
    return TierReport(period=period, levels=every, periods=rows, upgrades=up, downgrades=down)


# -------------------------------------------------------------- member repurchase


@dataclass(frozen=True)
class RepurchaseGroup:
    buyers: int
    repeat_buyers: int
    orders: int

    @property
    def rate(self) -> float:
        return percentage(self.repeat_buyers, self.buyers)


@dataclass(frozen=True)
class MemberRepurchaseReport:
    member_level: int
    members: RepurchaseGroup
    non_members: RepurchaseGroup
    by_level: dict[int, RepurchaseGroup] = field(default_factory=dict)

    @property
    def everyone(self) -> RepurchaseGroup:
        m, n = self.members, self.non_members
        return RepurchaseGroup(
            m.buyers + n.buyers, m.repeat_buyers + n.repeat_buyers, m.orders + n.orders
        )


def _group(rows: Iterable[tuple[int, int]]) -> RepurchaseGroup:
    counts = [n for _, n in rows]
    return RepurchaseGroup(
        buyers=len(counts), repeat_buyers=sum(1 for n in counts if n >= 2), orders=sum(counts)
    )


def member_repurchase(
    session: Session,
    date_from: datetime,
    date_to: datetime,
    now: datetime,
    *,
    member_level: int = DEFAULT_MEMBER_LEVEL,
) -> MemberRepurchaseReport:
    """Repurchase rate of members against non-members (see the module)."""
    end = min(date_to, now)
    kept = exists().where(
        OrderLine.order_id == Order.id, OrderLine.refunded_quantity < OrderLine.quantity
    )
    counted = and_(
        Order.paid_at.is_not(None), Order.paid_at >= date_from, Order.paid_at < end, kept
    )
    per_buyer = (
        select(Order.shopper_id, func.min(Order.paid_at), func.count())
        .where(counted)
        .group_by(Order.shopper_id)
    )
    buyers: list[tuple[int, datetime, int]] = [
        (int(s), as_utc(at), int(n)) for s, at, n in session.execute(per_buyer) if at is not None
    ]
    changes = (
        _changes(session, end, select(Order.shopper_id).where(counted).distinct()) if buyers else {}
    )
    level_rows: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for shopper_id, first_paid, n in buyers:
        level_rows[level_at(changes.get(shopper_id, ()), first_paid)].append((shopper_id, n))
    members = [r for level, rows in level_rows.items() if level >= member_level for r in rows]
    others = [r for level, rows in level_rows.items() if level < member_level for r in rows]
    return MemberRepurchaseReport(
        member_level=member_level,
        members=_group(members),
        non_members=_group(others),
        by_level={level: _group(rows) for level, rows in sorted(level_rows.items())},
    )


# ------------------------------------------------------------------------ all four


@dataclass(frozen=True)
class LoyaltyReport:
    points: PointsReport
    tiers: TierReport
    checkin: CheckinReport
    repurchase: MemberRepurchaseReport


def loyalty_report(
    session: Session,
    date_from: datetime,
    date_to: datetime,
    now: datetime,
    *,
    period: Period = "day",
    points_per_yuan: int | None = None,
    checkin_days: int = 7,
    member_level: int = DEFAULT_MEMBER_LEVEL,
    levels: Iterable[int] = (),
) -> LoyaltyReport:
    if date_from >= date_to:
        raise ValueError("date_from must be before date_to")
    return LoyaltyReport(
        points=points_flows(
            session, date_from, date_to, now, period=period, points_per_yuan=points_per_yuan
        ),
        tiers=tier_distribution(session, date_from, date_to, now, period=period, levels=levels),
        checkin=checkin_retention(
            session, date_from, date_to, now, days=checkin_days, period=period
        ),
        repurchase=member_repurchase(session, date_from, date_to, now, member_level=member_level),
    )
