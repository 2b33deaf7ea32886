"""Traffic pages: the KPI overview against the previous period (+ ``/overview.csv``) and
sessions with each page's dwell, long stays and bounce (+ ``/sessions.csv``,
``/sessions/daily.csv``, ``/sessions/pages.csv``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from siyu.analytics.queries.overview import (
    METRICS,
    OverviewQuery,
    OverviewResult,
    OverviewRunner,
)
from siyu.analytics.queries.pages import LONG_STAY_SECONDS, PagesQuery, PagesRunner, PageStats
from siyu.analytics.queries.sessions import (
    SessionsDay,
    SessionsQuery,
    SessionsRunner,
    SessionStats,
    run_daily,
)
from siyu.analytics.store import AnalyticsStore
from siyu.web.console.analytics.common import (
    Analyst,
    DayRange,
    QueryForm,
    csv_download,
    figure,
    fixed,
    plain_number,
    required,
    tab_page,
    trace,
)
from siyu.web.console.base import PREFIX
from siyu.web.deps import CtxDep, NowDep
from siyu.web.i18n import Translator, format_money

router = APIRouter(prefix=f"{PREFIX}/analytics", include_in_schema=False)


# ----------------------------------------------------------------------- overview

MONEY_METRICS = frozenset({"gmv_fen", "aov_fen"})
PERCENT_METRICS = frozenset({"conversion_rate", "repurchase_rate"})


def read_overview(form: QueryForm) -> tuple[OverviewQuery, DayRange] | None:
    days = form.day_range(default_days=7)
    properties = form.property_filter()
    if form.errors or days is None:
        return None
    return OverviewQuery(date_from=days.start, date_to=days.end, properties=properties), days


def metric_text(key: str, value: float) -> str:
    """How a metric reads on a card: yuan, a percentage, a decimal (DAU) or a count
    (a dash for a value that is not a finite number)."""
    if not math.isfinite(value):
        return "—"
    if key in MONEY_METRICS:
        return format_money(round(value))
    if key in PERCENT_METRICS:
        return f"{plain_number(value, 2)}%"
    if key == "dau":
        return plain_number(value, 2)
    return str(round(value))


@router.get("/overview")
def overview_page(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> HTMLResponse:
    state = QueryForm(request, now)
    form = read_overview(state)
    result: OverviewResult | None = None
    previous: tuple[date, date] | None = None
    if form is not None:
        query, days = form
        result = OverviewRunner.run_on(query, ctx.analytics)
        length = (days.last - days.first).days + 1
        previous = (days.first - timedelta(days=length), days.first - timedelta(days=1))
    metrics = [(key, getattr(result, key)) for key in METRICS] if result else []
    return tab_page(
        request,
        user,
        "overview",
        state,
        result=result,
        metrics=metrics,
        metric_text=metric_text,
        previous=previous,
    )


@router.get("/overview.csv")
def overview_csv(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> Response:
    form = required(read_overview, request, now)
    result = OverviewRunner.run_on(form[0], ctx.analytics)
    rows = []
    for key in METRICS:
        metric = getattr(result, key)
        rows.append((key, metric.value, metric.previous, fixed(metric.change, 2)))
    return csv_download("overview.csv", ["metric", "value", "previous", "change_pct"], rows)


# ----------------------------------------------------------------------- sessions

SESSION_BREAKDOWNS = ("", "channel")
PAGES_SHOWN = 20  # on the page; the CSV has up to PAGES_EXPORTED
PAGES_EXPORTED = 500


@dataclass(frozen=True)
class SessionsForm:
    total: SessionsQuery
    breakdown: bool


def read_sessions(form: QueryForm) -> SessionsForm | None:
    days = form.day_range(default_days=7)
    breakdown = form.choice("breakdown", SESSION_BREAKDOWNS, "")
    idle = form.number("idle_minutes", 30, 1, 1440)
    properties = form.property_filter()
    if form.errors or days is None:
        return None
    try:
        total = SessionsQuery(
            date_from=days.start,
            date_to=days.end,
            properties=properties,
            session_idle_seconds=idle * 60,
        )
    except ValidationError:
        form.invalid()
        return None
    return SessionsForm(total, bool(breakdown))


def run_sessions(form: SessionsForm, store: AnalyticsStore) -> tuple[SessionStats, list[Any]]:
    """The overall stats and, with a breakdown, the per-channel series."""
    total = SessionsRunner.run_on(form.total, store).series[0]
    if not form.breakdown:
        return total, []
    by_channel = form.total.model_copy(update={"breakdown": "channel"})
    return total, SessionsRunner.run_on(by_channel, store).series


def sessions_chart(daily: list[SessionsDay], t: Translator) -> dict[str, Any]:
    days = [d.day.isoformat() for d in daily]
    sessions, bounce_rate = t("analytics.sessions.sessions"), t("analytics.sessions.bounce_rate")
    return figure(
        [
            trace(
                "bar",
                sessions,
                days,
                [d.stats.sessions for d in daily],
                marker={"color": "rgba(7,193,96,0.45)"},
            ),
            trace(
                "scatter",
                bounce_rate,
                days,
                [d.stats.bounce_rate for d in daily],
                mode="lines+markers",
                yaxis="y2",
                line={"color": "#d4380d"},
            ),
        ],
        margin={"l": 48, "r": 64, "t": 16, "b": 40},
        xaxis={"type": "date", "tickformat": "%m-%d"},
        yaxis={"title": {"text": sessions}, "rangemode": "tozero"},
        yaxis2={
            "title": {"text": bounce_rate},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "ticksuffix": "%",
            "showgrid": False,
        },
    )


SESSION_COLUMNS = [
    "sessions",
    "pageviews",
    "bounces",
    "bounce_rate",
    "average_duration_s",
    "median_duration_s",
    "pages_per_session",
    "average_dwell_per_page_s",
]


def session_cells(s: SessionStats) -> tuple[Any, ...]:
    return (
        s.sessions,
        s.pageviews,
        s.bounces,
        fixed(s.bounce_rate, 2),
        fixed(s.average_duration, 3),
        fixed(s.median_duration, 3),
        fixed(s.pages_per_session, 3),
        fixed(s.average_dwell_per_page, 3),
    )


PAGE_COLUMNS = [
    "page",
    "views",
    "visitors",
    "average_dwell_s",
    "median_dwell_s",
    "long_stay_rate",
    "entries",
    "bounce_rate",
    "exits",
    "exit_rate",
]


def run_pages(form: SessionsForm, store: AnalyticsStore, limit: int) -> list[PageStats]:
    """Each page's dwell, long stays, landing bounce and exits, on the same sessions."""
    query = PagesQuery(
        date_from=form.total.date_from,
        date_to=form.total.date_to,
        properties=form.total.properties,
        session_idle_seconds=form.total.session_idle_seconds,
        limit=limit,
    )
    return PagesRunner.run_on(query, store).pages


def page_cells(p: PageStats) -> tuple[Any, ...]:
    return (
        p.page,
        p.views,
        p.visitors,
        fixed(p.average_dwell, 3),
        fixed(p.median_dwell, 3),
        fixed(p.long_stay_rate, 2),
        p.entries,
        fixed(p.bounce_rate, 2),
        p.exits,
        fixed(p.exit_rate, 2),
    )


@router.get("/sessions")
def sessions_page(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> HTMLResponse:
    state = QueryForm(request, now)
    form = read_sessions(state)
    total: SessionStats | None = None
    series: list[Any] = []
    daily: list[SessionsDay] = []
    pages: list[PageStats] = []
    if form is not None:
        store = ctx.analytics
        total, series = run_sessions(form, store)
        daily = run_daily(SessionsRunner(form.total, database=store.database), store)
        pages = run_pages(form, store, PAGES_SHOWN)
    return tab_page(
        request,
        user,
        "sessions",
        state,
        sessions_chart(daily, state.t) if daily else None,
        breakdowns=SESSION_BREAKDOWNS,
        total=total,
        series=series,
        daily=daily,
        pages=pages,
        long_stay_seconds=LONG_STAY_SECONDS,
    )


@router.get("/sessions/pages.csv")
def sessions_pages_csv(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> Response:
    form = required(read_sessions, request, now)
    pages = run_pages(form, ctx.analytics, PAGES_EXPORTED)
    return csv_download("sessions-pages.csv", PAGE_COLUMNS, [page_cells(p) for p in pages])


@router.get("/sessions.csv")
def sessions_csv(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> Response:
    form = required(read_sessions, request, now)
    total, series = run_sessions(form, ctx.analytics)
    rows = [("total", "", *session_cells(total))]
    rows += [("channel", s.breakdown_value or "", *session_cells(s)) for s in series]
    return csv_download("sessions.csv", ["scope", "channel", *SESSION_COLUMNS], rows)


@router.get("/sessions/daily.csv")
def sessions_daily_csv(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> Response:
    form = required(read_sessions, request, now)
    store = ctx.analytics
    daily = run_daily(SessionsRunner(form.total, database=store.database), store)
    rows = [(d.day.isoformat(), *session_cells(d.stats)) for d in daily]
    return csv_download("sessions-daily.csv", ["day", *SESSION_COLUMNS], rows)
