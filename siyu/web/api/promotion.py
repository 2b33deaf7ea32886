"""Promotion admin routes under /api/admin/promotions: create, edit, schedule, pause,
and what each promotion brought in and cost."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from siyu.promotion import service
from siyu.promotion.models import Promotion
from siyu.promotion.rules import phase
from siyu.promotion.schemas import (
    PromotionCreate,
    PromotionFields,
    PromotionOut,
    PromotionStatsOut,
    PromotionStatusChange,
)
from siyu.web.deps import MarketingReader, MarketingWriter, NowDep, ReadSessionDep, SessionDep

router = APIRouter(prefix="/api/admin/promotions", tags=["promotions admin"])


def promotion_out(
    p: Promotion, now: datetime, stats: service.PromotionStats | None = None
) -> PromotionOut:
    data = {c: getattr(p, c) for c in PromotionOut.model_fields if hasattr(p, c)}
    data["phase"] = phase(p.status, p.starts_at, p.ends_at, now)
    if stats is not None:
        data["stats"] = PromotionStatsOut(
            orders=stats.orders, gmv_fen=stats.gmv_fen, discount_fen=stats.discount_fen
        )
    return PromotionOut.model_validate(data)


@router.get("", response_model=list[PromotionOut])
def list_promotions(session: ReadSessionDep, now: NowDep, _: MarketingReader) -> list[PromotionOut]:
    """活动列表：状态（未开始/进行中/已暂停/已结束）与订单数、GMV、优惠成本。"""
    with session.begin():
        stats = service.promotion_stats(session)
        return [promotion_out(p, now, stats.get(p.id)) for p in service.list_promotions(session)]


@router.post("", response_model=PromotionOut, status_code=201)
def create_promotion(
    body: PromotionCreate, session: SessionDep, now: NowDep, actor: MarketingWriter
) -> PromotionOut:
    with session.begin():
        p = service.create_promotion(session, actor_id=actor.id, values=body.values(), now=now)
        return promotion_out(p, now)


@router.get("/{promotion_id}", response_model=PromotionOut)
def get_promotion(
    promotion_id: int, session: ReadSessionDep, now: NowDep, _: MarketingReader
) -> PromotionOut:
    with session.begin():
        p = service.get_promotion(session, promotion_id)
        return promotion_out(p, now, service.promotion_stats(session).get(p.id))


@router.patch("/{promotion_id}", response_model=PromotionOut)
def update_promotion(
    promotion_id: int,
    body: PromotionFields,
    session: SessionDep,
    now: NowDep,
    actor: MarketingWriter,
) -> PromotionOut:
    with session.begin():
        p = service.update_promotion(
            session, actor_id=actor.id, promotion_id=promotion_id, changes=body.changes(), now=now
        )
        return promotion_out(p, now, service.promotion_stats(session).get(p.id))


@router.post("/{promotion_id}/status", response_model=PromotionOut)
def change_status(
    promotion_id: int,
    body: PromotionStatusChange,
    session: SessionDep,
    now: NowDep,
    actor: MarketingWriter,
) -> PromotionOut:
    """暂停（paused）或恢复（active）。"""
    with session.begin():
        p = service.set_status(
            session, actor_id=actor.id, promotion_id=promotion_id, status=body.status, now=now
        )
        return promotion_out(p, now, service.promotion_stats(session).get(p.id))
