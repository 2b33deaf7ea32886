from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime

from siyu.analytics.queries.repurchase import (
    RepurchaseQuery,
    RepurchaseRunner,
    cumulative_per_buyer,
    months_between,
)
from siyu.analytics.store import AnalyticsStore
from siyu.clock import SHANGHAI
from tests.analytics.queries.growth_reference import Fact, person
from tests.helpers import insert_events


def shanghai(y: int, m: int, d: int, h: int = 12) -> datetime:
    return datetime(y, m, d, h, tzinfo=SHANGHAI).astimezone(UTC)


def test_cohort_ltv_accumulates_net_revenue_per_buyer_by_shanghai_month(
    analytics_store: AnalyticsStore,
) -> None:
    # given shopper 1 first buys on Sep 30 at 23:30 Shanghai (Sep 30 15:30 UTC), buys again
    # in November and gets 500 back; shopper 2 first buys in September too, once;
    # shopper 3 bought in August (before the range) and again in October
    insert_events(
        analytics_store,
        [
            Fact("order.paid", "d1", shanghai(2026, 9, 30, 23), shopper_id=1, amount_fen=3000),
            Fact("order.paid", "d1", shanghai(2026, 11, 3), shopper_id=1, amount_fen=2000),
            Fact("refund.succeeded", "d1", shanghai(2026, 11, 4), shopper_id=1, amount_fen=500),
            Fact("order.paid", "d2", shanghai(2026, 9, 2), shopper_id=2, amount_fen=1000),
            Fact("order.paid", "d3", shanghai(2026, 8, 2), shopper_id=3, amount_fen=7000),
            Fact("order.paid", "d3", shanghai(2026, 10, 2), shopper_id=3, amount_fen=7000),
        ],
    )
    query = RepurchaseQuery(
        date_from=datetime(2026, 9, 1, tzinfo=SHANGHAI),
        date_to=datetime(2026, 12, 1, tzinfo=SHANGHAI),
    )

    # when
    result = RepurchaseRunner(query, database=analytics_store.database).run(analytics_store)

    # then three buyers in range, one with two orders in it; shopper 3 is no cohort member
    assert (result.buyers, result.repeat_buyers, result.repurchase_rate) == (3, 1, 33.33)
    assert [(c.month, c.buyers, c.ltv_fen) for c in result.cohorts] == [
        (date(2026, 9, 1), 2, [2000.0, 2000.0, 2750.0]),
    ]


def test_months_not_yet_started_are_not_listed(analytics_store: AnalyticsStore) -> None:
    # given
    insert_events(
        analytics_store,
        [Fact("order.paid", "d1", shanghai(2026, 11, 5), shopper_id=1, amount_fen=999)],
    )
    query = RepurchaseQuery(
        date_from=datetime(2026, 11, 1, tzinfo=SHANGHAI),
        date_to=datetime(2026, 11, 20, tzinfo=SHANGHAI),
    )

    # when
    result = RepurchaseRunner(query, database=analytics_store.database).run(analytics_store)

    # then
    assert [(c.month, c.buyers, c.ltv_fen) for c in result.cohorts] == [
        (date(2026, 11, 1), 1, [999.0])
    ]
    assert result.repurchase_rate == 0.0


def test_cumulative_ltv_and_month_distance() -> None:
    assert cumulative_per_buyer({0: 300, 2: 100}, 3, 4) == [100.0, 100.0, 133.33, 133.33]
    assert months_between(date(2026, 11, 1), date(2027, 2, 14)) == 3


def test_random_orders_match_the_brute_force_reference(analytics_store: AnalyticsStore) -> None:
    # given
    rng = random.Random(11)
    facts = []
    for _ in range(80):
        shopper = rng.randrange(1, 15)
        at = shanghai(2026, rng.randrange(6, 12), rng.randrange(1, 29), rng.randrange(0, 24))
        event = "order.paid" if rng.random() < 0.8 else "refund.succeeded"
        facts.append(Fact(event, f"d{shopper}", at, shopper, amount_fen=rng.randrange(1, 9999)))
    insert_events(analytics_store, facts)
    date_from = datetime(2026, 8, 1, tzinfo=SHANGHAI)
    date_to = datetime(2026, 11, 15, tzinfo=SHANGHAI)
    query = RepurchaseQuery(date_from=date_from, date_to=date_to, months=3)

    # when
    result = RepurchaseRunner(query, database=analytics_store.database).run(analytics_store)

    # then
    before_end = [f for f in facts if f.at < date_to]
    orders: dict[str, int] = defaultdict(int)
    first: dict[str, datetime] = {}
    for f in before_end:
        if f.event == "order.paid":
            p = person(f, {})
            first[p] = min(first.get(p, f.at), f.at)
            orders[p] += f.at >= date_from
    buyers = [p for p, n in orders.items() if n > 0]
    assert result.buyers == len(buyers)
    assert result.repeat_buyers == sum(1 for p in buyers if orders[p] >= 2)
    cohorts: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for p, at in first.items():
        if at >= date_from:
            cohorts[at.astimezone(SHANGHAI).date().replace(day=1)][p] += 0
    expected = []
    for month in sorted(cohorts):
        members = set(cohorts[month])
        net: dict[int, int] = defaultdict(int)
        for f in before_end:
            p = person(f, {})
            local = f.at.astimezone(SHANGHAI).date()
            if p in members and local >= month:
                k = months_between(month, local)
                net[k] += f.amount_fen if f.event == "order.paid" else -f.amount_fen
        span = min(3, months_between(month, date(2026, 11, 14)) + 1)
        expected.append((month, len(members), cumulative_per_buyer(net, len(members), span)))
    assert [(c.month, c.buyers, c.ltv_fen) for c in result.cohorts] == expected
