"""Store promotions (营销活动): the list with each rule in words, its schedule, phase,
stacking and what it brought in; the create/edit form whose fields follow the kind;
pause and resume.

Reading needs ``marketing.read`` (owner, operator, analyst); every change needs
``marketing.write`` and goes through ``siyu.promotion.service`` (which checks the rule
and the catalog references and writes the audit log). Money is typed in yuan
(``199`` or ``19.90``), times as Shanghai wall-clock time (``datetime-local``).

Routes: ``GET /console/promotions``; ``GET|POST /console/promotions/new``;
``GET|POST /console/promotions/{id}``; ``POST /console/promotions/{id}/status``
(``status`` = ``paused`` or ``active``).

Stable selectors: list rows ``tr[data-testid=promotion-row]`` (``data-id``,
``data-kind``, ``data-phase``) with ``[data-testid=promotion-rule]``,
``[data-testid=promotion-scope]``, ``[data-testid=promotion-schedule]``,
``[data-testid=promotion-phase]``, ``[data-testid=promotion-stacking]``,
``td[data-testid=promotion-stat-<orders|gmv|discount>]`` (``data-value``),
``button#pause-<id>`` / ``button#resume-<id>``; ``a#new-promotion``. Form
``form#promotion-form``: ``#name``, ``#description``, ``#kind`` (select; a hidden input
when editing), tier rows ``fieldset[data-testid=tier-row]`` with
``#tiers-N-threshold`` / ``#tiers-N-amount`` (yuan), ``#min_items``, ``#percent_off``,
``#bundle_product_ids``, ``#amount_off`` (yuan), ``#min_tier``, ``#scope_kind``,
``#category_ids`` / ``#product_ids`` / ``#excluded_product_ids`` (ids, comma separated)
with multi-selects ``#<field>_pick``, ``#starts_at`` / ``#ends_at`` (datetime-local,
Asia/Shanghai), ``#exclusive`` (checkbox), ``#stack_group``, ``#priority``,
``button#promotion-submit``. Errors: ``#err-<field>``.

Shared by ``coupons.py``: reading ids, Shanghai times and yuan, the product and
category pick lists, scope words, and domain errors in the operator's language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from siyu.catalog.models import Category, Product
from siyu.clock import SHANGHAI
from siyu.errors import DomainError
from siyu.identity.rules import Permission
from siyu.money import format_yuan
from siyu.pricing.info import PromotionKind, Scope
from siyu.promotion import service
from siyu.promotion.models import Promotion
from siyu.promotion.rules import Phase, PromotionStatus, phase
from siyu.promotion.schemas import PromotionCreate, PromotionFields
from siyu.web.console.base import (
    PREFIX,
    ConsoleUser,
    error_text,
    has_message,
    pydantic_field_errors,
    redirect,
    render,
    request_locale,
)
from siyu.web.console.catalog import category_options
from siyu.web.console.forms import parse_int, parse_yuan
from siyu.web.console.security import FormDep, may, may_post, text_field
from siyu.web.deps import NowDep, SessionDep
from siyu.web.i18n import Translator, format_shanghai, translator

router = APIRouter(prefix=PREFIX, include_in_schema=False)

Reader = Annotated[ConsoleUser, Depends(may(Permission.marketing_read))]
Writer = Annotated[ConsoleUser, Depends(may(Permission.marketing_read, Permission.marketing_write))]
PostWriter = Annotated[
    ConsoleUser, Depends(may_post(Permission.marketing_read, Permission.marketing_write))
]

# ---------------------------------------------------------------- shared helpers

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


def yuan_input(fen: int | None) -> str:
    """5900 → ``"59"``, 1990 → ``"19.90"``: what an operator would type."""
    if fen is None:
        return ""
    whole, cents = divmod(fen, 100)
    return str(whole) if not cents else f"{whole}.{cents:02d}"


def short_yuan(fen: int) -> str:
    """5900 → ``"59"``, 1990 → ``"19.90"`` for rule words (as on a coupon's face)."""
    text = format_yuan(fen)[1:]
    return text[:-3] if text.endswith(".00") else text


def zhe(percent_off: int) -> str:
    """10 % off → ``"9"`` (九折); 5 % off → ``"9.5"``; 12 % off → ``"8.8"``."""
    rate = 100 - percent_off
    return f"{rate // 10}.{rate % 10}" if rate % 10 else str(rate // 10)


def localized(message: str, locale: str) -> str:
    """The half of a service's bilingual ``"中文 / English"`` message for ``locale``."""
    zh, sep, en = message.partition(" / ")
    if not sep:
        return message
    return zh.strip() if locale == "zh-CN" else en.strip()


def marketing_errors(
    t: Translator, locale: str, exc: DomainError, aliases: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A domain error next to the fields it names, in the operator's language; the
    rule checks keep their specific words (e.g. "The end must follow the start")."""
    if exc.code in SPECIFIC_CODES or not has_message(locale, f"error.{exc.code}"):
        text = localized(exc.message, locale)
    else:
        text = error_text(t, locale, exc)
    errors: dict[str, str] = {}
    for name in exc.fields:
        errors.setdefault((aliases or {}).get(name, name), text)
    if not errors:
        errors["_form"] = text
    return errors


T = TypeVar("T")


@dataclass(frozen=True)
class Refusal:
    """Why a marketing form was not saved: errors by field, and the status to answer."""

    errors: dict[str, str]
    status: int


def save_form(
    session: Session,
    t: Translator,
    locale: str,
    aliases: Mapping[str, str],
    work: Callable[[], T],
) -> T | Refusal:
    """Run ``work`` in one transaction; a domain error becomes words next to fields."""
    try:
        with session.begin():
            return work()
    except DomainError as exc:
        return Refusal(marketing_errors(t, locale, exc, aliases), exc.http_status)


def checkbox(form: FormData, name: str) -> bool:
    return any(v in ("1", "on", "true") for v in form.getlist(name) if isinstance(v, str))


@dataclass(frozen=True)
class Picker:
    """The lists an operator picks scope targets from."""

    products: list[tuple[int, str]]
    categories: list[tuple[int, str]]


def picker(session: Session) -> Picker:
    products = session.execute(
        select(Product.id, Product.title).order_by(Product.id.desc()).limit(PICK_LIMIT)
    ).all()
    return Picker([(int(i), str(title)) for i, title in products], category_options(session))


def names_for(session: Session, items: Iterable[Any]) -> tuple[dict[int, str], dict[int, str]]:
    """Product titles and category names for the ids the listed items refer to."""
    product_ids: set[int] = set()
    category_ids: set[int] = set()
    for item in items:
        for name in ("product_ids", "excluded_product_ids", "bundle_product_ids"):
            product_ids.update(getattr(item, name, None) or [])
        category_ids.update(item.category_ids or [])
    products: dict[int, str] = {}
    categories: dict[int, str] = {}
    if product_ids:
        rows = session.execute(
            select(Product.id, Product.title).where(Product.id.in_(product_ids))
        ).all()
        products = {int(i): str(title) for i, title in rows}
    if category_ids:
        rows = session.execute(
            select(Category.id, Category.name).where(Category.id.in_(category_ids))
        ).all()
        categories = {int(i): str(name) for i, name in rows}
    return products, categories


def scope_words(
    t: Translator,
    item: Any,
    products: Mapping[int, str],
    categories: Mapping[int, str],
) -> str:
    """全场 / 分类：咖啡 / 商品：#12 云南小粒… plus 不含 … for exclusions."""

    def named(ids: Iterable[int], names: Mapping[int, str]) -> str:
        return "、".join(f"#{i} {names[i]}" if i in names else f"#{i}" for i in ids)

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
    except ValueError:
        errors[name] = "field.money" if money else "field.int_parsing"
        return None


def words(t: Translator, ids: Mapping[str, str]) -> dict[str, str]:
    return {name: t(message_id) for name, message_id in ids.items()}


# ---------------------------------------------------------------- rule words


def rule_summary(p: Promotion, locale: str) -> str:
    """满199减30 / 满299减50 · 2件9折 · 组合立减¥30 · 会员等级≥2 9.5折 (and in English)."""
    zh = locale == "zh-CN"
    kind = PromotionKind(p.kind)
    if kind is PromotionKind.full_reduction:
        tiers = [(int(x["threshold_fen"]), int(x["amount_fen"])) for x in p.tiers]
        if zh:
            return " / ".join(f"满{short_yuan(a)}减{short_yuan(b)}" for a, b in tiers)
        return " / ".join(f"¥{short_yuan(b)} off ¥{short_yuan(a)}" for a, b in tiers)
    if kind is PromotionKind.n_item_discount:
        if zh:
            return f"{p.min_items}件{zhe(p.percent_off)}折"
        return f"{p.percent_off}% off {p.min_items}+ items"
    if kind is PromotionKind.bundle:
        if zh:
            return f"组合立减¥{short_yuan(p.amount_off_fen)}"
        return f"Bundle ¥{short_yuan(p.amount_off_fen)} off"
    if zh:
        return f"会员等级≥{p.min_tier} {zhe(p.percent_off)}折"
    return f"Member tier ≥{p.min_tier}: {p.percent_off}% off"


# ---------------------------------------------------------------- list


@dataclass(frozen=True)
class PromotionItem:
    promotion: Promotion
    phase: Phase
    rule: str
    scope: str
    bundle: str
    stats: service.PromotionStats


def _bundle_words(p: Promotion, products: Mapping[int, str]) -> str:
    if p.kind is not PromotionKind.bundle:
        return ""
    return " + ".join(
        f"#{i} {products[i]}" if i in products else f"#{i}" for i in p.bundle_product_ids
    )


@router.get("/promotions")
def promotion_list(request: Request, user: Reader, session: SessionDep, now: NowDep) -> Response:
    locale = request_locale(request)
    t = translator("console", locale)
    with session.begin():
        promotions = service.list_promotions(session)
        stats = service.promotion_stats(session)
        products, categories = names_for(session, promotions)
        items = [
            PromotionItem(
                promotion=p,
                phase=phase(p.status, p.starts_at, p.ends_at, now),
                rule=rule_summary(p, locale),
                scope=scope_words(t, p, products, categories),
                bundle=_bundle_words(p, products),
                stats=stats.get(p.id) or service.PromotionStats(p.id, 0, 0, 0),
            )
            for p in promotions
        ]
        return render(request, "promotions.html", user=user, active="promotions", items=items)


# ---------------------------------------------------------------- form

TIER_RE = re.compile(r"^tiers-(\d{1,2})-(threshold|amount)$")
MAX_TIERS = 10
KIND_FIELDS = ("min_items", "percent_off", "bundle_product_ids", "amount_off", "min_tier")
FORM_FIELDS = (
    "name",
    "description",
    "kind",
    *KIND_FIELDS,
    "scope_kind",
    *SCOPE_ID_FIELDS,
    "starts_at",
    "ends_at",
    "stack_group",
    "priority",
)
ALIASES = {"amount_off_fen": "amount_off"}


@dataclass
class TierRow:
    index: int
    threshold: str = ""
    amount: str = ""

    @property
    def is_blank(self) -> bool:
        return not self.threshold and not self.amount


@dataclass
class PromotionForm:
    values: dict[str, str]
    exclusive: bool = False
    tiers: list[TierRow] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # field → message id


def _padded(rows: list[TierRow]) -> list[TierRow]:
    """The tier rows to show: those typed plus blank ones, at least three."""
    shown = [r for r in rows if not r.is_blank]
    next_index = max((r.index for r in rows), default=-1) + 1
    wanted = min(MAX_TIERS, max(3, len(shown) + 1))
    while len(shown) < wanted:
        shown.append(TierRow(next_index))
        next_index += 1
    return shown


def blank_form(now: datetime) -> PromotionForm:
    start = now.astimezone(SHANGHAI).replace(minute=0, second=0, microsecond=0)
    start += timedelta(hours=1)
    return PromotionForm(
        values={
            "kind": PromotionKind.full_reduction.value,
            "scope_kind": Scope.all.value,
            "starts_at": start.strftime(LOCAL_INPUT_FORMAT),
            "ends_at": (start + timedelta(days=7)).strftime(LOCAL_INPUT_FORMAT),
            "stack_group": "default",
            "priority": "0",
        },
        tiers=_padded([]),
    )


def form_of(p: Promotion) -> PromotionForm:
    values = {
        "name": p.name,
        "description": p.description,
        "kind": str(p.kind),
        "scope_kind": str(p.scope_kind),
        "category_ids": ids_text(p.category_ids),
        "product_ids": ids_text(p.product_ids),
        "excluded_product_ids": ids_text(p.excluded_product_ids),
        "starts_at": moment_input(p.starts_at),
        "ends_at": moment_input(p.ends_at),
        "stack_group": p.stack_group,
        "priority": str(p.priority),
        "min_items": str(p.min_items) if p.min_items else "",
        "percent_off": str(p.percent_off) if p.percent_off else "",
        "bundle_product_ids": ids_text(p.bundle_product_ids),
        "amount_off": yuan_input(p.amount_off_fen) if p.amount_off_fen else "",
        "min_tier": str(p.min_tier) if p.min_tier else "",
    }
    tiers = [
        TierRow(i, yuan_input(int(x["threshold_fen"])), yuan_input(int(x["amount_fen"])))
        for i, x in enumerate(p.tiers)
    ]
    return PromotionForm(values, p.exclusive, _padded(tiers))


def read_promotion_form(form: FormData, kind: str) -> tuple[PromotionForm, dict[str, Any]]:
    """The form as typed and the API's ``PromotionCreate`` body; parsing problems go
    to ``pf.errors`` as message ids."""
    values: dict[str, str] = {
        "name": text_field(form, "name", 200),
        "description": text_field(form, "description", 2000),
        "kind": kind,
        "stack_group": text_field(form, "stack_group", 64),
    }
    errors: dict[str, str] = {}
    pf = PromotionForm(values, checkbox(form, "exclusive"), errors=errors)
    payload: dict[str, Any] = {
        "name": values["name"],
        "description": values["description"],
        "kind": kind,
        "exclusive": pf.exclusive,
        "stack_group": values["stack_group"] or "default",
        "priority": read_number(form, "priority", values, errors, default=0),
    }
    if kind not in set(PromotionKind):
        errors["kind"] = "field.enum"
    scope = read_scope(form, values, errors)
    payload["scope_kind"] = scope.scope_kind
    payload.update(scope.values)
    payload["starts_at"] = read_moment(form, "starts_at", values, errors, required=True)
    payload["ends_at"] = read_moment(form, "ends_at", values, errors, required=True)

    rows: dict[int, TierRow] = {}
    for key in form:
        match = TIER_RE.match(key)
        if match and (int(match.group(1)) in rows or len(rows) < MAX_TIERS):
            row = rows.setdefault(int(match.group(1)), TierRow(int(match.group(1))))
            setattr(row, match.group(2), text_field(form, key, 32))
    pf.tiers = [rows[i] for i in sorted(rows)]
    typed = [row for row in pf.tiers if not row.is_blank]

    if kind == PromotionKind.full_reduction:
        tiers = []
        for row in typed:
            tier: dict[str, int] = {}
            for part in ("threshold", "amount"):
                text = getattr(row, part)
                name = f"tiers-{row.index}-{part}"
                try:
                    tier[f"{part}_fen"] = parse_yuan(text)
                except ValueError:
                    errors[name] = "field.missing" if not text else "field.money"
            tiers.append(tier)
        if not typed:
            errors["tiers"] = "field.tiers_required"
        payload["tiers"] = tiers
    elif kind == PromotionKind.n_item_discount:
        payload["min_items"] = read_number(form, "min_items", values, errors)
        payload["percent_off"] = read_number(form, "percent_off", values, errors)
    elif kind == PromotionKind.bundle:
        text = text_field(form, "bundle_product_ids", 10_000)
        values["bundle_product_ids"] = text
        try:
            payload["bundle_product_ids"] = parse_ids(text)
            values["bundle_product_ids"] = ids_text(payload["bundle_product_ids"])
        except ValueError:
            errors["bundle_product_ids"] = "field.ids"
        payload["amount_off_fen"] = read_number(form, "amount_off", values, errors, money=True)
    elif kind == PromotionKind.member_price:
        payload["min_tier"] = read_number(form, "min_tier", values, errors)
        payload["percent_off"] = read_number(form, "percent_off", values, errors)
    # Keep what was typed in the other kinds' fields so switching back loses nothing.
    for name in KIND_FIELDS:
        values.setdefault(name, text_field(form, name, 10_000))
    pf.tiers = _padded(pf.tiers)
    return pf, payload


def field_for(pf: PromotionForm, typed: list[TierRow], loc: tuple[Any, ...]) -> str:
    """Where a pydantic error about ``loc`` is shown on the form."""
    if not loc:
        return "_form"
    head = ALIASES.get(str(loc[0]), str(loc[0]))
    if head == "tiers":
        if len(loc) >= 3 and isinstance(loc[1], int) and loc[1] < len(typed):
            part = "threshold" if str(loc[2]).startswith("threshold") else "amount"
            return f"tiers-{typed[loc[1]].index}-{part}"
        return "tiers"
    return head if head in FORM_FIELDS or head == "exclusive" else "_form"


def validate(
    t: Translator, locale: str, pf: PromotionForm, payload: dict[str, Any], *, create: bool
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Parsing problems first, then the request schema the JSON API uses."""
    errors = words(t, pf.errors)
    typed = [row for row in pf.tiers if not row.is_blank]
    try:
        if create:
            body: dict[str, Any] = PromotionCreate.model_validate(payload).values()
        else:
            changes = {k: v for k, v in payload.items() if k != "kind"}
            body = PromotionFields.model_validate(changes).changes()
    except ValidationError as exc:
        found = pydantic_field_errors(
            t, locale, exc.errors(), lambda loc: field_for(pf, typed, loc)
        )
        return None, found | errors
    return (None if errors else body), errors


def edit_page(
    request: Request,
    user: ConsoleUser,
    session: Session,
    pf: PromotionForm,
    *,
    promotion_id: int | None,
    now: datetime,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    locale = request_locale(request)
    with session.begin():
        promotion = stats = current_phase = None
        if promotion_id is not None:
            promotion = service.get_promotion(session, promotion_id)
            current_phase = phase(promotion.status, promotion.starts_at, promotion.ends_at, now)
            stats = service.promotion_stats(session).get(promotion.id)
        return render(
            request,
            "promotion_edit.html",
            user=user,
            active="promotions",
            status=status,
            promotion=promotion,
            rule=rule_summary(promotion, locale) if promotion else "",
            phase=current_phase,
            stats=stats,
            form=pf,
            values=pf.values,
            errors=errors or {},
            kinds=list(PromotionKind),
            scopes=list(Scope),
            pick=picker(session),
        )


@router.get("/promotions/new")
def new_promotion_form(
    request: Request, user: Writer, session: SessionDep, now: NowDep
) -> Response:
    return edit_page(request, user, session, blank_form(now), promotion_id=None, now=now)


@router.post("/promotions/new")
def create_promotion(
    request: Request, form: FormDep, user: PostWriter, session: SessionDep, now: NowDep
) -> Response:
    locale = request_locale(request)
    t = translator("console", locale)
    pf, payload = read_promotion_form(form, text_field(form, "kind", 32))
    body, errors = validate(t, locale, pf, payload, create=True)
    status = 422
    if body is not None:
        values = body
        saved = save_form(
            session,
            t,
            locale,
            ALIASES,
            lambda: (
                service.create_promotion(
                    session, actor_id=user.principal.id, values=values, now=now
                ).id
            ),
        )
        if not isinstance(saved, Refusal):
            return redirect(f"{PREFIX}/promotions?notice=promotion_created#promotion-{saved}")
        errors, status = saved.errors, saved.status
    return edit_page(
        request, user, session, pf, promotion_id=None, now=now, errors=errors, status=status
    )


@router.get("/promotions/{promotion_id}")
def promotion_page(
    promotion_id: int, request: Request, user: Reader, session: SessionDep, now: NowDep
) -> Response:
    with session.begin():
        pf = form_of(service.get_promotion(session, promotion_id))
    return edit_page(request, user, session, pf, promotion_id=promotion_id, now=now)


@router.post("/promotions/{promotion_id}")
def update_promotion(
    promotion_id: int,
    request: Request,
    form: FormDep,
    user: PostWriter,
    session: SessionDep,
    now: NowDep,
) -> Response:
    locale = request_locale(request)
    t = translator("console", locale)
    with session.begin():
        kind = str(service.get_promotion(session, promotion_id).kind)
    pf, payload = read_promotion_form(form, kind)
    body, errors = validate(t, locale, pf, payload, create=False)
    status = 422
    if body is not None:
        changes = body
        saved = save_form(
            session,
            t,
            locale,
            ALIASES,
            lambda: service.update_promotion(
                session,
                actor_id=user.principal.id,
                promotion_id=promotion_id,
                changes=changes,
                now=now,
            ),
        )
        if not isinstance(saved, Refusal):
            return redirect(f"{PREFIX}/promotions/{promotion_id}?notice=saved")
        errors, status = saved.errors, saved.status
    return edit_page(
        request,
        user,
        session,
        pf,
        promotion_id=promotion_id,
        now=now,
        errors=errors,
        status=status,
    )


@router.post("/promotions/{promotion_id}/status")
def change_status(
    promotion_id: int,
    request: Request,
    form: FormDep,
    user: PostWriter,
    session: SessionDep,
    now: NowDep,
) -> Response:
    raw = text_field(form, "status", 16)
    back_to_page = text_field(form, "back", 8) == "edit"
    if raw not in set(PromotionStatus):
        with session.begin():
            pf = form_of(service.get_promotion(session, promotion_id))
        t = translator("console", request_locale(request))
        return edit_page(
            request,
            user,
            session,
            pf,
            promotion_id=promotion_id,
            now=now,
            errors={"status": t("field.enum")},
            status=422,
        )
    with session.begin():
        service.set_status(
            session,
            actor_id=user.principal.id,
            promotion_id=promotion_id,
            status=PromotionStatus(raw),
            now=now,
        )
    if raw == PromotionStatus.paused:
        if back_to_page:
            return redirect(f"{PREFIX}/promotions/{promotion_id}?notice=promotion_paused")
        return redirect(f"{PREFIX}/promotions?notice=promotion_paused")
    if back_to_page:
        return redirect(f"{PREFIX}/promotions/{promotion_id}?notice=promotion_resumed")
    return redirect(f"{PREFIX}/promotions?notice=promotion_resumed")
