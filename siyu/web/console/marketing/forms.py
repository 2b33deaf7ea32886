"""The form layer every marketing page shares (coupons, promotions, and the coming
loyalty and social tools): permissions, reading ids, Shanghai times and yuan, the
product and category pick lists, scope words, domain errors in the operator's language,
and :class:`OfferPages` — the one create/update flow (read the form for its kind,
validate with the JSON API's schema, save through the service in one transaction,
redirect, or show the form again with every error next to its field)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Protocol, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from siyu.catalog import listing
from siyu.clock import SHANGHAI
from siyu.errors import DomainError
from siyu.identity.rules import Permission
from siyu.pricing.info import Scope
from siyu.web.console.base import (
    PREFIX,
    ConsoleUser,
    Refusal,
    error_text,
    has_message,
    redirect,
    request_locale,
    save,
)
from siyu.web.console.catalog import category_options
from siyu.web.console.forms import money_error, parse_int, parse_yuan
from siyu.web.console.security import FormDep, may, may_post, text_field
from siyu.web.deps import NowDep, Session, SessionDep
from siyu.web.i18n import Translator, format_shanghai, translator

Reader = Annotated[ConsoleUser, Depends(may(Permission.marketing_read))]
Writer = Annotated[ConsoleUser, Depends(may(Permission.marketing_read, Permission.marketing_write))]
PostWriter = Annotated[
    ConsoleUser, Depends(may_post(Permission.marketing_read, Permission.marketing_write))
]

IDS_SPLIT_RE = re.compile(r"[\s,，、;；]+")
ID_RE = re.compile(r"#?(\d{1,18})")
MAX_IDS = 5000
PICK_LIMIT = 500
LOCAL_INPUT_FORMAT = "%Y-%m-%dT%H:%M"
SCOPE_ID_FIELDS = ("category_ids", "product_ids", "excluded_product_ids")
# Error codes whose own message names the problem better than a catalog line.
SPECIFIC_CODES = frozenset(
    {"invalid_promotion", "invalid_coupon_template", "unknown_product", "unknown_category"}
)


def parse_ids(text: str) -> list[int]:
    """``"12, 13 14\\n15"`` (commas, spaces, newlines, 、 or ；) → ``[12, 13, 14, 15]``,
    duplicates dropped; anything that is not a positive id raises ValueError."""
    ids: list[int] = []
    for token in IDS_SPLIT_RE.split(text.strip()):
        if not token:
            continue
        match = ID_RE.fullmatch(token)
        if not match or int(match.group(1)) < 1:
            raise ValueError(f"not an id: {token}")
        ids.append(int(match.group(1)))
        if len(ids) > MAX_IDS:
            raise ValueError("too many ids")
    return list(dict.fromkeys(ids))


def ids_text(ids: Iterable[int]) -> str:
    return ", ".join(str(i) for i in ids)


def parse_moment(text: str) -> datetime:
    """A ``datetime-local`` value (``2026-11-02T10:00``) read as Shanghai time → UTC."""
    cleaned = text.strip().replace(" ", "T", 1)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?", cleaned):
        raise ValueError("not a date and time")
    value = datetime.fromisoformat(cleaned)
    return value.replace(tzinfo=SHANGHAI).astimezone(UTC)


def moment_input(value: datetime | None) -> str:
    """A stored UTC time as the Shanghai ``datetime-local`` value a form shows."""
    return "" if value is None else format_shanghai(value, LOCAL_INPUT_FORMAT)


def localized(message: str, locale: str) -> str:
    """The half of a service's bilingual ``"中文 / English"`` message for ``locale``."""
    zh, sep, en = message.partition(" / ")
    if not sep:
        return message
    return zh.strip() if locale == "zh-CN" else en.strip()


def marketing_text(t: Translator, locale: str, exc: DomainError) -> str:
    """A domain error in the operator's language; the rule checks keep their specific
    words (e.g. "The end must follow the start")."""
    if exc.code in SPECIFIC_CODES or not has_message(locale, f"error.{exc.code}"):
        return localized(exc.message, locale)
    return error_text(t, locale, exc)


def checkbox(form: FormData, name: str) -> bool:
    return any(v in ("1", "on", "true") for v in form.getlist(name) if isinstance(v, str))


@dataclass(frozen=True)
class Picker:
    """The lists an operator picks scope targets from."""

    products: list[tuple[int, str]]
    categories: list[tuple[int, str]]


def picker(session: Session) -> Picker:
    return Picker(listing.recent_product_titles(session, PICK_LIMIT), category_options(session))


def names_for(session: Session, items: Iterable[Any]) -> tuple[dict[int, str], dict[int, str]]:
    """Product titles and category names for the ids the listed items refer to."""
    product_ids: set[int] = set()
    category_ids: set[int] = set()
    for item in items:
        for name in ("product_ids", "excluded_product_ids", "bundle_product_ids"):
            product_ids.update(getattr(item, name, None) or [])
        category_ids.update(item.category_ids or [])
    return (
        listing.product_titles(session, product_ids),
        listing.category_names(session, category_ids),
    )


def scope_words(
    t: Translator,
    item: Any,
    products: Mapping[int, str],
    categories: Mapping[int, str],
) -> str:
    """全场 / 分类：咖啡 / 商品：#12 云南小粒… plus 不含 … for exclusions."""

    def named(ids: Iterable[int], names: Mapping[int, str]) -> str:
        sep = t("common.list_sep")  # 、 in zh-CN, ", " in en
        return sep.join(f"#{i} {names[i]}" if i in names else f"#{i}" for i in ids)

    kind = Scope(item.scope_kind)
    if kind is Scope.categories:
        words = t("scope.categories_list", names=named(item.category_ids, categories))
    elif kind is Scope.products:
        words = t("scope.products_list", names=named(item.product_ids, products))
    else:
        words = t("scope.all")
    if item.excluded_product_ids:
        words += " · " + t("scope.excluding", names=named(item.excluded_product_ids, products))
    return words


@dataclass
class ScopeInput:
    scope_kind: str
    values: dict[str, list[int]]


def read_scope(form: FormData, values: dict[str, str], errors: dict[str, str]) -> ScopeInput:
    """Scope kind plus the id fields (typed ids merged with the ones picked from the
    lists); ``values`` gets what to show again, ``errors`` message ids."""
    scope_kind = text_field(form, "scope_kind", 16) or Scope.all.value
    values["scope_kind"] = scope_kind
    if scope_kind not in set(Scope):
        errors["scope_kind"] = "field.enum"
    parsed: dict[str, list[int]] = {}
    for name in SCOPE_ID_FIELDS:
        typed = text_field(form, name, 100_000)
        picked = [v for v in form.getlist(f"{name}_pick") if isinstance(v, str)]
        try:
            ids = parse_ids(" ".join([typed, *picked]))
        except ValueError:
            errors[name] = "field.ids"
            values[name] = typed
            continue
        parsed[name] = ids
        values[name] = ids_text(ids)
    if (
        scope_kind == Scope.categories
        and not parsed.get("category_ids")
        and "category_ids" not in errors
    ):
        errors["category_ids"] = "field.scope_targets"
    if (
        scope_kind == Scope.products
        and not parsed.get("product_ids")
        and "product_ids" not in errors
    ):
        errors["product_ids"] = "field.scope_targets"
    chosen = {
        "category_ids": parsed.get("category_ids", []) if scope_kind == Scope.categories else [],
        "product_ids": parsed.get("product_ids", []) if scope_kind == Scope.products else [],
        "excluded_product_ids": parsed.get("excluded_product_ids", []),
    }
    return ScopeInput(scope_kind, chosen)


def read_moment(
    form: FormData,
    name: str,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    required: bool,
) -> datetime | None:
    text = text_field(form, name, 32)
    values[name] = text
    if not text:
        if required:
            errors[name] = "field.missing"
        return None
    try:
        return parse_moment(text)
    except ValueError:
        errors[name] = "field.datetime"
        return None


def read_number(
    form: FormData,
    name: str,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    money: bool = False,
    default: int | None = None,
) -> int | None:
    """An integer (or a yuan amount → fen); blank gives ``default`` (missing if None)."""
    text = text_field(form, name, 32)
    values[name] = text
    if not text:
        if default is None:
            errors[name] = "field.missing"
        return default
    try:
        return parse_yuan(text) if money else parse_int(text)
    except ValueError as exc:
        errors[name] = money_error(text, exc) if money else "field.int_parsing"
        return None


def words(t: Translator, ids: Mapping[str, str]) -> dict[str, str]:
    return {name: t(message_id) for name, message_id in ids.items()}


# ---------------------------------------------------------------- the save flow

F = TypeVar("F")
Body = dict[str, Any]


class EditPage(Protocol[F]):  # type: ignore[misc]
    def __call__(
        self,
        request: Request,
        user: ConsoleUser,
        session: Session,
        form: F,
        offer_id: int | None,
        /,
        *,
        now: datetime,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response: ...


@dataclass(frozen=True)
class OfferPages(Generic[F]):
    """Create and update for one kind of offer. ``read`` turns the posted form into the
    form state to show again and the payload for the schema; ``validate`` returns the
    body the service takes (or None) and the errors by field."""

    path: str  # "coupons" → /console/coupons, /console/coupons/{id}
    anchor: str  # "coupon" → #coupon-12 on the list after creating
    created_notice: str
    aliases: Mapping[str, str]
    read: Callable[[FormData, str], tuple[F, Body]]
    validate: Callable[[Translator, str, F, Body, bool], tuple[Body | None, dict[str, str]]]
    kind_of: Callable[[Session, int], str]
    create: Callable[[Session, int, Body, datetime], int]  # actor id, values → new id
    update: Callable[[Session, int, int, Body, datetime], object]  # actor id, offer id
    page: EditPage[F]
    blank: Callable[[datetime], F]  # the new-offer form
    load: Callable[[Session, int], F]  # the form of a stored offer
    set_status: Callable[[Session, int, int, str, datetime], object]  # actor, offer, status
    status_notices: Mapping[str, str]  # each status the page may set → the notice after
    status_from_list: bool = False  # the list sets status too: back there unless back=edit

    def current(self, session: Session, offer_id: int) -> F:
        with session.begin():
            return self.load(session, offer_id)

    def again(
        self,
        request: Request,
        user: ConsoleUser,
        session: Session,
        offer_id: int,
        *,
        now: datetime,
        errors: dict[str, str],
        status: int,
    ) -> Response:
        """The stored offer's page again, with ``errors``."""
        offer = self.current(session, offer_id)
        return self.page(
            request, user, session, offer, offer_id, now=now, errors=errors, status=status
        )

    def mount(self, router: APIRouter) -> None:
        """The form routes: ``GET|POST /{path}/new``, ``GET|POST /{path}/{id}`` and
        ``POST /{path}/{id}/status``."""
        pages = self

        def new_form(request: Request, user: Writer, session: SessionDep, now: NowDep) -> Response:
            return pages.page(request, user, session, pages.blank(now), None, now=now)

        def create(
            request: Request, form: FormDep, user: PostWriter, session: SessionDep, now: NowDep
        ) -> Response:
            return pages.save_view(request, form, user, session, now, None)

        def show(
            offer_id: int, request: Request, user: Reader, session: SessionDep, now: NowDep
        ) -> Response:
            offer = pages.current(session, offer_id)
            return pages.page(request, user, session, offer, offer_id, now=now)

        def update(
            offer_id: int,
            request: Request,
            form: FormDep,
            user: PostWriter,
            session: SessionDep,
            now: NowDep,
        ) -> Response:
            return pages.save_view(request, form, user, session, now, offer_id)

        def change_status(
            offer_id: int,
            request: Request,
            form: FormDep,
            user: PostWriter,
            session: SessionDep,
            now: NowDep,
        ) -> Response:
            return pages.status_view(offer_id, request, form, user, session, now)

        base = f"/{self.path}"
        router.add_api_route(
            f"{base}/{{offer_id}}/status",
            change_status,
            methods=["POST"],
            name=f"{self.anchor}_status",
        )
        router.add_api_route(f"{base}/new", new_form, methods=["GET"], name=f"{self.anchor}_new")
        router.add_api_route(f"{base}/new", create, methods=["POST"], name=f"{self.anchor}_create")
        router.add_api_route(f"{base}/{{offer_id}}", show, methods=["GET"], name=self.anchor)
        router.add_api_route(
            f"{base}/{{offer_id}}", update, methods=["POST"], name=f"{self.anchor}_update"
        )

    def status_view(
        self,
        offer_id: int,
        request: Request,
        form: FormData,
        user: ConsoleUser,
        session: Session,
        now: datetime,
    ) -> Response:
        """Set the posted ``status``; an unknown one or a refusal shows the page again
        with the words next to the status buttons."""
        raw = text_field(form, "status", 16)
        if raw not in self.status_notices:
            t = translator("console", request_locale(request))
            errors = {"status": t("field.enum")}
            return self.again(request, user, session, offer_id, now=now, errors=errors, status=422)
        actor = user.principal.id
        outcome = save(
            request,
            session,
            lambda: self.set_status(session, actor, offer_id, raw, now),
            explain=marketing_text,
        )
        if isinstance(outcome, Refusal):
            errors = {"status": outcome.text}
            return self.again(
                request, user, session, offer_id, now=now, errors=errors, status=outcome.status
            )
        back = f"{PREFIX}/{self.path}"
        if not self.status_from_list or text_field(form, "back", 8) == "edit":
            back += f"/{offer_id}"
        return redirect(f"{back}?notice={self.status_notices[raw]}")

    def save_view(
        self,
        request: Request,
        form: FormData,
        user: ConsoleUser,
        session: Session,
        now: datetime,
        offer_id: int | None,
    ) -> Response:
        """Create (``offer_id`` None) or update from the posted form."""
        locale = request_locale(request)
        t = translator("console", locale)
        if offer_id is None:
            kind = text_field(form, "kind", 32)
        else:
            with session.begin():
                kind = self.kind_of(session, offer_id)
        state, payload = self.read(form, kind)
        body, errors = self.validate(t, locale, state, payload, offer_id is None)
        status = 422
        if body is not None:
            values, actor = body, user.principal.id

            def work() -> object:
                if offer_id is None:
                    return self.create(session, actor, values, now)
                return self.update(session, actor, offer_id, values, now)

            saved = save(request, session, work, aliases=self.aliases, explain=marketing_text)
            if not isinstance(saved, Refusal):
                if offer_id is None:
                    return redirect(
                        f"{PREFIX}/{self.path}?notice={self.created_notice}#{self.anchor}-{saved}"
                    )
                return redirect(f"{PREFIX}/{self.path}/{offer_id}?notice=saved")
            errors, status = saved.errors, saved.status
        return self.page(
            request, user, session, state, offer_id, now=now, errors=errors, status=status
        )
