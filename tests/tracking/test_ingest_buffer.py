"""The group commit behind /api/track (siyu.tracking.buffer): requests share inserts,
an acknowledged event is stored exactly once, a failed write acknowledges nothing,
shutdown writes what is pending, and a full buffer pushes back with 503."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from siyu.analytics.store import AnalyticsStore
from siyu.bootstrap import Context
from siyu.tracking.buffer import (
    BufferClosed,
    BufferFull,
    FlushFailed,
    FlushTimeout,
    IngestBuffer,
    IngestSettings,
)
from siyu.tracking.holder import LazyAnalyticsStore
from siyu.tracking.ingest import event_row
from siyu.tracking.rules import validate_batch
from tests.conftest import START
from tests.tracking.conftest import raw_count, stored
from tests.tracking.test_track_api import an_event, post


class GatedStore:
    """Wraps a store: records inserts, can hold one until released, can fail some."""

    def __init__(self, store: AnalyticsStore | None = None) -> None:
        self.store = store
        self.inserts: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.fail_next = 0

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        dedup_token: str | None = None,
    ) -> int:
        self.entered.set()
        assert self.release.wait(10)
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("simulated chdb failure")
        self.inserts.append([row[0] for row in rows])
        if self.store is not None:
            self.store.insert(table, columns, rows, dedup_token=dedup_token)
        return len(rows)

    def hold(self) -> None:
        self.entered.clear()
        self.release.clear()


def rows(*ids: int) -> list[tuple[str, ...]]:
    return [(f"evt-{n:08d}", "x") for n in ids]


def buffer_on(store: Any, **settings: Any) -> IngestBuffer:
    return IngestBuffer(store, "events", ("event_id", "event"), settings=IngestSettings(**settings))


def holder_ctx(track_ctx: Context) -> LazyAnalyticsStore:
    assert isinstance(track_ctx.analytics, LazyAnalyticsStore)
    return track_ctx.analytics


# ---------------------------------------------------------------- the buffer alone


def test_requests_share_one_insert_and_duplicate_ids_are_written_once() -> None:
    # given a buffer that writes every 50 ms
    store = GatedStore()
    buffer = buffer_on(store, max_delay=0.05)

    # when three requests arrive within the window, overlapping on ids 3 and 4
    futures = [buffer.submit(rows(1, 2, 3)), buffer.submit(rows(3, 4)), buffer.submit(rows(4, 5))]
    for future in futures:
        buffer.wait(future)
    buffer.close()

    # then one insert holds each id once
    assert store.inserts == [[f"evt-{n:08d}" for n in (1, 2, 3, 4, 5)]]


def test_a_block_is_written_as_soon_as_it_is_full() -> None:
    store = GatedStore()
    buffer = buffer_on(store, max_rows=4, max_delay=60)

    buffer.write(rows(1, 2, 3, 4), timeout=5)  # would wait a minute if not flushed when full

    assert store.inserts == [[f"evt-{n:08d}" for n in (1, 2, 3, 4)]]
    buffer.close()


def test_a_recently_stored_id_is_acknowledged_without_being_inserted_again() -> None:
    store = GatedStore()
    buffer = buffer_on(store, max_delay=0.001, recent_ids=3)
    buffer.write(rows(1, 2, 3))

    buffer.write(rows(1, 2, 3))  # a retry: nothing to insert
    buffer.write(rows(4))  # pushes id 1 out of the window of 3
    buffer.write(rows(1))  # beyond the window: inserted again (EVENTS dedups it)
    buffer.close()

    assert store.inserts == [
        ["evt-00000001", "evt-00000002", "evt-00000003"],
        ["evt-00000004"],
        ["evt-00000001"],
    ]


def test_a_failed_write_fails_every_request_holding_rows_in_it() -> None:
    # given a first request whose block is being written (and will fail)
    store = GatedStore()
    buffer = buffer_on(store, max_delay=0.001)
    store.hold()
    store.fail_next = 1
    first = buffer.submit(rows(1, 2, 3))
    assert store.entered.wait(5)

    # and a second request overlapping it (id 3) with new rows (4, 5) in the next block
    second = buffer.submit(rows(3, 4, 5))

    # when the first block fails and the next one is written
    store.release.set()

    # then both requests fail: the second is not half-acknowledged
    with pytest.raises(FlushFailed):
        buffer.wait(first)
    with pytest.raises(FlushFailed):
        buffer.wait(second)
    # and retrying the second stores what is missing, once
    buffer.wait(buffer.submit(rows(3, 4, 5)))
    buffer.wait(buffer.submit(rows(1, 2, 3)))
    buffer.close()
    written = [i for insert in store.inserts for i in insert]
    assert sorted(written) == [f"evt-{n:08d}" for n in (1, 2, 3, 4, 5)]


def test_a_full_buffer_refuses_rows_at_once_and_queues_nothing() -> None:
    # given a buffer of 5 rows whose first block of 4 is stuck being written
    store = GatedStore()
    buffer = buffer_on(store, max_delay=0.001, max_pending_rows=5)
    store.hold()
    stuck = buffer.submit(rows(1, 2, 3, 4))
    assert store.entered.wait(5)

    # when two more rows arrive (one fits; a batch is all or nothing)
    with pytest.raises(BufferFull):
        buffer.submit(rows(5, 6))
    assert buffer.pending_rows == 4

    # then once the write completes there is room again
    store.release.set()
    buffer.wait(stuck)
    buffer.write(rows(5, 6))
    buffer.close()
    assert store.inserts == [
        [f"evt-{n:08d}" for n in (1, 2, 3, 4)],
        ["evt-00000005", "evt-00000006"],
    ]


def test_a_request_gives_up_waiting_after_the_timeout() -> None:
    store = GatedStore()
    buffer = buffer_on(store, max_delay=0.001, wait_timeout=0.05)
    store.hold()

    with pytest.raises(FlushTimeout):
        buffer.write(rows(1))

    store.release.set()
    buffer.close()
    assert store.inserts == [["evt-00000001"]]  # written later; a retry is deduplicated


def test_closing_writes_what_is_pending_then_refuses_rows() -> None:
    # given rows waiting for a flush a minute away
    store = GatedStore()
    buffer = buffer_on(store, max_delay=60)
    future = buffer.submit(rows(1, 2))

    # when the buffer closes
    buffer.close()

    # then they are written and their request acknowledged; later rows are refused
    assert future.result(0) is None
    assert store.inserts == [["evt-00000001", "evt-00000002"]]
    with pytest.raises(BufferClosed):
        buffer.submit(rows(3))


# ---------------------------------------------------------------- through the holder and HTTP


def test_closing_the_context_writes_the_pending_events(
    track_ctx: Context, analytics_store: AnalyticsStore
) -> None:
    # given events queued in the context's buffer, a minute before their flush
    holder = holder_ctx(track_ctx)
    holder.ingest_settings = IngestSettings(max_delay=60)
    events, _ = validate_batch([an_event(n) for n in range(10)], sent_at=None, received_at=START)
    future = holder.ingest_buffer().submit([event_row(e) for e in events])
    assert not future.done()

    # when the context closes (server shutdown)
    track_ctx.close()

    # then they are stored
    assert future.result(0) is None
    assert raw_count(analytics_store) == 10
    with pytest.raises(BufferClosed):
        holder.ingest_buffer().submit([event_row(e) for e in events])


def test_many_clients_posting_overlapping_batches_store_each_event_once(
    track_client: TestClient, track_ctx: Context, analytics_store: AnalyticsStore
) -> None:
    # given 40 batches of 100 events, each sharing 50 ids with the next, and each sent
    # twice (a lost response), from 8 threads at once
    def batch(k: int) -> dict[str, Any]:
        device = f"device-{k:04d}-abcd"
        return {"batch": [an_event(n, anonymous_id=device) for n in range(k * 50, k * 50 + 100)]}

    jobs = [batch(k) for k in range(40)] * 2
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda body: post(track_client, body), jobs))

    # then every request is acknowledged and each of the 2,050 ids is stored once
    assert {r.status_code for r in responses} == {200}
    assert all(r.json()["accepted"] == 100 for r in responses)
    assert len(stored(analytics_store, "event_id")) == 40 * 50 + 50
    assert raw_count(analytics_store) == 40 * 50 + 50
    # in fewer inserts than requests
    assert holder_ctx(track_ctx).ingest_buffer().flushes < len(jobs)


def test_a_failed_write_answers_503_and_the_retry_is_stored_once(
    track_client: TestClient, analytics_store: AnalyticsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given chdb failing the next insert
    original = analytics_store.insert
    calls: list[int] = []

    def flaky(*args: Any, **kwargs: Any) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("simulated chdb failure")
        return original(*args, **kwargs)

    monkeypatch.setattr(analytics_store, "insert", flaky)
    body = {"batch": [an_event(n) for n in range(30)]}

    # when a batch is sent, fails, and is retried
    failed = post(track_client, body)
    retried = post(track_client, body)

    # then the failure is a 503 to retry, nothing was acknowledged, and the retry counts once
    assert failed.status_code == 503
    assert failed.headers["Retry-After"] == "1"
    assert failed.json()["error"]["code"] == "ingest_failed"
    assert retried.status_code == 200
    assert retried.json()["accepted"] == 30
    assert raw_count(analytics_store) == 30


def test_a_full_buffer_answers_503_with_retry_after(
    track_client: TestClient, track_ctx: Context, analytics_store: AnalyticsStore
) -> None:
    # given a buffer holding at most 5 events
    holder_ctx(track_ctx).ingest_settings = IngestSettings(max_pending_rows=5)

    # when a batch of 6 arrives
    response = post(track_client, {"batch": [an_event(n) for n in range(6)]})

    # then it is refused with a hint to retry, and nothing is stored
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "ingest_busy"
    assert " / " in response.json()["error"]["message"]
    assert raw_count(analytics_store) == 0
    # while a batch that fits is stored
    assert post(track_client, {"batch": [an_event(n) for n in range(5)]}).status_code == 200
    assert raw_count(analytics_store) == 5
