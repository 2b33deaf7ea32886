"""SQL snapshot: changes to the generated SQL show up in review. To update it, print
``build_sql()`` of the runner below and paste it here."""

from __future__ import annotations

from datetime import UTC, datetime

from siyu.analytics.queries.paths import PathsQuery, PathsRunner

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
paths AS (
    SELECT arrayCompact(arrayMap(x -> x.4, arrayFilter(x -> x.3 = '$pageview', s))) AS pages,
        indexOf(pages, {start_page:String}) AS anchor,
        arraySlice(pages, anchor, {step_limit:UInt16}) AS path,
        length(pages) - anchor < {step_limit:UInt16} AS exited
    FROM per_person
    ARRAY JOIN sessions AS s
    WHERE length(pages) > 0 AND anchor > 0
)
SELECT 'link' AS kind, step, source, target, value FROM (
    SELECT step, path[step] AS source, path[step + 1] AS target, count() AS value
    FROM paths
    ARRAY JOIN arrayEnumerate(arrayPopBack(path)) AS step
    GROUP BY step, source, target
    ORDER BY step, value DESC, source, target
    LIMIT {edge_limit:UInt32} BY step
)
UNION ALL
SELECT 'exit' AS kind, step, source, '' AS target, value FROM (
    SELECT length(path) AS step, path[-1] AS source, count() AS value
    FROM paths
    WHERE exited
    GROUP BY step, source
    ORDER BY step, value DESC, source
    LIMIT {edge_limit:UInt32} BY step
)
UNION ALL
SELECT 'sessions' AS kind, 0 AS step, '' AS source, '' AS target, count() AS value
FROM paths"""

PARAMS = {
    "date_from": "2026-11-01 16:00:00.000",
    "date_to": "2026-11-08 16:00:00.000",
    "idle_ms": 1800000,
    "step_limit": 5,
    "start_page": "/pages/home/index",
    "edge_limit": 50,
}


def test_the_paths_sql_matches_its_snapshot() -> None:
    # given
    runner = PathsRunner(
        PathsQuery(date_from=WEEK_FROM, date_to=WEEK_TO, start_page="/pages/home/index"),
        database="siyu",
    )

    # when
    sql, params = runner.build_sql()

    # then
    assert sql == SQL
    assert params == PARAMS
