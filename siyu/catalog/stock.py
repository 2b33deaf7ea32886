"""Stock: the only module that changes a SKU's stock or a product's sales count.

Stock is taken when an order is placed (reserve), given back when an unpaid order is
cancelled (release) or returned goods come back (restock), and moved by operators
(adjust). Each is one guarded conditional update that returns whether it applied, so
concurrent orders can never drive stock below zero. Several SKUs are always locked in
id order so concurrent multi-line orders and cancels cannot deadlock. Flash sales and
group buys take stock through here too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from siyu.catalog.models import Product, Sku
from siyu.db import rowcount
from siyu.lifecycle import OrderCancelled, OrderLifecycle, OrderPaid, OrderRefunded


def _change(session: Session, sku_id: int, delta: int, expected: int | None = None) -> bool:
    guards = [Sku.id == sku_id, Sku.stock + delta >= 0]
    if expected is not None:
        guards.append(Sku.stock == expected)
    result = session.execute(
        update(Sku)
        .where(*guards)
        .values(stock=Sku.stock + delta)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def reserve(session: Session, sku_id: int, quantity: int) -> bool:
    """Take ``quantity`` units if that many are left."""
    return _change(session, sku_id, -quantity)


def release(session: Session, sku_id: int, quantity: int) -> bool:
    """Give back units an unpaid order had taken."""
    return _change(session, sku_id, quantity)


def restock(session: Session, sku_id: int, quantity: int) -> bool:
    """Put returned units back on the shelf."""
    return _change(session, sku_id, quantity)


def adjust(session: Session, sku_id: int, delta: int, expected: int | None = None) -> bool:
    """An operator's change; refused (False) if it would leave less than zero, or, with
    ``expected``, if the stock is no longer what the operator confirmed a change from."""
    return _change(session, sku_id, delta, expected)


def reserve_all(session: Session, wanted: Iterable[tuple[int, int]]) -> int | None:
    """Reserve every (sku_id, quantity) in SKU id order; the first SKU that is short,
    or None when all applied (the caller rolls back on a shortage)."""
    for sku_id, quantity in sorted(wanted):
        if not reserve(session, sku_id, quantity):
            return sku_id
    return None


def sell(session: Session, product_id: int, quantity: int) -> bool:
    """Count paid units in the product's sales (the "sales" sort)."""
    result = session.execute(
        update(Product)
        .where(Product.id == product_id)
        .values(sales_count=Product.sales_count + quantity)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def count_sales(session: Session, event: OrderPaid, now: datetime) -> None:
    for line in sorted(event.lines, key=lambda li: li.product_id):
        sell(session, line.product_id, line.quantity)


def release_order_stock(session: Session, event: OrderCancelled, now: datetime) -> None:
    for line in sorted(event.lines, key=lambda li: li.sku_id):
        release(session, line.sku_id, line.quantity)


def restock_returns(session: Session, event: OrderRefunded, now: datetime) -> None:
    if not event.restock:
        return
    for line in sorted(event.lines, key=lambda li: li.sku_id):
        restock(session, line.sku_id, line.quantity)


def register_steps(lifecycle: OrderLifecycle) -> None:
    lifecycle.on_paid("catalog.count_sales", count_sales)
    lifecycle.on_cancelled("catalog.release_stock", release_order_stock)
    lifecycle.on_refunded("catalog.restock_returns", restock_returns)
