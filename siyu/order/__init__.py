"""Orders: placement (``placement.place_order``), the lifecycle transitions
(``service.mark_paid`` / ``cancel_order`` / ``apply_refund``), shipping and receipt."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from siyu.lifecycle import OrderLifecycle
    from siyu.outbox import EventRelay
    from siyu.timers import TimerRunner


def register(relay: EventRelay, timers: TimerRunner, lifecycle: OrderLifecycle) -> None:
    """The order's lifecycle steps (payment timer, announcements) and its timers."""
    from siyu.order import rules, service

    service.register_steps(lifecycle)
    timers.register(rules.AUTO_CONFIRM_TIMER, service.auto_confirm)
