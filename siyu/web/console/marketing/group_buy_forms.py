"""The group-buy form (拼团活动): what an operator types — the SKU, up to five tiers
(group size and the price at that size, in yuan), the time limit in minutes, the units
per member, the groups per shopper, new shoppers only, 模拟成团, free shipping, the
window (Shanghai wall-clock time) and the status — read into the JSON API's
``CampaignIn`` body, its problems as words next to their fields."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from siyu.clock import SHANGHAI
from siyu.group_buy.models import GroupBuyCampaign
from siyu.group_buy.rules import MAX_TIERS, CampaignStatus
from siyu.web.api.group_buy import CampaignIn
from siyu.web.console.forms import yuan_input
from siyu.web.console.marketing.forms import (
    LOCAL_INPUT_FORMAT,
    checkbox,
    moment_input,
    read_moment,
    read_number,
    words,
)
from siyu.web.console.marketing.loyalty_forms import read_int, schema_errors
from siyu.web.console.security import text_field
from siyu.web.i18n import Translator

FLAGS = ("new_shoppers_only", "auto_fill", "free_shipping")
# What a new campaign may be saved as; pause and end are status actions.
FORM_STATUSES = (CampaignStatus.draft, CampaignStatus.active)
# The service's field → the form's.
ALIASES = {"tiers": "tiers", "sku_id": "sku_id", "duration_minutes": "duration_minutes",
           "ends_at": "ends_at", "max_quantity": "max_quantity"}  # fmt: skip
HINTS = {
    "tiers": "group_buy.err_tiers",
    "duration_minutes": "group_buy.err_duration",
    "ends_at": "group_buy.err_ends",
    "max_quantity": "group_buy.err_limits",
    "per_shopper_limit": "group_buy.err_limits",
    "sku_id": "group_buy.err_sku",
}


def campaign_values(c: GroupBuyCampaign) -> dict[str, str]:
    values = {
        "name": c.name,
        "sku_id": str(c.sku_id),
        "duration_minutes": str(c.duration_minutes),
        "max_quantity": str(c.max_quantity),
        "per_shopper_limit": str(c.per_shopper_limit),
        "starts_at": moment_input(c.starts_at),
        "ends_at": moment_input(c.ends_at),
        "status": str(c.status),
    }
    for flag in FLAGS:
        values[flag] = "1" if getattr(c, flag) else ""
    for n, tier in enumerate(c.tier_list, start=1):
        values[f"t{n}_size"] = str(tier.size)
        values[f"t{n}_price"] = yuan_input(tier.price_fen)
    return values


def blank_values(now: datetime) -> dict[str, str]:
    start = now.astimezone(SHANGHAI).replace(minute=0, second=0, microsecond=0)
    start += timedelta(hours=1)
    return {
        "duration_minutes": "1440",
        "max_quantity": "1",
        "per_shopper_limit": "0",
        "free_shipping": "1",
        "starts_at": start.strftime(LOCAL_INPUT_FORMAT),
        "ends_at": (start + timedelta(days=7)).strftime(LOCAL_INPUT_FORMAT),
        "status": CampaignStatus.active.value,
        "t1_size": "2",
    }


def read_campaign_form(
    form: FormData, current: CampaignStatus | None
) -> tuple[dict[str, str], dict[str, str], dict[str, Any], list[int]]:
    """What was typed, errors (message ids), the ``CampaignIn`` body and the numbers of
    the tier rows typed (a pydantic error at ``tiers[i]`` is row ``typed[i]``). Editing
    keeps the campaign's status: it changes through the status actions."""
    values = {"name": text_field(form, "name", 60)}
    errors: dict[str, str] = {}
    status = text_field(form, "status", 16) or CampaignStatus.active.value
    if current is not None:
        status = current.value
    elif status not in {s.value for s in FORM_STATUSES}:
        errors["status"] = "field.enum"
    values["status"] = status
    body: dict[str, Any] = {
        "name": values["name"],
        "status": status,
        "sku_id": read_int(form, "sku_id", values, errors),
        "duration_minutes": read_int(form, "duration_minutes", values, errors),
        "max_quantity": read_int(form, "max_quantity", values, errors, default=1),
        "per_shopper_limit": read_int(form, "per_shopper_limit", values, errors, default=0),
        "starts_at": read_moment(form, "starts_at", values, errors, required=True),
        "ends_at": read_moment(form, "ends_at", values, errors, required=True),
    }
    for flag in FLAGS:
        body[flag] = checkbox(form, flag)
        values[flag] = "1" if body[flag] else ""
    tiers: list[dict[str, Any]] = []
    typed: list[int] = []
    for n in range(1, MAX_TIERS + 1):
        if not text_field(form, f"t{n}_size") and not text_field(form, f"t{n}_price"):
            continue
        typed.append(n)
        size = read_number(form, f"t{n}_size", values, errors)
        price = read_number(form, f"t{n}_price", values, errors, money=True)
        tiers.append({"size": size, "price_fen": price})
    if not tiers:
        errors["tiers"] = "group_buy.err_no_tiers"
    body["tiers"] = tiers
    return values, errors, body, typed


def checked_body(
    t: Translator, locale: str, ids: dict[str, str], body: dict[str, Any], typed: list[int]
) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Parsing problems first, then the API's schema; the values ``save_campaign``
    takes, or None with the errors in words."""
    errors = words(t, ids)
    if errors:
        return None, errors

    def to_form(loc: tuple[Any, ...]) -> str:
        if len(loc) >= 3 and loc[0] == "tiers" and isinstance(loc[1], int) and loc[1] < len(typed):
            part = "price" if str(loc[2]).startswith("price") else "size"
            return f"t{typed[loc[1]]}_{part}"
        return str(loc[0]) if loc else "_form"

    try:
        checked = CampaignIn.model_validate(body)
    except ValidationError as exc:
        return None, schema_errors(t, locale, list(exc.errors()), to_form)
    values = checked.model_dump()
    values["tiers"] = [[tier.size, tier.price_fen] for tier in checked.tiers]
    return values, {}
