"""Tracking: client event ingestion (/api/track), server-side facts from the outbox,
identity stitching (person_links) and channel attribution from WeChat scenes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from siyu.analytics.store import AnalyticsStore
    from siyu.lifecycle import OrderLifecycle
    from siyu.outbox import EventRelay
    from siyu.timers import TimerRunner


def register(
    relay: EventRelay,
    timers: TimerRunner,
    lifecycle: OrderLifecycle,
    *,
    analytics: AnalyticsStore,
) -> None:
    """Server-side facts: outbox events (order paid, refund succeeded, ...) become
    tracked events in the analytics store."""
    from siyu.tracking.facts import subscribe_facts

    subscribe_facts(relay, analytics)
