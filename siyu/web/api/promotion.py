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
from siyu.web.api.common import from_fields
from siyu.web.api.offers import OfferApi

router = APIRouter(prefix="/api/admin/promotions", tags=["promotions admin"])


def promotion_out(
    p: Promotion, now: datetime, stats: service.PromotionStats | None = None
) -> PromotionOut:
    extra = {} if stats is None else {"stats": from_fields(PromotionStatsOut, stats)}
    return from_fields(PromotionOut, p, phase=phase(p.status, p.starts_at, p.ends_at, now), **extra)


PROMOTIONS = OfferApi[Promotion, PromotionOut, service.PromotionStats](
    id_name="promotion_id",
    out_model=PromotionOut,
    create_body=PromotionCreate,
    fields_body=PromotionFields,
    status_body=PromotionStatusChange,
    names={
        "list": "list_promotions",
        "create": "create_promotion",
        "get": "get_promotion",
        "update": "update_promotion",
        "status": "change_status",
    },
    docs={
        "list": "活动列表：状态（未开始/进行中/已暂停/已结束）与订单数、GMV、优惠成本。",
        "status": "暂停（paused）或恢复（active）。",
    },
    out=promotion_out,
    stats=lambda session, now: service.promotion_stats(session),
    listing=service.list_promotions,
    create=lambda session, actor, values, now: service.create_promotion(
        session, actor_id=actor, values=values, now=now
    ),
    get=service.get_promotion,
    update=lambda session, actor, pid, changes, now: service.update_promotion(
        session, actor_id=actor, promotion_id=pid, changes=changes, now=now
    ),
    set_status=lambda session, actor, pid, status, now: service.set_status(
        session, actor_id=actor, promotion_id=pid, status=status, now=now
    ),
)
PROMOTIONS.mount(router)
