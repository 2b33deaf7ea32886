"""The background worker: fires due timers, relays outbox events, prunes old
idempotency keys. A thread of ``siyu serve`` by default; on PostgreSQL any number of
``siyu worker`` processes can run side by side.

Why several never double an effect: a timer fires in the transaction that holds its
row (``FOR UPDATE SKIP LOCKED``) and marks it done, so a second worker skips it or,
after the commit, finds it no longer pending. An outbox event is claimed with a lease;
if the lease runs out while a slow subscriber still works, another worker may claim the
event again, but each (subscriber, event) delivery inserts its primary-key row in the
subscriber's own transaction: the second insert waits for the first transaction and
then fails, and that subscriber is skipped. Marking the event published twice is
harmless."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from siyu.bootstrap import Context
from siyu.coupon.redemption import expire_due
from siyu.idempotency import purge_expired_keys
from siyu.loyalty.ledger import expire_due as expire_points
from siyu.loyalty.tiers.jobs import schedule_jobs

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ticks = 0

    def tick(self) -> tuple[int, int]:
        """One pass; returns (timers fired, events published)."""
        now = self.ctx.clock.now()
        fired = self.ctx.timers.run_due(now)
        published = self.ctx.relay.relay_batch(self.ctx.clock.now())
        self._ticks += 1
        if self._ticks % 600 == 1:
            with self.ctx.db.transaction() as session:
                expire_due(session, now=now)
            with self.ctx.db.transaction() as session:
                expire_points(session, now=now)
                schedule_jobs(session, now)
            with self.ctx.db.transaction() as session:
                purge_expired_keys(
                    session,
                    now=now,
                    ttl=timedelta(hours=self.ctx.settings.idempotency_ttl_hours),
                )
        return fired, published

    def drain(self, max_passes: int = 50) -> None:
        """Tick until there is nothing left to do (tests, CLI)."""
        for _ in range(max_passes):
            if self.tick() == (0, 0):
                return

    def run_forever(self) -> None:
        """Pass after pass until :meth:`request_stop`; a stop lets the pass in progress
        finish (each timer and each delivery is its own transaction, so one cut short by
        a kill is simply redone by the next worker)."""
        interval = self.ctx.settings.worker_interval_seconds
        while not self._stop.is_set():
            try:
                fired, published = self.tick()
            except Exception:
                log.exception("worker pass failed")
                fired = published = 0
            if fired or published:
                log.info("timers fired: %d, events published: %d", fired, published)
            else:
                self._stop.wait(interval)

    def request_stop(self) -> None:
        """Stop after the pass in progress (safe from a signal handler)."""
        self._stop.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="siyu-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
