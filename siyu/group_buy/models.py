"""Group-buy tables: campaigns, groups (a seat counter held by guarded updates) and
seats (one per shopper per group, linked to the member's order)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db import Base, IdPk, StrEnumType
from siyu.group_buy.rules import CampaignStatus, GroupStatus, SeatStatus, Tier


class GroupBuyCampaign(Base):
    __tablename__ = "group_buy_campaigns"

    id: Mapped[IdPk]
    name: Mapped[str] = mapped_column(String(60))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    # [[size, price_fen], ...]: sizes up, prices down; members pay the first price
    tiers: Mapped[list[Any]]
    duration_minutes: Mapped[int]  # from the leader's payment to the deadline
    max_quantity: Mapped[int]  # units per seat
    per_shopper_limit: Mapped[int]  # seats per shopper in this campaign; 0: no limit
    new_shoppers_only: Mapped[bool]  # members who join (not the leader) have no paid order
    auto_fill: Mapped[bool]  # 模拟成团 at the deadline; the storefront discloses it
    free_shipping: Mapped[bool]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[CampaignStatus] = mapped_column(StrEnumType(CampaignStatus, 16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def tier_list(self) -> list[Tier]:
        return [Tier(int(size), int(price)) for size, price in self.tiers]


class GroupBuyGroup(Base):
    __tablename__ = "group_buy_groups"
    __table_args__ = (
        Index("ix_group_buy_groups_campaign_status", "campaign_id", "status"),
        CheckConstraint("seats_taken <= size", name="seats_within_size"),
        CheckConstraint("seats_paid <= seats_taken", name="paid_within_taken"),
        CheckConstraint("seats_paid >= 0", name="paid_not_negative"),
    )

    id: Mapped[IdPk]
    campaign_id: Mapped[int] = mapped_column(ForeignKey("group_buy_campaigns.id"))
    leader_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    size: Mapped[int]  # the biggest tier's size: seats never exceed it
    status: Mapped[GroupStatus] = mapped_column(StrEnumType(GroupStatus, 16))
    seats_taken: Mapped[int]  # reserved + paid
    seats_paid: Mapped[int]
    virtual_seats: Mapped[int] = mapped_column(default=0)  # 模拟成团 members
    final_price_fen: Mapped[int | None]  # the tier price the group ended at
    deadline_at: Mapped[datetime | None]  # set when the leader pays
    opened_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class GroupBuySeat(Base):
    __tablename__ = "group_buy_seats"
    __table_args__ = (
        UniqueConstraint("group_id", "shopper_id", name="uq_group_buy_seats_member"),
        Index("ix_group_buy_seats_campaign_shopper", "campaign_id", "shopper_id"),
    )

    id: Mapped[IdPk]
    group_id: Mapped[int] = mapped_column(ForeignKey("group_buy_groups.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("group_buy_campaigns.id"))
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    sharer_id: Mapped[int | None] = mapped_column(ForeignKey("shoppers.id"))
    is_leader: Mapped[bool]
    status: Mapped[SeatStatus] = mapped_column(StrEnumType(SeatStatus, 16))
    unit_price_fen: Mapped[int]
    quantity: Mapped[int]
    refund_no: Mapped[str | None] = mapped_column(String(64))  # the failure / ladder refund
    created_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]


class GroupBuyShopperCount(Base):
    """Seats a shopper holds in a campaign (reserved or paid): the per-shopper limit,
    held by a guarded upsert, given back when a seat is released or refunded."""

    __tablename__ = "group_buy_shopper_counts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "shopper_id", name="uq_group_buy_shopper_counts"),
        CheckConstraint("count >= 0", name="count_not_negative"),
    )

    id: Mapped[IdPk]
    campaign_id: Mapped[int] = mapped_column(ForeignKey("group_buy_campaigns.id"))
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    count: Mapped[int]
