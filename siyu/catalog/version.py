"""The catalog version: one number that changes whenever what a shopper sees of the
catalog changes — a product, SKU or category created, edited, priced, put on or off
sale, deleted — so readers can cache the catalog and know at once when not to.

It is bumped in the writing transaction itself (a ``before_flush`` hook on the store's
sessions sees every ORM change to a catalog row), so the new content and the new
version commit together, and every process reads the one stored number: an edit is
visible on the next read in any process. Stock and sales counts move on every order
and are deliberately *not* content: ``stock.py`` changes them with guarded statements
that leave the version alone; pages that show stock read it fresh, and sales counts
are refreshed by age (see ``siyu.web.catalog_cache``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert, inspect, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import InstanceState, Mapped, Session, mapped_column, sessionmaker

from siyu.catalog.models import Category, Product, Sku
from siyu.db import Base, rowcount

CONTENT_MODELS = (Product, Sku, Category)
# Columns that change with orders, not with the catalog's content.
MOVING_COLUMNS = frozenset({"stock", "sales_count"})
ROW_ID = 1


class CatalogVersion(Base):
    __tablename__ = "catalog_versions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(default=0)


def _changes_content(session: Session) -> bool:
    for obj in (*session.new, *session.deleted):
        if isinstance(obj, CONTENT_MODELS):
            return True
    for obj in session.dirty:
        if not isinstance(obj, CONTENT_MODELS):
            continue
        state: InstanceState[Any] = inspect(obj)
        changed = {a.key for a in state.attrs if a.history.has_changes()}
        if changed - MOVING_COLUMNS:
            return True
    return False


def bump(session: Session) -> None:
    """Move the version on, in ``session``'s transaction."""
    result = session.execute(
        update(CatalogVersion)
        .where(CatalogVersion.id == ROW_ID)
        .values(version=CatalogVersion.version + 1)
    )
    if rowcount(result) == 0:  # a database made by create_all, not by the migrations
        session.execute(insert(CatalogVersion).values(id=ROW_ID, version=1))


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    if _changes_content(session) and not session.info.get("catalog_bumped"):
        session.info["catalog_bumped"] = True
        bump(session)


def _after_end(session: Session, *_: Any) -> None:
    session.info.pop("catalog_bumped", None)


def track_versions(factory: sessionmaker[Session]) -> None:
    """Bump the version in every transaction of ``factory``'s sessions that changes the
    catalog's content (once per transaction)."""
    event.listen(factory, "before_flush", _before_flush)
    event.listen(factory, "after_commit", _after_end)
    event.listen(factory, "after_rollback", _after_end)


VERSION_SQL = select(CatalogVersion.version).where(CatalogVersion.id == ROW_ID)


def current(conn: Connection | Session) -> int:
    """The stored version (0 before the first edit)."""
    return conn.execute(VERSION_SQL).scalar() or 0
