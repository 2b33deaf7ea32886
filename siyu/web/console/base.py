"""What every console page shares: templates, locale, navigation, rendering, and
turning domain and validation errors into words next to the fields they concern."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ValidationError

from siyu.errors import DomainError
from siyu.events import display_name
from siyu.identity.rules import Permission
from siyu.web.console.forms import yuan_input
from siyu.web.deps import OperatorPrincipal, Session
from siyu.web.i18n import (
    DEFAULT_LOCALE,
    LOCALES,
    Translator,
    catalog,
    format_money,
    format_shanghai,
    translator,
)

PREFIX = "/console"
DOMAIN = "console"
LANG_COOKIE = "siyu_lang"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
STATIC_FILES = ("console.css", "console.js")


@dataclass(frozen=True)
class NavEntry:
    key: str
    href: str
    permission: Permission


NAV: tuple[NavEntry, ...] = (
    NavEntry("dashboard", f"{PREFIX}/dashboard", Permission.analytics_read),
    NavEntry("analytics_overview", f"{PREFIX}/analytics/overview", Permission.analytics_read),
    NavEntry("analytics_funnel", f"{PREFIX}/analytics/funnel", Permission.analytics_read),
    NavEntry("analytics_retention", f"{PREFIX}/analytics/retention", Permission.analytics_read),
    NavEntry("analytics_rfm", f"{PREFIX}/analytics/rfm", Permission.analytics_read),
    NavEntry("analytics_channels", f"{PREFIX}/analytics/channels", Permission.analytics_read),
    NavEntry("analytics_paths", f"{PREFIX}/analytics/paths", Permission.analytics_read),
    NavEntry("analytics_goals", f"{PREFIX}/analytics/goals", Permission.analytics_read),
    NavEntry("analytics_sessions", f"{PREFIX}/analytics/sessions", Permission.analytics_read),
    NavEntry("analytics_repurchase", f"{PREFIX}/analytics/repurchase", Permission.analytics_read),
    NavEntry("analytics_portfolio", f"{PREFIX}/analytics/portfolio", Permission.analytics_read),
    NavEntry("analytics_clv", f"{PREFIX}/analytics/clv", Permission.analytics_read),
    NavEntry("analytics_loyalty", f"{PREFIX}/analytics/loyalty", Permission.analytics_read),
    NavEntry("analytics_plays", f"{PREFIX}/analytics/plays", Permission.analytics_read),
    NavEntry("channels", f"{PREFIX}/channels", Permission.analytics_read),
    NavEntry("rehearsals", f"{PREFIX}/rehearsals", Permission.analytics_read),
    NavEntry("promotions", f"{PREFIX}/promotions", Permission.marketing_read),
    NavEntry("coupons", f"{PREFIX}/coupons", Permission.marketing_read),
    NavEntry("group_buy", f"{PREFIX}/group-buy", Permission.marketing_read),
    NavEntry("flash_sale", f"{PREFIX}/flash-sales", Permission.marketing_read),
    NavEntry("member_tiers", f"{PREFIX}/loyalty/tiers", Permission.marketing_read),
    NavEntry("member_day", f"{PREFIX}/loyalty/member-day", Permission.marketing_read),
    NavEntry("points_rules", f"{PREFIX}/loyalty/points", Permission.marketing_read),
    NavEntry("checkin", f"{PREFIX}/loyalty/checkin", Permission.marketing_read),
    NavEntry("mall", f"{PREFIX}/loyalty/mall", Permission.marketing_read),
    NavEntry("lottery", f"{PREFIX}/loyalty/lottery", Permission.marketing_read),
    NavEntry("members", f"{PREFIX}/loyalty/members", Permission.marketing_read),
    NavEntry("products", f"{PREFIX}/products", Permission.catalog_read),
    NavEntry("categories", f"{PREFIX}/categories", Permission.catalog_read),
    NavEntry("orders", f"{PREFIX}/orders", Permission.order_read),
    NavEntry("aftersales", f"{PREFIX}/aftersales", Permission.aftersale_read),
    NavEntry("operators", f"{PREFIX}/operators", Permission.operator_manage),
    NavEntry("audit", f"{PREFIX}/audit", Permission.audit_read),
)


def visible_nav(principal: OperatorPrincipal) -> list[NavEntry]:
    return [entry for entry in NAV if principal.can(entry.permission)]


def home_for(principal: OperatorPrincipal) -> str:
    entries = visible_nav(principal)
    return entries[0].href if entries else f"{PREFIX}/login"


@dataclass(frozen=True)
class ConsoleUser:
    """The signed-in operator plus the CSRF token their forms must carry."""

    principal: OperatorPrincipal
    csrf: str

    def can(self, permission: Permission) -> bool:
        return self.principal.can(permission)


def request_locale(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


def is_console(request: Request) -> bool:
    path = request.url.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def safe_next(target: str | None, default: str) -> str:
    """Only redirect within the console: never to another host or scheme."""
    if target and target.startswith(PREFIX) and "//" not in target and "\\" not in target:
        return target
    return default


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@cache
def static_version(name: str) -> str:
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def has_message(locale: str, message_id: str) -> bool:
    return message_id in catalog(DOMAIN, locale)


def format_pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def format_change(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{'+' if value > 0 else ''}{value:.1f}%"


@dataclass(frozen=True)
class Feedback:
    """What a page shows again after a form: words by field, what was typed, and the
    status to answer with; ``Feedback()`` is a page before any form was posted."""

    errors: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)
    status: int = 200


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    env.filters["money"] = format_money
    env.filters["dt"] = format_shanghai
    env.filters["pct"] = format_pct
    env.filters["change"] = format_change
    env.filters["yuan_input"] = yuan_input
    return env


def render(
    request: Request,
    template: str,
    *,
    user: ConsoleUser | None,
    status: int = 200,
    active: str | None = None,
    shown: Feedback | None = None,
    **context: Any,
) -> HTMLResponse:
    """``shown`` gives the page its ``errors``, ``values`` and status (a ``values`` in
    ``context`` wins, for pages that add defaults)."""
    if shown is not None:
        status = shown.status
        context = {"errors": shown.errors, "values": shown.values} | context
    locale = request_locale(request)
    t = translator(DOMAIN, locale)
    notice = request.query_params.get("notice")
    if notice and not has_message(locale, f"notice.{notice}"):
        notice = None
    html = (
        environment()
        .get_template(template)
        .render(
            t=t,
            locale=locale,
            user=user,
            nav=visible_nav(user.principal) if user else [],
            active=active,
            notice=notice,
            path=request.url.path,
            current_url=str(request.url.path)
            + (f"?{request.url.query}" if request.url.query else ""),
            static=lambda name: f"{PREFIX}/static/{name}?v={static_version(name)}",
            P=Permission,
            event_name=lambda name: display_name(name, locale),
            t_or=lambda message_id, fallback: (
                t(message_id) if has_message(locale, message_id) else fallback
            ),
            stack_group=lambda group: (
                t(f"promotion.stack_group.{group}")
                if has_message(locale, f"promotion.stack_group.{group}")
                else group
            ),
            **context,
        )
    )
    return HTMLResponse(html, status_code=status)


# ---------------------------------------------------------------- errors → words


def error_text(t: Translator, locale: str, exc: DomainError) -> str:
    """The catalog's words for a domain error, or its own bilingual message."""
    message_id = f"error.{exc.code}"
    return t(message_id) if has_message(locale, message_id) else exc.message


# A service's field name → the form's: a table (names not in it stay), or a function.
Aliases = Mapping[str, str] | Callable[[str], str]
# The words for a domain error: error_text, or a page family's own choice.
Explain = Callable[[Translator, str, DomainError], str]


def errors_at(exc: DomainError, text: str, aliases: Aliases | None = None) -> dict[str, str]:
    """Put ``text`` next to each field the error names; with no field, under ``_form``."""
    errors: dict[str, str] = {}
    for name in exc.fields:
        if callable(aliases):
            errors.setdefault(aliases(name), text)
        else:
            errors.setdefault((aliases or {}).get(name, name), text)
    if not errors:
        errors["_form"] = text
    return errors


def domain_field_errors(
    t: Translator, locale: str, exc: DomainError, aliases: Aliases | None = None
) -> dict[str, str]:
    """The catalog's words for the error next to each field it names."""
    return errors_at(exc, error_text(t, locale, exc), aliases)


def pydantic_field_text(t: Translator, locale: str, error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", "invalid"))
    if kind == "string_too_short" and (error.get("ctx") or {}).get("min_length") == 1:
        kind = "missing"  # "at least 1 character" is how pydantic says "required"
    message_id = f"field.{kind}"
    if not has_message(locale, message_id):
        message_id = "field.invalid"
    params = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, int | float | str)}
    try:
        return t(message_id, **params)
    except (KeyError, IndexError):
        return t("field.invalid")


def pydantic_field_errors(
    t: Translator,
    locale: str,
    errors: Sequence[Mapping[str, Any]],
    name_for: Any = None,
) -> dict[str, str]:
    """``name_for(loc)`` turns a pydantic location into the form field's name."""
    result: dict[str, str] = {}
    for error in errors:
        loc = tuple(error.get("loc", ()))
        name = name_for(loc) if name_for else ".".join(str(p) for p in loc)
        result.setdefault(name or "_form", pydantic_field_text(t, locale, error))
    return result


def loc_head(loc: tuple[Any, ...]) -> str:
    """A pydantic location → the form field of the same name (``("name",)`` → name)."""
    return str(loc[0])


# ---------------------------------------------------------------- saving a form

T = TypeVar("T")
B = TypeVar("B", bound=BaseModel)


@dataclass(frozen=True)
class Refusal:
    """Why a form was not saved: errors by field, the status to answer, and the
    domain error behind them (None when the form did not validate)."""

    errors: dict[str, str]
    status: int
    exc: DomainError | None = None

    @property
    def text(self) -> str:
        """The words of a domain refusal (every field it names shows the same)."""
        return next(reversed(self.errors.values()))

    def shown(self, values: Mapping[str, Any] | None = None) -> Feedback:
        """The page again with these errors, ``values`` as typed, and this status."""
        return Feedback(self.errors, values or {}, self.status)


def save(
    request: Request,
    session: Session,
    work: Callable[[], T],
    *,
    aliases: Aliases | None = None,
    explain: Explain = error_text,
) -> T | Refusal:
    """Run ``work`` in one transaction; a domain error becomes words (``explain``)
    next to the fields it names, with its own status."""
    try:
        with session.begin():
            return work()
    except DomainError as exc:
        locale = request_locale(request)
        text = explain(translator(DOMAIN, locale), locale, exc)
        return Refusal(errors_at(exc, text, aliases), exc.http_status, exc)


def settle(outcome: object, url: str, again: Callable[[Refusal], Response]) -> Response:
    """Go to ``url`` once saved (see :func:`save`); a refusal shows the page ``again``."""
    if isinstance(outcome, Refusal):
        return again(outcome)
    return redirect(url)


def submit(
    request: Request,
    session: Session,
    schema: type[B],
    data: object,
    work: Callable[[B], T],
    *,
    name_for: Callable[[tuple[Any, ...]], str] = loc_head,
    aliases: Aliases | None = None,
) -> T | Refusal:
    """Validate ``data`` with the API's ``schema`` (a problem → 422, words next to
    ``name_for(loc)``), then :func:`save` ``work(body)``."""
    try:
        body = schema.model_validate(data)
        return save(request, session, lambda: work(body), aliases=aliases)
    except ValidationError as exc:
        locale = request_locale(request)
        t = translator(DOMAIN, locale)
        return Refusal(pydantic_field_errors(t, locale, exc.errors(), name_for), 422)


def now_local_date_text(now: datetime) -> str:
    return format_shanghai(now, "%Y-%m-%d")
