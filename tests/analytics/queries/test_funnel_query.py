from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from siyu.analytics.queries import (
    EventFilter,
    FunnelQuery,
    FunnelRunner,
    PropertyFilter,
    persons_csv,
    run_query,
)
from siyu.analytics.queries.funnel import FunnelBreakdown, FunnelResult
from siyu.analytics.store import AnalyticsStore
from tests.analytics.queries.reference import Event
from tests.helpers import insert_events

BASE = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def t(seconds: float) -> datetime:
    return BASE + timedelta(seconds=seconds)


def funnel(*events: str, window: int = 60, **fields: object) -> FunnelQuery:
    return FunnelQuery(
        date_from=BASE,
        date_to=BASE + timedelta(days=1),
        steps=tuple(EventFilter(event=e) for e in events),
        window_interval=window,
        window_unit="second",
        **fields,  # type: ignore[arg-type]
    )


def counts(result: FunnelResult) -> list[int]:
    [series] = result.series
    return [s.count for s in series.steps]


def test_a_step_exactly_at_the_window_boundary_converts_and_one_second_later_does_not(
    analytics_store: AnalyticsStore,
) -> None:
    # given a window of 60 s: d1 pays at exactly 60 s, d2 at 61 s
    insert_events(
        analytics_store,
        [
            Event("view", "d1", t(0)),
            Event("pay", "d1", t(60)),
            Event("view", "d2", t(0)),
            Event("pay", "d2", t(61)),
        ],
    )

    # when
    result = run_query(funnel("view", "pay"), analytics_store)

    # then
    assert isinstance(result, FunnelResult)
    [series] = result.series
    assert [(s.count, s.dropped, s.conversion_from_first) for s in series.steps] == [
        (2, 0, 100.0),
        (1, 1, 50.0),
    ]
    assert series.steps[1].median_conversion_time == 60.0


def test_the_window_runs_from_the_first_step_not_step_to_step(
    analytics_store: AnalyticsStore,
) -> None:
    # given each gap is 40 s, under the 60 s window, but the last step is 80 s after the first
    insert_events(
        analytics_store,
        [Event("view", "d1", t(0)), Event("cart", "d1", t(40)), Event("pay", "d1", t(80))],
    )

    # when
    result = FunnelRunner(funnel("view", "cart", "pay"), database=analytics_store.database).run(
        analytics_store
    )

    # then
    assert counts(result) == [1, 1, 0]


def test_equal_timestamps_count_as_in_order_but_reversed_steps_do_not(
    analytics_store: AnalyticsStore,
) -> None:
    # given d1 views and pays in the same millisecond, d2 pays before it views
    insert_events(
        analytics_store,
        [
            Event("pay", "d1", t(5)),
            Event("view", "d1", t(5)),
            Event("pay", "d2", t(1)),
            Event("view", "d2", t(2)),
        ],
    )

    # when
    result = FunnelRunner(funnel("view", "pay"), database=analytics_store.database).run(
        analytics_store
    )

    # then
    assert counts(result) == [2, 1]
    [series] = result.series
    assert series.steps[1].median_conversion_time == 0.0


def test_a_later_attempt_that_goes_further_counts_and_its_times_are_reported(
    analytics_store: AnalyticsStore,
) -> None:
    # given a first attempt that stalls and a second, 100 s later, that completes
    insert_events(
        analytics_store,
        [
            Event("view", "d1", t(0)),
            Event("cart", "d1", t(10)),
            Event("view", "d1", t(100)),
            Event("cart", "d1", t(130)),
            Event("pay", "d1", t(145)),
        ],
    )

    # when
    result = FunnelRunner(funnel("view", "cart", "pay"), database=analytics_store.database).run(
        analytics_store
    )

    # then the times are those of the second attempt: 30 s then 15 s
    [series] = result.series
    assert [(s.count, s.median_conversion_time) for s in series.steps] == [
        (1, None),
        (1, 30.0),
        (1, 15.0),
    ]


def test_one_event_never_fills_two_identical_consecutive_steps(
    analytics_store: AnalyticsStore,
) -> None:
    # given d1 views once, d2 views twice
    insert_events(
        analytics_store,
        [Event("view", "d1", t(0)), Event("view", "d2", t(0)), Event("view", "d2", t(9))],
    )

    # when
    result = FunnelRunner(funnel("view", "view"), database=analytics_store.database).run(
        analytics_store
    )

    # then
    assert counts(result) == [2, 1]


def test_a_device_linked_to_a_shopper_is_counted_as_that_shopper(
    analytics_store: AnalyticsStore,
) -> None:
    # given shopper 7 browsed anonymously on d1, then paid logged in
    insert_events(
        analytics_store,
        [Event("view", "d1", t(0)), Event("pay", "d9", t(20), shopper_id=7)],
        links={"d1": 7},
    )
    runner = FunnelRunner(funnel("view", "pay"), database=analytics_store.database)

    # when
    result = runner.run(analytics_store)

    # then
    assert counts(result) == [1, 1]
    assert runner.persons_at_step(analytics_store, 2, dropped=False) == ["7"]


def test_median_and_average_times_are_over_the_persons_who_converted(
    analytics_store: AnalyticsStore,
) -> None:
    # given three persons converting after 10, 20 and 60 s, and one who never converts
    events = []
    for device, gap in [("d1", 10), ("d2", 20), ("d3", 60)]:
        events += [Event("view", device, t(0)), Event("pay", device, t(gap))]
    events.append(Event("view", "d4", t(0)))
    insert_events(analytics_store, events)

    # when
    result = FunnelRunner(funnel("view", "pay"), database=analytics_store.database).run(
        analytics_store
    )

    # then
    [series] = result.series
    pay = series.steps[1]
    assert (pay.count, pay.dropped, pay.conversion_from_previous) == (3, 1, 75.0)
    assert (pay.average_conversion_time, pay.median_conversion_time) == (30.0, 20.0)


def test_persons_who_dropped_off_at_a_step_are_listed_and_exported_as_csv(
    analytics_store: AnalyticsStore,
) -> None:
    # given d1 completes, d2 stops after the cart, d3 after viewing
    insert_events(
        analytics_store,
        [
            Event("view", "d1", t(0)),
            Event("cart", "d1", t(1)),
            Event("pay", "d1", t(2)),
            Event("view", "d2", t(0)),
            Event("cart", "d2", t(1)),
            Event("view", "d3", t(0)),
        ],
    )
    runner = FunnelRunner(funnel("view", "cart", "pay"), database=analytics_store.database)

    # when
    dropped_at_pay = runner.persons_at_step(analytics_store, 3)
    dropped_at_cart = runner.persons_at_step(analytics_store, 2)

    # then
    assert dropped_at_pay == ["a:d2"]
    assert dropped_at_cart == ["a:d3"]
    assert persons_csv(dropped_at_pay) == "person_id\na:d2\n"


def test_a_step_property_filter_and_a_channel_breakdown_by_first_touch(
    analytics_store: AnalyticsStore,
) -> None:
    # given d1 first came from ads (later from a share), d2 from a share; only "big" pays count
    insert_events(
        analytics_store,
        [
            Event("view", "d1", t(0), channel="ads"),
            Event("view", "d1", t(5), channel="share"),
            Event("pay", "d1", t(9), properties={"size": "big"}),
            Event("view", "d2", t(0), channel="share"),
            Event("pay", "d2", t(9), properties={"size": "small"}),
        ],
    )
    query = FunnelQuery(
        date_from=BASE,
        date_to=BASE + timedelta(days=1),
        steps=(
            EventFilter(event="view"),
            EventFilter(event="pay", properties=(PropertyFilter(key="size", value="big"),)),
        ),
        breakdown=FunnelBreakdown(type="channel"),
    )
    runner = FunnelRunner(query, database=analytics_store.database)

    # when
    result = runner.run(analytics_store)

    # then
    assert [(s.breakdown_value, [st.count for st in s.steps]) for s in result.series] == [
        ("ads", [1, 1]),
        ("share", [1, 0]),
    ]
    assert runner.persons_at_step(analytics_store, 2, breakdown_value="share") == ["a:d2"]


def test_an_empty_funnel_reports_zero_counts_without_dividing_by_zero(
    analytics_store: AnalyticsStore,
) -> None:
    # when
    result = FunnelRunner(funnel("view", "pay"), database=analytics_store.database).run(
        analytics_store
    )

    # then
    [series] = result.series
    assert [(s.count, s.conversion_from_first, s.median_conversion_time) for s in series.steps] == [
        (0, 0.0, None),
        (0, 0.0, None),
    ]


def test_a_funnel_needs_two_to_ten_steps_and_an_aware_range() -> None:
    with pytest.raises(ValidationError):
        funnel("view")
    with pytest.raises(ValidationError):
        funnel(*["view"] * 11)
    with pytest.raises(ValidationError):
        FunnelQuery(
            date_from=datetime(2026, 11, 1),
            date_to=datetime(2026, 11, 2),
            steps=(EventFilter(event="a"), EventFilter(event="b")),
        )
