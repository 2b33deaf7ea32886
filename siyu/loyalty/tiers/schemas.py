"""Member tier request and response models: the shopper's tier card and member day,
the operator's tier table."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: int = Field(ge=0, le=4)
    name_zh: str = Field(min_length=1, max_length=32)
    name_en: str = Field(min_length=1, max_length=32)
    threshold: int = Field(ge=0, le=10**9)  # growth, yuan
    discount_percent: int = Field(ge=1, le=100)  # what a member pays: 80 = 8折
    free_shipping_threshold_fen: int | None = Field(default=None, ge=0)
    points_multiplier_percent: int = Field(default=100, ge=100, le=1000)
    birthday_coupon_template_id: int | None = None
    birthday_points: int = Field(default=0, ge=0, le=10**7)
    priority_aftersale: bool = False


class TierOut(TierIn):
    model_config = ConfigDict(from_attributes=True)


class MemberDayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days_of_month: list[int] = Field(default=[15], max_length=31)
    weekdays: list[int] = Field(default=[], max_length=7)  # 1 Monday … 7 Sunday
    points_multiplier_percent: int = Field(default=200, ge=100, le=1000)
    free_shipping: bool = True


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_days: int = Field(default=365, ge=30, le=3660)
    max_drop: int = Field(default=1, ge=0, le=4)


class SkuPriceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: int = Field(ge=0, le=4)
    sku_id: int
    price_fen: int = Field(ge=0)


class ProgramIn(BaseModel):
    """The whole tier table: five tiers, lowest first, thresholds strictly rising."""

    model_config = ConfigDict(extra="forbid")

    tiers: list[TierIn] = Field(min_length=5, max_length=5)
    member_day: MemberDayIn = MemberDayIn()
    review: ReviewIn = ReviewIn()
    sku_prices: list[SkuPriceIn] = Field(default=[], max_length=10_000)


class ProgramOut(BaseModel):
    tiers: list[TierOut]
    member_day: MemberDayIn
    review: ReviewIn
    sku_prices: list[SkuPriceIn]


class TierCardOut(BaseModel):
    level: int
    name_zh: str
    name_en: str
    growth: int  # lifetime
    window_growth: int  # the last 12 months: what decides the tier
    next_level: int | None
    next_name_zh: str | None
    next_name_en: str | None
    missing_growth: int
    progress_percent: int
    tiers: list[TierOut]  # every tier with its benefits


class MemberDayOut(BaseModel):
    is_today: bool
    next_starts_at: datetime | None
    countdown_seconds: int | None
    points_multiplier_percent: int
    free_shipping: bool


class BirthdayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    birthday: date
