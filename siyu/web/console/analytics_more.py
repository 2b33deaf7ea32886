"""More analytics pages (permission ``analytics.read``): the KPI overview, sessions,
repurchase with cohort LTV, the product portfolio against 20/60/20, and customer
lifetime value (BG/NBD + Gamma-Gamma). Same style as ``analytics.py``: GET forms in the
query string (Shanghai calendar days), a plotly chart where it helps, a table and a
CSV export; bad input answers 422 with words next to the field.

Routes:

- ``/console/analytics/overview`` (+ ``/overview.csv``): KPIs vs the previous period
- ``/console/analytics/sessions`` (+ ``/sessions.csv``, ``/sessions/daily.csv``,
  ``/sessions/pages.csv``): sessions, and each page's dwell, long stays and bounce
- ``/console/analytics/repurchase`` (+ ``/repurchase.csv``): rate and cohort LTV
- ``/console/analytics/portfolio`` (+ ``/portfolio.csv``): sales & margin share by role
- ``/console/analytics/clv`` (+ ``/clv.csv``): expected value over the next N days

Stable selectors: forms ``#overview-form``, ``#sessions-form``, ``#repurchase-form``,
``#portfolio-form``, ``#clv-form``; overview cards ``[data-testid=overview-<metric>]``
(``data-value``, ``data-previous``, ``data-change``); sessions
``[data-testid=sessions-total]``, ``tr[data-testid=sessions-row]`` (``data-channel``),
``#sessions-chart``, ``tr[data-testid=page-row]`` (``data-page``, ``data-views``,
``data-long-stay``, ``data-bounce``); repurchase ``[data-testid=repurchase-rate]``,
``tr[data-testid=ltv-row]`` (``data-cohort``), ``td[data-testid=ltv-cell]``; portfolio
``tr[data-testid=portfolio-role]`` (``data-role``), ``#portfolio-chart``; CLV
``[data-testid=clv-params]``, ``tr[data-testid=clv-customer]`` (``data-shopper-id``),
``[data-testid=clv-too-little]``; CSV links ``a#<page>-csv``.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from siyu.analytics.clv import (
    BgNbd,
    CustomerSummary,
    GammaGamma,
    fit_bgnbd,
    fit_gamma_gamma,
    forecast_customers,
    summarise_orders,
)
from siyu.analytics.queries.base import SqlParams
from siyu.analytics.queries.overview import (
    METRICS,
    OverviewQuery,
    OverviewResult,
    OverviewRunner,
)
from siyu.analytics.queries.pages import LONG_STAY_SECONDS, PagesQuery, PagesRunner, PageStats
from siyu.analytics.queries.portfolio import PortfolioQuery, PortfolioResult, PortfolioRunner
from siyu.analytics.queries.repurchase import RepurchaseQuery, RepurchaseResult, RepurchaseRunner
from siyu.analytics.queries.sessions import (
    SessionsDay,
    SessionsQuery,
    SessionsRunner,
    SessionStats,
    run_daily,
)
from siyu.analytics.schema import EVENTS
from siyu.analytics.store import AnalyticsStore
from siyu.web.console.analytics import heat
from siyu.web.console.analytics_common import (
    Analyst,
    DayRange,
    FormState,
    bad_request,
    base_layout,
    chart_json,
    csv_response,
    csv_text,
    first_error,
    format_seconds,
    query_string,
    read_choice,
    read_day_range,
    read_int,
    read_property_filter,
)
from siyu.web.console.base import PREFIX, render, request_locale
from siyu.web.console.dashboard import plotly_version
from siyu.web.deps import CtxDep, NowDep, SessionDep
from siyu.web.i18n import Translator, format_money, translator

router = APIRouter(prefix=f"{PREFIX}/analytics", include_in_schema=False)

INVALID_STATUS = 422


def _t(request: Request) -> Translator:
    return translator("console", request_locale(request))


def _qs(request: Request) -> str:
    return query_string(request.query_params.multi_items())


def _fixed(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


# ----------------------------------------------------------------------- overview

MONEY_METRICS = frozenset({"gmv_fen", "aov_fen"})
PERCENT_METRICS = frozenset({"conversion_rate", "repurchase_rate"})


def read_overview(
    request: Request, state: FormState, t: Translator, now: datetime
) -> tuple[OverviewQuery, DayRange] | None:
    days = read_day_range(request, state, t, now, default_days=7)
    properties = read_property_filter(request, state, t)
    if state.errors or days is None:
        return None
    return OverviewQuery(date_from=days.start, date_to=days.end, properties=properties), days


def metric_text(key: str, value: float) -> str:
    """How a metric reads on a card: yuan, a percentage, a decimal (DAU) or a count."""
    if key in MONEY_METRICS:
        return format_money(round(value))
    if key in PERCENT_METRICS:
        return f"{value:.2f}%"
    if key == "dau":
        return f"{value:.2f}"
    return str(round(value))


@router.get("/overview")
def overview_page(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> HTMLResponse:
    t = _t(request)
    state = FormState()
    form = read_overview(request, state, t, now)
    result: OverviewResult | None = None
    previous: tuple[date, date] | None = None
    if form is not None:
        query, days = form
        result = OverviewRunner(query, database=ctx.analytics.database).run(ctx.analytics)
        length = (days.last - days.first).days + 1
        previous = (days.first - timedelta(days=length), days.first - timedelta(days=1))
    metrics = [(key, getattr(result, key)) for key in METRICS] if result else []
    return render(
        request,
        "analytics_overview.html",
        user=user,
        status=INVALID_STATUS if state.errors else 200,
        active="analytics_overview",
        tab="overview",
        state=state,
        result=result,
        metrics=metrics,
        metric_text=metric_text,
        previous=previous,
        base_qs=_qs(request),
    )


@router.get("/overview.csv")
def overview_csv(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> Response:
    state = FormState()
    form = read_overview(request, state, _t(request), now)
    if form is None:
        raise bad_request(first_error(state))
    result = OverviewRunner(form[0], database=ctx.analytics.database).run(ctx.analytics)
    rows = []
    for key in METRICS:
        metric = getattr(result, key)
        rows.append((key, metric.value, metric.previous, _fixed(metric.change, 2)))
    return csv_response(
        csv_text(["metric", "value", "previous", "change_pct"], rows), "overview.csv"
    )


# ----------------------------------------------------------------------- sessions

SESSION_BREAKDOWNS = ("", "channel")
PAGES_SHOWN = 20  # on the page; the CSV has up to PAGES_EXPORTED
PAGES_EXPORTED = 500


@dataclass(frozen=True)
class SessionsForm:
    total: SessionsQuery
    breakdown: bool


def read_sessions(
    request: Request, state: FormState, t: Translator, now: datetime
) -> SessionsForm | None:
    days = read_day_range(request, state, t, now, default_days=7)
    breakdown = read_choice(request, state, t, "breakdown", SESSION_BREAKDOWNS, "")
    idle = read_int(request, state, t, "idle_minutes", 30, 1, 1440)
    properties = read_property_filter(request, state, t)
    if state.errors or days is None:
        return None
    try:
        total = SessionsQuery(
            date_from=days.start,
            date_to=days.end,
            properties=properties,
            session_idle_seconds=idle * 60,
        )
    except ValidationError:
        state.errors["_form"] = t("analytics.error.invalid")
        return None
    return SessionsForm(total, bool(breakdown))


def run_sessions(form: SessionsForm, store: AnalyticsStore) -> tuple[SessionStats, list[Any]]:
    """The overall stats and, with a breakdown, the per-channel series."""
    total = SessionsRunner(form.total, database=store.database).run(store).series[0]
    if not form.breakdown:
        return total, []
    by_channel = form.total.model_copy(update={"breakdown": "channel"})
    return total, SessionsRunner(by_channel, database=store.database).run(store).series


def sessions_chart(daily: list[SessionsDay], t: Translator) -> dict[str, Any]:
    days = [d.day.isoformat() for d in daily]
    layout = base_layout()
    layout["margin"] = {"l": 48, "r": 64, "t": 16, "b": 40}
    layout["xaxis"] = {"type": "date", "tickformat": "%m-%d"}
    layout["yaxis"] = {"title": {"text": t("analytics.sessions.sessions")}, "rangemode": "tozero"}
    layout["yaxis2"] = {
        "title": {"text": t("analytics.sessions.bounce_rate")},
        "overlaying": "y",
        "side": "right",
        "rangemode": "tozero",
        "ticksuffix": "%",
        "showgrid": False,
    }
    return {
        "data": [
            {
                "type": "bar",
                "name": t("analytics.sessions.sessions"),
                "x": days,
                "y": [d.stats.sessions for d in daily],
                "marker": {"color": "rgba(7,193,96,0.45)"},
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": t("analytics.sessions.bounce_rate"),
                "x": days,
                "y": [d.stats.bounce_rate for d in daily],
                "yaxis": "y2",
                "line": {"color": "#d4380d"},
            },
        ],
        "layout": layout,
    }


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
        _fixed(s.bounce_rate, 2),
        _fixed(s.average_duration, 3),
        _fixed(s.median_duration, 3),
        _fixed(s.pages_per_session, 3),
        _fixed(s.average_dwell_per_page, 3),
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
    return PagesRunner(query, database=store.database).run(store).pages


def page_cells(p: PageStats) -> tuple[Any, ...]:
    return (
        p.page,
        p.views,
        p.visitors,
        _fixed(p.average_dwell, 3),
        _fixed(p.median_dwell, 3),
        _fixed(p.long_stay_rate, 2),
        p.entries,
        _fixed(p.bounce_rate, 2),
        p.exits,
        _fixed(p.exit_rate, 2),
    )


@router.get("/sessions")
def sessions_page(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> HTMLResponse:
    t = _t(request)
    state = FormState()
    form = read_sessions(request, state, t, now)
    total: SessionStats | None = None
    series: list[Any] = []
    daily: list[SessionsDay] = []
    pages: list[PageStats] = []
    if form is not None:
        store = ctx.analytics
        total, series = run_sessions(form, store)
        daily = run_daily(SessionsRunner(form.total, database=store.database), store)
        pages = run_pages(form, store, PAGES_SHOWN)
    chart = chart_json(sessions_chart(daily, t)) if daily else None
    return render(
        request,
        "analytics_sessions.html",
        user=user,
        status=INVALID_STATUS if state.errors else 200,
        active="analytics_sessions",
        tab="sessions",
        state=state,
        breakdowns=SESSION_BREAKDOWNS,
        total=total,
        series=series,
        daily=daily,
        pages=pages,
        long_stay_seconds=LONG_STAY_SECONDS,
        chart_json=chart,
        plotly_version=plotly_version(),
        seconds=format_seconds,
        base_qs=_qs(request),
    )


@router.get("/sessions/pages.csv")
def sessions_pages_csv(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> Response:
    state = FormState()
    form = read_sessions(request, state, _t(request), now)
    if form is None:
        raise bad_request(first_error(state))
    pages = run_pages(form, ctx.analytics, PAGES_EXPORTED)
    return csv_response(
        csv_text(PAGE_COLUMNS, [page_cells(p) for p in pages]), "sessions-pages.csv"
    )


@router.get("/sessions.csv")
def sessions_csv(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> Response:
    state = FormState()
    form = read_sessions(request, state, _t(request), now)
    if form is None:
        raise bad_request(first_error(state))
    total, series = run_sessions(form, ctx.analytics)
    rows = [("total", "", *session_cells(total))]
    rows += [("channel", s.breakdown_value or "", *session_cells(s)) for s in series]
    return csv_response(csv_text(["scope", "channel", *SESSION_COLUMNS], rows), "sessions.csv")


@router.get("/sessions/daily.csv")
def sessions_daily_csv(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> Response:
    state = FormState()
    form = read_sessions(request, state, _t(request), now)
    if form is None:
        raise bad_request(first_error(state))
    store = ctx.analytics
    daily = run_daily(SessionsRunner(form.total, database=store.database), store)
    rows = [(d.day.isoformat(), *session_cells(d.stats)) for d in daily]
    return csv_response(csv_text(["day", *SESSION_COLUMNS], rows), "sessions-daily.csv")


# --------------------------------------------------------------------- repurchase


def read_repurchase(
    request: Request, state: FormState, t: Translator, now: datetime
) -> RepurchaseQuery | None:
    days = read_day_range(request, state, t, now, default_days=180)
    months = read_int(request, state, t, "months", 12, 1, 36)
    properties = read_property_filter(request, state, t)
    if state.errors or days is None:
        return None
    return RepurchaseQuery(
        date_from=days.start, date_to=days.end, months=months, properties=properties
    )


def ltv_chart(result: RepurchaseResult, t: Translator) -> dict[str, Any]:
    layout = base_layout()
    layout["margin"] = {"l": 64, "r": 24, "t": 16, "b": 40}
    layout["xaxis"] = {"title": {"text": t("analytics.repurchase.month_offset")}, "dtick": 1}
    layout["yaxis"] = {"title": {"text": t("analytics.repurchase.ltv_axis")}, "rangemode": "tozero"}
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": f"{c.month:%Y-%m} ({c.buyers})",
                "x": list(range(len(c.ltv_fen))),
                "y": [round(v / 100, 2) for v in c.ltv_fen],
                "hovertemplate": "¥%{y:,.2f}<extra>%{fullData.name}</extra>",
            }
            for c in result.cohorts
        ],
        "layout": layout,
    }


@router.get("/repurchase")
def repurchase_page(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> HTMLResponse:
    t = _t(request)
    state = FormState()
    query = read_repurchase(request, state, t, now)
    result: RepurchaseResult | None = None
    if query is not None:
        result = RepurchaseRunner(query, database=ctx.analytics.database).run(ctx.analytics)
    offsets = max((len(c.ltv_fen) for c in result.cohorts), default=0) if result else 0
    top = max((v for c in result.cohorts for v in c.ltv_fen), default=0.0) if result else 0.0
    chart = chart_json(ltv_chart(result, t)) if result and result.cohorts else None
    return render(
        request,
        "analytics_repurchase.html",
        user=user,
        status=INVALID_STATUS if state.errors else 200,
        active="analytics_repurchase",
        tab="repurchase",
        state=state,
        result=result,
        offsets=offsets,
        ltv_heat=lambda v: heat(100 * v / top if top > 0 else 0.0),
        chart_json=chart,
        plotly_version=plotly_version(),
        base_qs=_qs(request),
    )


@router.get("/repurchase.csv")
def repurchase_csv(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> Response:
    state = FormState()
    query = read_repurchase(request, state, _t(request), now)
    if query is None:
        raise bad_request(first_error(state))
    result = RepurchaseRunner(query, database=ctx.analytics.database).run(ctx.analytics)
    rows = [
        (c.month.isoformat(), c.buyers, offset, f"{value:.2f}")
        for c in result.cohorts
        for offset, value in enumerate(c.ltv_fen)
    ]
    header = ["cohort_month", "buyers", "month_offset", "ltv_fen"]
    return csv_response(csv_text(header, rows), "repurchase-ltv.csv")


# ---------------------------------------------------------------------- portfolio


def read_portfolio(
    request: Request, state: FormState, t: Translator, now: datetime
) -> PortfolioQuery | None:
    days = read_day_range(request, state, t, now, default_days=30)
    if state.errors or days is None:
        return None
    return PortfolioQuery(date_from=days.start, date_to=days.end)


def run_portfolio(query: PortfolioQuery, session: Any) -> PortfolioResult:
    with session.begin():
        return PortfolioRunner(query).run(session)


def portfolio_chart(result: PortfolioResult, t: Translator) -> dict[str, Any]:
    roles = [t(f"product.role.{r.role.value}") for r in result.roles]
    layout = base_layout()
    layout["margin"] = {"l": 48, "r": 24, "t": 16, "b": 40}
    layout["barmode"] = "group"
    layout["yaxis"] = {"ticksuffix": "%", "rangemode": "tozero"}

    def bars(name: str, values: list[float], color: str) -> dict[str, Any]:
        return {
            "type": "bar",
            "name": name,
            "x": roles,
            "y": values,
            "marker": {"color": color},
            "hovertemplate": "%{y:.2f}%<extra>%{fullData.name}</extra>",
        }

    return {
        "data": [
            bars(
                t("analytics.portfolio.sales_share"),
                [r.sales_share for r in result.roles],
                "rgba(7,193,96,0.7)",
            ),
            bars(
                t("analytics.portfolio.margin_share"),
                [r.margin_share for r in result.roles],
                "rgba(31,111,235,0.6)",
            ),
            bars(
                t("analytics.portfolio.target"),
                [r.target_share for r in result.roles],
                "rgba(89,99,110,0.35)",
            ),
        ],
        "layout": layout,
    }


@router.get("/portfolio")
def portfolio_page(
    request: Request, user: Analyst, session: SessionDep, now: NowDep
) -> HTMLResponse:
    t = _t(request)
    state = FormState()
    query = read_portfolio(request, state, t, now)
    result = run_portfolio(query, session) if query is not None else None
    chart = chart_json(portfolio_chart(result, t)) if result and result.sales_fen else None
    return render(
        request,
        "analytics_portfolio.html",
        user=user,
        status=INVALID_STATUS if state.errors else 200,
        active="analytics_portfolio",
        tab="portfolio",
        state=state,
        result=result,
        chart_json=chart,
        plotly_version=plotly_version(),
        base_qs=_qs(request),
    )


@router.get("/portfolio.csv")
def portfolio_csv(request: Request, user: Analyst, session: SessionDep, now: NowDep) -> Response:
    state = FormState()
    query = read_portfolio(request, state, _t(request), now)
    if query is None:
        raise bad_request(first_error(state))
    result = run_portfolio(query, session)
    header = [
        "role",
        "sales_fen",
        "sales_share",
        "target_share",
        "gap",
        "margin_fen",
        "margin_share",
        "lines_without_cost",
    ]
    rows = [
        (
            r.role.value,
            r.sales_fen,
            f"{r.sales_share:.2f}",
            f"{r.target_share:.2f}",
            f"{r.gap:.2f}",
            r.margin_fen,
            f"{r.margin_share:.2f}",
            r.lines_without_cost,
        )
        for r in result.roles
    ]
    return csv_response(csv_text(header, rows), "portfolio.csv")


# ---------------------------------------------------------------------------- CLV

CLV_MIN_CUSTOMERS = 10  # shoppers with a counted purchase
CLV_MIN_REPEAT = 3  # of them with a repeat purchase (Gamma-Gamma needs some)
CLV_TABLE_LIMIT = 50
CLV_CHART_LIMIT = 20


@dataclass(frozen=True)
class ClvForm:
    days: DayRange
    horizon: int


@dataclass(frozen=True)
class ClvCustomer:
    shopper_id: int
    frequency: int
    recency_days: float
    age_days: float
    monetary_fen: float
    expected_purchases: float
    probability_alive: float
    expected_order_value_fen: float | None  # None when not finite (Gamma-Gamma q ≤ 1)
    clv_fen: float | None


@dataclass(frozen=True)
class ClvResult:
    """``problem`` set (a message id) when the models could not be fitted."""

    as_of: datetime
    customers_seen: int
    repeat_customers: int
    purchases: BgNbd | None = None
    spend: GammaGamma | None = None
    customers: tuple[ClvCustomer, ...] = ()
    problem: str | None = None

    @property
    def total_clv_fen(self) -> float:
        return sum(c.clv_fen for c in self.customers if c.clv_fen is not None)


def read_clv(request: Request, state: FormState, t: Translator, now: datetime) -> ClvForm | None:
    days = read_day_range(request, state, t, now, default_days=365)
    horizon = read_int(request, state, t, "horizon", 90, 1, 730)
    if state.errors or days is None:
        return None
    return ClvForm(days, horizon)


def clv_orders(
    store: AnalyticsStore, date_from: datetime, date_to: datetime
) -> list[tuple[int, datetime, int]]:
    """(shopper, paid at, net fen) of the paid orders in ``[date_from, date_to)``: one row
    per ``order_id`` (the earliest ``order.paid``), minus the refunds before ``date_to``;
    fully refunded orders are no purchase (as in RFM)."""
    params = SqlParams()
    start = params.timestamp("date_from", date_from)
    end = params.timestamp("date_to", date_to)
    events = EVENTS.format(db=store.database)
    sql = (
        "WITH\n"
        "paid AS (\n"
        "    SELECT order_id, shopper_id, amount_fen, timestamp\n"
        f"    FROM {events}\n"
        "    WHERE event = 'order.paid' AND shopper_id != 0 AND order_id != 0\n"
        f"      AND timestamp >= {start} AND timestamp < {end}\n"
        "    ORDER BY order_id, timestamp, event_id\n"
        "    LIMIT 1 BY order_id\n"
        "),\n"
        "refunded AS (\n"
        "    SELECT order_id, sum(amount_fen) AS refunded_fen\n"
        f"    FROM {events}\n"
        f"    WHERE event = 'refund.succeeded' AND timestamp < {params.timestamp('refund_to', date_to)}\n"
        "    GROUP BY order_id\n"
        ")\n"
        "SELECT p.shopper_id, toUnixTimestamp64Milli(p.timestamp),\n"
        "    toInt64(p.amount_fen) - toInt64(coalesce(r.refunded_fen, 0)) AS net\n"
        "FROM paid AS p LEFT JOIN refunded AS r ON p.order_id = r.order_id\n"
        "WHERE net > 0\n"
        "ORDER BY p.shopper_id, p.timestamp"
    )
    return [
        (int(shopper), datetime.fromtimestamp(int(ms) / 1000, UTC), int(net))
        for shopper, ms, net in store.query(sql, params.values).rows
    ]


_FITS: OrderedDict[str, tuple[BgNbd, GammaGamma] | None] = OrderedDict()
_FITS_LOCK = threading.Lock()
FIT_CACHE_SIZE = 32


def summary_key(summary: CustomerSummary) -> str:
    digest = hashlib.sha256(summary.unit.encode())
    for values in (summary.frequency, summary.recency, summary.age, summary.monetary):
        digest.update(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return digest.hexdigest()


def fitted_models(summary: CustomerSummary) -> tuple[BgNbd, GammaGamma] | None:
    """BG/NBD and Gamma-Gamma fitted on ``summary`` (None when they cannot be). The fit
    does not depend on the horizon, and on small or uniform data Gamma-Gamma can take
    seconds, so fits are remembered per summary: changing N or downloading the CSV of
    the page just seen does not fit again."""
    key = summary_key(summary)
    with _FITS_LOCK:
        if key in _FITS:
            _FITS.move_to_end(key)
            return _FITS[key]
    models: tuple[BgNbd, GammaGamma] | None
    try:
        models = (
            fit_bgnbd(summary.frequency, summary.recency, summary.age),
            fit_gamma_gamma(summary.frequency, summary.monetary),
        )
    except (ValueError, FloatingPointError):
        models = None
    with _FITS_LOCK:
        _FITS[key] = models
        while len(_FITS) > FIT_CACHE_SIZE:
            _FITS.popitem(last=False)
    return models


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def run_clv(form: ClvForm, store: AnalyticsStore, now: datetime) -> ClvResult:
    as_of = min(now, form.days.end)
    summary: CustomerSummary = summarise_orders(
        clv_orders(store, form.days.start, form.days.end), now=as_of
    )
    seen = len(summary.customer_ids)
    repeat = int(((summary.frequency > 0) & (summary.monetary > 0)).sum())
    if seen < CLV_MIN_CUSTOMERS or repeat < CLV_MIN_REPEAT:
        return ClvResult(as_of, seen, repeat, problem="analytics.clv.too_little")
    models = fitted_models(summary)
    if models is None:
        return ClvResult(as_of, seen, repeat, problem="analytics.clv.no_fit")
    purchases, spend = models
    try:
        forecasts = forecast_customers(purchases, spend, summary, days=form.horizon)
    except (ValueError, FloatingPointError):
        return ClvResult(as_of, seen, repeat, problem="analytics.clv.no_fit")
    customers = [
        ClvCustomer(
            shopper_id=int(f.customer_id),  # type: ignore[call-overload]
            frequency=int(summary.frequency[i]),
            recency_days=float(summary.recency[i]),
            age_days=float(summary.age[i]),
            monetary_fen=float(summary.monetary[i]),
            expected_purchases=f.expected_purchases,
            probability_alive=f.probability_alive,
            expected_order_value_fen=_finite(f.expected_order_value_fen),
            clv_fen=_finite(f.clv_fen),
        )
        for i, f in enumerate(forecasts)
    ]
    customers.sort(
        key=lambda c: (c.clv_fen is None, -(c.clv_fen or 0.0), c.shopper_id),
    )
    return ClvResult(as_of, seen, repeat, purchases, spend, tuple(customers))


def clv_problem_text(result: ClvResult, t: Translator) -> str:
    if result.problem == "analytics.clv.too_little":
        return t(
            "analytics.clv.too_little",
            n=result.customers_seen,
            repeat=result.repeat_customers,
            min=CLV_MIN_CUSTOMERS,
            min_repeat=CLV_MIN_REPEAT,
        )
    return t("analytics.clv.no_fit")


def clv_chart(result: ClvResult, t: Translator) -> dict[str, Any]:
    top = [c for c in result.customers if c.clv_fen is not None][:CLV_CHART_LIMIT]
    layout = base_layout()
    layout["margin"] = {"l": 64, "r": 24, "t": 16, "b": 56}
    layout["xaxis"] = {"type": "category", "title": {"text": t("analytics.clv.shopper")}}
    layout["yaxis"] = {"title": {"text": t("analytics.clv.value_axis")}, "rangemode": "tozero"}
    return {
        "data": [
            {
                "type": "bar",
                "name": t("analytics.clv.clv"),
                "x": [f"#{c.shopper_id}" for c in top],
                "y": [round((c.clv_fen or 0.0) / 100, 2) for c in top],
                "marker": {"color": "rgba(7,193,96,0.7)"},
                "hovertemplate": "¥%{y:,.2f}<extra></extra>",
            }
        ],
        "layout": layout,
    }


@router.get("/clv")
def clv_page(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> HTMLResponse:
    t = _t(request)
    state = FormState()
    form = read_clv(request, state, t, now)
    result = run_clv(form, ctx.analytics, now) if form is not None else None
    chart = chart_json(clv_chart(result, t)) if result and result.customers else None
    return render(
        request,
        "analytics_clv.html",
        user=user,
        status=INVALID_STATUS if state.errors else 200,
        active="analytics_clv",
        tab="clv",
        state=state,
        form=form,
        result=result,
        customers=result.customers[:CLV_TABLE_LIMIT] if result else (),
        table_limit=CLV_TABLE_LIMIT,
        problem_text=clv_problem_text(result, t) if result and result.problem else None,
        chart_json=chart,
        plotly_version=plotly_version(),
        base_qs=_qs(request),
    )


@router.get("/clv.csv")
def clv_csv(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> Response:
    t = _t(request)
    state = FormState()
    form = read_clv(request, state, t, now)
    if form is None:
        raise bad_request(first_error(state))
    result = run_clv(form, ctx.analytics, now)
    if result.problem:
        raise bad_request(clv_problem_text(result, t))
    header = [
        "shopper_id",
        "frequency",
        "recency_days",
        "age_days",
        "monetary_fen",
        "expected_purchases",
        "probability_alive",
        "expected_order_value_fen",
        "clv_fen",
    ]
    rows = [
        (
            c.shopper_id,
            c.frequency,
            f"{c.recency_days:g}",
            f"{c.age_days:g}",
            f"{c.monetary_fen:.2f}",
            f"{c.expected_purchases:.4f}",
            f"{c.probability_alive:.4f}",
            _fixed(c.expected_order_value_fen, 2),
            _fixed(c.clv_fen, 2),
        )
        for c in result.customers
    ]
    return csv_response(csv_text(header, rows), f"clv-{form.horizon}d.csv")
