"""Promotion admin routes under /api/admin/promotions: create, edit, schedule, pause,
and what each promotion brought in and cost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial

from fastapi import APIRouter
from sqlalchemy.orm import Session

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
from siyu.web.api.common import from_fields, transact_into
from siyu.web.deps import MarketingReader, MarketingWriter, NowDep, ReadSessionDep, SessionDep

router = APIRouter(prefix="/api/admin/promotions", tags=["promotions admin"])


def promotion_out(
    p: Promotion, now: datetime, stats: service.PromotionStats | None = None
) -> PromotionOut:
    extra = {} if stats is None else {"stats": from_fields(PromotionStatsOut, stats)}
    return from_fields(PromotionOut, p, phase=phase(p.status, p.starts_at, p.ends_at, now), **extra)


def _with_stats(session: Session, now: datetime) -> Callable[[Promotion], PromotionOut]:
    """A promotion with what it brought in, read in the caller's transaction."""
    return lambda p: promotion_out(p, now, service.promotion_stats(session).get(p.id))


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
    return transact_into(
        session,
        partial(promotion_out, now=now),
        service.create_promotion,
        actor_id=actor.id,
        values=body.values(),
        now=now,
    )


@router.get("/{promotion_id}", response_model=PromotionOut)
def get_promotion(
    promotion_id: int, session: ReadSessionDep, now: NowDep, _: MarketingReader
) -> PromotionOut:
    return transact_into(session, _with_stats(session, now), service.get_promotion, promotion_id)


@router.patch("/{promotion_id}", response_model=PromotionOut)
def update_promotion(
    promotion_id: int,
    body: PromotionFields,
    session: SessionDep,
    now: NowDep,
    actor: MarketingWriter,
) -> PromotionOut:
    return transact_into(
        session,
        _with_stats(session, now),
        service.update_promotion,
        actor_id=actor.id,
        promotion_id=promotion_id,
        changes=body.changes(),
        now=now,
    )


@router.post("/{promotion_id}/status", response_model=PromotionOut)
def change_status(
    promotion_id: int,
    body: PromotionStatusChange,
    session: SessionDep,
    now: NowDep,
    actor: MarketingWriter,
) -> PromotionOut:
    """暂停（paused）或恢复（active）。"""
    return transact_into(
        session,
        _with_stats(session, now),
        service.set_status,
        actor_id=actor.id,
        promotion_id=promotion_id,
        status=body.status,
        now=now,
    )
