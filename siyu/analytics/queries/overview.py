"""The store overview: the KPIs operators read first, against the period before.

Definitions (the playbooks' 访问量 / 转化率 / 客单价 / 复购率, seeds 001 §四):

- ``visitors``: persons with a visit in the period (a client event, or a login or an
  order placed or paid: ``base.IS_VISIT``); ``dau``: persons with a visit per Shanghai
  calendar day, averaged over the days the period touches.
- ``new_shoppers``: ``shopper.registered`` persons. ``buyers``: persons with a paid
  order; ``orders``: paid orders.
- ``gmv_fen``: paid − refunded in the period (refunds counted when they happen).
- ``conversion_rate``: buyers / visitors, percent. ``aov_fen`` (客单价): paid amount /
  orders, fen rounded half up. ``repurchase_rate``: buyers with ≥ 2 paid orders in the
  period / buyers, percent.
- The previous period has the same length and ends where this one starts. Each metric
  carries ``change`` in percent of the previous value (None when that was 0).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from siyu.analytics.queries.base import (
    IS_VISIT,
    TIMEZONE,
    InsightQuery,
    RangeRunner,
    SqlParams,
    percentage,
)
from siyu.analytics.schema import PERSON_ID
from siyu.clock import SHANGHAI

METRICS = (
    "visitors",
    "new_shoppers",
    "dau",
    "orders",
    "gmv_fen",
    "conversion_rate",
    "aov_fen",
    "repurchase_rate",
)


class OverviewQuery(InsightQuery):
    kind: Literal["OverviewQuery"] = "OverviewQuery"

    @property
    def previous_from(self) -> datetime:
        return self.date_from - (self.date_to - self.date_from)


class Metric(BaseModel):
    value: float
    previous: float
    change: float | None  # percent of previous; None when previous is 0


class OverviewResult(BaseModel):
    visitors: Metric
    new_shoppers: Metric
    dau: Metric
    orders: Metric
    gmv_fen: Metric
    conversion_rate: Metric
    aov_fen: Metric
    repurchase_rate: Metric


def shanghai_days(date_from: datetime, date_to: datetime) -> int:
    """How many Shanghai calendar days ``[date_from, date_to)`` touches."""
    first = date_from.astimezone(SHANGHAI).date()
    last = (date_to - timedelta(microseconds=1)).astimezone(SHANGHAI).date()
    return (last - first).days + 1


def change(value: float, previous: float) -> float | None:
    return round(100 * (value - previous) / previous, 2) if previous else None


def half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up (non-negative numerator)."""
    return (2 * numerator + denominator) // (2 * denominator) if denominator else 0


def period_metrics(counts: dict[str, int], days: int) -> dict[str, float]:
    """The metrics of one period from its counts."""
    return {
        "visitors": counts["visitors"],
        "new_shoppers": counts["new_shoppers"],
        "dau": round(counts["person_days"] / days, 2) if days else 0.0,
        "orders": counts["orders"],
        "gmv_fen": counts["paid_fen"] - counts["refunded_fen"],
        "conversion_rate": percentage(counts["buyers"], counts["visitors"]),
        "aov_fen": half_up(counts["paid_fen"], counts["orders"]),
        "repurchase_rate": percentage(counts["repeat_buyers"], counts["buyers"]),
    }


COUNTS = (
    "visitors",
    "new_shoppers",
    "buyers",
    "repeat_buyers",
    "orders",
    "paid_fen",
    "refunded_fen",
    "person_days",
)


class OverviewRunner(RangeRunner[OverviewQuery, OverviewResult]):
    kind = "OverviewQuery"

    def range_sql(self, params: SqlParams, date_from: str, date_to: str, where: str) -> str:
        q = self.query
        previous_from = params.timestamp("previous_from", q.previous_from)
        source = self.persons_events(
            f"timestamp >= {previous_from} AND timestamp < {date_to} AND ({IS_VISIT} OR "
            "event IN ('shopper.registered', 'refund.succeeded'))",
        )
        return (
            "WITH\n"
            "per_event AS (\n"
            f"    SELECT {PERSON_ID} AS person_id, e.event AS event, e.source AS source,\n"
            "        e.amount_fen AS amount,\n"
            f"        if(e.timestamp >= {date_from}, 'current', 'previous') AS period,\n"
            f"        toDate(e.timestamp, '{TIMEZONE}') AS day\n"
            f"    FROM {source}\n"
            f"    WHERE {where}\n"
            "),\n"
            "per_person AS (\n"
            "    SELECT period, person_id,\n"
            f"        max({IS_VISIT}) AS visited,\n"
            "        max(event = 'shopper.registered') AS registered,\n"
            "        countIf(event = 'order.paid') AS paid_orders,\n"
            "        sumIf(amount, event = 'order.paid') AS paid,\n"
            "        sumIf(amount, event = 'refund.succeeded') AS refunded,\n"
            f"        uniqExactIf(day, {IS_VISIT}) AS active_days\n"
            "    FROM per_event\n"
            "    GROUP BY period, person_id\n"
            ")\n"
            "SELECT period,\n"
            "    countIf(visited) AS visitors,\n"
            "    countIf(registered) AS new_shoppers,\n"
            "    countIf(paid_orders > 0) AS buyers,\n"
            "    countIf(paid_orders >= 2) AS repeat_buyers,\n"
            "    sum(paid_orders) AS orders,\n"
            "    sum(paid) AS paid_fen,\n"
            "    sum(refunded) AS refunded_fen,\n"
            "    sum(active_days) AS person_days\n"
            "FROM per_person\n"
            "GROUP BY period\n"
            "ORDER BY period"
        )

    def shape(self, rows: list[tuple[Any, ...]]) -> OverviewResult:
        q = self.query
        counts = {period: dict.fromkeys(COUNTS, 0) for period in ("current", "previous")}
        for row in rows:
            counts[str(row[0])] = {name: int(v) for name, v in zip(COUNTS, row[1:], strict=True)}
        current = period_metrics(counts["current"], shanghai_days(q.date_from, q.date_to))
        previous = period_metrics(counts["previous"], shanghai_days(q.previous_from, q.date_from))
        return OverviewResult(
            **{
                name: Metric(
                    value=current[name],
                    previous=previous[name],
                    change=change(current[name], previous[name]),
                )
                for name in METRICS
            }
        )
