"""After-sales use cases: the shopper asks, the operator approves (the refund goes to
the payment provider) or rejects with a reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.aftersale.models import AfterSale
from siyu.aftersale.rules import (
    AfterSaleKind,
    AfterSaleStatus,
    LineState,
    is_within_window,
    line_refund_fen,
    refunds_everything,
)
from siyu.db import get_or_raise, rowcount
from siyu.errors import Conflict, InvalidInput, NotFound
from siyu.identity.audit import AuditTrail
from siyu.identity.models import Shopper
from siyu.loyalty.tiers.service import is_priority_aftersale
from siyu.order.events import record_order_event
from siyu.order.models import Order
from siyu.order.rules import OrderStatus
from siyu.order.service import get_order, get_shopper_order
from siyu.payment.models import Refund
from siyu.payment.refunds import create_refund


def _snapshot(a: AfterSale) -> dict[str, Any]:
    return {
        "status": str(a.status),
        "refund_fen": a.refund_fen,
        "decision_reason": a.decision_reason,
    }


_AFTERSALES = AuditTrail("aftersale", _snapshot)


def request_aftersale(
    session: Session,
    *,
    shopper_id: int,
    order_id: int,
    kind: AfterSaleKind,
    reason: str,
    lines: list[tuple[int, int]] | None,
    window_days: int,
    now: datetime,
) -> AfterSale:
    """``lines`` = [(order_line_id, units)]; None asks for everything not yet refunded."""
    order = get_shopper_order(session, shopper_id, order_id)
    if order.status not in (OrderStatus.paid, OrderStatus.shipped, OrderStatus.completed):
        raise Conflict(
            "order_not_refundable",
            "只有已支付的订单可以申请售后 / Only paid orders can ask for after-sales",
        )
    if not is_within_window(order.completed_at, now, window_days):
        raise Conflict(
            "aftersale_window_closed",
            f"已超过确认收货后 {window_days} 天的售后期限 / "
            f"The {window_days}-day after-sales window has closed",
        )
    if kind is AfterSaleKind.return_refund and order.status is OrderStatus.paid:
        raise InvalidInput(
            "nothing_to_return",
            "订单尚未发货，请选择仅退款 / Not shipped yet: choose refund only",
            {"kind": "not_shipped"},
        )
    # What each line was paid: its shelf subtotal less its allocation rows.
    states = {
        li.id: LineState(
            li.id,
            li.quantity,
            max(li.unit_price_fen * li.quantity - li.discount_fen, 0),
            li.refunded_quantity,
            li.refunded_fen,
        )
        for li in order.lines
    }
    if lines is None:
        wanted = {
            i: s.quantity - s.refunded_quantity
            for i, s in states.items()
            if s.quantity > s.refunded_quantity
        }
    else:
        wanted = {}
        for line_id, units in lines:
            wanted[line_id] = wanted.get(line_id, 0) + units
    if not wanted:
        raise Conflict("nothing_to_refund", "订单已全部退款 / Everything was already refunded")
    parts = []
    for line_id, units in wanted.items():
        state = states.get(line_id)
        if state is None:
            raise InvalidInput(
                "bad_line",
                f"订单中没有商品行 {line_id} / No line {line_id} in this order",
                {"lines": f"line {line_id} not in order"},
            )
        try:
            amount = line_refund_fen(state, units)
        except ValueError as exc:
            raise InvalidInput(
                "bad_units",
                f"商品行 {line_id} 可退数量不足 / Line {line_id}: {exc}",
                {"lines": f"line {line_id} units"},
            ) from exc
        parts.append({"order_line_id": line_id, "quantity": units, "amount_fen": amount})
    refund_fen = sum(p["amount_fen"] for p in parts)
    if order.status is OrderStatus.paid and refunds_everything(list(states.values()), wanted):
        refund_fen += order.shipping_fen
    aftersale = AfterSale(
        order_id=order.id,
        shopper_id=shopper_id,
        kind=kind,
        status=AfterSaleStatus.pending,
        reason=reason,
        lines=parts,
        refund_fen=refund_fen,
        requested_at=now,
        priority=is_priority_aftersale(session, shopper_id),
    )
    session.add(aftersale)
    session.flush()
    claimed = (
        rowcount(
            session.execute(
                update(Order)
                .where(Order.id == order.id, Order.open_aftersale_id.is_(None))
                .values(open_aftersale_id=aftersale.id)
                .execution_options(synchronize_session=False)
            )
        )
        == 1
    )
    if not claimed:
        raise Conflict(
            "aftersale_open",
            "该订单已有处理中的售后申请 / This order already has an open after-sales request",
        )
    record_order_event(
        session,
        "aftersale.requested",
        order.id,
        now,
        {
            "aftersale_id": aftersale.id,
            "order_id": order.id,
            "kind": str(kind),
            "refund_fen": refund_fen,
        },
    )
    return aftersale


def get_aftersale(session: Session, aftersale_id: int) -> AfterSale:
    missing = NotFound("aftersale_not_found", "售后申请不存在 / After-sales request not found")
    return get_or_raise(session, AfterSale, aftersale_id, missing)


def get_shopper_aftersale(session: Session, shopper_id: int, aftersale_id: int) -> AfterSale:
    missing = NotFound("aftersale_not_found", "售后申请不存在 / After-sales request not found")
    return get_or_raise(
        session, AfterSale, aftersale_id, missing, lambda a: a.shopper_id == shopper_id
    )


def _decide(session: Session, aftersale: AfterSale, target: AfterSaleStatus, **values: Any) -> bool:
    won = (
        rowcount(
            session.execute(
                update(AfterSale)
                .where(AfterSale.id == aftersale.id, AfterSale.status == AfterSaleStatus.pending)
                .values(status=target, **values)
                .execution_options(synchronize_session=False)
            )
        )
        == 1
    )
    session.refresh(aftersale)
    return won


def _release_order(session: Session, aftersale: AfterSale) -> None:
    session.execute(
        update(Order)
        .where(Order.id == aftersale.order_id, Order.open_aftersale_id == aftersale.id)
        .values(open_aftersale_id=None)
        .execution_options(synchronize_session=False)
    )


def approve_aftersale(
    session: Session, *, actor_id: int, aftersale_id: int, provider: str, now: datetime
) -> Refund:
    """Approve and record the refund; the caller submits it to the provider after commit
    (and the refund timer retries if that fails)."""
    aftersale = get_aftersale(session, aftersale_id)
    with _AFTERSALES.change(
        session, aftersale, "approve", operator_id=actor_id, now=now
    ) as audited:
        if not _decide(
            session, aftersale, AfterSaleStatus.refunding, decided_by=actor_id, decided_at=now
        ):
            raise Conflict("aftersale_decided", "该申请已处理 / This request was already decided")
        order = get_order(session, aftersale.order_id)
        refund = create_refund(
            session,
            order=order,
            provider=order.payment_provider or provider,
            amount_fen=aftersale.refund_fen,
            reason=f"售后退款 {aftersale.reason}"[:80],
            kind="aftersale",
            lines=list(aftersale.lines),
            restock=aftersale.kind is AfterSaleKind.return_refund,
            aftersale_id=aftersale.id,
            now=now,
        )
        audited["out_refund_no"] = refund.out_refund_no
    record_order_event(
        session,
        "aftersale.approved",
        order.id,
        now,
        {
            "aftersale_id": aftersale.id,
            "order_id": order.id,
            "out_refund_no": refund.out_refund_no,
        },
    )
    return refund


def reject_aftersale(
    session: Session, *, actor_id: int, aftersale_id: int, reason: str, now: datetime
) -> AfterSale:
    if not reason.strip():
        raise InvalidInput(
            "reason_required",
            "请填写拒绝原因 / Give a reason for rejecting",
            {"reason": "required"},
        )
    aftersale = get_aftersale(session, aftersale_id)
    with _AFTERSALES.change(session, aftersale, "reject", operator_id=actor_id, now=now):
        if not _decide(
            session,
            aftersale,
            AfterSaleStatus.rejected,
            decided_by=actor_id,
            decided_at=now,
            decision_reason=reason,
            finished_at=now,
        ):
            raise Conflict("aftersale_decided", "该申请已处理 / This request was already decided")
        _release_order(session, aftersale)
    record_order_event(
        session,
        "aftersale.rejected",
        aftersale.order_id,
        now,
        {"aftersale_id": aftersale.id, "reason": reason},
    )
    return aftersale


def cancel_aftersale(
    session: Session, *, shopper_id: int, aftersale_id: int, now: datetime
) -> AfterSale:
    aftersale = get_shopper_aftersale(session, shopper_id, aftersale_id)
    if not _decide(session, aftersale, AfterSaleStatus.cancelled, finished_at=now):
        raise Conflict("aftersale_decided", "该申请已处理，不能撤销 / Already decided")
    _release_order(session, aftersale)
    return aftersale


def list_aftersales(
    session: Session,
    *,
    status: AfterSaleStatus | None = None,
    shopper_id: int | None = None,
    limit: int = 50,
) -> list[AfterSale]:
    stmt = select(AfterSale)
    if status is not None:
        stmt = stmt.where(AfterSale.status == status)
    if shopper_id is not None:
        stmt = stmt.where(AfterSale.shopper_id == shopper_id)
    # Priority (the tier's 极速售后) first, then newest first.
    newest_first = stmt.order_by(
        AfterSale.priority.desc(), AfterSale.requested_at.desc(), AfterSale.id.desc()
    )
    return list(session.scalars(newest_first.limit(min(limit, 200))))


@dataclass(frozen=True)
class RefundAsk:
    """What an operator confirms before approving: how much goes back to whom, for
    which order."""

    aftersale: AfterSale
    order_no: str
    shopper_name: str

    @property
    def approved(self) -> bool:
        """Whether it was approved already (refunding, refunded or failed to refund)."""
        return self.aftersale.status in APPROVED_STATUSES


APPROVED_STATUSES = frozenset(
    {AfterSaleStatus.refunding, AfterSaleStatus.refunded, AfterSaleStatus.refund_failed}
)


def refund_ask(session: Session, aftersale_id: int) -> RefundAsk:
    aftersale = get_aftersale(session, aftersale_id)
    order = get_order(session, aftersale.order_id)
    shopper = session.get(Shopper, aftersale.shopper_id)
    name = shopper.nickname if shopper is not None and shopper.nickname else ""
    return RefundAsk(aftersale, order.order_no, name or f"#{aftersale.shopper_id}")


def order_numbers(session: Session, order_ids: list[int]) -> dict[int, str]:
    """Each order's number by id (for lists that show the order, not its id)."""
    if not order_ids:
        return {}
    rows = session.execute(select(Order.id, Order.order_no).where(Order.id.in_(order_ids)))
    return {order_id: order_no for order_id, order_no in rows}
