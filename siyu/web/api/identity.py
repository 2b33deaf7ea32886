"""Identity routes: shopper login and phone binding (/api/app), operator login and
account management (/api/admin)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, UploadFile
from pydantic import BaseModel

from siyu.errors import NotFound
from siyu.fields import MAX_ID
from siyu.identity import audit, blocking, service
from siyu.identity import operators as operator_service
from siyu.identity.models import Shopper
from siyu.identity.rules import (
    AVATAR_MAX_BYTES,
    AVATAR_NAME_RE,
    AVATAR_TYPES,
    ROLE_PERMISSIONS,
    Role,
    parse_entry,
)
from siyu.identity.schemas import (
    AuditLogOut,
    LoginRequest,
    LoginResponse,
    OperatorCreate,
    OperatorLoginRequest,
    OperatorLoginResponse,
    OperatorOut,
    OperatorUpdate,
    PasswordChange,
    PhoneBindRequest,
    PhoneBindResponse,
    ProfileUpdate,
    ShopperOut,
)
from siyu.identity.tokens import TokenClaims, issue_token
from siyu.web.api.common import (
    immutable_file,
    transact,
    transact_into,
    transact_list,
    transact_no_content,
)
from siyu.web.deps import (
    CONSOLE_COOKIE,
    AnonymousIdDep,
    AuditReader,
    CtxDep,
    CurrentOperator,
    CurrentShopper,
    MarketingWriter,
    NowDep,
    OperatorManager,
    SessionDep,
)

app_router = APIRouter(prefix="/api/app", tags=["shopper identity"])
admin_router = APIRouter(prefix="/api/admin", tags=["operators"])
media_router = APIRouter(prefix="/media", tags=["media"])


def shopper_out(shopper: Shopper, ctx: CtxDep) -> ShopperOut:
    out = ShopperOut.model_validate(shopper)
    if shopper.phone_encrypted:
        out.phone_bound = True
        out.phone_masked = service.mask_phone(ctx.cipher.decrypt(shopper.phone_encrypted))
    return out


@app_router.post("/login", response_model=LoginResponse)
def login(
    body: LoginRequest, ctx: CtxDep, session: SessionDep, now: NowDep, anonymous_id: AnonymousIdDep
) -> LoginResponse:
    """微信登录：用 wx.login 的 code 换取会话令牌；首次登录即注册并记录来源渠道。"""
    entry = parse_entry(body.scene, body.qr_scene, body.sharer_id)
    with session.begin():
        result = service.login_shopper(
            session,
            ctx.wechat_identity,
            code=body.code,
            entry=entry,
            anonymous_id=anonymous_id,
            now=now,
            nickname=body.nickname,
        )
        shopper = shopper_out(result.shopper, ctx)
    expires = int(now.timestamp()) + ctx.settings.shopper_token_ttl_seconds
    token = issue_token(
        ctx.settings.secret_key.get_secret_value(), TokenClaims("shopper", shopper.id, expires)
    )
    return LoginResponse(
        token=token,
        expires_at=datetime.fromtimestamp(expires, UTC),
        is_new=result.is_new,
        shopper=shopper,
    )


@app_router.get("/me", response_model=ShopperOut)
def me(ctx: CtxDep, session: SessionDep, shopper: CurrentShopper) -> ShopperOut:
    return transact_into(session, partial(shopper_out, ctx=ctx), service.get_shopper, shopper.id)


@app_router.patch("/me", response_model=ShopperOut)
def update_me(
    body: ProfileUpdate, ctx: CtxDep, session: SessionDep, shopper: CurrentShopper
) -> ShopperOut:
    """修改昵称、头像（小程序「头像昵称填写」能力）；只改给出的字段，任一无效则都不改。"""
    return transact_into(
        session,
        partial(shopper_out, ctx=ctx),
        service.update_profile,
        shopper_id=shopper.id,
        nickname=body.nickname,
        avatar_url=body.avatar_url,
    )


@app_router.post(
    "/me/avatar",
    response_model=ShopperOut,
    responses={
        413: {"description": "超过 2 MB / Over 2 MB"},
        415: {"description": "不是 PNG、JPEG、WebP 或 GIF / Not a PNG, JPEG, WebP or GIF"},
    },
)
def upload_avatar(
    file: UploadFile, ctx: CtxDep, session: SessionDep, shopper: CurrentShopper
) -> ShopperOut:
    """上传头像（小程序 chooseAvatar 后 wx.uploadFile，字段名 file）：存为本站图片并设为头像。"""
    data = file.file.read(AVATAR_MAX_BYTES + 1)
    url = service.store_avatar(ctx.settings.media_dir, data)
    return transact_into(
        session,
        partial(shopper_out, ctx=ctx),
        service.update_profile,
        shopper_id=shopper.id,
        avatar_url=url,
    )


@media_router.get("/avatars/{name}", include_in_schema=False)
def avatar_image(name: str, ctx: CtxDep) -> Response:
    """An uploaded avatar: named by its content, so cached for good."""
    match = AVATAR_NAME_RE.match(name)
    path = ctx.settings.media_dir / "avatars" / name
    if match is None or not path.is_file():
        raise NotFound("avatar_not_found", "头像不存在 / Avatar not found")
    return immutable_file(path, AVATAR_TYPES[match.group(1)])


@app_router.post("/me/phone", response_model=PhoneBindResponse)
def bind_phone(
    body: PhoneBindRequest, ctx: CtxDep, session: SessionDep, now: NowDep, shopper: CurrentShopper
) -> PhoneBindResponse:
    """绑定手机号：getPhoneNumber 按钮返回的 code，手机号加密存储。"""
    with session.begin():
        masked = service.bind_phone(
            session, ctx.wechat_identity, ctx.cipher, shopper_id=shopper.id, code=body.code, now=now
        )
    return PhoneBindResponse(phone_masked=masked)


# ---------------------------------------------------------------- operators


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@admin_router.post("/login", response_model=OperatorLoginResponse)
def operator_login(
    body: OperatorLoginRequest,
    request: Request,
    response: Response,
    ctx: CtxDep,
    session: SessionDep,
    now: NowDep,
) -> OperatorLoginResponse:
    settings = ctx.settings
    with session.begin():
        outcome = operator_service.authenticate_operator(
            session,
            username=body.username,
            password=body.password,
            client_ip=_client_ip(request),
            now=now,
            max_failures=settings.operator_login_max_failures,
            window=timedelta(minutes=settings.operator_login_window_minutes),
        )
        op = OperatorOut.model_validate(outcome.operator) if outcome.operator else None
        version = outcome.operator.token_version if outcome.operator else 0
    if outcome.error is not None or op is None:
        assert outcome.error is not None
        raise outcome.error
    expires = int(now.timestamp()) + settings.operator_token_ttl_seconds
    token = issue_token(
        settings.secret_key.get_secret_value(), TokenClaims("operator", op.id, expires, version)
    )
    response.set_cookie(
        CONSOLE_COOKIE,
        token,
        max_age=settings.operator_token_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.public_base_url.startswith("https"),
    )
    return OperatorLoginResponse(
        token=token,
        expires_at=datetime.fromtimestamp(expires, UTC),
        operator=op,
        permissions=sorted(p.value for p in ROLE_PERMISSIONS[op.role]),
    )


@admin_router.post("/logout", status_code=204)
def operator_logout(response: Response) -> Response:
    response.delete_cookie(CONSOLE_COOKIE)
    response.status_code = 204
    return response


@admin_router.get("/me", response_model=OperatorOut)
def operator_me(session: SessionDep, operator: CurrentOperator) -> OperatorOut:
    return transact(session, OperatorOut, operator_service.get_operator, operator.id)


@admin_router.post("/me/password", status_code=204)
def change_password(
    body: PasswordChange, session: SessionDep, now: NowDep, operator: CurrentOperator
) -> Response:
    return transact_no_content(
        session,
        operator_service.change_password,
        operator_id=operator.id,
        old_password=body.old_password,
        new_password=body.new_password,
        now=now,
    )


@admin_router.get("/operators", response_model=list[OperatorOut])
def list_operators(session: SessionDep, _: OperatorManager) -> list[OperatorOut]:
    return transact_list(session, OperatorOut, operator_service.list_operators)


@admin_router.post("/operators", response_model=OperatorOut, status_code=201)
def create_operator(
    body: OperatorCreate, session: SessionDep, now: NowDep, actor: OperatorManager
) -> OperatorOut:
    return transact(
        session,
        OperatorOut,
        operator_service.create_operator,
        username=body.username,
        display_name=body.display_name,
        password=body.password,
        role=body.role,
        now=now,
        actor_id=actor.id,
    )


@admin_router.patch("/operators/{operator_id}", response_model=OperatorOut)
def update_operator(
    operator_id: int, body: OperatorUpdate, session: SessionDep, now: NowDep, actor: OperatorManager
) -> OperatorOut:
    return transact(
        session,
        OperatorOut,
        operator_service.update_operator,
        actor_id=actor.id,
        operator_id=operator_id,
        role=body.role,
        is_active=body.is_active,
        display_name=body.display_name,
        now=now,
    )


@admin_router.get("/roles")
def list_roles(_: CurrentOperator) -> dict[str, list[str]]:
    return {role.value: sorted(p.value for p in ROLE_PERMISSIONS[role]) for role in Role}


@admin_router.get("/audit-logs", response_model=list[AuditLogOut])
def list_audit_logs(
    session: SessionDep,
    _: AuditReader,
    target_type: str | None = None,
    target_id: str | None = None,
    operator_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before_id: int | None = None,
) -> list[AuditLogOut]:
    return transact_list(
        session,
        AuditLogOut,
        audit.list_audit_logs,
        target_type=target_type,
        target_id=target_id,
        operator_id=operator_id,
        before_id=before_id,
        limit=limit,
    )


class ShopperBlockOut(BaseModel):
    id: int
    blocked: bool
    blocked_at: datetime | None


def _set_blocked(
    session: SessionDep, shopper_id: int, blocked: bool, operator_id: int, now: datetime
) -> ShopperBlockOut:
    with session.begin():
        shopper = blocking.set_blocked(
            session, shopper_id=shopper_id, blocked=blocked, operator_id=operator_id, now=now
        )
        return ShopperBlockOut(
            id=shopper.id, blocked=shopper.blocked_at is not None, blocked_at=shopper.blocked_at
        )


@admin_router.post("/shoppers/{shopper_id}/block", response_model=ShopperBlockOut)
def block_shopper(
    shopper_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    session: SessionDep,
    now: NowDep,
    operator: MarketingWriter,
) -> ShopperBlockOut:
    """封禁顾客（防刷）：不能发起砍价，帮砍不计入；记入操作日志。"""
    return _set_blocked(session, shopper_id, True, operator.id, now)


@admin_router.post("/shoppers/{shopper_id}/unblock", response_model=ShopperBlockOut)
def unblock_shopper(
    shopper_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    session: SessionDep,
    now: NowDep,
    operator: MarketingWriter,
) -> ShopperBlockOut:
    """解除封禁；记入操作日志。"""
    return _set_blocked(session, shopper_id, False, operator.id, now)
