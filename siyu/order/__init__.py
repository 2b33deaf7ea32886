"""Orders: placement (``placement.place_order``), the lifecycle transitions
(``service.mark_paid`` / ``cancel_order`` / ``apply_refund`` / ``settle_order``),
shipping and receipt."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from siyu.lifecycle import OrderLifecycle
    from siyu.outbox import EventRelay
    from siyu.timers import TimerRunner


def register(
    relay: EventRelay,
    timers: TimerRunner,
    lifecycle: OrderLifecycle,
    *,
    aftersale_window: timedelta,
) -> None:
    """The order's lifecycle steps (payment timer, announcements) and its timers:
    auto-confirmation, and the settled moment ``aftersale_window`` after completion."""
    from siyu.order import rules, service, settlement

    service.register_steps(lifecycle)
    timers.register(rules.AUTO_CONFIRM_TIMER, partial(service.auto_confirm, aftersale_window))
    timers.register(
        rules.SETTLE_TIMER, partial(settlement.settle_order, lifecycle, aftersale_window)
    )
