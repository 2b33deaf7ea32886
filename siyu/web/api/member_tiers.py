"""Member tier routes: the shopper's tier card, member day and birthday under
/api/app/member; the operator's tier table under /api/admin/member-tiers."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Response

from siyu.errors import InvalidInput
from siyu.loyalty.tiers import jobs, program, service
from siyu.loyalty.tiers.rules import LEVELS, MemberDayRule, Program, ReviewRule, TierRule
from siyu.loyalty.tiers.schemas import (
    BirthdayIn,
    MemberDayIn,
    MemberDayOut,
    ProgramIn,
    ProgramOut,
    ReviewIn,
    SkuPriceIn,
    TierCardOut,
    TierOut,
)
from siyu.web.api.common import from_fields
from siyu.web.deps import (
    CurrentShopper,
    MarketingReader,
    MarketingWriter,
    NowDep,
    SessionDep,
)

app_router = APIRouter(prefix="/api/app/member", tags=["member tiers"])
admin_router = APIRouter(prefix="/api/admin/member-tiers", tags=["member tiers admin"])


def _tiers_out(tiers: tuple[TierRule, ...]) -> list[TierOut]:
    return [TierOut(**asdict(t)) for t in tiers]


def _program_out(p: Program) -> ProgramOut:
    return ProgramOut(
        tiers=_tiers_out(p.tiers),
        member_day=MemberDayIn(
            days_of_month=sorted(p.member_day.days_of_month),
            weekdays=sorted(p.member_day.weekdays),
            points_multiplier_percent=p.member_day.points_multiplier_percent,
            free_shipping=p.member_day.free_shipping,
        ),
        review=ReviewIn(window_days=p.review.window_days, max_drop=p.review.max_drop),
        sku_prices=[
            SkuPriceIn(level=level, sku_id=sku_id, price_fen=price)
            for (level, sku_id), price in sorted(p.sku_prices.items())
        ],
    )


@app_router.get("/card", response_model=TierCardOut)
def my_tier_card(session: SessionDep, now: NowDep, shopper: CurrentShopper) -> TierCardOut:
    """我的会员卡：当前等级、成长值、距下一等级还差多少，以及每个等级的权益。"""
    with session.begin():
        card = service.tier_card(session, shopper.id, now)
    here = card.tiers[card.level]
    nxt = card.tiers[card.next_level] if card.next_level is not None else None
    return TierCardOut(
        level=card.level,
        name_zh=here.name_zh,
        name_en=here.name_en,
        growth=card.growth,
        window_growth=card.window_growth,
        next_level=card.next_level,
        next_name_zh=nxt.name_zh if nxt else None,
        next_name_en=nxt.name_en if nxt else None,
        missing_growth=card.missing,
        progress_percent=card.progress_percent,
        tiers=_tiers_out(card.tiers),
    )


@app_router.get("/day", response_model=MemberDayOut)
def member_day(session: SessionDep, now: NowDep) -> MemberDayOut:
    """会员日：今天是否会员日、下一个会员日（上海时间零点）与倒计时秒数。"""
    with session.begin():
        return from_fields(MemberDayOut, service.member_day_info(session, now))


@app_router.put("/birthday", status_code=204)
def set_birthday(
    body: BirthdayIn, session: SessionDep, now: NowDep, shopper: CurrentShopper
) -> Response:
    """设置生日（只能设置一次；生日当天按等级发放生日礼）。"""
    if not (now.year - 120 <= body.birthday.year <= now.year):
        raise InvalidInput(
            "bad_birthday", "生日不合法 / Not a valid birthday", {"birthday": "out of range"}
        )
    with session.begin():
        jobs.set_birthday(session, shopper.id, body.birthday)
    return Response(status_code=204)


@admin_router.get("", response_model=ProgramOut)
def read_tiers(session: SessionDep, _: MarketingReader) -> ProgramOut:
    """会员等级表（五级）、会员日与年度复核规则、SKU 会员价。"""
    with session.begin():
        return _program_out(program.load_program(session))


@admin_router.put("", response_model=ProgramOut)
def edit_tiers(
    body: ProgramIn, session: SessionDep, now: NowDep, actor: MarketingWriter
) -> ProgramOut:
    """整表替换：门槛严格递增、折扣 1–100 %；有误时返回 422，什么都不写。"""
    prices: dict[tuple[int, int], int] = {}
    for p in body.sku_prices:
        prices[(p.level, p.sku_id)] = p.price_fen
    with session.begin():
        saved = program.save_program(
            session,
            actor_id=actor.id,
            tiers=[TierRule(**t.model_dump()) for t in body.tiers][:LEVELS],
            member_day=MemberDayRule(
                days_of_month=frozenset(body.member_day.days_of_month),
                weekdays=frozenset(body.member_day.weekdays),
                points_multiplier_percent=body.member_day.points_multiplier_percent,
                free_shipping=body.member_day.free_shipping,
            ),
            review=ReviewRule(body.review.window_days, body.review.max_drop),
            sku_prices=prices,
            now=now,
        )
        return _program_out(saved)
