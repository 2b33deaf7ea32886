"""Bargain routes (砍价): the shopper's under /api/app/bargains (running campaigns,
starting a bargain, a bargain's progress with its helpers — names masked — and cuts,
cutting a friend's bargain, buying at the price reached, idempotent like checkout);
the operator's (marketing) under /api/admin/bargains (campaigns). Blocking a shopper
is in ``siyu.web.api.identity``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.orm import Session

from siyu.bargain import service
from siyu.bargain.models import Bargain, BargainCampaign
from siyu.bargain.rules import (
    MAX_DURATION_MINUTES,
    MAX_HELPERS,
    MAX_MIN_AGE_MINUTES,
    MIN_DURATION_MINUTES,
    BargainStatus,
    CampaignStatus,
)
from siyu.fields import MAX_ID, Moment
from siyu.identity.rules import mask_name
from siyu.order.placement import Address
from siyu.order.schemas import AddressIn, OrderOut
from siyu.pricing.fetch import pricing_settings
from siyu.web.api.order import placed_once
from siyu.web.deps import (
    AnonymousIdDep,
    CtxDep,
    CurrentShopper,
    MarketingReader,
    MarketingWriter,
    NowDep,
    OptionalShopper,
    ReadSessionDep,
    SessionDep,
)

app_router = APIRouter(prefix="/api/app/bargains", tags=["bargain"])
admin_router = APIRouter(prefix="/api/admin/bargains", tags=["bargain admin"])
IdempotencyKey = Annotated[
    str, Header(alias="Idempotency-Key", description="每次下单尝试一个唯一值（如 UUID）")
]
CampaignId = Annotated[int, Path(ge=1, le=MAX_ID)]
BargainId = Annotated[int, Path(ge=1, le=MAX_ID)]


class BargainCampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    sku_id: int = Field(ge=1, le=MAX_ID)
    floor_price_fen: int = Field(ge=1, le=100_000_000, description="底价（分）：砍满人数后的价格")
    helpers_needed: int = Field(ge=1, le=MAX_HELPERS, description="砍到底价需要的帮砍人数")
    duration_minutes: int = Field(
        24 * 60, ge=MIN_DURATION_MINUTES, le=MAX_DURATION_MINUTES, description="发起后多久内有效"
    )
    per_shopper_limit: int = Field(1, ge=0, le=99, description="每人可发起次数；0 不限")
    helper_min_age_minutes: int = Field(
        60, ge=0, le=MAX_MIN_AGE_MINUTES, description="注册不满这么多分钟的账号帮砍不计"
    )
    starts_at: Moment
    ends_at: Moment
    status: CampaignStatus = CampaignStatus.active


class BargainCampaignOut(BaseModel):
    id: int
    name: str
    sku_id: int
    product_id: int
    floor_price_fen: int
    helpers_needed: int
    duration_minutes: int
    per_shopper_limit: int
    helper_min_age_minutes: int
    starts_at: datetime
    ends_at: datetime
    status: CampaignStatus


class HelperOut(BaseModel):
    name: str  # masked: 张*
    avatar_url: str
    amount_fen: int
    at: datetime


class BargainOut(BaseModel):
    id: int
    campaign_id: int
    sku_id: int
    status: BargainStatus
    original_fen: int
    floor_fen: int
    price_fen: int  # the price reached: what the starter pays now
    cut_fen: int
    helpers_needed: int
    cuts_taken: int
    helpers_left: int
    expires_at: datetime
    server_time: datetime
    order_id: int | None
    mine: bool  # the signed-in shopper started it
    i_cut: bool  # the signed-in shopper has cut it
    helpers: list[HelperOut]
    share_path: str
    share_h5: str


class BargainBuyIn(BaseModel):
    address: AddressIn | None = None
    address_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    note: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _one_address(self) -> BargainBuyIn:
        if self.address is not None and self.address_id is not None:
            raise ValueError("give either address (typed) or address_id (saved), not both")
        return self


class BargainBoughtOut(BaseModel):
    order: OrderOut
    bargain: BargainOut


def _campaign_out(c: BargainCampaign) -> dict[str, Any]:
    return {
        "id": c.id, "name": c.name, "sku_id": c.sku_id, "product_id": c.product_id,
        "floor_price_fen": c.floor_price_fen, "helpers_needed": c.helpers_needed,
        "duration_minutes": c.duration_minutes, "per_shopper_limit": c.per_shopper_limit,
        "helper_min_age_minutes": c.helper_min_age_minutes, "starts_at": c.starts_at,
        "ends_at": c.ends_at, "status": c.status,
    }  # fmt: skip


def _bargain_out(session: Session, b: Bargain, viewer: int | None, now: datetime) -> dict[str, Any]:
    campaign = service.get_campaign(session, b.campaign_id)
    helps = service.helps_of(session, b.id)
    price = service.current_price(b)
    return {
        "id": b.id, "campaign_id": b.campaign_id, "sku_id": campaign.sku_id,
        "status": service.effective_status(b, now), "original_fen": b.original_fen,
        "floor_fen": b.floor_fen, "price_fen": price, "cut_fen": b.original_fen - price,
        "helpers_needed": b.helpers_needed, "cuts_taken": b.cuts_taken,
        "helpers_left": b.helpers_needed - b.cuts_taken, "expires_at": b.expires_at,
        "server_time": now, "order_id": b.order_id if viewer == b.starter_id else None,
        "mine": viewer == b.starter_id, "i_cut": any(h.helper_id == viewer for h, _ in helps),
        "helpers": [
            {"name": mask_name(s.nickname), "avatar_url": s.avatar_url,
             "amount_fen": h.amount_fen, "at": h.created_at}
            for h, s in helps
        ],
        "share_path": f"/pages/bargain/index?id={b.id}",
        "share_h5": f"/shop/#/bargain/{b.id}",
    }  # fmt: skip


# --- the shopper ------------------------------------------------------------------


@app_router.get("/campaigns", response_model=list[BargainCampaignOut])
def running_campaigns(
    session: ReadSessionDep,
    now: NowDep,
    product_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    sku_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Any:
    """进行中的砍价活动（可按商品或规格筛选）。"""
    with session.begin():
        found = service.list_campaigns(session, now=now, product_id=product_id, sku_id=sku_id)
        return [_campaign_out(c) for c in found]


@app_router.get("/mine", response_model=list[BargainOut])
def my_bargains(session: ReadSessionDep, now: NowDep, shopper: CurrentShopper) -> Any:
    """我发起的砍价，最新的在前。"""
    with session.begin():
        return [
            _bargain_out(session, b, shopper.id, now)
            for b in service.bargains_of(session, shopper.id)
        ]


@app_router.post("/campaigns/{campaign_id}/start", response_model=BargainOut, status_code=201)
def start_bargain(
    campaign_id: CampaignId, session: SessionDep, now: NowDep, shopper: CurrentShopper,
    device: AnonymousIdDep,
) -> Any:  # fmt: skip
    """发起砍价：按原价开始，砍价金额此时随机生成（每刀至少 ¥0.01，砍满人数恰好到底价）。"""
    with session.begin():
        bargain = service.start_bargain(
            session, campaign_id=campaign_id, shopper_id=shopper.id, device=device, now=now
        )
        return _bargain_out(session, bargain, shopper.id, now)


@app_router.get("/{bargain_id}", response_model=BargainOut)
def bargain_view(
    bargain_id: BargainId, session: ReadSessionDep, now: NowDep, shopper: OptionalShopper
) -> Any:
    """砍价进度：当前价、已砍金额、帮砍好友（昵称打码）与每刀金额、截止时间、分享路径。"""
    with session.begin():
        bargain = service.get_bargain(session, bargain_id)
        return _bargain_out(session, bargain, shopper.id if shopper else None, now)


@app_router.post("/{bargain_id}/cuts", response_model=BargainOut, status_code=201)
def cut_bargain(
    bargain_id: BargainId, session: SessionDep, now: NowDep, shopper: CurrentShopper,
    device: AnonymousIdDep,
) -> Any:  # fmt: skip
    """帮好友砍一刀：每人每个砍价只能砍一次；自己、新注册账号、同一设备、被封禁账号
    不计（4xx，错误码说明原因）。"""
    with session.begin():
        bargain, _ = service.cut_bargain(
            session, bargain_id=bargain_id, helper_id=shopper.id, device=device, now=now
        )
        return _bargain_out(session, bargain, shopper.id, now)


@app_router.post("/{bargain_id}/buy", response_model=BargainBoughtOut, status_code=201)
def buy(
    bargain_id: BargainId, body: BargainBuyIn, session: SessionDep, ctx: CtxDep, now: NowDep,
    shopper: CurrentShopper, idempotency_key: IdempotencyKey,
) -> JSONResponse:  # fmt: skip
    """按已砍到的价格下单（每个砍价一次）；相同 Idempotency-Key 返回首次结果。"""

    def place() -> dict[str, Any]:
        checkout = service.Checkout(
            address=Address(**body.address.model_dump()) if body.address else None,
            address_id=body.address_id, note=body.note, pricing=pricing_settings(ctx.settings),
            payment_timeout=timedelta(minutes=ctx.settings.payment_timeout_minutes),
        )  # fmt: skip
        order, bargain = service.buy(
            session, bargain_id=bargain_id, shopper_id=shopper.id, checkout=checkout, now=now
        )
        return BargainBoughtOut.model_validate(
            {"order": OrderOut.model_validate(order),
             "bargain": _bargain_out(session, bargain, shopper.id, now)}
        ).model_dump(mode="json")  # fmt: skip

    return placed_once(session, f"bargain.buy:{bargain_id}", shopper.id, idempotency_key,
                       body, place, now)  # fmt: skip


# --- the operator -----------------------------------------------------------------


@admin_router.get("", response_model=list[BargainCampaignOut])
def all_campaigns(session: ReadSessionDep, operator: MarketingReader) -> Any:
    with session.begin():
        return [_campaign_out(c) for c in service.list_campaigns(session)]


@admin_router.post("", response_model=BargainCampaignOut, status_code=201)
def create_campaign(
    body: BargainCampaignIn, session: SessionDep, now: NowDep, operator: MarketingWriter
) -> Any:
    """创建砍价活动：底价低于原价，且原价与底价之差不少于帮砍人数（每刀至少 1 分），否则 422。"""
    with session.begin():
        return _campaign_out(service.save_campaign(session, body.model_dump(), now=now))


@admin_router.put("/{campaign_id}", response_model=BargainCampaignOut)
def edit_campaign(
    campaign_id: CampaignId, body: BargainCampaignIn, session: SessionDep, now: NowDep,
    operator: MarketingWriter,
) -> Any:  # fmt: skip
    """修改砍价活动；已有人发起后商品、底价和人数不可改（409）。"""
    with session.begin():
        saved = service.save_campaign(session, body.model_dump(), now=now, campaign_id=campaign_id)
        return _campaign_out(saved)
