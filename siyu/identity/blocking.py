"""Blocking a shopper (anti-fraud): an operator sets ``shoppers.blocked_at``; a
blocked shopper cannot start a bargain and their cuts do not count. Audited."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from siyu.db import get_or_raise
from siyu.errors import NotFound
from siyu.identity.audit import record_audit
from siyu.identity.models import Shopper


def set_blocked(
    session: Session, *, shopper_id: int, blocked: bool, operator_id: int, now: datetime
) -> Shopper:
    """Block or unblock; doing it again changes nothing and writes no audit entry."""
    shopper = get_or_raise(
        session, Shopper, shopper_id, NotFound("shopper_not_found", "顾客不存在 / No such shopper")
    )
    if (shopper.blocked_at is not None) == blocked:
        return shopper
    before = {"blocked": shopper.blocked_at is not None}
    shopper.blocked_at = now if blocked else None
    record_audit(
        session,
        operator_id=operator_id,
        action="shopper.block" if blocked else "shopper.unblock",
        target_type="shopper",
        target_id=shopper.id,
        before=before,
        after={"blocked": blocked},
        now=now,
    )
    session.flush()
    return shopper
