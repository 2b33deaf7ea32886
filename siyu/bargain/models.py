"""Bargain tables: campaigns, bargains (the cuts drawn at start, a cut counter held by
a guarded update), helps (one per helper per bargain, one per position) and the
bargains a shopper started per campaign (the limit, a guarded upsert)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.bargain.rules import BargainStatus, CampaignStatus
from siyu.db import Base, IdPk, StrEnumType


class BargainCampaign(Base):
    __tablename__ = "bargain_campaigns"

    id: Mapped[IdPk]
    name: Mapped[str] = mapped_column(String(60))
    sku_id: Mapped[int] = mapped_column(ForeignKey("skus.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    floor_price_fen: Mapped[int]
    helpers_needed: Mapped[int]
    duration_minutes: Mapped[int]  # a bargain's time limit from its start
    per_shopper_limit: Mapped[int]  # bargains a shopper may start; 0: no limit
    helper_min_age_minutes: Mapped[int]  # accounts newer than this do not count
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[CampaignStatus] = mapped_column(StrEnumType(CampaignStatus, 16))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Bargain(Base):
    __tablename__ = "bargains"
    __table_args__ = (
        Index("ix_bargains_campaign_starter", "campaign_id", "starter_id"),
        CheckConstraint("cuts_taken >= 0", name="cuts_taken_not_negative"),
        CheckConstraint("cuts_taken <= helpers_needed", name="cuts_within_helpers"),
    )

    id: Mapped[IdPk]
    campaign_id: Mapped[int] = mapped_column(ForeignKey("bargain_campaigns.id"))
    starter_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    starter_device: Mapped[str | None] = mapped_column(String(64))
    original_fen: Mapped[int]  # the shelf price at the start
    floor_fen: Mapped[int]
    helpers_needed: Mapped[int]
    cuts: Mapped[list[Any]]  # the amounts drawn at the start, in the order helpers take them
    cuts_taken: Mapped[int] = mapped_column(default=0)
    status: Mapped[BargainStatus] = mapped_column(StrEnumType(BargainStatus, 16))
    expires_at: Mapped[datetime]
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    created_at: Mapped[datetime]
    bought_at: Mapped[datetime | None]


class BargainHelp(Base):
    __tablename__ = "bargain_helps"
    __table_args__ = (
        UniqueConstraint("bargain_id", "helper_id", name="uq_bargain_helps_helper"),
        UniqueConstraint("bargain_id", "position", name="uq_bargain_helps_position"),
        UniqueConstraint("bargain_id", "device", name="uq_bargain_helps_device"),
    )

    id: Mapped[IdPk]
    bargain_id: Mapped[int] = mapped_column(ForeignKey("bargains.id"))
    helper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"), index=True)
    device: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[int]  # 1 for the first cut
    amount_fen: Mapped[int]
    created_at: Mapped[datetime]


class BargainShopperCount(Base):
    """Bargains a shopper started in a campaign: the limit, held by a guarded upsert."""

    __tablename__ = "bargain_shopper_counts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "shopper_id", name="uq_bargain_shopper_counts"),
    )

    id: Mapped[IdPk]
    campaign_id: Mapped[int] = mapped_column(ForeignKey("bargain_campaigns.id"))
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    count: Mapped[int]
