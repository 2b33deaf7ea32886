"""Flash sale (秒杀): sessions, items, purchases and per-shopper counts
(``models.py``), the pure rules of windows, countdowns, token buckets and drift
(``rules.py``), the gate that hands out units — Redis Lua or the database
(``gate.py``) — and the use cases on the order lifecycle seam (``service.py``)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from siyu.config import Settings
    from siyu.flash_sale.gate import Gate
    from siyu.lifecycle import OrderLifecycle
    from siyu.outbox import EventRelay
    from siyu.timers import TimerRunner


def open_gate(settings: Settings) -> Gate:
    """Redis when ``SIYU_REDIS_URL`` is set, else the database (rate limits in process)."""
    from siyu.flash_sale.gate import Limits, open_gate
    from siyu.flash_sale.rules import Bucket

    limits = Limits(
        shopper=Bucket(settings.flash_sale_shopper_rate, settings.flash_sale_shopper_burst),
        ip=Bucket(settings.flash_sale_ip_rate, settings.flash_sale_ip_burst),
        max_in_flight=settings.flash_sale_max_in_flight,
    )
    return open_gate(settings.redis_url, settings.redis_key_prefix, limits)


def register(
    relay: EventRelay, timers: TimerRunner, lifecycle: OrderLifecycle, *, gate: Gate
) -> None:
    """Units follow their orders (paid, cancelled); the gate gets released units back
    after commit; the session's timers preload the gate and reconcile it."""
    from siyu.flash_sale import rules, service

    service.register_steps(lifecycle)
    relay.subscribe(service.GIVE_BACK_SUBSCRIBER, [service.RELEASED_EVENT],
                    service.give_back_handler(gate))  # fmt: skip
    timers.register(rules.START_TIMER, partial(service.session_started, gate))
    timers.register(rules.END_TIMER, partial(service.session_ended, gate))
