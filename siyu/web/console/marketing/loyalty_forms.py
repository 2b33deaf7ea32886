"""What the loyalty pages (会员) share on top of the marketing form layer: reading
optional numbers, putting a service's field problems next to the form's fields in the
operator's words, and the coupon templates a reward may name.

A service refuses a whole rule set with ``InvalidInput(code, message, fields)`` whose
field names are its own (``tiers.2.threshold``); each page gives ``to_form`` (the form
field of a service field) and ``hints`` (the form field's suffix → a message id that
says what the field must hold), so the operator reads "thresholds start at 0 and rise"
next to the box, in their language, and never a code."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.datastructures import FormData

from siyu.coupon import service as coupons
from siyu.errors import DomainError
from siyu.web.console.base import error_text, pydantic_field_text
from siyu.web.console.forms import money_error, parse_int, parse_yuan
from siyu.web.console.security import text_field
from siyu.web.deps import Session
from siyu.web.i18n import Translator


def read_int(
    form: FormData,
    name: str,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    default: int | None = None,
) -> int | None:
    """A whole number; blank gives ``default`` (missing when None). Problems land in
    ``errors`` as message ids."""
    text = text_field(form, name, 32)
    values[name] = text
    if not text:
        if default is None:
            errors[name] = "field.missing"
        return default
    try:
        return parse_int(text)
    except ValueError:
        errors[name] = "field.int_parsing"
        return None


def read_optional_int(
    form: FormData, name: str, values: dict[str, str], errors: dict[str, str]
) -> int | None:
    """A whole number, or None when left blank."""
    return read_int(form, name, values, errors, default=None) if text_field(form, name) else None


def read_optional_yuan(
    form: FormData, name: str, values: dict[str, str], errors: dict[str, str]
) -> int | None:
    """A yuan amount in fen, or None when left blank."""
    text = text_field(form, name, 32)
    values[name] = text
    if not text:
        return None
    try:
        return parse_yuan(text)
    except ValueError as exc:
        errors[name] = money_error(text, exc)
        return None


def problem_errors(
    t: Translator,
    locale: str,
    exc: DomainError,
    to_form: Callable[[str], str],
    hints: Mapping[str, str],
) -> dict[str, str]:
    """A service's refusal as words next to each form field it names: the field's own
    hint when there is one, else the catalog's words for the error."""
    general = error_text(t, locale, exc)
    errors: dict[str, str] = {}
    for name in exc.fields:
        target = to_form(name)
        # "t2_threshold" → "threshold": a row's field shares the column's hint
        message_id = hints.get(target) or hints.get(target.split("_", 1)[-1])
        errors.setdefault(target, t(message_id) if message_id else general)
    if not errors:
        errors["_form"] = general
    return errors


def schema_errors(
    t: Translator,
    locale: str,
    problems: list[Any],
    to_form: Callable[[tuple[Any, ...]], str],
) -> dict[str, str]:
    """pydantic's errors next to the form fields, in the catalog's words."""
    errors: dict[str, str] = {}
    for problem in problems:
        name = to_form(tuple(problem.get("loc", ()))) or "_form"
        errors.setdefault(name, pydantic_field_text(t, locale, problem))
    return errors


def coupon_choices(session: Session) -> list[tuple[int, str]]:
    """(id, name) of every coupon template: what a birthday gift, a check-in day, a
    points-mall item or a lottery prize may hand out."""
    return [(tpl.id, tpl.name) for tpl in coupons.list_templates(session)]
