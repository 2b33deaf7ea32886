"""Rising price (阶梯涨价): campaigns, purchases and per-shopper counts
(``models.py``), the pure pricing rule — the first N units at a base price, then a
step every interval, capped (``rules.py``) — and the use cases on the order
lifecycle seam (``service.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from siyu.lifecycle import OrderLifecycle
    from siyu.outbox import EventRelay
    from siyu.timers import TimerRunner


def register(relay: EventRelay, timers: TimerRunner, lifecycle: OrderLifecycle) -> None:
    """Units follow their orders (paid, cancelled, refunded)."""
    from siyu.rising_price import service

    service.register_steps(lifecycle)
