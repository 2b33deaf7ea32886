"""Loyalty: the points ledger (``ledger.py``), its rules (``rules.py``), points on the
order lifecycle (``orders.py``) and the shopper's and operator's use cases
(``service.py``). Tiers, check-in, the points mall and the lottery build on these."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from siyu.lifecycle import OrderLifecycle
    from siyu.loyalty.program import PointsProgram
    from siyu.outbox import EventRelay
    from siyu.timers import TimerRunner


def register(
    relay: EventRelay, timers: TimerRunner, lifecycle: OrderLifecycle, *, program: PointsProgram
) -> None:
    """Points follow the order: pending when paid, credited when settled, reversed on
    refunds, spent points back on cancel; sign-up and birthday points from the outbox."""
    from siyu.loyalty import orders, rewards

    orders.register_steps(lifecycle, program)
    relay.subscribe(rewards.SUBSCRIBER, rewards.EVENT_TYPES, rewards.reward_handler(program))
