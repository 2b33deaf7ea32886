"""Refunds: recorded in the business transaction, submitted to the provider keyed by
``out_refund_no`` (so a retry never refunds twice), completed by the provider's
answer or its refund notification. Completion is a conditional update: whichever of
the answer, the notification or the reconciliation comes first applies the effects
exactly once: the after-sales status, then ``siyu.order.service.apply_refund`` (line
and order totals and the lifecycle's ``refunded`` steps: restock, coupons, event).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.aftersale.models import AfterSale
from siyu.aftersale.rules import AfterSaleStatus
from siyu.db import rowcount
from siyu.lifecycle import OrderLifecycle
from siyu.order.events import record_order_event
from siyu.order.models import Order
from siyu.order.service import apply_refund
from siyu.payment.models import Refund, RefundStatus
from siyu.payment.provider import PaymentProvider, RefundRequest, RefundState
from siyu.timers import schedule_timer

SUBMIT_TIMER = "refund.submit"
CHECK_TIMER = "refund.check"
# The route submits right away; the timer is the backstop if that attempt fails.
SUBMIT_BACKSTOP = timedelta(seconds=30)


def new_out_refund_no(now: datetime) -> str:
    return f"RF{now:%Y%m%d%H%M%S}{secrets.randbelow(10**8):08d}"


def get_refund(session: Session, out_refund_no: str) -> Refund | None:
    return session.scalar(select(Refund).where(Refund.out_refund_no == out_refund_no))


def create_refund(
    session: Session,
    *,
    order: Order,
    provider: str,
    amount_fen: int,
    reason: str,
    kind: str,
    lines: list[dict[str, Any]],
    restock: bool,
    aftersale_id: int | None,
    now: datetime,
    out_refund_no: str | None = None,
    submit_now: bool = False,
) -> Refund:
    """Record a refund; it is submitted by a timer: the backstop when the caller
    submits right after commit (a route), at once when nobody will (a worker's job:
    a failed group, a stray payment)."""
    refund = Refund(
        out_refund_no=out_refund_no or new_out_refund_no(now),
        order_id=order.id,
        aftersale_id=aftersale_id,
        kind=kind,
        provider=provider,
        amount_fen=amount_fen,
        lines=lines,
        restock=restock,
        reason=reason[:80],
        status=RefundStatus.pending,
        created_at=now,
    )
    session.add(refund)
    session.flush()
    due = now if submit_now else now + SUBMIT_BACKSTOP
    _look_again(session, SUBMIT_TIMER, refund, due_at=due, now=now)
    return refund


def _look_again(
    session: Session, timer: str, refund: Refund, *, due_at: datetime, now: datetime
) -> None:
    """Come back to ``refund`` at ``due_at``: resubmit it or check on it (``timer``)."""
    schedule_timer(
        session,
        timer,
        refund.out_refund_no,
        due_at=due_at,
        payload={"out_refund_no": refund.out_refund_no},
        now=now,
    )


def submit_refund(
    session: Session,
    provider: PaymentProvider,
    lifecycle: OrderLifecycle,
    *,
    out_refund_no: str,
    now: datetime,
) -> Refund | None:
    """Send (or re-send) a refund to the provider and apply its answer. Provider errors
    propagate so the caller's transaction rolls back and the timer tries again."""
    refund = get_refund(session, out_refund_no)
    if refund is None or refund.status not in (RefundStatus.pending, RefundStatus.processing):
        return refund
    order = session.get(Order, refund.order_id)
    assert order is not None
    state = provider.refund(
        RefundRequest(
            out_refund_no=refund.out_refund_no,
            out_trade_no=order.order_no,
            refund_fen=refund.amount_fen,
            total_fen=order.paid_fen or refund.amount_fen,
            reason=refund.reason,
        )
    )
    refund.submitted_at = refund.submitted_at or now
    _apply_answer(session, lifecycle, refund, state, now)
    if refund.status is RefundStatus.processing:
        # Not final yet: look again later unless the notification arrives first.
        _look_again(session, CHECK_TIMER, refund, due_at=now + timedelta(minutes=10), now=now)
    return refund


def check_refund(
    session: Session,
    provider: PaymentProvider,
    lifecycle: OrderLifecycle,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    refund = get_refund(session, payload["out_refund_no"])
    if refund is None or refund.status is not RefundStatus.processing:
        return
    state = provider.query_refund(refund.out_refund_no)
    _apply_answer(session, lifecycle, refund, state, now)
    if refund.status is RefundStatus.processing:
        raise TimeoutError("refund still processing")  # the timer retries with backoff


def _apply_answer(
    session: Session, lifecycle: OrderLifecycle, refund: Refund, state: RefundState, now: datetime
) -> None:
    apply_refund_state(
        session,
        lifecycle,
        refund,
        status=state.status,
        provider_refund_id=state.provider_refund_id,
        now=now,
    )


def apply_refund_state(
    session: Session,
    lifecycle: OrderLifecycle,
    refund: Refund,
    *,
    status: str,
    provider_refund_id: str | None,
    now: datetime,
) -> bool:
    """Returns True when this call changed the refund."""
    open_states = (RefundStatus.pending, RefundStatus.processing)
    if status == "SUCCESS":
        target = RefundStatus.succeeded
    elif status == "CLOSED":
        target = RefundStatus.failed
    elif status in ("PROCESSING", "ABNORMAL"):
        # Conditional too: the refund notification may have finished the refund while
        # this answer was in flight, and a blind write would reopen it.
        accepted = (
            rowcount(
                session.execute(
                    update(Refund)
                    .where(Refund.id == refund.id, Refund.status == RefundStatus.pending)
                    .values(
                        status=RefundStatus.processing,
                        provider_refund_id=provider_refund_id or refund.provider_refund_id,
                    )
                    .execution_options(synchronize_session=False)
                )
            )
            == 1
        )
        session.refresh(refund)
        return accepted
    else:
        return False
    won = (
        rowcount(
            session.execute(
                update(Refund)
                .where(Refund.id == refund.id, Refund.status.in_(open_states))
                .values(
                    status=target,
                    finished_at=now,
                    provider_refund_id=provider_refund_id or refund.provider_refund_id,
                )
                .execution_options(synchronize_session=False)
            )
        )
        == 1
    )
    session.refresh(refund)
    if not won:
        return False
    if target is RefundStatus.succeeded:
        _apply_refund_effects(session, lifecycle, refund, now)
    else:
        _set_aftersale_status(session, refund, AfterSaleStatus.refund_failed, now)
        record_order_event(
            session,
            "refund.failed",
            refund.order_id,
            now,
            {
                "order_id": refund.order_id,
                "out_refund_no": refund.out_refund_no,
                "amount_fen": refund.amount_fen,
            },
        )
    return True


def _apply_refund_effects(
    session: Session, lifecycle: OrderLifecycle, refund: Refund, now: datetime
) -> None:
    _set_aftersale_status(session, refund, AfterSaleStatus.refunded, now)
    apply_refund(
        session,
        lifecycle,
        order_id=refund.order_id,
        out_refund_no=refund.out_refund_no,
        amount_fen=refund.amount_fen,
        kind=refund.kind,
        # What the refund covers was decided when it was created: an after-sales
        # request's or a play's lines (with or without restocking); a stray payment
        # has none (the money was never the order's).
        restock=refund.restock,
        parts=list(refund.lines),
        now=now,
    )


def _set_aftersale_status(
    session: Session, refund: Refund, status: AfterSaleStatus, now: datetime
) -> None:
    if refund.aftersale_id is None:
        return
    session.execute(
        update(AfterSale)
        .where(AfterSale.id == refund.aftersale_id, AfterSale.status == AfterSaleStatus.refunding)
        .values(status=status, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Order)
        .where(Order.id == refund.order_id, Order.open_aftersale_id == refund.aftersale_id)
        .values(open_aftersale_id=None)
        .execution_options(synchronize_session=False)
    )
