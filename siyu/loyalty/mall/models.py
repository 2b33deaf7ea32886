"""Points-mall tables: items (a coupon or goods priced in points), a per-shopper
exchange counter (the limit, held by a guarded upsert) and every exchange."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db import Base, IdPk, StrEnumType


class ItemKind(StrEnum):
    coupon = "coupon"
    goods = "goods"


class ItemStatus(StrEnum):
    active = "active"
    inactive = "inactive"


class ExchangeStatus(StrEnum):
    done = "done"  # a coupon, in the shopper's wallet
    to_ship = "to_ship"  # goods, reserved, waiting for the operator to ship
    shipped = "shipped"


class MallItem(Base):
    __tablename__ = "mall_items"
    __table_args__ = (CheckConstraint("points_price > 0", name="price_positive"),)

    id: Mapped[IdPk]
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[ItemKind] = mapped_column(StrEnumType(ItemKind, 16))
    points_price: Mapped[int]
    coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_templates.id"))
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id"))
    per_shopper_limit: Mapped[int]  # 0: no limit
    status: Mapped[ItemStatus] = mapped_column(StrEnumType(ItemStatus, 16))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MallExchangeCount(Base):
    __tablename__ = "mall_exchange_counts"
    __table_args__ = (UniqueConstraint("item_id", "shopper_id", name="uq_mall_exchange_counts"),)

    id: Mapped[IdPk]
    item_id: Mapped[int] = mapped_column(ForeignKey("mall_items.id"))
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    count: Mapped[int]


class MallExchange(Base):
    __tablename__ = "mall_exchanges"
    __table_args__ = (Index("ix_mall_exchanges_shopper", "shopper_id", "id"),)

    id: Mapped[IdPk]
    item_id: Mapped[int] = mapped_column(ForeignKey("mall_items.id"), index=True)
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    request_key: Mapped[str] = mapped_column(String(96), unique=True)
    points: Mapped[int]
    status: Mapped[ExchangeStatus] = mapped_column(StrEnumType(ExchangeStatus, 16))
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("shopper_coupons.id"))
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id"))
    created_at: Mapped[datetime]
    shipped_at: Mapped[datetime | None]  # goods: when the operator marked it shipped
