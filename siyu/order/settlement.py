"""The settled moment: the ``order.settle`` timer scheduled by ``complete_order`` runs
the ``settled`` steps once the after-sales window has closed (the rules are in
:mod:`siyu.lifecycle`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from siyu.db import rowcount
from siyu.lifecycle import OrderLifecycle, OrderSettled, SettledLine
from siyu.order.events import record_order_event
from siyu.order.models import Order
from siyu.order.rules import OrderStatus, is_fully_refunded

# An open after-sales request holds the settled moment back; it is looked at again
# this often until the request is resolved (see siyu.lifecycle).
SETTLE_RECHECK = timedelta(hours=1)


def settle_order(
    lifecycle: OrderLifecycle,
    settle_after: timedelta,
    session: Session,
    payload: dict[str, Any],
    now: datetime,
) -> datetime | None:
    """The ``order.settle`` timer: run the ``settled`` steps once, when the after-sales
    window has closed with part of the order kept and no request open. Returns when to
    look again if the order has to wait (see the rules in :mod:`siyu.lifecycle`)."""
    order = session.get(Order, payload["order_id"])
    if order is None or order.settled_at is not None or order.completed_at is None:
        return None
    if is_fully_refunded([(li.quantity, li.refunded_quantity) for li in order.lines]):
        return None
    closes = order.completed_at + settle_after
    if now <= closes:  # the window still takes requests at its last instant
        return closes + timedelta(seconds=1)
    if order.open_aftersale_id is not None:
        return now + SETTLE_RECHECK
    won = session.execute(
        update(Order)
        .where(
            Order.id == order.id,
            Order.settled_at.is_(None),
            Order.open_aftersale_id.is_(None),
            Order.status == OrderStatus.completed,
        )
        .values(settled_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(won) != 1:
        # A request accepted in the window's last instant may have committed between
        # the check above and this update: wait for it like any open request.
        session.refresh(order)
        return now + SETTLE_RECHECK if order.settled_at is None else None
    session.refresh(order)
    event = OrderSettled(
        order_id=order.id,
        order_no=order.order_no,
        shopper_id=order.shopper_id,
        paid_fen=order.paid_fen,
        refunded_fen=order.refunded_fen,
        completed_at=order.completed_at,
        lines=tuple(
            SettledLine(
                order_line_id=li.id,
                sku_id=li.sku_id,
                product_id=li.product_id,
                quantity=li.quantity,
                payable_fen=li.payable_fen,
                refunded_quantity=li.refunded_quantity,
                refunded_fen=li.refunded_fen,
            )
            for li in order.lines
        ),
    )
    lifecycle.settled.run(session, event, now)
    return None


def announce_settled(session: Session, event: OrderSettled, now: datetime) -> None:
    record_order_event(
        session,
        "order.settled",
        event.order_id,
        now,
        {
            "order_id": event.order_id,
            "shopper_id": event.shopper_id,
            "paid_fen": event.paid_fen,
            "refunded_fen": event.refunded_fen,
        },
    )
