from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from siyu.aftersale.rules import AfterSaleKind, AfterSaleStatus


class AfterSaleLineIn(BaseModel):
    order_line_id: int
    quantity: int = Field(ge=1, le=99)


class AfterSaleCreate(BaseModel):
    order_id: int
    kind: AfterSaleKind
    reason: str = Field(min_length=1, max_length=200, description="售后原因")
    lines: list[AfterSaleLineIn] | None = Field(
        default=None, min_length=1, max_length=50, description="不填则整单退款"
    )


class AfterSaleReject(BaseModel):
    reason: str = Field(min_length=1, max_length=200, description="拒绝原因")


class AfterSaleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_id: int
    shopper_id: int
    kind: AfterSaleKind
    status: AfterSaleStatus
    reason: str
    lines: list[dict[str, Any]]
    refund_fen: int
    decision_reason: str | None
    requested_at: datetime
    decided_at: datetime | None
    finished_at: datetime | None
