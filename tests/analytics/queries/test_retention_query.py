from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from siyu.analytics.queries import EventFilter, RetentionQuery, RetentionRunner
from siyu.analytics.queries.retention import RetentionResult
from siyu.analytics.store import AnalyticsStore
from tests.analytics.queries.reference import Event
from tests.helpers import insert_events

# 2026-11-02 00:00 in Shanghai (a Monday) is 2026-11-01 16:00 UTC.
MONDAY = datetime(2026, 11, 1, 16, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    return MONDAY + timedelta(days=n)


def table(result: RetentionResult) -> list[tuple[date, int, list[int]]]:
    return [(c.period_start, c.size, [v.count for v in c.values]) for c in result.cohorts]


def retention(**fields: object) -> RetentionQuery:
    defaults: dict[str, object] = {
        "date_from": day(0),
        "date_to": day(3),
        "target_event": EventFilter(event="signup"),
        "returning_event": EventFilter(event="visit"),
        "total_intervals": 3,
    }
    return RetentionQuery(**(defaults | fields))  # type: ignore[arg-type]


def test_a_recurring_daily_table_buckets_by_shanghai_day(
    analytics_store: AnalyticsStore,
) -> None:
    # given d1 signs up at 23:30 on day 0 (Shanghai) and visits at 00:30 on day 1;
    # d2 signs up on days 0 and 1 and visits on day 2; d3 signs up on day 1 only
    insert_events(
        analytics_store,
        [
            Event("signup", "d1", day(0.98)),
            Event("visit", "d1", day(1.02)),
            Event("signup", "d2", day(0.5)),
            Event("signup", "d2", day(1.5)),
            Event("visit", "d2", day(2.5)),
            Event("signup", "d3", day(1.5)),
        ],
    )

    # when
    result = RetentionRunner(retention(), database=analytics_store.database).run(analytics_store)

    # then
    assert table(result) == [
        (date(2026, 11, 2), 2, [2, 1, 1]),
        (date(2026, 11, 3), 2, [2, 1]),
        (date(2026, 11, 4), 0, [0]),
    ]
    assert [v.percentage for v in result.cohorts[1].values] == [100.0, 50.0]


def test_first_time_retention_skips_persons_whose_first_start_predates_the_range(
    analytics_store: AnalyticsStore,
) -> None:
    # given d1 first signed up before the range, d2 inside it (twice)
    insert_events(
        analytics_store,
        [
            Event("signup", "d1", day(-5)),
            Event("signup", "d1", day(0.5)),
            Event("visit", "d1", day(1.5)),
            Event("signup", "d2", day(0.5)),
            Event("signup", "d2", day(1.5)),
            Event("visit", "d2", day(2.5)),
        ],
    )

    # when
    result = RetentionRunner(
        retention(retention_type="first_time"), database=analytics_store.database
    ).run(analytics_store)

    # then only d2 counts, in its first cohort
    assert table(result) == [
        (date(2026, 11, 2), 1, [1, 0, 1]),
        (date(2026, 11, 3), 0, [0, 0]),
        (date(2026, 11, 4), 0, [0]),
    ]


def test_weekly_cohorts_start_on_monday_and_a_linked_device_is_one_person(
    analytics_store: AnalyticsStore,
) -> None:
    # given shopper 7 signs up on Wednesday on d1 (linked later) and returns on the
    # next Monday as the logged-in shopper
    insert_events(
        analytics_store,
        [Event("signup", "d1", day(2.5)), Event("visit", "d9", day(7.1), shopper_id=7)],
        links={"d1": 7},
    )
    query = retention(period="week", date_from=day(2), date_to=day(14))

    # when
    result = RetentionRunner(query, database=analytics_store.database).run(analytics_store)

    # then
    assert table(result) == [
        (date(2026, 11, 2), 1, [1, 1]),
        (date(2026, 11, 9), 0, [0]),
    ]
    assert result.cohorts[0].values[1].percentage == 100.0
