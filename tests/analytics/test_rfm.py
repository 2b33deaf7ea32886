from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from siyu.analytics.rfm import SEGMENT_BY_LEVELS, RfmCustomer, RfmQuery, RfmResult, Segment
from siyu.analytics.store import AnalyticsStore
from tests.helpers import insert_events

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Fact:
    event_id: str
    event: str
    shopper_id: int
    order_id: int
    amount_fen: int
    at: datetime  # UTC


def paid(event_id: str, shopper: int, order: int, fen: int, day: str, hour: int = 2) -> Fact:
    return Fact(event_id, "order.paid", shopper, order, fen, _utc(day, hour))


def refund(event_id: str, shopper: int, order: int, fen: int, day: str, hour: int = 2) -> Fact:
    return Fact(event_id, "refund.succeeded", shopper, order, fen, _utc(day, hour))


def _utc(day: str, hour: int) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def reference_rfm(
    facts: Sequence[Fact], date_from: date, date_to: date, as_of: date
) -> list[tuple[int, int, int, int, int, int, int, Segment]]:
    """The module docstring's rules, by brute force."""
    unique: dict[str, Fact] = {}
    for f in facts:
        unique.setdefault(f.event_id, f)

    def local(f: Fact) -> date:
        return f.at.astimezone(SHANGHAI).date()

    orders: dict[int, Fact] = {}
    for f in sorted(unique.values(), key=lambda f: (f.at, f.event_id)):
        if (
            f.event == "order.paid"
            and f.shopper_id != 0
            and f.order_id != 0
            and date_from <= local(f) <= date_to
            and local(f) <= as_of
        ):
            orders.setdefault(f.order_id, f)
    refunded: dict[int, int] = {}
    for f in unique.values():
        if f.event == "refund.succeeded" and local(f) <= as_of:
            refunded[f.order_id] = refunded.get(f.order_id, 0) + f.amount_fen
    per_shopper: dict[int, list[tuple[date, int]]] = {}
    for order in orders.values():
        net = order.amount_fen - refunded.get(order.order_id, 0)
        if net > 0:
            per_shopper.setdefault(order.shopper_id, []).append((local(order), net))
    shoppers = sorted(per_shopper)
    recency = {s: (as_of - max(d for d, _ in per_shopper[s])).days for s in shoppers}
    frequency = {s: len(per_shopper[s]) for s in shoppers}
    monetary = {s: sum(n for _, n in per_shopper[s]) for s in shoppers}

    def ntile5(ordered: list[int]) -> dict[int, int]:
        n = len(ordered)
        size, extra = divmod(n, 5)
        scores: dict[int, int] = {}
        position = 0
        for bucket in range(1, 6):
            for _ in range(size + (1 if bucket <= extra else 0)):
                scores[ordered[position]] = bucket
                position += 1
        return scores

    r = ntile5(sorted(shoppers, key=lambda s: (-recency[s], s)))
    f_ = ntile5(sorted(shoppers, key=lambda s: (frequency[s], s)))
    m = ntile5(sorted(shoppers, key=lambda s: (monetary[s], s)))
    n = len(shoppers)
    sums = (sum(r.values()), sum(f_.values()), sum(m.values()))
    table = []
    for s in shoppers:
        levels = (r[s] * n > sums[0], f_[s] * n > sums[1], m[s] * n > sums[2])
        table.append(
            (s, recency[s], frequency[s], monetary[s], r[s], f_[s], m[s], SEGMENT_BY_LEVELS[levels])
        )
    return table


def as_table(result: RfmResult) -> list[tuple[int, int, int, int, int, int, int, Segment]]:
    return [
        (
            c.shopper_id,
            c.recency_days,
            c.frequency,
            c.monetary_fen,
            c.r_score,
            c.f_score,
            c.m_score,
            c.segment,
        )
        for c in result.customers
    ]


OCTOBER = RfmQuery(date_from=date(2026, 10, 1), date_to=date(2026, 10, 31))
HAND_FACTS = [
    paid("p1", 1, 101, 2000, "2026-10-25"),
    paid("p2", 1, 102, 1000, "2026-10-30"),
    paid("p2", 1, 102, 1000, "2026-10-30"),  # a retried delivery of the same fact
    paid("p3", 2, 201, 5000, "2026-10-01"),
    paid("p4", 3, 301, 300, "2026-10-10"),
    paid("p5", 3, 302, 300, "2026-10-12"),
    paid("p6", 3, 303, 400, "2026-10-20"),
    refund("r1", 3, 303, 400, "2026-11-02"),  # after as_of: not netted
    paid("p7", 4, 401, 600, "2026-10-05"),
    paid("p8", 4, 402, 800, "2026-10-28"),
    refund("r2", 4, 402, 800, "2026-10-29"),  # fully refunded: no purchase
    paid("p9", 5, 501, 10000, "2026-10-15"),
    refund("r3", 5, 501, 4000, "2026-10-16"),
    paid("p10", 6, 601, 9999, "2026-09-30"),  # before the range
    paid("p11", 6, 602, 100, "2026-10-31", hour=10),  # 18:00 on Oct 31 in China
    paid("p12", 7, 701, 500, "2026-10-31", hour=17),  # Nov 1, 01:00 in China: outside
    paid("p13", 8, 801, 700, "2026-10-03"),
    refund("r4", 8, 801, 700, "2026-10-04"),  # only a refunded order: not a customer
]


def test_a_small_store_gets_the_hand_checked_scores_and_segments(
    analytics_store: AnalyticsStore,
) -> None:
    # given six paying shoppers in October (and two who only look like it)
    insert_events(analytics_store, HAND_FACTS)

    # when RFM runs for October, as of Oct 31
    result = OCTOBER.run(analytics_store)

    # then: ntile(5) of six puts two in score 1; the average score is 16/6, so 3+ is high
    assert as_table(result) == [
        (1, 1, 2, 3000, 4, 4, 3, Segment.important_value),
        (2, 30, 1, 5000, 1, 1, 4, Segment.important_retain),
        (3, 11, 3, 1000, 3, 5, 2, Segment.general_value),
        (4, 26, 1, 600, 1, 1, 1, Segment.general_retain),
        (5, 16, 1, 6000, 2, 2, 5, Segment.important_retain),
        (6, 0, 1, 100, 5, 3, 1, Segment.general_value),
    ]
    assert [(s.label_zh, s.customers, s.revenue_fen) for s in result.segments] == [
        ("重要价值", 1, 3000),
        ("重要发展", 0, 0),
        ("重要保持", 0, 0),
        ("重要挽留", 2, 11000),
        ("一般价值", 2, 1100),
        ("一般发展", 0, 0),
        ("一般保持", 0, 0),
        ("一般挽留", 1, 600),
    ]


def test_the_same_events_give_the_same_result_twice(analytics_store: AnalyticsStore) -> None:
    # given the hand-checked store
    insert_events(analytics_store, HAND_FACTS)

    # when RFM runs twice
    first = OCTOBER.run(analytics_store)
    second = OCTOBER.run(analytics_store)

    # then the results are identical
    assert first == second


def test_an_empty_store_has_eight_empty_segments(analytics_store: AnalyticsStore) -> None:
    result = OCTOBER.run(analytics_store)
    page = OCTOBER.page(analytics_store)
    assert result.customers == []
    assert [(s.segment, s.customers, s.revenue_fen) for s in result.segments] == [
        (segment, 0, 0) for segment in SEGMENT_BY_LEVELS.values()
    ]
    assert page.segments == result.segments
    assert (page.customers, page.total) == ([], 0)
    assert list(OCTOBER.customer_rows(analytics_store)) == []


def as_rows(
    customers: Sequence[RfmCustomer],
) -> list[tuple[int, Segment, int, int, int, int, int, int]]:
    """Customers as the export's tuples (``RfmQuery.customer_rows``)."""
    return [
        (
            c.shopper_id,
            c.segment,
            c.recency_days,
            c.frequency,
            c.monetary_fen,
            c.r_score,
            c.f_score,
            c.m_score,
        )
        for c in customers
    ]


def assert_pages_and_rows_match_the_full_list(
    store: AnalyticsStore, query: RfmQuery, offsets: Sequence[int], limits: Sequence[int]
) -> None:
    """Every page and every export equals the matching slice of ``run()``'s list."""
    full = query.run(store)
    for segment in [None, *SEGMENT_BY_LEVELS.values()]:
        expected = [c for c in full.customers if segment is None or c.segment == segment]
        assert list(query.customer_rows(store, segment=segment)) == as_rows(expected)
        for offset in offsets:
            for limit in limits:
                page = query.page(store, segment=segment, offset=offset, limit=limit)
                assert page.customers == expected[offset : offset + limit]
                assert page.segments == full.segments
                assert (page.segment, page.total, page.offset, page.limit) == (
                    segment,
                    len(expected),
                    offset,
                    limit,
                )


def test_pages_of_customers_are_slices_of_the_full_list_with_its_segments(
    analytics_store: AnalyticsStore,
) -> None:
    # given the hand-checked store
    insert_events(analytics_store, HAND_FACTS)

    # when: pages of one to seven customers from every offset, of everyone and of each
    # segment, and the export of each
    # then each is the matching slice of the full list, with the same eight segments
    assert_pages_and_rows_match_the_full_list(
        analytics_store, OCTOBER, offsets=[0, 1, 5, 7], limits=[1, 2, 7]
    )
    page = OCTOBER.page(analytics_store, segment=Segment.important_retain, limit=1)
    assert [c.shopper_id for c in page.customers] == [2]
    assert page.total == 2
    assert [(s.customers, s.revenue_fen) for s in page.segments][3] == (2, 11000)


def test_the_page_query_returns_at_most_one_row_per_segment(
    analytics_store: AnalyticsStore,
) -> None:
    # given the hand-checked store (six customers in four segments)
    insert_events(analytics_store, HAND_FACTS)

    # when the page's SQL runs on its own
    sql, params = OCTOBER.build_page_sql(analytics_store.database, offset=0, limit=2)
    rows = analytics_store.query(sql, params).rows

    # then the summary comes back per segment, each with only its first two customers
    assert len(rows) == 4
    assert sum(row[3] for row in rows) == 6
    assert all(len(row[5]) <= 2 for row in rows)


def test_a_page_must_have_a_sensible_offset_and_limit() -> None:
    for offset, limit in [(-1, 10), (0, 0), (0, 5001)]:
        with pytest.raises(ValueError, match="offset|limit"):
            OCTOBER.build_page_sql("shop", offset=offset, limit=limit)


def test_the_query_binds_its_dates_and_timezone_as_parameters() -> None:
    # given a query measured a week after its range
    query = RfmQuery(
        date_from=date(2026, 10, 1), date_to=date(2026, 10, 31), as_of=date(2026, 11, 7)
    )

    # when its SQL is built
    sql, params = query.build_sql("shop")

    # then values are parameters and the kind names the insight
    assert params == {
        "date_from": "2026-10-01",
        "date_to": "2026-10-31",
        "as_of": "2026-11-07",
        "tz": "Asia/Shanghai",
    }
    assert "shop.events" in sql and "2026" not in sql
    assert query.kind == "rfm"


def test_a_range_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValidationError, match="date_from must not be after date_to"):
        RfmQuery(date_from=date(2026, 10, 2), date_to=date(2026, 10, 1))


BASE = datetime(2026, 9, 28, tzinfo=UTC)


@st.composite
def fact_lists(draw: st.DrawFn) -> list[Fact]:
    count = draw(st.integers(min_value=0, max_value=30))
    facts = [
        Fact(
            event_id=f"e{i}",
            event=draw(st.sampled_from(["order.paid", "order.paid", "refund.succeeded"])),
            shopper_id=draw(st.integers(min_value=0, max_value=8)),
            order_id=draw(st.integers(min_value=0, max_value=12)),
            amount_fen=draw(st.sampled_from([100, 200, 300, 500])),
            at=BASE + timedelta(hours=draw(st.integers(min_value=0, max_value=40 * 24))),
        )
        for i in range(count)
    ]
    retried = draw(st.lists(st.sampled_from(facts), max_size=5)) if facts else []
    return facts + retried


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(facts=fact_lists(), as_of_lag=st.integers(min_value=0, max_value=3))
def test_the_runner_equals_a_brute_force_reference(
    analytics_store: AnalyticsStore, facts: list[Fact], as_of_lag: int
) -> None:
    # given random paid and refund facts, some retried, some outside the range
    analytics_store.command(f"TRUNCATE TABLE {analytics_store.database}.events")
    insert_events(analytics_store, facts)
    date_from, date_to = date(2026, 10, 3), date(2026, 10, 30)
    as_of = date_to + timedelta(days=as_of_lag)

    # when RFM runs
    query = RfmQuery(date_from=date_from, date_to=date_to, as_of=as_of)
    result = query.run(analytics_store)

    # then it matches the reference customer by customer, and the segment totals add up
    expected = reference_rfm(facts, date_from, date_to, as_of)
    assert as_table(result) == expected
    assert [(s.customers, s.revenue_fen) for s in result.segments] == [
        (
            sum(1 for row in expected if row[7] == segment),
            sum(row[3] for row in expected if row[7] == segment),
        )
        for segment in SEGMENT_BY_LEVELS.values()
    ]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    facts=fact_lists(),
    offset=st.integers(min_value=0, max_value=9),
    limit=st.integers(min_value=1, max_value=4),
)
def test_pages_and_exports_equal_slices_of_the_runner_s_list(
    analytics_store: AnalyticsStore, facts: list[Fact], offset: int, limit: int
) -> None:
    # given random paid and refund facts
    analytics_store.command(f"TRUNCATE TABLE {analytics_store.database}.events")
    insert_events(analytics_store, facts)
    query = RfmQuery(date_from=date(2026, 10, 3), date_to=date(2026, 10, 30))

    # when pages and exports are read, then they are slices of the full list
    assert_pages_and_rows_match_the_full_list(
        analytics_store, query, offsets=[0, offset], limits=[limit]
    )
