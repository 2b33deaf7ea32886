"""After-sales routes: shopper requests under /api/app, the operator queue under /api/admin."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query

from siyu.aftersale import service
from siyu.aftersale.rules import AfterSaleStatus
from siyu.aftersale.schemas import AfterSaleCreate, AfterSaleOut, AfterSaleReject
from siyu.payment.provider import ProviderUnavailable
from siyu.payment.refunds import submit_refund
from siyu.web.api.common import transact, transact_list
from siyu.web.deps import (
    AfterSaleDecider,
    AfterSaleReader,
    CtxDep,
    CurrentShopper,
    NowDep,
    SessionDep,
)

log = logging.getLogger(__name__)

app_router = APIRouter(prefix="/api/app/aftersales", tags=["after-sales"])
admin_router = APIRouter(prefix="/api/admin/aftersales", tags=["after-sales admin"])


@app_router.post("", response_model=AfterSaleOut, status_code=201)
def request_aftersale(
    body: AfterSaleCreate, ctx: CtxDep, session: SessionDep, now: NowDep, shopper: CurrentShopper
) -> AfterSaleOut:
    """申请售后：仅退款或退货退款，整单或部分商品；确认收货后 7 天内。"""
    lines = [(li.order_line_id, li.quantity) for li in body.lines] if body.lines else None
    return transact(
        session,
        AfterSaleOut,
        service.request_aftersale,
        shopper_id=shopper.id,
        order_id=body.order_id,
        kind=body.kind,
        reason=body.reason,
        lines=lines,
        window_days=ctx.settings.aftersale_window_days,
        now=now,
    )


@app_router.get("", response_model=list[AfterSaleOut])
def my_aftersales(session: SessionDep, shopper: CurrentShopper) -> list[AfterSaleOut]:
    return transact_list(session, AfterSaleOut, service.list_aftersales, shopper_id=shopper.id)


@app_router.get("/{aftersale_id}", response_model=AfterSaleOut)
def my_aftersale(aftersale_id: int, session: SessionDep, shopper: CurrentShopper) -> AfterSaleOut:
    return transact(session, AfterSaleOut, service.get_shopper_aftersale, shopper.id, aftersale_id)


@app_router.post("/{aftersale_id}/cancel", response_model=AfterSaleOut)
def cancel_aftersale(
    aftersale_id: int, session: SessionDep, now: NowDep, shopper: CurrentShopper
) -> AfterSaleOut:
    return transact(
        session,
        AfterSaleOut,
        service.cancel_aftersale,
        shopper_id=shopper.id,
        aftersale_id=aftersale_id,
        now=now,
    )


# ---------------------------------------------------------------- admin


@admin_router.get("", response_model=list[AfterSaleOut])
def aftersale_queue(
    session: SessionDep,
    _: AfterSaleReader,
    status: AfterSaleStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[AfterSaleOut]:
    return transact_list(session, AfterSaleOut, service.list_aftersales, status=status, limit=limit)


@admin_router.get("/{aftersale_id}", response_model=AfterSaleOut)
def aftersale_detail(aftersale_id: int, session: SessionDep, _: AfterSaleReader) -> AfterSaleOut:
    return transact(session, AfterSaleOut, service.get_aftersale, aftersale_id)


@admin_router.post("/{aftersale_id}/approve", response_model=AfterSaleOut)
def approve(
    aftersale_id: int, ctx: CtxDep, session: SessionDep, now: NowDep, actor: AfterSaleDecider
) -> AfterSaleOut:
    """同意售后：记录退款并提交至支付渠道（失败时由定时任务重试）。"""
    with session.begin():
        refund = service.approve_aftersale(
            session,
            actor_id=actor.id,
            aftersale_id=aftersale_id,
            provider=ctx.payment.name,
            now=now,
        )
        out_refund_no, provider_name = refund.out_refund_no, refund.provider
    try:
        with session.begin():
            submit_refund(
                session,
                ctx.provider(provider_name),
                ctx.lifecycle,
                out_refund_no=out_refund_no,
                now=now,
            )
    except ProviderUnavailable as exc:
        log.warning("refund %s not submitted yet (%s); the timer will retry", out_refund_no, exc)
    return transact(session, AfterSaleOut, service.get_aftersale, aftersale_id)


@admin_router.post("/{aftersale_id}/reject", response_model=AfterSaleOut)
def reject(
    aftersale_id: int,
    body: AfterSaleReject,
    session: SessionDep,
    now: NowDep,
    actor: AfterSaleDecider,
) -> AfterSaleOut:
    return transact(
        session,
        AfterSaleOut,
        service.reject_aftersale,
        actor_id=actor.id,
        aftersale_id=aftersale_id,
        reason=body.reason,
        now=now,
    )
