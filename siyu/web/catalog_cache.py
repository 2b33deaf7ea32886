"""The shopper's catalog reads — product list, product detail, category tree — served
from memory, checked against the stored catalog version on every request.

Each read asks the database one small question on a connection of its own (the
version, and for a product page its SKUs' stock), answered in tens of microseconds on
the event loop with no thread hand-over; only a miss loads and serialises the catalog
in the thread pool. So:

- an operator's edit, a price change, a product put off sale: the version moved in
  the same transaction (``siyu.catalog.version``), the next read in any process
  misses and reloads;
- stock: read fresh on every product page, so a sell-out shows at once;
- sales counts ("已售") and the sales sort move with every payment and are not
  content: a cached page is reloaded when it is older than :data:`MAX_AGE_SECONDS`.

Responses carry an ``ETag`` of their bytes and ``Cache-Control: no-cache``: clients
keep them and revalidate, and a matching ``If-None-Match`` gets a bodiless 304.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.pool import StaticPool
from starlette.concurrency import run_in_threadpool

from siyu import versions
from siyu.catalog.rules import is_low_stock
from siyu.db import Database

MAX_AGE_SECONDS = 10.0
MAX_ENTRIES = 2048
CACHE_CONTROL = "no-cache"


@dataclass(frozen=True)
class Entry:
    version: Hashable  # the catalog version, or (catalog, offers)
    made: float
    value: Any  # bytes (a whole response) or a JSON-ready dict (a product, stock apart)


class VersionReader:
    """The version and a product's stock, read on one DBAPI connection kept for this
    (autocommit, so each read sees the latest commit). A broken connection is dropped
    and the read retried once on a fresh one."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._conn: Any = None
        self._raw: Any = None
        mark = "?" if db.engine.dialect.paramstyle == "qmark" else "%s"
        self._version_sql = f"SELECT version FROM content_versions WHERE id = {versions.CATALOG}"
        self._both_sql = (
            "SELECT id, version FROM content_versions "
            f"WHERE id IN ({versions.CATALOG}, {versions.OFFERS})"
        )
        self._stock_sql = f"SELECT id, stock FROM skus WHERE product_id = {mark}"

    def _connect(self) -> Any:
        raw = self.db.engine.raw_connection()
        conn: Any = raw.driver_connection
        raw.detach()  # ours for good: not returned to the pool
        self._raw = raw
        if self.db.dialect != "sqlite":
            conn.autocommit = True
        return conn

    def _run(self, read: Callable[[Any], Any]) -> Any:
        if isinstance(self.db.engine.pool, StaticPool):  # one shared in-memory database
            raw = self.db.engine.raw_connection()
            try:
                return read(raw.driver_connection)
            finally:
                raw.close()
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None:
                        self._conn = self._connect()
                    return read(self._conn)
                except Exception:
                    broken, self._conn = self._conn, None
                    if broken is not None:
                        with suppress(Exception):  # already gone
                            broken.close()
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def _version(self, cursor: Any) -> int:
        cursor.execute(self._version_sql)
        row = cursor.fetchone()
        return int(row[0]) if row else 0

    def version(self) -> int:
        def read(conn: Any) -> int:
            cursor = conn.cursor()
            try:
                return self._version(cursor)
            finally:
                cursor.close()

        result: int = self._run(read)
        return result

    def catalog_and_offers(self) -> tuple[int, int]:
        """Both versions, for what follows the offers as well as the catalog."""

        def read(conn: Any) -> tuple[int, int]:
            cursor = conn.cursor()
            try:
                cursor.execute(self._both_sql)
                found = {int(i): int(v) for i, v in cursor.fetchall()}
                return found.get(versions.CATALOG, 0), found.get(versions.OFFERS, 0)
            finally:
                cursor.close()

        result: tuple[int, int] = self._run(read)
        return result

    def version_and_stock(self, product_id: int) -> tuple[int, dict[int, int]]:
        def read(conn: Any) -> tuple[int, dict[int, int]]:
            cursor = conn.cursor()
            try:
                version = self._version(cursor)
                cursor.execute(self._stock_sql, (product_id,))
                return version, {int(i): int(s) for i, s in cursor.fetchall()}
            finally:
                cursor.close()

        result: tuple[int, dict[int, int]] = self._run(read)
        return result

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class CatalogCache:
    def __init__(self, db: Database) -> None:
        self.reader = VersionReader(db)
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def _get(self, key: Hashable, version: Hashable) -> Any | None:
        entry = self._entries.get(key)
        if (
            entry is None
            or entry.version != version
            or time.monotonic() - entry.made > MAX_AGE_SECONDS
        ):
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry.value

    def _put(self, key: Hashable, version: Hashable, value: Any) -> None:
        self._entries[key] = Entry(version, time.monotonic(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)

    async def body(self, key: Hashable, load: Callable[[], Any]) -> bytes:
        """The JSON bytes of ``load()`` (run in the thread pool on a miss)."""
        version = self.reader.version()
        cached = self._get(key, version)
        if cached is None:
            cached = orjson.dumps(await run_in_threadpool(load))
            self._put(key, version, cached)
        body: bytes = cached
        return body

    async def with_offers(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """``load()`` (run in the thread pool on a miss), kept while neither the catalog
        nor the offers version moves: a product's member prices per tier follow its
        SKU prices and the tier table (whose edits move the offers version)."""
        version = self.reader.catalog_and_offers()
        value = self._get(key, version)
        if value is None:
            value = await run_in_threadpool(load)
            self._put(key, version, value)
        return value

    async def product(
        self,
        product_id: int,
        load: Callable[[], dict[str, Any]],
        extra: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]] | None = None,
    ) -> bytes:
        """A product page: its content from the cache, its SKUs' stock fresh, and
        ``extra(content)``'s keys (per shopper: member prices) added on top, never
        cached."""
        version, stock = self.reader.version_and_stock(product_id)
        key = ("product", product_id)
        content: dict[str, Any] | None = self._get(key, version)
        if content is None:
            content = await run_in_threadpool(load)
            self._put(key, version, content)
        skus = []
        for sku in content["skus"]:
            left = stock.get(sku["id"], sku["stock"])
            skus.append({**sku, "stock": left, "low_stock": is_low_stock(left)})
        more = await extra(content) if extra is not None else {}
        return orjson.dumps({**content, "skus": skus, **more})

    def close(self) -> None:
        self.reader.close()


def catalog_cache(request: Request) -> CatalogCache:
    cache: CatalogCache = request.app.state.catalog_cache
    return cache


def cached_response(request: Request, body: bytes) -> Response:
    """``body`` as JSON with its ETag; a bodiless 304 when the client has it already."""
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    offered = request.headers.get("if-none-match", "")
    if offered and etag in {t.strip().removeprefix("W/") for t in offered.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
