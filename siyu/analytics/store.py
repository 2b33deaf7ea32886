"""The analytics store: ClickHouse SQL on embedded chdb (default) or a ClickHouse server.

``open_store(url)``:

- ``chdb://./siyu-data/analytics`` — embedded, in-process; the data folder is the path.
  chdb allows one data folder per *process* at a time ("EmbeddedServer already
  initialized"), so sessions are shared per process and a second path is refused
  until the first store is closed. Threads of one process may query concurrently.
- ``clickhouse://user:password@host:8123/database`` — a server, through
  clickhouse-connect (HTTP).

Both speak the same SQL and move data the same way: queries take ClickHouse
server-side parameters (``{name:Type}``, never string formatting of values) and are
read as ``JSONCompact``; rows are written as ``JSONCompactColumns`` (or
``JSONEachRow``). So both stores return the same Python values and runners shape one
kind of row.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlparse

import orjson

DEFAULT_DATABASE = "siyu"


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None


class AnalyticsStore(Protocol):
    database: str

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None: ...

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult: ...

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        dedup_token: str | None = None,
    ) -> int: ...

    def close(self) -> None: ...


@runtime_checkable
class RawAnalyticsStore(Protocol):
    """A store that also moves whole tables as bytes (backups): a query's answer in a
    binary format such as ``Parquet``, and an insert from such a file."""

    database: str

    def query_bytes(self, sql: str, fmt: str) -> bytes: ...

    def insert_file(self, table: str, path: Path, fmt: str) -> None: ...


class ChdbStore:
    """Embedded ClickHouse. One shared session per process (see module docstring)."""

    _lock = threading.Lock()
    _session: Any = None
    _path: str | None = None
    _users = 0

    def __init__(self, path: str | Path, database: str = DEFAULT_DATABASE) -> None:
        from chdb import session as chdb_session

        resolved = str(Path(path).resolve())
        with ChdbStore._lock:
            if ChdbStore._session is not None and ChdbStore._path != resolved:
                raise RuntimeError(
                    f"chdb already has {ChdbStore._path} open in this process; "
                    f"close that store before opening {resolved}"
                )
            if ChdbStore._session is None:
                Path(resolved).mkdir(parents=True, exist_ok=True)
                ChdbStore._session = chdb_session.Session(resolved)
                ChdbStore._path = resolved
            ChdbStore._users += 1
        self.database = database
        self._closed = False
        self.command(f"CREATE DATABASE IF NOT EXISTS {database}")

    def _run(self, sql: str, params: Mapping[str, Any] | None, fmt: str) -> Any:
        if self._closed:
            raise RuntimeError("analytics store is closed")
        return ChdbStore._session.query(sql, fmt, params=dict(params or {}))

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(sql, params, "CSV")

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        settings = ", ".join(f"{k} = {v}" for k, v in JSON_SETTINGS.items())
        return parse_json_compact(
            self._run(f"{sql} SETTINGS {settings}", params, "JSONCompact").bytes()
        )

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        dedup_token: str | None = None,
    ) -> int:
        block = insert_block(columns, rows, dedup_token)
        if block is None:
            return 0
        settings = f" SETTINGS insert_deduplication_token = '{block.token}'" if block.token else ""
        head = f"INSERT INTO {self.database}.{table} ({', '.join(columns)}){settings} FORMAT "
        self._run(f"{head}{block.fmt}\n{block.data}", None, "CSV")
        return block.rows

    def query_bytes(self, sql: str, fmt: str) -> bytes:
        return bytes(self._run(f"{sql} FORMAT {fmt}", None, "CSV").bytes())

    def insert_file(self, table: str, path: Path, fmt: str) -> None:
        source = str(Path(path).resolve()).replace("\\", "\\\\").replace("'", "\\'")
        self._run(
            f"INSERT INTO {self.database}.{table} SELECT * FROM file('{source}', {fmt})",
            None,
            "CSV",
        )

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with ChdbStore._lock:
            ChdbStore._users -= 1
            if ChdbStore._users == 0 and ChdbStore._session is not None:
                ChdbStore._session.close()
                ChdbStore._session = None
                ChdbStore._path = None


class ClickHouseServerStore:
    """A ClickHouse server (or cluster entry point) over HTTP via clickhouse-connect."""

    def __init__(self, url: str) -> None:
        import clickhouse_connect

        parsed = urlparse(url)
        self.database = (parsed.path or "/").strip("/") or DEFAULT_DATABASE
        server: dict[str, Any] = {
            "host": parsed.hostname or "127.0.0.1",
            "port": parsed.port or 8123,
            "username": unquote(parsed.username or "default"),
            "password": unquote(parsed.password or ""),
        }
        bootstrap = clickhouse_connect.get_client(**server)
        bootstrap.command(f"CREATE DATABASE IF NOT EXISTS {self.database}")
        bootstrap.close()
        self._client = clickhouse_connect.get_client(**server, database=self.database)

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._client.command(sql, parameters=dict(params or {}))

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        # The same format and settings as chdb: both stores return the same Python values
        # (JSON's), so runners shape one kind of row whatever the store.
        raw = self._client.raw_query(
            sql, parameters=dict(params or {}), settings=dict(JSON_SETTINGS), fmt="JSONCompact"
        )
        return parse_json_compact(raw)

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        dedup_token: str | None = None,
    ) -> int:
        block = insert_block(columns, rows, dedup_token)
        if block is None:
            return 0
        settings = {"insert_deduplication_token": block.token} if block.token else None
        self._client.raw_insert(
            f"{self.database}.{table}",
            list(columns),
            insert_block=block.data.encode(),
            settings=settings,
            fmt=block.fmt,
        )
        return block.rows

    def query_bytes(self, sql: str, fmt: str) -> bytes:
        return bytes(self._client.raw_query(sql, fmt=fmt))

    def insert_file(self, table: str, path: Path, fmt: str) -> None:
        self._client.raw_insert(
            f"{self.database}.{table}", insert_block=Path(path).read_bytes(), fmt=fmt
        )

    def close(self) -> None:
        self._client.close()


# Output settings of every query: 64-bit integers and decimals as JSON numbers.
JSON_SETTINGS: Mapping[str, int] = {
    "output_format_json_quote_64bit_integers": 0,
    "output_format_json_quote_decimals": 0,
}


def parse_json_compact(raw: bytes) -> QueryResult:
    """A ``JSONCompact`` answer (empty for statements without a result) as a QueryResult."""
    if not raw:
        return QueryResult([], [])
    data = json.loads(raw)
    return QueryResult(
        columns=[m["name"] for m in data["meta"]],
        rows=[tuple(row) for row in data["data"]],
    )


@dataclass(frozen=True)
class InsertBlock:
    """What both stores send for one insert: the rows encoded, their format and count,
    and the checked deduplication token (if any)."""

    rows: int
    fmt: str
    data: str
    token: str | None


def insert_block(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], dedup_token: str | None
) -> InsertBlock | None:
    """The block to insert, or None when there are no rows."""
    batch = list(rows)
    if not batch:
        return None
    token = _token(dedup_token) if dedup_token else None
    fmt, data = insert_payload(columns, batch)
    return InsertBlock(len(batch), fmt, data, token)


def insert_payload(columns: Sequence[str], rows: list[Sequence[Any]]) -> tuple[str, str]:
    """The rows in the format both stores insert: ``JSONCompactColumns`` (fast) when every
    value is a plain str / int / bool / None, else ``JSONEachRow`` through ``json.dumps``."""
    data = _compact_columns(columns, rows)
    if data is not None:
        return "JSONCompactColumns", data
    lines = [
        json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False, default=str)
        for row in rows
    ]
    return "JSONEachRow", "\n".join(lines)


# Values orjson writes as json.dumps(..., default=str) does (floats are not: orjson
# writes 1e-05 as 0.00001 and NaN as null; datetimes, Decimals, enums… go through str).
_PLAIN_TYPES = frozenset((str, int, bool, type(None)))


def _compact_columns(columns: Sequence[str], rows: list[Sequence[Any]]) -> str | None:
    """The rows as one ``JSONCompactColumns`` document (``[[column 1 values], …]``), or
    None when a value is not a plain str / int / bool / None or the rows do not all
    have one value per column: then the exact ``json.dumps`` path writes (or raises)."""
    values = list(zip(*rows, strict=True)) if rows else []
    if len(values) != len(columns) or not _PLAIN_TYPES.issuperset(
        map(type, chain.from_iterable(values))
    ):
        return None
    try:
        return orjson.dumps(values).decode()
    except orjson.JSONEncodeError:  # ints beyond 64 bits, lone surrogates
        return None


def _token(value: str) -> str:
    if not all(c.isalnum() or c in "-_:." for c in value):
        raise ValueError("dedup token must be alphanumeric (with - _ : .)")
    return value


def open_store(url: str, *, database: str = DEFAULT_DATABASE) -> AnalyticsStore:
    if url.startswith("chdb://"):
        return ChdbStore(url.removeprefix("chdb://"), database=database)
    if url.startswith(("clickhouse://", "http://", "https://")):
        return ClickHouseServerStore(url.replace("clickhouse://", "http://", 1))
    raise ValueError(f"unsupported analytics URL {url!r}: use chdb://PATH or clickhouse://HOST")
