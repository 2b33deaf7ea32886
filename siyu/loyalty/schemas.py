"""Points requests and responses."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from siyu.loyalty.rules import Bucket, EntryKind


class ExpiringOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    points: int
    expires_at: datetime


class PointsSummaryOut(BaseModel):
    """积分概览：可用、待到账（售后期内订单）、30 天内将过期。"""

    model_config = ConfigDict(from_attributes=True)

    shopper_id: int
    available: int
    pending: int
    expiring_soon: int
    expiring: list[ExpiringOut]


class PointsEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    bucket: Bucket
    delta: int
    kind: EntryKind
    reason: str
    source_type: str
    source_id: str
    operator_id: int | None
    created_at: datetime


class PointsHistoryOut(BaseModel):
    items: list[PointsEntryOut]
    next_before_id: int | None = Field(description="下一页传入 before_id；null 表示没有更多")


class PointsAdjustment(BaseModel):
    delta: int = Field(description="正数增加、负数扣减；扣减不会使余额为负")
    reason: str = Field(min_length=1, max_length=200)
    request_id: str = Field(
        min_length=8, max_length=64, description="每次调整一个唯一值（如 UUID）：重试不会重复调整"
    )


class PointsAdjustmentOut(BaseModel):
    applied: bool = Field(description="false：相同 request_id 已调整过，本次未改变积分")
    entry: PointsEntryOut | None
    summary: PointsSummaryOut


class OrderPointsOut(BaseModel):
    """订单积分：本单获得（扣除退款后；售后期结束后到账）与本单抵扣（扣除已退回）。"""

    model_config = ConfigDict(from_attributes=True)

    order_id: int
    earned: int
    credited: bool = Field(description="true：售后期已结束，积分已到账；false：待到账")
    spent: int


class PointsRulesIn(BaseModel):
    """积分规则：每消费 1 元得多少积分、有效期（年；null 为永不过期）、注册送积分。"""

    model_config = ConfigDict(extra="forbid")

    earn_per_yuan: int = Field(ge=0, le=1000, description="消费1元得多少积分；0：订单不送积分")
    expiry_years: int | None = Field(
        ge=0, le=10, description="积分在获得当年之后第几年年底过期；null：永不过期"
    )
    signup_reward: int = Field(ge=0, le=100_000, description="注册送积分；0：不送")


class PointsRulesOut(BaseModel):
    earn_per_yuan: int
    expiry_years: int | None
    signup_reward: int
    stored: bool = Field(description="false：尚未保存，使用系统默认（SIYU_POINTS_*）")
    updated_at: datetime | None
