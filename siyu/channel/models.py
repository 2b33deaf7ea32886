"""Channel tables: operator-managed channel codes and their daily spend."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db import Base, IdPk


class Channel(Base):
    __tablename__ = "channels"

    id: Mapped[IdPk]
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    group: Mapped[str] = mapped_column(String(24), index=True)
    note: Mapped[str] = mapped_column(String(500), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ChannelSpend(Base):
    """Money spent on one channel on one Shanghai calendar day (fen)."""

    __tablename__ = "channel_spend"
    __table_args__ = (
        UniqueConstraint("channel_id", "day", name="uq_channel_spend_channel_day"),
        CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
    )

    id: Mapped[IdPk]
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    amount_fen: Mapped[int]
    updated_at: Mapped[datetime]
