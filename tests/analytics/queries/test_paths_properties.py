"""Property test: the paths runner equals its brute-force reference (same generated
events as the sessions property tests)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from siyu.analytics.queries.base import PropertyFilter
from siyu.analytics.queries.paths import PathsQuery, PathsRunner
from siyu.analytics.store import AnalyticsStore
from tests.analytics.queries.reference import TrackedEvent, insert_tracked_events, paths_reference
from tests.analytics.queries.test_sessions_properties import (
    BASE,
    FAST,
    filters,
    links,
    ranges,
    reset,
    tracked,
)


@FAST
@given(
    data=tracked,
    linked=links,
    span=ranges,
    anchor=st.sampled_from([{}, {"start_page": "/a"}, {"end_page": "/b"}]),
    step_limit=st.integers(2, 4),
    edge_limit=st.integers(1, 3),
    global_filter=filters,
)
def test_paths_equal_the_brute_force_reference(
    analytics_store: AnalyticsStore,
    data: list[TrackedEvent],
    linked: dict[str, int],
    span: tuple[timedelta, timedelta],
    anchor: dict[str, str],
    step_limit: int,
    edge_limit: int,
    global_filter: tuple[PropertyFilter, ...],
) -> None:
    # given
    reset(analytics_store)
    insert_tracked_events(analytics_store, data, linked)
    query = PathsQuery(
        date_from=BASE + span[0],
        date_to=BASE + span[1],
        step_limit=step_limit,
        edge_limit=edge_limit,
        properties=global_filter,
        **anchor,  # type: ignore[arg-type]
    )

    # when
    result = PathsRunner(query, database=analytics_store.database).run(analytics_store)

    # then
    assert result == paths_reference(query, data, linked)
