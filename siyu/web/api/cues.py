"""Urgency-cue routes (促单提示): the shopper's GET /api/app/cues (recent real
purchases with masked names, a low-stock hint, the countdowns of the plays running on
the item); the operator's (marketing) GET/PUT /api/admin/cues/settings (the feed's off
switch and the low-stock threshold, audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from siyu.cues import service
from siyu.cues.rules import MAX_THRESHOLD, CueRules, minutes_ago, purchase_text
from siyu.fields import MAX_ID
from siyu.flash_sale.rules import countdown_seconds
from siyu.web.deps import (
    AppContext,
    CtxDep,
    MarketingReader,
    MarketingWriter,
    NowDep,
    ReadSessionDep,
    SessionDep,
)

app_router = APIRouter(prefix="/api/app/cues", tags=["urgency cues"])
admin_router = APIRouter(prefix="/api/admin/cues", tags=["urgency cues admin"])


class CuePurchaseOut(BaseModel):
    name: str  # masked: 张*
    title: str
    minutes_ago: int
    text_zh: str  # 张*刚刚购买了…
    text_en: str


class LowStockOut(BaseModel):
    units_left: int
    text_zh: str  # 仅剩3件
    text_en: str


class CountdownOut(BaseModel):
    kind: str  # group_buy · flash_sale · rising_price · bargain
    campaign_id: int
    name: str
    ends_at: datetime
    ends_in_seconds: int


class CuesOut(BaseModel):
    social_proof_enabled: bool
    purchases: list[CuePurchaseOut]
    low_stock: LowStockOut | None
    countdowns: list[CountdownOut]
    server_time: datetime


class CueSettingsIn(BaseModel):
    social_proof_enabled: bool = Field(description="展示真实购买动态（关闭则不展示）")
    low_stock_threshold: int = Field(
        ge=0, le=MAX_THRESHOLD, description="库存不多于此数时提示“仅剩N件”；0 不提示"
    )


class CueSettingsOut(BaseModel):
    social_proof_enabled: bool
    low_stock_threshold: int


def _defaults(ctx: AppContext) -> CueRules:
    return CueRules(ctx.settings.cues_social_proof, ctx.settings.cues_low_stock_threshold)


@app_router.get("", response_model=CuesOut)
def item_cues(
    session: ReadSessionDep,
    ctx: CtxDep,
    now: NowDep,
    sku_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    product_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Any:
    """商品的促单提示（给出 sku_id 或 product_id 之一）：真实的最近购买（仅已支付且未退款
    的订单，昵称打码）、库存紧张提示、进行中活动的真实结束倒计时。"""
    with session.begin():
        cues = service.item_cues(
            session, sku_id=sku_id, product_id=product_id, defaults=_defaults(ctx), now=now
        )
    purchases = []
    for p in cues.purchases:
        zh, en = purchase_text(p, now)
        purchases.append({"name": p.masked_name, "title": p.title,
                          "minutes_ago": minutes_ago(p.paid_at, now), "text_zh": zh,
                          "text_en": en})  # fmt: skip
    low = None
    if cues.low_stock is not None:
        low = {"units_left": cues.stock, "text_zh": cues.low_stock[0], "text_en": cues.low_stock[1]}
    return {
        "social_proof_enabled": cues.social_proof_enabled, "purchases": purchases,
        "low_stock": low, "server_time": now,
        "countdowns": [
            {"kind": c.kind, "campaign_id": c.campaign_id, "name": c.name, "ends_at": c.ends_at,
             "ends_in_seconds": countdown_seconds(c.ends_at, now)}
            for c in cues.countdowns
        ],
    }  # fmt: skip


@admin_router.get("/settings", response_model=CueSettingsOut)
def read_settings(session: ReadSessionDep, ctx: CtxDep, operator: MarketingReader) -> Any:
    with session.begin():
        r = service.rules(session, _defaults(ctx))
    return {"social_proof_enabled": r.social_proof_enabled,
            "low_stock_threshold": r.low_stock_threshold}  # fmt: skip


@admin_router.put("/settings", response_model=CueSettingsOut)
def edit_settings(
    body: CueSettingsIn, session: SessionDep, ctx: CtxDep, now: NowDep, operator: MarketingWriter
) -> Any:
    """修改促单提示：关闭购买动态（按店铺），库存紧张提示阈值。"""
    with session.begin():
        r = service.save_rules(
            session, social_proof_enabled=body.social_proof_enabled,
            low_stock_threshold=body.low_stock_threshold, defaults=_defaults(ctx),
            operator_id=operator.id, now=now,
        )  # fmt: skip
    return {"social_proof_enabled": r.social_proof_enabled,
            "low_stock_threshold": r.low_stock_threshold}  # fmt: skip
