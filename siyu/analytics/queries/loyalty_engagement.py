"""Loyalty engagement: check-in retention and streaks, member vs non-member repurchase (definitions in ``siyu.analytics.queries.loyalty``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from siyu.analytics.queries.base import percentage
from siyu.analytics.queries.loyalty_time import (
    STREAK_LOOKBACK_DAYS,
    Period,
    _as_date,
    local_date,
    period_key,
)
from siyu.loyalty.checkin.models import Checkin

STREAK_BUCKETS: tuple[tuple[int, int | None], ...] = (
    (1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (7, 7), (8, 14), (15, 30), (31, None),
)  # fmt: skip


# ----------------------------------------------------------------------- check-in


@dataclass(frozen=True)
class CheckinCohort:
    first: date  # the period of the first check-in
    shoppers: int
    returned: list[int | None]  # day 1…N: checked in that day (None: no one there yet)
    kept: list[int | None]  # day 1…N: checked in every day 1…k
    reached: list[int]  # day 1…N: cohort shoppers whose day k has come

    def share(self, k: int, kept: bool = False) -> float | None:
        """Percent of those who reached day k (1-based)."""
        values = self.kept if kept else self.returned
        value, whole = values[k - 1], self.reached[k - 1]
        return None if value is None or not whole else percentage(value, whole)


@dataclass(frozen=True)
class StreakBucket:
    low: int
    high: int | None  # None: and longer
    streaks: int
    share: float


@dataclass(frozen=True)
class CheckinReport:
    period: Period
    days: int  # N
    cohorts: list[CheckinCohort]
    overall: CheckinCohort | None  # every cohort together
    streaks: list[StreakBucket]
    streak_count: int
    ongoing: int  # runs that end today or yesterday: they can still grow
    checkins: int  # check-ins in the range (make-ups included)
    checkin_shoppers: int


def _cohort(
    first: date, starts: dict[int, date], days_of: dict[int, set[date]], n: int, today: date
) -> CheckinCohort:
    """One pass per shopper: which of days 1…N they checked in, and how far their
    unbroken run from day 1 went."""
    reached = [0] * n
    returned = [0] * n
    kept = [0] * n
    for shopper, start in starts.items():
        seen = days_of.get(shopper, set())
        horizon = min(n, (today - start).days)  # days 1…horizon have come
        unbroken = True
        for k in range(1, horizon + 1):
            reached[k - 1] += 1
            if start + timedelta(days=k) in seen:
                returned[k - 1] += 1
                if unbroken:
                    kept[k - 1] += 1
            else:
                unbroken = False
    return CheckinCohort(
        first,
        len(starts),
        [v if reached[i] else None for i, v in enumerate(returned)],
        [v if reached[i] else None for i, v in enumerate(kept)],
        reached,
    )


def streak_runs(days: Iterable[date]) -> list[tuple[date, int]]:
    """Maximal runs of consecutive dates: (last date, length)."""
    runs: list[tuple[date, int]] = []
    last: date | None = None
    length = 0
    for day in sorted(set(days)):
        if last is not None and day == last + timedelta(days=1):
            length += 1
        else:
            if last is not None:
                runs.append((last, length))
            length = 1
        last = day
    if last is not None:
        runs.append((last, length))
    return runs


def checkin_retention(
    session: Session,
    date_from: datetime,
    date_to: datetime,
    now: datetime,
    *,
    days: int = 7,
    period: Period = "day",
) -> CheckinReport:
    """Day-k check-in retention by cohort of first check-in, and streak lengths."""
    today = local_date(now)
    first = local_date(date_from)
    last = min(local_date(date_to - timedelta(microseconds=1)), today)
    real = and_(Checkin.is_makeup.is_(False), Checkin.created_at <= now)
    firsts = (
        select(Checkin.shopper_id.label("shopper_id"), func.min(Checkin.local_date).label("d"))
        .where(real)
        .group_by(Checkin.shopper_id)
        .having(and_(func.min(Checkin.local_date) >= first, func.min(Checkin.local_date) <= last))
        .subquery()
    )
    starts = {
        int(s): _as_date(d) for s, d in session.execute(select(firsts.c.shopper_id, firsts.c.d))
    }
    days_of: dict[int, set[date]] = defaultdict(set)
    if starts:
        for s, d in session.execute(
            select(Checkin.shopper_id, Checkin.local_date)
            .join(firsts, firsts.c.shopper_id == Checkin.shopper_id)
            .where(
                real,
                Checkin.local_date > first,
                Checkin.local_date <= min(last + timedelta(days=days), today),
            )
        ):
            days_of[int(s)].add(_as_date(d))
    by_period: dict[date, dict[int, date]] = defaultdict(dict)
    for s, d in starts.items():
        by_period[period_key(d, period)][s] = d
    cohorts = [
        _cohort(max(key, first), members, days_of, days, today)
        for key, members in sorted(by_period.items())
    ]
    overall = _cohort(first, starts, days_of, days, today) if starts else None

    every: dict[int, list[date]] = defaultdict(list)
    checkins = 0
    shoppers: set[int] = set()
    if last >= first:
        for s, d in session.execute(
            select(Checkin.shopper_id, Checkin.local_date).where(
                Checkin.local_date >= first - timedelta(days=STREAK_LOOKBACK_DAYS),
                Checkin.local_date <= last,
                Checkin.created_at <= now,
            )
        ):
            day = _as_date(d)
            every[int(s)].append(day)
            if day >= first:
                checkins += 1
                shoppers.add(int(s))
    lengths = [
        (end, length)
        for dates in every.values()
        for end, length in streak_runs(dates)
        if end >= first
    ]
    counted = len(lengths)
    buckets = []
    for low, high in STREAK_BUCKETS:
        n = sum(1 for _, length in lengths if length >= low and (high is None or length <= high))
        buckets.append(StreakBucket(low, high, n, percentage(n, counted)))
    ongoing = sum(1 for end, _ in lengths if end >= today - timedelta(days=1))
    return CheckinReport(
        period=period,
        days=days,
        cohorts=cohorts,
        overall=overall,
        streaks=buckets,
        streak_count=counted,
        ongoing=ongoing,
        checkins=checkins,
        checkin_shoppers=len(shoppers),
    )
