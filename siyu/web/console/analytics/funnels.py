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
from siyu.analytics.queries.retention import RetentionQuery, RetentionRunner
from siyu.events import PAGE_VIEW, STORE_FUNNEL, display_name, page_name
from siyu.web.console.analytics.common import (
    Analyst,
    QueryForm,
    bad_request,
    channel_name,
    console_t,
    csv_download,
    csv_response,
    figure,
    known_events,
    query_string,
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


def read_funnel(form: QueryForm, events: list[str]) -> FunnelForm | None:
    t = form.t
    days = form.day_range(default_days=7)
    steps = [s.strip() for s in form.params.getlist("step") if s.strip()]
    form.values["steps"] = steps
    if not MIN_STEPS <= len(steps) <= MAX_STEPS:
        form.errors["step"] = t("analytics.error.steps", low=MIN_STEPS, high=MAX_STEPS)
    elif any(s not in events for s in steps):
        form.errors["step"] = t("analytics.error.unknown_event")
    window = form.number("window", 14, 1, 365)
    unit = form.choice("window_unit", WINDOW_UNITS, "day")
    breakdown = form.choice("breakdown", BREAKDOWNS, "")
    properties = form.property_filter()
    if form.errors or days is None:
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
        form.invalid()
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
            name = channel_name(s.breakdown_value or "", locale) or t("analytics.funnel.no_channel")
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
    return figure(traces, height=max(260, 64 * len(total.series[0].steps)), funnelmode="group")


def _funnel_pairs(request: Request) -> list[tuple[str, str]]:
    """The funnel's own query (without any drop-off selection) as pairs."""
    return [(k, v) for k, v in request.query_params.multi_items() if k != "dropoff"]


@router.get("/funnel", response_model=None)
def funnel_page(
    request: Request, user: Analyst, ctx: CtxDep, now: NowDep
) -> HTMLResponse | RedirectResponse:
    store = ctx.analytics
    events = known_events(store)
    state = QueryForm(request, now)
    t = state.t
    submitted = "step" in request.query_params
    default = [name for name in STORE_FUNNEL if name in events]
    if not submitted and len(default) >= MIN_STEPS:
        # The first visit opens on the store's funnel, as a link the operator can keep.
        pairs = [*request.query_params.multi_items(), *(("step", name) for name in default)]
        return RedirectResponse(f"{request.url.path}?{query_string(pairs)}", 303)
    form = read_funnel(state, events) if submitted else None
    if not submitted:  # the first visit: an empty form with the default dates
        state.day_range(default_days=7)
        state.errors.clear()
    result: FunnelResult | None = None
    total: FunnelResult | None = None
    dropoff: int | None = None
    dropoff_persons: list[str] = []
    if form is not None:
        total = FunnelRunner.run_on(form.total, store)
        result = FunnelRunner.run_on(form.query, store) if form.query.breakdown else total
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
    return tab_page(
        request,
        user,
        "funnel",
        state,
        funnel_chart(result, total, t, request_locale(request))
        if result is not None and total is not None and total.series
        else None,
        events=events,
        max_steps=MAX_STEPS,
        window_units=WINDOW_UNITS,
        result=result,
        total=total,
        breakdown=bool(form and form.query.breakdown),
        base_qs=query_string(_funnel_pairs(request)),
        dropoff=dropoff,
        dropoff_persons=dropoff_persons,
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


def read_retention(form: QueryForm, events: list[str]) -> RetentionQuery | None:
    days = form.day_range(default_days=14)
    names = {}
    for name in ("target_event", "returning_event"):
        value = form.text(name)
        if not value:
            form.errors[name] = form.t("analytics.error.required")
        elif value not in events:
            form.errors[name] = form.t("analytics.error.unknown_event")
        names[name] = value
    retention_type = form.choice("retention_type", RETENTION_TYPES, "recurring")
    period = form.choice("period", PERIODS, "day")
    intervals = form.number("intervals", 8, 1, 60)
    properties = form.property_filter()
    if form.errors or days is None:
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
        form.invalid()
        return None


def default_retention_event(events: list[str]) -> str | None:
    """What retention opens on: page views coming back as page views, else the first
    of the store's funnel events the store has, else any event it has."""
    return next((name for name in (PAGE_VIEW, *STORE_FUNNEL) if name in events), None) or (
        events[0] if events else None
    )


@router.get("/retention", response_model=None)
def retention_page(
    request: Request, user: Analyst, ctx: CtxDep, now: NowDep
) -> HTMLResponse | RedirectResponse:
    store = ctx.analytics
    events = known_events(store)
    state = QueryForm(request, now)
    submitted = "target_event" in request.query_params
    default = default_retention_event(events)
    if not submitted and default is not None:
        # The first visit opens on a query with results, as a link the operator can keep.
        pairs = [
            *request.query_params.multi_items(),
            ("target_event", default),
            ("returning_event", default),
        ]
        return RedirectResponse(f"{request.url.path}?{query_string(pairs)}", 303)
    query = read_retention(state, events) if submitted else None
    if not submitted:  # the first visit: an empty form with the defaults
        state.day_range(default_days=14)
        state.errors.clear()
        state.values.setdefault("retention_type", "recurring")
        state.values.setdefault("period", "day")
    result = RetentionRunner.run_on(query, store) if query is not None else None
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
    )


@router.get("/retention.csv")
def retention_csv(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> Response:
    store = ctx.analytics
    query = required(read_retention, request, now, known_events(store))
    result = RetentionRunner.run_on(query, store)
    rows = [
        (c.period_start.isoformat(), c.size, cell.offset, cell.count, f"{cell.percentage:.2f}")
        for c in result.cohorts
        for cell in c.values
    ]
    header = ["cohort_start", "cohort_size", "offset", "persons", "percentage"]
    return csv_download("retention.csv", header, rows)


# -------------------------------------------------------------------------- paths

PAGE_MAX = 300


def read_paths(form: QueryForm) -> PathsQuery | None:
    days = form.day_range(default_days=7)
    anchors: dict[str, str | None] = {}
    for name in ("start_page", "end_page"):
        value = form.text(name)
        if len(value) > PAGE_MAX:
            form.errors[name] = form.t("analytics.error.too_long")
        anchors[name] = value or None
    if anchors["start_page"] and anchors["end_page"]:
        form.errors["end_page"] = form.t("analytics.error.one_anchor")
    steps = form.number("step_limit", 5, 2, 10)
    if form.errors or days is None:
        return None
    return PathsQuery(
        date_from=days.start,
        date_to=days.end,
        start_page=anchors["start_page"],
        end_page=anchors["end_page"],
        step_limit=steps,
    )


def sankey_chart(result: PathsResult, locale: str) -> dict[str, Any]:
    index = {node.name: i for i, node in enumerate(result.nodes)}
    links = [link for link in result.links if link.source in index and link.target in index]
    sankey = {
        "type": "sankey",
        "arrangement": "snap",
        "node": {
            "label": [f"{n.step}. {page_name(n.page, locale)}" for n in result.nodes],
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
    return figure([sankey], height=460, margin={"l": 16, "r": 16, "t": 16, "b": 16})


@router.get("/paths")
def paths_page(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> HTMLResponse:
    state = QueryForm(request, now)
    query = read_paths(state)
    result = PathsRunner.run_on(query, ctx.analytics) if query is not None else None
    locale = request_locale(request)
    chart = sankey_chart(result, locale) if result and result.links else None
    pages = {n.name: n.page for n in result.nodes} if result else {}
    return tab_page(
        request,
        user,
        "paths",
        state,
        chart,
        result=result,
        node_page=lambda node: page_name(pages.get(node) or node.partition("_")[2], locale),
    )


@router.get("/paths.csv")
def paths_csv(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> Response:
    query = required(read_paths, request, now)
    result = PathsRunner.run_on(query, ctx.analytics)
    rows = [(link.step, link.source, link.target, link.value) for link in result.links]
    return csv_download("paths.csv", ["step", "source", "target", "sessions"], rows)
