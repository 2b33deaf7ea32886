"""Points routes: the shopper's balance, pending and soon-to-expire points and history
under /api/app/points; a shopper's ledger and manual adjustments under
/api/admin/shoppers/{id}/points; the store's points rules under /api/admin/points/rules."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from siyu.loyalty import service
from siyu.loyalty.models import PointsEntry
from siyu.loyalty.program import RuleSet
from siyu.loyalty.schemas import (
    OrderPointsOut,
    PointsAdjustment,
    PointsAdjustmentOut,
    PointsEntryOut,
    PointsHistoryOut,
    PointsRulesIn,
    PointsRulesOut,
    PointsSummaryOut,
)
from siyu.web.deps import (
    CtxDep,
    CurrentShopper,
    MarketingReader,
    MarketingWriter,
    NowDep,
    ReadSessionDep,
    SessionDep,
    ShopperReader,
)

app_router = APIRouter(prefix="/api/app/points", tags=["points"])
admin_router = APIRouter(prefix="/api/admin/shoppers", tags=["points admin"])
rules_router = APIRouter(prefix="/api/admin/points", tags=["points admin"])

Limit = Annotated[int, Query(ge=1, le=100)]
BeforeId = Annotated[int | None, Query(ge=1)]


def _history(
    session: Session, shopper_id: int, limit: int, before_id: int | None
) -> PointsHistoryOut:
    entries = service.points_history(session, shopper_id, limit=limit, before_id=before_id)
    return PointsHistoryOut(
        items=[PointsEntryOut.model_validate(e) for e in entries],
        next_before_id=entries[-1].id if len(entries) == limit else None,
    )


@app_router.get("", response_model=PointsSummaryOut)
def my_points(session: ReadSessionDep, now: NowDep, shopper: CurrentShopper) -> PointsSummaryOut:
    """我的积分：可用积分、待到账积分（订单售后期结束后到账）、30 天内将过期的积分。"""
    with session.begin():
        return PointsSummaryOut.model_validate(service.points_summary(session, shopper.id, now))


@app_router.get("/history", response_model=PointsHistoryOut)
def my_points_history(
    session: ReadSessionDep, shopper: CurrentShopper, limit: Limit = 20, before_id: BeforeId = None
) -> PointsHistoryOut:
    """积分明细，最新在前；用上一页的 next_before_id 翻页。"""
    with session.begin():
        return _history(session, shopper.id, limit, before_id)


@app_router.get("/orders/{order_id}", response_model=OrderPointsOut)
def my_order_points(
    order_id: int, session: ReadSessionDep, shopper: CurrentShopper
) -> OrderPointsOut:
    """某订单的积分：本单获得多少（待到账或已到账）、抵扣了多少。"""
    with session.begin():
        return OrderPointsOut.model_validate(service.order_points(session, shopper.id, order_id))


@admin_router.get("/{shopper_id}/points", response_model=PointsSummaryOut)
def shopper_points(
    shopper_id: int, session: ReadSessionDep, now: NowDep, operator: ShopperReader
) -> PointsSummaryOut:
    """某用户的积分概览。"""
    with session.begin():
        service.require_shopper(session, shopper_id)
        return PointsSummaryOut.model_validate(service.points_summary(session, shopper_id, now))


@admin_router.get("/{shopper_id}/points/ledger", response_model=PointsHistoryOut)
def shopper_points_ledger(
    shopper_id: int,
    session: ReadSessionDep,
    operator: ShopperReader,
    limit: Limit = 50,
    before_id: BeforeId = None,
) -> PointsHistoryOut:
    """某用户的积分流水，最新在前。"""
    with session.begin():
        service.require_shopper(session, shopper_id)
        return _history(session, shopper_id, limit, before_id)


@admin_router.post("/{shopper_id}/points/adjustments", response_model=PointsAdjustmentOut)
def adjust_shopper_points(
    shopper_id: int,
    body: PointsAdjustment,
    session: SessionDep,
    ctx: CtxDep,
    now: NowDep,
    operator: MarketingWriter,
) -> PointsAdjustmentOut:
    """手动调整积分（需填写原因，记入审计日志）；扣减不会使余额为负。"""
    with session.begin():
        entry: PointsEntry | None = service.adjust_points(
            session,
            ctx.points,
            operator_id=operator.id,
            shopper_id=shopper_id,
            delta=body.delta,
            reason=body.reason,
            key=f"{operator.id}:{body.request_id}",
            now=now,
        )
        return PointsAdjustmentOut(
            applied=entry is not None,
            entry=PointsEntryOut.model_validate(entry) if entry is not None else None,
            summary=PointsSummaryOut.model_validate(
                service.points_summary(session, shopper_id, now)
            ),
        )


def _rules_out(rules: RuleSet) -> PointsRulesOut:
    return PointsRulesOut(
        earn_per_yuan=rules.earning.points_per_yuan,
        expiry_years=rules.expiry.years_after,
        signup_reward=rules.signup_reward,
        stored=rules.stored,
        updated_at=rules.updated_at,
    )


@rules_router.get("/rules", response_model=PointsRulesOut)
def read_points_rules(session: ReadSessionDep, ctx: CtxDep, _: MarketingReader) -> PointsRulesOut:
    """积分规则（未保存时为系统默认值）。"""
    with session.begin():
        return _rules_out(ctx.points.rules(session))


@rules_router.put("/rules", response_model=PointsRulesOut)
def edit_points_rules(
    body: PointsRulesIn, session: SessionDep, ctx: CtxDep, now: NowDep, operator: MarketingWriter
) -> PointsRulesOut:
    """修改积分规则：此后获得的积分按新规则计算，已有的积分记录不变；有误时 422，什么都不写。"""
    with session.begin():
        return _rules_out(
            service.save_points_rules(
                session,
                ctx.points,
                actor_id=operator.id,
                earn_per_yuan=body.earn_per_yuan,
                expiry_years=body.expiry_years,
                signup_reward=body.signup_reward,
                now=now,
            )
        )
