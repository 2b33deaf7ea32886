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

Three ways to read it, all by the same rules:

- :meth:`RfmQuery.page` — what a page shows: the eight segments (counted and summed
  in ClickHouse) and one page of customers ordered by ``shopper_id`` (all of them, or
  one segment's), from one query whose result is at most eight rows. Nothing is built
  per customer beyond the page.
- :meth:`RfmQuery.customer_rows` — every customer (or one segment's) as plain tuples,
  ordered by ``shopper_id``, for exports.
- :meth:`RfmQuery.run` — every customer as :class:`RfmCustomer` and the segments
  (:class:`RfmResult`), for callers that need them all in Python.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import date
from enum import StrEnum
from itertools import islice
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


class RfmPage(BaseModel):
    """The segments of everyone scored and one page of customers (:meth:`RfmQuery.page`)."""

    model_config = ConfigDict(frozen=True)

    segments: list[RfmSegment]  # the eight segments, in SEGMENT_BY_LEVELS order
    segment: Segment | None  # whose customers are paged; None: all of them
    total: int  # customers in ``segment`` (all scored shoppers when None)
    offset: int
    limit: int
    customers: list[RfmCustomer]  # customers offset .. offset + limit, by shopper_id


# One customer for exports: shopper_id, segment, recency_days, frequency, monetary_fen,
# r_score, f_score, m_score (the columns of the console's CSV).
RfmRow = tuple[int, Segment, int, int, int, int, int, int]

# (R high, F high, M high) of each segment, for filtering by segment.
LEVELS_BY_SEGMENT: dict[Segment, tuple[bool, bool, bool]] = {
    segment: levels for levels, segment in SEGMENT_BY_LEVELS.items()
}
MAX_PAGE_LIMIT = 5_000


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

    def _scored_sql(self, database: str) -> str:
        """The CTEs up to ``levelled``: every scored shopper with their R/F/M scores and
        whether each is high (rules 1–5)."""
        events = EVENTS.format(db=database)
        local_day = "toDate(timestamp, {tz:String})"
        return f"""
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
),
levelled AS (
    SELECT
        shopper_id, recency_days, frequency, monetary_fen, r_score, f_score, m_score,
        r_score * count() OVER () > sum(r_score) OVER () AS r_high,
        f_score * count() OVER () > sum(f_score) OVER () AS f_high,
        m_score * count() OVER () > sum(m_score) OVER () AS m_high
    FROM scored
)"""

    def _params(self) -> dict[str, Any]:
        return {
            "date_from": self.date_from.isoformat(),
            "date_to": self.date_to.isoformat(),
            "as_of": (self.as_of or self.date_to).isoformat(),
            "tz": self.timezone,
        }

    def build_sql(self, database: str) -> tuple[str, dict[str, Any]]:
        """Every scored shopper, ordered by ``shopper_id``: shopper_id, recency_days,
        frequency, monetary_fen, r_score, f_score, m_score, r_high, f_high, m_high."""
        sql = (
            self._scored_sql(database)
            + """
SELECT
    shopper_id, recency_days, frequency, monetary_fen, r_score, f_score, m_score,
    r_high, f_high, m_high
FROM levelled
ORDER BY shopper_id
"""
        )
        return sql, self._params()

    def build_page_sql(
        self, database: str, *, segment: Segment | None = None, offset: int = 0, limit: int = 50
    ) -> tuple[str, dict[str, Any]]:
        """One row per segment that has shoppers: r_high, f_high, m_high, customers,
        revenue_fen and ``first_customers``, the segment's first ``offset + limit``
        shoppers by ``shopper_id`` (only the paged segment's when ``segment`` is set) as
        (shopper_id, recency_days, frequency, monetary_fen, r_score, f_score, m_score)."""
        offset, limit = _check_page(offset, limit)
        r, f, m = LEVELS_BY_SEGMENT[segment] if segment is not None else (False, False, False)
        sql = (
            self._scored_sql(database)
            + """
SELECT
    r_high, f_high, m_high,
    count() AS customers,
    sum(monetary_fen) AS revenue_fen,
    groupArraySortedIf({first:UInt32})(
        (shopper_id, recency_days, frequency, monetary_fen, r_score, f_score, m_score),
        {all_segments:UInt8} OR (r_high = {r_high:UInt8} AND f_high = {f_high:UInt8}
                                 AND m_high = {m_high:UInt8})
    ) AS first_customers
FROM levelled
GROUP BY r_high, f_high, m_high
"""
        )
        params = self._params() | {
            "first": offset + limit,
            "all_segments": int(segment is None),
            "r_high": int(r),
            "f_high": int(f),
            "m_high": int(m),
        }
        return sql, params

    def page(
        self,
        store: AnalyticsStore,
        *,
        segment: Segment | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> RfmPage:
        """The eight segments and customers ``offset .. offset + limit`` (of ``segment``,
        or of everyone) ordered by ``shopper_id``: one query, at most eight rows back."""
        sql, params = self.build_page_sql(
            store.database, segment=segment, offset=offset, limit=limit
        )
        return self.shape_page(
            store.query(sql, params).rows, segment=segment, offset=offset, limit=limit
        )

    def shape_page(
        self,
        rows: list[tuple[Any, ...]],
        *,
        segment: Segment | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> RfmPage:
        counts = dict.fromkeys(SEGMENT_BY_LEVELS.values(), 0)
        revenue = dict.fromkeys(SEGMENT_BY_LEVELS.values(), 0)
        firsts: list[list[tuple[Segment, list[Any]]]] = []
        for r_high, f_high, m_high, customers, revenue_fen, first in rows:
            seg = SEGMENT_BY_LEVELS[(bool(r_high), bool(f_high), bool(m_high))]
            counts[seg] = int(customers)
            revenue[seg] = int(revenue_fen)
            if first:
                firsts.append([(seg, c) for c in first])
        # each segment's list is ordered by shopper_id: merge them, keep the page
        merged = heapq.merge(*firsts, key=lambda item: item[1][0])
        page = [
            RfmCustomer.model_construct(
                shopper_id=int(c[0]),
                recency_days=int(c[1]),
                frequency=int(c[2]),
                monetary_fen=int(c[3]),
                r_score=int(c[4]),
                f_score=int(c[5]),
                m_score=int(c[6]),
                segment=seg,
            )
            for seg, c in islice(merged, offset, offset + limit)
        ]
        return RfmPage.model_construct(
            segments=_segments(counts, revenue),
            segment=segment,
            total=counts[segment] if segment is not None else sum(counts.values()),
            offset=offset,
            limit=limit,
            customers=page,
        )

    def customer_rows(
        self, store: AnalyticsStore, *, segment: Segment | None = None
    ) -> Iterator[RfmRow]:
        """Every customer (of ``segment``, or all) ordered by ``shopper_id``, as plain
        tuples (:data:`RfmRow`): for exports, without an object per customer."""
        sql, params = self.build_sql(store.database)
        rows = store.query(sql, params).rows
        by_levels = SEGMENT_BY_LEVELS
        for shopper_id, recency, frequency, monetary, r, f, m, r_high, f_high, m_high in rows:
            seg = by_levels[(bool(r_high), bool(f_high), bool(m_high))]
            if segment is None or seg is segment:
                yield (shopper_id, seg, recency, frequency, monetary, r, f, m)

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
        return RfmResult.model_construct(customers=customers, segments=_segments(counts, revenue))

    def run(self, store: AnalyticsStore) -> RfmResult:
        sql, params = self.build_sql(store.database)
        return self.shape(store.query(sql, params).rows)


def _segments(counts: dict[Segment, int], revenue: dict[Segment, int]) -> list[RfmSegment]:
    return [
        RfmSegment(
            segment=segment,
            label_zh=SEGMENT_LABELS_ZH[segment],
            customers=counts[segment],
            revenue_fen=revenue[segment],
        )
        for segment in SEGMENT_BY_LEVELS.values()
    ]


def _check_page(offset: int, limit: int) -> tuple[int, int]:
    if offset < 0:
        raise ValueError("offset must not be negative")
    if not 1 <= limit <= MAX_PAGE_LIMIT:
        raise ValueError(f"limit must be 1..{MAX_PAGE_LIMIT}")
    return int(offset), int(limit)
