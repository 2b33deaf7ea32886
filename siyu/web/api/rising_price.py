"""Rising-price routes (阶梯涨价): the shopper's under /api/app/rising-price (running
campaigns with the price now, the next price and when it applies, units sold; buying —
an order placed like checkout, idempotent); the operator's (marketing) under
/api/admin/rising-price (campaigns)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from siyu.fields import MAX_ID, Moment
from siyu.order.placement import Address
from siyu.order.schemas import AddressIn, OrderOut
from siyu.pricing.fetch import pricing_settings
from siyu.rising_price import service
from siyu.rising_price.models import RisingPriceCampaign
from siyu.rising_price.rules import MAX_INTERVAL_MINUTES, MAX_PER_SHOPPER, CampaignStatus
from siyu.web.api.order import placed_once
from siyu.web.deps import (
    CtxDep,
    CurrentShopper,
    MarketingReader,
    MarketingWriter,
    NowDep,
    ReadSessionDep,
    SessionDep,
)

app_router = APIRouter(prefix="/api/app/rising-price", tags=["rising price"])
admin_router = APIRouter(prefix="/api/admin/rising-price", tags=["rising price admin"])
IdempotencyKey = Annotated[
    str, Header(alias="Idempotency-Key", description="每次下单尝试一个唯一值（如 UUID）")
]
CampaignId = Annotated[int, Path(ge=1, le=MAX_ID)]


class RisingPriceCampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    sku_id: int = Field(ge=1, le=MAX_ID)
    base_price_fen: int = Field(ge=1, le=100_000_000, description="起始价（分），前 N 件")
    base_units: int = Field(ge=0, le=1_000_000, description="按起始价出售的前 N 件")
    step_percent: int = Field(ge=1, le=100, description="每个间隔上涨起始价的百分之几")
    interval_minutes: int = Field(60, ge=1, le=MAX_INTERVAL_MINUTES, description="涨价间隔")
    cap_price_fen: int = Field(ge=1, le=100_000_000, description="封顶价（不高于原价）")
    per_shopper_limit: int = Field(1, ge=1, le=MAX_PER_SHOPPER, description="每人限购件数")
    starts_at: Moment
    ends_at: Moment
    status: CampaignStatus = CampaignStatus.active


class RisingPriceCampaignOut(BaseModel):
    id: int
    name: str
    sku_id: int
    product_id: int
    base_price_fen: int
    base_units: int
    step_percent: int
    step_fen: int
    interval_minutes: int
    cap_price_fen: int
    per_shopper_limit: int
    units_sold: int
    starts_at: datetime
    ends_at: datetime
    status: CampaignStatus
    running: bool
    price_fen: int  # one unit now
    next_price_fen: int | None
    next_at: datetime | None  # None with a next price: once the base units are gone
    base_units_left: int
    server_time: datetime


class RisingPriceBuyIn(BaseModel):
    quantity: int = Field(1, ge=1, le=MAX_PER_SHOPPER)
    expected_unit_price_fen: int | None = Field(
        default=None, ge=1, le=100_000_000, description="下单时看到的单价；已上涨则 409"
    )
    address: AddressIn | None = None
    address_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    note: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _one_address(self) -> RisingPriceBuyIn:
        if self.address is not None and self.address_id is not None:
            raise ValueError("give either address (typed) or address_id (saved), not both")
        return self


class RisingPriceBoughtOut(BaseModel):
    order: OrderOut
    campaign: RisingPriceCampaignOut


def _out(c: RisingPriceCampaign, now: datetime) -> dict[str, Any]:
    q = service.quote_of(c, now)
    return {
        "id": c.id, "name": c.name, "sku_id": c.sku_id, "product_id": c.product_id,
        "base_price_fen": c.base_price_fen, "base_units": c.base_units,
        "step_percent": c.step_percent, "step_fen": service.rule_of(c).step_fen,
        "interval_minutes": c.interval_minutes, "cap_price_fen": c.cap_price_fen,
        "per_shopper_limit": c.per_shopper_limit, "units_sold": c.units_sold,
        "starts_at": c.starts_at, "ends_at": c.ends_at, "status": c.status,
        "running": service.is_running(c, now), "price_fen": q.price_fen,
        "next_price_fen": q.next_price_fen, "next_at": q.next_at,
        "base_units_left": q.base_units_left, "server_time": now,
    }  # fmt: skip


# --- the shopper ------------------------------------------------------------------


@app_router.get("", response_model=list[RisingPriceCampaignOut])
def running_campaigns(
    session: ReadSessionDep,
    now: NowDep,
    product_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    sku_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Any:
    """进行中的阶梯涨价活动（可按商品或规格筛选）：当前价、下一档价格与生效时间。"""
    with session.begin():
        found = service.list_campaigns(session, now=now, product_id=product_id, sku_id=sku_id)
        return [_out(c, now) for c in found]


@app_router.get("/{campaign_id}", response_model=RisingPriceCampaignOut)
def campaign_view(campaign_id: CampaignId, session: ReadSessionDep, now: NowDep) -> Any:
    """阶梯涨价活动：当前价、下一档价格（next_at 为空表示前 N 件售完后）、已售件数。"""
    with session.begin():
        return _out(service.get_campaign(session, campaign_id), now)


@app_router.post("/{campaign_id}/buy", response_model=RisingPriceBoughtOut, status_code=201)
def buy(
    campaign_id: CampaignId, body: RisingPriceBuyIn, session: SessionDep, ctx: CtxDep,
    now: NowDep, shopper: CurrentShopper, idempotency_key: IdempotencyKey,
) -> JSONResponse:  # fmt: skip
    """按当前价下单；价格已上涨（与 expected_unit_price_fen 不同）返回 409
    rising_price_changed；相同 Idempotency-Key 返回首次结果。"""

    def place() -> dict[str, Any]:
        checkout = service.Checkout(
            address=Address(**body.address.model_dump()) if body.address else None,
            address_id=body.address_id, note=body.note, pricing=pricing_settings(ctx.settings),
            payment_timeout=timedelta(minutes=ctx.settings.payment_timeout_minutes),
        )  # fmt: skip
        order, campaign = service.buy(
            session, campaign_id=campaign_id, shopper_id=shopper.id, quantity=body.quantity,
            expected_unit_price_fen=body.expected_unit_price_fen, checkout=checkout, now=now,
        )  # fmt: skip
        return RisingPriceBoughtOut.model_validate(
            {"order": OrderOut.model_validate(order), "campaign": _out(campaign, now)}
        ).model_dump(mode="json")

    return placed_once(session, f"rising_price.buy:{campaign_id}", shopper.id, idempotency_key,
                       body, place, now)  # fmt: skip


# --- the operator -----------------------------------------------------------------


@admin_router.get("", response_model=list[RisingPriceCampaignOut])
def all_campaigns(session: ReadSessionDep, now: NowDep, operator: MarketingReader) -> Any:
    with session.begin():
        return [_out(c, now) for c in service.list_campaigns(session)]


@admin_router.post("", response_model=RisingPriceCampaignOut, status_code=201)
def create_campaign(
    body: RisingPriceCampaignIn, session: SessionDep, now: NowDep, operator: MarketingWriter
) -> Any:
    """创建阶梯涨价活动：前 N 件起始价，之后每个间隔上涨，封顶价不高于原价，否则 422。"""
    with session.begin():
        return _out(service.save_campaign(session, body.model_dump(), now=now), now)


@admin_router.put("/{campaign_id}", response_model=RisingPriceCampaignOut)
def edit_campaign(
    campaign_id: CampaignId, body: RisingPriceCampaignIn, session: SessionDep, now: NowDep,
    operator: MarketingWriter,
) -> Any:  # fmt: skip
    """修改阶梯涨价活动；已有售出后商品不可改（409）。"""
    with session.begin():
        saved = service.save_campaign(session, body.model_dump(), now=now, campaign_id=campaign_id)
        return _out(saved, now)
