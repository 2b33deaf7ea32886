"""Coupon templates and the coupons shoppers own."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from siyu.lifecycle import OrderLifecycle
    from siyu.outbox import EventRelay
    from siyu.timers import TimerRunner


def register(relay: EventRelay, timers: TimerRunner, lifecycle: OrderLifecycle) -> None:
    """Coupons follow the order (used, released, restored) and gifts are issued on
    registration and first payment through the outbox."""
    from siyu.coupon import redemption, service

    redemption.register_steps(lifecycle)
    service.subscribe_gifts(relay)
