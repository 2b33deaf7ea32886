"""The audit log: every operator write records who did what to which object, when,
with the state before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.identity.models import AuditLog


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
) -> list[AuditLog]:
    stmt = select(AuditLog)
    if target_type:
        stmt = stmt.where(AuditLog.target_type == target_type)
    if target_id:
        stmt = stmt.where(AuditLog.target_id == target_id)
    if operator_id:
        stmt = stmt.where(AuditLog.operator_id == operator_id)
    if before_id:
        stmt = stmt.where(AuditLog.id < before_id)
    return list(session.scalars(stmt.order_by(AuditLog.id.desc()).limit(limit)))


def _plain(value: Any) -> Any:
    """A value as the audit log's JSON stores it."""
    return value.isoformat() if isinstance(value, datetime) else value


def apply_audited(
    session: Session,
    target: Any,
    changes: dict[str, Any],
    *,
    operator_id: int,
    action: str,
    target_type: str,
    now: datetime,
) -> None:
    """Set ``changes`` on ``target`` (a row with ``id`` and ``updated_at``) and record
    the changed fields before and after in the audit log."""
    before = {k: _plain(getattr(target, k)) for k in changes}
    for key, value in changes.items():
        setattr(target, key, value)
    target.updated_at = now
    record_audit(
        session,
        operator_id=operator_id,
        action=action,
        target_type=target_type,
        target_id=target.id,
        before=before,
        after={k: _plain(v) for k, v in changes.items()},
        now=now,
    )
