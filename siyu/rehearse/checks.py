"""What the database says after a rehearsal: the orders of the run's shoppers (their
openid is ``sandbox-rehearse-<run>-…``) and whether stock adds up per SKU."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.catalog.models import Sku
from siyu.identity.models import Shopper
from siyu.order.models import Order, OrderLine
from siyu.order.rules import OrderStatus

PAID_STATUSES = (OrderStatus.paid, OrderStatus.shipped, OrderStatus.completed)


def openid_prefix(run_id: str) -> str:
    return f"sandbox-rehearse-{run_id}-"


def stock_snapshot(session: Session) -> dict[int, int]:
    return {int(i): int(s) for i, s in session.execute(select(Sku.id, Sku.stock))}


def run_orders(session: Session, run_id: str) -> dict[str, Any]:
    """The run's shoppers, and the orders they placed (any status) and paid."""
    rows = session.execute(
        select(Order.id, Order.status)
        .join(Shopper, Shopper.id == Order.shopper_id)
        .where(Shopper.openid.startswith(openid_prefix(run_id), autoescape=True))
    ).all()
    shoppers = session.scalar(
        select(func.count())
        .select_from(Shopper)
        .where(Shopper.openid.startswith(openid_prefix(run_id), autoescape=True))
    )
    placed = sorted(int(i) for i, _ in rows)
    paid = sorted(int(i) for i, status in rows if status in PAID_STATUSES)
    return {
        "shoppers": int(shoppers or 0),
        "placed": len(placed),
        "paid": len(paid),
        "placed_ids": placed,
        "paid_ids": paid,
    }


def stock_check(session: Session, before: dict[int, int], since: datetime) -> dict[str, Any]:
    """Every SKU's stock is ≥ 0, and what it lost since ``before`` equals the units of
    the orders placed since ``since`` that still hold stock (not cancelled)."""
    after = stock_snapshot(session)
    held: dict[int, int] = {
        int(sku): int(units)
        for sku, units in session.execute(
            select(OrderLine.sku_id, func.sum(OrderLine.quantity))
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.placed_at >= since, Order.status != OrderStatus.cancelled)
            .group_by(OrderLine.sku_id)
        )
    }
    negative = [{"sku_id": s, "stock": n} for s, n in sorted(after.items()) if n < 0]
    oversold = []
    for sku_id, stock in sorted(after.items()):
        taken = before.get(sku_id, stock) - stock
        if taken != held.get(sku_id, 0):
            oversold.append(
                {"sku_id": sku_id, "stock_taken": taken, "units_ordered": held.get(sku_id, 0)}
            )
    return {
        "skus_checked": len(after),
        "negative": negative,
        "oversold": oversold,
        "units_sold": sum(held.values()),
    }
