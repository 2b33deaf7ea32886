"""Flash-sale tables: sessions (a window in UTC), items (units held by guarded updates
and a CHECK that nothing is oversold), purchases (one per order) and per-shopper
counts (the per-shopper limit, held by a guarded upsert)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db import Base, IdPk, StrEnumType
from siyu.flash_sale.rules import PurchaseStatus, SessionStatus


class FlashSession(Base):
    __tablename__ = "flash_sessions"
    __table_args__ = (Index("ix_flash_sessions_window", "starts_at", "ends_at"),)

    id: Mapped[IdPk]
    name: Mapped[str] = mapped_column(String(60))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[SessionStatus] = mapped_column(StrEnumType(SessionStatus, 16))
    payment_timeout_minutes: Mapped[int]  # short: unpaid units go back to the sale
    reconciled_at: Mapped[datetime | None]
    reconciliation: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the last report
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class FlashItem(Base):
    __tablename__ = "flash_items"
    __table_args__ = (
        UniqueConstraint("session_id", "sku_id", name="uq_flash_items_session_sku"),
        CheckConstraint("sold + reserved <= quantity", name="not_oversold"),
        CheckConstraint("sold >= 0", name="sold_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    )

    id: Mapped[IdPk]
    session_id: Mapped[int] = mapped_column(ForeignKey("flash_sessions.id"), index=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    sale_price_fen: Mapped[int]
    quantity: Mapped[int]
    per_shopper_limit: Mapped[int]
    sold: Mapped[int] = mapped_column(default=0)  # paid
    reserved: Mapped[int] = mapped_column(default=0)  # placed, not paid
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class FlashPurchase(Base):
    __tablename__ = "flash_purchases"
    __table_args__ = (Index("ix_flash_purchases_item_shopper", "item_id", "shopper_id"),)

    id: Mapped[IdPk]
    item_id: Mapped[int] = mapped_column(ForeignKey("flash_items.id"))
    session_id: Mapped[int] = mapped_column(ForeignKey("flash_sessions.id"), index=True)
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    quantity: Mapped[int]
    status: Mapped[PurchaseStatus] = mapped_column(StrEnumType(PurchaseStatus, 16))
    created_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]


class FlashShopperCount(Base):
    """Units a shopper holds of an item (reserved or paid): UNIQUE (item, shopper), a
    guarded upsert ``units + q <= limit``, given back when an order is cancelled."""

    __tablename__ = "flash_shopper_counts"
    __table_args__ = (
        UniqueConstraint("item_id", "shopper_id", name="uq_flash_shopper_counts"),
        CheckConstraint("units >= 0", name="units_not_negative"),
    )

    id: Mapped[IdPk]
    item_id: Mapped[int] = mapped_column(ForeignKey("flash_items.id"))
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    units: Mapped[int]
