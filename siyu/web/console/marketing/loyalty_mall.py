"""The points mall (积分商城): the items (a coupon or goods priced in points) with their
create/edit form and on/off shelf, and the exchange records, where a goods exchange
waiting to ship (``to_ship``) is marked shipped once.

Every change goes through ``siyu.loyalty.mall.service`` (``save_item`` validates the item
whole, ``ship_exchange`` is conditional on ``to_ship`` and audited), validated first by
the JSON API's ``ItemIn``.

Routes: ``GET /console/loyalty/mall`` (``?status=`` filters the exchanges);
``GET|POST /console/loyalty/mall/new``; ``GET|POST /console/loyalty/mall/{id}``;
``POST /console/loyalty/mall/{id}/status`` (``status`` = active | inactive);
``POST /console/loyalty/mall/exchanges/{id}/ship``.

Stable selectors: ``a#new-mall-item``; rows ``tr[data-testid=mall-item-row]`` (``data-id``,
``data-status``); exchanges ``tr[data-testid=mall-exchange-row]`` (``data-id``,
``data-status``) with ``button#ship-<id>``. Form ``form#mall-item-form``: ``#name``,
``#kind``, ``#points_price``, ``#coupon_template_id``, ``#sku_id``, ``#per_shopper_limit``,
``#position``, ``#status``, ``button#mall-item-submit``; ``button#mall-item-deactivate`` /
``#mall-item-activate``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from siyu.errors import DomainError
from siyu.identity.service import shopper_labels
from siyu.loyalty.mall import service as mall
from siyu.loyalty.mall.models import ExchangeStatus, ItemKind, ItemStatus, MallItem
from siyu.web.api.loyalty_games import ItemIn
from siyu.web.console.base import (
    ConsoleUser,
    Feedback,
    Refusal,
    redirect,
    render,
    request_locale,
    save,
)
from siyu.web.console.marketing.forms import PostWriter, Reader, Writer, marketing_text, words
from siyu.web.console.marketing.loyalty_forms import (
    coupon_choices,
    problem_errors,
    read_int,
    read_optional_int,
    schema_errors,
)
from siyu.web.console.security import FormDep, text_field
from siyu.web.deps import CtxDep, NowDep, Session, SessionDep
from siyu.web.i18n import translator

router = APIRouter(prefix="/console/loyalty", include_in_schema=False)

HINTS = {
    "points_price": "loyalty.mall.err_price",
    "coupon_template_id": "loyalty.mall.err_coupon",
    "sku_id": "loyalty.mall.err_sku",
    "per_shopper_limit": "loyalty.mall.err_limit",
}
FIELDS = ("name", "kind", "points_price", "coupon_template_id", "sku_id",
          "per_shopper_limit", "status", "position")  # fmt: skip


def item_values(item: MallItem) -> dict[str, str]:
    return {
        "name": item.name,
        "kind": str(item.kind),
        "points_price": str(item.points_price),
        "coupon_template_id": str(item.coupon_template_id or ""),
        "sku_id": str(item.sku_id or ""),
        "per_shopper_limit": str(item.per_shopper_limit),
        "status": str(item.status),
        "position": str(item.position),
    }


BLANK = {
    "kind": ItemKind.coupon.value,
    "per_shopper_limit": "0",
    "status": ItemStatus.active.value,
    "position": "0",
}


def mall_page(
    request: Request,
    user: ConsoleUser,
    session: Session,
    ctx: CtxDep,
    chosen: ExchangeStatus | None = None,
    shown: Feedback | None = None,
) -> Response:
    with session.begin():
        items = mall.list_items(session, active_only=False)
        exchanges = mall.list_exchanges(session, status=chosen)
        labels = shopper_labels(session, ctx.cipher, [e.shopper_id for e in exchanges])
        return render(
            request,
            "loyalty_mall.html",
            user=user,
            active="mall",
            shown=shown or Feedback(),
            items=items,
            names={i.id: i.name for i in items},
            coupons=dict(coupon_choices(session)),
            exchanges=exchanges,
            labels=labels,
            statuses=list(ExchangeStatus),
            chosen=chosen.value if chosen else "",
        )


@router.get("/mall")
def mall_list(
    request: Request, user: Reader, session: SessionDep, ctx: CtxDep, status: str = ""
) -> Response:
    chosen = ExchangeStatus(status) if status in set(ExchangeStatus) else None
    return mall_page(request, user, session, ctx, chosen)


def item_page(
    request: Request,
    user: ConsoleUser,
    session: Session,
    item_id: int | None,
    shown: Feedback | None = None,
) -> Response:
    with session.begin():
        item = mall.get_item(session, item_id) if item_id is not None else None
        values = item_values(item) if item else dict(BLANK)
        return render(
            request,
            "loyalty_mall_item.html",
            user=user,
            active="mall",
            shown=shown or Feedback(values=values),
            item=item,
            kinds=list(ItemKind),
            item_statuses=list(ItemStatus),
            coupons=coupon_choices(session),
        )


def read_item_form(form: FormData) -> tuple[dict[str, str], dict[str, str], dict[str, Any]]:
    values = {
        "name": text_field(form, "name", 60),
        "kind": text_field(form, "kind", 16),
        "status": text_field(form, "status", 16) or ItemStatus.active.value,
    }
    errors: dict[str, str] = {}
    body: dict[str, Any] = {
        "name": values["name"],
        "kind": values["kind"],
        "status": values["status"],
        "points_price": read_int(form, "points_price", values, errors),
        "per_shopper_limit": read_int(form, "per_shopper_limit", values, errors, default=0),
        "position": read_int(form, "position", values, errors, default=0),
        "coupon_template_id": read_optional_int(form, "coupon_template_id", values, errors),
        "sku_id": read_optional_int(form, "sku_id", values, errors),
    }
    if body["kind"] == ItemKind.coupon:
        body["sku_id"] = None
    elif body["kind"] == ItemKind.goods:
        body["coupon_template_id"] = None
    return values, errors, body


def save_item_view(
    request: Request,
    form: FormData,
    user: ConsoleUser,
    session: Session,
    now: Any,
    item_id: int | None,
) -> Response:
    locale = request_locale(request)
    t = translator("console", locale)
    values, ids, body = read_item_form(form)
    errors = words(t, ids)
    checked: ItemIn | None = None
    if not errors:
        try:
            checked = ItemIn.model_validate(body)
        except ValidationError as exc:
            errors = schema_errors(
                t, locale, list(exc.errors()), lambda loc: str(loc[0]) if loc else "_form"
            )
    if checked is None:
        return item_page(request, user, session, item_id, Feedback(errors, values, 422))
    payload = checked.model_dump()
    try:
        with session.begin():
            saved = mall.save_item(
                session, item_id=item_id, values=payload, now=now, actor_id=user.principal.id
            )
            saved_id = saved.id
    except DomainError as exc:
        found = problem_errors(t, locale, exc, lambda name: name, HINTS)
        return item_page(request, user, session, item_id, Feedback(found, values, exc.http_status))
    if item_id is None:
        return redirect(f"/console/loyalty/mall?notice=mall_item_created#mall-item-{saved_id}")
    return redirect(f"/console/loyalty/mall/{item_id}?notice=saved")


@router.get("/mall/new")
def new_item(request: Request, user: Writer, session: SessionDep) -> Response:
    return item_page(request, user, session, None)


@router.post("/mall/new")
def create_item(
    request: Request, form: FormDep, user: PostWriter, session: SessionDep, now: NowDep
) -> Response:
    return save_item_view(request, form, user, session, now, None)


@router.get("/mall/{item_id}")
def show_item(item_id: int, request: Request, user: Reader, session: SessionDep) -> Response:
    return item_page(request, user, session, item_id)


@router.post("/mall/{item_id}")
def update_item(
    item_id: int,
    request: Request,
    form: FormDep,
    user: PostWriter,
    session: SessionDep,
    now: NowDep,
) -> Response:
    return save_item_view(request, form, user, session, now, item_id)


@router.post("/mall/{item_id}/status")
def set_item_status(
    item_id: int,
    request: Request,
    form: FormDep,
    user: PostWriter,
    session: SessionDep,
    now: NowDep,
) -> Response:
    """On or off the shelf: the stored item saved again with the new status."""
    raw = text_field(form, "status", 16)
    if raw not in set(ItemStatus):
        t = translator("console", request_locale(request))
        return item_page(
            request, user, session, item_id, Feedback({"status": t("field.enum")}, {}, 422)
        )

    def work() -> object:
        item = mall.get_item(session, item_id)
        values = {name: getattr(item, name) for name in FIELDS} | {"status": ItemStatus(raw)}
        return mall.save_item(
            session, item_id=item_id, values=values, now=now, actor_id=user.principal.id
        )

    outcome = save(request, session, work, explain=marketing_text)
    if isinstance(outcome, Refusal):
        return item_page(request, user, session, item_id, outcome.shown())
    notice = "mall_item_on" if raw == ItemStatus.active else "mall_item_off"
    return redirect(f"/console/loyalty/mall/{item_id}?notice={notice}")


@router.post("/mall/exchanges/{exchange_id}/ship")
def ship(
    exchange_id: int,
    request: Request,
    form: FormDep,
    user: PostWriter,
    session: SessionDep,
    ctx: CtxDep,
    now: NowDep,
) -> Response:
    """Mark a goods exchange shipped; a second click shows why not, nothing changes."""
    outcome = save(
        request,
        session,
        lambda: mall.ship_exchange(
            session, actor_id=user.principal.id, exchange_id=exchange_id, now=now
        ),
        explain=marketing_text,
    )
    if isinstance(outcome, Refusal):
        shown = Feedback({"ship": outcome.text}, {}, outcome.status)
        return mall_page(request, user, session, ctx, None, shown)
    return redirect("/console/loyalty/mall?notice=exchange_shipped#exchanges")
