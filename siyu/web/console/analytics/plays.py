"""Play analytics (活动效果), read from the store: per play (every order source that is
not the checkout's: group buy, flash sale, and whatever else places orders) and per
campaign, the share funnel (sharers → shared visitors → new shoppers → paid orders),
GMV net of refunds against the play's cost (its discount allocations), ROI and the new
shoppers it brought (``siyu.analytics.queries.plays`` has every definition).

Campaigns are named by their play: a group buy by its campaign's name, a flash sale by
its session and item; any other play's campaign by its id.

Routes: ``/console/analytics/plays`` and the CSV exports
``/console/analytics/plays/{plays,campaigns}.csv``.

Stable selectors: ``form#plays-form``; ``tr[data-testid=play-row]`` (``data-play``) and
``tr[data-testid=play-campaign-row]`` (``data-play``, ``data-campaign``) with
``td[data-testid=play-<key>]`` (``data-value``) for sharers, shared_visitors,
new_shoppers, paid_orders, orders_placed, buyers, gmv_fen, cost_fen, roi,
refunded_fen; ``a#plays-csv``, ``a#play-campaigns-csv``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from siyu.analytics.queries.plays import PlayFigures, PlaysReport, plays_report
from siyu.errors import NotFound
from siyu.flash_sale import operator as flash_operator
from siyu.flash_sale.rules import SOURCE as FLASH_SALE
from siyu.group_buy import campaigns as group_buys
from siyu.group_buy.service import SOURCE as GROUP_BUY
from siyu.web.console.analytics.common import (
    Analyst,
    QueryForm,
    csv_download,
    figure,
    fixed,
    required,
    tab_page,
    trace,
)
from siyu.web.console.base import PREFIX, has_message, request_locale
from siyu.web.deps import NowDep, Session, SessionDep
from siyu.web.i18n import Translator

router = APIRouter(prefix=f"{PREFIX}/analytics", include_in_schema=False)
CSV_SECTIONS = ("plays", "campaigns")
COLUMNS = ("sharers", "shared_visitors", "new_shoppers", "paid_orders", "orders_placed",
           "shoppers", "buyers", "gmv_fen", "refunded_fen", "cost_fen", "roi")  # fmt: skip


@dataclass(frozen=True)
class PlaysForm:
    date_from: datetime
    date_to: datetime


def read_plays(form: QueryForm) -> PlaysForm | None:
    days = form.day_range(default_days=30)
    if form.errors or days is None:
        return None
    return PlaysForm(days.start, days.end)


def campaign_names(session: Session, report: PlaysReport) -> dict[tuple[str, int], str]:
    """The words for each campaign the report names, from its play's own tables."""
    names: dict[tuple[str, int], str] = {}
    ids = {play: [r.campaign_id for r in report.campaigns if r.play == play and r.campaign_id]
           for play in (GROUP_BUY, FLASH_SALE)}  # fmt: skip
    if ids[GROUP_BUY]:
        wanted = set(ids[GROUP_BUY])
        for c in group_buys.list_campaigns(session):
            if c.id in wanted:
                names[(GROUP_BUY, c.id)] = c.name
    for item_id, (session_name, title) in flash_operator.item_names(
        session, [i for i in ids[FLASH_SALE] if i is not None]
    ).items():
        names[(FLASH_SALE, item_id)] = f"{session_name} · {title}"
    return names


def run_plays(
    form: PlaysForm, session: Session, now: datetime
) -> tuple[PlaysReport, dict[tuple[str, int], str]]:
    with session.begin():
        report = plays_report(session, form.date_from, form.date_to, now)
        return report, campaign_names(session, report)


def play_namer(t: Translator, locale: str) -> Callable[[str], str]:
    def name(play: str) -> str:
        key = f"analytics.plays.play.{play}"
        return t(key) if has_message(locale, key) else play

    return name


def campaign_label(row: PlayFigures, names: dict[tuple[str, int], str], t: Translator) -> str:
    if row.campaign_id is None:
        return t("analytics.plays.no_campaign")
    return names.get((row.play, row.campaign_id)) or f"#{row.campaign_id}"


def plays_chart(report: PlaysReport, name: Callable[[str], str], t: Translator) -> dict[str, Any]:
    x = [name(r.play) for r in report.plays]

    def bars(key: str, values: list[float], color: str) -> dict[str, Any]:
        return trace("bar", t(f"analytics.plays.{key}"), x, values, marker={"color": color},
                     hovertemplate="¥%{y:,.2f}<extra>%{fullData.name}</extra>")  # fmt: skip

    data = [
        bars("gmv_fen", [r.gmv_fen / 100 for r in report.plays], "rgba(7,193,96,0.7)"),
        bars("cost_fen", [r.cost_fen / 100 for r in report.plays], "rgba(207,34,46,0.55)"),
    ]
    return figure(
        data,
        margin={"l": 64, "r": 24, "t": 16, "b": 40},
        barmode="group",
        xaxis={"type": "category"},
        yaxis={"rangemode": "tozero", "tickformat": ",.0f"},
    )


@router.get("/plays")
def plays_page(request: Request, user: Analyst, session: SessionDep, now: NowDep) -> HTMLResponse:
    state = QueryForm(request, now)
    form = read_plays(state)
    report, names = run_plays(form, session, now) if form is not None else (None, {})
    locale = request_locale(request)
    name = play_namer(state.t, locale)
    chart = plays_chart(report, name, state.t) if report and report.plays else None
    return tab_page(
        request,
        user,
        "plays",
        state,
        chart,
        result=report,
        play_name=name,
        campaign_label=lambda row: campaign_label(row, names, state.t),
    )


def _value(row: PlayFigures, key: str) -> Any:
    if key == "roi":
        return fixed(row.roi, 2)
    return getattr(row, key)


@router.get("/plays/{section}.csv")
def plays_csv(
    section: str, request: Request, user: Analyst, session: SessionDep, now: NowDep
) -> Response:
    if section not in CSV_SECTIONS:
        raise NotFound("not_found", "没有这个导出 / No such export")
    form = required(read_plays, request, now)
    report, names = run_plays(form, session, now)
    if section == "plays":
        header = ["play", *COLUMNS]
        rows = [(r.play, *(_value(r, k) for k in COLUMNS)) for r in report.plays]
        return csv_download("plays.csv", header, rows)
    header = ["play", "campaign_id", "campaign", *COLUMNS]
    rows = [
        (r.play, "" if r.campaign_id is None else r.campaign_id,
         "" if r.campaign_id is None else names.get((r.play, r.campaign_id), ""),
         *(_value(r, k) for k in COLUMNS))
        for r in report.campaigns
    ]  # fmt: skip
    return csv_download("play-campaigns.csv", header, rows)
