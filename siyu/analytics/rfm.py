"""RFM: score every paying shopper on Recency, Frequency and Monetary value, and sort them
into the eight classic segments.

The rules, exactly:

1. **Orders**: deduplicated ``order.paid`` facts (one row per ``event_id``, then one
   per ``order_id``: the earliest by ``(timestamp, event_id)``) with ``shopper_id`` and
   ``order_id`` not 0, whose local date (``timezone``, China time by default) lies in
   ``[date_from, date_to]`` and is not after ``as_of``.
2. **Net of refunds**: an order's net value = its ``amount_fen`` minus the sum of its
   ``refund.succeeded`` amounts dated on or before ``as_of`` (matched by ``order_id``).
   Only orders with a positive net value count; a fully refunded order is no purchase.
3. **Per shopper**: Recency = days from the local date of the last counted order to
   ``as_of``; Frequency = counted orders; Monetary = the sum of their net values (fen).
   Shoppers with no counted order are left out.
4. **Scores 1–5 by quintile**: ``ntile(5)`` over the shoppers ordered from worst to
   best — Recency by most days first (so the most recent get 5), Frequency and
   Monetary by smallest first — with equal values ordered by ``shopper_id``
   ascending, so results are reproducible. ``ntile`` puts n // 5 rows in each group and
   one more in each of the first n % 5 groups; with fewer than five shoppers only
   scores 1..n occur. Equal values can therefore land in neighbouring scores.
5. **High or low**: a score is high (↑) when it is strictly above the average of that
   score over all scored shoppers, otherwise low (↓); compared in integers as
   ``score × n > Σ scores``.
6. **Segments** by (R, F, M): 重要价值 ↑↑↑, 重要发展 ↑↓↑, 重要保持 ↓↑↑, 重要挽留 ↓↓↑,
   一般价值 ↑↑↓, 一般发展 ↑↓↓, 一般保持 ↓↑↓, 一般挽留 ↓↓↓. Each segment reports its
   shoppers and revenue (the sum of their Monetary); all eight are always listed.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, model_validator

from siyu.analytics.schema import EVENTS
from siyu.analytics.store import AnalyticsStore


class Segment(StrEnum):
    important_value = "important_value"
    important_develop = "important_develop"
    important_keep = "important_keep"
    important_retain = "important_retain"
    general_value = "general_value"
    general_develop = "general_develop"
    general_keep = "general_keep"
    general_retain = "general_retain"


# (R high, F high, M high) → segment; in the order segments are reported.
SEGMENT_BY_LEVELS: dict[tuple[bool, bool, bool], Segment] = {
    (True, True, True): Segment.important_value,
    (True, False, True): Segment.important_develop,
    (False, True, True): Segment.important_keep,
    (False, False, True): Segment.important_retain,
    (True, True, False): Segment.general_value,
    (True, False, False): Segment.general_develop,
    (False, True, False): Segment.general_keep,
    (False, False, False): Segment.general_retain,
}

SEGMENT_LABELS_ZH: dict[Segment, str] = {
    Segment.important_value: "重要价值",
    Segment.important_develop: "重要发展",
    Segment.important_keep: "重要保持",
    Segment.important_retain: "重要挽留",
    Segment.general_value: "一般价值",
    Segment.general_develop: "一般发展",
    Segment.general_keep: "一般保持",
    Segment.general_retain: "一般挽留",
}


class RfmCustomer(BaseModel):
    model_config = ConfigDict(frozen=True)

    shopper_id: int
    recency_days: int
    frequency: int
    monetary_fen: int
    r_score: int
    f_score: int
    m_score: int
    segment: Segment


class RfmSegment(BaseModel):
    model_config = ConfigDict(frozen=True)

    segment: Segment
    label_zh: str
    customers: int
    revenue_fen: int


class RfmResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    customers: list[RfmCustomer]  # ordered by shopper_id
    segments: list[RfmSegment]  # the eight segments, in SEGMENT_BY_LEVELS order


class RfmQuery(BaseModel):
    """RFM of the shoppers who paid between ``date_from`` and ``date_to`` (inclusive, local
    dates), measured at ``as_of`` (defaults to ``date_to``)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["rfm"] = "rfm"
    date_from: date
    date_to: date
    as_of: date | None = None
    timezone: str = "Asia/Shanghai"

    @model_validator(mode="after")
    def _check_dates(self) -> Self:
        if self.date_from > self.date_to:
            raise ValueError("date_from must not be after date_to")
        if self.as_of is not None and self.as_of < self.date_from:
            raise ValueError("as_of must not be before date_from")
        return self

    def build_sql(self, database: str) -> tuple[str, dict[str, Any]]:
        events = EVENTS.format(db=database)
        local_day = "toDate(timestamp, {tz:String})"
        sql = f"""
WITH
paid AS (
    SELECT order_id, shopper_id, amount_fen, {local_day} AS day
    FROM {events}
    WHERE event = 'order.paid' AND shopper_id != 0 AND order_id != 0
      AND {local_day} BETWEEN {{date_from:Date}} AND {{date_to:Date}}
      AND {local_day} <= {{as_of:Date}}
    ORDER BY order_id, timestamp, event_id
    LIMIT 1 BY order_id
),
refunded AS (
    SELECT order_id, sum(amount_fen) AS refunded_fen
    FROM {events}
    WHERE event = 'refund.succeeded' AND {local_day} <= {{as_of:Date}}
    GROUP BY order_id
),
per_customer AS (
    SELECT
        p.shopper_id AS shopper_id,
        dateDiff('day', max(p.day), {{as_of:Date}}) AS recency_days,
        count() AS frequency,
        sum(p.amount_fen - coalesce(r.refunded_fen, 0)) AS monetary_fen
    FROM paid AS p
    LEFT JOIN refunded AS r ON p.order_id = r.order_id
    WHERE p.amount_fen - coalesce(r.refunded_fen, 0) > 0
    GROUP BY p.shopper_id
),
scored AS (
    SELECT
        *,
        ntile(5) OVER (ORDER BY recency_days DESC, shopper_id ASC) AS r_score,
        ntile(5) OVER (ORDER BY frequency ASC, shopper_id ASC) AS f_score,
        ntile(5) OVER (ORDER BY monetary_fen ASC, shopper_id ASC) AS m_score
    FROM per_customer
)
SELECT
    shopper_id, recency_days, frequency, monetary_fen, r_score, f_score, m_score,
    r_score * count() OVER () > sum(r_score) OVER () AS r_high,
    f_score * count() OVER () > sum(f_score) OVER () AS f_high,
    m_score * count() OVER () > sum(m_score) OVER () AS m_high
FROM scored
ORDER BY shopper_id
"""
        params = {
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "as_of": (self.as_of or self.date_to).isoformat(),
            "tz": self.timezone,
        }
        return sql, params

    def shape(self, rows: list[tuple[Any, ...]]) -> RfmResult:
        # Rows come from our own SQL with fixed column types: construct without
        # re-validating (hundreds of thousands of customers on a large store).
        customers = [
            RfmCustomer.model_construct(
                shopper_id=int(shopper_id),
                recency_days=int(recency),
                frequency=int(frequency),
                monetary_fen=int(monetary),
                r_score=int(r),
                f_score=int(f),
                m_score=int(m),
                segment=SEGMENT_BY_LEVELS[(bool(r_high), bool(f_high), bool(m_high))],
            )
            for shopper_id, recency, frequency, monetary, r, f, m, r_high, f_high, m_high in rows
        ]
        counts = dict.fromkeys(SEGMENT_BY_LEVELS.values(), 0)
        revenue = dict.fromkeys(SEGMENT_BY_LEVELS.values(), 0)
        for customer in customers:
            counts[customer.segment] += 1
            revenue[customer.segment] += customer.monetary_fen
        segments = [
            RfmSegment(
                segment=segment,
                label_zh=SEGMENT_LABELS_ZH[segment],
                customers=counts[segment],
                revenue_fen=revenue[segment],
            )
            for segment in SEGMENT_BY_LEVELS.values()
        ]
        return RfmResult.model_construct(customers=customers, segments=segments)

    def run(self, store: AnalyticsStore) -> RfmResult:
        sql, params = self.build_sql(store.database)
        return self.shape(store.query(sql, params).rows)
