"""Loyalty (会员与积分), read from the store: points issued, spent, expired and reversed
with the outstanding liability, shoppers per tier over time, check-in retention and
streaks, and the repurchase rate of members against non-members
(``siyu.analytics.queries.loyalty`` has every definition).

Routes: ``/console/analytics/loyalty`` and one CSV per table,
``/console/analytics/loyalty/{points,tiers,checkins,streaks,repurchase}.csv``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from siyu.analytics.queries.loyalty import (
    DEFAULT_MEMBER_LEVEL,
    LoyaltyReport,
    Period,
    loyalty_report,
)
from siyu.errors import NotFound
from siyu.loyalty.tiers.program import load_program
from siyu.loyalty.tiers.rules import TierRule
from siyu.web.console.analytics.common import (
    Analyst,
    QueryForm,
    chart_json,
    csv_download,
    figure,
    fixed,
    required,
    tab_page,
    trace,
)
from siyu.web.console.base import PREFIX, request_locale
from siyu.web.deps import CtxDep, NowDep, SessionDep
from siyu.web.i18n import Translator

router = APIRouter(prefix=f"{PREFIX}/analytics", include_in_schema=False)

PERIODS = ("day", "week")
MAX_CHECKIN_DAYS = 30
MAX_LEVEL = 20
CSV_SECTIONS = ("points", "tiers", "checkins", "streaks", "repurchase")


@dataclass(frozen=True)
class LoyaltyForm:
    date_from: datetime
    date_to: datetime
    period: Period
    checkin_days: int
    member_level: int


def read_loyalty(form: QueryForm) -> LoyaltyForm | None:
    days = form.day_range(default_days=30)
    period = form.choice("period", PERIODS, "day")
    checkin_days = form.number("checkin_days", 7, 1, MAX_CHECKIN_DAYS)
    member_level = form.number("member_level", DEFAULT_MEMBER_LEVEL, 1, MAX_LEVEL)
    if form.errors or days is None:
        return None
    return LoyaltyForm(days.start, days.end, period, checkin_days, member_level)  # type: ignore[arg-type]


def run_loyalty(
    form: LoyaltyForm, session: Any, points_per_yuan: int, now: datetime
) -> tuple[LoyaltyReport, tuple[TierRule, ...]]:
    with session.begin():
        tiers = load_program(session).tiers
        report = loyalty_report(
            session,
            form.date_from,
            form.date_to,
            now,
            period=form.period,
            points_per_yuan=points_per_yuan,
            checkin_days=form.checkin_days,
            member_level=form.member_level,
            levels=[t.level for t in tiers],
        )
    return report, tiers


def tier_namer(tiers: Sequence[TierRule], locale: str, t: Translator) -> Callable[[int], str]:
    names = {
        tier.level: tier.name_en if locale.startswith("en") else tier.name_zh for tier in tiers
    }
    return lambda level: names.get(level) or t("analytics.loyalty.level_n", n=level)


def english_namer(tiers: Sequence[TierRule]) -> Callable[[int], str]:
    names = {tier.level: tier.name_en for tier in tiers}
    return lambda level: names.get(level) or f"Level {level}"


def points_chart(report: LoyaltyReport, t: Translator) -> dict[str, Any]:
    rows = report.points.periods
    x = [p.first.isoformat() for p in rows]

    def bars(key: str, values: list[int], color: str) -> dict[str, Any]:
        return trace(
            "bar",
            t(f"analytics.loyalty.{key}"),
            x,
            values,
            marker={"color": color},
            hovertemplate="%{y:,}<extra>%{fullData.name}</extra>",
        )

    data = [
        bars("issued", [p.issued for p in rows], "rgba(7,193,96,0.7)"),
        bars("spent", [-p.spent for p in rows], "rgba(31,111,235,0.6)"),
        bars("expired", [-p.expired for p in rows], "rgba(207,34,46,0.55)"),
        bars("reversed", [-p.reversed for p in rows], "rgba(191,135,0,0.6)"),
        trace(
            "scatter",
            t("analytics.loyalty.outstanding"),
            x,
            [p.outstanding for p in rows],
            mode="lines+markers",
            yaxis="y2",
            line={"color": "rgba(89,99,110,0.9)"},
            hovertemplate="%{y:,}<extra>%{fullData.name}</extra>",
        ),
    ]
    return figure(
        data,
        margin={"l": 64, "r": 64, "t": 16, "b": 40},
        barmode="relative",
        xaxis={"type": "category"},
        yaxis={"title": {"text": t("analytics.loyalty.points_axis")}, "tickformat": ",d"},
        yaxis2={
            "title": {"text": t("analytics.loyalty.outstanding")},
            "tickformat": ",d",
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
        },
    )


def tiers_chart(report: LoyaltyReport, name: Callable[[int], str]) -> dict[str, Any]:
    rows = report.tiers.periods
    x = [p.first.isoformat() for p in rows]
    data = [
        trace(
            "bar",
            name(level),
            x,
            [p.shoppers.get(level, 0) for p in rows],
            hovertemplate="%{y:,}<extra>%{fullData.name}</extra>",
        )
        for level in report.tiers.levels
    ]
    return figure(
        data,
        margin={"l": 64, "r": 24, "t": 16, "b": 40},
        barmode="stack",
        xaxis={"type": "category"},
        yaxis={"rangemode": "tozero", "tickformat": ",d"},
    )


@router.get("/loyalty")
def loyalty_page(
    request: Request, user: Analyst, ctx: CtxDep, session: SessionDep, now: NowDep
) -> HTMLResponse:
    state = QueryForm(request, now)
    form = read_loyalty(state)
    report, tiers = (
        run_loyalty(form, session, ctx.settings.points_per_yuan, now)
        if form is not None
        else (None, ())
    )
    name = tier_namer(tiers, request_locale(request), state.t)
    chart = points_chart(report, state.t) if report and report.points.periods else None
    tier_chart = tiers_chart(report, name) if report and report.tiers.periods else None
    return tab_page(
        request,
        user,
        "loyalty",
        state,
        chart,
        result=report,
        periods=PERIODS,
        tier_name=name,
        member_level=form.member_level if form else DEFAULT_MEMBER_LEVEL,
        tier_chart_json=chart_json(tier_chart) if tier_chart else None,
        points_per_yuan=ctx.settings.points_per_yuan,
    )


def _csv_rows(
    section: str, report: LoyaltyReport, name: Callable[[int], str]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    header: list[str]
    rows: list[tuple[Any, ...]]
    if section == "points":
        header = [
            "period_start", "as_of", "issued", "reversed", "spent", "returned", "expired",
            "net", "available", "pending", "outstanding", "outstanding_fen",
        ]  # fmt: skip
        rows = [
            (
                p.first.isoformat(),
                p.as_of.isoformat(),
                p.issued,
                p.reversed,
                p.spent,
                p.returned,
                p.expired,
                p.net,
                p.available,
                p.pending,
                p.outstanding,
                "" if p.outstanding_fen is None else p.outstanding_fen,
            )  # fmt: skip
            for p in report.points.periods
        ]
        return header, rows
    if section == "tiers":
        levels = report.tiers.levels
        header = ["period_start", "as_of", *(f"level_{level}" for level in levels), "total"]
        rows = [
            (p.first.isoformat(), p.as_of.isoformat(), *(p.shoppers[lv] for lv in levels), p.total)
            for p in report.tiers.periods
        ]
        return header, rows
    if section == "checkins":
        n = report.checkin.days
        header = ["cohort", "shoppers"]
        for k in range(1, n + 1):
            header += [f"day_{k}_reached", f"day_{k}_returned", f"day_{k}_kept"]
        cohorts = list(report.checkin.cohorts)
        if report.checkin.overall is not None:
            cohorts.append(report.checkin.overall)
        rows = []
        for i, c in enumerate(cohorts):
            label = "all" if i == len(report.checkin.cohorts) else c.first.isoformat()
            row: list[Any] = [label, c.shoppers]
            for k in range(n):
                row += [
                    c.reached[k],
                    "" if c.returned[k] is None else c.returned[k],
                    "" if c.kept[k] is None else c.kept[k],
                ]
            rows.append(tuple(row))
        return header, rows
    if section == "streaks":
        header = ["days_from", "days_to", "streaks", "share"]
        rows = [
            (b.low, "" if b.high is None else b.high, b.streaks, fixed(b.share, 2))
            for b in report.checkin.streaks
        ]
        return header, rows
    r = report.repurchase
    header = ["group", "level", "buyers", "repeat_buyers", "orders", "repurchase_rate"]
    rows = [
        ("members", f">={r.member_level}", r.members.buyers, r.members.repeat_buyers,
         r.members.orders, fixed(r.members.rate, 2)),
        ("non_members", f"<{r.member_level}", r.non_members.buyers,
         r.non_members.repeat_buyers, r.non_members.orders, fixed(r.non_members.rate, 2)),
    ]  # fmt: skip
    rows += [
        (name(level), level, g.buyers, g.repeat_buyers, g.orders, fixed(g.rate, 2))
        for level, g in r.by_level.items()
    ]
    return header, rows


@router.get("/loyalty/{section}.csv")
def loyalty_csv(
    section: str, request: Request, user: Analyst, ctx: CtxDep, session: SessionDep, now: NowDep
) -> Response:
    if section not in CSV_SECTIONS:
        raise NotFound("not_found", "没有这个导出 / No such export")
    form = required(read_loyalty, request, now)
    report, tiers = run_loyalty(form, session, ctx.settings.points_per_yuan, now)
    header, rows = _csv_rows(section, report, english_namer(tiers))
    return csv_download(f"loyalty-{section}.csv", header, rows)
