from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db import Base, IdPk


class Address(Base):
    """One entry of a shopper's address book. Orders copy it (``orders.address``)
    instead of referring to it."""

    __tablename__ = "addresses"
    __table_args__ = (
        Index("ix_addresses_shopper_created", "shopper_id", "created_at"),
        # At most one default per shopper, whatever the requests race to do.
        Index(
            "uq_addresses_one_default",
            "shopper_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: Mapped[IdPk]
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    name: Mapped[str] = mapped_column(String(32))
    phone: Mapped[str] = mapped_column(String(11))
    province: Mapped[str] = mapped_column(String(32))
    city: Mapped[str] = mapped_column(String(32))
    district: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(6))
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
