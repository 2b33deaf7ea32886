"""Points tables: the per-shopper balance, the append-only ledger, lots (what was
credited together and expires together), which lots a debit drew on, and what each
order line earned and spent (refunds reverse exactly those)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db import Base, IdPk, StrEnumType
from siyu.loyalty.rules import Bucket, EntryKind


class PointsBalance(Base):
    """``available`` can be spent; ``pending`` was earned on orders whose after-sales
    window is still open. Both change only by guarded updates, next to a ledger entry."""

    __tablename__ = "points_balances"
    __table_args__ = (
        CheckConstraint("available >= 0", name="available_not_negative"),
        CheckConstraint("pending >= 0", name="pending_not_negative"),
    )

    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"), primary_key=True)
    available: Mapped[int] = mapped_column(default=0)
    pending: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime]


class PointsEntry(Base):
    """One change of one bucket, never updated or deleted. ``idempotency_key`` is unique:
    a retried or duplicated operation finds its entry and changes nothing."""

    __tablename__ = "points_entries"
    __table_args__ = (
        Index("ix_points_entries_shopper", "shopper_id", "id"),
        Index("ix_points_entries_source", "source_type", "source_id"),
        CheckConstraint("delta <> 0", name="delta_not_zero"),
    )

    id: Mapped[IdPk]
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    bucket: Mapped[Bucket] = mapped_column(StrEnumType(Bucket, 16))
    delta: Mapped[int]
    kind: Mapped[EntryKind] = mapped_column(StrEnumType(EntryKind, 24))
    reason: Mapped[str] = mapped_column(String(200), default="")
    source_type: Mapped[str] = mapped_column(String(24), default="")  # "order", "operator"…
    source_id: Mapped[str] = mapped_column(String(64), default="")
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    operator_id: Mapped[int | None]
    created_at: Mapped[datetime]


class PointsLot(Base):
    """Points credited together: spent first-expiring-first, expired at ``expires_at``
    (None: never). ``remaining`` is what is still spendable."""

    __tablename__ = "points_lots"
    __table_args__ = (
        Index("ix_points_lots_shopper", "shopper_id", "expires_at"),
        Index("ix_points_lots_due", "expires_at"),
        CheckConstraint("remaining >= 0", name="remaining_not_negative"),
        CheckConstraint("remaining <= points", name="remaining_within_points"),
    )

    id: Mapped[IdPk]
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("points_entries.id"))
    points: Mapped[int]
    remaining: Mapped[int]
    expired: Mapped[int] = mapped_column(default=0)  # taken by expiry so far
    earned_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]


class PointsLotUse(Base):
    """How many points a debit took from a lot, and how many came back since."""

    __tablename__ = "points_lot_uses"
    __table_args__ = (CheckConstraint("returned <= points", name="returned_within_points"),)

    id: Mapped[IdPk]
    entry_id: Mapped[int] = mapped_column(ForeignKey("points_entries.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("points_lots.id"))
    points: Mapped[int]
    returned: Mapped[int] = mapped_column(default=0)


class PointsOrderLine(Base):
    """What one order line earned and spent, and how much of each a refund or cancel
    has taken back: the running totals make every reversal exact and once only."""

    __tablename__ = "points_order_lines"
    __table_args__ = (
        CheckConstraint("earn_reversed <= earned", name="reversed_within_earned"),
        CheckConstraint("spent_returned <= spent", name="returned_within_spent"),
    )

    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    earned: Mapped[int] = mapped_column(default=0)
    earn_reversed: Mapped[int] = mapped_column(default=0)
    spent: Mapped[int] = mapped_column(default=0)
    spent_returned: Mapped[int] = mapped_column(default=0)


class PointsRules(Base):
    """The store's points rules, one row (id 1), saved by an operator; no row means the
    settings' defaults (``SIYU_POINTS_*``). Each rule applies at the moment points are
    earned: a change never rewrites entries already made."""

    __tablename__ = "points_rules"
    __table_args__ = (
        CheckConstraint("earn_per_yuan >= 0", name="earn_per_yuan_not_negative"),
        CheckConstraint("signup_reward >= 0", name="signup_reward_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # always 1
    earn_per_yuan: Mapped[int]  # points per yuan paid for goods (0: orders earn none)
    expiry_years: Mapped[int | None]  # lots expire at the end of the year + N; None: never
    signup_reward: Mapped[int]  # points credited once at registration
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    updated_at: Mapped[datetime]
