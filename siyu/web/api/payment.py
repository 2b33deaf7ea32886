"""Payment routes: start a payment, the sandbox cashier, provider notifications."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from siyu.errors import Conflict, NotFound, Unauthorized
from siyu.order.schemas import OrderOut
from siyu.order.service import get_shopper_order
from siyu.payment import service
from siyu.web.deps import CtxDep, CurrentShopper, NowDep, SessionDep
from siyu.web.errors import error_body

app_router = APIRouter(prefix="/api/app/orders", tags=["payment"])
notify_router = APIRouter(prefix="/api/payment", tags=["payment notifications"])

MAX_NOTIFICATION_BYTES = 64 * 1024


class PaymentStart(BaseModel):
    provider: str
    params: dict[str, str]


@app_router.post("/{order_id}/pay", response_model=PaymentStart)
def start_payment(
    order_id: int, ctx: CtxDep, session: SessionDep, now: NowDep, shopper: CurrentShopper
) -> PaymentStart:
    """发起支付：微信支付返回 wx.requestPayment 参数；沙箱返回收银台信息。"""
    provider = ctx.payment
    with session.begin():
        params = service.start_payment(
            session, provider, shopper_id=shopper.id, order_id=order_id, now=now
        )
    return PaymentStart(provider=provider.name, params=params)


@app_router.post("/{order_id}/sandbox-pay", response_model=OrderOut)
def sandbox_pay(
    order_id: int, ctx: CtxDep, session: SessionDep, now: NowDep, shopper: CurrentShopper
) -> OrderOut:
    """沙箱收银台：模拟支付成功，经由与真实支付相同的通知处理流程。"""
    sandbox = ctx.sandbox_payment
    if sandbox is None:
        raise NotFound("sandbox_disabled", "沙箱支付未启用 / Sandbox payments are disabled")
    with session.begin():
        order = get_shopper_order(session, shopper.id, order_id)
        if order.payment_provider != sandbox.name:
            raise Conflict("payment_not_started", "请先发起支付 / Start the payment first")
        if order.pay_deadline <= now:
            raise Conflict("payment_expired", "订单支付已超时 / Payment time is up")
        headers, body = sandbox.build_notification(
            out_trade_no=order.order_no, amount_fen=order.total_fen, now=now
        )
    with session.begin():
        service.handle_notification(
            session, sandbox, ctx.lifecycle, headers=headers, body=body, now=now
        )
    with session.begin():
        return OrderOut.model_validate(get_shopper_order(session, shopper.id, order_id))


async def _notification(request: Request, ctx: CtxDep, provider_name: str) -> Response:
    provider = ctx.payments.get(provider_name)
    if provider is None:
        return JSONResponse(
            {"code": "FAIL", "message": "unknown provider"}
            | error_body("unknown_provider", "unknown payment provider"),
            404,
        )
    body = await request.body()
    if len(body) > MAX_NOTIFICATION_BYTES:
        return JSONResponse(
            {"code": "FAIL", "message": "too large"}
            | error_body("payload_too_large", "notification too large"),
            413,
        )
    headers = dict(request.headers)
    now = ctx.clock.now()

    def handle() -> str:
        with ctx.db.transaction() as session:
            return service.handle_notification(
                session, provider, ctx.lifecycle, headers=headers, body=body, now=now
            )

    try:
        await run_in_threadpool(handle)
    except Unauthorized as exc:
        return JSONResponse(
            {"code": "FAIL", "message": exc.message} | error_body(exc.code, exc.message), 401
        )
    return Response(status_code=204)


@notify_router.post("/notify/{provider_name}", status_code=204, response_class=Response)
async def payment_notification(provider_name: str, request: Request, ctx: CtxDep) -> Response:
    """支付结果通知（微信支付回调）：验签、解密、幂等处理，成功返回 204。"""
    return await _notification(request, ctx, provider_name)


@notify_router.post("/notify/{provider_name}/refund", status_code=204, response_class=Response)
async def refund_notification(provider_name: str, request: Request, ctx: CtxDep) -> Response:
    """退款结果通知。"""
    return await _notification(request, ctx, provider_name)
