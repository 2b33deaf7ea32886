"""Sales pages: repurchase rate with cohort LTV (+ ``/repurchase.csv``), the product
portfolio against 20/60/20 (+ ``/portfolio.csv``) and customer lifetime value over the
next N days (+ ``/clv.csv``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from siyu.analytics.queries.clv import (
    CLV_MIN_CUSTOMERS,
    CLV_MIN_HISTORY_DAYS,
    CLV_MIN_REPEAT,
    ClvQuery,
    ClvResult,
    run_clv,
)
from siyu.analytics.queries.portfolio import PortfolioQuery, PortfolioResult, PortfolioRunner
from siyu.analytics.queries.repurchase import RepurchaseQuery, RepurchaseResult, RepurchaseRunner
from siyu.web.console.analytics.common import (
    Analyst,
    QueryForm,
    bad_request,
    console_t,
    csv_download,
    figure,
    fixed,
    heat,
    required,
    shopper_namer,
    tab_page,
    trace,
)
from siyu.web.console.base import PREFIX
from siyu.web.deps import CtxDep, NowDep, SessionDep
from siyu.web.i18n import Translator

router = APIRouter(prefix=f"{PREFIX}/analytics", include_in_schema=False)


# --------------------------------------------------------------------- repurchase


def read_repurchase(form: QueryForm) -> RepurchaseQuery | None:
    days = form.day_range(default_days=180)
    months = form.number("months", 12, 1, 36)
    properties = form.property_filter()
    if form.errors or days is None:
        return None
    return RepurchaseQuery(
        date_from=days.start, date_to=days.end, months=months, properties=properties
    )


def ltv_chart(result: RepurchaseResult, t: Translator) -> dict[str, Any]:
    lines = [
        trace(
            "scatter",
            f"{c.month:%Y-%m} ({c.buyers})",
            list(range(len(c.ltv_fen))),
            [round(v / 100, 2) for v in c.ltv_fen],
            mode="lines+markers",
            hovertemplate="¥%{y:,.2f}<extra>%{fullData.name}</extra>",
        )
        for c in result.cohorts
    ]
    return figure(
        lines,
        margin={"l": 64, "r": 24, "t": 16, "b": 40},
        xaxis={"title": {"text": t("analytics.repurchase.month_offset")}, "dtick": 1},
        yaxis={"title": {"text": t("analytics.repurchase.ltv_axis")}, "rangemode": "tozero"},
    )


@router.get("/repurchase")
def repurchase_page(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> HTMLResponse:
    state = QueryForm(request, now)
    query = read_repurchase(state)
    result = RepurchaseRunner.run_on(query, ctx.analytics) if query is not None else None
    offsets = max((len(c.ltv_fen) for c in result.cohorts), default=0) if result else 0
    top = max((v for c in result.cohorts for v in c.ltv_fen), default=0.0) if result else 0.0
    return tab_page(
        request,
        user,
        "repurchase",
        state,
        ltv_chart(result, state.t) if result and result.cohorts else None,
        result=result,
        offsets=offsets,
        ltv_heat=lambda v: heat(100 * v / top if top > 0 else 0.0),
    )


@router.get("/repurchase.csv")
def repurchase_csv(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> Response:
    query = required(read_repurchase, request, now)
    result = RepurchaseRunner.run_on(query, ctx.analytics)
    rows = [
        (c.month.isoformat(), c.buyers, offset, f"{value:.2f}")
        for c in result.cohorts
        for offset, value in enumerate(c.ltv_fen)
    ]
    header = ["cohort_month", "buyers", "month_offset", "ltv_fen"]
    return csv_download("repurchase-ltv.csv", header, rows)


# ---------------------------------------------------------------------- portfolio


def read_portfolio(form: QueryForm) -> PortfolioQuery | None:
    days = form.day_range(default_days=30)
    if form.errors or days is None:
        return None
    return PortfolioQuery(date_from=days.start, date_to=days.end)


def run_portfolio(query: PortfolioQuery, session: Any) -> PortfolioResult:
    with session.begin():
        return PortfolioRunner(query).run(session)


def portfolio_chart(result: PortfolioResult, t: Translator) -> dict[str, Any]:
    roles = [t(f"product.role.{r.role.value}") for r in result.roles]

    def bars(name: str, values: list[float], color: str) -> dict[str, Any]:
        return trace(
            "bar",
            name,
            roles,
            values,
            marker={"color": color},
            hovertemplate="%{y:.2f}%<extra>%{fullData.name}</extra>",
        )

    return figure(
        [
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
        margin={"l": 48, "r": 24, "t": 16, "b": 40},
        barmode="group",
        yaxis={"ticksuffix": "%", "rangemode": "tozero"},
    )


@router.get("/portfolio")
def portfolio_page(
    request: Request, user: Analyst, session: SessionDep, now: NowDep
) -> HTMLResponse:
    state = QueryForm(request, now)
    query = read_portfolio(state)
    result = run_portfolio(query, session) if query is not None else None
    chart = portfolio_chart(result, state.t) if result and result.sales_fen else None
    return tab_page(request, user, "portfolio", state, chart, result=result)


@router.get("/portfolio.csv")
def portfolio_csv(request: Request, user: Analyst, session: SessionDep, now: NowDep) -> Response:
    query = required(read_portfolio, request, now)
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
    return csv_download("portfolio.csv", header, rows)


# ---------------------------------------------------------------------------- CLV

CLV_TABLE_LIMIT = 50
CLV_CHART_LIMIT = 20


def read_clv(form: QueryForm) -> ClvQuery | None:
    days = form.day_range(default_days=365)
    horizon = form.number("horizon", 90, 1, 730)
    if form.errors or days is None:
        return None
    return ClvQuery(days.start, days.end, horizon)


DEGENERATE_REASONS = ("rates", "spend", "predictions")


def clv_problem_text(result: ClvResult, t: Translator) -> str:
    if result.problem == "analytics.clv.degenerate":
        how = result.degenerate if result.degenerate in DEGENERATE_REASONS else "other"
        return " ".join(
            (
                t(f"analytics.clv.degenerate.{how}"),
                t(
                    "analytics.clv.degenerate.more"
                    if result.repeat_customers >= CLV_MIN_REPEAT
                    and result.history_days >= CLV_MIN_HISTORY_DAYS
                    else "analytics.clv.degenerate.needed",
                    min_repeat=CLV_MIN_REPEAT,
                    min_days=CLV_MIN_HISTORY_DAYS,
                    repeat=result.repeat_customers,
                    days=result.history_days,
                ),
            )
        )
    if result.problem == "analytics.clv.too_little":
        return t(
            "analytics.clv.too_little",
            n=result.customers_seen,
            repeat=result.repeat_customers,
            min=CLV_MIN_CUSTOMERS,
            min_repeat=CLV_MIN_REPEAT,
        )
    return t("analytics.clv.no_fit")


def clv_chart(result: ClvResult, t: Translator, name: Callable[[int], str]) -> dict[str, Any]:
    top = [c for c in result.customers if c.clv_fen is not None][:CLV_CHART_LIMIT]
    labels = [name(c.shopper_id) for c in top]
    # a category axis merges equal labels: two shoppers of one nickname keep their ids
    labels = [
        f"{label} (#{c.shopper_id})" if labels.count(label) > 1 else label
        for label, c in zip(labels, top, strict=True)
    ]
    bars = trace(
        "bar",
        t("analytics.clv.clv"),
        labels,
        [round((c.clv_fen or 0.0) / 100, 2) for c in top],
        marker={"color": "rgba(7,193,96,0.7)"},
        hovertemplate="¥%{y:,.2f}<extra></extra>",
    )
    return figure(
        [bars],
        margin={"l": 64, "r": 24, "t": 16, "b": 56},
        xaxis={"type": "category", "title": {"text": t("analytics.clv.shopper")}},
        yaxis={"title": {"text": t("analytics.clv.value_axis")}, "rangemode": "tozero"},
    )


@router.get("/clv")
def clv_page(
    request: Request, user: Analyst, ctx: CtxDep, session: SessionDep, now: NowDep
) -> HTMLResponse:
    state = QueryForm(request, now)
    t = state.t
    query = read_clv(state)
    result = run_clv(query, ctx.analytics, now) if query is not None else None
    customers = result.customers[:CLV_TABLE_LIMIT] if result else ()
    shown = [c.shopper_id for c in (result.customers[:CLV_CHART_LIMIT] if result else ())]
    name = shopper_namer(session, ctx.cipher, [*shown, *(c.shopper_id for c in customers)], t)
    return tab_page(
        request,
        user,
        "clv",
        state,
        clv_chart(result, t, name) if result and result.customers else None,
        form=query,
        result=result,
        customers=customers,
        shopper_name=name,
        one_time=sum(1 for c in result.customers if c.one_time) if result else 0,
        table_limit=CLV_TABLE_LIMIT,
        problem_text=clv_problem_text(result, t) if result and result.problem else None,
    )


@router.get("/clv.csv")
def clv_csv(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> Response:
    t = console_t(request)
    query = required(read_clv, request, now)
    result = run_clv(query, ctx.analytics, now)
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
            fixed(c.expected_order_value_fen, 2),
            fixed(c.clv_fen, 2),
        )
        for c in result.customers
    ]
    return csv_download(f"clv-{query.horizon}d.csv", header, rows)
