"""One Lua script on Redis, called from asyncio at the cost of a few microseconds.

The flash-sale gate asks Redis one question per request (``EVALSHA`` of its admission
script). redis-py's asyncio client spends about 65 µs of Python on each call (command
packing, connection-pool checkout, health checks, retries, response parsing), a quarter
of the whole request when the gate answers it. This client keeps one connection per
event loop, writes each call as soon as it is made and matches the replies in order
(Redis answers a connection's commands in the order they were sent), with hiredis
packing and parsing in C.

It speaks plain RESP2 over TCP: ``redis://[user:password@]host[:port][/db]``.
``open_script_caller`` answers ``None`` for anything else (TLS, a Unix socket) and the
gate then uses redis-py. A lost connection fails the calls waiting on it with
``ConnectionError``; the next call connects again. ``NOSCRIPT`` (Redis restarted or
its script cache flushed) loads the script and calls it once more.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from typing import Any
from urllib.parse import unquote, urlparse

import hiredis


class ScriptError(Exception):
    """Redis answered the call with an error."""


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader()
        self.waiting: deque[asyncio.Future[Any]] = deque()
        self.transport: asyncio.Transport | None = None
        self.open = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            future = self.waiting.popleft()
            if not future.done():  # a caller that gave up (cancelled) is skipped
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(ConnectionError("Redis connection lost"))

    def call(self, *args: str | int | bytes) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        assert self.transport is not None
        self.transport.write(hiredis.pack_command(args))  # type: ignore[arg-type]
        self.waiting.append(future)
        return future


class ScriptCaller:
    """``await caller(keys, args)``: EVALSHA of ``script`` on this loop's connection."""

    def __init__(self, host: str, port: int, db: int, auth: tuple[str, ...], script: str) -> None:
        self.host, self.port, self.db, self.auth = host, port, db, auth
        self.script = script
        self.sha = hashlib.sha1(script.encode()).hexdigest()
        self._connection: _Connection | None = None
        self._connecting: asyncio.Lock | None = None

    async def _open(self) -> _Connection:
        connection = self._connection
        if connection is not None and connection.open:
            return connection
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            connection = self._connection
            if connection is not None and connection.open:
                return connection
            loop = asyncio.get_running_loop()
            _, fresh = await loop.create_connection(_Connection, self.host, self.port)
            if self.auth:
                _check(await fresh.call("AUTH", *self.auth))
            if self.db:
                _check(await fresh.call("SELECT", self.db))
            self._connection = fresh
            return fresh

    async def __call__(self, keys: list[str], args: list[Any]) -> Any:
        connection = await self._open()
        reply = await connection.call("EVALSHA", self.sha, len(keys), *keys, *args)
        if isinstance(reply, hiredis.ReplyError) and str(reply).startswith("NOSCRIPT"):
            _check(await connection.call("SCRIPT", "LOAD", self.script))
            reply = await connection.call("EVALSHA", self.sha, len(keys), *keys, *args)
        return _check(reply)

    def close(self) -> None:
        if self._connection is not None and self._connection.transport is not None:
            self._connection.transport.close()
        self._connection = None


def _check(reply: Any) -> Any:
    if isinstance(reply, hiredis.ReplyError):
        raise ScriptError(str(reply))
    return reply


def open_script_caller(url: str, script: str) -> ScriptCaller | None:
    """A caller for a plain ``redis://`` URL; ``None`` when redis-py must do it."""
    parts = urlparse(url)
    if parts.scheme != "redis" or not parts.hostname:
        return None
    try:
        db = int((parts.path or "/0").strip("/") or "0")
        port = parts.port or 6379
    except ValueError:
        return None
    auth: tuple[str, ...] = ()
    if parts.password:
        password = unquote(parts.password)
        auth = (unquote(parts.username), password) if parts.username else (password,)
    return ScriptCaller(parts.hostname, port, db, auth, script)
