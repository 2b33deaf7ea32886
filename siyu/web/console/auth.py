"""Console sign-in and sign-out, the language switch, and the landing redirect."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from siyu.identity import operators as operator_service
from siyu.identity.tokens import TokenClaims, issue_token
from siyu.web.console.base import (
    LANG_COOKIE,
    PREFIX,
    ConsoleUser,
    error_text,
    home_for,
    redirect,
    render,
    request_locale,
    safe_next,
)
from siyu.web.console.security import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    FormDep,
    UserDep,
    is_same_token,
    may_post,
    new_login_token,
    text_field,
)
from siyu.web.deps import CONSOLE_COOKIE, CtxDep, NowDep, OperatorPrincipal, SessionDep
from siyu.web.i18n import LOCALES, translator

router = APIRouter(prefix=PREFIX, include_in_schema=False)
LANG_MAX_AGE = 365 * 24 * 3600


def _login_page(
    request: Request,
    *,
    next_url: str,
    username: str = "",
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_login_token()
    response = render(
        request,
        "login.html",
        user=None,
        status=status,
        login_csrf=token,
        next_url=next_url,
        username=username,
        error=error,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="lax", path=PREFIX
    )
    return response


@router.get("")
@router.get("/")
def landing(user: UserDep) -> Response:
    return redirect(home_for(user.principal))


@router.get("/login")
def login_form(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"), "")
    return _login_page(request, next_url=next_url)


@router.post("/login")
def login(
    request: Request, form: FormDep, ctx: CtxDep, session: SessionDep, now: NowDep
) -> Response:
    t = translator("console", request_locale(request))
    username = text_field(form, "username", 64)
    password = form.get("password")
    next_url = safe_next(text_field(form, "next", 500), "")
    given = form.get(CSRF_FIELD)
    if not isinstance(given, str) or not is_same_token(
        given, request.cookies.get(LOGIN_CSRF_COOKIE)
    ):
        return _login_page(
            request,
            next_url=next_url,
            username=username,
            error=t("login.expired"),
            status=403,
        )
    if not username or not isinstance(password, str) or not password:
        return _login_page(
            request, next_url=next_url, username=username, error=t("login.missing"), status=422
        )
    settings = ctx.settings
    client_ip = request.client.host if request.client else "unknown"
    with session.begin():
        outcome = operator_service.authenticate_operator(
            session,
            username=username,
            password=password[:256],
            client_ip=client_ip,
            now=now,
            max_failures=settings.operator_login_max_failures,
            window=timedelta(minutes=settings.operator_login_window_minutes),
        )
        operator = outcome.operator
        identity = (operator.id, operator.token_version) if operator else None
        home = None
        if operator is not None:
            principal = OperatorPrincipal(
                operator.id, operator.username, operator.display_name, operator.role
            )
            home = home_for(principal)
    if outcome.error is not None or identity is None or home is None:
        error = outcome.error
        status = error.http_status if error else 401
        message = error_text(t, request_locale(request), error) if error else t("login.failed")
        return _login_page(
            request, next_url=next_url, username=username, error=message, status=status
        )
    expires = int(now.timestamp()) + settings.operator_token_ttl_seconds
    token = issue_token(
        settings.secret_key.get_secret_value(),
        TokenClaims("operator", identity[0], expires, identity[1]),
    )
    response = redirect(next_url or home)
    response.set_cookie(
        CONSOLE_COOKIE,
        token,
        max_age=settings.operator_token_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.public_base_url.startswith("https"),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
    return response


@router.post("/logout")
def logout(_: Annotated[ConsoleUser, Depends(may_post())]) -> Response:
    response = redirect(f"{PREFIX}/login?notice=logged_out")
    response.delete_cookie(CONSOLE_COOKIE)
    return response


@router.get("/lang/{locale}")
def switch_language(locale: str, request: Request) -> Response:
    """Remember the chosen language in a cookie and go back where the operator was."""
    response = redirect(safe_next(request.query_params.get("next"), f"{PREFIX}/login"))
    if locale in LOCALES:
        response.set_cookie(LANG_COOKIE, locale, max_age=LANG_MAX_AGE, samesite="lax")
    return response
