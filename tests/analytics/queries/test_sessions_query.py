from __future__ import annotations

from datetime import UTC, datetime, timedelta

from siyu.analytics.queries.sessions import SessionsQuery, SessionsRunner
from siyu.analytics.store import AnalyticsStore
from tests.analytics.queries.reference import TrackedEvent, insert_tracked_events

BASE = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def minute(n: float) -> datetime:
    return BASE + timedelta(minutes=n)


def view(device: str, at: float, page: str, **fields: object) -> TrackedEvent:
    return TrackedEvent("$pageview", device, minute(at), page=page, **fields)  # type: ignore[arg-type]


def test_a_gap_of_exactly_thirty_minutes_starts_a_new_session(
    analytics_store: AnalyticsStore,
) -> None:
    # given d1 views twice 30:00 apart, d2 twice 29:59.999 apart
    insert_tracked_events(
        analytics_store,
        [
            view("d1", 0, "/a"),
            view("d1", 30, "/b"),
            view("d2", 0, "/a"),
            TrackedEvent("$pageview", "d2", minute(30) - timedelta(milliseconds=1), page="/b"),
        ],
    )
    query = SessionsQuery(date_from=BASE, date_to=minute(60))

    # when
    result = SessionsRunner(query, database=analytics_store.database).run(analytics_store)

    # then d1 has two one-page bounces, d2 one two-page session
    stats = result.series[0]
    assert (stats.sessions, stats.pageviews, stats.bounces) == (3, 4, 2)
    assert stats.bounce_rate == 66.67
    assert stats.average_duration == round(1799.999 / 3, 3)
    assert stats.median_duration == 0.0
    assert stats.pages_per_session == 1.333


def test_bounces_dwell_and_channels_are_counted_per_session(
    analytics_store: AnalyticsStore,
) -> None:
    # given an ads session: launch, one view, a leave with 4 s dwell (a bounce);
    # a share session: one view and a tap (not a bounce), a leave with 2 s dwell;
    # a session with only a launch (no page views: not in the bounce rate)
    insert_tracked_events(
        analytics_store,
        [
            TrackedEvent("$launch", "d1", minute(0), channel="ads"),
            view("d1", 0.1, "/home"),
            TrackedEvent("$page_leave", "d1", minute(1), properties={"duration_ms": 4000}),
            view("d2", 0, "/item", channel="share"),
            TrackedEvent("add_to_cart", "d2", minute(2)),
            TrackedEvent("$page_leave", "d2", minute(3), properties={"duration_ms": 2000}),
            TrackedEvent("$launch", "d3", minute(5), channel="ads"),
            TrackedEvent("order.paid", "d3", minute(6), source="server"),
        ],
    )
    query = SessionsQuery(date_from=BASE, date_to=minute(60), breakdown="channel")

    # when
    result = SessionsRunner(query, database=analytics_store.database).run(analytics_store)

    # then
    ads, share = result.series
    assert (ads.breakdown_value, ads.sessions, ads.bounces, ads.bounce_rate) == ("ads", 2, 1, 100.0)
    assert ads.average_duration == 30.0  # (60 s + 0 s) / 2
    assert ads.average_dwell_per_page == 4.0
    assert (share.breakdown_value, share.sessions, share.bounces) == ("share", 1, 0)
    assert share.bounce_rate == 0.0
    assert share.average_duration == 180.0
    assert share.average_dwell_per_page == 2.0


def test_devices_stitched_to_one_shopper_share_a_session(analytics_store: AnalyticsStore) -> None:
    # given shopper 7 browses on d1 (linked) and continues 10 minutes later logged in on d2
    insert_tracked_events(
        analytics_store,
        [view("d1", 0, "/a"), view("d2", 10, "/b", shopper_id=7)],
        links={"d1": 7},
    )
    runner = SessionsRunner(
        SessionsQuery(date_from=BASE, date_to=minute(60)), database=analytics_store.database
    )

    # when
    rows = runner.list_sessions(analytics_store)

    # then
    assert [(r.person_id, r.duration, r.pageviews, r.is_bounce) for r in rows] == [
        ("7", 600.0, 2, False)
    ]


def test_an_empty_range_gives_one_series_of_zero_sessions(analytics_store: AnalyticsStore) -> None:
    # when
    result = SessionsRunner(
        SessionsQuery(date_from=BASE, date_to=minute(60)), database=analytics_store.database
    ).run(analytics_store)

    # then
    stats = result.series[0]
    assert (stats.sessions, stats.average_duration, stats.bounce_rate) == (0, None, None)
