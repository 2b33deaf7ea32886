"""Who the customers are and where they came from: the RFM grid (+ ``/rfm.csv``,
streamed) and channel attribution with ROI (+ ``/channels.csv``).

Routes: ``/console/analytics/rfm``, ``/console/analytics/channels``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from siyu.analytics.queries.channels import (
    ChannelSpendInput,
    ChannelsQuery,
    ChannelsRunner,
)
from siyu.analytics.rfm import SEGMENT_BY_LEVELS, RfmPage, RfmQuery, RfmRow, Segment
from siyu.channel.service import spend_totals
from siyu.web.console.analytics.common import (
    Analyst,
    QueryForm,
    csv_download,
    parse_day,
    query_string,
    required,
    shopper_namer,
    tab_page,
)
from siyu.web.console.base import PREFIX
from siyu.web.deps import CtxDep, NowDep, SessionDep

router = APIRouter(prefix=f"{PREFIX}/analytics", include_in_schema=False)

RFM_TABLE_LIMIT = 500


# ---------------------------------------------------------------------------- RFM

RFM_CSV_HEADER = [
    "shopper_id",
    "segment",
    "recency_days",
    "frequency",
    "monetary_fen",
    "r_score",
    "f_score",
    "m_score",
]
RFM_CSV_CHUNK = 5_000  # rows per piece of the streamed CSV


@dataclass(frozen=True)
class RfmForm:
    query: RfmQuery
    segment: Segment | None
    offset: int


def read_rfm(form: QueryForm) -> RfmForm | None:
    days = form.day_range(default_days=90)
    raw_as_of = form.text("as_of")
    as_of: date | None = None
    if raw_as_of:
        as_of = parse_day(raw_as_of, form.today)
        if as_of is None:
            form.errors["as_of"] = form.t("analytics.error.date")
        elif days is not None and as_of < days.first:
            form.errors["as_of"] = form.t("analytics.error.as_of")
    segments = [s.value for s in Segment]
    segment = form.choice("segment", ["", *segments], "")
    offset = form.number("offset", 0, 0, 100_000_000)
    if form.errors or days is None:
        return None
    query = RfmQuery(date_from=days.first, date_to=days.last, as_of=as_of)
    return RfmForm(query, Segment(segment) if segment else None, offset)


@router.get("/rfm")
def rfm_page(
    request: Request, user: Analyst, ctx: CtxDep, session: SessionDep, now: NowDep
) -> HTMLResponse:
    store = ctx.analytics
    state = QueryForm(request, now)
    form = read_rfm(state)
    page: RfmPage | None = None
    if form is not None:
        # the eight segments and one page of customers: one query, no per-customer list
        page = form.query.page(
            store, segment=form.segment, offset=form.offset, limit=RFM_TABLE_LIMIT
        )
    pairs = [
        (k, v) for k, v in request.query_params.multi_items() if k not in ("segment", "offset")
    ]
    page_pairs = [(k, v) for k, v in request.query_params.multi_items() if k != "offset"]
    offset = page.offset if page else 0
    customers = page.customers if page else []
    ids = [c.shopper_id for c in customers]
    return tab_page(
        request,
        user,
        "rfm",
        state,
        segments=list(SEGMENT_BY_LEVELS.values()),
        result=page,
        customers=customers,
        shopper_name=shopper_namer(session, ctx.cipher, ids, state.t),
        customer_count=page.total if page else 0,
        table_limit=RFM_TABLE_LIMIT,
        offset=offset,
        next_offset=offset + RFM_TABLE_LIMIT
        if page and page.total > offset + RFM_TABLE_LIMIT
        else None,
        selected_segment=form.segment.value if form and form.segment else "",
        base_qs=query_string(pairs),
        page_qs=query_string(page_pairs),
        csv_qs=query_string(page_pairs),
    )


def _rfm_csv_chunks(rows: Iterator[RfmRow]) -> Iterator[str]:
    """The CSV of the customers, a few thousand rows at a time (as ``csv_text`` writes it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RFM_CSV_HEADER)
    while True:
        chunk = list(islice(rows, RFM_CSV_CHUNK))
        writer.writerows(chunk)
        text = out.getvalue()
        if text:
            yield text
        if len(chunk) < RFM_CSV_CHUNK:
            return
        out.seek(0)
        out.truncate()


@router.get("/rfm.csv")
def rfm_csv(request: Request, user: Analyst, ctx: CtxDep, now: NowDep) -> Response:
    form = required(read_rfm, request, now)
    # the query runs here (its errors are still an error response); the rows are then
    # written out in chunks, as plain tuples
    rows = form.query.customer_rows(ctx.analytics, segment=form.segment)
    return StreamingResponse(
        _rfm_csv_chunks(rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": "attachment; filename=\"rfm.csv\"; filename*=UTF-8''rfm.csv",
            "Cache-Control": "no-store",
        },
    )


# ----------------------------------------------------------------------- channels

ATTRIBUTIONS = ("first_touch", "last_touch")
CHANNEL_BREAKDOWNS = ("group", "code")


def read_channels(form: QueryForm, session: Any) -> ChannelsQuery | None:
    days = form.day_range(default_days=30)
    attribution = form.choice("attribution", ATTRIBUTIONS, "first_touch")
    breakdown = form.choice("breakdown", CHANNEL_BREAKDOWNS, "group")
    if form.errors or days is None:
        return None
    with session.begin():
        spend = spend_totals(
            session,
            day_from=days.first,
            day_to=days.last,
            by="code" if breakdown == "code" else "group",
        )
    return ChannelsQuery(
        date_from=days.start,
        date_to=days.end,
        attribution=attribution,  # type: ignore[arg-type]
        breakdown=breakdown,  # type: ignore[arg-type]
        spend=tuple(ChannelSpendInput(channel=k, amount_fen=v) for k, v in spend.items()),
    )


@router.get("/channels")
def channels_page(
    request: Request, user: Analyst, ctx: CtxDep, session: SessionDep, now: NowDep
) -> HTMLResponse:
    state = QueryForm(request, now)
    query = read_channels(state, session)
    result = ChannelsRunner.run_on(query, ctx.analytics) if query is not None else None
    return tab_page(
        request,
        user,
        "channels",
        state,
        attributions=ATTRIBUTIONS,
        breakdowns=CHANNEL_BREAKDOWNS,
        result=result,
    )


@router.get("/channels.csv")
def channels_csv(
    request: Request, user: Analyst, ctx: CtxDep, session: SessionDep, now: NowDep
) -> Response:
    query = required(read_channels, request, now, session)
    result = ChannelsRunner.run_on(query, ctx.analytics)
    header = [
        "channel",
        "visitors",
        "new_shoppers",
        "buyers",
        "new_buyers",
        "orders",
        "gmv_fen",
        "conversion_rate",
        "spend_fen",
        "cac_fen",
        "roi",
    ]
    rows = [
        (
            c.channel,
            c.visitors,
            c.new_shoppers,
            c.buyers,
            c.new_buyers,
            c.orders,
            c.gmv_fen,
            f"{c.conversion_rate:.2f}",
            c.spend_fen,
            "" if c.cac_fen is None else c.cac_fen,
            "" if c.roi is None else f"{c.roi:.4f}",
        )
        for c in result.channels
    ]
    return csv_download("channels.csv", header, rows)
