"""Catalog: categories, products, SKUs, listing and stock (``stock.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from siyu.lifecycle import OrderLifecycle
    from siyu.outbox import EventRelay
    from siyu.timers import TimerRunner


def register(relay: EventRelay, timers: TimerRunner, lifecycle: OrderLifecycle) -> None:
    """Stock follows the order: sales counted when paid, released when cancelled,
    returned units back when refunded."""
    from siyu.catalog import stock

    stock.register_steps(lifecycle)


def track_versions(factory: sessionmaker[Session]) -> None:
    """Catalog edits move the catalog version on (see ``version.py``)."""
    from siyu.catalog import version

    version.track_versions(factory)
