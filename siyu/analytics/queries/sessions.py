"""Sessions: how long visits last, how deep they go, how many bounce.

Semantics (PostHog's sessions and paths, specs/analytics.md §2.2; mini-program SDK
events, §2.5):

- A session is a run of one person's client events (``source = 'client'``, any event
  name: ``$pageview`` and the SDK's ``$launch/$show/$hide/$page_leave`` are activity
  too) in ``[date_from, date_to)``, ordered by timestamp, ties by ``event_id``. A new
  session starts when the gap since the previous event is **at least**
  ``session_idle_seconds`` (default 30 min): exactly 30:00 idle splits, as in
  PostHog's paths (``arraySplit(x -> if(x.3 < threshold, 0, 1))``). There is no 24 h
  cap, and a session crossing the range edges is cut at them. Global property filters
  drop events before sessions are formed.
- Persons are ``PERSON_ID``: devices stitched to one shopper share sessions.
- Duration: last event − first event (a one-event session lasts 0 s).
- Page views: ``$pageview`` events. A session *bounces* when it has exactly one page
  view and no interaction event (anything but ``$pageview`` and the SDK lifecycle
  events ``$launch/$show/$hide/$page_leave``). Unlike PostHog we do not add a
  "lasted ≥ 10 s" rule: a mini-program page left open is still one page. As in
  PostHog, a session without page views is neither: the bounce rate is over sessions
  with ≥ 1 page view (``None`` when there are none).
- Dwell per page: the mean of ``$page_leave`` ``properties.duration_ms`` where it is a
  JSON number ≥ 0 (``None`` when no leave event carries one).
- Channel breakdown: the channel on the session's first event.
- Durations are seconds rounded to ms; ratios are rounded to 3 decimals, the bounce
  rate is a percentage with 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from siyu.analytics.queries.base import (
    TIMEZONE,
    InsightQuery,
    QueryRunner,
    SqlParams,
    optional_float,
    persons_events,
    properties_condition,
)
from siyu.analytics.schema import PERSON_ID
from siyu.analytics.store import AnalyticsStore

SESSION_IDLE_SECONDS_DEFAULT = 30 * 60
PAGEVIEW = "$pageview"
LIFECYCLE_EVENTS = ("$launch", "$show", "$hide", "$page_leave")


def sessions_cte(
    database: str,
    date_from: str,
    date_to: str,
    where: str,
    idle_ms: str,
) -> str:
    """``per_event`` and ``per_person`` CTEs: each person's ``sessions``, an array of
    sessions, each an array of ``(ts_ms, event_id, event, page, channel, dwell_ms)``
    tuples in (timestamp, event_id) order; ``dwell_ms`` is −1 when absent."""
    scan = f"timestamp >= {date_from} AND timestamp < {date_to} AND source = 'client'"
    return (
        "per_event AS (\n"
        f"    SELECT {PERSON_ID} AS person_id,\n"
        "        toInt64(toUnixTimestamp64Milli(e.timestamp)) AS ts, e.event_id AS event_id,\n"
        "        toString(e.event) AS event, e.page AS page, toString(e.channel) AS channel,\n"
        "        if(e.event = '$page_leave' AND JSONType(e.properties, 'duration_ms') IN "
        "('Int64', 'UInt64', 'Double'),\n"
        "           greatest(JSONExtractFloat(e.properties, 'duration_ms'), -1), -1) AS dwell_ms\n"
        f"    FROM {persons_events(database, scan)}\n"
        f"    WHERE ({where})\n"
        "),\n"
        "per_person AS (\n"
        "    SELECT person_id,\n"
        "        arraySort(x -> (x.1, x.2), "
        "groupArray((ts, event_id, event, page, channel, dwell_ms))) AS timeline,\n"
        f"        arraySplit((x, gap) -> gap >= {idle_ms}, timeline, "
        "arrayDifference(arrayMap(x -> x.1, timeline))) AS sessions\n"
        "    FROM per_event\n"
        "    GROUP BY person_id\n"
        ")"
    )


def bind_sessions(
    query: InsightQuery, idle_seconds: int, params: SqlParams, database: str
) -> tuple[str, dict[str, Any]]:
    """The shared CTEs for ``query``'s range and filters, binding its parameters."""
    date_from = params.timestamp("date_from", query.date_from)
    date_to = params.timestamp("date_to", query.date_to)
    where = properties_condition(query.properties, "p", params)
    idle_ms = params.add("idle_ms", "Int64", idle_seconds * 1000)
    return sessions_cte(database, date_from, date_to, where, idle_ms), params.values


class SessionsQuery(InsightQuery):
    kind: Literal["SessionsQuery"] = "SessionsQuery"
    breakdown: Literal["channel"] | None = None
    session_idle_seconds: int = Field(default=SESSION_IDLE_SECONDS_DEFAULT, ge=1, le=86400)


class SessionStats(BaseModel):
    breakdown_value: str | None  # the session's first channel; None without breakdown
    sessions: int
    pageviews: int
    bounces: int
    average_duration: float | None  # seconds
    median_duration: float | None  # seconds
    bounce_rate: float | None  # % of sessions with ≥ 1 page view
    pages_per_session: float | None
    average_dwell_per_page: float | None  # seconds, from $page_leave duration_ms


class SessionsResult(BaseModel):
    """One series without a breakdown; with one, a series per channel, largest first."""

    series: list[SessionStats]


class SessionRow(BaseModel):
    person_id: str
    start_ms: int  # first event, Unix ms
    duration: float  # seconds
    pageviews: int
    is_bounce: bool | None  # None without page views
    channel: str


# The statistics of a set of sessions, for the totals, each breakdown and each day.
SESSION_AGGREGATES = (
    "    count() AS sessions,\n"
    "    sum(duration_ms) AS total_duration_ms,\n"
    "    quantileExactInclusive(0.5)(duration_ms) AS median_duration_ms,\n"
    "    sum(pageviews) AS total_pageviews,\n"
    "    countIf(pageviews > 0) AS with_pageviews,\n"
    "    countIf(pageviews = 1 AND interactions = 0) AS bounces,\n"
    "    sum(arraySum(dwells)) AS dwell_ms,\n"
    "    sum(length(dwells)) AS dwell_count\n"
)

PER_SESSION = (
    "    SELECT person_id, s[1].1 AS start_ms, s[1].5 AS channel,\n"
    "        s[-1].1 - s[1].1 AS duration_ms,\n"
    f"        countEqual(arrayMap(x -> x.3, s), '{PAGEVIEW}') AS pageviews,\n"
    "        length(arrayFilter(x -> x.3 NOT IN ("
    + ", ".join(f"'{e}'" for e in (PAGEVIEW, *LIFECYCLE_EVENTS))
    + "), s)) AS interactions,\n"
    "        arrayFilter(d -> d >= 0, arrayMap(x -> x.6, s)) AS dwells\n"
    "    FROM per_person\n"
    "    ARRAY JOIN sessions AS s"
)


class SessionsRunner(QueryRunner[SessionsQuery, SessionsResult]):
    kind = "SessionsQuery"

    def build_sql(self) -> tuple[str, dict[str, Any]]:
        ctes, values = bind_sessions(
            self.query, self.query.session_idle_seconds, SqlParams(), self.database
        )
        by_channel = self.query.breakdown == "channel"
        breakdown = "channel" if by_channel else "''"
        sql = (
            f"WITH\n{ctes},\nper_session AS (\n{PER_SESSION}\n)\n"
            f"SELECT {breakdown} AS breakdown_value,\n"
            f"{SESSION_AGGREGATES}"
            "FROM per_session"
        )
        if by_channel:
            sql += "\nGROUP BY breakdown_value\nORDER BY sessions DESC, breakdown_value"
        return sql, values

    def shape(self, rows: list[tuple[Any, ...]]) -> SessionsResult:
        by_channel = self.query.breakdown == "channel"
        series = [
            aggregated_stats(str(row[0]) if by_channel else None, row)
            for row in rows
            if int(row[1]) > 0
        ]
        if not by_channel and not series:
            series = [session_stats(None, 0, 0, None, 0, 0, 0, 0.0, 0)]
        return SessionsResult(series=series)

    def build_sessions_sql(self, limit: int = 1000) -> tuple[str, dict[str, Any]]:
        """Every session (person, start, duration, page views, bounce, channel)."""
        params = SqlParams()
        ctes, values = bind_sessions(
            self.query, self.query.session_idle_seconds, params, self.database
        )
        row_limit = params.add("limit", "UInt32", limit)
        sql = (
            f"WITH\n{ctes}\n"
            "SELECT person_id, start_ms, duration_ms, pageviews,\n"
            "    if(pageviews = 0, NULL, pageviews = 1 AND interactions = 0) AS is_bounce, channel\n"
            f"FROM (\n{PER_SESSION}\n)\n"
            f"ORDER BY person_id, start_ms\nLIMIT {row_limit}"
        )
        return sql, values

    def list_sessions(self, store: AnalyticsStore, limit: int = 1000) -> list[SessionRow]:
        self.check_store(store)
        sql, params = self.build_sessions_sql(limit)
        return [
            SessionRow(
                person_id=str(person),
                start_ms=int(start),
                duration=int(duration) / 1000,
                pageviews=int(pageviews),
                is_bounce=None if bounce is None else bool(bounce),
                channel=str(channel),
            )
            for person, start, duration, pageviews, bounce, channel in store.query(sql, params).rows
        ]


def session_stats(
    breakdown_value: str | None,
    sessions: int,
    total_duration_ms: int,
    median_duration_ms: float | None,
    pageviews: int,
    with_pageviews: int,
    bounces: int,
    dwell_ms: float,
    dwell_count: int,
) -> SessionStats:
    """Aggregates from per-group sums (shared with the brute-force reference)."""
    return SessionStats(
        breakdown_value=breakdown_value,
        sessions=sessions,
        pageviews=pageviews,
        bounces=bounces,
        average_duration=round(total_duration_ms / sessions / 1000, 3) if sessions else None,
        median_duration=(
            round(median_duration_ms / 1000, 3)
            if sessions and median_duration_ms is not None
            else None
        ),
        bounce_rate=round(100 * bounces / with_pageviews, 2) if with_pageviews else None,
        pages_per_session=round(pageviews / sessions, 3) if sessions else None,
        average_dwell_per_page=(round(dwell_ms / dwell_count / 1000, 3) if dwell_count else None),
    )


def aggregated_stats(breakdown_value: str | None, row: Sequence[Any]) -> SessionStats:
    """The stats of one result row: a leading key, then ``SESSION_AGGREGATES``' columns."""
    return session_stats(
        breakdown_value,
        sessions=int(row[1]),
        total_duration_ms=int(row[2] or 0),
        median_duration_ms=optional_float(row[3]),
        pageviews=int(row[4] or 0),
        with_pageviews=int(row[5] or 0),
        bounces=int(row[6] or 0),
        dwell_ms=float(row[7] or 0),
        dwell_count=int(row[8] or 0),
    )


# ------------------------------------------------------------------ per-day helper


class SessionsDay(BaseModel):
    """The sessions that *started* on one Shanghai calendar day (no breakdown)."""

    day: date
    stats: SessionStats


def build_daily_sql(runner: SessionsRunner) -> tuple[str, dict[str, Any]]:
    """The same sessions and aggregates as :meth:`SessionsRunner.build_sql`, grouped by
    the Shanghai day of each session's first event (the breakdown is ignored)."""
    query = runner.query
    ctes, values = bind_sessions(query, query.session_idle_seconds, SqlParams(), runner.database)
    sql = (
        f"WITH\n{ctes},\nper_session AS (\n{PER_SESSION}\n)\n"
        f"SELECT toDate(fromUnixTimestamp64Milli(start_ms), '{TIMEZONE}') AS day,\n"
        f"{SESSION_AGGREGATES}"
        "FROM per_session\n"
        "GROUP BY day\n"
        "ORDER BY day"
    )
    return sql, values


def run_daily(runner: SessionsRunner, store: AnalyticsStore) -> list[SessionsDay]:
    """Per-day session stats for the runner's range and filters, days with sessions only."""
    runner.check_store(store)
    sql, params = build_daily_sql(runner)
    return [
        SessionsDay(
            day=date.fromisoformat(str(row[0])),
            stats=aggregated_stats(None, row),
        )
        for row in store.query(sql, params).rows
        if int(row[1]) > 0
    ]
