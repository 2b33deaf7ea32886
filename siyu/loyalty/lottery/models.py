"""Lottery tables: campaigns, their prizes (stock changed only by a guarded update),
a per-shopper per-date draw counter (the daily limit, held by a guarded upsert) and
every draw ever made, with the ticket, the prize it landed on and the prize given."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from siyu.db import Base, IdPk, StrEnumType
from siyu.loyalty.lottery.rules import PrizeKind


class CampaignStatus(StrEnum):
    draft = "draft"
    active = "active"
    ended = "ended"


class FallbackReason(StrEnum):
    none = ""
    prize_out_of_stock = "prize_out_of_stock"  # the prize's own stock ran out
    goods_out_of_stock = "goods_out_of_stock"  # the SKU behind a goods prize did
    coupon_refused = "coupon_refused"  # the coupon template would not issue


class LotteryCampaign(Base):
    __tablename__ = "lottery_campaigns"
    __table_args__ = (CheckConstraint("cost_points >= 0", name="cost_not_negative"),)

    id: Mapped[IdPk]
    name: Mapped[str] = mapped_column(String(60))
    cost_points: Mapped[int]
    daily_limit: Mapped[int]  # draws per shopper per local date; 0: no limit
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[CampaignStatus] = mapped_column(StrEnumType(CampaignStatus, 16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    prizes: Mapped[list[LotteryPrize]] = relationship(
        lazy="selectin", order_by="LotteryPrize.position"
    )


class LotteryPrize(Base):
    """``stock`` None: unlimited. ``fallback_position`` names the campaign's prize (by
    position) given when this one is short; None: the first unlimited prize."""

    __tablename__ = "lottery_prizes"
    __table_args__ = (
        UniqueConstraint("campaign_id", "position", name="uq_lottery_prizes_position"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
    )

    id: Mapped[IdPk]
    campaign_id: Mapped[int] = mapped_column(ForeignKey("lottery_campaigns.id"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[PrizeKind] = mapped_column(StrEnumType(PrizeKind, 16))
    weight_ppm: Mapped[int]
    stock: Mapped[int | None]
    fallback_position: Mapped[int | None]
    points: Mapped[int] = mapped_column(default=0)
    coupon_template_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_templates.id"))
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id"))
    given_count: Mapped[int] = mapped_column(default=0)


class LotteryDailyCount(Base):
    __tablename__ = "lottery_daily_counts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "shopper_id", "local_date", name="uq_lottery_daily"),
    )

    id: Mapped[IdPk]
    campaign_id: Mapped[int] = mapped_column(ForeignKey("lottery_campaigns.id"))
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    local_date: Mapped[date]
    count: Mapped[int]


class LotteryDraw(Base):
    """One draw, never changed except ``shipped_at`` of a goods prize. ``ticket`` is the
    uniform number in [0, 1,000,000) that was drawn; ``landed_prize_id`` the prize it
    fell in; ``given_prize_id`` what the shopper got (different only by a fallback)."""

    __tablename__ = "lottery_draws"
    __table_args__ = (
        Index("ix_lottery_draws_shopper", "shopper_id", "id"),
        Index("ix_lottery_draws_campaign", "campaign_id", "given_prize_id"),
    )

    id: Mapped[IdPk]
    campaign_id: Mapped[int] = mapped_column(ForeignKey("lottery_campaigns.id"))
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    local_date: Mapped[date]
    ticket: Mapped[int]
    landed_prize_id: Mapped[int] = mapped_column(ForeignKey("lottery_prizes.id"))
    given_prize_id: Mapped[int] = mapped_column(ForeignKey("lottery_prizes.id"))
    fallback_reason: Mapped[FallbackReason] = mapped_column(
        StrEnumType(FallbackReason, 24), default=FallbackReason.none
    )
    points_spent: Mapped[int]
    points_won: Mapped[int] = mapped_column(default=0)
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("shopper_coupons.id"))
    sku_id: Mapped[int | None] = mapped_column(ForeignKey("skus.id"))  # goods to ship
    shipped_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
