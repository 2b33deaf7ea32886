"""``siyu simulate`` builds a store history through the public APIs: deterministic for a
seed, every funnel step populated, and OLTP orders matching the analytics facts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from siyu.analytics.schema import EVENTS, ensure_schema
from siyu.analytics.store import AnalyticsStore, ChdbStore
from siyu.bootstrap import Context, build_context
from siyu.channel.models import Channel
from siyu.clock import FrozenClock
from siyu.devtools.simulate import FUNNEL_STEPS, SimulationReport, simulate
from siyu.models import metadata
from siyu.order.carriers import looks_like
from siyu.order.models import Order
from siyu.worker import Worker
from tests.conftest import START, make_settings

DAYS, SHOPPERS, SEED = 3, 30, 11


def _context(tmp_path: Path, name: str, store: AnalyticsStore) -> Context:
    url = f"sqlite:///{tmp_path / f'{name}.db'}"
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    settings = make_settings(url, tmp_path / name)
    return build_context(settings, clock=FrozenClock(START), analytics=store)


@pytest.fixture
def second_store(chdb_folder: Path) -> Iterator[AnalyticsStore]:
    database = f"t_{uuid.uuid4().hex[:12]}"
    store = ChdbStore(chdb_folder, database=database)
    ensure_schema(store)
    yield store
    store.command(f"DROP DATABASE IF EXISTS {database}")
    store.close()


def _run(ctx: Context) -> tuple[SimulationReport, dict[str, Any]]:
    report = simulate(ctx, days=DAYS, shoppers=SHOPPERS, seed=SEED, demo_shoppers=3)
    Worker(ctx).drain()
    store = ctx.analytics
    events = EVENTS.format(db=store.database)
    with ctx.db.transaction() as session:
        orders = {
            str(status): n
            for status, n in session.execute(
                select(Order.status, func.count()).group_by(Order.status)
            )
        }
        paid_ids = set(session.scalars(select(Order.id).where(Order.paid_at.is_not(None))))
        timelines = [
            (o.order_no, [t for t in (o.placed_at, o.paid_at, o.shipped_at, o.completed_at) if t])
            for o in session.scalars(select(Order))
        ]
        shipments = [
            (o.carrier, o.tracking_no)
            for o in session.scalars(select(Order).where(Order.shipped_at.is_not(None)))
        ]
        channel_codes = set(session.scalars(select(Channel.code)))
    facts = {
        int(row[0])
        for row in store.query(
            f"SELECT DISTINCT order_id FROM {events} WHERE event = 'order.paid'"
        ).rows
    }
    by_event = dict(
        store.query(f"SELECT event, toUInt64(count()) FROM {events} GROUP BY event").rows
    )
    client = store.query(f"SELECT count() FROM {events} WHERE source = 'client'").scalar()
    traffic_codes = {
        str(row[0])
        for row in store.query(
            f"SELECT DISTINCT channel_code FROM {events} WHERE channel_code != ''"
        ).rows
    }
    return report, {
        "orders": orders,
        "paid_ids": paid_ids,
        "facts": facts,
        "by_event": by_event,
        "client_events": client,
        "timelines": timelines,
        "shipments": shipments,
        "channel_codes": channel_codes,
        "traffic_codes": traffic_codes,
    }


def test_a_simulation_is_deterministic_and_its_orders_reach_analytics(
    tmp_path: Path, analytics_store: AnalyticsStore, second_store: AnalyticsStore
) -> None:
    # given two fresh stores
    first = _context(tmp_path, "a", analytics_store)
    second = _context(tmp_path, "b", second_store)
    try:
        # when the same seed is simulated on both
        report, seen = _run(first)
        again, seen_again = _run(second)
    finally:
        first.close()
        second.close()

    # then they hold the same history
    assert report.counts == again.counts
    assert report.funnel == again.funnel
    assert seen["orders"] == seen_again["orders"]
    assert seen["by_event"] == seen_again["by_event"]
    assert report.counts["arrivals"] == SHOPPERS
    # and every step of the funnel has people, fewer at each step
    counts = [n for _, n in report.funnel]
    assert [name for name, _ in report.funnel] == list(FUNNEL_STEPS)
    assert all(n > 0 for n in counts), report.summary()
    assert counts == sorted(counts, reverse=True)
    for name in ("$launch", "$pageview", "$page_leave", "product_view", "add_to_cart"):
        assert seen["by_event"].get(name, 0) > 0, name
    assert report.counts["orders_paid"] > 0 and report.counts["logins"] > 0
    # and every paid order in OLTP is one order.paid fact in analytics, and no more
    assert seen["paid_ids"] == seen["facts"]
    # and every client event sent was accepted and stored once
    sent = report.counts["events_sent"]
    assert report.counts["events_accepted"] == sent == seen["client_events"]
    assert report.counts["api_errors"] == 0
    # and every order keeps causality: placed ≤ paid ≤ shipped ≤ completed
    broken = [(no, steps) for no, steps in seen["timelines"] if steps != sorted(steps)]
    assert not broken, broken
    assert report.counts["shipped"] > 0
    # and each tracking number has its carrier's shape
    assert all(looks_like(carrier, no) for carrier, no in seen["shipments"]), seen["shipments"]
    # and the traffic comes through channel codes the store has
    assert seen["traffic_codes"], "no channel-coded traffic"
    assert seen["traffic_codes"] <= seen["channel_codes"]
