"""Dashboard queries: fetch the facts for the current and previous periods and the
trend in one pass, then let :mod:`siyu.dashboard.rules` do the arithmetic.

Logins come from the ``shopper.logged_in`` outbox events (one per login), so past
days keep their visitors; ``shoppers.last_login_at`` would only remember the latest.
Rows are bucketed in Python by Shanghai day, which keeps the SQL identical on SQLite
and PostgreSQL; the analytics store takes this over once tracking exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

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
class Dashboard:
    period: Period
    current_window: Window
    previous_window: Window
    current: Metrics
    previous: Metrics
    changes: list[MetricChange]
    trend: Trend


def load_dashboard(session: Session, *, period: Period, now: datetime) -> Dashboard:
    current_window, previous_window = period_windows(period, now)
    days = trend_days(period, now)
    since = min(previous_window.start, local_midnight(now) - timedelta(days=len(days) - 1))
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

    def metrics(window: Window) -> Metrics:
        return compute_metrics(
            collect_facts(
                window,
                logins=logins,
                registrations=registrations,
                placements=placements,
                payments=payments,
            )
        )

    current, previous = metrics(current_window), metrics(previous_window)
    return Dashboard(
        period=period,
        current_window=current_window,
        previous_window=previous_window,
        current=current,
        previous=previous,
        changes=compare(current, previous),
        trend=build_trend(days, logins=logins, placements=placements, payments=payments),
    )
