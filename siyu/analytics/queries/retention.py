"""Retention: of the persons who did the start event in a period, how many came back.

Semantics (PostHog's retention, specs/analytics.md §2.2):

- *Recurring* (default): every period in which a person did the start event is a
  cohort entry for them. *First-time*: only the period of the person's all-time
  first start event (any time before ``date_to``), and only if it falls in the range.
- Offset 0 counts the cohort's persons (they did the start event in it); offset
  k ≥ 1 counts those who did the return event at least once in period cohort + k.
- Periods are Shanghai calendar days or Monday-started weeks. The first cohort is the
  period containing ``date_from``; cohorts run while their period starts before
  ``date_to``. Offsets run 0..``total_intervals``−1, and a cell exists only while its
  period starts before ``date_to`` (the usual triangle).
- Counts are distinct persons (``PERSON_ID``); percentages are of the cohort size.
  Global property filters apply to start and return events alike.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from siyu.analytics.queries.base import (
    TIMEZONE,
    EventFilter,
    InsightQuery,
    QueryRunner,
    SqlParams,
    event_condition,
    percentage,
    persons_events,
    properties_condition,
)
from siyu.analytics.schema import PERSON_ID
from siyu.clock import SHANGHAI

PERIOD_DAYS = {"day": 1, "week": 7}


class RetentionQuery(InsightQuery):
    kind: Literal["RetentionQuery"] = "RetentionQuery"
    target_event: EventFilter
    returning_event: EventFilter
    retention_type: Literal["recurring", "first_time"] = "recurring"
    period: Literal["day", "week"] = "day"
    total_intervals: int = Field(default=7, ge=1, le=366)

    def period_starts(self) -> list[date]:
        """The Shanghai start date of every cohort period in the range."""
        first = self.date_from.astimezone(SHANGHAI).date()
        if self.period == "week":
            first -= timedelta(days=first.weekday())
        step = timedelta(days=PERIOD_DAYS[self.period])
        starts = []
        current = first
        while datetime.combine(current, time(), SHANGHAI) < self.date_to:
            starts.append(current)
            current += step
        return starts


class RetentionCell(BaseModel):
    offset: int
    count: int
    percentage: float  # of the cohort size, 2 decimals


class RetentionCohort(BaseModel):
    period_start: date  # Shanghai date the cohort period starts on
    size: int
    values: list[RetentionCell]  # offsets 0.. while the period is in range


class RetentionResult(BaseModel):
    period: Literal["day", "week"]
    cohorts: list[RetentionCohort]


class RetentionRunner(QueryRunner[RetentionQuery, RetentionResult]):
    kind = "RetentionQuery"

    def build_sql(self) -> tuple[str, dict[str, Any]]:
        q = self.query
        params = SqlParams()
        starts = q.period_starts()
        range_start = datetime.combine(starts[0], time(), SHANGHAI)
        base = params.add("base", "Date", starts[0].isoformat())
        days = params.add("period_days", "UInt8", PERIOD_DAYS[q.period])
        date_to = params.timestamp("date_to", q.date_to)
        from_ = params.timestamp("range_start", range_start)
        names = ", ".join(
            params.add(f"event_{i}", "String", name)
            for i, name in enumerate(sorted({q.target_event.event, q.returning_event.event}))
        )
        is_start = event_condition(q.target_event, "start", params)
        is_return = event_condition(q.returning_event, "return", params)
        where = properties_condition(q.properties, "p", params)
        intervals = params.add("total_intervals", "UInt16", q.total_intervals)
        scan = f"timestamp < {date_to} AND event IN ({names})"
        if q.retention_type == "recurring":
            scan += f" AND timestamp >= {from_}"
            cohorts = "groupUniqArrayIf(period_index, is_start)"
        else:
            # The all-time first start event; before the range it yields a negative index.
            cohorts = (
                "arrayFilter(p -> p >= 0, if(countIf(is_start) > 0, "
                "[argMinIf(period_index, ts, is_start)], []))"
            )
        sql = (
            "WITH\nper_event AS (\n"
            f"    SELECT {PERSON_ID} AS person_id, e.timestamp AS ts,\n"
            f"        toInt64(floor(dateDiff('day', {base}, toDate(e.timestamp, '{TIMEZONE}'))"
            f" / {days})) AS period_index,\n"
            f"        {is_start} AS is_start,\n"
            f"        {is_return} AS is_return\n"
            f"    FROM {persons_events(self.database, scan)}\n"
            f"    WHERE ({where}) AND (is_start OR is_return)\n"
            "),\nper_person AS (\n"
            "    SELECT person_id,\n"
            f"        {cohorts} AS cohorts,\n"
            "        groupUniqArrayIf(period_index, is_return AND ts >= "
            f"{from_}) AS returns\n"
            "    FROM per_event\n"
            "    GROUP BY person_id\n"
            ")\n"
            "SELECT cohort, offset, count() AS persons\n"
            "FROM per_person\n"
            "ARRAY JOIN cohorts AS cohort\n"
            "ARRAY JOIN arrayConcat([0], arrayFilter(o -> o >= 1 AND o < "
            f"{intervals}, arrayMap(r -> r - cohort, returns))) AS offset\n"
            "GROUP BY cohort, offset\n"
            "ORDER BY cohort, offset"
        )
        return sql, params.values

    def shape(self, rows: list[tuple[Any, ...]]) -> RetentionResult:
        starts = self.query.period_starts()
        counts = {(int(c), int(o)): int(n) for c, o, n in rows}
        cohorts = []
        for index, start in enumerate(starts):
            size = counts.get((index, 0), 0)
            offsets = range(min(self.query.total_intervals, len(starts) - index))
            values = [
                RetentionCell(
                    offset=o,
                    count=counts.get((index, o), 0),
                    percentage=percentage(counts.get((index, o), 0), size),
                )
                for o in offsets
            ]
            cohorts.append(RetentionCohort(period_start=start, size=size, values=values))
        return RetentionResult(period=self.query.period, cohorts=cohorts)
