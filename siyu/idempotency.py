"""Idempotency keys for unsafe POSTs (Stripe's semantics, specs/wechat.md §5.1).

The key row is inserted *first*, in the same transaction as the work, so a
concurrent request with the same key waits on the unique index (PostgreSQL) or the
write lock (SQLite) and then replays the stored response. Same key with another
body → 422. Only successful results are stored: a request that failed changed
nothing and may be retried. Keys are kept at least 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from siyu.db import Base, IdPk, rowcount
from siyu.errors import InvalidInput

MAX_KEY_LENGTH = 255


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "owner_id", "key"),)

    id: Mapped[IdPk]
    scope: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[int]
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None]
    response_body: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(index=True)


@dataclass(frozen=True)
class IdempotencyKey:
    scope: str
    owner_id: int
    key: str
    request_hash: str


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict[str, Any]


def request_hash(scope: str, payload: Any) -> str:
    canonical = json.dumps([scope, payload], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            "bad_idempotency_key",
            "Idempotency-Key 需为 1 到 255 个可见字符 / "
            "Idempotency-Key must be 1-255 printable characters",
            {"Idempotency-Key": "invalid"},
        )


def _mismatch() -> InvalidInput:
    return InvalidInput(
        "idempotency_key_reused",
        "同一个 Idempotency-Key 已用于不同的请求 / "
        "This Idempotency-Key was used for a different request",
        {"Idempotency-Key": "reused"},
    )


def find_response(session: Session, key: IdempotencyKey) -> StoredResponse | None:
    record = session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == key.scope,
            IdempotencyRecord.owner_id == key.owner_id,
            IdempotencyRecord.key == key.key,
        )
    )
    if record is None:
        return None
    if record.request_hash != key.request_hash:
        raise _mismatch()
    if record.response_status is None or record.response_body is None:
        return None
    return StoredResponse(record.response_status, record.response_body)


def claim_key(session: Session, key: IdempotencyKey, *, now: datetime) -> IdempotencyRecord:
    record = IdempotencyRecord(
        scope=key.scope,
        owner_id=key.owner_id,
        key=key.key,
        request_hash=key.request_hash,
        created_at=now,
    )
    session.add(record)
    session.flush()  # waits here on a concurrent holder of the same key
    return record


def store_response(record: IdempotencyRecord, status: int, body: dict[str, Any]) -> None:
    record.response_status = status
    record.response_body = body


def purge_expired_keys(session: Session, *, now: datetime, ttl: timedelta) -> int:
    result = session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - ttl)
    )
    return rowcount(result)
