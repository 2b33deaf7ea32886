"""Dashboard queries: fetch the facts for the current and previous periods and the
trend in one pass, then let :mod:`siyu.dashboard.rules` do the arithmetic.

Visitors come from the analytics store (:func:`count_tracked_visitors`: persons with a
visit, as the analytics overview counts them) once it holds tracked client events.
Before that they are login-based: logins come from the ``shopper.logged_in`` outbox
events (one per login), so past days keep their visitors; ``shoppers.last_login_at``
would only remember the latest. Rows are bucketed in Python by Shanghai day, which
keeps the SQL identical on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.analytics.queries.base import IS_VISIT, TIMEZONE, SqlParams
from siyu.analytics.schema import LINKS, PERSON_ID
from siyu.analytics.store import AnalyticsStore
from siyu.clock import as_utc
from siyu.dashboard.rules import (
    Activity,
    MetricChange,
    Metrics,
    Payment,
    Period,
    Trend,
    Window,
    build_trend,
    collect_facts,
    compare,
    compute_metrics,
    local_midnight,
    period_windows,
    trend_days,
)
from siyu.identity.models import Shopper
from siyu.order.models import Order
from siyu.outbox import OutboxEvent

LOGIN_EVENT = "shopper.logged_in"


@dataclass(frozen=True)
class TrackedVisitors:
    """Visitors as tracking counts them, for the dashboard's windows and trend days."""

    current: int
    previous: int
    by_day: dict[date, int]


@dataclass(frozen=True)
class Dashboard:
    period: Period
    current_window: Window
    previous_window: Window
    current: Metrics
    previous: Metrics
    changes: list[MetricChange]
    trend: Trend
    visitors_tracked: bool  # visitors from tracking, not from logins


def _span(period: Period, now: datetime) -> tuple[Window, Window, list[date], datetime]:
    """The current and previous windows, the trend's days and the earliest moment any
    of them needs."""
    current_window, previous_window = period_windows(period, now)
    days = trend_days(period, now)
    since = min(previous_window.start, local_midnight(now) - timedelta(days=len(days) - 1))
    return current_window, previous_window, days, since


def count_tracked_visitors(
    store: AnalyticsStore, *, period: Period, now: datetime
) -> TrackedVisitors | None:
    """Persons with a visit (``IS_VISIT``: a client event, a login, an order placed or
    paid) in each window and on each trend day — the analytics overview's visitors; None
    while the store holds no client event at all (tracking is not connected)."""
    db = store.database
    if not store.query(f"SELECT count() > 0 FROM {db}.events WHERE source = 'client'").scalar():
        return None
    current, previous, days, since = _span(period, now)
    params = SqlParams()
    bounds = {
        name: params.timestamp(name, value)
        for name, value in (
            ("since", since),
            ("until", as_utc(now)),
            ("current_start", current.start),
            ("current_end", current.end),
            ("previous_start", previous.start),
            ("previous_end", previous.end),
        )
    }
    # Distinct persons do not change when a retried event is counted twice, so unlike
    # the runners this reads the events without deduplicating them (a third of the
    # time), and one pass gives the windows (the empty grouping set) and the days.
    source = (
        f"(SELECT anonymous_id, shopper_id, timestamp FROM {db}.events "
        f"WHERE {IS_VISIT} AND timestamp >= {bounds['since']} "
        f"AND timestamp <= {bounds['until']}) AS e "
        f"LEFT JOIN {LINKS.format(db=db)} AS l ON e.anonymous_id = l.anonymous_id"
    )
    in_current = f"ts >= {bounds['current_start']} AND ts <= {bounds['current_end']}"
    in_previous = f"ts >= {bounds['previous_start']} AND ts <= {bounds['previous_end']}"
    rows = store.query(
        f"SELECT grouping(day) = 1 AS whole, day, uniqExact(person_id), "
        f"uniqExactIf(person_id, {in_current}), uniqExactIf(person_id, {in_previous}) "
        f"FROM (SELECT {PERSON_ID} AS person_id, e.timestamp AS ts, "
        f"toString(toDate(e.timestamp, '{TIMEZONE}')) AS day FROM {source}) "
        "GROUP BY GROUPING SETS ((day), ())",
        params.values,
    ).rows
    wanted = set(days)
    by_day: dict[date, int] = {}
    first = (0, 0)
    for whole, day, persons, in_current_window, in_previous_window in rows:
        if whole:
            first = (int(in_current_window), int(in_previous_window))
        elif date.fromisoformat(str(day)) in wanted:
            by_day[date.fromisoformat(str(day))] = int(persons)
    return TrackedVisitors(int(first[0]), int(first[1]), by_day)


def load_dashboard(
    session: Session,
    *,
    period: Period,
    now: datetime,
    tracked: TrackedVisitors | None = None,
) -> Dashboard:
    """The dashboard; ``tracked``: visitors from :func:`count_tracked_visitors` (without
    them, visitors are login-based)."""
    current_window, previous_window, days, since = _span(period, now)
    until = as_utc(now)

    logins = [
        Activity(int(shopper_id), at)
        for shopper_id, at in session.execute(
            select(OutboxEvent.aggregate_id, OutboxEvent.occurred_at).where(
                OutboxEvent.event_type == LOGIN_EVENT,
                OutboxEvent.occurred_at >= since,
                OutboxEvent.occurred_at <= until,
            )
        )
    ]
    registrations = [
        Activity(shopper_id, at)
        for shopper_id, at in session.execute(
            select(Shopper.id, Shopper.registered_at).where(
                Shopper.registered_at >= since, Shopper.registered_at <= until
            )
        )
    ]
    placements = [
        Activity(shopper_id, at)
        for shopper_id, at in session.execute(
            select(Order.shopper_id, Order.placed_at).where(
                Order.placed_at >= since, Order.placed_at <= until
            )
        )
    ]
    payments = [
        Payment(shopper_id, at, paid_fen, refunded_fen)
        for shopper_id, at, paid_fen, refunded_fen in session.execute(
            select(Order.shopper_id, Order.paid_at, Order.paid_fen, Order.refunded_fen).where(
                Order.paid_at.is_not(None), Order.paid_at >= since, Order.paid_at <= until
            )
        )
        if at is not None
    ]

    def metrics(window: Window, visitors: int | None) -> Metrics:
        return compute_metrics(
            collect_facts(
                window,
                logins=logins,
                registrations=registrations,
                placements=placements,
                payments=payments,
                tracked_visitors=visitors,
            )
        )

    current = metrics(current_window, tracked.current if tracked else None)
    previous = metrics(previous_window, tracked.previous if tracked else None)
    return Dashboard(
        period=period,
        current_window=current_window,
        previous_window=previous_window,
        current=current,
        previous=previous,
        changes=compare(current, previous),
        trend=build_trend(
            days,
            logins=logins,
            placements=placements,
            payments=payments,
            tracked_visitors=tracked.by_day if tracked else None,
        ),
        visitors_tracked=tracked is not None,
    )
