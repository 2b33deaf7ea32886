"""Member tiers' tables: the tier table and its per-SKU member prices, the program
settings (member day, review), each shopper's membership, the append-only growth
entries, tier changes and birthday gifts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db import Base, IdPk


class MemberTier(Base):
    """One of the five levels, as the operator set it (none stored: the defaults)."""

    __tablename__ = "member_tiers"
    __table_args__ = (
        CheckConstraint("discount_percent BETWEEN 1 AND 100", name="discount_percent_range"),
        CheckConstraint("threshold >= 0", name="threshold_not_negative"),
    )

    level: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name_zh: Mapped[str] = mapped_column(String(32))
    name_en: Mapped[str] = mapped_column(String(32))
    threshold: Mapped[int]
    discount_percent: Mapped[int] = mapped_column(default=100)
    free_shipping_threshold_fen: Mapped[int | None]
    points_multiplier_percent: Mapped[int] = mapped_column(default=100)
    birthday_coupon_template_id: Mapped[int | None] = mapped_column(
        ForeignKey("coupon_templates.id")
    )
    birthday_points: Mapped[int] = mapped_column(default=0)
    priority_aftersale: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime]


class MemberSkuPrice(Base):
    """A SKU's member price for shoppers at ``level`` or above."""

    __tablename__ = "member_sku_prices"
    __table_args__ = (CheckConstraint("price_fen >= 0", name="price_not_negative"),)

    level: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), primary_key=True)
    price_fen: Mapped[int]


class MemberProgram(Base):
    """The program settings: one row (id 1); none stored means the defaults."""

    __tablename__ = "member_program"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    member_days_of_month: Mapped[list[Any]]
    member_weekdays: Mapped[list[Any]]
    member_day_points_percent: Mapped[int] = mapped_column(default=200)
    member_day_free_shipping: Mapped[bool] = mapped_column(default=True)
    review_window_days: Mapped[int] = mapped_column(default=365)
    review_max_drop: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime]


class Member(Base):
    """A shopper's membership: the growth total (changed by guarded updates only) and
    the level held. Created at the first growth."""

    __tablename__ = "members"
    __table_args__ = (CheckConstraint("growth >= 0", name="growth_not_negative"),)

    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"), primary_key=True)
    growth: Mapped[int] = mapped_column(default=0)
    level: Mapped[int] = mapped_column(default=0)
    level_since: Mapped[datetime]
    reviewed_at: Mapped[datetime | None]


class GrowthEntry(Base):
    """Append-only: one growth change with its reason; the key applies it once."""

    __tablename__ = "growth_entries"
    __table_args__ = (Index("ix_growth_entries_shopper_at", "shopper_id", "created_at"),)

    id: Mapped[IdPk]
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    amount: Mapped[int]
    reason: Mapped[str] = mapped_column(String(24))  # order_paid | order_refunded
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(96), unique=True)
    created_at: Mapped[datetime]


class TierChange(Base):
    __tablename__ = "tier_changes"

    id: Mapped[IdPk]
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"), index=True)
    from_level: Mapped[int]
    to_level: Mapped[int]
    reason: Mapped[str] = mapped_column(String(24))  # upgrade | review
    growth: Mapped[int]  # the window growth that decided it
    at: Mapped[datetime]


class BirthdayGift(Base):
    """One birthday gift per shopper per year."""

    __tablename__ = "birthday_gifts"
    __table_args__ = (UniqueConstraint("shopper_id", "year"),)

    id: Mapped[IdPk]
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    year: Mapped[int]
    level: Mapped[int]
    coupon_id: Mapped[int | None]
    points: Mapped[int] = mapped_column(default=0)
    granted_at: Mapped[datetime]
