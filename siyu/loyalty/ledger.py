"""The points ledger: the only module that changes a balance, a lot or the entries.

Every operation appends one entry per bucket it changes, keyed by an idempotency key
(``INSERT … ON CONFLICT DO NOTHING``: a repeated key, even from a concurrent
transaction, applies nothing and returns None), and changes the balance by a guarded
update (``available >= :k``), so a balance never goes below zero and always equals
the sum of its bucket's entries. ``available`` also equals the sum of the shopper's
lots' ``remaining``. A failed guard raises :class:`InsufficientPoints` and the caller's
transaction rolls back with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Insert, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from siyu.db import rowcount
from siyu.errors import Conflict
from siyu.loyalty.models import PointsBalance, PointsEntry, PointsLot, PointsLotUse
from siyu.loyalty.rules import Bucket, EntryKind, take_fifo


class InsufficientPoints(Conflict):
    def __init__(self, points: int) -> None:
        super().__init__(
            "points_insufficient",
            f"积分不足 {points}，可能已被其他订单使用，请重新结算 / Fewer than {points} "
            "points are available (another order may have used them); please review",
            {"points": str(points)},
        )


@dataclass(frozen=True)
class Source:
    """What an entry is about: ("order", "42"), ("operator", "7"), ("reward", "signup")."""

    type: str = ""
    id: str = ""


def _insert(session: Session) -> type[Insert]:
    name = session.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert  # type: ignore[return-value]


def _ensure_balance(session: Session, shopper_id: int, now: datetime) -> None:
    stmt = _insert(session)(PointsBalance).values(
        shopper_id=shopper_id, available=0, pending=0, updated_at=now
    )
    session.execute(stmt.on_conflict_do_nothing(index_elements=["shopper_id"]))  # type: ignore[attr-defined]


def _append(
    session: Session,
    *,
    shopper_id: int,
    bucket: Bucket,
    delta: int,
    kind: EntryKind,
    key: str,
    reason: str,
    source: Source,
    now: datetime,
    operator_id: int | None = None,
) -> int | None:
    """The new entry's id, or None if ``key`` was applied before."""
    stmt = (
        _insert(session)(PointsEntry)
        .values(
            shopper_id=shopper_id,
            bucket=bucket,
            delta=delta,
            kind=kind,
            reason=reason[:200],
            source_type=source.type,
            source_id=source.id,
            idempotency_key=key,
            operator_id=operator_id,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])  # type: ignore[attr-defined]
        .returning(PointsEntry.id)
    )
    entry_id = session.execute(stmt).scalar()
    return None if entry_id is None else int(entry_id)


def _move(session: Session, shopper_id: int, bucket: Bucket, delta: int, now: datetime) -> bool:
    column = PointsBalance.available if bucket is Bucket.available else PointsBalance.pending
    result = session.execute(
        update(PointsBalance)
        .where(PointsBalance.shopper_id == shopper_id, column + delta >= 0)
        .values({column: column + delta, PointsBalance.updated_at: now})
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def is_applied(session: Session, key: str) -> bool:
    return (
        session.scalar(select(PointsEntry.id).where(PointsEntry.idempotency_key == key)) is not None
    )


def credit(
    session: Session,
    *,
    shopper_id: int,
    points: int,
    kind: EntryKind,
    key: str,
    expires_at: datetime | None,
    now: datetime,
    reason: str = "",
    source: Source = Source(),
    operator_id: int | None = None,
) -> int | None:
    """Add spendable points as a new lot; the entry id, or None for a repeated key."""
    if points <= 0:
        raise ValueError("a credit must be positive")
    _ensure_balance(session, shopper_id, now)
    entry_id = _append(
        session, shopper_id=shopper_id, bucket=Bucket.available, delta=points, kind=kind,
        key=key, reason=reason, source=source, now=now, operator_id=operator_id,
    )  # fmt: skip
    if entry_id is None:
        return None
    _move(session, shopper_id, Bucket.available, points, now)
    session.add(
        PointsLot(
            shopper_id=shopper_id,
            entry_id=entry_id,
            points=points,
            remaining=points,
            earned_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return entry_id


def debit(
    session: Session,
    *,
    shopper_id: int,
    points: int,
    kind: EntryKind,
    key: str,
    now: datetime,
    reason: str = "",
    source: Source = Source(),
    operator_id: int | None = None,
) -> int | None:
    """Take spendable points, first-expiring lots first; the entry id, None for a
    repeated key; raises :class:`InsufficientPoints` if fewer are available."""
    if points <= 0:
        raise ValueError("a debit must be positive")
    _ensure_balance(session, shopper_id, now)
    expire_shopper_lots(session, shopper_id, now)  # expired points are not spendable
    entry_id = _append(
        session, shopper_id=shopper_id, bucket=Bucket.available, delta=-points, kind=kind,
        key=key, reason=reason, source=source, now=now, operator_id=operator_id,
    )  # fmt: skip
    if entry_id is None:
        return None
    if not _move(session, shopper_id, Bucket.available, -points, now):
        raise InsufficientPoints(points)
    # The guarded update holds the balance row until commit: lots are read after it.
    lots = session.execute(
        select(PointsLot.id, PointsLot.remaining)
        .where(PointsLot.shopper_id == shopper_id, PointsLot.remaining > 0)
        .order_by(PointsLot.expires_at.is_(None), PointsLot.expires_at, PointsLot.id)
    ).all()
    for lot_id, n in take_fifo([(int(i), int(r)) for i, r in lots], points):
        session.execute(
            update(PointsLot)
            .where(PointsLot.id == lot_id, PointsLot.remaining >= n)
            .values(remaining=PointsLot.remaining - n)
            .execution_options(synchronize_session=False)
        )
        session.add(PointsLotUse(entry_id=entry_id, lot_id=lot_id, points=n, returned=0))
    session.flush()
    return entry_id


def give_back(
    session: Session,
    *,
    spend_entry_id: int,
    points: int,
    kind: EntryKind,
    key: str,
    now: datetime,
    reason: str = "",
    source: Source = Source(),
) -> int | None:
    """Return ``points`` of a debit to the lots it took them from (the latest taken
    first); a lot already past its expiry expires them again at once."""
    spend = session.get(PointsEntry, spend_entry_id)
    if spend is None or points <= 0:
        raise ValueError("nothing to give back")
    if is_applied(session, key):  # a retry: applied before, the uses say so already
        return None
    uses = list(
        session.scalars(
            select(PointsLotUse)
            .where(PointsLotUse.entry_id == spend_entry_id)
            .order_by(PointsLotUse.id.desc())
        )
    )
    if points > sum(u.points - u.returned for u in uses):
        raise ValueError("more points given back than the debit took")
    entry_id = _append(
        session, shopper_id=spend.shopper_id, bucket=Bucket.available, delta=points,
        kind=kind, key=key, reason=reason, source=source, now=now,
    )  # fmt: skip
    if entry_id is None:
        return None
    _move(session, spend.shopper_id, Bucket.available, points, now)
    left = points
    for use in uses:
        n = min(left, use.points - use.returned)
        if n <= 0:
            continue
        use.returned += n
        session.execute(
            update(PointsLot)
            .where(PointsLot.id == use.lot_id)
            .values(remaining=PointsLot.remaining + n)
            .execution_options(synchronize_session=False)
        )
        left -= n
        if left == 0:
            break
    session.flush()
    expire_shopper_lots(session, spend.shopper_id, now)
    return entry_id


def pend(
    session: Session,
    *,
    shopper_id: int,
    points: int,
    key: str,
    now: datetime,
    reason: str = "",
    source: Source = Source(),
) -> int | None:
    """Points earned but not yet spendable (an order inside its after-sales window)."""
    if points <= 0:
        raise ValueError("pending points must be positive")
    _ensure_balance(session, shopper_id, now)
    entry_id = _append(
        session, shopper_id=shopper_id, bucket=Bucket.pending, delta=points,
        kind=EntryKind.order_earn, key=key, reason=reason, source=source, now=now,
    )  # fmt: skip
    if entry_id is not None:
        _move(session, shopper_id, Bucket.pending, points, now)
    return entry_id


def unpend(
    session: Session,
    *,
    shopper_id: int,
    points: int,
    kind: EntryKind,
    key: str,
    now: datetime,
    reason: str = "",
    source: Source = Source(),
) -> int | None:
    """Take pending points away (a refund reversed them, or they were credited)."""
    if points <= 0:
        raise ValueError("points must be positive")
    entry_id = _append(
        session, shopper_id=shopper_id, bucket=Bucket.pending, delta=-points, kind=kind,
        key=key, reason=reason, source=source, now=now,
    )  # fmt: skip
    if entry_id is not None and not _move(session, shopper_id, Bucket.pending, -points, now):
        raise InsufficientPoints(points)
    return entry_id


def confirm_pending(
    session: Session,
    *,
    shopper_id: int,
    points: int,
    key: str,
    expires_at: datetime | None,
    now: datetime,
    reason: str = "",
    source: Source = Source(),
) -> int | None:
    """Pending → available, as one lot (the settled moment)."""
    if unpend(
        session, shopper_id=shopper_id, points=points, kind=EntryKind.order_settled,
        key=key + ":out", now=now, reason=reason, source=source,
    ) is None:  # fmt: skip
        return None
    return credit(
        session, shopper_id=shopper_id, points=points, kind=EntryKind.order_settled,
        key=key + ":in", expires_at=expires_at, now=now, reason=reason, source=source,
    )  # fmt: skip


def _expire_lots(session: Session, lots: Sequence[PointsLot], now: datetime) -> int:
    total = 0
    for lot in lots:
        n, before = lot.remaining, lot.expired
        taken = session.execute(
            update(PointsLot)
            .where(PointsLot.id == lot.id, PointsLot.remaining == n, PointsLot.expired == before)
            .values(remaining=0, expired=before + n)
            .execution_options(synchronize_session=False)
        )
        if n <= 0 or rowcount(taken) != 1:
            continue
        entry_id = _append(
            session, shopper_id=lot.shopper_id, bucket=Bucket.available, delta=-n,
            kind=EntryKind.expire, key=f"expire:lot{lot.id}:{before}",
            reason="积分过期 / Points expired", source=Source("lot", str(lot.id)), now=now,
        )  # fmt: skip
        if entry_id is None or not _move(session, lot.shopper_id, Bucket.available, -n, now):
            raise RuntimeError(f"points lot {lot.id} could not expire")  # invariant broken
        total += n
    if lots:
        session.expire_all()  # lots and balances were changed behind the ORM's back
    return total


def _due(now: datetime) -> list[ColumnElement[bool]]:
    return [PointsLot.expires_at <= now, PointsLot.remaining > 0]


def expire_shopper_lots(session: Session, shopper_id: int, now: datetime) -> int:
    lots = session.scalars(select(PointsLot).where(PointsLot.shopper_id == shopper_id, *_due(now)))
    return _expire_lots(session, list(lots), now)


def expire_due(session: Session, *, now: datetime, limit: int = 1000) -> int:
    """Expire what is left of every lot past its expiry (the worker's sweep)."""
    lots = session.scalars(
        select(PointsLot)
        .where(*_due(now))
        .order_by(PointsLot.expires_at, PointsLot.id)
        .limit(limit)
    )
    return _expire_lots(session, list(lots), now)


def spendable(session: Session, shopper_id: int, now: datetime) -> int:
    """Available points less any a due sweep has not expired yet (what a quote offers),
    in one round trip: every quote asks."""
    due = (
        select(func.coalesce(func.sum(PointsLot.remaining), 0))
        .where(PointsLot.shopper_id == shopper_id, *_due(now))
        .scalar_subquery()
    )
    value = session.scalar(
        select(PointsBalance.available - due).where(PointsBalance.shopper_id == shopper_id)
    )
    return max(int(value or 0), 0)
