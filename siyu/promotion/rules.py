"""Promotion rules that are not pricing: status and the checks an operator's input
must pass. How promotions price a cart lives in siyu.pricing."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class PromotionStatus(StrEnum):
    active = "active"
    paused = "paused"


class Phase(StrEnum):
    """What an operator sees in the list: derived from status and the schedule."""

    scheduled = "scheduled"
    running = "running"
    paused = "paused"
    ended = "ended"


def phase(status: PromotionStatus, starts_at: datetime, ends_at: datetime, now: datetime) -> Phase:
    if now >= ends_at:
        return Phase.ended
    if status is PromotionStatus.paused:
        return Phase.paused
    if now < starts_at:
        return Phase.scheduled
    return Phase.running
