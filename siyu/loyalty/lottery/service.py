"""Lottery use cases: an operator's campaign with its prize table (validated whole),
the draw, the shopper's draws and the campaign's stats.

A draw: the window and the daily limit (a guarded upsert of the per-date counter),
the cost debited (key ``lottery:{draw ref}``), a ticket from ``secrets.randbelow``,
the prize's stock taken by a guarded update (on a shortage the fallback chain is
followed), the prize given (points credited; a coupon issued once per draw; goods
recorded on the draw for the operator to ship, the SKU's stock reserved), and the
draw recorded with ticket, landed prize, given prize and fallback reason."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from siyu.catalog import stock
from siyu.coupon import service as coupons
from siyu.coupon.models import CouponTemplate
from siyu.coupon.rules import IssueRefusal, IssueSource
from siyu.db import rowcount
from siyu.errors import Conflict, InvalidInput, NotFound
from siyu.identity.audit import record_audit
from siyu.loyalty import ledger
from siyu.loyalty.checkin.rules import local_date
from siyu.loyalty.ledger import Source
from siyu.loyalty.lottery import rules
from siyu.loyalty.lottery.models import (
    CampaignStatus,
    FallbackReason,
    LotteryCampaign,
    LotteryDailyCount,
    LotteryDraw,
    LotteryPrize,
)
from siyu.loyalty.lottery.rules import TOTAL_WEIGHT, Prize, PrizeKind
from siyu.loyalty.program import PointsProgram
from siyu.loyalty.rules import EntryKind, expires_at

PRIZE_FIELDS = ("name", "kind", "weight_ppm", "stock", "fallback_position", "points",
                "coupon_template_id", "sku_id")  # fmt: skip


def _as_rule(prize: LotteryPrize) -> Prize:
    return Prize(
        id=prize.position, name=prize.name, kind=prize.kind, weight_ppm=prize.weight_ppm,
        stock=prize.stock, fallback_id=prize.fallback_position, points=prize.points,
        coupon_template_id=prize.coupon_template_id, sku_id=prize.sku_id,
    )  # fmt: skip


def _prize_of(position: int, p: dict[str, Any]) -> Prize:
    return Prize(
        id=position, name=str(p.get("name", "")), kind=PrizeKind(p.get("kind", "thanks")),
        weight_ppm=int(p.get("weight_ppm", 0)), stock=p.get("stock"),
        fallback_id=p.get("fallback_position"), points=int(p.get("points") or 0),
        coupon_template_id=p.get("coupon_template_id"), sku_id=p.get("sku_id"),
    )  # fmt: skip


def save_campaign(
    session: Session, *, campaign_id: int | None, values: dict[str, Any],
    prizes: list[dict[str, Any]], now: datetime, actor_id: int | None = None,
) -> LotteryCampaign:  # fmt: skip
    """Create or replace a campaign and its prize table; 422 with the fields, nothing
    written, if the table cannot be drawn from. Prizes are numbered by position."""
    table = [_prize_of(i, p) for i, p in enumerate(prizes)]
    errors = rules.validate_prizes(table)
    if values["ends_at"] <= values["starts_at"]:
        errors["ends_at"] = "after starts_at"
    for p in table:
        if (
            p.coupon_template_id is not None
            and session.get(CouponTemplate, p.coupon_template_id) is None
        ):
            errors[f"prize.{p.id}.coupon"] = "not found"
    if errors:
        raise InvalidInput("bad_lottery", "抽奖活动设置有误 / The lottery is not valid", errors)
    if campaign_id is None:
        campaign = LotteryCampaign(created_at=now, **values, updated_at=now)
        session.add(campaign)
        session.flush()
    else:
        campaign = get_campaign(session, campaign_id)
        if session.scalar(select(func.count()).where(LotteryDraw.campaign_id == campaign.id)):
            raise Conflict(
                "lottery_started", "已有抽奖记录，奖品不可修改 / Prizes cannot change after draws"
            )
        for name, value in values.items():
            setattr(campaign, name, value)
        campaign.updated_at = now
        for old in list(campaign.prizes):
            session.delete(old)
        session.flush()
    for i, fields in enumerate(prizes):
        values_of = {k: fields.get(k) for k in PRIZE_FIELDS}
        values_of["points"] = values_of["points"] or 0
        session.add(LotteryPrize(campaign_id=campaign.id, position=i, **values_of, given_count=0))
    session.flush()
    session.refresh(campaign)
    if actor_id is not None:
        record_audit(
            session, operator_id=actor_id,
            action="lottery.create" if campaign_id is None else "lottery.update",
            target_type="lottery", target_id=campaign.id, before=None,
            after={"name": campaign.name, "status": str(campaign.status)}, now=now,
        )  # fmt: skip
    return campaign


def get_campaign(session: Session, campaign_id: int) -> LotteryCampaign:
    campaign = session.get(LotteryCampaign, campaign_id)
    if campaign is None:
        raise NotFound("lottery_not_found", "抽奖活动不存在 / Lottery not found")
    return campaign


def set_campaign_status(
    session: Session, *, campaign_id: int, status: CampaignStatus, now: datetime,
    actor_id: int | None = None,
) -> LotteryCampaign:  # fmt: skip
    """Start, pause (back to draft) or end a campaign; allowed after draws too, since
    it changes no prize and no odds. An operator's change (``actor_id``) is audited."""
    campaign = get_campaign(session, campaign_id)
    before = str(campaign.status)
    campaign.status = status
    campaign.updated_at = now
    session.flush()
    if actor_id is not None:
        record_audit(
            session, operator_id=actor_id, action="lottery.status", target_type="lottery",
            target_id=campaign.id, before={"status": before}, after={"status": str(status)},
            now=now,
        )  # fmt: skip
    return campaign


def list_campaigns(session: Session) -> list[LotteryCampaign]:
    """Every campaign, newest first (an operator's list)."""
    return list(session.scalars(select(LotteryCampaign).order_by(LotteryCampaign.id.desc())))


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _count_draw(session: Session, campaign: LotteryCampaign, shopper_id: int, day: Any) -> bool:
    stmt = _insert(session)(LotteryDailyCount).values(
        campaign_id=campaign.id, shopper_id=shopper_id, local_date=day, count=1
    )
    set_: dict[str, Any] = {"count": LotteryDailyCount.count + 1}
    stmt = stmt.on_conflict_do_update(
        index_elements=["campaign_id", "shopper_id", "local_date"],
        set_=set_,
        where=(LotteryDailyCount.count < campaign.daily_limit)
        if campaign.daily_limit > 0
        else None,
    )
    return session.scalar(stmt.returning(LotteryDailyCount.count)) is not None


def _take_prize(session: Session, prize: LotteryPrize) -> bool:
    stmt = update(LotteryPrize).where(LotteryPrize.id == prize.id)
    values: dict[str, Any] = {"given_count": LotteryPrize.given_count + 1}
    if prize.stock is not None:
        stmt = stmt.where(LotteryPrize.stock >= 1)
        values["stock"] = LotteryPrize.stock - 1
    result = session.execute(stmt.values(values).execution_options(synchronize_session=False))
    return rowcount(result) == 1


def draw(
    session: Session, program: PointsProgram, *, campaign_id: int, shopper_id: int,
    ref: str, now: datetime,
) -> LotteryDraw:  # fmt: skip
    """One draw; ``ref`` makes its debit once only (a retried request is refused, not drawn twice)."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status is not CampaignStatus.active:
        raise Conflict("lottery_not_active", "抽奖活动未开放 / This lottery is not open")
    if now < campaign.starts_at:
        raise Conflict("lottery_not_started", "抽奖活动尚未开始 / This lottery has not started")
    if now >= campaign.ends_at:
        raise Conflict("lottery_ended", "抽奖活动已结束 / This lottery has ended")
    day = local_date(now)
    if not _count_draw(session, campaign, shopper_id, day):
        raise Conflict(
            "lottery_daily_limit",
            f"今天的抽奖次数已用完（每天 {campaign.daily_limit} 次） / "
            f"No draws left today ({campaign.daily_limit} a day)",
        )
    key = f"lottery:{campaign.id}:{shopper_id}:{ref}"
    if campaign.cost_points > 0:
        spent = ledger.debit(
            session, shopper_id=shopper_id, points=campaign.cost_points,
            kind=EntryKind.lottery_draw, key=key, now=now,
            reason=f"抽奖 {campaign.name} / Lottery draw", source=Source("lottery", str(campaign.id)),
        )  # fmt: skip
        if spent is None:
            raise Conflict("lottery_repeated", "该次抽奖已完成 / This draw was already made")
    ticket = secrets.randbelow(TOTAL_WEIGHT)
    by_position = {p.position: p for p in campaign.prizes}
    landed = by_position[rules.pick([_as_rule(p) for p in campaign.prizes], ticket).id]
    given, reason = landed, FallbackReason.none
    table = {p.position: _as_rule(p) for p in campaign.prizes}
    chain: list[int] | None = None
    row = LotteryDraw(campaign_id=campaign.id, shopper_id=shopper_id, local_date=day, ticket=ticket,
                      landed_prize_id=landed.id, points_spent=campaign.cost_points, created_at=now)  # fmt: skip
    while True:
        problem = _give(session, program, given, row, shopper_id, key, now)
        if problem is None:
            break
        reason = reason if reason is not FallbackReason.none else problem
        if chain is None:
            try:
                chain = rules.resolve_fallback(table, landed.position)
            except ValueError:
                chain = []
        if not chain:
            raise Conflict(
                "lottery_prize_unavailable", "奖品暂不可发放 / No prize can be given now"
            )
        given = by_position[chain.pop(0)]
    row.given_prize_id, row.fallback_reason = given.id, reason
    session.add(row)
    session.flush()
    return row


def _give(
    session: Session, program: PointsProgram, prize: LotteryPrize, row: LotteryDraw,
    shopper_id: int, key: str, now: datetime,
) -> FallbackReason | None:  # fmt: skip
    """Give ``prize`` (None), or say why it could not be given (nothing taken then)."""
    savepoint = session.begin_nested()
    if not _take_prize(session, prize):
        savepoint.rollback()
        return FallbackReason.prize_out_of_stock
    if prize.kind is PrizeKind.goods and prize.sku_id is not None:
        if not stock.reserve(session, prize.sku_id, 1):
            savepoint.rollback()
            return FallbackReason.goods_out_of_stock
        row.sku_id = prize.sku_id
    if prize.kind is PrizeKind.coupon and prize.coupon_template_id is not None:
        template = session.get(CouponTemplate, prize.coupon_template_id)
        issued = (
            coupons.issue(
                session, template, shopper_id, source=IssueSource.lottery, now=now, grant_key=key
            )  # fmt: skip
            if template is not None
            else IssueRefusal.not_active
        )
        if isinstance(issued, IssueRefusal):
            savepoint.rollback()
            return FallbackReason.coupon_refused
        row.coupon_id = issued.id
    savepoint.commit()
    if prize.kind is PrizeKind.points and prize.points > 0:
        expiry = program.rules(session).expiry
        ledger.credit(
            session, shopper_id=shopper_id, points=prize.points, kind=EntryKind.lottery_prize,
            key=key + ":prize", expires_at=expires_at(now, expiry), now=now,
            reason=f"抽奖中奖 {prize.name} / Lottery prize", source=Source("lottery", str(row.campaign_id)),
        )  # fmt: skip
        row.points_won = prize.points
    return None


def my_draws(session: Session, *, shopper_id: int, limit: int = 50) -> list[LotteryDraw]:
    return list(session.scalars(
        select(LotteryDraw).where(LotteryDraw.shopper_id == shopper_id)
        .order_by(LotteryDraw.id.desc()).limit(limit)
    ))  # fmt: skip


@dataclass(frozen=True)
class CampaignStats:
    draws: int
    points_spent: int
    given_by_prize: dict[int, int]  # prize id → draws that gave it


def campaign_stats(session: Session, campaign_id: int) -> CampaignStats:
    campaign = get_campaign(session, campaign_id)
    draws, spent = session.execute(
        select(func.count(), func.coalesce(func.sum(LotteryDraw.points_spent), 0))
        .where(LotteryDraw.campaign_id == campaign.id)
    ).one()  # fmt: skip
    rows = session.execute(
        select(LotteryDraw.given_prize_id, func.count())
        .where(LotteryDraw.campaign_id == campaign.id)
        .group_by(LotteryDraw.given_prize_id)
    ).all()
    given = {int(prize_id): int(n) for prize_id, n in rows}
    return CampaignStats(
        int(draws), int(spent), {p.id: int(given.get(p.id, 0)) for p in campaign.prizes}
    )


def open_campaigns(session: Session, now: datetime, *, limit: int = 20) -> list[LotteryCampaign]:
    """The campaigns a shopper can draw in now (active, inside [starts_at, ends_at)),
    ending soonest first."""
    return list(session.scalars(
        select(LotteryCampaign)
        .where(LotteryCampaign.status == CampaignStatus.active,
               LotteryCampaign.starts_at <= now, LotteryCampaign.ends_at > now)
        .order_by(LotteryCampaign.ends_at, LotteryCampaign.id).limit(limit)
    ))  # fmt: skip


@dataclass(frozen=True)
class ShopperDay:
    """A shopper's draws in one campaign on today's local date (Asia/Shanghai)."""

    campaign_id: int
    day: date
    draws_today: int
    draws_left: int | None  # None: the campaign has no daily limit


def shopper_day(
    session: Session, *, campaign_id: int, shopper_id: int, now: datetime
) -> ShopperDay:
    campaign = get_campaign(session, campaign_id)
    day = local_date(now)
    count = session.scalar(
        select(LotteryDailyCount.count).where(
            LotteryDailyCount.campaign_id == campaign.id,
            LotteryDailyCount.shopper_id == shopper_id,
            LotteryDailyCount.local_date == day,
        )
    )
    used = int(count or 0)
    left = None if campaign.daily_limit == 0 else max(0, campaign.daily_limit - used)
    return ShopperDay(campaign.id, day, used, left)
