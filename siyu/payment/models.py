from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db import Base, IdPk, StrEnumType


class PaymentNotification(Base):
    """Every authentic notification received, unique per provider notification id:
    the dedupe record and the trail for reconciliation."""

    __tablename__ = "payment_notifications"
    __table_args__ = (UniqueConstraint("provider", "notification_id"),)

    id: Mapped[IdPk]
    provider: Mapped[str] = mapped_column(String(16))
    notification_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    out_trade_no: Mapped[str] = mapped_column(String(32), index=True)
    transaction_id: Mapped[str | None] = mapped_column(String(64))
    out_refund_no: Mapped[str | None] = mapped_column(String(64))
    amount_fen: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime]


class RefundStatus(StrEnum):
    pending = "pending"  # recorded, not yet accepted by the provider
    processing = "processing"
    succeeded = "succeeded"
    failed = "failed"


class Refund(Base):
    __tablename__ = "refunds"

    id: Mapped[IdPk]
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    aftersale_id: Mapped[int | None] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "aftersale" | "stray_payment"
    provider: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int]
    # [{"order_line_id", "quantity", "amount_fen"}]: what the refund covers, per line.
    lines: Mapped[list[Any]]
    restock: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(String(80))
    status: Mapped[RefundStatus] = mapped_column(
        StrEnumType(RefundStatus, 16), default=RefundStatus.pending
    )
    provider_refund_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
