"""The SQL store: engine, session factory, declarative base and column types.

SQLite (default) runs in WAL mode and starts every transaction with
``BEGIN IMMEDIATE`` so that concurrent writers queue on the busy timeout instead
of failing on a lock upgrade; PostgreSQL runs at READ COMMITTED and relies on
guarded statements (``UPDATE … WHERE n >= :k``) and ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    create_engine,
    event,
)
from sqlalchemy.engine import Connection, CursorResult, Dialect, Result
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores timezone-aware UTC datetimes; refuses naive ones; returns aware ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class StrEnumType(TypeDecorator[Any]):
    """A ``StrEnum`` stored as its plain string value, read back as the enum member."""

    impl = String
    cache_ok = True

    def __init__(self, enum_cls: type[StrEnum], length: int = 24) -> None:
        super().__init__(length)
        self.enum_cls = enum_cls

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_cls(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else self.enum_cls(value)


BigId = BigInteger().with_variant(Integer, "sqlite")
IdPk = Annotated[int, mapped_column(BigId, primary_key=True, autoincrement=True)]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
        int: BigId,
    }


READ_ONLY_OPTION = "siyu_read_only"
WRITE_LOCK_TIMEOUT_SECONDS = 30
_HOLDS_WRITE_LOCK = "siyu_holds_write_lock"


def _prepare_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # SQLite has one writer at a time. Writers of this process queue on a lock here
    # instead of polling in SQLite's busy handler, which sleeps in growing steps and
    # gives long, unfair tails under load. Readers take no lock in WAL mode.
    write_lock = threading.Lock()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY_OPTION, False):
            conn.exec_driver_sql("BEGIN")
            return
        if not write_lock.acquire(timeout=WRITE_LOCK_TIMEOUT_SECONDS):
            raise TimeoutError("timed out waiting for the SQLite write lock")
        conn.info[_HOLDS_WRITE_LOCK] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn)
            raise

    def _release(conn: Any) -> None:
        if conn.info.pop(_HOLDS_WRITE_LOCK, False):
            write_lock.release()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, echo=echo, pool_size=20, max_overflow=20, pool_pre_ping=True)
    if url in ("sqlite://", "sqlite:///:memory:"):
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False}, poolclass=StaticPool
        )
    else:
        Path(url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=10,
            max_overflow=40,
        )
    _prepare_sqlite(engine)
    return engine


_Row = TypeVar("_Row")


def get_or_raise(
    session: Session,
    model: type[_Row],
    ident: int,
    missing: Exception,
    accept: Callable[[_Row], bool] | None = None,
) -> _Row:
    """The row with primary key ``ident``; raises ``missing`` when there is none, or
    when ``accept`` refuses it (a row that belongs to someone else is "not found" too)."""
    row = session.get(model, ident)
    if row is None or (accept is not None and not accept(row)):
        raise missing
    return row


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE/DELETE: how a guarded statement tells who won."""
    return cast(CursorResult[Any], result).rowcount


class Database:
    """Owns the engine and hands out sessions. The caller owns the transaction."""

    def __init__(self, url: str, *, echo: bool = False, info: dict[str, Any] | None = None) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        # ``info``: what every session of this database carries in ``Session.info`` (the
        # composition root puts the shared memo of siyu.versions there).
        info = dict(info or {})
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False, info=info)
        self.read_engine = self.engine.execution_options(**{READ_ONLY_OPTION: True})
        self.read_sessionmaker = sessionmaker(self.read_engine, expire_on_commit=False, info=info)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self.sessionmaker()

    def read_session(self) -> Session:
        """For requests that only read: on SQLite they do not queue behind writers."""
        return self.read_sessionmaker()

    def read_connection(self) -> Connection:
        """A connection for reads only: on SQLite it takes no write lock."""
        return self.read_engine.connect()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any exception."""
        with self.sessionmaker() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
