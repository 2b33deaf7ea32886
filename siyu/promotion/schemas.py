from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from siyu.fields import Id, Moment
from siyu.pricing.info import PromotionKind, Scope
from siyu.pricing.offer_fields import OfferChanges, ScopedOfferCreate
from siyu.promotion.rules import Phase, PromotionStatus

Ids = list[Id]


class TierIn(BaseModel):
    threshold_fen: int = Field(ge=1, le=100_000_000, description="门槛（分）")
    amount_fen: int = Field(ge=1, le=100_000_000, description="减免（分）")


class PromotionFields(OfferChanges):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    description: str | None = Field(default=None, max_length=500)
    scope_kind: Scope | None = None
    category_ids: Ids | None = Field(default=None, max_length=200)
    product_ids: Ids | None = Field(default=None, max_length=1000)
    excluded_product_ids: Ids | None = Field(default=None, max_length=1000)
    tiers: list[TierIn] | None = Field(default=None, max_length=10)
    min_items: int | None = Field(default=None, ge=0, le=99)
    percent_off: int | None = Field(default=None, ge=0, le=99)
    bundle_product_ids: Ids | None = Field(default=None, max_length=10)
    amount_off_fen: int | None = Field(default=None, ge=0, le=100_000_000)
    min_tier: int | None = Field(default=None, ge=0, le=20)
    exclusive: bool | None = None
    stack_group: str | None = Field(default=None, min_length=1, max_length=32)
    priority: int | None = Field(default=None, ge=-1000, le=1000)
    starts_at: Moment | None = None
    ends_at: Moment | None = None


class PromotionCreate(ScopedOfferCreate, PromotionFields):
    offer_noun = "promotion"

    name: str = Field(min_length=1, max_length=64)
    kind: PromotionKind
    starts_at: Moment
    ends_at: Moment


class PromotionStatsOut(BaseModel):
    orders: int = 0
    gmv_fen: int = 0
    discount_fen: int = 0


class PromotionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    kind: PromotionKind
    scope_kind: Scope
    category_ids: Ids
    product_ids: Ids
    excluded_product_ids: Ids
    tiers: list[TierIn]
    min_items: int
    percent_off: int
    bundle_product_ids: Ids
    amount_off_fen: int
    min_tier: int
    exclusive: bool
    stack_group: str
    priority: int
    status: PromotionStatus
    phase: Phase
    starts_at: datetime
    ends_at: datetime
    created_at: datetime
    updated_at: datetime
    stats: PromotionStatsOut = PromotionStatsOut()


class PromotionStatusChange(BaseModel):
    status: PromotionStatus
