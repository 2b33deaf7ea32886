"""Coupon routes: the shopper's claim center, wallet and gift pop-up under
/api/app/coupons; templates, bulk issue and redemption stats under
/api/admin/coupon-templates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter

from siyu.coupon import redemption, service
from siyu.coupon.models import CouponTemplate, ShopperCoupon
from siyu.coupon.rules import CouponStatus, coupon_title
from siyu.coupon.schemas import (
    BulkIssue,
    BulkIssueOut,
    CenterCoupon,
    CouponFace,
    GiftPopup,
    MyCoupon,
    StatusChange,
    TemplateCreate,
    TemplateFields,
    TemplateOut,
    TemplateStats,
)
from siyu.web.api.common import from_fields
from siyu.web.api.offers import OfferApi
from siyu.web.deps import (
    CurrentShopper,
    MarketingWriter,
    NowDep,
    OptionalShopper,
    ReadSessionDep,
    SessionDep,
)

app_router = APIRouter(prefix="/api/app/coupons", tags=["coupons"])
admin_router = APIRouter(prefix="/api/admin/coupon-templates", tags=["coupons admin"])


def _titles(t: CouponTemplate) -> tuple[str, str]:
    return coupon_title(t.kind, t.threshold_fen, t.amount_fen, t.percent_off, t.cap_fen)


def template_out(t: CouponTemplate, stats: redemption.RedemptionStats | None = None) -> TemplateOut:
    zh, en = _titles(t)
    out = from_fields(TemplateOut, t, title_zh=zh, title_en=en)
    if stats is not None:
        out.stats = from_fields(TemplateStats, stats)
    elif t.id is not None:
        out.stats = TemplateStats()
    return out


def coupon_face(t: CouponTemplate) -> dict[str, Any]:
    """The :class:`CouponFace` fields of a template."""
    zh, en = _titles(t)
    scope_zh, scope_en = service.scope_words(t)
    return from_fields(
        CouponFace,
        t,
        template_id=t.id,
        title_zh=zh,
        title_en=en,
        scope_zh=scope_zh,
        scope_en=scope_en,
    ).model_dump()


def my_coupon(c: ShopperCoupon, t: CouponTemplate, now: datetime) -> MyCoupon:
    return from_fields(MyCoupon, c, **coupon_face(t), status=service.display_status(c, now))


# ---------------------------------------------------------------- shopper


@app_router.get("/center", response_model=list[CenterCoupon])
def claim_center(
    session: ReadSessionDep, now: NowDep, shopper: OptionalShopper
) -> list[CenterCoupon]:
    """领券中心：当前可领取的优惠券。"""
    with session.begin():
        rows = service.claim_center(session, shopper.id if shopper else None, now)
        out = []
        for t, held in rows:
            remaining = None if t.total_quantity is None else t.total_quantity - t.issued_count
            out.append(
                CenterCoupon(
                    **coupon_face(t),
                    validity_kind=t.validity_kind,
                    valid_until=t.valid_until,
                    valid_days=t.valid_days,
                    remaining=remaining,
                    held=held,
                    can_claim=held < t.per_shopper_limit and remaining != 0,
                )
            )
        return out


@app_router.post("/center/{template_id}/claim", response_model=MyCoupon, status_code=201)
def claim(template_id: int, session: SessionDep, now: NowDep, shopper: CurrentShopper) -> MyCoupon:
    """领取一张优惠券。领完（409 coupon_sold_out）或达到个人上限（409 coupon_limit_reached）。"""
    with session.begin():
        coupon = service.claim(session, shopper_id=shopper.id, template_id=template_id, now=now)
        return my_coupon(coupon, service.get_template(session, template_id), now)


@app_router.get("/mine", response_model=list[MyCoupon])
def mine(
    session: ReadSessionDep,
    now: NowDep,
    shopper: CurrentShopper,
    status: CouponStatus | None = None,
) -> list[MyCoupon]:
    """我的优惠券（按到期时间排序）。status=expired 包括已过有效期但尚未标记的券。"""
    with session.begin():
        wanted = CouponStatus.issued if status is CouponStatus.expired else status
        rows = service.shopper_coupons(session, shopper.id, status=wanted, limit=200)
        out = [my_coupon(c, t, now) for c, t in rows]
        if status is not None:
            out = [c for c in out if c.status is status]
            if status is CouponStatus.expired:
                out += [
                    my_coupon(c, t, now)
                    for c, t in service.shopper_coupons(
                        session, shopper.id, status=CouponStatus.expired, limit=200
                    )
                ]
        return out


@app_router.get("/gift", response_model=GiftPopup)
def gift(session: SessionDep, now: NowDep, shopper: CurrentShopper) -> GiftPopup:
    """新人礼包弹窗：未展示过的新人券；展示后调用 POST /gift/seen。"""
    with session.begin():
        rows = service.gift_popup(session, shopper.id, now=now)
        coupons = [my_coupon(c, t, now) for c, t in rows]
        return GiftPopup(show=bool(coupons), coupons=coupons)


@app_router.post("/gift/seen", status_code=204)
def gift_seen(session: SessionDep, now: NowDep, shopper: CurrentShopper) -> None:
    with session.begin():
        service.mark_gifts_seen(session, shopper.id, now=now)


# ---------------------------------------------------------------- operator


TEMPLATES = OfferApi[CouponTemplate, TemplateOut, redemption.RedemptionStats](
    id_name="template_id",
    out_model=TemplateOut,
    create_body=TemplateCreate,
    fields_body=TemplateFields,
    status_body=StatusChange,
    names={
        "list": "list_templates",
        "create": "create_template",
        "get": "get_template",
        "update": "update_template",
        "status": "change_status",
    },
    docs={
        "list": "优惠券列表及核销统计（已发、已领、已用、已过期、用券 GMV、优惠成本）。",
        "status": "暂停（paused）、恢复（active）或结束（ended，不可恢复）发放。已发出的券不受影响。",
    },
    out=lambda t, now, stats: template_out(t, stats),
    stats=redemption.redemption_stats,
    listing=service.list_templates,
    create=lambda session, actor, values, now: service.create_template(
        session, actor_id=actor, values=values, now=now
    ),
    get=service.get_template,
    update=lambda session, actor, tid, changes, now: service.update_template(
        session, actor_id=actor, template_id=tid, changes=changes, now=now
    ),
    set_status=lambda session, actor, tid, status, now: service.set_template_status(
        session, actor_id=actor, template_id=tid, status=status, now=now
    ),
)
TEMPLATES.mount(admin_router)


@admin_router.post("/{template_id}/issue", response_model=BulkIssueOut)
def bulk_issue(
    template_id: int, body: BulkIssue, session: SessionDep, now: NowDep, actor: MarketingWriter
) -> BulkIssueOut:
    """向一批顾客发券；每人一张，受总量与个人上限约束。同一 batch_key 重复提交不会重复发。"""
    with session.begin():
        result = service.bulk_issue(
            session,
            actor_id=actor.id,
            template_id=template_id,
            shopper_ids=body.shopper_ids,
            batch_key=body.batch_key,
            now=now,
        )
        return BulkIssueOut(issued=result.issued, refused=result.refused, unknown=result.unknown)
