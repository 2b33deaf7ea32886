"""The audit log: every operator write records who did what to which object, when,
with the state before and after."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.identity.models import AuditLog


class _Row(Protocol):
    @property
    def id(self) -> int: ...


RowT = TypeVar("RowT", bound=_Row)


def record_audit(
    session: Session,
    *,
    operator_id: int,
    action: str,
    target_type: str,
    target_id: int | str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    now: datetime,
) -> None:
    session.add(
        AuditLog(
            operator_id=operator_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            before=before,
            after=after,
            at=now,
        )
    )


def list_audit_logs(
    session: Session,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    operator_id: int | None = None,
    before_id: int | None = None,
    limit: int = 50,
    oldest_first: bool = False,
    offset: int = 0,
) -> list[AuditLog]:
    """Entries by time, newest first (``oldest_first`` turns it round); the words for
    each are in :mod:`siyu.identity.audit_text`."""
    stmt = select(AuditLog)
    if target_type:
        stmt = stmt.where(AuditLog.target_type == target_type)
    if target_id:
        stmt = stmt.where(AuditLog.target_id == target_id)
    if operator_id:
        stmt = stmt.where(AuditLog.operator_id == operator_id)
    if before_id:
        stmt = stmt.where(AuditLog.id < before_id)
    if oldest_first:
        stmt = stmt.order_by(AuditLog.at.asc(), AuditLog.id.asc())
    else:
        stmt = stmt.order_by(AuditLog.at.desc(), AuditLog.id.desc())
    return list(session.scalars(stmt.offset(max(offset, 0)).limit(limit)))


def _plain(value: Any) -> Any:
    """A value as the audit log's JSON stores it."""
    return value.isoformat() if isinstance(value, datetime) else value


def assign(target: Any, changes: dict[str, Any], keys: Iterable[str]) -> None:
    """Set on ``target`` those of ``keys`` that ``changes`` holds."""
    for key in keys:
        if key in changes:
            setattr(target, key, changes[key])


@dataclass(frozen=True)
class AuditTrail(Generic[RowT]):
    """How one kind of row is audited: its target type, which names its actions
    (``<target_type>.<verb>``), and the snapshot stored before and after a write."""

    target_type: str
    snapshot: Callable[[RowT], dict[str, Any]]

    def record(
        self,
        session: Session,
        target_id: int | str,
        verb: str,
        *,
        operator_id: int,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        now: datetime,
    ) -> None:
        record_audit(
            session,
            operator_id=operator_id,
            action=f"{self.target_type}.{verb}",
            target_type=self.target_type,
            target_id=target_id,
            before=before,
            after=after,
            now=now,
        )

    def add(self, session: Session, row: RowT, *, operator_id: int, now: datetime) -> None:
        """Add ``row``, flush it for its id and record it as created."""
        session.add(row)
        session.flush()
        self.created(session, row, operator_id=operator_id, now=now)

    def created(self, session: Session, row: RowT, *, operator_id: int, now: datetime) -> None:
        """Record ``row`` (flushed, so it has its id) as created."""
        self.record(
            session,
            row.id,
            "create",
            operator_id=operator_id,
            before=None,
            after=self.snapshot(row),
            now=now,
        )

    def delete(self, session: Session, row: RowT, *, operator_id: int, now: datetime) -> None:
        """Delete ``row`` and record what it was."""
        before = self.snapshot(row)
        target_id = row.id
        session.delete(row)
        session.flush()
        self.record(
            session,
            target_id,
            "delete",
            operator_id=operator_id,
            before=before,
            after=None,
            now=now,
        )

    def apply(
        self,
        session: Session,
        row: RowT,
        verb: str,
        changes: dict[str, Any],
        *,
        operator_id: int,
        now: datetime,
    ) -> None:
        """Set ``changes`` on ``row`` (which has ``updated_at``) and record the changed
        fields before and after."""
        before = {k: _plain(getattr(row, k)) for k in changes}
        for key, value in changes.items():
            setattr(row, key, value)
        row.updated_at = now  # type: ignore[attr-defined]
        self.record(
            session,
            row.id,
            verb,
            operator_id=operator_id,
            before=before,
            after={k: _plain(v) for k, v in changes.items()},
            now=now,
        )

    @contextmanager
    def change(
        self,
        session: Session,
        row: RowT,
        verb: str,
        *,
        operator_id: int,
        now: datetime,
        **extra: Any,
    ) -> Iterator[dict[str, Any]]:
        """Record ``row``'s snapshot before and after the block as one entry; nothing is
        recorded when the block raises. ``extra``, and what the block adds to the dict it
        is given, go into the entry's after state."""
        before = self.snapshot(row)
        yield extra
        self.record(
            session,
            row.id,
            verb,
            operator_id=operator_id,
            before=before,
            after=self.snapshot(row) | extra,
            now=now,
        )
