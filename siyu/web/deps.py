"""FastAPI dependencies, as ``Annotated`` aliases (the FastAPI template's habit)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Protocol

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from siyu.analytics.store import AnalyticsStore
from siyu.clock import Clock
from siyu.config import Settings
from siyu.db import Database
from siyu.errors import DomainError, Forbidden, InvalidInput, Unauthorized
from siyu.flash_sale.gate import Gate
from siyu.identity.crypto import PersonalDataCipher
from siyu.identity.models import Operator
from siyu.identity.rules import Permission, Role, can, is_valid_anonymous_id
from siyu.identity.service import WeChatIdentityGateway
from siyu.identity.tokens import read_token
from siyu.lifecycle import OrderLifecycle
from siyu.loyalty.program import PointsProgram
from siyu.payment.provider import PaymentProvider
from siyu.payment.sandbox import SandboxProvider

CONSOLE_COOKIE = "siyu_console"


class AppContext(Protocol):
    """What the web layer needs of the running system. ``siyu.bootstrap.Context``
    provides it; the web layer never imports the composition root (layers contract).
    The web layer only reads these."""

    settings: Settings
    db: Database
    clock: Clock
    wechat_identity: WeChatIdentityGateway
    cipher: PersonalDataCipher
    analytics: AnalyticsStore
    lifecycle: OrderLifecycle
    points: PointsProgram
    flash_gate: Gate

    @property
    def payments(self) -> Mapping[str, PaymentProvider]: ...
    @property
    def payment(self) -> PaymentProvider: ...
    @property
    def sandbox_payment(self) -> SandboxProvider | None: ...
    def provider(self, name: str | None) -> PaymentProvider: ...


# Dependencies without I/O are ``async def``: FastAPI runs a plain ``def`` dependency in
# the thread pool, a hand-over that costs more than the work of these.


async def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


CtxDep = Annotated[AppContext, Depends(get_ctx)]


def get_session(ctx: CtxDep) -> Iterator[Session]:
    with ctx.db.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_read_session(ctx: CtxDep) -> Iterator[Session]:
    with ctx.db.read_session() as session:
        yield session


ReadSessionDep = Annotated[Session, Depends(get_read_session)]


async def get_now(ctx: CtxDep) -> datetime:
    return ctx.clock.now()


NowDep = Annotated[datetime, Depends(get_now)]


async def get_anonymous_id(
    x_siyu_anonymous_id: Annotated[str | None, Header(description="客户端设备匿名 ID")] = None,
) -> str | None:
    if x_siyu_anonymous_id is None or x_siyu_anonymous_id == "":
        return None
    if not is_valid_anonymous_id(x_siyu_anonymous_id):
        raise InvalidInput(
            "bad_anonymous_id",
            "X-Siyu-Anonymous-Id 需为 8 到 64 位字母数字 / "
            "X-Siyu-Anonymous-Id must be 8-64 letters, digits, _ . : -",
            {"X-Siyu-Anonymous-Id": "invalid"},
        )
    return x_siyu_anonymous_id


AnonymousIdDep = Annotated[str | None, Depends(get_anonymous_id)]


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


@dataclass(frozen=True)
class ShopperPrincipal:
    id: int


def shopper_of(ctx: AppContext, authorization: str | None) -> ShopperPrincipal:
    """The shopper a bearer token names; raises ``Unauthorized`` otherwise."""
    token = _bearer(authorization)
    if token is None:
        raise Unauthorized("login_required", "请先登录 / Please log in")
    claims = read_token(
        ctx.settings.secret_key.get_secret_value(), token, kind="shopper", now=ctx.clock.now()
    )
    return ShopperPrincipal(claims.subject_id)


async def get_current_shopper(
    ctx: CtxDep, authorization: Annotated[str | None, Header()] = None
) -> ShopperPrincipal:
    return shopper_of(ctx, authorization)


CurrentShopper = Annotated[ShopperPrincipal, Depends(get_current_shopper)]


def optional_shopper_of(ctx: AppContext, authorization: str | None) -> ShopperPrincipal | None:
    """The shopper a valid bearer token names, else ``None``."""
    if _bearer(authorization) is None:
        return None
    try:
        return shopper_of(ctx, authorization)
    except DomainError:
        return None


async def get_optional_shopper(
    ctx: CtxDep, authorization: Annotated[str | None, Header()] = None
) -> ShopperPrincipal | None:
    return optional_shopper_of(ctx, authorization)


OptionalShopper = Annotated[ShopperPrincipal | None, Depends(get_optional_shopper)]


@dataclass(frozen=True)
class OperatorPrincipal:
    id: int
    username: str
    display_name: str
    role: Role

    def can(self, permission: Permission) -> bool:
        return can(self.role, permission)


def get_current_operator(
    request: Request, ctx: CtxDep, authorization: Annotated[str | None, Header()] = None
) -> OperatorPrincipal:
    token = _bearer(authorization) or request.cookies.get(CONSOLE_COOKIE)
    if not token:
        raise Unauthorized("login_required", "请先登录 / Please log in")
    claims = read_token(
        ctx.settings.secret_key.get_secret_value(), token, kind="operator", now=ctx.clock.now()
    )
    with ctx.db.transaction() as session:
        op = session.get(Operator, claims.subject_id)
        if op is None or not op.is_active or op.token_version != claims.version:
            raise Unauthorized(
                "invalid_token", "登录已失效，请重新登录 / Session invalid, please log in"
            )
        return OperatorPrincipal(op.id, op.username, op.display_name, Role(op.role))


CurrentOperator = Annotated[OperatorPrincipal, Depends(get_current_operator)]


def require(permission: Permission) -> Callable[..., Awaitable[OperatorPrincipal]]:
    async def _check(operator: CurrentOperator) -> OperatorPrincipal:
        if not operator.can(permission):
            raise Forbidden(
                "permission_denied",
                f"当前角色无权执行此操作（{permission}） / "
                f"Your role may not do this ({permission})",
            )
        return operator

    return _check


# The operator routes' permissions, one place to read who may do what.
AfterSaleDecider = Annotated[OperatorPrincipal, Depends(require(Permission.aftersale_decide))]
AfterSaleReader = Annotated[OperatorPrincipal, Depends(require(Permission.aftersale_read))]
AnalyticsReader = Annotated[OperatorPrincipal, Depends(require(Permission.analytics_read))]
AuditReader = Annotated[OperatorPrincipal, Depends(require(Permission.audit_read))]
CatalogReader = Annotated[OperatorPrincipal, Depends(require(Permission.catalog_read))]
CatalogWriter = Annotated[OperatorPrincipal, Depends(require(Permission.catalog_write))]
MarketingReader = Annotated[OperatorPrincipal, Depends(require(Permission.marketing_read))]
MarketingWriter = Annotated[OperatorPrincipal, Depends(require(Permission.marketing_write))]
OperatorManager = Annotated[OperatorPrincipal, Depends(require(Permission.operator_manage))]
OrderCanceller = Annotated[OperatorPrincipal, Depends(require(Permission.order_cancel))]
OrderReader = Annotated[OperatorPrincipal, Depends(require(Permission.order_read))]
OrderShipper = Annotated[OperatorPrincipal, Depends(require(Permission.order_ship))]
PriceWriter = Annotated[OperatorPrincipal, Depends(require(Permission.price_write))]
ShopperReader = Annotated[OperatorPrincipal, Depends(require(Permission.shopper_read))]
StockWriter = Annotated[OperatorPrincipal, Depends(require(Permission.stock_write))]
