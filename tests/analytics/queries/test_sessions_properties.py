"""Property tests: the sessions and paths runners equal brute-force references.

A 15-minute grid makes equal timestamps (ties broken by event_id) and gaps of exactly
30:00 (which split, as in PostHog) common; few pages make immediate repeats common;
devices linked to one shopper share sessions; server events never count.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siyu.analytics.queries.base import PropertyFilter
from siyu.analytics.queries.pages import PagesQuery, PagesRunner
from siyu.analytics.queries.sessions import SessionsQuery, SessionsRunner
from siyu.analytics.store import AnalyticsStore
from tests.analytics.queries.reference import (
    TrackedEvent,
    insert_tracked_events,
    pages_reference,
    session_rows_reference,
    sessions_reference,
)

BASE = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
DEVICES = ["d1", "d2", "d3"]
PAGES = ["/a", "/b", "/c", ""]
FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
PROPERTIES: list[dict[str, object]] = [
    {},
    {"duration_ms": 1200},
    {"duration_ms": 60000},  # a long stay, exactly
    {"duration_ms": 59999.5},
    {"duration_ms": -1},
    {"duration_ms": 0.5},
    {"duration_ms": "900"},
    {"p": "x"},
]

tracked = st.lists(
    st.builds(
        TrackedEvent,
        event=st.sampled_from(
            ["$pageview", "$pageview", "$pageview", "$page_leave", "tap", "$show"]
        ),
        anonymous_id=st.sampled_from(DEVICES),
        at=st.integers(0, 8).map(lambda i: BASE + i * timedelta(minutes=15)),
        page=st.sampled_from(PAGES),
        shopper_id=st.sampled_from([0, 0, 0, 101]),
        channel=st.sampled_from(["", "ads", "share"]),
        properties=st.sampled_from(PROPERTIES),
        source=st.sampled_from(["client", "client", "client", "server"]),
    ),
    max_size=16,
)
links = st.dictionaries(st.sampled_from(DEVICES), st.sampled_from([101, 102]), max_size=2)
ranges = st.sampled_from(
    [(timedelta(0), timedelta(hours=3)), (timedelta(minutes=15), timedelta(minutes=100))]
)
filters = st.sampled_from([(), (PropertyFilter(key="p", value="x", operator="is_not"),)])


def reset(store: AnalyticsStore) -> None:
    store.command(f"TRUNCATE TABLE {store.database}.events")
    store.command(f"TRUNCATE TABLE {store.database}.person_links")


@FAST
@given(
    data=tracked,
    linked=links,
    span=ranges,
    breakdown=st.sampled_from([None, "channel"]),
    global_filter=filters,
)
def test_sessions_equal_the_brute_force_reference(
    analytics_store: AnalyticsStore,
    data: list[TrackedEvent],
    linked: dict[str, int],
    span: tuple[timedelta, timedelta],
    breakdown: str | None,
    global_filter: tuple[PropertyFilter, ...],
) -> None:
    # given
    reset(analytics_store)
    insert_tracked_events(analytics_store, data, linked)
    query = SessionsQuery(
        date_from=BASE + span[0],
        date_to=BASE + span[1],
        breakdown=breakdown,  # type: ignore[arg-type]
        properties=global_filter,
    )
    runner = SessionsRunner(query, database=analytics_store.database)

    # when
    result = runner.run(analytics_store)
    rows = runner.list_sessions(analytics_store)

    # then
    assert result == sessions_reference(query, data, linked)
    assert rows == session_rows_reference(query, data, linked)


@FAST
@given(
    data=tracked,
    linked=links,
    span=ranges,
    global_filter=filters,
    limit=st.sampled_from([50, 2]),
)
def test_pages_equal_the_brute_force_reference(
    analytics_store: AnalyticsStore,
    data: list[TrackedEvent],
    linked: dict[str, int],
    span: tuple[timedelta, timedelta],
    global_filter: tuple[PropertyFilter, ...],
    limit: int,
) -> None:
    # given
    reset(analytics_store)
    insert_tracked_events(analytics_store, data, linked)
    query = PagesQuery(
        date_from=BASE + span[0], date_to=BASE + span[1], properties=global_filter, limit=limit
    )

    # when
    result = PagesRunner(query, database=analytics_store.database).run(analytics_store)

    # then
    assert result == pages_reference(query, data, linked)
