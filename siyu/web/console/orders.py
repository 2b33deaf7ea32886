"""Order pages: a filtered list, and the order page with its timeline, shipping and
cancellation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from siyu.order import service
from siyu.order.carriers import carrier_names
from siyu.order.rules import OrderStatus
from siyu.order.schemas import ShipOrder
from siyu.web.console import base
from siyu.web.console.forms import parse_int, parse_local_date, parse_yuan
from siyu.web.console.security import (
    FormDep,
    OrderReader,
    PostCanceller,
    PostShipper,
    text_field,
)
from siyu.web.deps import CtxDep, NowDep, Session, SessionDep
from siyu.web.i18n import format_money, translator

router = APIRouter(prefix=base.PREFIX, include_in_schema=False)


PAGE_SIZE = 50
FILTERS = ("status", "order_no", "shopper_id", "date_from", "date_to", "min_total", "max_total")


def _maybe(parse: Callable[[str], int], text: str) -> int | None:
    try:
        return parse(text) if text else None
    except ValueError:
        return None


def order_filter(values: dict[str, str]) -> tuple[service.OrderFilter, set[str]]:
    """The service's filter from the query string; malformed entries are ignored and
    named, so the page can say which ones it did not understand."""
    bad: set[str] = set()
    status = values["status"]
    if status and status not in set(OrderStatus):
        bad.add("status")
    numbers: dict[str, int | None] = {}
    for name, parse in (
        ("shopper_id", parse_int),
        ("min_total", parse_yuan),
        ("max_total", parse_yuan),
    ):
        numbers[name] = _maybe(parse, values[name])
        if values[name] and numbers[name] is None:
            bad.add(name)
    placed_from = parse_local_date(values["date_from"]) if values["date_from"] else None
    placed_to = parse_local_date(values["date_to"], end=True) if values["date_to"] else None
    for name, parsed in (("date_from", placed_from), ("date_to", placed_to)):
        if values[name] and parsed is None:
            bad.add(name)
    return (
        service.OrderFilter(
            status=OrderStatus(status) if status in set(OrderStatus) else None,
            shopper_id=numbers["shopper_id"],
            order_no=values["order_no"][:32] or None,
            placed_from=placed_from,
            placed_to=placed_to,
            min_total_fen=numbers["min_total"],
            max_total_fen=numbers["max_total"],
        ),
        bad,
    )


@router.get("/orders")
def order_list(request: Request, user: OrderReader, session: SessionDep) -> Response:
    values = {name: request.query_params.get(name, "").strip()[:40] for name in FILTERS}
    f, bad = order_filter(values)
    sort = request.query_params.get("sort", "")
    if sort not in service.ORDER_SORTS:
        sort = service.ORDER_SORTS[0]
    page = max(_maybe(parse_int, request.query_params.get("page", "")) or 1, 1)
    with session.begin():
        rows = service.search_orders(
            session, f, limit=PAGE_SIZE + 1, sort=sort, offset=(page - 1) * PAGE_SIZE
        )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    t = translator("console", base.request_locale(request))
    query = urlencode({k: v for k, v in values.items() if v})
    filtered = query
    query = urlencode({k: v for k, v in values.items() if v} | {"sort": sort})
    return base.render(
        request,
        "orders.html",
        user=user,
        active="orders",
        orders=rows,
        filters=values,
        errors={name: t("field.filter_ignored") for name in bad},
        statuses=list(OrderStatus),
        next_page=page + 1 if more else None,
        query=query,
        filtered=filtered,
        sort=sort,
        sorts=service.ORDER_SORTS,
    )


def _order_page(
    request: Request,
    user: base.ConsoleUser,
    session: Session,
    order_id: int,
    shown: base.Feedback = base.Feedback(),
) -> Response:
    with session.begin():
        order = service.get_order(session, order_id)
        timeline = service.order_timeline(session, order_id)
        return base.render(
            request,
            "order_detail.html",
            user=user,
            active="orders",
            shown=shown,
            order=order,
            timeline=timeline,
            carriers=carrier_names(),
        )


@router.get("/orders/{order_id}")
def order_page(order_id: int, request: Request, user: OrderReader, session: SessionDep) -> Response:
    return _order_page(request, user, session, order_id)


@router.post("/orders/{order_id}/ship")
def ship(
    order_id: int,
    request: Request,
    form: FormDep,
    user: PostShipper,
    ctx: CtxDep,
    session: SessionDep,
    now: NowDep,
) -> Response:
    values = {
        "carrier": text_field(form, "carrier", 64),
        "tracking_no": text_field(form, "tracking_no", 80),
    }
    outcome = base.submit(
        request,
        session,
        ShipOrder,
        values,
        lambda body: service.ship_order(
            session,
            actor_id=user.principal.id,
            order_id=order_id,
            carrier=body.carrier,
            tracking_no=body.tracking_no,
            auto_confirm_after=timedelta(days=ctx.settings.auto_confirm_days),
            now=now,
        ),
    )
    return _done(request, user, session, order_id, outcome, "shipped", values)


def _cancel_confirm(
    request: Request, user: base.ConsoleUser, session: Session, order_id: int
) -> Response:
    """The confirm step of a cancel: which order, its amount, and that its stock goes
    back on the shelf."""
    t = translator(base.DOMAIN, base.request_locale(request))
    with session.begin():
        order = service.get_order(session, order_id)
        return base.render(
            request,
            "confirm.html",
            user=user,
            active="orders",
            title=t("order.confirm_cancel_title"),
            sentence=t(
                "order.confirm_cancel_text",
                order_no=order.order_no,
                amount=format_money(order.total_fen),
                units=sum(line.quantity for line in order.lines),
            ),
            hint=t("order.confirm_cancel_hint"),
            action=f"{base.PREFIX}/orders/{order_id}/cancel",
            fields={},
            confirm_label=t("order.confirm_cancel_submit"),
            back_href=f"{base.PREFIX}/orders/{order_id}",
        )


def _status(session: Session, order_id: int) -> str:
    with session.begin():
        return str(service.get_order(session, order_id).status)


@router.post("/orders/{order_id}/cancel")
def cancel(
    order_id: int,
    request: Request,
    form: FormDep,
    user: PostCanceller,
    ctx: CtxDep,
    session: SessionDep,
    now: NowDep,
) -> Response:
    """Without ``confirmed`` the confirm step is shown; an order cancelled already (the
    confirmed form posted twice) is not cancelled again: the page says it was."""
    status = _status(session, order_id)
    if status == OrderStatus.cancelled:
        return base.redirect(f"{base.PREFIX}/orders/{order_id}?notice=already_cancelled")
    if status == OrderStatus.pending_payment and text_field(form, "confirmed", 4) != "1":
        return _cancel_confirm(request, user, session, order_id)
    outcome = base.save(
        request,
        session,
        lambda: service.cancel_by_operator(
            session, ctx.lifecycle, actor_id=user.principal.id, order_id=order_id, now=now
        ),
    )
    if isinstance(outcome, base.Refusal) and _status(session, order_id) == OrderStatus.cancelled:
        return base.redirect(f"{base.PREFIX}/orders/{order_id}?notice=already_cancelled")
    return _done(request, user, session, order_id, outcome, "cancelled")


def _done(
    request: Request,
    user: base.ConsoleUser,
    session: Session,
    order_id: int,
    outcome: object,
    notice: str,
    values: dict[str, str] | None = None,
) -> Response:
    """Back to the order with ``notice``, or its page again with the refusal's words."""
    return base.settle(
        outcome,
        f"{base.PREFIX}/orders/{order_id}?notice={notice}",
        lambda refusal: _order_page(request, user, session, order_id, refusal.shown(values)),
    )
