"""Per-SKU actions on the product page: price, stock and availability. Each has its
own permission (support may see prices but not change them)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from siyu.catalog import service
from siyu.catalog.schemas import SkuPrice, StockAdjust
from siyu.web.console.base import PREFIX, redirect, save
from siyu.web.console.catalog import product_done, typed_again
from siyu.web.console.forms import money_error, parse_int, parse_yuan
from siyu.web.console.security import (
    FormDep,
    PostCatalogWriter,
    PostPriceWriter,
    PostStockWriter,
    text_field,
)
from siyu.web.deps import NowDep, Session, SessionDep

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _sku_product_id(session: Session, sku_id: int) -> int:
    with session.begin():
        return service.get_sku(session, sku_id).product_id


@router.post("/skus/{sku_id}/price")
def set_price(
    sku_id: int,
    request: Request,
    form: FormDep,
    user: PostPriceWriter,
    session: SessionDep,
    now: NowDep,
) -> Response:
    product_id = _sku_product_id(session, sku_id)
    name = f"sku-{sku_id}-price"
    text = text_field(form, "price", 32)
    try:
        body = SkuPrice(price_fen=parse_yuan(text))
    except (ValueError, ValidationError) as exc:
        why = money_error(text, exc)
        return typed_again(request, user, session, product_id, {name: why}, {name: text})
    outcome = save(
        request,
        session,
        lambda: service.set_sku_price(
            session,
            actor_id=user.principal.id,
            sku_id=sku_id,
            price_fen=body.price_fen,
            now=now,
        ),
        aliases=lambda field: name,
    )
    return product_done(request, user, session, product_id, outcome, "price_saved")


@router.post("/skus/{sku_id}/stock")
def adjust_stock(
    sku_id: int,
    request: Request,
    form: FormDep,
    user: PostStockWriter,
    session: SessionDep,
    now: NowDep,
) -> Response:
    product_id = _sku_product_id(session, sku_id)
    name = f"sku-{sku_id}-delta"
    text = text_field(form, "delta", 16)
    values = {name: text, f"sku-{sku_id}-reason": text_field(form, "reason", 100)}
    try:
        body = StockAdjust(delta=parse_int(text), reason=text_field(form, "reason", 200))
    except (ValueError, ValidationError) as exc:
        message_id = "field.int_parsing"
        if isinstance(exc, ValidationError):
            locs = {str(e["loc"][0]) for e in exc.errors() if e.get("loc")}
            message_id = "field.reason_too_long" if locs == {"reason"} else "field.delta"
        return typed_again(request, user, session, product_id, {name: message_id}, values)
    outcome = save(
        request,
        session,
        lambda: service.adjust_stock(
            session,
            actor_id=user.principal.id,
            sku_id=sku_id,
            delta=body.delta,
            reason=body.reason,
            now=now,
        ),
        aliases=lambda field: name,
    )
    return product_done(request, user, session, product_id, outcome, "stock_saved", values)


@router.post("/skus/{sku_id}/active")
def set_sku_active(
    sku_id: int, form: FormDep, user: PostCatalogWriter, session: SessionDep, now: NowDep
) -> Response:
    active = text_field(form, "is_active", 4) == "1"
    with session.begin():
        sku = service.update_sku(
            session,
            actor_id=user.principal.id,
            sku_id=sku_id,
            changes={"is_active": active},
            now=now,
        )
        product_id = sku.product_id
    return redirect(f"{PREFIX}/products/{product_id}?notice=saved")
