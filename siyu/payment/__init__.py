"""Payments: providers (sandbox, WeChat Pay v3), notifications, the payment timeout
and refunds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from siyu.lifecycle import OrderLifecycle
    from siyu.outbox import EventRelay
    from siyu.payment.provider import PaymentProvider
    from siyu.timers import TimerRunner


def register(
    relay: EventRelay,
    timers: TimerRunner,
    lifecycle: OrderLifecycle,
    *,
    providers: Callable[[str | None], PaymentProvider],
) -> None:
    """The payment timeout and the refund retry/check timers. ``providers`` maps a
    stored provider name to the provider that handles it."""
    from siyu.order.models import Order
    from siyu.order.rules import PAYMENT_TIMEOUT_TIMER
    from siyu.payment import refunds, service

    def expire(session: Session, payload: dict[str, Any], now: datetime) -> None:
        order = session.get(Order, payload["order_id"])
        provider = providers(order.payment_provider if order else None)
        service.expire_unpaid_order(session, provider, lifecycle, payload, now)

    def refund_provider(session: Session, out_refund_no: str) -> PaymentProvider:
        refund = refunds.get_refund(session, out_refund_no)
        return providers(refund.provider if refund else None)

    def resubmit(session: Session, payload: dict[str, Any], now: datetime) -> None:
        out_refund_no = payload["out_refund_no"]
        provider = refund_provider(session, out_refund_no)
        refunds.submit_refund(session, provider, lifecycle, out_refund_no=out_refund_no, now=now)

    def check(session: Session, payload: dict[str, Any], now: datetime) -> None:
        provider = refund_provider(session, payload["out_refund_no"])
        refunds.check_refund(session, provider, lifecycle, payload, now)

    timers.register(PAYMENT_TIMEOUT_TIMER, expire)
    timers.register(refunds.SUBMIT_TIMER, resubmit)
    timers.register(refunds.CHECK_TIMER, check)
