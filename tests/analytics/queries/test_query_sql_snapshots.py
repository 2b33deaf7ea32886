"""SQL snapshots: changes to the generated SQL show up in review. To update one,
print ``build_sql()`` of the query below and paste it here."""

from __future__ import annotations

from datetime import UTC, datetime

from siyu.analytics.queries import (
    EventFilter,
    FunnelQuery,
    FunnelRunner,
    PropertyFilter,
    RetentionQuery,
    RetentionRunner,
)
from siyu.analytics.queries.funnel import FunnelBreakdown

WEEK_FROM = datetime(2026, 11, 1, 16, tzinfo=UTC)  # Monday 2026-11-02 in Shanghai
WEEK_TO = datetime(2026, 11, 8, 16, tzinfo=UTC)

FUNNEL = FunnelQuery(
    date_from=WEEK_FROM,
    date_to=WEEK_TO,
    steps=(
        EventFilter(event="page_view"),
        EventFilter(event="pay", properties=(PropertyFilter(key="size", value="big"),)),
    ),
    window_interval=1,
    window_unit="hour",
    breakdown=FunnelBreakdown(type="channel"),
)

RETENTION = RetentionQuery(
    date_from=WEEK_FROM,
    date_to=WEEK_TO,
    target_event=EventFilter(event="signup"),
    returning_event=EventFilter(event="pay"),
    retention_type="first_time",
)


FUNNEL_SQL = """\
WITH
per_event AS (
    SELECT if(e.shopper_id != 0, toString(e.shopper_id), if(l.linked_shopper != 0, toString(l.linked_shopper), concat('a:', e.anonymous_id))) AS person_id,
        toUInt64(toUnixTimestamp64Milli(e.timestamp)) AS ts,
        toString(e.channel) AS breakdown, (e.event = {s1_event:String}) AS s1, (e.event = {s2_event:String} AND JSONExtractString(e.properties, {s2_p0_key:String}) = {s2_p0_value:String}) AS s2
    FROM (SELECT * FROM siyu.events WHERE timestamp >= {date_from:DateTime64(3, 'UTC')} AND timestamp < {date_to:DateTime64(3, 'UTC')} AND event IN ({event_0:String}, {event_1:String}) LIMIT 1 BY event_id) AS e LEFT JOIN (SELECT anonymous_id, argMax(shopper_id, linked_at) AS linked_shopper FROM siyu.person_links GROUP BY anonymous_id) AS l ON e.anonymous_id = l.anonymous_id
    WHERE (1) AND (s1 OR s2)
),
per_instant AS (
    SELECT person_id, ts,
        minIf(breakdown, s1) AS first_breakdown, max(s1) AS has_first,
        groupArray(s1) AS c1,
        groupArray(s2) AS c2,
        groupArray(arrayFilter(x -> x != 0, [1 * s1, 2 * s2])) AS step_lists,
        if(length(arrayDistinct(step_lists)) = 1,
           arrayFlatten(arrayMap(s -> arrayReverse(s), step_lists)),
           arraySort(arrayFlatten(step_lists))) AS elements
    FROM per_event
    GROUP BY person_id, ts
),
per_person AS (
    SELECT
        person_id,
        argMinIf(first_breakdown, ts, has_first) AS breakdown_value,
        windowFunnelArray({window_ms:UInt64}, 'strict_once')(arrayWithConstant(length(c1), ts), c1, c2) AS level,
        arraySort(x -> x.1, groupArray((toInt64(ts), elements))) AS instants,
        arrayFlatten(arrayMap(x -> arrayWithConstant(length(x.2), x.1), instants)) AS fold_ts,
        arrayFlatten(arrayMap(x -> x.2, instants)) AS fold_steps,
        arrayFold((acc, t, k) -> if(
            (k = 1 OR acc.1[k - 1] != 0) AND t - if(k = 1, t, acc.1[k - 1]) <= toInt64({window_ms:UInt64}) AND NOT (acc.1[k] != 0 AND acc.1[k] = if(k = 1, t, acc.1[k - 1])),
            (arrayMap((v, i) -> if(i = k, if(k = 1, t, acc.1[k - 1]), v), acc.1, arrayEnumerate(acc.1)),
             arrayMap((v, i) -> if(i = k, arrayPushBack(if(k = 1, [], acc.2[k - 1]), t), v), acc.2, arrayEnumerate(acc.2)),
             toUInt8(if(k > acc.3, k, acc.3)),
             if(k > acc.3, arrayPushBack(if(k = 1, [], acc.2[k - 1]), t), acc.4)),
            acc),
        fold_ts, fold_steps,
        (arrayWithConstant(2, toInt64(0)), arrayWithConstant(2, CAST([], 'Array(Int64)')), toUInt8(0), CAST([], 'Array(Int64)'))) AS chain
    FROM per_instant
    GROUP BY person_id
)
SELECT
    breakdown_value,
    countIf(level >= 1) AS step_1,
    countIf(level >= 2) AS step_2,
    avgIf(deltas[2], length(deltas) >= 2) AS avg_ms_2,
    quantileExactInclusiveIf(0.5)(deltas[2], length(deltas) >= 2) AS median_ms_2
FROM (SELECT *, arrayDifference(arraySlice(chain.4, 1, least(level, chain.3))) AS deltas FROM per_person)
WHERE level >= 1
GROUP BY breakdown_value
ORDER BY step_1 DESC, breakdown_value"""

FUNNEL_PARAMS = {
    "date_from": "2026-11-01 16:00:00.000",
    "date_to": "2026-11-08 16:00:00.000",
    "event_0": "page_view",
    "event_1": "pay",
    "s1_event": "page_view",
    "s2_event": "pay",
    "s2_p0_key": "size",
    "s2_p0_value": "big",
    "window_ms": 3600000,
}

RETENTION_SQL = """\
WITH
per_event AS (
    SELECT if(e.shopper_id != 0, toString(e.shopper_id), if(l.linked_shopper != 0, toString(l.linked_shopper), concat('a:', e.anonymous_id))) AS person_id, e.timestamp AS ts,
        toInt64(floor(dateDiff('day', {base:Date}, toDate(e.timestamp, 'Asia/Shanghai')) / {period_days:UInt8})) AS period_index,
        (e.event = {start_event:String}) AS is_start,
        (e.event = {return_event:String}) AS is_return
    FROM (SELECT * FROM siyu.events WHERE timestamp < {date_to:DateTime64(3, 'UTC')} AND event IN ({event_0:String}, {event_1:String}) LIMIT 1 BY event_id) AS e LEFT JOIN (SELECT anonymous_id, argMax(shopper_id, linked_at) AS linked_shopper FROM siyu.person_links GROUP BY anonymous_id) AS l ON e.anonymous_id = l.anonymous_id
    WHERE (1) AND (is_start OR is_return)
),
per_person AS (
    SELECT person_id,
        arrayFilter(p -> p >= 0, if(countIf(is_start) > 0, [argMinIf(period_index, ts, is_start)], [])) AS cohorts,
        groupUniqArrayIf(period_index, is_return AND ts >= {range_start:DateTime64(3, 'UTC')}) AS returns
    FROM per_event
    GROUP BY person_id
)
SELECT cohort, offset, count() AS persons
FROM per_person
ARRAY JOIN cohorts AS cohort
ARRAY JOIN arrayConcat([0], arrayFilter(o -> o >= 1 AND o < {total_intervals:UInt16}, arrayMap(r -> r - cohort, returns))) AS offset
GROUP BY cohort, offset
ORDER BY cohort, offset"""

RETENTION_PARAMS = {
    "base": "2026-11-02",
    "period_days": 1,
    "date_to": "2026-11-08 16:00:00.000",
    "range_start": "2026-11-01 16:00:00.000",
    "event_0": "pay",
    "event_1": "signup",
    "start_event": "signup",
    "return_event": "pay",
    "total_intervals": 7,
}


def test_the_funnel_sql_matches_its_snapshot() -> None:
    # when
    sql, params = FunnelRunner(FUNNEL, database="siyu").build_sql()

    # then
    assert sql == FUNNEL_SQL
    assert params == FUNNEL_PARAMS


def test_the_funnel_persons_sql_selects_one_level_for_drop_offs() -> None:
    # when
    sql, params = FunnelRunner(FUNNEL, database="siyu").build_persons_sql(2)

    # then
    assert sql.endswith(
        "SELECT person_id FROM per_person\nWHERE level = {step:UInt8}\nORDER BY person_id"
    )
    assert params["step"] == 1
    assert "arrayFold" not in sql


def test_the_retention_sql_matches_its_snapshot() -> None:
    # when
    sql, params = RetentionRunner(RETENTION, database="siyu").build_sql()

    # then
    assert sql == RETENTION_SQL
    assert params == RETENTION_PARAMS
