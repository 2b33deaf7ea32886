"""Order routes: placement (idempotent), the shopper's orders, operator order desk."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from siyu import idempotency
from siyu.cart.service import checkout_items, view_cart
from siyu.coupon.service import scope_words_of
from siyu.errors import Conflict, InvalidInput
from siyu.order import service
from siyu.order.rules import OrderStatus
from siyu.order.schemas import (
    AdminOrderOut,
    CheckoutQuoteOut,
    OrderEventOut,
    OrderOut,
    PlaceOrder,
    QuoteCoupon,
    ShipOrder,
)
from siyu.pricing.fetch import pricing_settings
from siyu.pricing.serialize import quote_to_dict
from siyu.web.api.common import from_fields, transact, transact_list
from siyu.web.deps import (
    AppContext,
    CtxDep,
    CurrentShopper,
    NowDep,
    OrderCanceller,
    OrderReader,
    OrderShipper,
    SessionDep,
)
from siyu.web.params import query_parameters, read_query

app_router = APIRouter(prefix="/api/app/orders", tags=["orders"])
admin_router = APIRouter(prefix="/api/admin/orders", tags=["orders admin"])
checkout_router = APIRouter(prefix="/api/app/checkout", tags=["checkout"])

PLACE_SCOPE = "order.place"


@app_router.post(
    "",
    response_model=OrderOut,
    status_code=201,
    responses={
        409: {"description": "out of stock / key in use"},
        422: {"description": "invalid input or key reused"},
    },
)
def place_order(
    body: PlaceOrder,
    ctx: CtxDep,
    session: SessionDep,
    now: NowDep,
    shopper: CurrentShopper,
    idempotency_key: Annotated[
        str, Header(alias="Idempotency-Key", description="每次下单尝试一个唯一值（如 UUID）")
    ],
) -> Any:
    """下单（购物车结算或立即购买）。相同 Idempotency-Key 与相同请求返回首次结果。"""

    def place() -> dict[str, Any]:
        if body.items is not None:
            items, source = [(i.sku_id, i.quantity) for i in body.items], "buy_now"
        else:
            items, source = checkout_items(session, shopper.id, body.cart_item_ids or []), "cart"
        order = service.place_order(
            session,
            shopper_id=shopper.id,
            items=items,
            address=service.Address(**body.address.model_dump()) if body.address else None,
            address_id=body.address_id,
            note=body.note,
            source=source,
            payment_timeout=timedelta(minutes=ctx.settings.payment_timeout_minutes),
            now=now,
            pricing=pricing_settings(ctx.settings),
            coupon_ids=body.coupon_ids,
            use_points=body.use_points,
            expected_total_fen=body.expected_total_fen,
        )
        return OrderOut.model_validate(order).model_dump(mode="json")

    return placed_once(session, PLACE_SCOPE, shopper.id, idempotency_key, body, place, now)


def placed_once(
    session: Session,
    scope: str,
    shopper_id: int,
    idempotency_key: str,
    body: BaseModel,
    place: Callable[[], dict[str, Any]],
    now: datetime,
) -> JSONResponse:
    """Run ``place`` in one transaction, once per (scope, shopper, key): the same key
    with the same body replays the first 201; a concurrent twin waits for nothing and
    is told the key is in use. Every order-placing route (checkout, group buy) uses it."""
    idempotency.check_key(idempotency_key)
    req_hash = idempotency.request_hash(scope, body.model_dump(mode="json"))
    key = idempotency.IdempotencyKey(scope, shopper_id, idempotency_key, req_hash)
    try:
        with session.begin():
            stored = idempotency.find_response(session, key)
            if stored is not None:
                return JSONResponse(stored.body, stored.status)
            record = idempotency.claim_key(session, key, now=now)
            result = place()
            idempotency.store_response(record, 201, result)
        return JSONResponse(result, 201)
    except IntegrityError:
        # A concurrent request with the same key committed first: replay its result.
        session.rollback()
        with session.begin():
            stored = idempotency.find_response(session, key)
        if stored is None:
            raise Conflict(
                "idempotency_key_in_use",
                "相同 Idempotency-Key 的请求正在处理 / A "
                "request with this Idempotency-Key is in progress",
            ) from None
        return JSONResponse(stored.body, stored.status)


@app_router.get("", response_model=list[OrderOut])
def my_orders(
    session: SessionDep,
    shopper: CurrentShopper,
    status: OrderStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    before_id: int | None = None,
) -> list[OrderOut]:
    return transact_list(
        session,
        OrderOut,
        service.list_shopper_orders,
        shopper.id,
        status=status,
        limit=limit,
        before_id=before_id,
    )


@app_router.get("/{order_id}", response_model=OrderOut)
def my_order(order_id: int, session: SessionDep, shopper: CurrentShopper) -> OrderOut:
    return transact(session, OrderOut, service.get_shopper_order, shopper.id, order_id)


@app_router.post("/{order_id}/cancel", response_model=OrderOut)
def cancel_my_order(
    order_id: int, ctx: CtxDep, session: SessionDep, now: NowDep, shopper: CurrentShopper
) -> OrderOut:
    return transact(
        session,
        OrderOut,
        service.cancel_by_shopper,
        ctx.lifecycle,
        shopper_id=shopper.id,
        order_id=order_id,
        now=now,
    )


@app_router.post("/{order_id}/confirm", response_model=OrderOut)
def confirm_receipt(
    order_id: int, session: SessionDep, now: NowDep, shopper: CurrentShopper, ctx: CtxDep
) -> OrderOut:
    """确认收货。"""
    return transact(
        session,
        OrderOut,
        service.confirm_receipt,
        shopper_id=shopper.id,
        order_id=order_id,
        settle_after=timedelta(days=ctx.settings.aftersale_window_days),
        now=now,
    )


# ---------------------------------------------------------------- admin


@admin_router.get("", response_model=list[AdminOrderOut])
def search_orders(
    session: SessionDep,
    _: OrderReader,
    status: OrderStatus | None = None,
    shopper_id: int | None = None,
    order_no: Annotated[str | None, Query(max_length=32)] = None,
    placed_from: AwareDatetime | None = None,
    placed_to: AwareDatetime | None = None,
    min_total_fen: Annotated[int | None, Query(ge=0)] = None,
    max_total_fen: Annotated[int | None, Query(ge=0)] = None,
    flagged: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before_id: int | None = None,
) -> list[AdminOrderOut]:
    f = service.OrderFilter(
        status=status,
        shopper_id=shopper_id,
        order_no=order_no,
        placed_from=placed_from,
        placed_to=placed_to,
        min_total_fen=min_total_fen,
        max_total_fen=max_total_fen,
        flagged=flagged,
    )
    return transact_list(
        session, AdminOrderOut, service.search_orders, f, limit=limit, before_id=before_id
    )


@admin_router.get("/{order_id}", response_model=AdminOrderOut)
def order_detail(order_id: int, session: SessionDep, _: OrderReader) -> AdminOrderOut:
    return transact(session, AdminOrderOut, service.get_order, order_id)


@admin_router.get("/{order_id}/timeline", response_model=list[OrderEventOut])
def order_timeline(order_id: int, session: SessionDep, _: OrderReader) -> list[OrderEventOut]:
    with session.begin():
        service.get_order(session, order_id)
        return [
            OrderEventOut(event_type=e.event_type, occurred_at=e.occurred_at, payload=e.payload)
            for e in service.order_timeline(session, order_id)
        ]


@admin_router.post("/{order_id}/ship", response_model=AdminOrderOut)
def ship_order(
    order_id: int,
    body: ShipOrder,
    ctx: CtxDep,
    session: SessionDep,
    now: NowDep,
    actor: OrderShipper,
) -> AdminOrderOut:
    """发货（填写快递公司与运单号）。"""
    return transact(
        session,
        AdminOrderOut,
        service.ship_order,
        actor_id=actor.id,
        order_id=order_id,
        carrier=body.carrier,
        tracking_no=body.tracking_no,
        auto_confirm_after=timedelta(days=ctx.settings.auto_confirm_days),
        now=now,
    )


@admin_router.post("/{order_id}/cancel", response_model=AdminOrderOut)
def cancel_order(
    order_id: int,
    ctx: CtxDep,
    session: SessionDep,
    now: NowDep,
    actor: OrderCanceller,
) -> AdminOrderOut:
    return transact(
        session,
        AdminOrderOut,
        service.cancel_by_operator,
        ctx.lifecycle,
        actor_id=actor.id,
        order_id=order_id,
        now=now,
    )


class QuoteParams(BaseModel):
    """The quote's query (one model, validated in one pass: the quote is asked on every
    cart change)."""

    model_config = ConfigDict(extra="ignore")

    cart_item_ids: list[int] | None = Field(default=None, max_length=100)
    sku_id: int | None = Field(default=None, ge=1)
    quantity: int = Field(default=1, ge=1, le=99)
    coupon_ids: list[int] | None = Field(default=None, max_length=5)
    no_coupon: bool = False
    use_points: bool = False


@checkout_router.get(
    "/quote", response_model=CheckoutQuoteOut, openapi_extra=query_parameters(QuoteParams)
)
async def checkout_quote(
    request: Request, ctx: CtxDep, now: NowDep, shopper: CurrentShopper
) -> CheckoutQuoteOut:
    """结算报价：购物车（cart_item_ids，省略则为购物车中全部可购买商品）或立即购买
    （sku_id + quantity）。默认自动选择最优优惠券；coupon_ids 指定券，no_coupon=true 不用券。
    返回每行优惠分摊、优惠明细、提示（如「再买 ¥12 可减 ¥30」）与可用/不可用券及原因。
    下单时把 total_fen 作为 expected_total_fen 传入：价格变化会被拒绝而不是多扣。"""
    params = read_query(QuoteParams, request)
    sku_id, cart_item_ids, coupon_ids = params.sku_id, params.cart_item_ids, params.coupon_ids
    if sku_id is not None and cart_item_ids:
        raise InvalidInput(
            "ambiguous_items",
            "请只指定购物车商品或立即购买商品之一 / Give cart_item_ids or sku_id, not both",
            {"sku_id": "conflict"},
        )
    # The session is opened, used and closed in one hand-over to the thread pool (a
    # session dependency takes two more: the quote is asked on every cart change).
    return await run_in_threadpool(
        _quote, ctx, now, shopper.id, sku_id, params.quantity, cart_item_ids,
        [] if params.no_coupon else coupon_ids, params.use_points,
    )  # fmt: skip


def _quote(
    ctx: AppContext,
    now: datetime,
    shopper_id: int,
    sku_id: int | None,
    quantity: int,
    cart_item_ids: list[int] | None,
    coupon_ids: list[int] | None,
    use_points: bool,
) -> CheckoutQuoteOut:
    with ctx.db.read_session() as session, session.begin():
        if sku_id is not None:
            items = [(sku_id, quantity)]
        elif cart_item_ids:
            items = checkout_items(session, shopper_id, cart_item_ids)
        else:
            items = [
                (line.sku_id, line.quantity)
                for line in view_cart(session, shopper_id).lines
                if line.available
            ]
        quote, owned = service.checkout_quote(
            session,
            shopper_id=shopper_id,
            items=items,
            pricing=pricing_settings(ctx.settings),
            coupon_ids=coupon_ids,
            use_points=use_points,
            now=now,
        )
        scopes = scope_words_of(session, [c.template_id for c in owned.values()])
    applied = set(quote.applied_coupon_ids)
    coupons = []
    for status in quote.coupon_statuses:
        coupon = owned.get(status.coupon_id)
        if coupon is None:
            continue
        coupons.append(
            from_fields(
                QuoteCoupon,
                status,
                template_id=coupon.template_id,
                name=coupon.name,
                kind=coupon.kind.value,
                valid_until=coupon.valid_until,
                applied=coupon.coupon_id in applied,
                scope_zh=scopes.get(coupon.template_id, ("", ""))[0],
                scope_en=scopes.get(coupon.template_id, ("", ""))[1],
            )
        )
    coupons.sort(key=lambda c: (not c.applied, not c.usable, -c.saving_fen, c.coupon_id))
    return CheckoutQuoteOut(
        quote=quote_to_dict(quote),
        coupons=coupons,
        total_fen=quote.total_fen,
        discount_fen=quote.discount_fen,
        shipping_fen=quote.shipping_fen,
    )
