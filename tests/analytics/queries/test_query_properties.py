"""Property tests: the SQL runners equal the brute-force references on generated events.

Few persons, few event names and a coarse time grid, so that equal timestamps, the
exact window boundary, out-of-order and repeated steps, later better attempts and
devices linked to shoppers all happen often.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siyu.analytics.queries import (
    EventFilter,
    FunnelQuery,
    FunnelRunner,
    PropertyFilter,
    RetentionQuery,
    RetentionRunner,
)
from siyu.analytics.queries.funnel import FunnelBreakdown
from siyu.analytics.store import AnalyticsStore
from tests.analytics.queries.reference import (
    Event,
    funnel_persons_reference,
    funnel_reference,
    retention_reference,
)
from tests.helpers import insert_events

BASE = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Monday
DEVICES = ["d1", "d2", "d3", "d4"]
PROPERTIES: list[dict[str, str]] = [{}, {"p": "x"}, {"p": "y"}]
ONLY_X = (PropertyFilter(key="p", value="x"),)
FAST = settings(
    max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def events(grid: timedelta, slots: int, names: list[str]) -> st.SearchStrategy[list[Event]]:
    event = st.builds(
        Event,
        event=st.sampled_from(names),
        anonymous_id=st.sampled_from(DEVICES),
        at=st.integers(0, slots).map(lambda i: BASE + i * grid),
        shopper_id=st.sampled_from([0, 0, 0, 101]),
        channel=st.sampled_from(["", "ads", "share"]),
        properties=st.sampled_from(PROPERTIES),
    )
    return st.lists(event, max_size=14)


links = st.dictionaries(st.sampled_from(DEVICES), st.sampled_from([101, 102]), max_size=2)
step = st.builds(
    EventFilter, event=st.sampled_from(["a", "b", "c"]), properties=st.sampled_from([(), ONLY_X])
)


def reset(store: AnalyticsStore) -> None:
    store.command(f"TRUNCATE TABLE {store.database}.events")
    store.command(f"TRUNCATE TABLE {store.database}.person_links")


@FAST
@given(
    data=events(timedelta(seconds=10), 7, ["a", "b", "c"]),
    linked=links,
    steps=st.lists(step, min_size=2, max_size=4),
    window=st.sampled_from([10, 20, 30, 70]),
    starts_at=st.sampled_from([0, 10]),
    breakdown=st.sampled_from(
        [None, FunnelBreakdown(type="channel"), FunnelBreakdown(type="property", property="p")]
    ),
    global_filter=st.sampled_from([(), (PropertyFilter(key="p", value="y", operator="is_not"),)]),
)
def test_funnels_equal_the_brute_force_reference(
    analytics_store: AnalyticsStore,
    data: list[Event],
    linked: dict[str, int],
    steps: list[EventFilter],
    window: int,
    starts_at: int,
    breakdown: FunnelBreakdown | None,
    global_filter: tuple[PropertyFilter, ...],
) -> None:
    # given
    reset(analytics_store)
    insert_events(analytics_store, data, linked)
    query = FunnelQuery(
        date_from=BASE + timedelta(seconds=starts_at),
        date_to=BASE + timedelta(seconds=65),
        steps=tuple(steps),
        window_interval=window,
        window_unit="second",
        breakdown=breakdown,
        properties=global_filter,
    )
    runner = FunnelRunner(query, database=analytics_store.database)

    # when
    result = runner.run(analytics_store)
    dropped = runner.persons_at_step(analytics_store, len(steps))
    completed = runner.persons_at_step(analytics_store, len(steps), dropped=False)

    # then
    assert result == funnel_reference(query, data, linked)
    assert dropped == funnel_persons_reference(query, data, linked, len(steps), dropped=True)
    assert completed == funnel_persons_reference(query, data, linked, len(steps), dropped=False)


@FAST
@given(
    data=events(timedelta(hours=8), 60, ["start", "back", "other"]),
    linked=links,
    retention_type=st.sampled_from(["recurring", "first_time"]),
    period=st.sampled_from(["day", "week"]),
    total_intervals=st.integers(1, 5),
    starts_at=st.sampled_from([timedelta(0), timedelta(days=2, hours=18)]),
    length=st.sampled_from([timedelta(days=4), timedelta(days=9, hours=5)]),
    same_event=st.booleans(),
)
def test_retention_equals_the_brute_force_reference(
    analytics_store: AnalyticsStore,
    data: list[Event],
    linked: dict[str, int],
    retention_type: str,
    period: str,
    total_intervals: int,
    starts_at: timedelta,
    length: timedelta,
    same_event: bool,
) -> None:
    # given
    reset(analytics_store)
    insert_events(analytics_store, data, linked)
    query = RetentionQuery(
        date_from=BASE + starts_at,
        date_to=BASE + starts_at + length,
        target_event=EventFilter(event="start"),
        returning_event=EventFilter(event="start" if same_event else "back"),
        retention_type=retention_type,  # type: ignore[arg-type]
        period=period,  # type: ignore[arg-type]
        total_intervals=total_intervals,
    )

    # when
    result = RetentionRunner(query, database=analytics_store.database).run(analytics_store)

    # then
    assert result == retention_reference(query, data, linked)
