"""SQL snapshot: changes to the generated SQL show up in review. To update it, print
``build_sql()`` of the runner below and paste it here."""

from __future__ import annotations

from datetime import UTC, datetime

from siyu.analytics.queries.sessions import SessionsQuery, SessionsRunner

WEEK_FROM = datetime(2026, 11, 1, 16, tzinfo=UTC)  # Monday 2026-11-02 in Shanghai
WEEK_TO = datetime(2026, 11, 8, 16, tzinfo=UTC)

SQL = """\
WITH
per_event AS (
    SELECT if(e.shopper_id != 0, toString(e.shopper_id), if(l.linked_shopper != 0, toString(l.linked_shopper), concat('a:', e.anonymous_id))) AS person_id,
        toInt64(toUnixTimestamp64Milli(e.timestamp)) AS ts, e.event_id AS event_id,
        toString(e.event) AS event, e.page AS page, toString(e.channel) AS channel,
        if(e.event = '$page_leave' AND JSONType(e.properties, 'duration_ms') IN ('Int64', 'UInt64', 'Double'),
           greatest(JSONExtractFloat(e.properties, 'duration_ms'), -1), -1) AS dwell_ms
    FROM (SELECT * FROM siyu.events WHERE timestamp >= {date_from:DateTime64(3, 'UTC')} AND timestamp < {date_to:DateTime64(3, 'UTC')} AND source = 'client' LIMIT 1 BY event_id) AS e LEFT JOIN (SELECT anonymous_id, argMax(shopper_id, linked_at) AS linked_shopper FROM siyu.person_links GROUP BY anonymous_id) AS l ON e.anonymous_id = l.anonymous_id
    WHERE (1)
),
per_person AS (
    SELECT person_id,
        arraySort(x -> (x.1, x.2), groupArray((ts, event_id, event, page, channel, dwell_ms))) AS timeline,
        arraySplit((x, gap) -> gap >= {idle_ms:Int64}, timeline, arrayDifference(arrayMap(x -> x.1, timeline))) AS sessions
    FROM per_event
    GROUP BY person_id
),
per_session AS (
    SELECT person_id, s[1].1 AS start_ms, s[1].5 AS channel,
        s[-1].1 - s[1].1 AS duration_ms,
        countEqual(arrayMap(x -> x.3, s), '$pageview') AS pageviews,
        length(arrayFilter(x -> x.3 NOT IN ('$pageview', '$launch', '$show', '$hide', '$page_leave'), s)) AS interactions,
        arrayFilter(d -> d >= 0, arrayMap(x -> x.6, s)) AS dwells
    FROM per_person
    ARRAY JOIN sessions AS s
)
SELECT channel AS breakdown_value,
    count() AS sessions,
    sum(duration_ms) AS total_duration_ms,
    quantileExactInclusive(0.5)(duration_ms) AS median_duration_ms,
    sum(pageviews) AS total_pageviews,
    countIf(pageviews > 0) AS with_pageviews,
    countIf(pageviews = 1 AND interactions = 0) AS bounces,
    sum(arraySum(dwells)) AS dwell_ms,
    sum(length(dwells)) AS dwell_count
FROM per_session
GROUP BY breakdown_value
ORDER BY sessions DESC, breakdown_value"""

PARAMS = {
    "date_from": "2026-11-01 16:00:00.000",
    "date_to": "2026-11-08 16:00:00.000",
    "idle_ms": 1800000,
}


def test_the_sessions_sql_matches_its_snapshot() -> None:
    # given
    runner = SessionsRunner(
        SessionsQuery(date_from=WEEK_FROM, date_to=WEEK_TO, breakdown="channel"), database="siyu"
    )

    # when
    sql, params = runner.build_sql()

    # then
    assert sql == SQL
    assert params == PARAMS
