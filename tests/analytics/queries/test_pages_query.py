"""The pages table (siyu.analytics.queries.pages) on a hand-checked store: views and
visitors, dwell and the share of long stays, landing-page bounce and exits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from siyu.analytics.queries.pages import PagesQuery, PagesRunner, PageStats
from siyu.analytics.store import AnalyticsStore
from tests.analytics.queries.reference import TrackedEvent, insert_tracked_events

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_pages_show_dwell_long_stays_landing_bounce_and_exits(
    analytics_store: AnalyticsStore,
) -> None:
    # given three sessions:
    # d1 lands on /home, stays exactly 60 s, goes to /product (stays 59.9995 s), leaves;
    # d2 lands on /home and leaves after 10 s without doing anything (a bounce);
    # d3 (shopper 7) lands on /product, taps "add to cart" and leaves after 120 s;
    # plus a server event on /home, which never counts
    insert_tracked_events(
        analytics_store,
        [
            TrackedEvent("$pageview", "d1", at(0), "/home"),
            TrackedEvent("$page_leave", "d1", at(1), "/home", properties={"duration_ms": 60000}),
            TrackedEvent("$pageview", "d1", at(1), "/product"),
            TrackedEvent(
                "$page_leave", "d1", at(2), "/product", properties={"duration_ms": 59999.5}
            ),
            TrackedEvent("$pageview", "d2", at(5), "/home"),
            TrackedEvent("$page_leave", "d2", at(5.2), "/home", properties={"duration_ms": 10000}),
            TrackedEvent("$pageview", "d3", at(3), "/product", shopper_id=7),
            TrackedEvent("add_to_cart", "d3", at(4), "/product", shopper_id=7),
            TrackedEvent(
                "$page_leave", "d3", at(5), "/product", shopper_id=7,
                properties={"duration_ms": 120000},
            ),
            TrackedEvent("$pageview", "d4", at(6), "/home", source="server"),
        ],
    )  # fmt: skip
    query = PagesQuery(date_from=T0, date_to=T0 + timedelta(hours=1))

    # when
    result = PagesRunner(query, database=analytics_store.database).run(analytics_store)

    # then
    assert result.pages == [
        PageStats(
            page="/home",
            views=2,
            visitors=2,
            average_dwell=35.0,  # (60 + 10) / 2
            median_dwell=35.0,
            long_stay_rate=50.0,  # d1 stayed a minute, d2 did not
            entries=2,
            bounce_rate=50.0,  # d2
            exits=1,  # d2 left from /home; d1 went on
            exit_rate=50.0,
        ),
        PageStats(
            page="/product",
            views=2,
            visitors=2,
            average_dwell=90.0,  # (59.9995 + 120) / 2, to the ms
            median_dwell=90.0,
            long_stay_rate=50.0,  # shopper 7; d1 left half a millisecond short
            entries=1,
            bounce_rate=0.0,  # shopper 7 tapped
            exits=2,
            exit_rate=100.0,
        ),
    ]


def test_an_empty_range_has_no_pages(analytics_store: AnalyticsStore) -> None:
    query = PagesQuery(date_from=T0, date_to=T0 + timedelta(hours=1))
    assert PagesRunner(query, database=analytics_store.database).run(analytics_store).pages == []
