"""Durable timers: payment timeouts, auto-confirmation, group-buy deadlines, journey
delays. A timer is a row written in the business transaction; the worker fires due
timers, each in its own transaction, so a restart loses none and fires none twice.

``(kind, key)`` is unique: scheduling the same timer twice keeps the first.

A handler returns None when its work is done, or a later ``datetime`` when what it
waits for has not happened yet (an after-sales request still open when the order's
window closes): the timer then stays pending, due again at that time, and what the
handler wrote in this pass commits with it. A wait is not a failure: it counts no
attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, Text, UniqueConstraint, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from siyu.db import Base, Database, IdPk, StrEnumType, rowcount

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10


class TimerStatus(StrEnum):
    pending = "pending"
    done = "done"
    cancelled = "cancelled"
    failed = "failed"


class Timer(Base):
    __tablename__ = "timers"
    __table_args__ = (
        UniqueConstraint("kind", "key"),
        Index("ix_timers_due", "status", "due_at"),
    )

    id: Mapped[IdPk]
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    due_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]
    status: Mapped[TimerStatus] = mapped_column(
        StrEnumType(TimerStatus, 16), default=TimerStatus.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]


def schedule_timer(
    session: Session,
    kind: str,
    key: int | str,
    *,
    due_at: datetime,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    existing = session.scalar(select(Timer).where(Timer.kind == kind, Timer.key == str(key)))
    if existing is not None:
        return
    session.add(Timer(kind=kind, key=str(key), due_at=due_at, payload=payload, created_at=now))


def cancel_timer(session: Session, kind: str, key: int | str) -> bool:
    """Cancel a pending timer. One that a worker is firing right now is left to it: the
    worker locks the timer and then the business row, while the caller already holds
    that business row, so waiting here would deadlock. Handlers re-check the state
    they act on, so the firing one finds nothing left to do."""
    free = session.scalars(
        select(Timer.id)
        .where(Timer.kind == kind, Timer.key == str(key), Timer.status == TimerStatus.pending)
        .with_for_update(skip_locked=True)
    ).all()
    if not free:
        return False
    result = session.execute(
        update(Timer)
        .where(Timer.id.in_(free), Timer.status == TimerStatus.pending)
        .values(status=TimerStatus.cancelled)
    )
    return rowcount(result) == 1


TimerHandler = Callable[[Session, dict[str, Any], datetime], datetime | None]


class TimerRunner:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.handlers: dict[str, TimerHandler] = {}

    def register(self, kind: str, handler: TimerHandler) -> None:
        if kind in self.handlers:
            raise ValueError(f"timer kind {kind!r} already registered")
        self.handlers[kind] = handler

    def run_due(self, now: datetime, limit: int = 100) -> int:
        """Fire up to ``limit`` due timers; returns how many fired successfully."""
        with self.db.session() as session:
            due_ids = session.scalars(
                select(Timer.id)
                .where(Timer.status == TimerStatus.pending, Timer.due_at <= now)
                .order_by(Timer.due_at, Timer.id)
                .limit(limit)
            ).all()
        fired = 0
        for timer_id in due_ids:
            if self._fire(timer_id, now):
                fired += 1
        return fired

    def _fire(self, timer_id: int, now: datetime) -> bool:
        try:
            with self.db.transaction() as session:
                timer = session.scalar(
                    select(Timer)
                    .where(Timer.id == timer_id, Timer.status == TimerStatus.pending)
                    .with_for_update(skip_locked=True)
                )
                if timer is None:  # fired or claimed by another worker meanwhile
                    return False
                handler = self.handlers.get(timer.kind)
                if handler is None:
                    raise LookupError(f"no handler for timer kind {timer.kind!r}")
                later = handler(session, dict(timer.payload), now)
                if later is not None:
                    timer.due_at = later if later > now else now + timedelta(seconds=1)
                    return False
                timer.status = TimerStatus.done
                timer.fired_at = now
                timer.attempts += 1
            return True
        except Exception as exc:
            log.exception("timer %s failed", timer_id)
            with self.db.transaction() as session:
                timer = session.get(Timer, timer_id)
                if timer is not None and timer.status == TimerStatus.pending:
                    timer.attempts += 1
                    timer.last_error = repr(exc)[:2000]
                    if timer.attempts >= MAX_ATTEMPTS:
                        timer.status = TimerStatus.failed
                    else:
                        timer.due_at = now + timedelta(seconds=2**timer.attempts)
            return False
