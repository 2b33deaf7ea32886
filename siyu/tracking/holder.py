"""The context's analytics store, opened on first use.

Most commands (migrate, create-operator) never touch analytics, and chdb allows one
data folder per process, so the store is opened lazily, with its schema applied,
the first time something queries or inserts. A store handed in (tests, a server
already connected) is used as is and left open on close: its owner closes it.

The holder also owns the process's :class:`~siyu.tracking.buffer.IngestBuffer` (the
group commit of ``/api/track``), made on first use with :attr:`ingest_settings`;
closing the holder first writes the rows still waiting in it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from siyu.analytics.schema import ensure_schema
from siyu.analytics.store import (
    DEFAULT_DATABASE,
    AnalyticsStore,
    QueryResult,
    RawAnalyticsStore,
    open_store,
)
from siyu.tracking.buffer import BufferClosed, IngestBuffer, IngestSettings
from siyu.tracking.ingest import EVENT_COLUMNS


class AnalyticsUnavailable(RuntimeError):
    """The analytics store cannot be opened in this process (a chdb folder another
    process holds): a clear message instead of chdb's own error."""


def _database_of(url: str) -> str:
    if url.startswith("chdb://"):
        return DEFAULT_DATABASE
    return (urlparse(url).path or "/").strip("/") or DEFAULT_DATABASE


class LazyAnalyticsStore:
    """An :class:`AnalyticsStore` that opens ``url`` when first used."""

    def __init__(self, url: str, *, store: AnalyticsStore | None = None) -> None:
        self.url = url
        self._store = store
        self._owned = store is None
        self._lock = threading.Lock()
        self._closed = False
        self._closing = False
        self._buffer: IngestBuffer | None = None
        self.ingest_settings = IngestSettings()
        self.database = store.database if store is not None else _database_of(url)

    @property
    def is_open(self) -> bool:
        return self._store is not None and not self._closed

    def _get(self) -> AnalyticsStore:
        store = self._store
        if store is not None:
            return store
        with self._lock:
            if self._closed:
                raise RuntimeError("analytics store is closed")
            if self._store is None:
                try:
                    opened = open_store(self.url, database=self.database)
                except Exception as exc:
                    if not self.url.startswith("chdb://"):
                        raise
                    raise AnalyticsUnavailable(
                        f"分析库目录 {self.url} 无法打开（可能已被另一个进程占用）/ the chdb "
                        f"folder {self.url} could not be opened ({exc.__class__.__name__}: "
                        f"{str(exc)[:200]}); chdb allows one process per folder: with "
                        "several processes set SIYU_ANALYTICS_URL=clickhouse://…"
                    ) from exc
                try:
                    ensure_schema(opened)
                except Exception:
                    opened.close()
                    raise
                self._store = opened
            return self._store

    def ingest_buffer(self) -> IngestBuffer:
        """The group commit of tracked events into ``events`` (one per process)."""
        buffer = self._buffer
        if buffer is not None:
            return buffer
        with self._lock:
            if self._closing:
                raise BufferClosed("事件写入已停止 / Event ingestion is shutting down")
            if self._buffer is None:
                self._buffer = IngestBuffer(
                    self, "events", EVENT_COLUMNS, settings=self.ingest_settings
                )
            return self._buffer

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._get().command(sql, params)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        return self._get().query(sql, params)

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        dedup_token: str | None = None,
    ) -> int:
        return self._get().insert(table, columns, rows, dedup_token=dedup_token)

    def query_bytes(self, sql: str, fmt: str) -> bytes:
        store = self._get()
        if not isinstance(store, RawAnalyticsStore):
            raise TypeError("this analytics store cannot export tables")
        return store.query_bytes(sql, fmt)

    def insert_file(self, table: str, path: Path, fmt: str) -> None:
        store = self._get()
        if not isinstance(store, RawAnalyticsStore):
            raise TypeError("this analytics store cannot import tables")
        store.insert_file(table, path, fmt)

    def close(self) -> None:
        with self._lock:
            if self._closing:
                return
            self._closing = True
            buffer = self._buffer
        if buffer is not None:
            buffer.close()  # writes what is still pending, while the store is open
        with self._lock:
            self._closed = True
            if self._owned and self._store is not None:
                self._store.close()
