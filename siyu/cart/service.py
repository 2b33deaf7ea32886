"""The cart holds SKUs and quantities only; prices and availability are read fresh
every time it is shown and again at checkout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from siyu.cart.models import CartItem
from siyu.catalog.models import Product, Sku
from siyu.catalog.rules import ProductStatus
from siyu.db import get_or_raise
from siyu.errors import Conflict, InvalidInput, NotFound

MAX_QUANTITY = 99
MAX_CART_LINES = 100


@dataclass(frozen=True)
class CartLine:
    item_id: int
    sku_id: int
    product_id: int
    title: str
    spec: dict[str, str]
    image_url: str
    unit_price_fen: int
    quantity: int
    stock: int
    available: bool
    problem: str | None  # "off_sale" | "insufficient_stock" | None

    @property
    def line_total_fen(self) -> int:
        return self.unit_price_fen * self.quantity


@dataclass(frozen=True)
class CartView:
    lines: list[CartLine]

    @property
    def total_fen(self) -> int:
        return sum(line.line_total_fen for line in self.lines if line.available)

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)


def sellable_sku(session: Session, sku_id: int) -> Sku:
    sku = session.get(Sku, sku_id)
    if sku is None or not sku.is_active or sku.product.status is not ProductStatus.on_sale:
        raise NotFound(
            "sku_unavailable",
            "商品不存在或已下架 / This item is unavailable",
            {"sku_id": "unavailable"},
        )
    return sku


def _check_quantity(quantity: int) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput(
            "bad_quantity",
            f"数量需在 1 到 {MAX_QUANTITY} 之间 / Quantity must be between 1 and {MAX_QUANTITY}",
            {"quantity": "range"},
        )


def add_to_cart(
    session: Session, *, shopper_id: int, sku_id: int, quantity: int, now: datetime
) -> CartItem:
    _check_quantity(quantity)
    sku = sellable_sku(session, sku_id)
    item = session.scalar(
        select(CartItem).where(CartItem.shopper_id == shopper_id, CartItem.sku_id == sku_id)
    )
    new_quantity = quantity + (item.quantity if item else 0)
    _check_quantity(new_quantity)
    if new_quantity > sku.stock:
        raise Conflict(
            "insufficient_stock",
            f"库存仅剩 {sku.stock} 件 / Only {sku.stock} left",
            {"quantity": "exceeds_stock"},
        )
    if item is None:
        count = session.scalar(
            select(func.count()).select_from(CartItem).where(CartItem.shopper_id == shopper_id)
        )
        if (count or 0) >= MAX_CART_LINES:
            raise Conflict("cart_full", "购物车已满 / Your cart is full")
        item = CartItem(
            shopper_id=shopper_id,
            sku_id=sku_id,
            quantity=new_quantity,
            added_at=now,
            updated_at=now,
        )
        session.add(item)
    else:
        item.quantity = new_quantity
        item.updated_at = now
    session.flush()
    return item


def _own_item(session: Session, shopper_id: int, item_id: int) -> CartItem:
    missing = NotFound("cart_item_not_found", "购物车中没有这件商品 / Item not in your cart")
    return get_or_raise(session, CartItem, item_id, missing, lambda i: i.shopper_id == shopper_id)


def update_cart_item(
    session: Session, *, shopper_id: int, item_id: int, quantity: int, now: datetime
) -> CartItem:
    _check_quantity(quantity)
    item = _own_item(session, shopper_id, item_id)
    sku = sellable_sku(session, item.sku_id)
    if quantity > sku.stock:
        raise Conflict(
            "insufficient_stock",
            f"库存仅剩 {sku.stock} 件 / Only {sku.stock} left",
            {"quantity": "exceeds_stock"},
        )
    item.quantity = quantity
    item.updated_at = now
    return item


def remove_cart_item(session: Session, *, shopper_id: int, item_id: int) -> None:
    session.delete(_own_item(session, shopper_id, item_id))


def remove_skus_from_cart(session: Session, shopper_id: int, sku_ids: list[int]) -> None:
    session.execute(
        delete(CartItem).where(CartItem.shopper_id == shopper_id, CartItem.sku_id.in_(sku_ids))
    )


def view_cart(session: Session, shopper_id: int) -> CartView:
    rows = session.execute(
        select(CartItem, Sku, Product)
        .join(Sku, Sku.id == CartItem.sku_id)
        .join(Product, Product.id == Sku.product_id)
        .where(CartItem.shopper_id == shopper_id)
        .order_by(CartItem.added_at.desc(), CartItem.id.desc())
    ).all()
    lines = []
    for item, sku, product in rows:
        problem = None
        if product.status is not ProductStatus.on_sale or not sku.is_active:
            problem = "off_sale"
        elif sku.stock < item.quantity:
            problem = "insufficient_stock"
        lines.append(
            CartLine(
                item_id=item.id,
                sku_id=sku.id,
                product_id=product.id,
                title=product.title,
                spec=dict(sku.spec),
                image_url=sku.image_url or (product.image_urls or [""])[0],
                unit_price_fen=sku.price_fen,
                quantity=item.quantity,
                stock=sku.stock,
                available=problem is None,
                problem=problem,
            )
        )
    return CartView(lines=lines)


def checkout_items(session: Session, shopper_id: int, item_ids: list[int]) -> list[tuple[int, int]]:
    """The (sku_id, quantity) pairs of the chosen cart lines; every id must be the
    shopper's own."""
    items = session.scalars(
        select(CartItem).where(CartItem.shopper_id == shopper_id, CartItem.id.in_(item_ids))
    ).all()
    found = {item.id for item in items}
    missing = [i for i in item_ids if i not in found]
    if missing:
        raise NotFound(
            "cart_item_not_found",
            "购物车中没有这些商品，请刷新 / Some items are no longer in your cart",
            {"cart_item_ids": ",".join(map(str, missing))},
        )
    return [(item.sku_id, item.quantity) for item in items]
