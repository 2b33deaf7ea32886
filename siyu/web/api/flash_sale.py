"""Flash-sale routes (秒杀): the shopper's under /api/app/flash-sales (sessions on now
and next with their countdowns and the server's clock, items with units left, an item's
quote for the checkout, and buying — the gate, then an order placed like checkout,
idempotent); the operator's (marketing) under
/api/admin/flash-sales (sessions and items, the session board, the reconciliation).

Buying answers 201 with the order, 409 when sold out / at the shopper's limit / not on,
and **429 with ``Retry-After``** when the shopper or their IP asks too often
(``rate_limited``) or the gate is saturated (``waiting_room``: 排队中，请稍候) — a
client waits that long and tries again; never a 500 for load.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from siyu import idempotency
from siyu.errors import DomainError
from siyu.fields import MAX_ID, Moment
from siyu.flash_sale import service
from siyu.flash_sale.models import FlashSession
from siyu.flash_sale.rules import (
    MAX_ITEMS,
    MAX_PER_SHOPPER,
    MAX_TIMEOUT_MINUTES,
    MIN_TIMEOUT_MINUTES,
    Phase,
    Refusal,
    SessionStatus,
    countdown_seconds,
    phase,
)
from siyu.order.placement import Address
from siyu.order.schemas import AddressIn, CheckoutQuoteOut, OrderOut
from siyu.pricing.fetch import pricing_settings
from siyu.pricing.serialize import quote_to_dict
from siyu.web.api.order import placed_once
from siyu.web.deps import (
    AppContext,
    CtxDep,
    CurrentShopper,
    MarketingReader,
    MarketingWriter,
    NowDep,
    ReadSessionDep,
    SessionDep,
)
from siyu.web.errors import error_body

app_router = APIRouter(prefix="/api/app/flash-sales", tags=["flash sale"])
admin_router = APIRouter(prefix="/api/admin/flash-sales", tags=["flash sale admin"])
IdempotencyKey = Annotated[
    str, Header(alias="Idempotency-Key", description="每次抢购尝试一个唯一值（如 UUID）")
]
ItemId = Annotated[int, Path(ge=1, le=MAX_ID)]
SessionId = Annotated[int, Path(ge=1, le=MAX_ID)]
WAITING = "排队中，请稍候 / You are in the queue: please try again in a moment"
TOO_OFTEN = "排队中，请稍候（请求过于频繁）/ Too many requests: please wait a moment"
ADMISSION = "siyu.flash_admission"  # the gate's answer, when the front door asked it


class FlashItemIn(BaseModel):
    sku_id: int = Field(ge=1, le=MAX_ID)
    sale_price_fen: int = Field(ge=1, le=100_000_000, description="秒杀价（分）")
    quantity: int = Field(ge=1, le=1_000_000, description="本场限量件数")
    per_shopper_limit: int = Field(1, ge=1, le=MAX_PER_SHOPPER, description="每人限购件数")


class FlashItemEdit(BaseModel):
    sale_price_fen: int = Field(ge=1, le=100_000_000)
    quantity: int = Field(ge=1, le=1_000_000)
    per_shopper_limit: int = Field(1, ge=1, le=MAX_PER_SHOPPER)


class FlashSessionIn(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    starts_at: Moment = Field(description="开始时间（带时区，如 2026-11-02T10:00:00+08:00）")
    ends_at: Moment
    status: SessionStatus = SessionStatus.active
    payment_timeout_minutes: int = Field(
        5, ge=MIN_TIMEOUT_MINUTES, le=MAX_TIMEOUT_MINUTES, description="未支付订单几分钟后取消"
    )
    items: list[FlashItemIn] = Field(default_factory=list, max_length=MAX_ITEMS)


class FlashSessionEdit(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    starts_at: Moment
    ends_at: Moment
    status: SessionStatus = SessionStatus.active
    payment_timeout_minutes: int = Field(5, ge=MIN_TIMEOUT_MINUTES, le=MAX_TIMEOUT_MINUTES)


class FlashItemOut(BaseModel):
    id: int
    session_id: int
    sku_id: int
    product_id: int
    title: str
    spec: dict[str, Any]
    image_url: str
    shelf_price_fen: int
    sale_price_fen: int
    quantity: int
    per_shopper_limit: int
    units_left: int
    sold_out: bool


class FlashSessionOut(BaseModel):
    id: int
    name: str
    starts_at: datetime
    ends_at: datetime
    status: SessionStatus
    phase: Phase
    payment_timeout_minutes: int
    starts_in_seconds: int  # the countdown to the start (0 once on)
    ends_in_seconds: int
    items: list[FlashItemOut]


class ChannelOut(BaseModel):
    server_time: datetime  # the countdowns are from this moment
    sessions: list[FlashSessionOut]  # on now first, then the next ones


class BuyIn(BaseModel):
    quantity: int = Field(1, ge=1, le=MAX_PER_SHOPPER)
    address: AddressIn | None = None
    address_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    note: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _one_address(self) -> BuyIn:
        if self.address is not None and self.address_id is not None:
            raise ValueError("give either address (typed) or address_id (saved), not both")
        return self


class BoughtOut(BaseModel):
    order: OrderOut
    item: FlashItemOut


class BoardItemOut(BaseModel):
    item_id: int
    title: str
    quantity: int
    units_left: int
    sold: int
    reserved: int
    buyers: int
    gate_requests: int
    refusals: int
    rate_limited: int


class BoardTotalsOut(BaseModel):
    quantity: int
    units_left: int
    sold: int
    reserved: int
    buyers: int
    gate_requests: int
    refusals: int
    rate_limited: int


class BoardOut(BaseModel):
    session_id: int
    phase: Phase
    gate_mode: str  # "redis" | "sql"
    items: list[BoardItemOut]
    totals: BoardTotalsOut
    reconciliation: dict[str, Any] | None


class ReconcileItemOut(BaseModel):
    item_id: int
    db_units_left: int
    gate_units_left: int | None
    sold: int
    reserved: int
    shoppers_differing: int
    db_consistent: bool
    clean: bool
    fixed: bool


class ReconcileOut(BaseModel):
    session_id: int
    mode: str
    clean: bool
    items: list[ReconcileItemOut]
    checked_at: datetime


def _item_out(view: service.ItemView) -> dict[str, Any]:
    i = view.item
    return {
        "id": i.id, "session_id": i.session_id, "sku_id": i.sku_id, "product_id": i.product_id,
        "title": view.title, "spec": view.spec, "image_url": view.image_url,
        "shelf_price_fen": view.shelf_price_fen, "sale_price_fen": i.sale_price_fen,
        "quantity": i.quantity, "per_shopper_limit": i.per_shopper_limit,
        "units_left": view.units_left, "sold_out": view.units_left <= 0,
    }  # fmt: skip


def _session_out(session: Any, fs: FlashSession, now: datetime) -> dict[str, Any]:
    return {
        "id": fs.id, "name": fs.name, "starts_at": fs.starts_at, "ends_at": fs.ends_at,
        "status": fs.status, "phase": phase(fs.status, fs.starts_at, fs.ends_at, now),
        "payment_timeout_minutes": fs.payment_timeout_minutes,
        "starts_in_seconds": countdown_seconds(fs.starts_at, now),
        "ends_in_seconds": countdown_seconds(fs.ends_at, now),
        "items": [_item_out(v) for v in service.items_of(session, fs.id)],
    }  # fmt: skip


# --- the shopper ------------------------------------------------------------------


@app_router.get("", response_model=ChannelOut)
def channel(session: ReadSessionDep, now: NowDep) -> Any:
    """秒杀频道：正在进行的场次与接下来的场次，倒计时秒数与剩余件数。"""
    with session.begin():
        return {
            "server_time": now,
            "sessions": [
                _session_out(session, fs, now) for fs in service.shopper_sessions(session, now)
            ],
        }


@app_router.get("/{session_id}", response_model=FlashSessionOut)
def session_detail(session_id: SessionId, session: ReadSessionDep, now: NowDep) -> Any:
    with session.begin():
        return _session_out(session, service.get_session(session, session_id), now)


@app_router.get("/items/{item_id}/quote", response_model=CheckoutQuoteOut)
def item_quote(
    item_id: ItemId, session: ReadSessionDep, ctx: CtxDep,
    quantity: Annotated[int, Query(ge=1, le=MAX_PER_SHOPPER)] = 1,
) -> Any:  # fmt: skip
    """秒杀结算报价：秒杀价（不与优惠券、积分、会员价叠加，包邮），即下单应付金额。"""
    with session.begin():
        quote = service.quote(session, item_id, quantity, pricing_settings(ctx.settings))
    return {"quote": quote_to_dict(quote), "coupons": [], "total_fen": quote.total_fen,
            "discount_fen": quote.discount_fen, "shipping_fen": quote.shipping_fen}  # fmt: skip


def wait_seconds(retry_after: float) -> int:
    """Whole seconds to wait, at least one."""
    return max(int(-(-retry_after // 1)), 1)


def waiting(code: str, message: str, retry_after: float) -> JSONResponse:
    """429 with Retry-After: rate limited, or the waiting room (排队中)."""
    seconds = wait_seconds(retry_after)
    return JSONResponse(
        error_body(code, message, {"retry_after_seconds": str(seconds)}),
        429,
        headers={"Retry-After": str(seconds)},
    )


@app_router.post(
    "/items/{item_id}/buy",
    response_model=BoughtOut,
    status_code=201,
    responses={
        409: {"description": "flash_sold_out / flash_limit / flash_not_running"},
        429: {"description": "rate_limited / waiting_room (排队中): retry after Retry-After s"},
    },
)
async def buy(
    item_id: ItemId, body: BuyIn, request: Request, ctx: CtxDep, now: NowDep,
    shopper: CurrentShopper, idempotency_key: IdempotencyKey,
) -> JSONResponse:  # fmt: skip
    """抢购：先过闸门（限流、库存、每人限购），再按秒杀价下单（短支付时限，未支付自动取消并退回名额）；
    相同 Idempotency-Key 返回首次结果。429 表示排队中，请按 Retry-After 秒后重试。"""
    idempotency.check_key(idempotency_key)
    gate = ctx.flash_gate
    ip = request.client.host if request.client else "-"
    admission = request.scope.get(ADMISSION)  # asked by the front door (flash_front)
    if admission is None:
        admission = await gate.admit_async(
            item_id, shopper.id, ip, body.quantity, now, key=idempotency_key
        )
    if not admission.loaded:  # the first request of an item: load its keys, once
        await run_in_threadpool(_load, ctx, item_id)
        admission = await gate.admit_async(
            item_id, shopper.id, ip, body.quantity, now, rate_limit=False, key=idempotency_key
        )
    if admission.refusal is Refusal.rate_limited:
        return waiting("rate_limited", TOO_OFTEN, admission.retry_after)
    if admission.refusal is not None:
        if admission.refusal is Refusal.limit and admission.maybe_retry:  # got its order?
            replay = await run_in_threadpool(
                _replay, ctx, shopper.id, item_id, idempotency_key, body
            )
            if replay is not None:
                return replay
        raise service.refusal_error(admission.refusal)
    if not admission.loaded or not gate.enter():
        if admission.loaded:
            await run_in_threadpool(gate.give_back, item_id, shopper.id, body.quantity)
        return waiting("waiting_room", WAITING, 1)
    placed: list[bool] = []
    try:
        response = await run_in_threadpool(_place, ctx, item_id, shopper.id, idempotency_key,
                                           body, now, placed)  # fmt: skip
    except DomainError:
        await run_in_threadpool(gate.give_back, item_id, shopper.id, body.quantity)
        raise
    except (OperationalError, TimeoutError):  # the database is saturated: not a 500
        await run_in_threadpool(gate.give_back, item_id, shopper.id, body.quantity)
        return waiting("waiting_room", WAITING, 1)
    except BaseException:
        await run_in_threadpool(gate.give_back, item_id, shopper.id, body.quantity)
        raise
    finally:
        gate.leave()
    if not placed:  # a replay of the first answer: this pass took nothing
        await run_in_threadpool(gate.give_back, item_id, shopper.id, body.quantity)
    return response


def _load(ctx: AppContext, item_id: int) -> None:
    with ctx.db.read_session() as session, session.begin():
        service.load_gate(session, ctx.flash_gate, item_id)


def _scope(item_id: int) -> str:
    return f"flash_sale.buy:{item_id}"


def _replay(
    ctx: AppContext, shopper_id: int, item_id: int, key: str, body: BuyIn
) -> JSONResponse | None:
    req_hash = idempotency.request_hash(_scope(item_id), body.model_dump(mode="json"))
    with ctx.db.read_session() as session, session.begin():
        stored = idempotency.find_response(
            session, idempotency.IdempotencyKey(_scope(item_id), shopper_id, key, req_hash)
        )
    return JSONResponse(stored.body, stored.status) if stored is not None else None


def _place(
    ctx: AppContext, item_id: int, shopper_id: int, key: str, body: BuyIn, now: datetime,
    placed: list[bool],
) -> JSONResponse:  # fmt: skip
    gate = ctx.flash_gate
    if gate.mode == "sql":  # the many after the last unit are told so by a read
        with ctx.db.read_session() as session, session.begin():
            refusal = service.precheck(session, item_id, shopper_id, body.quantity, now)
        if refusal is not None:
            gate.refused(item_id)
            if refusal is Refusal.limit:
                replay = _replay(ctx, shopper_id, item_id, key, body)
                if replay is not None:
                    return replay
            raise service.refusal_error(refusal)
    checkout = service.Checkout(
        address=Address(**body.address.model_dump()) if body.address else None,
        address_id=body.address_id, note=body.note, pricing=pricing_settings(ctx.settings),
    )  # fmt: skip
    with ctx.db.session() as session:

        def place() -> dict[str, Any]:
            order, item = service.buy(session, item_id=item_id, shopper_id=shopper_id,
                                      quantity=body.quantity, checkout=checkout, now=now)  # fmt: skip
            placed.append(True)
            view = next(
                v for v in service.items_of(session, item.session_id) if v.item.id == item.id
            )
            return BoughtOut.model_validate(
                {"order": OrderOut.model_validate(order), "item": _item_out(view)}
            ).model_dump(mode="json")

        try:
            return placed_once(session, _scope(item_id), shopper_id, key, body, place, now)
        except DomainError:
            if gate.mode == "sql":
                gate.refused(item_id)
            raise


# --- the operator -----------------------------------------------------------------


@admin_router.get("", response_model=list[FlashSessionOut])
def all_sessions(session: ReadSessionDep, now: NowDep, operator: MarketingReader) -> Any:
    with session.begin():
        return [_session_out(session, fs, now) for fs in service.list_sessions(session)]


@admin_router.post("", response_model=FlashSessionOut, status_code=201)
def create_session(
    body: FlashSessionIn, session: SessionDep, now: NowDep, operator: MarketingWriter
) -> Any:
    """创建秒杀场次（可带商品）：时间带时区保存为 UTC；秒杀价须低于原价，否则 422。"""
    values = body.model_dump(exclude={"items"})
    with session.begin():
        fs = service.save_session(
            session, values, now=now, items=[i.model_dump() for i in body.items]
        )
        return _session_out(session, fs, now)


@admin_router.put("/{session_id}", response_model=FlashSessionOut)
def edit_session(
    session_id: SessionId, body: FlashSessionEdit, session: SessionDep, ctx: CtxDep,
    now: NowDep, operator: MarketingWriter,
) -> Any:  # fmt: skip
    with session.begin():
        fs = service.save_session(session, body.model_dump(), now=now, session_id=session_id)
        out = _session_out(session, fs, now)
    for item in out["items"]:  # the window changed: the gate loads it again
        ctx.flash_gate.forget(item["id"])
    return out


@admin_router.post("/{session_id}/items", response_model=FlashItemOut, status_code=201)
def add_item(
    session_id: SessionId, body: FlashItemIn, session: SessionDep, now: NowDep,
    operator: MarketingWriter,
) -> Any:  # fmt: skip
    """加入秒杀商品；同一场次同一规格只能加一次（409）。"""
    with session.begin():
        item = service.save_item(session, session_id, body.model_dump(), now=now)
        return _item_out(
            next(v for v in service.items_of(session, session_id) if v.item.id == item.id)
        )


@admin_router.put("/{session_id}/items/{item_id}", response_model=FlashItemOut)
def edit_item(
    session_id: SessionId, item_id: ItemId, body: FlashItemEdit, session: SessionDep,
    ctx: CtxDep, now: NowDep, operator: MarketingWriter,
) -> Any:  # fmt: skip
    """修改秒杀价、数量、限购；数量不能少于已售出与锁定的件数（409）。"""
    with session.begin():
        item = service.save_item(session, session_id, body.model_dump(), now=now, item_id=item_id)
        out = _item_out(
            next(v for v in service.items_of(session, session_id) if v.item.id == item.id)
        )
    ctx.flash_gate.forget(item_id)
    return out


@admin_router.get("/{session_id}/board", response_model=BoardOut)
def session_board(
    session_id: SessionId, session: ReadSessionDep, ctx: CtxDep, now: NowDep,
    operator: MarketingReader,
) -> Any:  # fmt: skip
    """场次看板：每件商品剩余、已售、锁定（待支付）、购买人数、闸门请求数、拒绝数、限流数。"""
    with session.begin():
        return service.board(session, ctx.flash_gate, session_id, now)


@admin_router.post("/{session_id}/reconcile", response_model=ReconcileOut)
def reconcile(
    session_id: SessionId, session: SessionDep, ctx: CtxDep, now: NowDep,
    operator: MarketingWriter, fix: Annotated[bool, Query(description="以数据库为准修正闸门")] = False,
) -> Any:  # fmt: skip
    """对账：闸门（Redis）计数与数据库对比；fix=true 时以数据库为准修正。"""
    with session.begin():
        return service.reconcile(session, ctx.flash_gate, session_id, fix=fix, now=now)
