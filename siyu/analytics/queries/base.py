"""The query-runner pattern (PostHog's ``hogql_queries``): one runner per insight.

A runner takes a typed, validated query model (with a ``kind``), builds ClickHouse SQL
plus server-side parameters without any I/O (:meth:`QueryRunner.build_sql`), and shapes
the returned rows into a typed result (:meth:`QueryRunner.shape`). :meth:`QueryRunner.run`
is the only step that touches the store, so SQL can be snapshot-tested and shaping
tested on plain rows.

Values never enter the SQL text: every user-supplied value is a ``{name:Type}``
parameter. Identifiers in the SQL are the database name (from the store) and fixed
column names only.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from siyu.analytics.schema import LINKS
from siyu.analytics.store import DEFAULT_DATABASE, AnalyticsStore, QueryResult

# Day and week buckets are Shanghai calendar days; weeks start on Monday.
TIMEZONE = "Asia/Shanghai"


class PropertyFilter(BaseModel):
    """A condition on one key of an event's JSON ``properties`` (compared as text)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(min_length=1)
    value: str
    operator: Literal["exact", "is_not"] = "exact"


class EventFilter(BaseModel):
    """An event name, optionally narrowed by property conditions (all must hold)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event: str = Field(min_length=1)
    properties: tuple[PropertyFilter, ...] = ()


class InsightQuery(BaseModel):
    """Fields every insight shares: the time range and global event-property filters.

    ``date_from`` is inclusive and ``date_to`` exclusive (a half-open range, so
    consecutive ranges never count an event twice).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    date_from: AwareDatetime
    date_to: AwareDatetime
    properties: tuple[PropertyFilter, ...] = ()

    @model_validator(mode="after")
    def _check_range(self) -> InsightQuery:
        if self.date_from >= self.date_to:
            raise ValueError("date_from must be before date_to")
        return self


Q = TypeVar("Q", bound=InsightQuery)
R = TypeVar("R", bound=BaseModel)


class SqlParams:
    """Collects ``{name:Type}`` placeholders and their values while SQL is built."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, name: str, type_: str, value: Any) -> str:
        if name in self.values:
            raise ValueError(f"parameter {name!r} bound twice")
        self.values[name] = value
        return f"{{{name}:{type_}}}"

    def timestamp(self, name: str, value: datetime) -> str:
        return self.add(name, "DateTime64(3, 'UTC')", format_utc(value))


class QueryRunner(ABC, Generic[Q, R]):
    """Build SQL (pure), run it (the only I/O), shape rows into a typed result."""

    kind: str = ""

    def __init__(self, query: Q, *, database: str = DEFAULT_DATABASE) -> None:
        self.query = query
        self.database = database

    @abstractmethod
    def build_sql(self) -> tuple[str, dict[str, Any]]: ...

    @abstractmethod
    def shape(self, rows: list[tuple[Any, ...]]) -> R: ...

    def run(self, store: AnalyticsStore) -> R:
        result = self.fetch(store)
        return self.shape(result.rows)

    @classmethod
    def run_on(cls, query: Q, store: AnalyticsStore) -> R:
        """``query`` answered by ``store`` (a runner built for the store's database)."""
        return cls(query, database=store.database).run(store)

    def fetch(self, store: AnalyticsStore) -> QueryResult:
        self.check_store(store)
        sql, params = self.build_sql()
        return store.query(sql, params)

    def check_store(self, store: AnalyticsStore) -> None:
        if store.database != self.database:
            raise ValueError(
                f"runner built for database {self.database!r}, store is {store.database!r}"
            )


class RangeRunner(QueryRunner[Q, R]):
    """A runner over its query's range of events: the range and the property filters are
    bound (:func:`range_and_filters`) before :meth:`range_sql` writes the SQL on them."""

    def build_sql(self) -> tuple[str, dict[str, Any]]:
        params = SqlParams()
        date_from, date_to, where = range_and_filters(self.query, params)
        return self.range_sql(params, date_from, date_to, where), params.values

    @abstractmethod
    def range_sql(self, params: SqlParams, date_from: str, date_to: str, where: str) -> str:
        """The SQL on the bound ``date_from``/``date_to`` placeholders and the ``where``
        condition of the property filters (on events ``e``)."""

    def persons_events(self, where: str) -> str:
        """:func:`persons_events` in this runner's database."""
        return persons_events(self.database, where)


def format_utc(value: datetime) -> str:
    """A timezone-aware datetime as ClickHouse DateTime64(3) text in UTC."""
    if value.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def range_and_filters(query: InsightQuery, params: SqlParams) -> tuple[str, str, str]:
    """The placeholders of ``query``'s ``date_from`` and ``date_to`` and the condition of
    its property filters (``1`` without any), as every runner over a range binds them."""
    date_from = params.timestamp("date_from", query.date_from)
    date_to = params.timestamp("date_to", query.date_to)
    return date_from, date_to, properties_condition(query.properties, "p", params)


def persons_events(database: str, where: str) -> str:
    """A FROM clause over deduplicated events ``e`` (pre-filtered by ``where``, so the
    date range prunes partitions before dedup) joined to device links ``l``; select
    ``PERSON_ID`` from it to count persons, not devices. Retries of one event share
    its ``event_id`` and timestamp, so filtering before dedup changes nothing."""
    return (
        f"(SELECT * FROM {database}.events WHERE {where} LIMIT 1 BY event_id) AS e "
        f"LEFT JOIN {LINKS.format(db=database)} AS l ON e.anonymous_id = l.anonymous_id"
    )


# A *visit*: a client event, or a login or an order placed or paid (server facts), so a
# shopper who logs in or buys counts as a visitor even where the client does not track
# (every buyer is a visitor: conversion never exceeds 100 %).
VISIT_FACTS = ("shopper.logged_in", "order.placed", "order.paid")
IS_VISIT = "(source = 'client' OR event IN ('" + "', '".join(VISIT_FACTS) + "'))"


def property_condition(filter_: PropertyFilter, prefix: str, params: SqlParams) -> str:
    key = params.add(f"{prefix}_key", "String", filter_.key)
    value = params.add(f"{prefix}_value", "String", filter_.value)
    op = "=" if filter_.operator == "exact" else "!="
    return f"JSONExtractString(e.properties, {key}) {op} {value}"


def properties_condition(
    filters: tuple[PropertyFilter, ...], prefix: str, params: SqlParams
) -> str:
    """All ``filters`` joined with AND (``1`` when there are none)."""
    parts = [property_condition(f, f"{prefix}{i}", params) for i, f in enumerate(filters)]
    return " AND ".join(parts) if parts else "1"


def event_condition(filter_: EventFilter, prefix: str, params: SqlParams) -> str:
    name = params.add(f"{prefix}_event", "String", filter_.event)
    parts = [f"e.event = {name}"]
    parts += [
        property_condition(f, f"{prefix}_p{i}", params) for i, f in enumerate(filter_.properties)
    ]
    return "(" + " AND ".join(parts) + ")"


def percentage(part: int, whole: int) -> float:
    """``part`` as a percentage of ``whole``, rounded to 2 decimals (0 when empty)."""
    return round(100 * part / whole, 2) if whole else 0.0


def optional_float(value: Any) -> float | None:
    """ClickHouse returns NaN (server) or null (chdb JSON) for an empty average."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number
