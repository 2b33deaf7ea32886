"""The sale rehearsal pages (大促压测, ``/console/rehearsals``): the reports
``siyu rehearse`` wrote under ``<data dir>/rehearsals``, newest first, and one report
with its latency percentiles and throughput charts (permission ``analytics.read``).

Selectors: rows ``tr[data-testid=rehearsal-row]`` (``data-id``, ``data-ok``) with
``a[data-testid=rehearsal-link]``; the report page has ``[data-testid=verdict]``
(``data-ok``), ``tr[data-testid=step-row]`` (``data-step``), ``tr[data-testid=count-row]``
(``data-kind``, ``data-locust``, ``data-database``), ``#latency-chart``, ``#throughput-chart``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from siyu.clock import SHANGHAI
from siyu.errors import NotFound
from siyu.rehearse.report import STEPS, list_reports, load_report, reports_dir
from siyu.web.console.analytics.common import chart_json, figure, plain_number, trace
from siyu.web.console.base import PREFIX, has_message, render, request_locale
from siyu.web.console.dashboard import chart_script
from siyu.web.console.security import Analyst
from siyu.web.deps import CtxDep
from siyu.web.i18n import translator

router = APIRouter(prefix=f"{PREFIX}/rehearsals", include_in_schema=False)


def step_label(locale: str, step: str) -> str:
    message_id = f"rehearsal.step.{step}"
    return translator("console", locale)(message_id) if has_message(locale, message_id) else step


def shanghai(text: str) -> str:
    try:
        return datetime.fromisoformat(text).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return "—"


def charts(report: dict[str, Any], locale: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Latency percentiles by step (grouped bars) and requests per second over the run."""
    t = translator("console", locale)
    steps = report["steps"]
    names = [step_label(locale, s["step"]) for s in steps]
    latency = figure(
        [
            trace("bar", label, names, [s.get(key) for s in steps])
            for key, label in (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99"))
        ],
        margin={"l": 56, "r": 24, "t": 16, "b": 64},
        barmode="group",
        yaxis={"title": {"text": t("rehearsal.chart.latency_axis")}, "rangemode": "tozero"},
    )
    timeline = report.get("timeline") or []
    start = timeline[0]["t"] if timeline else 0
    seconds = [p["t"] - start for p in timeline]
    throughput = figure(
        [
            trace(
                "scatter",
                t("rehearsal.chart.rps"),
                seconds,
                [p["rps"] for p in timeline],
                mode="lines+markers",
            ),
            trace(
                "scatter",
                t("rehearsal.chart.failures"),
                seconds,
                [p["failures_per_s"] for p in timeline],
                mode="lines",
            ),
            trace(
                "scatter",
                t("rehearsal.chart.users"),
                seconds,
                [p["users"] for p in timeline],
                mode="lines",
                yaxis="y2",
                line={"dash": "dot"},
            ),
        ],  # fmt: skip
        margin={"l": 56, "r": 56, "t": 16, "b": 48},
        xaxis={"title": {"text": t("rehearsal.chart.seconds")}},
        yaxis={"title": {"text": t("rehearsal.chart.rps_axis")}, "rangemode": "tozero"},
        yaxis2={
            "title": {"text": t("rehearsal.chart.users")},
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
        },
    )
    return latency, throughput


@router.get("")
def rehearsals_page(request: Request, user: Analyst, ctx: CtxDep) -> HTMLResponse:
    reports = list_reports(reports_dir(ctx.settings.data_dir))
    return render(
        request,
        "rehearsals.html",
        user=user,
        active="rehearsals",
        reports=reports,
        when=shanghai,
    )


@router.get("/{run_id}")
def rehearsal_page(run_id: str, request: Request, user: Analyst, ctx: CtxDep) -> HTMLResponse:
    report = load_report(reports_dir(ctx.settings.data_dir), run_id)
    if report is None:
        raise NotFound("rehearsal_not_found", "没有这份压测报告 / No such rehearsal report")
    locale = request_locale(request)
    latency, throughput = charts(report, locale)
    return render(
        request,
        "rehearsal.html",
        user=user,
        active="rehearsals",
        report=report,
        when=shanghai,
        step_label=lambda step: step_label(locale, step),
        plain=plain_number,
        known_steps=STEPS,
        latency_json=chart_json(latency),
        throughput_json=chart_json(throughput),
        chart_src=chart_script(latency),
    )
