from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from siyu.coupon.rules import (
    Audience,
    CouponStatus,
    GiftTrigger,
    IssueRefusal,
    IssueSource,
    TemplateStatus,
    ValidityKind,
)
from siyu.fields import Id, Moment
from siyu.pricing.info import CouponKind, Scope
from siyu.pricing.offer_fields import OfferChanges, ScopedOfferCreate

Ids = list[Id]


# Fields where null means something: no end, no limit, no window.
NULLABLE = frozenset(
    {
        "valid_from",
        "valid_until",
        "valid_days",
        "total_quantity",
        "claim_starts_at",
        "claim_ends_at",
    }
)


class TemplateFields(OfferChanges):
    """What an operator edits; every field optional for PATCH."""

    name: str | None = Field(default=None, min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=500)
    threshold_fen: int | None = Field(default=None, ge=0, le=100_000_000)
    amount_fen: int | None = Field(default=None, ge=0, le=100_000_000)
    percent_off: int | None = Field(default=None, ge=0, le=99)
    cap_fen: int | None = Field(default=None, ge=0, le=100_000_000)
    scope_kind: Scope | None = None
    category_ids: Ids | None = Field(default=None, max_length=200)
    product_ids: Ids | None = Field(default=None, max_length=1000)
    excluded_product_ids: Ids | None = Field(default=None, max_length=1000)
    validity_kind: ValidityKind | None = None
    valid_from: Moment | None = None
    valid_until: Moment | None = None
    valid_days: int | None = Field(default=None, ge=1, le=3650)
    total_quantity: int | None = Field(default=None, ge=1, le=100_000_000)
    per_shopper_limit: int | None = Field(default=None, ge=1, le=100)
    audience: Audience | None = None
    min_tier: int | None = Field(default=None, ge=0, le=20)
    stack_group: str | None = Field(default=None, min_length=1, max_length=32)
    exclusive: bool | None = None
    claimable: bool | None = None
    claim_starts_at: Moment | None = None
    claim_ends_at: Moment | None = None
    gift_trigger: GiftTrigger | None = None

    nullable: ClassVar[frozenset[str]] = NULLABLE


class TemplateCreate(ScopedOfferCreate, TemplateFields):
    offer_noun = "coupon"

    name: str = Field(min_length=1, max_length=64)
    kind: CouponKind
    validity_kind: ValidityKind = ValidityKind.relative


class TemplateStats(BaseModel):
    issued: int = 0
    claimed: int = 0
    unused: int = 0
    locked: int = 0
    used: int = 0
    expired: int = 0
    gmv_fen: int = 0
    discount_fen: int = 0


class TemplateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    title_zh: str
    title_en: str
    description: str
    kind: CouponKind
    threshold_fen: int
    amount_fen: int
    percent_off: int
    cap_fen: int
    scope_kind: Scope
    category_ids: Ids
    product_ids: Ids
    excluded_product_ids: Ids
    validity_kind: ValidityKind
    valid_from: datetime | None
    valid_until: datetime | None
    valid_days: int | None
    total_quantity: int | None
    issued_count: int
    per_shopper_limit: int
    audience: Audience
    min_tier: int
    stack_group: str
    exclusive: bool
    claimable: bool
    claim_starts_at: datetime | None
    claim_ends_at: datetime | None
    gift_trigger: GiftTrigger
    status: TemplateStatus
    created_at: datetime
    updated_at: datetime
    stats: TemplateStats | None = None


class StatusChange(BaseModel):
    status: TemplateStatus


class BulkIssue(BaseModel):
    shopper_ids: Ids = Field(min_length=1, max_length=5000)
    batch_key: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="本批次的唯一标识；重复提交同一批次不会重复发券",
    )


class BulkIssueOut(BaseModel):
    issued: Ids
    refused: dict[int, IssueRefusal]
    unknown: Ids


class CouponFace(BaseModel):
    """What a coupon looks like to a shopper: its template's name and terms."""

    template_id: int
    name: str
    title_zh: str
    title_en: str
    description: str
    kind: CouponKind
    threshold_fen: int
    amount_fen: int
    percent_off: int
    cap_fen: int
    scope_kind: Scope
    # what the face says it covers: "全场通用", "限 口红、眼影 可用"
    scope_zh: str = ""
    scope_en: str = ""


class CenterCoupon(CouponFace):
    """A coupon in the claim center."""

    validity_kind: ValidityKind
    valid_until: datetime | None
    valid_days: int | None
    remaining: int | None  # None: unlimited
    held: int  # how many the shopper already has from it
    can_claim: bool


class MyCoupon(CouponFace):
    """A coupon the shopper owns."""

    id: int
    status: CouponStatus  # issued past its validity shows as expired
    source: IssueSource
    valid_from: datetime
    valid_until: datetime
    order_id: int | None
    used_at: datetime | None
    discount_fen: int


class GiftPopup(BaseModel):
    show: bool
    coupons: list[MyCoupon]
