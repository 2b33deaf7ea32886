"""Coupon tables: templates, the coupons shoppers own, and per-shopper claim counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from siyu.coupon.rules import (
    Audience,
    CouponStatus,
    GiftTrigger,
    IssueSource,
    TemplateStatus,
    ValidityKind,
)
from siyu.db import Base, IdPk, StrEnumType
from siyu.pricing.info import CouponKind, Scope
from siyu.pricing.scopes import OfferScope, ScopedOffer


class CouponTemplate(ScopedOffer, Base):
    __tablename__ = "coupon_templates"
    __table_args__ = (
        CheckConstraint("threshold_fen >= 0", name="threshold_not_negative"),
        CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        CheckConstraint("percent_off >= 0 AND percent_off < 100", name="percent_in_range"),
        CheckConstraint("cap_fen >= 0", name="cap_not_negative"),
        CheckConstraint(
            "total_quantity IS NULL OR issued_count <= total_quantity", name="within_quantity"
        ),
        CheckConstraint("per_shopper_limit >= 1", name="limit_positive"),
    )

    id: Mapped[IdPk]
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[CouponKind] = mapped_column(StrEnumType(CouponKind, 16))
    threshold_fen: Mapped[int] = mapped_column(default=0)
    amount_fen: Mapped[int] = mapped_column(default=0)
    percent_off: Mapped[int] = mapped_column(default=0)
    cap_fen: Mapped[int] = mapped_column(default=0)
    scope_kind: Mapped[Scope] = mapped_column(StrEnumType(Scope, 16), default=Scope.all)
    validity_kind: Mapped[ValidityKind] = mapped_column(StrEnumType(ValidityKind, 16))
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    valid_days: Mapped[int | None]
    total_quantity: Mapped[int | None]  # None: unlimited
    issued_count: Mapped[int] = mapped_column(default=0)
    per_shopper_limit: Mapped[int] = mapped_column(default=1)
    audience: Mapped[Audience] = mapped_column(StrEnumType(Audience, 16), default=Audience.everyone)
    min_tier: Mapped[int] = mapped_column(default=0)
    stack_group: Mapped[str] = mapped_column(String(32), default="default")
    exclusive: Mapped[bool] = mapped_column(default=False)
    claimable: Mapped[bool] = mapped_column(default=True)  # shown in the claim center
    claim_starts_at: Mapped[datetime | None]
    claim_ends_at: Mapped[datetime | None]
    gift_trigger: Mapped[GiftTrigger] = mapped_column(
        StrEnumType(GiftTrigger, 16), default=GiftTrigger.none
    )
    status: Mapped[TemplateStatus] = mapped_column(
        StrEnumType(TemplateStatus, 16), default=TemplateStatus.active
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    scopes: Mapped[list[OfferScope]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="OfferScope.position"
    )


class ShopperCoupon(Base):
    __tablename__ = "shopper_coupons"
    __table_args__ = (
        Index("ix_shopper_coupons_shopper_status", "shopper_id", "status"),
        Index("ix_shopper_coupons_template_status", "template_id", "status"),
        UniqueConstraint("grant_key", name="uq_shopper_coupons_grant_key"),
    )

    id: Mapped[IdPk]
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_templates.id"))
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    status: Mapped[CouponStatus] = mapped_column(StrEnumType(CouponStatus, 16))
    source: Mapped[IssueSource] = mapped_column(StrEnumType(IssueSource, 24))
    # One grant per key (gift pack, bulk batch): a replayed event cannot grant twice.
    grant_key: Mapped[str | None] = mapped_column(String(96))
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    issued_at: Mapped[datetime]
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    locked_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
    discount_fen: Mapped[int] = mapped_column(default=0)  # what it saved when used
    seen_at: Mapped[datetime | None]  # gift pop-up shown


class CouponClaimCount(Base):
    """How many coupons of a template a shopper holds from it; the per-shopper limit
    is enforced on this row by a guarded upsert."""

    __tablename__ = "coupon_claim_counts"
    __table_args__ = (
        UniqueConstraint("template_id", "shopper_id", name="uq_coupon_claim_counts_pair"),
    )

    id: Mapped[IdPk]
    template_id: Mapped[int] = mapped_column(ForeignKey("coupon_templates.id"))
    shopper_id: Mapped[int] = mapped_column(ForeignKey("shoppers.id"))
    count: Mapped[int] = mapped_column(default=0)
