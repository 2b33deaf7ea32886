"""Repurchase (复购) and cohort LTV.

- ``repurchase_rate``: of the persons with a paid order in the range (``buyers``), the
  share with at least two (``repeat_buyers``), percent.
- Cohort LTV: buyers whose first paid order *ever* falls in the range form cohorts by
  the Shanghai calendar month of that order. ``ltv_fen[k]`` is the cumulative net
  revenue (paid − refunded) per cohort buyer up to and including month k after the
  first purchase (month 0 = the cohort's month), counting events before ``date_to``;
  only months that have started before ``date_to`` are listed, at most ``months``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from siyu.analytics.queries.base import (
    TIMEZONE,
    InsightQuery,
    RangeRunner,
    SqlParams,
    percentage,
)
from siyu.analytics.schema import PERSON_ID
from siyu.clock import SHANGHAI


class RepurchaseQuery(InsightQuery):
    kind: Literal["RepurchaseQuery"] = "RepurchaseQuery"
    months: int = Field(default=12, ge=1, le=36)


class LtvCohort(BaseModel):
    month: date  # first day of the Shanghai month of the first purchase
    buyers: int
    ltv_fen: list[float]  # cumulative net revenue per buyer, months 0, 1, …


class RepurchaseResult(BaseModel):
    buyers: int
    repeat_buyers: int
    repurchase_rate: float
    cohorts: list[LtvCohort]


def months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def cumulative_per_buyer(net_by_month: dict[int, int], buyers: int, months: int) -> list[float]:
    total, out = 0, []
    for k in range(months):
        total += net_by_month.get(k, 0)
        out.append(round(total / buyers, 2) if buyers else 0.0)
    return out


class RepurchaseRunner(RangeRunner[RepurchaseQuery, RepurchaseResult]):
    kind = "RepurchaseQuery"

    def range_sql(self, params: SqlParams, date_from: str, date_to: str, where: str) -> str:
        q = self.query
        source = self.persons_events(
            f"timestamp < {date_to} AND event IN ('order.paid', 'refund.succeeded')",
        )
        month = f"toStartOfMonth(toDate(e.timestamp, '{TIMEZONE}'))"
        return (
            "WITH\n"
            "per_event AS (\n"
            f"    SELECT {PERSON_ID} AS person_id, e.event AS event, e.timestamp AS ts,\n"
            f"        {month} AS month,\n"
            "        if(e.event = 'order.paid', e.amount_fen, -e.amount_fen) AS net\n"
            f"    FROM {source}\n"
            f"    WHERE {where}\n"
            "),\n"
            "per_person AS (\n"
            "    SELECT person_id,\n"
            "        minIf(ts, event = 'order.paid') AS first_paid_at,\n"
            "        minIf(month, event = 'order.paid') AS cohort,\n"
            f"        countIf(event = 'order.paid' AND ts >= {date_from}) AS orders_in_range,\n"
            "        countIf(event = 'order.paid') > 0 AS has_paid\n"
            "    FROM per_event\n"
            "    GROUP BY person_id\n"
            ")\n"
            "SELECT 'rate' AS kind, toDate('1970-01-01') AS cohort, 0 AS offset,\n"
            "    countIf(orders_in_range > 0) AS a, countIf(orders_in_range >= 2) AS b\n"
            "FROM per_person\n"
            "UNION ALL\n"
            "SELECT 'ltv', p.cohort, dateDiff('month', p.cohort, e.month) AS offset,\n"
            "    uniqExact(p.person_id), sum(e.net)\n"
            "FROM per_event AS e INNER JOIN per_person AS p ON e.person_id = p.person_id\n"
            f"WHERE p.has_paid AND p.first_paid_at >= {params.timestamp('cohort_from', q.date_from)}\n"
            "    AND e.month >= p.cohort\n"
            "GROUP BY p.cohort, offset\n"
            "UNION ALL\n"
            "SELECT 'size', cohort, 0, count(), 0\n"
            "FROM per_person\n"
            f"WHERE has_paid AND first_paid_at >= {params.timestamp('size_from', q.date_from)}\n"
            "GROUP BY cohort"
        )

    def shape(self, rows: list[tuple[Any, ...]]) -> RepurchaseResult:
        q = self.query
        buyers = repeat = 0
        sizes: dict[date, int] = {}
        nets: dict[date, dict[int, int]] = {}
        for kind, cohort, offset, a, b in rows:
            if kind == "rate":
                buyers, repeat = int(a), int(b)
                continue
            month = date.fromisoformat(str(cohort))
            if kind == "size":
                sizes[month] = int(a)
            else:
                nets.setdefault(month, {})[int(offset)] = int(b)
        last_month = (q.date_to - timedelta(microseconds=1)).astimezone(SHANGHAI).date()
        cohorts = []
        for month in sorted(sizes):
            span = min(q.months, months_between(month, last_month) + 1)
            cohorts.append(
                LtvCohort(
                    month=month,
                    buyers=sizes[month],
                    ltv_fen=cumulative_per_buyer(nets.get(month, {}), sizes[month], span),
                )
            )
        return RepurchaseResult(
            buyers=buyers,
            repeat_buyers=repeat,
            repurchase_rate=percentage(repeat, buyers),
            cohorts=cohorts,
        )
