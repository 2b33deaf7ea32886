"""Group commit for ``/api/track``: many requests share one ``store.insert``.

chdb pays a large fixed cost per insert (200-row blocks ≈ 24k rows/s, 5,000-row
blocks ≈ 78k), so request handlers do not insert their own batch. They validate it,
hand the rows to the process's :class:`IngestBuffer` and wait until the combined
insert holding them has been written; only then do they answer 200. An acknowledged
event is therefore stored, while one insert carries the rows of many requests.

- **When.** One flusher thread writes the pending block when it holds ``max_rows``
  rows or its first row has waited ``max_delay`` seconds, whichever comes first. While
  an insert runs, new rows gather in the next block (so blocks grow under load).
- **Exactly once, by event id.** A block never holds an event id twice. An id already
  waiting in a block (a retry racing its original) joins that block's fate instead of
  being added again; an id stored lately (the last ``recent_ids``, kept FIFO) is not
  inserted again: it is already durable. Beyond that window ``events`` is a
  ReplacingMergeTree on ``event_id`` read through ``siyu.analytics.schema.EVENTS``, so
  counts stay exact. (One client batch's dedup token means nothing for a combined
  insert, so none is sent.)
- **Failure.** A failed insert fails every request waiting on that block (they answer
  503 and the client retries); no request is acknowledged unless every block holding
  its rows was written. Nothing of a failed block enters the recent-id window.
- **Back-pressure.** At most ``max_pending_rows`` rows wait or are being written; a
  request that would exceed it is refused at once (:class:`BufferFull`, 503 with
  Retry-After) rather than queueing memory without bound.
- **Shutdown.** :meth:`IngestBuffer.close` refuses new rows, writes what is pending
  and stops the flusher (the analytics holder calls it when the context closes).

Memory of the recent-id window: about 100 bytes plus the id's length per id (≈ 150 MB
for 1M ids of 40 characters); lower ``recent_ids`` on small machines.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Inserter(Protocol):
    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        dedup_token: str | None = None,
    ) -> int: ...


@dataclass(frozen=True)
class IngestSettings:
    max_rows: int = 5_000  # flush when the pending block holds this many rows…
    # …or its first row has waited this long (seconds). 50 ms lets blocks grow to a
    # few thousand rows under load (about a quarter less CPU per event than 20 ms).
    max_delay: float = 0.050
    max_pending_rows: int = 50_000  # queued + being written; beyond: BufferFull
    wait_timeout: float = 10.0  # a request gives up waiting (503) after this
    recent_ids: int = 1_000_000  # ids stored lately, not inserted again


class IngestUnavailable(Exception):
    """The rows were not (known to be) stored: answer 503 and let the client retry."""

    code = "ingest_unavailable"
    retry_after = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BufferFull(IngestUnavailable):
    code = "ingest_busy"


class BufferClosed(IngestUnavailable):
    code = "ingest_closed"
    retry_after = 5


class FlushFailed(IngestUnavailable):
    code = "ingest_failed"


class FlushTimeout(IngestUnavailable):
    code = "ingest_timeout"


@dataclass(eq=False)
class _Ticket:
    """One submission: done when every block holding its rows is written."""

    future: Future[None]
    blocks_left: int


@dataclass(eq=False)
class _Block:
    created: float
    rows: list[Sequence[Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    tickets: list[_Ticket] = field(default_factory=list)


def _settle(future: Future[None], error: BaseException | None) -> None:
    if future.done():  # cancelled by a waiter that gave up
        return
    try:
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
    except InvalidStateError:  # cancelled meanwhile
        pass


class IngestBuffer:
    """Thread-safe group commit of rows into ``table`` (see the module docstring).

    ``key`` is the index of the event id in each row."""

    def __init__(
        self,
        store: Inserter,
        table: str,
        columns: Sequence[str],
        *,
        key: int = 0,
        settings: IngestSettings | None = None,
    ) -> None:
        self.store = store
        self.table = table
        self.columns = tuple(columns)
        self.key = key
        self.settings = settings or IngestSettings()
        self._cond = threading.Condition()
        self._open: _Block | None = None  # gathering rows
        self._pending: dict[str, _Block] = {}  # id → the block (open or being written)
        self._held = 0  # rows in the open block and the one being written
        self._recent: set[str] = set()
        self._recent_order: deque[str] = deque()
        self._closed = False
        self.flushes = 0  # counters, for benches and tests
        self.rows_written = 0
        self._thread = threading.Thread(target=self._run, name="siyu-ingest-flush", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ request side

    @property
    def pending_rows(self) -> int:
        with self._cond:
            return self._held

    def submit(self, rows: Sequence[Sequence[Any]]) -> Future[None]:
        """Queue ``rows``; the future completes when all of them are stored (or fails
        with :class:`FlushFailed`). Raises :class:`BufferFull` / :class:`BufferClosed`
        at once, having queued nothing."""
        future: Future[None] = Future()
        key = self.key
        with self._cond:
            if self._closed:
                raise BufferClosed("事件写入已停止 / Event ingestion is shutting down")
            joined: set[_Block] = set()
            fresh: list[Sequence[Any]] = []
            seen: set[str] = set()
            for row in rows:
                event_id = row[key]
                if event_id in seen or event_id in self._recent:
                    continue  # already durable (or twice in this call)
                seen.add(event_id)
                block = self._pending.get(event_id)
                if block is not None:
                    joined.add(block)  # a retry racing its original: share its fate
                else:
                    fresh.append(row)
            if fresh:
                if self._held + len(fresh) > self.settings.max_pending_rows:
                    raise BufferFull("事件写入繁忙，请稍后重试 / Ingestion is busy; retry shortly")
                block = self._open
                if block is None:
                    block = self._open = _Block(created=time.monotonic())
                    self._cond.notify()  # the flusher starts the block's clock
                for row in fresh:
                    block.rows.append(row)
                    block.ids.append(row[key])
                    self._pending[row[key]] = block
                self._held += len(fresh)
                joined.add(block)
                if len(block.rows) >= self.settings.max_rows:
                    self._cond.notify()
            if not joined:
                future.set_result(None)
                return future
            ticket = _Ticket(future, len(joined))
            for block in joined:
                block.tickets.append(ticket)
        return future

    def wait(self, future: Future[None], timeout: float | None = None) -> None:
        """Block until ``future`` is done; :class:`FlushTimeout` after the timeout."""
        try:
            future.result(self.settings.wait_timeout if timeout is None else timeout)
        except TimeoutError as exc:
            raise FlushTimeout(
                "事件写入超时，请重试 / Storing the events timed out; retry"
            ) from exc

    async def wait_async(self, future: Future[None], timeout: float | None = None) -> None:
        """Await ``future`` without blocking the event loop or a worker thread."""
        limit = self.settings.wait_timeout if timeout is None else timeout
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), limit)
        except TimeoutError as exc:
            raise FlushTimeout(
                "事件写入超时，请重试 / Storing the events timed out; retry"
            ) from exc

    def write(self, rows: Sequence[Sequence[Any]], timeout: float | None = None) -> None:
        """Submit and wait: returns once every row is stored."""
        self.wait(self.submit(rows), timeout)

    # ------------------------------------------------------------ flusher

    def _take(self) -> _Block | None:
        """The next block to write, waiting for it; None when closed and drained."""
        with self._cond:
            while True:
                block = self._open
                if block is not None:
                    due = block.created + self.settings.max_delay - time.monotonic()
                    if self._closed or len(block.rows) >= self.settings.max_rows or due <= 0:
                        self._open = None
                        return block
                    self._cond.wait(due)
                elif self._closed:
                    return None
                else:
                    self._cond.wait()

    def _run(self) -> None:
        while (block := self._take()) is not None:
            error: BaseException | None = None
            try:
                self.store.insert(self.table, self.columns, block.rows)
            except Exception as exc:
                log.exception("ingest flush of %d rows failed", len(block.rows))
                error = FlushFailed("事件写入失败，请重试 / Storing the events failed; retry")
                error.__cause__ = exc
            self._finish(block, error)

    def _finish(self, block: _Block, error: BaseException | None) -> None:
        done: list[_Ticket] = []
        with self._cond:
            for event_id in block.ids:
                if self._pending.get(event_id) is block:
                    del self._pending[event_id]
            self._held -= len(block.rows)
            if error is None:
                self.flushes += 1
                self.rows_written += len(block.rows)
                self._remember(block.ids)
            for ticket in block.tickets:
                ticket.blocks_left -= 1
                if error is not None or ticket.blocks_left == 0:
                    done.append(ticket)
            self._cond.notify_all()
        for ticket in done:
            _settle(ticket.future, error)

    def _remember(self, ids: list[str]) -> None:
        limit = self.settings.recent_ids
        if limit <= 0:
            return
        self._recent.update(ids)
        self._recent_order.extend(ids)
        while len(self._recent_order) > limit:
            self._recent.discard(self._recent_order.popleft())

    # ------------------------------------------------------------ shutdown

    def close(self, timeout: float = 30.0) -> None:
        """Refuse new rows, write the pending ones, stop the flusher."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def closed(self) -> bool:
        return self._closed
