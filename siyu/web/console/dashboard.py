"""The dashboard page: headline numbers with period-over-period change and a trend chart."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from siyu.dashboard.rules import Period
from siyu.dashboard.service import (
    Dashboard,
    TrackedVisitors,
    count_tracked_visitors,
    load_dashboard,
)
from siyu.web.console.base import PREFIX, render, request_locale
from siyu.web.console.security import Analyst
from siyu.web.deps import AppContext, CtxDep, NowDep, SessionDep
from siyu.web.i18n import format_shanghai, translator

router = APIRouter(prefix=PREFIX, include_in_schema=False)
log = logging.getLogger(__name__)


@cache
def plotly_version() -> str:
    return version("plotly")


# plotly.js's "finance" partial bundle (bar, scatter, funnel, pie, …: every trace the
# console draws but the paths page's sankey), a quarter of the full bundle's size and
# of its start-up time in the browser. ``make install`` fetches it with npm into
# frontend/node_modules; without it every page uses the full bundle.
FINANCE_TRACES = frozenset(
    {"bar", "scatter", "funnel", "funnelarea", "pie", "histogram", "waterfall", "indicator",
     "ohlc", "candlestick"}
)  # fmt: skip
FINANCE_BUNDLE = (
    Path(__file__).resolve().parents[3]
    / "frontend/node_modules/plotly.js-finance-dist-min/plotly-finance.min.js"
)


@cache
def finance_version() -> str:
    manifest = FINANCE_BUNDLE.parent / "package.json"
    return str(json.loads(manifest.read_text(encoding="utf-8")).get("version", "0"))


def chart_script(spec: dict[str, Any] | None) -> str:
    """The URL of the plotly.js build that draws ``spec``: the small finance bundle when
    it is installed and covers every trace, else the full one."""
    kinds = {str(t.get("type", "scatter")) for t in (spec or {}).get("data", [])}
    if kinds <= FINANCE_TRACES and FINANCE_BUNDLE.is_file():
        return f"{PREFIX}/static/plotly-finance.min.js?v={finance_version()}"
    return f"{PREFIX}/static/plotly.min.js?v={plotly_version()}"


# Which metrics are money, which are ratios: decides how a card is formatted.
MONEY_METRICS = frozenset({"gmv_fen", "aov_fen"})
RATIO_METRICS = frozenset({"conversion", "refund_rate"})


def chart_spec(board: Dashboard, locale: str) -> dict[str, Any]:
    """A plotly figure as plain JSON: GMV bars (yuan) and order/visitor lines."""
    t = translator("console", locale)
    days = [d.isoformat() for d in board.trend.days]
    return {
        "data": [
            {
                "type": "bar",
                "name": t("dashboard.chart.gmv"),
                "x": days,
                "y": [fen / 100 for fen in board.trend.gmv_fen],
                "yaxis": "y2",
                "marker": {"color": "rgba(7,193,96,0.35)"},
                "hovertemplate": "¥%{y:,.2f}<extra></extra>",
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": t("dashboard.chart.visitors"),
                "x": days,
                "y": board.trend.visitors,
                "line": {"color": "#1f6feb"},
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": t("dashboard.chart.orders"),
                "x": days,
                "y": board.trend.orders,
                "line": {"color": "#d4380d"},
            },
        ],
        "layout": {
            "margin": {"l": 48, "r": 64, "t": 16, "b": 40},
            "height": 320,
            "legend": {"orientation": "h", "y": -0.18},
            "font": {"family": 'system-ui, "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif'},
            "xaxis": {"type": "date", "tickformat": "%m-%d"},
            "yaxis": {"title": {"text": t("dashboard.chart.count")}, "rangemode": "tozero"},
            "yaxis2": {
                "title": {"text": t("dashboard.chart.gmv_axis")},
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                "showgrid": False,
            },
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
    }


def tracked_visitors(ctx: AppContext, period: Period, now: datetime) -> TrackedVisitors | None:
    """Tracking's visitors; when the analytics store cannot answer, the dashboard still
    shows (with login-based visitors, and says so) rather than failing."""
    try:
        return count_tracked_visitors(ctx.analytics, period=period, now=now)
    except Exception:
        log.exception("dashboard: the analytics store did not answer; visitors from logins")
        return None


@router.get("/dashboard")
def dashboard_page(
    request: Request, user: Analyst, session: SessionDep, ctx: CtxDep, now: NowDep
) -> HTMLResponse:
    raw = request.query_params.get("period", Period.today.value)
    period = Period(raw) if raw in {p.value for p in Period} else Period.today
    tracked = tracked_visitors(ctx, period, now)
    with session.begin():
        board = load_dashboard(session, period=period, now=now, tracked=tracked)
    locale = request_locale(request)
    # "</" cannot end the inline <script> this JSON is written into.
    spec = chart_spec(board, locale)
    chart = json.dumps(spec, ensure_ascii=False).replace("</", "<\\/")
    return render(
        request,
        "dashboard.html",
        user=user,
        active="dashboard",
        board=board,
        periods=list(Period),
        money_metrics=MONEY_METRICS,
        ratio_metrics=RATIO_METRICS,
        chart_json=chart,
        chart_src=chart_script(spec),
        window_start=format_shanghai(board.current_window.start),
        window_end=format_shanghai(board.current_window.end),
    )
