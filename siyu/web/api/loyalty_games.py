"""Check-in, lottery and points-mall routes: the shopper's under /api/app/checkin,
/api/app/lottery and /api/app/mall; the operator's (marketing.write) under
/api/admin/checkin, /api/admin/lottery and /api/admin/mall."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel, ConfigDict, Field

from siyu.fields import Moment
from siyu.loyalty.checkin import service as checkin
from siyu.loyalty.checkin.rules import CheckinRule, DayReward
from siyu.loyalty.lottery import service as lottery
from siyu.loyalty.lottery.models import CampaignStatus, FallbackReason, LotteryCampaign
from siyu.loyalty.lottery.rules import PrizeKind, odds_text
from siyu.loyalty.mall import service as mall
from siyu.loyalty.mall.models import ExchangeStatus, ItemKind, ItemStatus
from siyu.web.api.common import from_fields
from siyu.web.deps import (
    CtxDep,
    CurrentShopper,
    MarketingReader,
    MarketingWriter,
    NowDep,
    ReadSessionDep,
    SessionDep,
)

app_router = APIRouter(prefix="/api/app", tags=["check-in, lottery, points mall"])
admin_router = APIRouter(prefix="/api/admin", tags=["check-in, lottery, points mall admin"])
RequestKey = Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=64)]


# --- check-in ---------------------------------------------------------------------


class DayRewardIn(BaseModel):
    points: int = Field(ge=0, le=100_000)
    coupon_template_id: int | None = None


class CheckinRuleIn(BaseModel):
    rewards: list[DayRewardIn] = Field(min_length=1, max_length=31)
    makeup_enabled: bool = False
    makeup_cost_points: int = Field(20, ge=0, le=100_000)
    makeups_per_month: int = Field(2, ge=0, le=31)


class CheckinRuleOut(CheckinRuleIn):
    model_config = ConfigDict(from_attributes=True)


class CheckinOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    day: date
    streak: int
    cycle_day: int
    points: int
    coupon_id: int | None


class CalendarDayOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    day: date
    checked: bool
    is_today: bool
    can_make_up: bool


class CheckinStatusOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    today: date
    checked_today: bool
    streak: int
    next_reward: DayRewardIn
    next_cycle_day: int
    makeup_enabled: bool
    makeups_left: int
    makeup_cost_points: int = Field(0, description="补签一次消耗的积分")
    calendar: list[CalendarDayOut]


class MakeupIn(BaseModel):
    day: date


def _rule_out(rule: CheckinRule) -> CheckinRuleOut:
    return CheckinRuleOut(
        rewards=[DayRewardIn(points=r.points, coupon_template_id=r.coupon_template_id)
                 for r in rule.rewards],
        makeup_enabled=rule.makeup_enabled, makeup_cost_points=rule.makeup_cost_points,
        makeups_per_month=rule.makeups_per_month,
    )  # fmt: skip


@app_router.post("/checkin", response_model=CheckinOut, status_code=201)
def check_in(session: SessionDep, ctx: CtxDep, now: NowDep, shopper: CurrentShopper) -> Any:
    """今日签到；同一天（北京时间）重复签到返回 409 already_checked_in。"""
    with session.begin():
        return checkin.check_in(session, ctx.points, shopper_id=shopper.id, now=now)


@app_router.post("/checkin/makeup", response_model=CheckinStatusOut)
def make_up(body: MakeupIn, session: SessionDep, now: NowDep, shopper: CurrentShopper) -> Any:
    """补签本月一个漏签的日期（需店铺开启，消耗积分）。"""
    with session.begin():
        checkin.make_up(session, shopper_id=shopper.id, day=body.day, now=now)
        return checkin.checkin_status(session, shopper_id=shopper.id, now=now)


@app_router.get("/checkin", response_model=CheckinStatusOut)
def my_checkin(session: ReadSessionDep, now: NowDep, shopper: CurrentShopper) -> Any:
    """签到状态：今天是否已签、连续天数、下次奖励、本月日历。"""
    with session.begin():
        return checkin.checkin_status(session, shopper_id=shopper.id, now=now)


@admin_router.get("/checkin/rule", response_model=CheckinRuleOut)
def get_checkin_rule(session: ReadSessionDep, operator: MarketingReader) -> Any:
    with session.begin():
        return _rule_out(checkin.load_rule(session))


@admin_router.put("/checkin/rule", response_model=CheckinRuleOut)
def put_checkin_rule(
    body: CheckinRuleIn, session: SessionDep, now: NowDep, operator: MarketingWriter
) -> Any:
    """修改签到规则（每个周期日的奖励、补签设置）；校验失败返回 422，不会部分写入。"""
    rule = CheckinRule(
        rewards=tuple(DayReward(r.points, r.coupon_template_id) for r in body.rewards),
        makeup_enabled=body.makeup_enabled, makeup_cost_points=body.makeup_cost_points,
        makeups_per_month=body.makeups_per_month,
    )  # fmt: skip
    with session.begin():
        return _rule_out(checkin.save_rule(session, rule, now, actor_id=operator.id))


# --- lottery ----------------------------------------------------------------------


class PrizeIn(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    kind: PrizeKind
    weight_ppm: int = Field(ge=0, le=1_000_000, description="百万分之几；全部奖品合计 1000000")
    stock: int | None = Field(None, ge=0, description="null：不限量")
    fallback_position: int | None = Field(None, ge=0, description="库存不足时改发的奖品序号")
    points: int = Field(0, ge=0, le=1_000_000)
    coupon_template_id: int | None = None
    sku_id: int | None = None


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    cost_points: int = Field(ge=0, le=1_000_000)
    daily_limit: int = Field(ge=0, le=1000, description="每人每天可抽次数；0 不限")
    starts_at: Moment
    ends_at: Moment
    status: CampaignStatus = CampaignStatus.active
    prizes: list[PrizeIn] = Field(min_length=1, max_length=20)


class PrizeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    position: int
    name: str
    kind: PrizeKind
    weight_ppm: int
    odds_text: str
    stock: int | None
    points: int
    given_count: int


class CampaignOut(BaseModel):
    id: int
    name: str
    cost_points: int
    daily_limit: int
    starts_at: datetime
    ends_at: datetime
    status: CampaignStatus
    prizes: list[PrizeOut]


class DrawOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    campaign_id: int
    ticket: int
    landed_prize_id: int
    given_prize_id: int
    fallback_reason: FallbackReason
    points_spent: int
    points_won: int
    coupon_id: int | None
    sku_id: int | None
    created_at: datetime


class StatsOut(BaseModel):
    draws: int
    points_spent: int
    given_by_prize: dict[int, int]


def _campaign_out(c: LotteryCampaign) -> CampaignOut:
    return CampaignOut(
        id=c.id, name=c.name, cost_points=c.cost_points, daily_limit=c.daily_limit,
        starts_at=c.starts_at, ends_at=c.ends_at, status=c.status,
        prizes=[PrizeOut(id=p.id, position=p.position, name=p.name, kind=p.kind,
                         weight_ppm=p.weight_ppm, odds_text=odds_text(p.weight_ppm),
                         stock=p.stock, points=p.points, given_count=p.given_count)
                for p in c.prizes],
    )  # fmt: skip


def _save(
    session: SessionDep, campaign_id: int | None, body: CampaignIn, now: datetime, actor_id: int
) -> Any:
    values = body.model_dump(exclude={"prizes"})
    prizes = [p.model_dump() for p in body.prizes]
    with session.begin():
        return _campaign_out(
            lottery.save_campaign(
                session,
                campaign_id=campaign_id,
                values=values,
                prizes=prizes,
                now=now,
                actor_id=actor_id,
            )  # fmt: skip
        )


class ShopperDayOut(BaseModel):
    campaign_id: int
    day: date
    draws_today: int
    draws_left: int | None = Field(description="今天还能抽几次；null 表示不限次数")


@app_router.get("/lottery", response_model=list[CampaignOut])
def open_campaigns(session: ReadSessionDep, now: NowDep) -> Any:
    """正在进行的抽奖活动（已开始、未结束），最先结束的在前。"""
    with session.begin():
        return [_campaign_out(c) for c in lottery.open_campaigns(session, now)]


@app_router.get("/lottery/{campaign_id}", response_model=CampaignOut)
def show_campaign(campaign_id: int, session: ReadSessionDep) -> Any:
    """抽奖活动与奖品，odds_text 为展示概率（与实际抽中概率完全一致）。"""
    with session.begin():
        return _campaign_out(lottery.get_campaign(session, campaign_id))


@app_router.post("/lottery/{campaign_id}/draws", response_model=DrawOut, status_code=201)
def draw(
    campaign_id: int, session: SessionDep, ctx: CtxDep, now: NowDep,
    shopper: CurrentShopper, key: RequestKey,
) -> Any:  # fmt: skip
    """抽一次：扣除积分，按展示概率抽奖；奖品库存不足时发放备选奖品。"""
    with session.begin():
        return lottery.draw(session, ctx.points, campaign_id=campaign_id, shopper_id=shopper.id,
                            ref=key, now=now)  # fmt: skip


@app_router.get("/lottery/{campaign_id}/today", response_model=ShopperDayOut)
def my_lottery_day(
    campaign_id: int, session: ReadSessionDep, now: NowDep, shopper: CurrentShopper
) -> Any:
    """我今天在该活动的抽奖次数与剩余次数（北京时间的日期）。"""
    with session.begin():
        return from_fields(
            ShopperDayOut,
            lottery.shopper_day(session, campaign_id=campaign_id, shopper_id=shopper.id, now=now),
        )


@app_router.get("/lottery-draws", response_model=list[DrawOut])
def my_draws(session: ReadSessionDep, shopper: CurrentShopper) -> Any:
    with session.begin():
        return lottery.my_draws(session, shopper_id=shopper.id)


@admin_router.post("/lottery", response_model=CampaignOut, status_code=201)
def create_campaign(
    body: CampaignIn, session: SessionDep, now: NowDep, operator: MarketingWriter
) -> Any:
    """创建抽奖活动；奖品概率合计须为 100%，备选链须以不限量奖品结束，否则 422。"""
    return _save(session, None, body, now, operator.id)


@admin_router.put("/lottery/{campaign_id}", response_model=CampaignOut)
def edit_campaign(
    campaign_id: int, body: CampaignIn, session: SessionDep, now: NowDep, operator: MarketingWriter
) -> Any:
    return _save(session, campaign_id, body, now, operator.id)


@admin_router.get("/lottery/{campaign_id}/stats", response_model=StatsOut)
def campaign_stats(campaign_id: int, session: ReadSessionDep, operator: MarketingReader) -> Any:
    """抽奖次数、各奖品发放数、消耗积分。"""
    with session.begin():
        return lottery.campaign_stats(session, campaign_id)


# --- points mall ------------------------------------------------------------------


class ItemIn(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    kind: ItemKind
    points_price: int = Field(ge=1, le=10_000_000)
    coupon_template_id: int | None = None
    sku_id: int | None = None
    per_shopper_limit: int = Field(0, ge=0, le=10_000, description="每人限兑；0 不限")
    status: ItemStatus = ItemStatus.active
    position: int = 0


class ItemOut(ItemIn):
    model_config = ConfigDict(from_attributes=True)
    id: int


class ExchangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    item_id: int
    points: int
    status: ExchangeStatus
    coupon_id: int | None
    sku_id: int | None
    created_at: datetime
    shipped_at: datetime | None = None


class AdminExchangeOut(ExchangeOut):
    shopper_id: int


@app_router.get("/mall/items", response_model=list[ItemOut])
def mall_items(session: ReadSessionDep) -> Any:
    with session.begin():
        return mall.list_items(session)


@app_router.post(
    "/mall/items/{mall_item_id}/exchanges", response_model=ExchangeOut, status_code=201
)
def exchange(
    mall_item_id: int, session: SessionDep, now: NowDep, shopper: CurrentShopper, key: RequestKey
) -> Any:
    """用积分兑换；库存不足或超过每人限兑返回 409，积分不扣。"""
    with session.begin():
        return mall.exchange(session, item_id=mall_item_id, shopper_id=shopper.id, request_key=key,
                             now=now)  # fmt: skip


@app_router.get("/mall/exchanges", response_model=list[ExchangeOut])
def my_exchanges(session: ReadSessionDep, shopper: CurrentShopper) -> Any:
    with session.begin():
        return mall.my_exchanges(session, shopper_id=shopper.id)


@admin_router.post("/mall/items", response_model=ItemOut, status_code=201)
def create_item(body: ItemIn, session: SessionDep, now: NowDep, operator: MarketingWriter) -> Any:
    with session.begin():
        return mall.save_item(
            session, item_id=None, values=body.model_dump(), now=now, actor_id=operator.id
        )


@admin_router.put("/mall/items/{mall_item_id}", response_model=ItemOut)
def edit_item(
    mall_item_id: int, body: ItemIn, session: SessionDep, now: NowDep, operator: MarketingWriter
) -> Any:
    with session.begin():
        return mall.save_item(
            session, item_id=mall_item_id, values=body.model_dump(), now=now, actor_id=operator.id
        )


@admin_router.get("/mall/exchanges", response_model=list[AdminExchangeOut])
def all_exchanges(
    session: ReadSessionDep, operator: MarketingReader, status: ExchangeStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:  # fmt: skip
    """所有用户的兑换记录，最新在前；status=to_ship 为待发货的实物兑换。"""
    with session.begin():
        return mall.list_exchanges(session, status=status, limit=limit)


@admin_router.post("/mall/exchanges/{exchange_id}/ship", response_model=AdminExchangeOut)
def ship_exchange(
    exchange_id: int, session: SessionDep, now: NowDep, operator: MarketingWriter
) -> Any:
    """实物兑换标记为已发货（只能从待发货改一次；再次提交返回 409）。"""
    with session.begin():
        return mall.ship_exchange(session, actor_id=operator.id, exchange_id=exchange_id, now=now)
