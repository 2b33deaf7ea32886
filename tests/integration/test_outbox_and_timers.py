"""The outbox relays at least once with consumer dedupe; timers fire once and survive
restarts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.db import Database
from siyu.outbox import DomainEvent, EventDelivery, EventRelay, OutboxEvent, append_event
from siyu.timers import Timer, TimerRunner, TimerStatus, cancel_timer, schedule_timer

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def _append(db: Database, n: int) -> None:
    with db.transaction() as session:
        for i in range(n):
            append_event(
                session,
                "order.paid",
                aggregate_type="order",
                aggregate_id=i,
                payload={"i": i},
                now=NOW,
            )


def test_events_committed_before_a_crash_are_relayed_by_the_next_process(database_url: str) -> None:
    # given events committed by a process that died before relaying them
    first = Database(database_url)
    _append(first, 3)
    first.dispose()

    # when a new process starts its relay
    db = Database(database_url)
    seen: list[int] = []
    relay = EventRelay(db)
    relay.subscribe("collector", ["order.paid"], lambda s, e: seen.append(e.payload["i"]))
    published = relay.relay_batch(NOW)

    # then every event is delivered once, in order, and marked published
    assert (published, seen) == (3, [0, 1, 2])
    with db.transaction() as session:
        assert session.scalar(select(func.count()).where(OutboxEvent.published_at.is_(None))) == 0
    assert relay.relay_batch(NOW) == 0
    db.dispose()


def test_a_redelivery_after_a_crash_before_marking_published_changes_nothing(
    database_url: str,
) -> None:
    # given a subscriber whose effect is a row written in its own transaction
    db = Database(database_url)
    _append(db, 1)
    effects: list[str] = []

    def handler(session: Session, event: DomainEvent) -> None:
        effects.append(event.event_id)

    relay = EventRelay(db)
    relay.subscribe("points", ["order.paid"], handler)
    # and a relay that delivered but crashed before marking the event published
    with db.transaction() as session:
        event = session.scalars(select(OutboxEvent)).one()
        event_id = event.event_id
    relay._deliver(
        relay.subscribers[0], DomainEvent(event_id, "order.paid", "order", "0", {}, NOW), NOW
    )

    # when the lease runs out and the event is relayed again
    assert relay.relay_batch(NOW + timedelta(minutes=2)) == 1

    # then the subscriber ran once: its dedupe row stopped the second delivery
    assert effects == [event_id]
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(EventDelivery)) == 1
    db.dispose()


def test_a_failing_subscriber_keeps_the_event_for_a_later_retry(database_url: str) -> None:
    db = Database(database_url)
    _append(db, 1)
    calls: list[int] = []

    def flaky(session: Session, event: DomainEvent) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("downstream down")

    relay = EventRelay(db)
    relay.subscribe("flaky", [], flaky)
    assert relay.relay_batch(NOW) == 0
    assert relay.relay_batch(NOW + timedelta(seconds=1)) == 0  # still backing off
    assert relay.relay_batch(NOW + timedelta(seconds=10)) == 1
    assert len(calls) == 2
    with db.transaction() as session:
        event = session.scalars(select(OutboxEvent)).one()
        assert event.published_at == NOW + timedelta(seconds=10)
        assert "downstream down" in (event.last_error or "")
    db.dispose()


def test_a_subscriber_failing_on_a_constraint_is_retried_not_taken_for_a_redelivery(
    database_url: str,
) -> None:
    # given a subscriber whose first attempt breaks a unique constraint of its own
    db = Database(database_url)
    _append(db, 1)
    calls: list[int] = []

    def clashing(session: Session, event: DomainEvent) -> None:
        calls.append(1)
        if len(calls) == 1:
            session.add(EventDelivery(subscriber="other", event_id="same", delivered_at=NOW))
            session.add(EventDelivery(subscriber="other", event_id="same", delivered_at=NOW))
            session.flush()

    relay = EventRelay(db)
    relay.subscribe("clashing", [], clashing)

    # when the relay runs, then the failure keeps the event, and the retry delivers it
    assert relay.relay_batch(NOW) == 0
    assert relay.relay_batch(NOW + timedelta(seconds=10)) == 1
    assert len(calls) == 2
    with db.transaction() as session:
        delivered = session.scalars(select(EventDelivery.subscriber)).all()
        assert delivered == ["clashing"]
    db.dispose()


def test_a_timer_fires_once_when_due_even_after_a_restart(database_url: str) -> None:
    # given a timer scheduled (twice: the second call keeps the first) by one process
    first = Database(database_url)
    with first.transaction() as session:
        schedule_timer(
            session, "demo", 1, due_at=NOW + timedelta(minutes=30), payload={"x": 1}, now=NOW
        )
        schedule_timer(
            session, "demo", 1, due_at=NOW + timedelta(minutes=5), payload={"x": 2}, now=NOW
        )
    first.dispose()

    # when a new process runs its timers before and after the due time
    db = Database(database_url)
    fired: list[dict[str, Any]] = []
    runner = TimerRunner(db)
    runner.register("demo", lambda s, payload, now: fired.append(payload))
    assert runner.run_due(NOW + timedelta(minutes=29)) == 0
    assert runner.run_due(NOW + timedelta(minutes=30)) == 1
    assert runner.run_due(NOW + timedelta(minutes=31)) == 0

    # then it fired exactly once with the first payload
    assert fired == [{"x": 1}]
    with db.transaction() as session:
        assert session.scalars(select(Timer)).one().status is TimerStatus.done
    db.dispose()


def test_a_failing_timer_is_retried_with_backoff_and_a_cancelled_one_never_fires(
    database_url: str,
) -> None:
    db = Database(database_url)
    with db.transaction() as session:
        schedule_timer(session, "flaky", "a", due_at=NOW, payload={}, now=NOW)
        schedule_timer(session, "flaky", "b", due_at=NOW, payload={}, now=NOW)
        assert cancel_timer(session, "flaky", "b") is True
    attempts: list[datetime] = []

    def flaky(session: Session, payload: dict[str, Any], now: datetime) -> None:
        attempts.append(now)
        if len(attempts) == 1:
            raise RuntimeError("provider down")

    runner = TimerRunner(db)
    runner.register("flaky", flaky)
    assert runner.run_due(NOW) == 0
    assert runner.run_due(NOW + timedelta(seconds=1)) == 0  # backing off (2 s)
    assert runner.run_due(NOW + timedelta(seconds=2)) == 1
    assert attempts == [NOW, NOW + timedelta(seconds=2)]
    with db.transaction() as session:
        statuses = {key: status for key, status in session.execute(select(Timer.key, Timer.status))}
    assert statuses == {"a": TimerStatus.done, "b": TimerStatus.cancelled}
    db.dispose()
