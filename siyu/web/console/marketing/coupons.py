"""Coupon templates (优惠券): the list with each face value, validity, quantity, status
and redemption figures; the create/edit form; pause, resume and end; and bulk issue to
a pasted list of shoppers.

Reading needs ``marketing.read`` (owner, operator, analyst); every change needs
``marketing.write`` and goes through ``siyu.coupon.service`` (``check_template``, the
catalog references, the audit log). Money is typed in yuan, times as Shanghai
wall-clock time.

Routes: ``GET /console/coupons``; ``GET|POST /console/coupons/new``;
``GET|POST /console/coupons/{id}``; ``POST /console/coupons/{id}/status`` (``status`` =
``active``, ``paused`` or ``ended``); ``POST /console/coupons/{id}/issue``.

Stable selectors: list rows ``tr[data-testid=coupon-row]`` (``data-id``, ``data-kind``,
``data-status``) with ``[data-testid=coupon-face]``, ``[data-testid=coupon-validity]``,
``[data-testid=coupon-quantity]``, ``td[data-testid=coupon-stat-<key>]`` (``data-value``;
keys issued, claimed, used, expired, unused, gmv, discount, usage_rate);
``a#new-coupon``. Form ``form#coupon-form``: ``#name``, ``#description``, ``#kind``,
``#threshold`` / ``#amount`` / ``#cap`` (yuan), ``#percent_off``, the scope fields as on
the promotion form, ``#validity_kind`` with ``#valid_from`` / ``#valid_until``
(datetime-local) or ``#valid_days``, ``#total_quantity`` (blank: unlimited),
``#per_shopper_limit``, ``#new_shoppers``, ``#min_tier``, ``#stack_group``,
``#exclusive``, ``#claimable``, ``#claim_starts_at`` / ``#claim_ends_at``,
``#gift_trigger``, ``button#coupon-submit``. Coupon page: ``button#coupon-pause``,
``#coupon-resume``, ``#coupon-end``; bulk issue ``form#bulk-form`` with
``#shopper_ids``, ``#batch_key``, ``button#bulk-submit`` → ``[data-testid=bulk-result]``
with ``[data-testid=bulk-issued]`` / ``bulk-refused`` / ``bulk-unknown`` (``data-count``),
``li[data-testid=bulk-refused-item]`` (``data-shopper-id``, ``data-reason``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from siyu.coupon import redemption, service
from siyu.coupon.models import CouponTemplate
from siyu.coupon.rules import (
    Audience,
    GiftTrigger,
    IssueRefusal,
    TemplateStatus,
    ValidityKind,
    coupon_title,
)
from siyu.coupon.schemas import NULLABLE, BulkIssue, TemplateCreate, TemplateFields
from siyu.pricing.info import CouponKind, Scope
from siyu.web.console.base import (
    PREFIX,
    ConsoleUser,
    pydantic_field_errors,
    render,
    request_locale,
)
from siyu.web.console.forms import yuan_input
from siyu.web.console.marketing.forms import (
    SCOPE_ID_FIELDS,
    OfferPages,
    PostWriter,
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
from siyu.web.console.security import FormDep, text_field
from siyu.web.deps import NowDep, Session, SessionDep
from siyu.web.i18n import Translator, format_shanghai, translator

router = APIRouter(prefix=PREFIX, include_in_schema=False)


FORM_FIELDS = (
    "name",
    "description",
    "kind",
    "threshold",
    "amount",
    "percent_off",
    "cap",
    "scope_kind",
    *SCOPE_ID_FIELDS,
    "validity_kind",
    "valid_from",
    "valid_until",
    "valid_days",
    "total_quantity",
    "per_shopper_limit",
    "min_tier",
    "stack_group",
    "claim_starts_at",
    "claim_ends_at",
    "gift_trigger",
)
FLAGS = ("new_shoppers", "exclusive", "claimable")
ALIASES = {
    "threshold_fen": "threshold",
    "amount_fen": "amount",
    "cap_fen": "cap",
    "audience": "new_shoppers",
}
FACE_FIELDS = ("threshold", "amount", "percent_off", "cap")


def face_value(t: CouponTemplate, locale: str) -> str:
    """满100减20 / ¥20 off ¥100, from the same rule the shopper's coupon shows."""
    zh, en = coupon_title(t.kind, t.threshold_fen, t.amount_fen, t.percent_off, t.cap_fen)
    return zh if locale == "zh-CN" else en


def zero_stats(template_id: int) -> redemption.RedemptionStats:
    return redemption.RedemptionStats(template_id, 0, 0, 0, 0, 0, 0, 0, 0)


def usage_rate(stats: redemption.RedemptionStats) -> float | None:
    return stats.used / stats.issued if stats.issued else None


def validity_words(t: Translator, template: CouponTemplate) -> str:
    if template.validity_kind is ValidityKind.relative:
        return t("coupon.valid_days_after", days=template.valid_days or 0)
    return f"{format_shanghai(template.valid_from)} – {format_shanghai(template.valid_until)}"


# ---------------------------------------------------------------- list


@dataclass(frozen=True)
class CouponItem:
    template: CouponTemplate
    face: str
    validity: str
    scope: str
    stats: redemption.RedemptionStats
    usage_rate: float | None


@router.get("/coupons")
def coupon_list(request: Request, user: Reader, session: SessionDep, now: NowDep) -> Response:
    locale = request_locale(request)
    t = translator("console", locale)
    with session.begin():
        templates = service.list_templates(session)
        stats = redemption.redemption_stats(session, now)
        products, categories = names_for(session, templates)
        items = []
        for tpl in templates:
            figures = stats.get(tpl.id) or zero_stats(tpl.id)
            items.append(
                CouponItem(
                    template=tpl,
                    face=face_value(tpl, locale),
                    validity=validity_words(t, tpl),
                    scope=scope_words(t, tpl, products, categories),
                    stats=figures,
                    usage_rate=usage_rate(figures),
                )
            )
        return render(request, "coupons.html", user=user, active="coupons", items=items)


# ---------------------------------------------------------------- form


@dataclass
class CouponForm:
    values: dict[str, str]
    flags: dict[str, bool] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # field → message id


def blank_form() -> CouponForm:
    return CouponForm(
        values={
            "kind": CouponKind.cash_off.value,
            "scope_kind": Scope.all.value,
            "validity_kind": ValidityKind.relative.value,
            "valid_days": "7",
            "per_shopper_limit": "1",
            "min_tier": "0",
            "stack_group": "",
            "gift_trigger": GiftTrigger.none.value,
        },
        flags={"claimable": True},
    )


def form_of(tpl: CouponTemplate) -> CouponForm:
    values = {
        "name": tpl.name,
        "description": tpl.description,
        "kind": str(tpl.kind),
        "threshold": yuan_input(tpl.threshold_fen) if tpl.threshold_fen else "",
        "amount": yuan_input(tpl.amount_fen) if tpl.amount_fen else "",
        "percent_off": str(tpl.percent_off) if tpl.percent_off else "",
        "cap": yuan_input(tpl.cap_fen) if tpl.cap_fen else "",
        "scope_kind": str(tpl.scope_kind),
        "category_ids": ids_text(tpl.category_ids),
        "product_ids": ids_text(tpl.product_ids),
        "excluded_product_ids": ids_text(tpl.excluded_product_ids),
        "validity_kind": str(tpl.validity_kind),
        "valid_from": moment_input(tpl.valid_from),
        "valid_until": moment_input(tpl.valid_until),
        "valid_days": "" if tpl.valid_days is None else str(tpl.valid_days),
        "total_quantity": "" if tpl.total_quantity is None else str(tpl.total_quantity),
        "per_shopper_limit": str(tpl.per_shopper_limit),
        "min_tier": str(tpl.min_tier),
        "stack_group": "" if tpl.stack_group == "default" else tpl.stack_group,
        "claim_starts_at": moment_input(tpl.claim_starts_at),
        "claim_ends_at": moment_input(tpl.claim_ends_at),
        "gift_trigger": str(tpl.gift_trigger),
    }
    flags = {
        "new_shoppers": tpl.audience is Audience.new_shoppers,
        "exclusive": tpl.exclusive,
        "claimable": tpl.claimable,
    }
    return CouponForm(values, flags)


def read_coupon_form(form: FormData, kind: str) -> tuple[CouponForm, dict[str, Any]]:
    """The form as typed and the API's ``TemplateCreate`` body; parsing problems go
    to ``cf.errors`` as message ids."""
    values: dict[str, str] = {
        "name": text_field(form, "name", 200),
        "description": text_field(form, "description", 2000),
        "kind": kind,
        "stack_group": text_field(form, "stack_group", 64),
        "validity_kind": text_field(form, "validity_kind", 16),
        "gift_trigger": text_field(form, "gift_trigger", 16) or GiftTrigger.none.value,
    }
    errors: dict[str, str] = {}
    cf = CouponForm(values, {name: checkbox(form, name) for name in FLAGS}, errors)
    payload: dict[str, Any] = {
        "name": values["name"],
        "description": values["description"],
        "kind": kind,
        "stack_group": values["stack_group"] or "default",
        "exclusive": cf.flags["exclusive"],
        "claimable": cf.flags["claimable"],
        "audience": (Audience.new_shoppers if cf.flags["new_shoppers"] else Audience.everyone),
        "gift_trigger": values["gift_trigger"],
        "threshold_fen": read_number(form, "threshold", values, errors, money=True, default=0),
        "per_shopper_limit": read_number(form, "per_shopper_limit", values, errors, default=1),
        "min_tier": read_number(form, "min_tier", values, errors, default=0),
    }
    if kind not in set(CouponKind):
        errors["kind"] = "field.enum"
    if values["gift_trigger"] not in set(GiftTrigger):
        errors["gift_trigger"] = "field.enum"
    if kind == CouponKind.cash_off:
        payload["amount_fen"] = read_number(form, "amount", values, errors, money=True)
    elif kind == CouponKind.percent_off:
        payload["percent_off"] = read_number(form, "percent_off", values, errors)
        payload["cap_fen"] = read_number(form, "cap", values, errors, money=True, default=0)
    for name in ("amount", "percent_off", "cap"):  # what the other kinds' fields hold
        values.setdefault(name, text_field(form, name, 32))

    scope = read_scope(form, values, errors)
    payload["scope_kind"] = scope.scope_kind
    payload.update(scope.values)

    validity = values["validity_kind"]
    payload["validity_kind"] = validity
    if validity == ValidityKind.fixed:
        payload["valid_from"] = read_moment(form, "valid_from", values, errors, required=True)
        payload["valid_until"] = read_moment(form, "valid_until", values, errors, required=True)
        payload["valid_days"] = None
        values["valid_days"] = text_field(form, "valid_days", 16)
    elif validity == ValidityKind.relative:
        payload["valid_days"] = read_number(form, "valid_days", values, errors)
        payload["valid_from"] = payload["valid_until"] = None
        values["valid_from"] = text_field(form, "valid_from", 32)
        values["valid_until"] = text_field(form, "valid_until", 32)
    else:
        errors["validity_kind"] = "field.enum"

    quantity = text_field(form, "total_quantity", 16)
    payload["total_quantity"] = (
        read_number(form, "total_quantity", values, errors) if quantity else None
    )
    values["total_quantity"] = quantity
    for name in ("claim_starts_at", "claim_ends_at"):
        payload[name] = read_moment(form, name, values, errors, required=False)
    return cf, payload


def field_for(loc: tuple[Any, ...]) -> str:
    if not loc:
        return "_form"
    head = ALIASES.get(str(loc[0]), str(loc[0]))
    return head if head in FORM_FIELDS or head in FLAGS else "_form"


def validate(
    t: Translator, locale: str, cf: CouponForm, payload: dict[str, Any], *, create: bool
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Parsing problems first, then the request schema the JSON API uses."""
    errors = words(t, cf.errors)
    # A field that could not be read is already reported; leave it out of the schema.
    body = {k: v for k, v in payload.items() if v is not None or (k in NULLABLE and not create)}
    try:
        if create:
            checked: dict[str, Any] = TemplateCreate.model_validate(body).values()
        else:
            body.pop("kind", None)
            checked = TemplateFields.model_validate(body).model_dump(exclude_unset=True)
    except ValidationError as exc:
        found = pydantic_field_errors(t, locale, exc.errors(), field_for)
        return None, found | errors
    return (None if errors else checked), errors


# ---------------------------------------------------------------- pages


@dataclass(frozen=True)
class BulkOutcome:
    issued: list[int]
    refused: list[tuple[int, str, str]]  # shopper id, reason code, words
    unknown: list[int]


def edit_page(
    request: Request,
    user: ConsoleUser,
    session: Session,
    cf: CouponForm,
    template_id: int | None,
    *,
    now: datetime,
    errors: dict[str, str] | None = None,
    status: int = 200,
    bulk: BulkOutcome | None = None,
    bulk_values: dict[str, str] | None = None,
) -> Response:
    locale = request_locale(request)
    with session.begin():
        tpl = stats = None
        if template_id is not None:
            tpl = service.get_template(session, template_id)
            stats = redemption.redemption_stats(session, now).get(tpl.id) or zero_stats(tpl.id)
        return render(
            request,
            "coupon_edit.html",
            user=user,
            active="coupons",
            status=status,
            coupon=tpl,
            face=face_value(tpl, locale) if tpl else "",
            stats=stats,
            usage=usage_rate(stats) if stats else None,
            form=cf,
            values=cf.values,
            flags=cf.flags,
            errors=errors or {},
            face_frozen=bool(tpl and tpl.issued_count > 0),
            kinds=list(CouponKind),
            scopes=list(Scope),
            validity_kinds=list(ValidityKind),
            gift_triggers=list(GiftTrigger),
            pick=picker(session),
            bulk=bulk,
            bulk_values=bulk_values
            or {"batch_key": "batch-" + format_shanghai(now, "%Y%m%d-%H%M")},
        )


PAGES = OfferPages[CouponForm](
    path="coupons",
    anchor="coupon",
    created_notice="coupon_created",
    aliases=ALIASES,
    read=lambda form, kind: read_coupon_form(form, kind),
    validate=lambda t, locale, cf, payload, create: validate(t, locale, cf, payload, create=create),
    kind_of=lambda session, tid: str(service.get_template(session, tid).kind),
    create=lambda session, actor, values, now: (
        service.create_template(session, actor_id=actor, values=values, now=now).id
    ),
    update=lambda session, actor, tid, changes, now: service.update_template(
        session, actor_id=actor, template_id=tid, changes=changes, now=now
    ),
    page=edit_page,
    blank=lambda now: blank_form(),
    load=lambda session, tid: form_of(service.get_template(session, tid)),
    set_status=lambda session, actor, tid, status, now: service.set_template_status(
        session, actor_id=actor, template_id=tid, status=TemplateStatus(status), now=now
    ),
    status_notices={
        TemplateStatus.paused: "coupon_paused",
        TemplateStatus.ended: "coupon_ended",
        TemplateStatus.active: "coupon_resumed",
    },
)
_current_form = PAGES.current


def refusal_words(t: Translator, reason: IssueRefusal) -> str:
    return t(f"coupon.refusal.{reason.value}")


@router.post("/coupons/{template_id}/issue")
def bulk_issue(
    template_id: int,
    request: Request,
    form: FormDep,
    user: PostWriter,
    session: SessionDep,
    now: NowDep,
) -> Response:
    locale = request_locale(request)
    t = translator("console", locale)
    values = {
        "shopper_ids": text_field(form, "shopper_ids", 200_000),
        "batch_key": text_field(form, "batch_key", 80),
    }
    errors: dict[str, str] = {}
    body: BulkIssue | None = None
    try:
        ids = parse_ids(values["shopper_ids"])
    except ValueError:
        errors["shopper_ids"] = t("field.ids")
        ids = []
    if not ids and not errors:
        errors["shopper_ids"] = t("field.missing")
    if not errors:
        try:
            body = BulkIssue.model_validate({"shopper_ids": ids, "batch_key": values["batch_key"]})
        except ValidationError as exc:
            errors = pydantic_field_errors(t, locale, exc.errors(), lambda loc: str(loc[0]))
    outcome = None
    status = 422
    if body is not None:
        with session.begin():
            result = service.bulk_issue(
                session,
                actor_id=user.principal.id,
                template_id=template_id,
                shopper_ids=body.shopper_ids,
                batch_key=body.batch_key,
                now=now,
            )
        outcome = BulkOutcome(
            issued=result.issued,
            refused=[
                (shopper_id, reason.value, refusal_words(t, reason))
                for shopper_id, reason in result.refused.items()
            ],
            unknown=result.unknown,
        )
        status = 200
    cf = _current_form(session, template_id)
    return edit_page(
        request,
        user,
        session,
        cf,
        template_id=template_id,
        now=now,
        errors=errors,
        status=status,
        bulk=outcome,
        bulk_values=values,
    )


PAGES.mount(router)
