from __future__ import annotations

from fastapi import APIRouter, Response

from siyu.cart import service
from siyu.cart.schemas import CartAdd, CartLineOut, CartOut, CartUpdate
from siyu.web.api.common import transact_no_content
from siyu.web.deps import CurrentShopper, NowDep, SessionDep

router = APIRouter(prefix="/api/app/cart", tags=["cart"])


def _out(view: service.CartView) -> CartOut:
    return CartOut(
        lines=[
            CartLineOut(**{**line.__dict__, "line_total_fen": line.line_total_fen})
            for line in view.lines
        ],
        total_fen=view.total_fen,
        item_count=view.item_count,
    )


@router.get("", response_model=CartOut)
def get_cart(session: SessionDep, shopper: CurrentShopper) -> CartOut:
    """购物车：价格与库存每次实时读取。"""
    with session.begin():
        return _out(service.view_cart(session, shopper.id))


@router.post("/items", response_model=CartOut, status_code=201)
def add_item(body: CartAdd, session: SessionDep, now: NowDep, shopper: CurrentShopper) -> CartOut:
    with session.begin():
        service.add_to_cart(
            session, shopper_id=shopper.id, sku_id=body.sku_id, quantity=body.quantity, now=now
        )
        return _out(service.view_cart(session, shopper.id))


@router.patch("/items/{item_id}", response_model=CartOut)
def update_item(
    item_id: int, body: CartUpdate, session: SessionDep, now: NowDep, shopper: CurrentShopper
) -> CartOut:
    with session.begin():
        service.update_cart_item(
            session, shopper_id=shopper.id, item_id=item_id, quantity=body.quantity, now=now
        )
        return _out(service.view_cart(session, shopper.id))


@router.delete("/items/{item_id}", status_code=204)
def remove_item(item_id: int, session: SessionDep, shopper: CurrentShopper) -> Response:
    return transact_no_content(
        session, service.remove_cart_item, shopper_id=shopper.id, item_id=item_id
    )
