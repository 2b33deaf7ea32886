"""Order use cases: the lifecycle transitions (``mark_paid``, ``cancel_order``,
``apply_refund``, ``settle_order``: the only places an order is paid, cancelled,
refunded or settled, each running the steps subscribed on
:class:`siyu.lifecycle.OrderLifecycle`), shipping, receipt, the auto-confirm and
settle timers and order reads. Placement is in
:mod:`siyu.order.placement`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.db import get_or_raise, rowcount
from siyu.errors import Conflict, NotFound
from siyu.identity.audit import record_audit
from siyu.lifecycle import (
    OrderCancelled,
    OrderLifecycle,
    OrderPaid,
    OrderRefunded,
    PaidLine,
    RefundedLine,
)
from siyu.order.events import record_order_event
from siyu.order.models import Order, OrderLine
from siyu.order.placement import Address, checkout_quote, new_order_no, place_order
from siyu.order.rules import (
    AUTO_CONFIRM_TIMER,
    HOLD_WORDS,
    PAYMENT_TIMEOUT_TIMER,
    SETTLE_TIMER,
    OrderAction,
    OrderStatus,
    next_status,
    source_status,
)
from siyu.order.settlement import announce_settled
from siyu.outbox import OutboxEvent
from siyu.timers import cancel_timer, schedule_timer

# Placement lives in siyu.order.placement; callers still reach it here.
__all__ = [
    "AUTO_CONFIRM_TIMER",
    "PAYMENT_TIMEOUT_TIMER",
    "SETTLE_TIMER",
    "Address",
    "checkout_quote",
    "new_order_no",
    "place_order",
]


def get_order(session: Session, order_id: int) -> Order:
    missing = NotFound("order_not_found", "订单不存在 / Order not found")
    return get_or_raise(session, Order, order_id, missing)


def get_order_by_no(session: Session, order_no: str) -> Order | None:
    return session.scalar(select(Order).where(Order.order_no == order_no))


def get_shopper_order(session: Session, shopper_id: int, order_id: int) -> Order:
    """A shopper sees only their own orders; another's order is simply 'not found'."""
    missing = NotFound("order_not_found", "订单不存在 / Order not found")
    return get_or_raise(session, Order, order_id, missing, lambda o: o.shopper_id == shopper_id)


def transition(
    session: Session, order: Order, action: OrderAction, now: datetime, **values: Any
) -> bool:
    """Apply ``action`` with a conditional update; False if the order was not in the
    one state the action starts from (someone else got there first)."""
    source = source_status(action)
    target = next_status(source, action)
    assert target is not None
    result = session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == source)
        .values(status=target, **values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(order)
    return rowcount(result) == 1


def cancel_order(
    session: Session, lifecycle: OrderLifecycle, order: Order, *, reason: str, now: datetime
) -> bool:
    """The one place an unpaid order is cancelled (shopper, operator, payment timeout):
    pending_payment → cancelled, and only the winner of the conditional update runs the
    ``cancelled`` steps (stock and coupons come back exactly once). Returns False if the
    order had already left pending_payment."""
    if not transition(
        session, order, OrderAction.cancel, now, cancelled_at=now, cancel_reason=reason
    ):
        return False
    event = OrderCancelled(
        order_id=order.id,
        shopper_id=order.shopper_id,
        reason=reason,
        lines=_paid_lines(order),
        source=order.source,
    )
    lifecycle.cancelled.run(session, event, now)
    return True


def mark_paid(
    session: Session,
    lifecycle: OrderLifecycle,
    order: Order,
    *,
    provider: str,
    transaction_id: str | None,
    amount_fen: int,
    now: datetime,
) -> bool:
    """The one place a payment lands (sandbox and WeChat Pay notifications, the
    timeout's query): pending_payment → paid by a conditional update, then the ``paid``
    steps in the same transaction. A duplicate or late notification changes nothing
    and runs no step (False)."""
    if not transition(
        session,
        order,
        OrderAction.pay,
        now,
        paid_at=now,
        paid_fen=amount_fen,
        transaction_id=transaction_id,
        payment_provider=provider,
    ):
        return False
    event = OrderPaid(
        order_id=order.id,
        order_no=order.order_no,
        shopper_id=order.shopper_id,
        paid_fen=amount_fen,
        transaction_id=transaction_id,
        provider=provider,
        lines=_paid_lines(order),
        source=order.source,
    )
    lifecycle.paid.run(session, event, now)
    return True


def apply_refund(
    session: Session,
    lifecycle: OrderLifecycle,
    *,
    order_id: int,
    out_refund_no: str,
    amount_fen: int,
    kind: str,
    restock: bool,
    parts: list[dict[str, Any]],
    now: datetime,
) -> OrderRefunded:
    """The one place a succeeded refund reaches the order (the caller won the refund's
    own conditional update, so this runs once per refund): line and order totals, then
    the ``refunded`` steps. ``parts`` are ``{order_line_id, quantity, amount_fen}``."""
    order = get_order(session, order_id)
    skus = {line.id: line.sku_id for line in order.lines}
    for part in parts:
        session.execute(
            update(OrderLine)
            .where(OrderLine.id == part["order_line_id"], OrderLine.order_id == order.id)
            .values(
                refunded_fen=OrderLine.refunded_fen + part["amount_fen"],
                refunded_quantity=OrderLine.refunded_quantity + part["quantity"],
            )
            .execution_options(synchronize_session=False)
        )
    if parts:
        session.execute(
            update(Order)
            .where(Order.id == order.id)
            .values(refunded_fen=Order.refunded_fen + amount_fen)
            .execution_options(synchronize_session=False)
        )
    session.refresh(order)
    for line in order.lines:
        session.refresh(line)
    event = OrderRefunded(
        order_id=order.id,
        shopper_id=order.shopper_id,
        out_refund_no=out_refund_no,
        amount_fen=amount_fen,
        kind=kind,
        restock=restock,
        lines=tuple(
            RefundedLine(
                order_line_id=p["order_line_id"],
                sku_id=skus[p["order_line_id"]],
                quantity=p["quantity"],
                amount_fen=p["amount_fen"],
            )
            for p in parts
        ),
        fully_refunded=bool(parts)
        and all(line.refunded_quantity >= line.quantity for line in order.lines),
        source=order.source,
    )
    lifecycle.refunded.run(session, event, now)
    return event


def _paid_lines(order: Order) -> tuple[PaidLine, ...]:
    return tuple(
        PaidLine(
            order_line_id=line.id,
            sku_id=line.sku_id,
            product_id=line.product_id,
            quantity=line.quantity,
            payable_fen=line.payable_fen,
        )
        for line in order.lines
    )


def cancel_payment_timer(
    session: Session, event: OrderPaid | OrderCancelled, now: datetime
) -> None:
    cancel_timer(session, PAYMENT_TIMEOUT_TIMER, event.order_id)


def announce_paid(session: Session, event: OrderPaid, now: datetime) -> None:
    record_order_event(
        session,
        "order.paid",
        event.order_id,
        now,
        {
            "order_id": event.order_id,
            "order_no": event.order_no,
            "shopper_id": event.shopper_id,
            "amount_fen": event.paid_fen,
            "transaction_id": event.transaction_id,
        },
    )


def announce_cancelled(session: Session, event: OrderCancelled, now: datetime) -> None:
    record_order_event(
        session,
        "order.cancelled",
        event.order_id,
        now,
        {
            "order_id": event.order_id,
            "shopper_id": event.shopper_id,
            "reason": event.reason,
        },
    )


def announce_refunded(session: Session, event: OrderRefunded, now: datetime) -> None:
    record_order_event(
        session,
        "refund.succeeded",
        event.order_id,
        now,
        {
            "order_id": event.order_id,
            "shopper_id": event.shopper_id,
            "out_refund_no": event.out_refund_no,
            "amount_fen": event.amount_fen,
            "kind": event.kind,
            "lines": [
                {
                    "order_line_id": li.order_line_id,
                    "quantity": li.quantity,
                    "amount_fen": li.amount_fen,
                }
                for li in event.lines
            ],
        },
    )


def register_steps(lifecycle: OrderLifecycle) -> None:
    """The order's own steps. The outbox announcements run after every other
    package's steps, so a subscriber hears of finished work."""
    lifecycle.on_paid("order.cancel_payment_timer", cancel_payment_timer)
    lifecycle.on_cancelled("order.cancel_payment_timer", cancel_payment_timer)
    lifecycle.on_paid("order.announce_paid", announce_paid, announce=True)
    lifecycle.on_cancelled("order.announce_cancelled", announce_cancelled, announce=True)
    lifecycle.on_refunded("order.announce_refunded", announce_refunded, announce=True)
    lifecycle.on_settled("order.announce_settled", announce_settled, announce=True)


def cancel_by_shopper(
    session: Session, lifecycle: OrderLifecycle, *, shopper_id: int, order_id: int, now: datetime
) -> Order:
    order = get_shopper_order(session, shopper_id, order_id)
    if not cancel_order(session, lifecycle, order, reason="shopper", now=now):
        raise Conflict(
            "order_not_cancellable",
            "订单已支付或已取消，不能取消 / Only unpaid orders can be cancelled",
        )
    return order


def cancel_by_operator(
    session: Session, lifecycle: OrderLifecycle, *, actor_id: int, order_id: int, now: datetime
) -> Order:
    order = get_order(session, order_id)
    before = {"status": str(order.status)}
    if not cancel_order(session, lifecycle, order, reason="operator", now=now):
        raise Conflict(
            "order_not_cancellable",
            "只能取消待支付订单；已支付订单请走售后退款 / "
            "Only unpaid orders can be cancelled; refund paid ones via after-sales",
        )
    record_audit(
        session,
        operator_id=actor_id,
        action="order.cancel",
        target_type="order",
        target_id=order.id,
        before=before,
        after={"status": str(order.status)},
        now=now,
    )
    return order


def ship_order(
    session: Session,
    *,
    actor_id: int,
    order_id: int,
    carrier: str,
    tracking_no: str,
    auto_confirm_after: timedelta,
    now: datetime,
) -> Order:
    order = get_order(session, order_id)
    if order.refunded_fen >= order.paid_fen > 0:
        raise Conflict("order_refunded", "订单已全额退款，不能发货 / The order was refunded")
    if order.hold is not None:
        raise Conflict(
            "order_on_hold",
            f"订单暂不能发货：{HOLD_WORDS.get(order.hold, order.hold)} / The order is on "
            f"hold ({order.hold}): it ships when its group completes",
        )
    if order.open_aftersale_id is not None:
        raise Conflict(
            "aftersale_open",
            "订单有待处理的售后申请，请先处理 / Resolve the open "
            "after-sales request before shipping",
        )
    before = {"status": str(order.status)}
    if not transition(
        session,
        order,
        OrderAction.ship,
        now,
        shipped_at=now,
        carrier=carrier,
        tracking_no=tracking_no,
    ):
        raise Conflict(
            "order_not_shippable", "只有已支付的订单可以发货 / Only paid orders can be shipped"
        )
    schedule_timer(
        session,
        AUTO_CONFIRM_TIMER,
        order.id,
        due_at=now + auto_confirm_after,
        payload={"order_id": order.id},
        now=now,
    )
    record_audit(
        session,
        operator_id=actor_id,
        action="order.ship",
        target_type="order",
        target_id=order.id,
        before=before,
        after={"status": str(order.status), "carrier": carrier, "tracking_no": tracking_no},
        now=now,
    )
    record_order_event(
        session,
        "order.shipped",
        order.id,
        now,
        {
            "order_id": order.id,
            "shopper_id": order.shopper_id,
            "carrier": carrier,
            "tracking_no": tracking_no,
        },
    )
    return order


def complete_order(
    session: Session, order: Order, *, by: str, settle_after: timedelta, now: datetime
) -> bool:
    """shipped → completed (the shopper's receipt or the auto-confirm timer), and the
    ``order.settle`` timer for when the after-sales window (``settle_after``) closes."""
    if not transition(session, order, OrderAction.confirm, now, completed_at=now):
        return False
    cancel_timer(session, AUTO_CONFIRM_TIMER, order.id)
    schedule_timer(
        session,
        SETTLE_TIMER,
        order.id,
        due_at=now + settle_after,
        payload={"order_id": order.id},
        now=now,
    )
    record_order_event(
        session,
        "order.completed",
        order.id,
        now,
        {
            "order_id": order.id,
            "shopper_id": order.shopper_id,
            "by": by,
            "total_fen": order.total_fen,
        },
    )
    return True


def confirm_receipt(
    session: Session, *, shopper_id: int, order_id: int, settle_after: timedelta, now: datetime
) -> Order:
    order = get_shopper_order(session, shopper_id, order_id)
    if not complete_order(session, order, by="shopper", settle_after=settle_after, now=now):
        raise Conflict(
            "order_not_shipped", "订单尚未发货，不能确认收货 / The order has not shipped yet"
        )
    return order


def auto_confirm(
    settle_after: timedelta, session: Session, payload: dict[str, Any], now: datetime
) -> None:
    order = session.get(Order, payload["order_id"])
    if order is not None:
        complete_order(session, order, by="system", settle_after=settle_after, now=now)


def list_shopper_orders(
    session: Session,
    shopper_id: int,
    *,
    status: OrderStatus | None,
    limit: int,
    before_id: int | None,
) -> list[Order]:
    stmt = select(Order).where(Order.shopper_id == shopper_id)
    if status is not None:
        stmt = stmt.where(Order.status == status)
    if before_id is not None:
        stmt = stmt.where(Order.id < before_id)
    return list(session.scalars(stmt.order_by(Order.id.desc()).limit(min(max(limit, 1), 50))))


@dataclass(frozen=True)
class OrderFilter:
    status: OrderStatus | None = None
    shopper_id: int | None = None
    order_no: str | None = None
    placed_from: datetime | None = None
    placed_to: datetime | None = None
    min_total_fen: int | None = None
    max_total_fen: int | None = None
    flagged: bool | None = None


ORDER_SORTS = ("placed_desc", "placed_asc", "total_desc", "total_asc")


def search_orders(
    session: Session,
    f: OrderFilter,
    *,
    limit: int = 50,
    before_id: int | None = None,
    sort: str | None = None,
    offset: int = 0,
) -> list[Order]:
    """Orders matching ``f``; by id, newest first, unless ``sort`` (one of
    :data:`ORDER_SORTS`: by time placed or total, either way) is given."""
    stmt = select(Order)
    if f.status is not None:
        stmt = stmt.where(Order.status == f.status)
    if f.shopper_id is not None:
        stmt = stmt.where(Order.shopper_id == f.shopper_id)
    if f.order_no:
        stmt = stmt.where(Order.order_no == f.order_no)
    if f.placed_from is not None:
        stmt = stmt.where(Order.placed_at >= f.placed_from)
    if f.placed_to is not None:
        stmt = stmt.where(Order.placed_at < f.placed_to)
    if f.min_total_fen is not None:
        stmt = stmt.where(Order.total_fen >= f.min_total_fen)
    if f.max_total_fen is not None:
        stmt = stmt.where(Order.total_fen <= f.max_total_fen)
    if f.flagged is not None:
        stmt = stmt.where(
            Order.payment_flag.is_not(None) if f.flagged else Order.payment_flag.is_(None)
        )
    if before_id is not None:
        stmt = stmt.where(Order.id < before_id)
    key = {
        "placed_desc": (Order.placed_at.desc(), Order.id.desc()),
        "placed_asc": (Order.placed_at.asc(), Order.id.asc()),
        "total_desc": (Order.total_fen.desc(), Order.placed_at.desc(), Order.id.desc()),
        "total_asc": (Order.total_fen.asc(), Order.placed_at.desc(), Order.id.desc()),
    }.get(sort or "", (Order.id.desc(),))
    stmt = stmt.order_by(*key).offset(max(offset, 0))
    return list(session.scalars(stmt.limit(min(max(limit, 1), 200))))


def order_timeline(session: Session, order_id: int) -> list[OutboxEvent]:
    """What happened to an order, from its domain events, oldest first."""
    return list(
        session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.aggregate_type == "order", OutboxEvent.aggregate_id == str(order_id))
            .order_by(OutboxEvent.id)
        )
    )
