"""Rising-price tables: campaigns (a units counter held by guarded updates),
purchases (one per order) and per-shopper counts (the limit, a guarded upsert)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db import Base, IdPk, StrEnumType
from siyu.rising_price.rules import CampaignStatus, PurchaseStatus


class RisingPriceCampaign(Base):
    __tablename__ = "rising_price_campaigns"
    __table_args__ = (CheckConstraint("units_sold >= 0", name="units_sold_not_negative"),)

    id: Mapped[IdPk]
    name: Mapped[str] = mapped_column(String(60))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    base_price_fen: Mapped[int]
    base_units: Mapped[int]  # the first N units at the base price
    step_percent: Mapped[int]  # of the base price, every interval from the start
    interval_minutes: Mapped[int]
    cap_price_fen: Mapped[int]
    per_shopper_limit: Mapped[int]
    units_sold: Mapped[int] = mapped_column(default=0)  # placed (reserved or paid)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[CampaignStatus] = mapped_column(StrEnumType(CampaignStatus, 16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RisingPricePurchase(Base):
    __tablename__ = "rising_price_purchases"

    id: Mapped[IdPk]
    campaign_id: Mapped[int] = mapped_column(ForeignKey("rising_price_campaigns.id"), index=True)
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    quantity: Mapped[int]
    unit_price_fen: Mapped[int]
    status: Mapped[PurchaseStatus] = mapped_column(StrEnumType(PurchaseStatus, 16))
    created_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]


class RisingPriceShopperCount(Base):
    """Units a shopper holds in a campaign (reserved or paid), under the limit."""

    __tablename__ = "rising_price_shopper_counts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "shopper_id", name="uq_rising_price_shopper_counts"),
        CheckConstraint("units >= 0", name="units_not_negative"),
    )

    id: Mapped[IdPk]
    campaign_id: Mapped[int] = mapped_column(ForeignKey("rising_price_campaigns.id"))
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    units: Mapped[int]
