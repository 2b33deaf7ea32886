"""Who is signed in to the console, what they may do, and CSRF protection.

The session is the same signed operator token /api/admin issues, in the
``siyu_console`` cookie (HttpOnly, SameSite=Lax). Every state-changing form carries
a hidden ``csrf_token`` = HMAC(secret, operator id + token version): it cannot be
read by another site, and it dies with the session when the token version is bumped
(password change, deactivation). The login form, before any session exists, uses a
random double-submit token kept in its own cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from siyu.errors import Forbidden, InvalidInput, PayloadTooLarge, Unauthorized
from siyu.identity.rules import Permission
from siyu.identity.tokens import read_token
from siyu.web.console.base import ConsoleUser
from siyu.web.deps import CONSOLE_COOKIE, CtxDep, get_current_operator

CSRF_FIELD = "csrf_token"
LOGIN_CSRF_COOKIE = "siyu_console_login"
MAX_FORM_FIELDS = 2000


def csrf_token(secret: str, operator_id: int, token_version: int) -> str:
    message = f"console-csrf:{operator_id}:{token_version}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def is_same_token(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def csrf_refused() -> Forbidden:
    return Forbidden(
        "csrf_failed",
        "表单已过期或来源不明，请刷新页面后重试 / "
        "This form has expired or did not come from the console; reload and try again",
    )


def console_user(request: Request, ctx: CtxDep) -> ConsoleUser:
    """The signed-in operator; raises Unauthorized (→ the login page) otherwise."""
    token = request.cookies.get(CONSOLE_COOKIE)
    if not token:
        raise Unauthorized("login_required", "请先登录 / Please log in")
    principal = get_current_operator(request, ctx, None)
    secret = ctx.settings.secret_key.get_secret_value()
    claims = read_token(secret, token, kind="operator", now=ctx.clock.now())
    return ConsoleUser(principal, csrf_token(secret, principal.id, claims.version))


UserDep = Annotated[ConsoleUser, Depends(console_user)]


async def read_form(request: Request) -> FormData:
    """The posted form; a body that is not a form is a plain 'bad request'."""
    try:
        return await request.form(max_fields=MAX_FORM_FIELDS, max_files=0)
    except Exception as exc:  # malformed multipart, too many fields, bad encoding
        raise InvalidInput("bad_form", "表单内容无法解析 / The form could not be read") from exc


FormDep = Annotated[FormData, Depends(read_form)]

MAX_UPLOADS = 5
MAX_UPLOAD_BODY = MAX_UPLOADS * 5 * 1024 * 1024 + 1024 * 1024


async def read_upload_form(request: Request) -> FormData:
    """A posted form that may carry up to ``MAX_UPLOADS`` files (the product forms'
    images); a body far beyond what those files may weigh is refused unread."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_UPLOAD_BODY:
        raise PayloadTooLarge(
            "upload_too_large", "上传的文件太大 / The uploaded files are too large"
        )
    try:
        return await request.form(max_fields=MAX_FORM_FIELDS, max_files=MAX_UPLOADS)
    except Exception as exc:  # malformed multipart, too many fields or files
        raise InvalidInput("bad_form", "表单内容无法解析 / The form could not be read") from exc


UploadFormDep = Annotated[FormData, Depends(read_upload_form)]


def forbidden(permission: Permission) -> Forbidden:
    return Forbidden(
        "permission_denied",
        f"当前角色无权执行此操作（{permission}） / Your role may not do this ({permission})",
    )


def may(*permissions: Permission) -> Callable[[ConsoleUser], ConsoleUser]:
    """A page dependency: the operator must hold every one of ``permissions``."""

    def check(user: UserDep) -> ConsoleUser:
        for permission in permissions:
            if not user.can(permission):
                raise forbidden(permission)
        return user

    return check


def may_post(
    *permissions: Permission, uploads: bool = False
) -> Callable[..., Awaitable[ConsoleUser]]:
    """A form action dependency: permissions first, then the CSRF token. With
    ``uploads`` the form may carry files (the route then reads ``UploadFormDep``)."""
    reader = read_upload_form if uploads else read_form

    async def check(user: UserDep, form: FormData = Depends(reader)) -> ConsoleUser:
        for permission in permissions:
            if not user.can(permission):
                raise forbidden(permission)
        given = form.get(CSRF_FIELD)
        if not isinstance(given, str) or not is_same_token(given, user.csrf):
            raise csrf_refused()
        return user

    return check


def text_field(form: FormData, name: str, max_length: int = 20000) -> str:
    value = form.get(name)
    return value.strip()[:max_length] if isinstance(value, str) else ""


# ---------------------------------------------------------------- who may open, who may post
# One place that says which permissions each console page and form action needs; a
# ``Post…`` dependency also checks the form's CSRF token.

CatalogReader = Annotated[ConsoleUser, Depends(may(Permission.catalog_read))]
ProductCreator = Annotated[
    ConsoleUser, Depends(may(Permission.catalog_write, Permission.price_write))
]
PostProductCreator = Annotated[
    ConsoleUser, Depends(may_post(Permission.catalog_write, Permission.price_write))
]
PostCatalogWriter = Annotated[ConsoleUser, Depends(may_post(Permission.catalog_write))]
PostProductCreatorUpload = Annotated[
    ConsoleUser,
    Depends(may_post(Permission.catalog_write, Permission.price_write, uploads=True)),
]
PostCatalogWriterUpload = Annotated[
    ConsoleUser, Depends(may_post(Permission.catalog_write, uploads=True))
]
PostPriceWriter = Annotated[ConsoleUser, Depends(may_post(Permission.price_write))]
PostStockWriter = Annotated[ConsoleUser, Depends(may_post(Permission.stock_write))]
Analyst = Annotated[ConsoleUser, Depends(may(Permission.analytics_read))]
PostChannelWriter = Annotated[
    ConsoleUser, Depends(may_post(Permission.analytics_read, Permission.catalog_write))
]
OrderReader = Annotated[ConsoleUser, Depends(may(Permission.order_read))]
PostShipper = Annotated[ConsoleUser, Depends(may_post(Permission.order_ship))]
PostCanceller = Annotated[ConsoleUser, Depends(may_post(Permission.order_cancel))]
AftersaleReader = Annotated[ConsoleUser, Depends(may(Permission.aftersale_read))]
AftersaleDecider = Annotated[ConsoleUser, Depends(may(Permission.aftersale_decide))]
PostAftersaleDecider = Annotated[ConsoleUser, Depends(may_post(Permission.aftersale_decide))]
OperatorManager = Annotated[ConsoleUser, Depends(may(Permission.operator_manage))]
PostOperatorManager = Annotated[ConsoleUser, Depends(may_post(Permission.operator_manage))]
AuditReader = Annotated[ConsoleUser, Depends(may(Permission.audit_read))]
