"""The background worker: fires due timers, relays outbox events, prunes old
idempotency keys. A thread of ``siyu serve`` by default; on PostgreSQL any number of
``siyu worker`` processes can run side by side (claims use SKIP LOCKED)."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from siyu.bootstrap import Context
from siyu.coupon.redemption import expire_due
from siyu.idempotency import purge_expired_keys

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
        interval = self.ctx.settings.worker_interval_seconds
        while not self._stop.is_set():
            try:
                fired, published = self.tick()
            except Exception:
                log.exception("worker pass failed")
                fired = published = 0
            if fired == 0 and published == 0:
                self._stop.wait(interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="siyu-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
