"""Pages: how each page holds its visitors — the playbook's 停留时长 ("the share of
users staying over a minute on a page") and 首屏跳出率 (bounce rate of the landing
page), seeds 003 §五.

Over ``[date_from, date_to)``, on the sessions of :mod:`siyu.analytics.queries.sessions`
(the same splitting after ``session_idle_seconds``, persons, client events and global
property filters):

- ``views``: the page's ``$pageview`` events; ``visitors``: persons with one.
- Dwell: the page's ``$page_leave`` ``properties.duration_ms`` where it is a JSON number
  ≥ 0 — ``average_dwell`` and ``median_dwell`` in seconds (None when no leave carries
  one). ``long_stay_rate``: of the persons with such a leave on the page, the share
  (percent) with one of at least :data:`LONG_STAY_SECONDS`.
- ``entries``: sessions whose first page view is the page (it was their landing page);
  ``bounce_rate``: the share of those that bounced (the sessions rule: one page view and
  no interaction).
- ``exits``: sessions whose last page view is the page; ``exit_rate``: exits / views.
- Percentages have 2 decimals (None over zero), seconds are rounded to ms. Pages are
  listed by views (then path), at most ``limit``; a page without a path is left out.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from siyu.analytics.queries.base import InsightQuery, QueryRunner, SqlParams
from siyu.analytics.queries.sessions import (
    LIFECYCLE_EVENTS,
    PAGEVIEW,
    SESSION_IDLE_SECONDS_DEFAULT,
    bind_sessions,
)

LONG_STAY_SECONDS = 60


class PagesQuery(InsightQuery):
    kind: Literal["PagesQuery"] = "PagesQuery"
    session_idle_seconds: int = Field(default=SESSION_IDLE_SECONDS_DEFAULT, ge=1, le=86400)
    limit: int = Field(default=50, ge=1, le=500)


class PageStats(BaseModel):
    page: str
    views: int
    visitors: int
    average_dwell: float | None  # seconds
    median_dwell: float | None  # seconds
    long_stay_rate: float | None  # % of persons with a measured stay
    entries: int
    bounce_rate: float | None  # % of entries
    exits: int
    exit_rate: float | None  # % of views


class PagesResult(BaseModel):
    pages: list[PageStats]


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def _seconds(ms: Any) -> float | None:
    if ms is None:
        return None
    value = float(ms)
    return None if value != value else round(value / 1000, 3)  # NaN: no dwell measured


class PagesRunner(QueryRunner[PagesQuery, PagesResult]):
    kind = "PagesQuery"

    def build_sql(self) -> tuple[str, dict[str, Any]]:
        params = SqlParams()
        ctes, _ = bind_sessions(self.query, self.query.session_idle_seconds, params, self.database)
        limit = params.add("limit", "UInt32", self.query.limit)
        long_ms = params.add("long_stay_ms", "Float64", LONG_STAY_SECONDS * 1000)
        quiet = ", ".join(f"'{e}'" for e in (PAGEVIEW, *LIFECYCLE_EVENTS))
        measured = "event = '$page_leave' AND dwell_ms >= 0"
        sql = (
            f"WITH\n{ctes},\n"
            "per_session AS (\n"
            f"    SELECT arrayFilter(x -> x.3 = '{PAGEVIEW}', s) AS views,\n"
            f"        length(arrayFilter(x -> x.3 NOT IN ({quiet}), s)) AS interactions\n"
            "    FROM per_person ARRAY JOIN sessions AS s\n"
            "),\n"
            "landings AS (\n"
            "    SELECT views[1].4 AS page, count() AS entries,\n"
            "        countIf(length(views) = 1 AND interactions = 0) AS bounces\n"
            "    FROM per_session WHERE notEmpty(views) GROUP BY page\n"
            "),\n"
            "leavings AS (\n"
            "    SELECT views[-1].4 AS page, count() AS exits\n"
            "    FROM per_session WHERE notEmpty(views) GROUP BY page\n"
            "),\n"
            "per_page AS (\n"
            "    SELECT page,\n"
            f"        countIf(event = '{PAGEVIEW}') AS views,\n"
            f"        uniqExactIf(person_id, event = '{PAGEVIEW}') AS visitors,\n"
            f"        avgIf(dwell_ms, {measured}) AS average_dwell_ms,\n"
            f"        quantileExactInclusiveIf(0.5)(dwell_ms, {measured}) AS median_dwell_ms,\n"
            f"        uniqExactIf(person_id, {measured}) AS measured,\n"
            f"        uniqExactIf(person_id, {measured} AND dwell_ms >= {long_ms}) AS long_stays\n"
            "    FROM per_event WHERE page != '' GROUP BY page\n"
            ")\n"
            "SELECT p.page, p.views, p.visitors, p.average_dwell_ms, p.median_dwell_ms,\n"
            "    p.measured, p.long_stays, l.entries, l.bounces, x.exits\n"
            "FROM per_page AS p\n"
            "LEFT JOIN landings AS l ON l.page = p.page\n"
            "LEFT JOIN leavings AS x ON x.page = p.page\n"
            "WHERE p.views > 0 OR p.measured > 0\n"
            f"ORDER BY p.views DESC, p.page\nLIMIT {limit}"
        )
        return sql, params.values

    def shape(self, rows: list[tuple[Any, ...]]) -> PagesResult:
        pages = []
        for row in rows:
            page, views, visitors, avg_ms, median_ms, measured, long_stays = row[:7]
            entries, bounces, exits = (int(v or 0) for v in row[7:])
            views = int(views)
            pages.append(
                PageStats(
                    page=str(page),
                    views=views,
                    visitors=int(visitors),
                    average_dwell=_seconds(avg_ms) if int(measured) else None,
                    median_dwell=_seconds(median_ms) if int(measured) else None,
                    long_stay_rate=_rate(int(long_stays), int(measured)),
                    entries=entries,
                    bounce_rate=_rate(bounces, entries),
                    exits=exits,
                    exit_rate=_rate(exits, views),
                )
            )
        return PagesResult(pages=pages)
