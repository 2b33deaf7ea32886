"""Content versions: one number per kind of content shoppers see — the catalog, the
store's offers — moved on in the same transaction as any change to it, so that every
process can cache what it derives from that content and know at once when not to.

``watch(factory, topic, models)`` bumps ``topic`` in every transaction of the factory's
sessions that flushes a change to one of ``models`` (columns in ``moving`` excepted:
stock and sales counts change with every order and are not content). A
:class:`VersionedMemo` keeps values derived from content keyed by the versions read in
the caller's own transaction, so a cached value is never older than what that
transaction would read itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Hashable
from typing import Any, TypeVar

from sqlalchemy import event, insert, inspect, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import InstanceState, Mapped, Session, mapped_column, sessionmaker

from siyu.db import Base, rowcount

CATALOG = 1  # products, SKUs, categories
OFFERS = 2  # promotions and coupon templates, with their scopes
POINTS_RULES = 3  # the store's points rules (earning, expiry, sign-up reward)

_T = TypeVar("_T")


class ContentVersion(Base):
    __tablename__ = "content_versions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # the topic
    version: Mapped[int] = mapped_column(default=0)


def bump(session: Session, topic: int) -> None:
    """Move ``topic`` on, in ``session``'s transaction."""
    result = session.execute(
        update(ContentVersion)
        .where(ContentVersion.id == topic)
        .values(version=ContentVersion.version + 1)
    )
    if rowcount(result) == 0:  # a database made by create_all, not by the migrations
        session.execute(insert(ContentVersion).values(id=topic, version=1))


def _changed(session: Session, models: tuple[type, ...], moving: frozenset[str]) -> bool:
    if any(isinstance(obj, models) for obj in (*session.new, *session.deleted)):
        return True
    for obj in session.dirty:
        if isinstance(obj, models):
            state: InstanceState[Any] = inspect(obj)
            if {a.key for a in state.attrs if a.history.has_changes()} - moving:
                return True
    return False


def watch(
    factory: sessionmaker[Session],
    topic: int,
    models: Collection[type],
    moving: frozenset[str] = frozenset(),
) -> None:
    watched = tuple(models)
    flag = f"content_version_{topic}_bumped"

    def before_flush(session: Session, _context: Any, _instances: Any) -> None:
        if not session.info.get(flag) and _changed(session, watched, moving):
            session.info[flag] = True
            bump(session, topic)

    def reset(session: Session, *_: Any) -> None:
        session.info.pop(flag, None)

    event.listen(factory, "before_flush", before_flush)
    event.listen(factory, "after_commit", reset)
    event.listen(factory, "after_rollback", reset)


def read(conn: Connection | Session, topics: Collection[int]) -> tuple[int, ...]:
    """The stored versions of ``topics``, in the order given (0 before any change)."""
    found = conn.execute(
        select(ContentVersion.id, ContentVersion.version).where(ContentVersion.id.in_(topics))
    ).all()
    rows = {int(topic): int(version) for topic, version in found}
    return tuple(rows.get(t, 0) for t in topics)


class VersionedMemo:
    """Values derived from content, kept while the content's versions stand."""

    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[tuple[int, ...], Any]] = {}
        self._lock = threading.Lock()

    def get(
        self, session: Session, key: Hashable, topics: Collection[int], load: Callable[[], _T]
    ) -> _T:
        versions = read(session, topics)
        entry = self._entries.get(key)
        if entry is not None and entry[0] == versions:
            value: _T = entry[1]
            return value
        value = load()
        with self._lock:
            self._entries[key] = (versions, value)
        return value


MEMO_KEY = "siyu_versioned_memo"


def memo_of(session: Session) -> VersionedMemo | None:
    """The memo of the database ``session`` belongs to (None for a bare session)."""
    memo = session.info.get(MEMO_KEY)
    return memo if isinstance(memo, VersionedMemo) else None
