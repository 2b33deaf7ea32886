"""Bargain (砍价): campaigns, bargains, helps and per-shopper counts (``models.py``),
the pure rules of the cuts and of who may help (``rules.py``), and the use cases on
the order lifecycle seam (``service.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from siyu.lifecycle import OrderLifecycle
    from siyu.outbox import EventRelay
    from siyu.timers import TimerRunner


def register(relay: EventRelay, timers: TimerRunner, lifecycle: OrderLifecycle) -> None:
    """The bargain follows its order (paid, cancelled); the deadline timer expires it."""
    from siyu.bargain import rules, service

    service.register_steps(lifecycle)
    timers.register(rules.DEADLINE_TIMER, service.deadline_reached)
