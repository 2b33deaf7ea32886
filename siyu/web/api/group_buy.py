"""Group-buy routes (拼团): the shopper's under /api/app/group-buy (campaigns, open
groups, opening and joining a group — each an order, idempotent like checkout — and a
group's progress with its share path); the operator's (marketing) under
/api/admin/group-buy (campaigns, their groups and live figures)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from siyu.fields import Moment
from siyu.group_buy import campaigns, service
from siyu.group_buy.models import GroupBuyCampaign, GroupBuyGroup
from siyu.group_buy.rules import (
    MAX_GROUP_SIZE,
    MAX_TIERS,
    CampaignStatus,
    GroupStatus,
    SeatStatus,
    mask_name,
)
from siyu.order.placement import Address
from siyu.order.schemas import AddressIn, CheckoutQuoteOut, OrderOut
from siyu.pricing.fetch import pricing_settings
from siyu.pricing.serialize import quote_to_dict
from siyu.web.api.order import placed_once
from siyu.web.deps import (
    AppContext,
    CtxDep,
    CurrentShopper,
    MarketingReader,
    MarketingWriter,
    NowDep,
    OptionalShopper,
    ReadSessionDep,
    SessionDep,
)

app_router = APIRouter(prefix="/api/app/group-buy", tags=["group buy"])
admin_router = APIRouter(prefix="/api/admin/group-buy", tags=["group buy admin"])
IdempotencyKey = Annotated[
    str, Header(alias="Idempotency-Key", description="每次开团/参团尝试一个唯一值（如 UUID）")
]


class TierIn(BaseModel):
    size: int = Field(ge=2, le=MAX_GROUP_SIZE, description="成团人数")
    price_fen: int = Field(ge=1, le=100_000_000, description="该人数下的单价（分）")


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    sku_id: int = Field(ge=1)
    tiers: list[TierIn] = Field(
        min_length=1, max_length=MAX_TIERS,
        description="一档为普通拼团；多档为阶梯拼团（人数递增、价格递减），团员先付第一档价格",
    )  # fmt: skip
    duration_minutes: int = Field(1440, ge=5, le=7 * 24 * 60, description="开团后多久内成团")
    max_quantity: int = Field(1, ge=1, le=99, description="每人每团限购件数")
    per_shopper_limit: int = Field(0, ge=0, le=99, description="每人可参与的团数；0 不限")
    new_shoppers_only: bool = Field(False, description="参团（非团长）仅限新用户")
    auto_fill: bool = Field(False, description="到期未满时模拟成团（店铺页会公开说明）")
    free_shipping: bool = True
    starts_at: Moment
    ends_at: Moment
    status: CampaignStatus = CampaignStatus.active


class TierOut(BaseModel):
    size: int
    price_fen: int


class CampaignOut(BaseModel):
    id: int
    name: str
    sku_id: int
    product_id: int
    tiers: list[TierOut]
    ladder: bool
    group_price_fen: int  # what a member pays
    duration_minutes: int
    max_quantity: int
    per_shopper_limit: int
    new_shoppers_only: bool
    auto_fill: bool
    auto_fill_notice_zh: str
    auto_fill_notice_en: str
    free_shipping: bool
    starts_at: datetime
    ends_at: datetime
    status: CampaignStatus


class MemberOut(BaseModel):
    name: str  # masked: 张**
    avatar_url: str
    is_leader: bool
    status: SeatStatus


class GroupOut(BaseModel):
    id: int
    campaign_id: int
    status: GroupStatus
    size: int
    seats_taken: int
    seats_paid: int
    seats_left: int
    virtual_seats: int
    final_price_fen: int | None
    deadline_at: datetime | None
    members: list[MemberOut]
    mine: bool  # the signed-in shopper holds a seat in this group
    share_path: str  # the mini-program page a share card opens
    share_h5: str  # the H5 link


class CampaignDetailOut(CampaignOut):
    open_groups: list[GroupOut]


class JoinIn(BaseModel):
    quantity: int = Field(1, ge=1, le=99)
    address: AddressIn | None = None
    address_id: int | None = Field(default=None, ge=1)
    note: str = Field(default="", max_length=200)
    sharer_id: int | None = Field(default=None, ge=1, description="分享者（来自分享链接）")

    @model_validator(mode="after")
    def _one_address(self) -> JoinIn:
        if self.address is not None and self.address_id is not None:
            raise ValueError("give either address (typed) or address_id (saved), not both")
        return self


class PlacedOut(BaseModel):
    order: OrderOut
    group: GroupOut


class StatsOut(BaseModel):
    groups_opened: int
    groups_open: int
    groups_completed: int
    groups_failed: int
    success_rate_percent: int
    members_paid: int
    units_sold: int
    refunds: int  # the group buy's own refunds (failure, ladder)
    refunded_orders: int  # orders with money back for any reason
    refunded_fen: int
    new_shoppers: int
    new_via_share: int  # new shoppers who joined through a share


class StatusIn(BaseModel):
    status: CampaignStatus = Field(description="active 开始/恢复、paused 暂停、ended 结束")


AUTO_FILL_NOTICE = (
    "本活动开启模拟成团：到期人数不足时系统补足人数，已付款的团员照常发货",
    "Simulated members: if a group is short at its deadline the store fills it, "
    "and paid members receive their order",
)


def _campaign_out(c: GroupBuyCampaign) -> dict[str, Any]:
    tiers = c.tier_list
    return {
        "id": c.id, "name": c.name, "sku_id": c.sku_id, "product_id": c.product_id,
        "tiers": [{"size": t.size, "price_fen": t.price_fen} for t in tiers],
        "ladder": len(tiers) > 1, "group_price_fen": tiers[0].price_fen,
        "duration_minutes": c.duration_minutes, "max_quantity": c.max_quantity,
        "per_shopper_limit": c.per_shopper_limit, "new_shoppers_only": c.new_shoppers_only,
        "auto_fill": c.auto_fill,
        "auto_fill_notice_zh": AUTO_FILL_NOTICE[0] if c.auto_fill else "",
        "auto_fill_notice_en": AUTO_FILL_NOTICE[1] if c.auto_fill else "",
        "free_shipping": c.free_shipping, "starts_at": c.starts_at, "ends_at": c.ends_at,
        "status": c.status,
    }  # fmt: skip


def _group_out(session: Any, g: GroupBuyGroup, sharer_id: int | None = None) -> dict[str, Any]:
    held = [(seat, shopper) for seat, shopper in campaigns.seats(session, g.id)
            if seat.status is not SeatStatus.released]  # fmt: skip
    members = [
        {"name": mask_name(shopper.nickname), "avatar_url": shopper.avatar_url,
         "is_leader": seat.is_leader, "status": seat.status}
        for seat, shopper in held
    ]  # fmt: skip
    mine = sharer_id is not None and any(seat.shopper_id == sharer_id for seat, _ in held)
    share = f"id={g.id}" + (f"&sharer={sharer_id}" if sharer_id else "")
    return {
        "id": g.id, "campaign_id": g.campaign_id, "status": g.status, "size": g.size,
        "seats_taken": g.seats_taken, "seats_paid": g.seats_paid,
        "seats_left": max(g.size - g.seats_taken, 0), "virtual_seats": g.virtual_seats,
        "final_price_fen": g.final_price_fen, "deadline_at": g.deadline_at, "members": members,
        "mine": mine,
        "share_path": f"/pages/group/index?{share}",
        "share_h5": (f"/shop/?sharer_id={sharer_id}" if sharer_id else "/shop/") + f"#/group/{g.id}",
    }  # fmt: skip


def _checkout(ctx: AppContext, body: JoinIn) -> service.Checkout:
    return service.Checkout(
        address=Address(**body.address.model_dump()) if body.address else None,
        address_id=body.address_id,
        note=body.note,
        pricing=pricing_settings(ctx.settings),
        payment_timeout=timedelta(minutes=ctx.settings.payment_timeout_minutes),
    )


# --- the shopper ------------------------------------------------------------------


@app_router.get("", response_model=list[CampaignOut])
def running_campaigns(
    session: ReadSessionDep, now: NowDep, product_id: Annotated[int | None, Query(ge=1)] = None
) -> Any:
    """进行中的拼团活动（可按商品筛选）。"""
    with session.begin():
        return [
            _campaign_out(c)
            for c in campaigns.list_campaigns(session, now=now, product_id=product_id)
        ]


@app_router.get("/groups/{group_id}", response_model=GroupOut)
def group_progress(group_id: int, session: ReadSessionDep, shopper: OptionalShopper) -> Any:
    """拼团进度：成员（昵称打码）、剩余名额、截止时间、分享路径（登录时带上我的分享者
    id）、我是否已在团中。"""
    with session.begin():
        group = campaigns.get_group(session, group_id)
        return _group_out(session, group, shopper.id if shopper else None)


@app_router.get("/{campaign_id}/quote", response_model=CheckoutQuoteOut)
def group_quote(
    campaign_id: int, session: ReadSessionDep, ctx: CtxDep, shopper: CurrentShopper,
    quantity: Annotated[int, Query(ge=1, le=99)] = 1,
) -> Any:  # fmt: skip
    """拼团结算报价：拼团价（不与优惠券、积分、会员价叠加）与运费，即下单应付金额。"""
    with session.begin():
        quote = service.quote(session, campaign_id, quantity, pricing_settings(ctx.settings))
    return {"quote": quote_to_dict(quote), "coupons": [], "total_fen": quote.total_fen,
            "discount_fen": quote.discount_fen, "shipping_fen": quote.shipping_fen}  # fmt: skip


@app_router.get("/{campaign_id}", response_model=CampaignDetailOut)
def campaign_detail(campaign_id: int, session: ReadSessionDep, now: NowDep) -> Any:
    """拼团活动与可参加的团（差人数最少的在前）。"""
    with session.begin():
        campaign = campaigns.get_campaign(session, campaign_id)
        groups = [_group_out(session, g) for g in campaigns.open_groups(session, campaign.id, now)]
        return {**_campaign_out(campaign), "open_groups": groups}


@app_router.post("/{campaign_id}/groups", response_model=PlacedOut, status_code=201)
def open_group(
    campaign_id: int, body: JoinIn, session: SessionDep, ctx: CtxDep, now: NowDep,
    shopper: CurrentShopper, idempotency_key: IdempotencyKey,
) -> JSONResponse:  # fmt: skip
    """开团：下单（拼团价），付款后开团计时；相同 Idempotency-Key 返回首次结果。"""

    def place() -> dict[str, Any]:
        order, group = service.open_group(
            session, campaign_id=campaign_id, shopper_id=shopper.id, quantity=body.quantity,
            checkout=_checkout(ctx, body), now=now,
        )  # fmt: skip
        return _placed(session, order, group, shopper.id)

    return placed_once(session, f"group_buy.open:{campaign_id}", shopper.id, idempotency_key,
                       body, place, now)  # fmt: skip


@app_router.post("/groups/{group_id}/members", response_model=PlacedOut, status_code=201)
def join_group(
    group_id: int, body: JoinIn, session: SessionDep, ctx: CtxDep, now: NowDep,
    shopper: CurrentShopper, idempotency_key: IdempotencyKey,
) -> JSONResponse:  # fmt: skip
    """参团：占一个名额并下单（拼团价）；团满、已结束、已在团中均返回 409。"""

    def place() -> dict[str, Any]:
        order, group = service.join_group(
            session, group_id=group_id, shopper_id=shopper.id, quantity=body.quantity,
            sharer_id=body.sharer_id, checkout=_checkout(ctx, body), now=now,
        )  # fmt: skip
        return _placed(session, order, group, shopper.id)

    return placed_once(session, f"group_buy.join:{group_id}", shopper.id, idempotency_key,
                       body, place, now)  # fmt: skip


def _placed(session: Any, order: Any, group: GroupBuyGroup, shopper_id: int) -> dict[str, Any]:
    return PlacedOut.model_validate(
        {"order": OrderOut.model_validate(order), "group": _group_out(session, group, shopper_id)}
    ).model_dump(mode="json")


# --- the operator -----------------------------------------------------------------


@admin_router.get("", response_model=list[CampaignOut])
def all_campaigns(session: ReadSessionDep, operator: MarketingReader) -> Any:
    with session.begin():
        return [_campaign_out(c) for c in campaigns.list_campaigns(session)]


@admin_router.post("", response_model=CampaignOut, status_code=201)
def create_campaign(
    body: CampaignIn, session: SessionDep, now: NowDep, operator: MarketingWriter
) -> Any:
    """创建拼团活动：一档为普通拼团，多档为阶梯拼团；价格须低于原价，否则 422。"""
    return _save(session, None, body, now)


@admin_router.put("/{campaign_id}", response_model=CampaignOut)
def edit_campaign(
    campaign_id: int, body: CampaignIn, session: SessionDep, now: NowDep, operator: MarketingWriter
) -> Any:
    """修改拼团活动；已有人开团后商品与价格不可改（409）。"""
    return _save(session, campaign_id, body, now)


@admin_router.post("/{campaign_id}/status", response_model=CampaignOut)
def set_campaign_status(
    campaign_id: int, body: StatusIn, session: SessionDep, now: NowDep, operator: MarketingWriter
) -> Any:
    """开始、暂停、恢复或结束拼团；已结束的不能再改（409）。已开的团照常到期。"""
    with session.begin():
        return _campaign_out(
            campaigns.set_campaign_status(
                session, campaign_id=campaign_id, status=body.status, now=now,
                actor_id=operator.id,
            )
        )  # fmt: skip


@admin_router.get("/{campaign_id}/stats", response_model=StatsOut)
def campaign_stats(campaign_id: int, session: ReadSessionDep, operator: MarketingReader) -> Any:
    """开团数、成团/失败数、成团率、付款人数、售出件数、退款数、带来的新用户数。"""
    with session.begin():
        campaigns.get_campaign(session, campaign_id)
        return campaigns.campaign_stats(session, campaign_id)


@admin_router.get("/{campaign_id}/groups", response_model=list[GroupOut])
def campaign_groups(campaign_id: int, session: ReadSessionDep, operator: MarketingReader) -> Any:
    with session.begin():
        campaigns.get_campaign(session, campaign_id)
        return [_group_out(session, g) for g in campaigns.campaign_groups(session, campaign_id)]


def _save(session: SessionDep, campaign_id: int | None, body: CampaignIn, now: datetime) -> Any:
    values = body.model_dump()
    values["tiers"] = [[t.size, t.price_fen] for t in body.tiers]
    with session.begin():
        return _campaign_out(
            campaigns.save_campaign(session, values, now=now, campaign_id=campaign_id)
        )
