"""Payment use cases: start a payment, handle provider notifications (the only path
that marks an order paid), and reconcile unpaid orders when their timer fires.

Notification handling follows specs/wechat.md §5.5: verify on the raw bytes →
record the notification id (a duplicate id stops here) → check the amount →
``siyu.order.service.mark_paid`` (the conditional ``pending_payment → paid`` update and
the lifecycle's ``paid`` steps). A notification for an
order already paid, shipped or completed changes nothing (litemall #271); money
that arrives for a cancelled order, or a second payment, is refunded automatically.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.config import MIN_TIME_LEFT_TO_PAY
from siyu.errors import Conflict, Unauthorized, UpstreamUnavailable
from siyu.identity.models import Shopper
from siyu.lifecycle import OrderLifecycle
from siyu.order.events import record_order_event
from siyu.order.models import Order
from siyu.order.rules import POST_PAYMENT, OrderStatus
from siyu.order.service import cancel_order, get_order_by_no, get_shopper_order, mark_paid
from siyu.payment.models import PaymentNotification
from siyu.payment.provider import (
    InvalidNotification,
    PaymentNotice,
    PaymentProvider,
    PrepayRequest,
    ProviderUnavailable,
)
from siyu.payment.refunds import apply_refund_state, create_refund, get_refund

log = logging.getLogger(__name__)


def start_payment(
    session: Session, provider: PaymentProvider, *, shopper_id: int, order_id: int, now: datetime
) -> dict[str, str]:
    order = get_shopper_order(session, shopper_id, order_id)
    if order.status is not OrderStatus.pending_payment:
        raise Conflict(
            "order_not_payable", "订单不是待支付状态 / The order is not awaiting payment"
        )
    if order.pay_deadline - now < MIN_TIME_LEFT_TO_PAY:
        raise Conflict(
            "payment_expired", "订单支付已超时，请重新下单 / Payment time is up, please order again"
        )
    shopper = session.get(Shopper, shopper_id)
    assert shopper is not None
    title = order.lines[0].title if order.lines else "Siyu order"
    description = title if len(order.lines) <= 1 else f"{title} 等{len(order.lines)}件商品"
    try:
        params = provider.prepay(
            PrepayRequest(
                out_trade_no=order.order_no,
                description=description[:127],
                amount_fen=order.total_fen,
                payer_openid=shopper.openid,
                time_expire=order.pay_deadline,
            ),
            now=now,
        )
    except ProviderUnavailable as exc:
        raise UpstreamUnavailable(
            "payment_unavailable",
            f"支付服务暂不可用，请稍后再试 / Payment is unavailable, try again ({exc.code})",
        ) from exc
    order.payment_provider = provider.name
    return params


def handle_notification(
    session: Session,
    provider: PaymentProvider,
    lifecycle: OrderLifecycle,
    *,
    headers: dict[str, str],
    body: bytes,
    now: datetime,
) -> str:
    """Returns the outcome recorded for the notification; raises Unauthorized (401) for
    anything that is not an authentic notification from the provider."""
    try:
        notice = provider.parse_notification(headers, body, now=now)
    except InvalidNotification as exc:
        log.warning("rejected %s notification: %s", provider.name, exc.reason)
        raise Unauthorized("invalid_notification", f"notification rejected: {exc.reason}") from exc
    record = PaymentNotification(
        provider=provider.name,
        notification_id=notice.notification_id,
        kind=notice.kind,
        out_trade_no=notice.out_trade_no,
        transaction_id=notice.transaction_id,
        out_refund_no=notice.out_refund_no,
        amount_fen=notice.amount_fen,
        outcome="received",
        received_at=now,
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        return "duplicate_notification"
    if notice.kind == "payment":
        outcome = apply_payment(session, lifecycle, provider.name, notice, now)
    else:
        outcome = _apply_refund_notice(session, lifecycle, notice, now)
    record.outcome = outcome
    return outcome


def _apply_refund_notice(
    session: Session, lifecycle: OrderLifecycle, notice: PaymentNotice, now: datetime
) -> str:
    refund = get_refund(session, notice.out_refund_no or "")
    if refund is None:
        return "unknown_refund"
    changed = apply_refund_state(
        session,
        lifecycle,
        refund,
        status=notice.refund_status or "",
        provider_refund_id=notice.provider_refund_id,
        now=now,
    )
    return "applied" if changed else "duplicate"


def _flag(session: Session, order: Order, flag: str, detail: str, now: datetime) -> None:
    session.execute(
        update(Order)
        .where(Order.id == order.id)
        .values(payment_flag=flag, payment_flag_detail=detail[:1000])
        .execution_options(synchronize_session=False)
    )
    session.refresh(order)
    record_order_event(
        session,
        "order.payment_flagged",
        order.id,
        now,
        {"order_id": order.id, "flag": flag, "detail": detail},
    )


def apply_payment(
    session: Session,
    lifecycle: OrderLifecycle,
    provider_name: str,
    notice: PaymentNotice,
    now: datetime,
) -> str:
    order = get_order_by_no(session, notice.out_trade_no)
    if order is None:
        return "unknown_order"
    if notice.amount_fen != order.total_fen:
        _flag(
            session,
            order,
            "amount_mismatch",
            f"notified {notice.amount_fen} fen, order total {order.total_fen} fen, "
            f"transaction {notice.transaction_id}",
            now,
        )
        return "amount_mismatch"
    if mark_paid(
        session,
        lifecycle,
        order,
        provider=provider_name,
        transaction_id=notice.transaction_id,
        amount_fen=notice.amount_fen,
        now=now,
    ):
        return "applied"
    if order.status in POST_PAYMENT and order.transaction_id == notice.transaction_id:
        return "duplicate"
    # Money arrived that no order wants: a payment after cancellation, or a second
    # payment of the same order. Flag it and give the money back.
    flag = "paid_after_cancel" if order.status is OrderStatus.cancelled else "double_payment"
    _flag(
        session, order, flag, f"transaction {notice.transaction_id}, {notice.amount_fen} fen", now
    )
    create_refund(
        session,
        order=order,
        provider=provider_name,
        amount_fen=notice.amount_fen,
        reason="订单已关闭，自动退款",
        kind="stray_payment",
        lines=[],
        restock=False,
        aftersale_id=None,
        now=now,
        out_refund_no=f"SR{notice.transaction_id}"[:64],
    )
    return flag


def expire_unpaid_order(
    session: Session,
    provider: PaymentProvider,
    lifecycle: OrderLifecycle,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    """The payment-timeout timer: ask the provider first (a notification may be late or
    lost), apply a payment it reports, otherwise close the trade and cancel."""
    order = session.get(Order, payload["order_id"])
    if order is None or order.status is not OrderStatus.pending_payment:
        return
    if order.payment_provider:
        state = provider.query_trade(order.order_no)  # errors propagate: the timer retries
        if state.state == "SUCCESS" and state.transaction_id:
            apply_payment(
                session,
                lifecycle,
                provider.name,
                PaymentNotice(
                    notification_id=f"query-{state.transaction_id}",
                    kind="payment",
                    out_trade_no=order.order_no,
                    transaction_id=state.transaction_id,
                    amount_fen=state.amount_fen or 0,
                ),
                now,
            )
            return
        if state.state in ("USERPAYING",):
            raise ProviderUnavailable("USERPAYING", "shopper is paying; check again shortly")
        provider.close_trade(order.order_no)
    cancel_order(session, lifecycle, order, reason="payment_timeout", now=now)
