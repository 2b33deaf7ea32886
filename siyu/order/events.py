"""An order's domain events: appended to the outbox in the caller's transaction with
the order as their aggregate, so the order timeline reads them back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from siyu.outbox import OutboxEvent, append_event


def record_order_event(
    session: Session, event_type: str, order_id: int, now: datetime, payload: dict[str, Any]
) -> OutboxEvent:
    return append_event(
        session,
        event_type,
        aggregate_type="order",
        aggregate_id=order_id,
        now=now,
        payload=payload,
    )
