"""Ordered funnels: how many persons reached each step, in order, within a window.

Semantics (PostHog's ordered funnel, specs/analytics.md §2.1):

- A person reaches step k when k *distinct* events match steps 1..k in order, the
  k-th no later than ``window`` after the first (the boundary is inclusive:
  ``t_k − t_1 ≤ window``). The window runs from step 1, not step to step.
- Events with equal timestamps count as in order. A person's best attempt counts: a
  later step-1 event starts a new attempt, and older attempts keep their own start.
- Levels come from ClickHouse ``windowFunnel(window, 'strict_once')``: default mode
  (not ``strict_order``, which is PostHog's *strict* funnel) with ``strict_once`` so
  one event never fills two steps — the identical-consecutive-steps case
  (``page_view → page_view``) PostHog left windowFunnel over (PR #33480). We differ from
  PostHog's UDF in one corner: when *different* events share a timestamp, the UDF
  splits them per step and may let one event fill two adjacent steps; we never do.
- Conversion times come from the attempt that reached furthest first, exactly as the
  UDF (``funnel-udf/src/steps.rs``) tracks it: per step, the start of the newest
  attempt that reached it and its step timestamps; same-timestamp events are
  processed like the UDF (one event, or identical ones: steps in reverse order;
  otherwise split and sorted by step). They are replayed with ``arrayFold``. Where
  that attempt is shorter than the ``windowFunnel`` level (only possible in the corner
  above) it contributes times for the steps it covers.
- Breakdowns use first-touch attribution: the value on the person's first step-1
  event in the range (the smallest value if several share that instant).
- Counts are persons (``PERSON_ID``: shopper when known, else the device).
"""

from __future__ import annotations

import csv
import io
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from siyu.analytics.queries.base import (
    EventFilter,
    InsightQuery,
    QueryRunner,
    SqlParams,
    event_condition,
    optional_float,
    percentage,
    persons_events,
    properties_condition,
)
from siyu.analytics.schema import PERSON_ID
from siyu.analytics.store import AnalyticsStore

UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}

# The store's own funnel (the playbooks' 浏览 → 商品 → 加购 → 支付), in the events the
# tracking SDK and the server facts write: what the console shows first.


class FunnelBreakdown(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["channel", "property"]
    property: str | None = None

    @model_validator(mode="after")
    def _check_property(self) -> FunnelBreakdown:
        if (self.type == "property") != bool(self.property):
            raise ValueError("a property breakdown needs `property`; channel takes none")
        return self


class FunnelQuery(InsightQuery):
    kind: Literal["FunnelsQuery"] = "FunnelsQuery"
    steps: tuple[EventFilter, ...] = Field(min_length=2, max_length=10)
    window_interval: int = Field(default=14, ge=1)
    window_unit: Literal["second", "minute", "hour", "day"] = "day"
    breakdown: FunnelBreakdown | None = None

    @property
    def window_ms(self) -> int:
        return self.window_interval * UNIT_SECONDS[self.window_unit] * 1000


class FunnelStep(BaseModel):
    order: int  # 1-based
    event: str
    count: int  # persons who reached this step (and every earlier one)
    conversion_from_first: float  # percent of step 1
    conversion_from_previous: float  # percent of the previous step
    dropped: int  # reached the previous step but not this one (0 for step 1)
    average_conversion_time: float | None  # seconds from the previous step
    median_conversion_time: float | None


class FunnelSeries(BaseModel):
    breakdown_value: str | None
    steps: list[FunnelStep]


class FunnelResult(BaseModel):
    """One series without a breakdown; with one, a series per value, largest first."""

    series: list[FunnelSeries]


class FunnelRunner(QueryRunner[FunnelQuery, FunnelResult]):
    kind = "FunnelsQuery"

    def build_sql(self) -> tuple[str, dict[str, Any]]:
        params = SqlParams()
        n = len(self.query.steps)
        timings = ["arrayDifference(arraySlice(chain.4, 1, least(level, chain.3))) AS deltas"]
        select = ["breakdown_value"] if self.query.breakdown else ["'' AS breakdown_value"]
        select += [f"countIf(level >= {k}) AS step_{k}" for k in range(1, n + 1)]
        for k in range(2, n + 1):
            select.append(f"avgIf(deltas[{k}], length(deltas) >= {k}) AS avg_ms_{k}")
            select.append(
                f"quantileExactInclusiveIf(0.5)(deltas[{k}], length(deltas) >= {k}) "
                f"AS median_ms_{k}"
            )
        group = "\nGROUP BY breakdown_value\nORDER BY step_1 DESC, breakdown_value" * bool(
            self.query.breakdown
        )
        sql = (
            self._persons_cte(params, with_timings=True)
            + "SELECT\n    "
            + ",\n    ".join(select)
            + "\nFROM (SELECT *, "
            + ", ".join(timings)
            + " FROM per_person)\nWHERE level >= 1"
            + group
        )
        return sql, params.values

    def shape(self, rows: list[tuple[Any, ...]]) -> FunnelResult:
        n = len(self.query.steps)
        series = []
        for row in rows:
            counts = [int(c) for c in row[1 : n + 1]]
            times = row[n + 1 :]
            steps = []
            for k in range(1, n + 1):
                previous = counts[k - 2] if k > 1 else counts[0]
                avg_ms = optional_float(times[2 * (k - 2)]) if k > 1 else None
                median_ms = optional_float(times[2 * (k - 2) + 1]) if k > 1 else None
                steps.append(
                    FunnelStep(
                        order=k,
                        event=self.query.steps[k - 1].event,
                        count=counts[k - 1],
                        conversion_from_first=percentage(counts[k - 1], counts[0]),
                        conversion_from_previous=percentage(counts[k - 1], previous),
                        dropped=previous - counts[k - 1],
                        average_conversion_time=None if avg_ms is None else avg_ms / 1000,
                        median_conversion_time=None if median_ms is None else median_ms / 1000,
                    )
                )
            value = str(row[0]) if self.query.breakdown else None
            series.append(FunnelSeries(breakdown_value=value, steps=steps))
        return FunnelResult(series=series)

    def build_persons_sql(
        self, step: int, *, dropped: bool = True, breakdown_value: str | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Persons who reached ``step`` (1-based) — or, with ``dropped``, who reached the
        step before it but not it."""
        n = len(self.query.steps)
        if not 1 <= step <= n or (dropped and step == 1):
            raise ValueError(f"step must be in 1..{n} (2..{n} for drop-offs)")
        params = SqlParams()
        sql = self._persons_cte(params, with_timings=False)
        level = params.add("step", "UInt8", step - 1 if dropped else step)
        where = f"level = {level}" if dropped else f"level >= {level}"
        if breakdown_value is not None:
            where += " AND breakdown_value = " + params.add(
                "breakdown_value", "String", breakdown_value
            )
        sql += f"SELECT person_id FROM per_person\nWHERE {where}\nORDER BY person_id"
        return sql, params.values

    def persons_at_step(
        self,
        store: AnalyticsStore,
        step: int,
        *,
        dropped: bool = True,
        breakdown_value: str | None = None,
    ) -> list[str]:
        self.check_store(store)
        sql, params = self.build_persons_sql(step, dropped=dropped, breakdown_value=breakdown_value)
        return [str(row[0]) for row in store.query(sql, params).rows]

    def _persons_cte(self, params: SqlParams, *, with_timings: bool) -> str:
        """``WITH … per_person AS (…)``: one row per person with ``level`` (furthest step
        reached), ``breakdown_value`` and, ``with_timings``, ``chain`` (the replayed UDF
        state: ``chain.3`` its furthest step, ``chain.4`` that attempt's timestamps)."""
        q = self.query
        n = len(q.steps)
        date_from = params.timestamp("date_from", q.date_from)
        date_to = params.timestamp("date_to", q.date_to)
        names = ", ".join(
            params.add(f"event_{i}", "String", name)
            for i, name in enumerate(sorted({s.event for s in q.steps}))
        )
        conditions = [event_condition(s, f"s{k}", params) for k, s in enumerate(q.steps, 1)]
        where = properties_condition(q.properties, "p", params)
        window = params.add("window_ms", "UInt64", q.window_ms)
        if q.breakdown is None:
            breakdown = "''"
        elif q.breakdown.type == "channel":
            breakdown = "toString(e.channel)"
        else:
            key = params.add("breakdown_key", "String", q.breakdown.property)
            breakdown = f"JSONExtractString(e.properties, {key})"
        flags = ", ".join(f"{c} AS s{k}" for k, c in enumerate(conditions, 1))
        source = persons_events(
            self.database,
            f"timestamp >= {date_from} AND timestamp < {date_to} AND event IN ({names})",
        )
        per_event = (
            f"    SELECT {PERSON_ID} AS person_id,\n"
            "        toUInt64(toUnixTimestamp64Milli(e.timestamp)) AS ts,\n"
            f"        {breakdown} AS breakdown, {flags}\n"
            f"    FROM {source}\n"
            f"    WHERE ({where}) AND ({' OR '.join(f's{k}' for k in range(1, n + 1))})"
        )
        step_list = "arrayFilter(x -> x != 0, [" + ", ".join(f"{k} * s{k}" for k in range(1, n + 1))
        per_instant = (
            "    SELECT person_id, ts,\n"
            "        minIf(breakdown, s1) AS first_breakdown, max(s1) AS has_first,\n"
            + "".join(f"        groupArray(s{k}) AS c{k},\n" for k in range(1, n + 1))
            + f"        groupArray({step_list}])) AS step_lists,\n"
            "        if(length(arrayDistinct(step_lists)) = 1,\n"
            "           arrayFlatten(arrayMap(s -> arrayReverse(s), step_lists)),\n"
            "           arraySort(arrayFlatten(step_lists))) AS elements\n"
            "    FROM per_event\n"
            "    GROUP BY person_id, ts"
        )
        columns = ", ".join(f"c{k}" for k in range(1, n + 1))
        person_columns = [
            "person_id",
            "argMinIf(first_breakdown, ts, has_first) AS breakdown_value",
            f"windowFunnelArray({window}, 'strict_once')"
            f"(arrayWithConstant(length(c1), ts), {columns}) AS level",
        ]
        if with_timings:
            person_columns += [
                "arraySort(x -> x.1, groupArray((toInt64(ts), elements))) AS instants",
                "arrayFlatten(arrayMap(x -> arrayWithConstant(length(x.2), x.1), instants))"
                " AS fold_ts",
                "arrayFlatten(arrayMap(x -> x.2, instants)) AS fold_steps",
                _fold_sql(n, window) + " AS chain",
            ]
        per_person = (
            "    SELECT\n        "
            + ",\n        ".join(person_columns)
            + "\n    FROM per_instant\n    GROUP BY person_id"
        )
        return (
            f"WITH\nper_event AS (\n{per_event}\n),\n"
            f"per_instant AS (\n{per_instant}\n),\n"
            f"per_person AS (\n{per_person}\n)\n"
        )


def _fold_sql(n: int, window: str) -> str:
    """Replays PostHog's ordered-funnel state over (timestamp, step) elements.

    State: (start of the newest attempt that reached each step, that attempt's step
    timestamps per step, furthest step reached, the timestamps of the first attempt that
    reached it). A step-k element extends the attempt at k−1 when it is within the window
    of that attempt's start and that attempt has not reached k yet; a step-1 element
    starts a new attempt.
    """
    prev_start = "if(k = 1, t, acc.1[k - 1])"
    prev_timings = "arrayPushBack(if(k = 1, [], acc.2[k - 1]), t)"
    extends = (
        f"(k = 1 OR acc.1[k - 1] != 0) AND t - {prev_start} <= toInt64({window}) "
        f"AND NOT (acc.1[k] != 0 AND acc.1[k] = {prev_start})"
    )
    return (
        "arrayFold((acc, t, k) -> if(\n"
        f"            {extends},\n"
        f"            (arrayMap((v, i) -> if(i = k, {prev_start}, v), acc.1, arrayEnumerate(acc.1)),\n"
        f"             arrayMap((v, i) -> if(i = k, {prev_timings}, v), acc.2, arrayEnumerate(acc.2)),\n"
        "             toUInt8(if(k > acc.3, k, acc.3)),\n"
        f"             if(k > acc.3, {prev_timings}, acc.4)),\n"
        "            acc),\n"
        "        fold_ts, fold_steps,\n"
        f"        (arrayWithConstant({n}, toInt64(0)), arrayWithConstant({n}, CAST([], 'Array(Int64)')),"
        " toUInt8(0), CAST([], 'Array(Int64)')))"
    )


def persons_csv(person_ids: list[str]) -> str:
    """Person ids as CSV text with a ``person_id`` header (for segments and downloads)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["person_id"])
    writer.writerows([pid] for pid in person_ids)
    return out.getvalue()
