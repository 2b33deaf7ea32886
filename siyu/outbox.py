"""Transactional outbox: domain events are written in the business transaction and
relayed afterwards, at least once, to subscribers that dedupe by event id.

A subscriber's effects and its dedupe row commit together, so a redelivery after
a crash (between a subscriber's commit and the event being marked published)
changes nothing. Claiming uses a short lease instead of a long-held row lock, so
the relay works the same on SQLite (one writer) and on PostgreSQL (N workers,
``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Index, String, Text, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from siyu.db import Base, Database, IdPk

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 20


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_pending", "published_at", "id"),)

    id: Mapped[IdPk]
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    event_type: Mapped[str] = mapped_column(String(64), index=True)
    aggregate_type: Mapped[str] = mapped_column(String(32))
    aggregate_id: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]]
    occurred_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class EventDelivery(Base):
    """One row per (subscriber, event): the consumer-side dedupe record."""

    __tablename__ = "event_deliveries"

    subscriber: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    delivered_at: Mapped[datetime]


@dataclass(frozen=True)
class DomainEvent:
    event_id: str
    event_type: str
    aggregate_type: str
    aggregate_id: str
    payload: dict[str, Any]
    occurred_at: datetime


def append_event(
    session: Session,
    event_type: str,
    *,
    aggregate_type: str,
    aggregate_id: int | str,
    payload: dict[str, Any],
    now: datetime,
) -> OutboxEvent:
    """Record a domain event in the caller's transaction."""
    row = OutboxEvent(
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        payload=payload,
        occurred_at=now,
    )
    session.add(row)
    return row


Handler = Callable[[Session, DomainEvent], None]


class _AlreadyDelivered(Exception):
    """The (subscriber, event) dedupe row exists: a redelivery."""


@dataclass
class Subscriber:
    name: str
    event_types: frozenset[str]  # empty = every event
    handler: Handler

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


@dataclass
class EventRelay:
    db: Database
    subscribers: list[Subscriber] = field(default_factory=list)

    def subscribe(self, name: str, event_types: Iterable[str], handler: Handler) -> None:
        if any(s.name == name for s in self.subscribers):
            raise ValueError(f"subscriber {name!r} already registered")
        self.subscribers.append(Subscriber(name, frozenset(event_types), handler))

    def relay_batch(self, now: datetime, limit: int = 100) -> int:
        """Deliver up to ``limit`` unpublished events; returns how many were published."""
        events = self._claim(now, limit)
        published = 0
        for event in events:
            try:
                for subscriber in self.subscribers:
                    if subscriber.wants(event.event_type):
                        self._deliver(subscriber, event, now)
            except Exception as exc:  # a failing subscriber must not stop the relay
                log.exception("event %s (%s) failed", event.event_id, event.event_type)
                self._release(event.event_id, now, repr(exc))
                continue
            with self.db.transaction() as session:
                session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.event_id == event.event_id)
                    .values(published_at=now, claimed_until=None)
                )
            published += 1
        return published

    def _claim(self, now: datetime, limit: int) -> list[DomainEvent]:
        with self.db.transaction() as session:
            rows = session.scalars(
                select(OutboxEvent)
                .where(
                    OutboxEvent.published_at.is_(None),
                    OutboxEvent.attempts < MAX_ATTEMPTS,
                    (OutboxEvent.claimed_until.is_(None)) | (OutboxEvent.claimed_until < now),
                )
                .order_by(OutboxEvent.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                row.claimed_until = now + CLAIM_LEASE
                row.attempts += 1
            return [
                DomainEvent(
                    r.event_id,
                    r.event_type,
                    r.aggregate_type,
                    r.aggregate_id,
                    dict(r.payload),
                    r.occurred_at,
                )
                for r in rows
            ]

    def _deliver(self, subscriber: Subscriber, event: DomainEvent, now: datetime) -> None:
        with self.db.session() as session:
            try:
                with session.begin():
                    session.add(
                        EventDelivery(
                            subscriber=subscriber.name, event_id=event.event_id, delivered_at=now
                        )
                    )
                    try:
                        # On PostgreSQL a second worker's insert waits here for the first
                        # one's transaction, then fails: one delivery per subscriber.
                        session.flush()
                    except IntegrityError as exc:
                        raise _AlreadyDelivered from exc
                    subscriber.handler(session, event)
            except _AlreadyDelivered:
                # Already delivered to this subscriber (a redelivery): nothing to do. An
                # IntegrityError of the handler itself is a failure, retried like others.
                log.debug("event %s already delivered to %s", event.event_id, subscriber.name)

    def _release(self, event_id: str, now: datetime, error: str) -> None:
        with self.db.transaction() as session:
            session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.event_id == event_id)
                .values(claimed_until=now + timedelta(seconds=5), last_error=error[:2000])
            )
