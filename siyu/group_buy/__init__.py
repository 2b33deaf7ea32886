"""Group buy (拼团): campaigns, groups and seats (``models.py``), the pure rules of
tiers, completion and ladder refunds (``rules.py``), and the use cases on the order
lifecycle seam (``service.py``)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from siyu.lifecycle import OrderLifecycle
    from siyu.outbox import EventRelay
    from siyu.timers import TimerRunner


def register(relay: EventRelay, timers: TimerRunner, lifecycle: OrderLifecycle) -> None:
    """Seats follow their orders (paid, cancelled, refunded); the deadline timer ends
    each group."""
    from siyu.group_buy import rules, service

    service.register_steps(lifecycle)
    timers.register(rules.DEADLINE_TIMER, partial(service.deadline_reached, lifecycle))
