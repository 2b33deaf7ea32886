"""Funnel (with drop-off persons), retention cohorts and page paths: GET forms in the
query string (Shanghai calendar days), a plotly chart, a table and a CSV export.

Routes: ``/console/analytics/funnel`` (+ ``/funnel/dropoff.csv``), ``/retention``
(+ ``/retention.csv``), ``/paths`` (+ ``/paths.csv``, a Sankey of page paths).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from siyu.analytics.queries.base import EventFilter
from siyu.analytics.queries.funnel import (
    FunnelBreakdown,
    FunnelQuery,
    FunnelResult,
    FunnelRunner,
    persons_csv,
)
from siyu.analytics.queries.paths import PathsQuery, PathsResult, PathsRunner
from siyu.analytics.queries.retention import RetentionQuery, RetentionResult, RetentionRunner
from siyu.events import STORE_FUNNEL, display_name
from siyu.web.console.analytics.common import (
    Analyst,
    FormState,
    bad_request,
    base_layout,
    chart_json,
    console_t,
    csv_response,
    csv_text,
    format_seconds,
    known_events,
    query_string,
    read_choice,
    read_day_range,
    read_int,
    read_property_filter,
    required,
    tab_page,
)
from siyu.web.console.base import PREFIX, request_locale
from siyu.web.deps import CtxDep, NowDep
from siyu.web.i18n import Translator

router = APIRouter(prefix=f"{PREFIX}/analytics", include_in_schema=False)

MIN_STEPS, MAX_STEPS = 2, 6
WINDOW_UNITS = ("hour", "day")
BREAKDOWNS = ("", "channel")
RETENTION_TYPES = ("recurring", "first_time")
PERIODS = ("day", "week")


# ------------------------------------------------------------------------- funnel


@dataclass(frozen=True)
class FunnelForm:
    query: FunnelQuery
    total: FunnelQuery  # the same funnel without a breakdown (drop-offs are over everyone)


def read_funnel(
    request: Request, state: FormState, t: Translator, now: Any, events: list[str]
) -> FunnelForm | None:
    days = read_day_range(request, state, t, now, default_days=7)
    steps = [s.strip() for s in request.query_params.getlist("step") if s.strip()]
    state.values["steps"] = steps
    if not MIN_STEPS <= len(steps) <= MAX_STEPS:
        state.errors["step"] = t("analytics.error.steps", low=MIN_STEPS, high=MAX_STEPS)
    elif any(s not in events for s in steps):
        state.errors["step"] = t("analytics.error.unknown_event")
    window = read_int(request, state, t, "window", 14, 1, 365)
    unit = read_choice(request, state, t, "window_unit", WINDOW_UNITS, "day")
    breakdown = read_choice(request, state, t, "breakdown", BREAKDOWNS, "")
    properties = read_property_filter(request, state, t)
    if state.errors or days is None:
        return None
    common: dict[str, Any] = {
        "date_from": days.start,
        "date_to": days.end,
        "steps": tuple(EventFilter(event=s) for s in steps),
        "window_interval": window,
        "window_unit": unit,
        "properties": properties,
    }
    try:
        total = FunnelQuery(**common)
        query = FunnelQuery(
            **common, breakdown=FunnelBreakdown(type="channel") if breakdown else None
        )
    except ValidationError:
        state.errors["_form"] = t("analytics.error.invalid")
        return None
    return FunnelForm(query, total)


def funnel_chart(
    result: FunnelResult, total: FunnelResult, t: Translator, locale: str
) -> dict[str, Any]:
    """A plotly funnel: one trace for everyone, or one per channel with a breakdown."""
    traces = []
    by_channel = bool(result.series) and result.series[0].breakdown_value is not None
    for s in result.series if by_channel else total.series:
        if by_channel:
            name = s.breakdown_value or t("analytics.funnel.no_channel")
        else:
            name = t("analytics.funnel.persons")
        traces.append(
            {
                "type": "funnel",
                "name": name,
                "y": [f"{step.order}. {display_name(step.event, locale)}" for step in s.steps],
                "x": [step.count for step in s.steps],
                "textinfo": "value+percent initial",
            }
        )
    layout = base_layout(height=max(260, 64 * len(total.series[0].steps)))
    layout["funnelmode"] = "group"
    return {"data": traces, "layout": layout}


def _funnel_pairs(request: Request) -> list[tuple[str, str]]:
    """The funnel's own query (without any drop-off selection) as pairs."""
    return [(k, v) for k, v in request.query_params.multi_items() if k != "dropoff"]


@router.get("/funnel", response_model=None)
def funnel_page(
    request: Request, user: Analyst, ctx: CtxDep, now: NowDep
) -> HTMLResponse | RedirectResponse:
    t = console_t(request)
    store = ctx.analytics
    events = known_events(store)
    state = FormState()
    submitted = "step" in request.query_params
    default = [name for name in STORE_FUNNEL if name in events]
    if not submitted and len(default) >= MIN_STEPS:
        # The first visit opens on the store's funnel, as a link the operator can keep.
        pairs = [*request.query_params.multi_items(), *(("step", name) for name in default)]
        return RedirectResponse(f"{request.url.path}?{query_string(pairs)}", 303)
    form = read_funnel(request, state, t, now, events) if submitted else None
    if not submitted:  # the first visit: an empty form with the default dates
        read_day_range(request, state, t, now, default_days=7)
        state.errors.clear()
    result: FunnelResult | None = None
    total: FunnelResult | None = None
    dropoff: int | None = None
    dropoff_persons: list[str] = []
    if form is not None:
        total = FunnelRunner(form.total, database=store.database).run(store)
        result = (
            FunnelRunner(form.query, database=store.database).run(store)
            if form.query.breakdown
            else total
        )
        raw = request.query_params.get("dropoff")
        if raw:
            n = len(form.total.steps)
            if raw.isdigit() and 2 <= int(raw) <= n:
                dropoff = int(raw)
                dropoff_persons = FunnelRunner(form.total, database=store.database).persons_at_step(
                    store, dropoff
                )
            else:
                state.errors["dropoff"] = t("analytics.error.dropoff", high=n)
    base_qs = query_string(_funnel_pairs(request))
    chart = (
        chart_json(funnel_chart(result, total, t, request_locale(request)))
        if result is not None and total is not None and total.series
        else None
    )
    return tab_page(
        request,
        user,
        "funnel",
        state,
        events=events,
        max_steps=MAX_STEPS,
        window_units=WINDOW_UNITS,
        result=result,
        total=total,
        breakdown=bool(form and form.query.breakdown),
        base_qs=base_qs,
        dropoff=dropoff,
        dropoff_persons=dropoff_persons,
        chart_json=chart,
        seconds=format_seconds,
    )


@router.get("/funnel/dropoff.csv")
def funnel_dropoff_csv(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> Response:
    t = console_t(request)
    store = ctx.analytics
    form = required(read_funnel, request, now, known_events(store))
    raw = request.query_params.get("dropoff", "")
    n = len(form.total.steps)
    if not raw.isdigit() or not 2 <= int(raw) <= n:
        raise bad_request(t("analytics.error.dropoff", high=n))
    step = int(raw)
    persons = FunnelRunner(form.total, database=store.database).persons_at_step(store, step)
    return csv_response(persons_csv(persons), f"funnel-dropoff-step-{step}.csv")


# ---------------------------------------------------------------------- retention


def read_retention(
    request: Request, state: FormState, t: Translator, now: Any, events: list[str]
) -> RetentionQuery | None:
    days = read_day_range(request, state, t, now, default_days=14)
    names = {}
    for name in ("target_event", "returning_event"):
        value = (request.query_params.get(name) or "").strip()
        state.values[name] = value
        if not value:
            state.errors[name] = t("analytics.error.required")
        elif value not in events:
            state.errors[name] = t("analytics.error.unknown_event")
        names[name] = value
    retention_type = read_choice(request, state, t, "retention_type", RETENTION_TYPES, "recurring")
    period = read_choice(request, state, t, "period", PERIODS, "day")
    intervals = read_int(request, state, t, "intervals", 8, 1, 60)
    properties = read_property_filter(request, state, t)
    if state.errors or days is None:
        return None
    try:
        return RetentionQuery(
            date_from=days.start,
            date_to=days.end,
            target_event=EventFilter(event=names["target_event"]),
            returning_event=EventFilter(event=names["returning_event"]),
            retention_type=retention_type,  # type: ignore[arg-type]
            period=period,  # type: ignore[arg-type]
            total_intervals=intervals,
            properties=properties,
        )
    except ValidationError:
        state.errors["_form"] = t("analytics.error.invalid")
        return None


def heat(percentage: float) -> str:
    """A cell's background: darker green for a higher share (readable text either way)."""
    alpha = 0.08 + 0.8 * max(0.0, min(percentage, 100.0)) / 100
    return f"background-color: rgba(7,193,96,{alpha:.2f})"


@router.get("/retention")
def retention_page(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> HTMLResponse:
    t = console_t(request)
    store = ctx.analytics
    events = known_events(store)
    state = FormState()
    submitted = "target_event" in request.query_params
    query = read_retention(request, state, t, now, events) if submitted else None
    if not submitted:  # the first visit: an empty form with the defaults
        read_day_range(request, state, t, now, default_days=14)
        state.errors.clear()
        state.values.setdefault("retention_type", "recurring")
        state.values.setdefault("period", "day")
    result: RetentionResult | None = None
    if query is not None:
        result = RetentionRunner(query, database=store.database).run(store)
    offsets = max((len(c.values) for c in result.cohorts), default=0) if result else 0
    return tab_page(
        request,
        user,
        "retention",
        state,
        events=events,
        retention_types=RETENTION_TYPES,
        periods=PERIODS,
        result=result,
        offsets=offsets,
        heat=heat,
    )


@router.get("/retention.csv")
def retention_csv(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> Response:
    store = ctx.analytics
    query = required(read_retention, request, now, known_events(store))
    result = RetentionRunner(query, database=store.database).run(store)
    rows = [
        (c.period_start.isoformat(), c.size, cell.offset, cell.count, f"{cell.percentage:.2f}")
        for c in result.cohorts
        for cell in c.values
    ]
    text = csv_text(["cohort_start", "cohort_size", "offset", "persons", "percentage"], rows)
    return csv_response(text, "retention.csv")


# -------------------------------------------------------------------------- paths

PAGE_MAX = 300


def read_paths(request: Request, state: FormState, t: Translator, now: Any) -> PathsQuery | None:
    days = read_day_range(request, state, t, now, default_days=7)
    anchors: dict[str, str | None] = {}
    for name in ("start_page", "end_page"):
        value = (request.query_params.get(name) or "").strip()
        state.values[name] = value
        if len(value) > PAGE_MAX:
            state.errors[name] = t("analytics.error.too_long")
        anchors[name] = value or None
    if anchors["start_page"] and anchors["end_page"]:
        state.errors["end_page"] = t("analytics.error.one_anchor")
    steps = read_int(request, state, t, "step_limit", 5, 2, 10)
    if state.errors or days is None:
        return None
    return PathsQuery(
        date_from=days.start,
        date_to=days.end,
        start_page=anchors["start_page"],
        end_page=anchors["end_page"],
        step_limit=steps,
    )


def sankey_chart(result: PathsResult, t: Translator) -> dict[str, Any]:
    index = {node.name: i for i, node in enumerate(result.nodes)}
    links = [link for link in result.links if link.source in index and link.target in index]
    layout = base_layout(height=460)
    layout["margin"] = {"l": 16, "r": 16, "t": 16, "b": 16}
    return {
        "data": [
            {
                "type": "sankey",
                "arrangement": "snap",
                "node": {
                    "label": [f"{n.step}. {n.page}" for n in result.nodes],
                    "pad": 14,
                    "thickness": 14,
                    "color": "rgba(7,193,96,0.75)",
                },
                "link": {
                    "source": [index[link.source] for link in links],
                    "target": [index[link.target] for link in links],
                    "value": [link.value for link in links],
                    "color": "rgba(31,111,235,0.25)",
                },
            }
        ],
        "layout": layout,
    }


@router.get("/paths")
def paths_page(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> HTMLResponse:
    t = console_t(request)
    state = FormState()
    query = read_paths(request, state, t, now)
    result: PathsResult | None = None
    if query is not None:
        result = PathsRunner(query, database=ctx.analytics.database).run(ctx.analytics)
    chart = chart_json(sankey_chart(result, t)) if result and result.links else None
    return tab_page(request, user, "paths", state, result=result, chart_json=chart)


@router.get("/paths.csv")
def paths_csv(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> Response:
    query = required(read_paths, request, now)
    result = PathsRunner(query, database=ctx.analytics.database).run(ctx.analytics)
    rows = [(link.step, link.source, link.target, link.value) for link in result.links]
    return csv_response(csv_text(["step", "source", "target", "sessions"], rows), "paths.csv")
