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

The form helpers shared with ``coupons.py`` live in ``marketing/forms.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from siyu.clock import SHANGHAI
from siyu.money import short_yuan, zhe
from siyu.pricing.info import PromotionKind, Scope
from siyu.promotion import service
from siyu.promotion.models import Promotion
from siyu.promotion.rules import Phase, PromotionStatus, phase
from siyu.promotion.schemas import PromotionCreate, PromotionFields
from siyu.web.console.base import (
    PREFIX,
    ConsoleUser,
    pydantic_field_errors,
    render,
    request_locale,
)
from siyu.web.console.forms import parse_yuan, yuan_input
from siyu.web.console.marketing.forms import (
    LOCAL_INPUT_FORMAT,
    SCOPE_ID_FIELDS,
    OfferPages,
    Reader,
    checkbox,
    ids_text,
    moment_input,
    names_for,
    parse_ids,
    picker,
    read_moment,
    read_number,
    read_scope,
    scope_words,
    words,
)
from siyu.web.console.security import text_field
from siyu.web.deps import NowDep, Session, SessionDep
from siyu.web.i18n import Translator, translator

router = APIRouter(prefix=PREFIX, include_in_schema=False)


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
            "stack_group": "",
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
        "stack_group": "" if p.stack_group == "default" else p.stack_group,
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
    promotion_id: int | None,
    *,
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


PAGES = OfferPages[PromotionForm](
    path="promotions",
    anchor="promotion",
    created_notice="promotion_created",
    aliases=ALIASES,
    read=lambda form, kind: read_promotion_form(form, kind),
    validate=lambda t, locale, pf, payload, create: validate(t, locale, pf, payload, create=create),
    kind_of=lambda session, pid: str(service.get_promotion(session, pid).kind),
    create=lambda session, actor, values, now: (
        service.create_promotion(session, actor_id=actor, values=values, now=now).id
    ),
    update=lambda session, actor, pid, changes, now: service.update_promotion(
        session, actor_id=actor, promotion_id=pid, changes=changes, now=now
    ),
    page=edit_page,
    blank=blank_form,
    load=lambda session, pid: form_of(service.get_promotion(session, pid)),
    set_status=lambda session, actor, pid, status, now: service.set_status(
        session, actor_id=actor, promotion_id=pid, status=PromotionStatus(status), now=now
    ),
    status_notices={
        PromotionStatus.paused: "promotion_paused",
        PromotionStatus.active: "promotion_resumed",
    },
    status_from_list=True,
)


PAGES.mount(router)
