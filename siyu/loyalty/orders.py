"""Points on the order lifecycle: spent at placement, earned (pending) at payment,
credited when the order settles, reversed line by line on refunds, given back on
cancel. Each step keys its ledger entries by the order or refund, so it applies once
however often it is called; ``points_order_lines`` keeps what each line earned and
spent and what has come back, so every reversal is exact to the point."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.db import rowcount
from siyu.lifecycle import OrderCancelled, OrderLifecycle, OrderPaid, OrderRefunded, OrderSettled
from siyu.loyalty import ledger
from siyu.loyalty.ledger import Source
from siyu.loyalty.models import PointsEntry, PointsOrderLine
from siyu.loyalty.program import PointsProgram
from siyu.loyalty.rules import EntryKind, earned_points, expires_at, share_back, split_points
from siyu.order.models import Order, OrderLine, OrderLineAllocation
from siyu.pricing.info import DiscountSource


def _spend_key(order_id: int) -> str:
    return f"order:{order_id}:spend"


def _source(order_id: int) -> Source:
    return Source("order", str(order_id))


def _rows(session: Session, order_id: int) -> dict[int, PointsOrderLine]:
    return {
        row.order_line_id: row
        for row in session.scalars(
            select(PointsOrderLine).where(PointsOrderLine.order_id == order_id)
        )
    }


def _row(
    session: Session, rows: dict[int, PointsOrderLine], line: OrderLine, shopper_id: int
) -> PointsOrderLine:
    if line.id not in rows:
        rows[line.id] = PointsOrderLine(
            order_line_id=line.id,
            order_id=line.order_id,
            shopper_id=shopper_id,
            earned=0,
            earn_reversed=0,
            spent=0,
            spent_returned=0,
        )
        session.add(rows[line.id])
    return rows[line.id]


def _lines(session: Session, order_id: int) -> list[OrderLine]:
    return list(
        session.scalars(
            select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id)
        )
    )


def _allocated(session: Session, order_id: int, source: DiscountSource | None) -> dict[int, int]:
    """Order line id → fen allocated to it (by one source, or by all of them)."""
    stmt = select(
        OrderLineAllocation.order_line_id, func.sum(OrderLineAllocation.amount_fen)
    ).where(OrderLineAllocation.order_id == order_id)
    if source is not None:
        stmt = stmt.where(OrderLineAllocation.source == source.value)
    rows = session.execute(stmt.group_by(OrderLineAllocation.order_line_id)).all()
    return {int(line_id): int(amount) for line_id, amount in rows}


def spend_for_order(
    session: Session, *, shopper_id: int, order_id: int, points: int, now: datetime
) -> None:
    """Debit the points a placed order redeems (guarded: raises
    :class:`~siyu.loyalty.ledger.InsufficientPoints`), split over the lines in proportion
    to the points allocation of each (the placement's allocation rows)."""
    if points <= 0:
        return
    ledger.debit(
        session,
        shopper_id=shopper_id,
        points=points,
        kind=EntryKind.order_spend,
        key=_spend_key(order_id),
        now=now,
        reason="订单抵扣 / Paid part of an order",
        source=_source(order_id),
    )
    lines = _lines(session, order_id)
    by_points = _allocated(session, order_id, DiscountSource.points)
    parts = split_points(points, [by_points.get(li.id, 0) for li in lines])
    rows = _rows(session, order_id)
    for line, part in zip(lines, parts, strict=True):
        _row(session, rows, line, shopper_id).spent = part
    session.flush()


def _give_back_spent(
    session: Session, order_id: int, wanted: dict[int, int], key: str, now: datetime
) -> None:
    """Return spent points: line id → how many of its spent points have come back."""
    spend_id = session.scalar(
        select(PointsEntry.id).where(PointsEntry.idempotency_key == _spend_key(order_id))
    )
    if spend_id is None or ledger.is_applied(session, key):
        return
    rows = _rows(session, order_id)
    total = 0
    for line_id, target in wanted.items():
        row = rows.get(line_id)
        if row is None or target <= row.spent_returned:
            continue
        moved = session.execute(
            update(PointsOrderLine)
            .where(
                PointsOrderLine.order_line_id == line_id,
                PointsOrderLine.spent_returned == row.spent_returned,
            )
            .values(spent_returned=target)
            .execution_options(synchronize_session=False)
        )
        if rowcount(moved) == 1:
            total += target - row.spent_returned
    if total:
        ledger.give_back(
            session,
            spend_entry_id=spend_id,
            points=total,
            kind=EntryKind.order_spend_returned,
            key=key,
            now=now,
            reason="退回订单抵扣的积分 / Points back from an order",
            source=_source(order_id),
        )


def return_on_cancel(session: Session, event: OrderCancelled, now: datetime) -> None:
    rows = _rows(session, event.order_id)
    _give_back_spent(
        session,
        event.order_id,
        {line_id: row.spent for line_id, row in rows.items()},
        f"order:{event.order_id}:cancel",
        now,
    )


def pend_on_paid(program: PointsProgram) -> Callable[[Session, OrderPaid, datetime], None]:
    def pend_points(session: Session, event: OrderPaid, now: datetime) -> None:
        """Earned points, pending until the order settles: on what each line was paid
        (its shelf subtotal less every allocated discount)."""
        lines = _lines(session, event.order_id)
        discounts = _allocated(session, event.order_id, None)
        paid = [max(li.unit_price_fen * li.quantity - discounts.get(li.id, 0), 0) for li in lines]
        multiplier = program.multiplier(session, event.shopper_id, now)
        total = earned_points(sum(paid), program.rules(session).earning, multiplier)
        if total <= 0:
            return
        key = f"order:{event.order_id}:earn"
        if ledger.is_applied(session, key):
            return
        rows = _rows(session, event.order_id)
        for line, part in zip(lines, split_points(total, paid), strict=True):
            _row(session, rows, line, event.shopper_id).earned = part
        session.flush()
        ledger.pend(
            session,
            shopper_id=event.shopper_id,
            points=total,
            key=key,
            now=now,
            reason="订单奖励积分（售后期结束后到账）/ Earned on an order (credited after the "
            "after-sales window)",
            source=_source(event.order_id),
        )

    return pend_points


def reverse_on_refund(session: Session, event: OrderRefunded, now: datetime) -> None:
    """Each refunded line gives back its share of the points it earned (by refunded
    fen) and gets back its share of the points it spent (by refunded units)."""
    if not event.lines:
        return
    rows = _rows(session, event.order_id)
    lines = {li.id: li for li in _lines(session, event.order_id)}
    earn_back = 0
    spent_target: dict[int, int] = {}
    for line_id in sorted({li.order_line_id for li in event.lines}):
        row, line = rows.get(line_id), lines[line_id]
        if row is None:
            continue
        target = share_back(row.earned, line.refunded_fen, line.payable_fen)
        if target > row.earn_reversed:
            moved = session.execute(
                update(PointsOrderLine)
                .where(
                    PointsOrderLine.order_line_id == line_id,
                    PointsOrderLine.earn_reversed == row.earn_reversed,
                )
                .values(earn_reversed=target)
                .execution_options(synchronize_session=False)
            )
            if rowcount(moved) == 1:
                earn_back += target - row.earn_reversed
        spent_target[line_id] = share_back(row.spent, line.refunded_quantity, line.quantity)
    key = f"refund:{event.out_refund_no}"
    if earn_back:
        _take_back_earned(session, event.order_id, event.shopper_id, earn_back, key + ":earn", now)
    _give_back_spent(session, event.order_id, spent_target, key + ":spend", now)
    session.expire_all()


def _take_back_earned(
    session: Session, order_id: int, shopper_id: int, points: int, key: str, now: datetime
) -> None:
    reason = "退款扣回订单奖励积分 / Earned points taken back by a refund"
    settled = session.scalar(select(Order.settled_at).where(Order.id == order_id))
    if settled is None:
        ledger.unpend(
            session, shopper_id=shopper_id, points=points, kind=EntryKind.order_earn_reversed,
            key=key, now=now, reason=reason, source=_source(order_id),
        )  # fmt: skip
        return
    # Credited already (a refund after the window, which after-sales rules prevent):
    # take what the shopper still has, never below zero.
    points = min(points, ledger.spendable(session, shopper_id, now))
    if points > 0:
        ledger.debit(
            session, shopper_id=shopper_id, points=points, kind=EntryKind.order_earn_reversed,
            key=key, now=now, reason=reason, source=_source(order_id),
        )  # fmt: skip


def credit_on_settled(program: PointsProgram) -> Callable[[Session, OrderSettled, datetime], None]:
    def credit_points(session: Session, event: OrderSettled, now: datetime) -> None:
        """What the order still earns (earned less refunds) becomes spendable, as a lot
        that expires by the program's rule."""
        rows = _rows(session, event.order_id).values()
        points = sum(row.earned - row.earn_reversed for row in rows)
        if points <= 0:
            return
        ledger.confirm_pending(
            session,
            shopper_id=event.shopper_id,
            points=points,
            key=f"order:{event.order_id}:settle",
            expires_at=expires_at(now, program.rules(session).expiry),
            now=now,
            reason="订单积分到账 / Points from an order credited",
            source=_source(event.order_id),
        )

    return credit_points


def register_steps(lifecycle: OrderLifecycle, program: PointsProgram) -> None:
    lifecycle.on_paid("loyalty.pend_points", pend_on_paid(program))
    lifecycle.on_cancelled("loyalty.return_spent_points", return_on_cancel)
    lifecycle.on_refunded("loyalty.reverse_points", reverse_on_refund)
    lifecycle.on_settled("loyalty.credit_points", credit_on_settled(program))
