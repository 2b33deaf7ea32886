from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from siyu.analytics.queries.overview import (
    OverviewQuery,
    OverviewRunner,
    change,
    shanghai_days,
)
from siyu.analytics.store import AnalyticsStore
from siyu.clock import SHANGHAI
from tests.analytics.queries.growth_reference import Fact, is_visit, person
from tests.helpers import insert_events

MONDAY = datetime(2026, 11, 1, 16, 0, tzinfo=UTC)  # 2026-11-02 00:00 in Shanghai


def day(n: float) -> datetime:
    return MONDAY + timedelta(days=n)


def test_the_overview_compares_this_week_with_the_week_before(
    analytics_store: AnalyticsStore,
) -> None:
    # given last week: d1 visits on two days and buys once (4000); d2 visits
    # this week: d1 (shopper 1 after login) visits, buys twice (6000 + 3000) with a
    # 1000 refund; d3 registers, visits at 23:59 and 00:01 Shanghai (two days) and buys
    insert_events(
        analytics_store,
        [
            Fact("page_view", "d1", day(-6.5)),
            Fact("page_view", "d1", day(-5.5)),
            Fact("order.paid", "d1", day(-5.4), shopper_id=1, amount_fen=4000),
            Fact("page_view", "d2", day(-1)),
            Fact("page_view", "d1", day(0.5), shopper_id=1),
            Fact("order.paid", "d1", day(0.6), shopper_id=1, amount_fen=6000),
            Fact("order.paid", "d1", day(2.6), shopper_id=1, amount_fen=3000),
            Fact("refund.succeeded", "d1", day(3.0), shopper_id=1, amount_fen=1000),
            Fact("shopper.registered", "d3", day(1.99), shopper_id=3),
            Fact("page_view", "d3", day(1.999)),
            Fact("page_view", "d3", day(2.001)),
            Fact("order.paid", "d3", day(2.1), shopper_id=3, amount_fen=2001),
        ],
        links={"d1": 1, "d3": 3},
    )
    query = OverviewQuery(date_from=day(0), date_to=day(7))

    # when
    result = OverviewRunner(query, database=analytics_store.database).run(analytics_store)

    # then
    assert {n: (m.value, m.previous, m.change) for n, m in result} == {
        "visitors": (2, 2, 0.0),
        "new_shoppers": (1, 0, None),
        # person-days / 7: this week d1 on days 0 and 2 (paying is a visit), d3 on days
        # 1 and 2; last week d1 on two days, d2 on one
        "dau": (0.57, 0.43, 32.56),
        "orders": (3, 1, 200.0),
        "gmv_fen": (10001, 4000, 150.03),
        "conversion_rate": (100.0, 50.0, 100.0),
        "aov_fen": (3667, 4000, -8.32),  # 11001 / 3 rounded half up
        "repurchase_rate": (50.0, 0.0, None),
    }


def test_an_empty_store_gives_zeros_without_change() -> None:
    query = OverviewQuery(date_from=day(0), date_to=day(1))
    result = OverviewRunner(query).shape([])
    assert result.orders.value == 0 and result.orders.change is None
    assert result.conversion_rate.value == 0.0


def test_a_period_counts_every_shanghai_day_it_touches() -> None:
    assert shanghai_days(day(0), day(7)) == 7
    assert shanghai_days(day(0.5), day(1.5)) == 2
    assert shanghai_days(day(0), day(0.01)) == 1


def test_change_is_relative_to_the_previous_value() -> None:
    assert change(150, 100) == 50.0
    assert change(50, 100) == -50.0
    assert change(5, 0) is None


def test_random_events_match_the_brute_force_reference(analytics_store: AnalyticsStore) -> None:
    # given
    rng = random.Random(7)
    links = {"d0": 100, "d3": 103}
    facts = []
    for _ in range(150):
        device = f"d{rng.randrange(8)}"
        at = day(rng.uniform(-8, 8))
        kind = rng.choice(
            ["page_view", "page_view", "shopper.registered", "order.paid", "shopper.logged_in",
             "order.placed"]
        )  # fmt: skip
        kind = rng.choice([kind, "refund.succeeded"]) if rng.random() < 0.2 else kind
        amount = rng.randrange(1, 5000) if kind in ("order.paid", "refund.succeeded") else 0
        facts.append(
            Fact(kind, device, at, links.get(device, 0) * (kind != "page_view"), amount_fen=amount)
        )
    insert_events(analytics_store, facts, links)
    query = OverviewQuery(date_from=day(0), date_to=day(7))

    # when
    result = OverviewRunner(query, database=analytics_store.database).run(analytics_store)

    # then
    for name, (start, end) in {
        "value": (day(0), day(7)),
        "previous": (day(-7), day(0)),
    }.items():
        events = [f for f in facts if start <= f.at < end]
        visitors = {person(f, links) for f in events if is_visit(f)}
        active = {
            (person(f, links), f.at.astimezone(SHANGHAI).date()) for f in events if is_visit(f)
        }
        orders: dict[str, int] = defaultdict(int)
        for f in events:
            if f.event == "order.paid":
                orders[person(f, links)] += 1
        paid = sum(f.amount_fen for f in events if f.event == "order.paid")
        refunded = sum(f.amount_fen for f in events if f.event == "refund.succeeded")
        assert getattr(result.visitors, name) == len(visitors)
        assert getattr(result.dau, name) == round(len(active) / 7, 2)
        assert getattr(result.orders, name) == sum(orders.values())
        assert getattr(result.gmv_fen, name) == paid - refunded
        repeat = sum(1 for n in orders.values() if n >= 2)
        assert getattr(result.repurchase_rate, name) == (
            round(100 * repeat / len(orders), 2) if orders else 0.0
        )
