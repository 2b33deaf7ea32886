from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from siyu.analytics.queries.channels import (
    ChannelSpendInput,
    ChannelsQuery,
    ChannelsRunner,
    cac_fen,
    roi,
)
from siyu.analytics.store import AnalyticsStore
from tests.analytics.queries.growth_reference import Fact, reference_channels
from tests.helpers import insert_events

MONDAY = datetime(2026, 11, 1, 16, 0, tzinfo=UTC)  # 2026-11-02 00:00 in Shanghai


def day(n: float) -> datetime:
    return MONDAY + timedelta(days=n)


def query(**fields: object) -> ChannelsQuery:
    defaults: dict[str, object] = {"date_from": day(0), "date_to": day(7)}
    return ChannelsQuery(**(defaults | fields))  # type: ignore[arg-type]


def run(store: AnalyticsStore, q: ChannelsQuery) -> dict[str, tuple[object, ...]]:
    result = ChannelsRunner(q, database=store.database).run(store)
    return {
        c.channel: (
            c.visitors,
            c.new_shoppers,
            c.buyers,
            c.new_buyers,
            c.orders,
            c.gmv_fen,
            c.conversion_rate,
            c.spend_fen,
            c.cac_fen,
            c.roi,
        )
        for c in result.channels
    }


STORY = [
    # d1 scans a QR code (AB12), later comes back from an ad, logs in as shopper 1,
    # registers and pays twice; one payment is partly refunded
    Fact("page_view", "d1", day(0.1), channel="qr", channel_code="AB12"),
    Fact("page_view", "d1", day(1.1), channel="ads", channel_code="AD01"),
    Fact("shopper.registered", "d1", day(1.2), shopper_id=1),
    Fact("order.paid", "d1", day(1.3), shopper_id=1, amount_fen=10000),
    Fact("page_view", "d1", day(2.0), shopper_id=1, channel="share"),  # after conversion
    Fact("order.paid", "d1", day(2.1), shopper_id=1, amount_fen=5000),
    Fact("refund.succeeded", "d1", day(3.0), shopper_id=1, amount_fen=2000),
    # d2 comes from an ad only, never buys
    Fact("page_view", "d2", day(0.5), channel="ads", channel_code="AD01"),
    # d3 opens from the recent list (direct) and buys as shopper 3 who bought before
    Fact("order.paid", "d3", day(-10), shopper_id=3, amount_fen=800),
    Fact("page_view", "d3", day(4.0), shopper_id=3, channel="direct"),
    Fact("order.paid", "d3", day(4.1), shopper_id=3, amount_fen=3000),
]
LINKS = {"d1": 1}


def test_first_touch_by_group_credits_the_qr_code_that_brought_the_buyer(
    analytics_store: AnalyticsStore,
) -> None:
    # given
    insert_events(analytics_store, STORY, LINKS)
    spend = (ChannelSpendInput(channel="qr", amount_fen=4000),)

    # when
    table = run(analytics_store, query(spend=spend))

    # then shopper 1 (two orders, 15000 − 2000 refunded) is the QR's; d2 the ads';
    # shopper 3 had no channel and was no new buyer
    assert table == {
        "qr": (1, 1, 1, 1, 2, 13000, 100.0, 4000, 4000, 2.25),
        "direct": (1, 0, 1, 0, 1, 3000, 100.0, 0, None, None),
        "ads": (1, 0, 0, 0, 0, 0, 0.0, 0, None, None),
    }


def test_last_touch_by_code_takes_the_latest_touch_before_the_first_payment(
    analytics_store: AnalyticsStore,
) -> None:
    # given
    insert_events(analytics_store, STORY, LINKS)
    spend = (
        ChannelSpendInput(channel="AD01", amount_fen=20000),
        ChannelSpendInput(channel="NEWS", amount_fen=500),
    )

    # when
    table = run(analytics_store, query(attribution="last_touch", breakdown="code", spend=spend))

    # then the share visit after the payment does not steal the credit, and a channel
    # with spend but no visitors still shows its cost
    assert table == {
        "AD01": (2, 1, 1, 1, 2, 13000, 50.0, 20000, 20000, -0.35),
        "": (1, 0, 1, 0, 1, 3000, 100.0, 0, None, None),
        "NEWS": (0, 0, 0, 0, 0, 0, 0.0, 500, None, -1.0),
    }


def test_results_are_ordered_by_gmv_then_visitors(analytics_store: AnalyticsStore) -> None:
    # given
    insert_events(analytics_store, STORY, LINKS)

    # when
    result = ChannelsRunner(query(), database=analytics_store.database).run(analytics_store)

    # then
    assert [c.channel for c in result.channels] == ["qr", "direct", "ads"]


@pytest.mark.parametrize(
    ("spend", "buyers", "expected"), [(1000, 3, 333), (1000, 6, 167), (5, 2, 3), (0, 1, 0)]
)
def test_cac_rounds_half_up_to_whole_fen(spend: int, buyers: int, expected: int) -> None:
    assert cac_fen(spend, buyers) == expected


def test_cac_and_roi_are_none_without_new_buyers_or_spend() -> None:
    assert cac_fen(1000, 0) is None
    assert roi(5000, 0) is None
    assert roi(5000, 2000) == 1.5


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    ("attribution", "breakdown"),
    [("first_touch", "group"), ("last_touch", "group"), ("first_touch", "code")],
)
def test_random_events_match_the_brute_force_reference(
    analytics_store: AnalyticsStore, seed: int, attribution: str, breakdown: str
) -> None:
    # given random devices, some linked to shoppers, with random channels and money
    rng = random.Random(seed)
    links = {f"d{i}": 100 + i for i in range(0, 12, 3)}
    groups = ["", "direct", "qr", "ads", "share"]
    codes = ["", "", "AB12", "AD01"]
    facts = []
    for _ in range(120):
        device = f"d{rng.randrange(12)}"
        at = day(rng.uniform(-3, 9))
        shopper = links.get(device, 0) if rng.random() < 0.5 else 0
        kind = rng.choice(["view", "view", "view", "reg", "paid", "paid", "refund", "login"])
        if kind == "view":
            facts.append(
                Fact("page_view", device, at, shopper, rng.choice(groups), rng.choice(codes))
            )
        elif kind == "reg":
            facts.append(Fact("shopper.registered", device, at, links.get(device, 0)))
        elif kind == "login":  # a visit without a client event
            facts.append(Fact("shopper.logged_in", device, at, links.get(device, 0)))
        else:
            event = "order.paid" if kind == "paid" else "refund.succeeded"
            facts.append(Fact(event, device, at, shopper, amount_fen=rng.randrange(1, 9000)))
    insert_events(analytics_store, facts, links)
    q = query(attribution=attribution, breakdown=breakdown)

    # when
    table = run(analytics_store, q)

    # then
    expected = reference_channels(
        facts, links, q.date_from, q.date_to, attribution=attribution, breakdown=breakdown
    )
    assert {k: v[:6] for k, v in table.items()} == expected
