"""The flash-sale form (秒杀场次): the session — name, window (Shanghai wall-clock
time), status, payment time limit — and its item rows: the SKU (fixed once added), the
sale price (yuan), the quantity and the per-shopper limit. Read into the JSON API's
``FlashSessionEdit`` and ``FlashItemIn`` / ``FlashItemEdit`` bodies, problems as words
next to their fields (row N's fields are ``iN_sku``, ``iN_price``, ``iN_quantity``,
``iN_limit``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from siyu.clock import SHANGHAI
from siyu.flash_sale.models import FlashSession
from siyu.flash_sale.rules import MAX_ITEMS, SessionStatus
from siyu.flash_sale.service import ItemView
from siyu.web.api.flash_sale import FlashItemEdit, FlashItemIn, FlashSessionEdit
from siyu.web.console.forms import yuan_input
from siyu.web.console.marketing.forms import (
    LOCAL_INPUT_FORMAT,
    moment_input,
    read_moment,
    read_number,
    words,
)
from siyu.web.console.marketing.loyalty_forms import read_int, schema_errors
from siyu.web.console.security import text_field
from siyu.web.i18n import Translator

BLANK_ROWS = 1
ITEM_SUFFIX = {"sku_id": "sku", "sale_price_fen": "price", "quantity": "quantity",
               "per_shopper_limit": "limit"}  # fmt: skip
HINTS = {
    "ends_at": "flash_sale.err_session",
    "price": "flash_sale.err_item",
    "sku": "flash_sale.err_sku",
}


def session_values(fs: FlashSession, items: list[ItemView]) -> dict[str, str]:
    values = {
        "name": fs.name,
        "starts_at": moment_input(fs.starts_at),
        "ends_at": moment_input(fs.ends_at),
        "status": str(fs.status),
        "payment_timeout_minutes": str(fs.payment_timeout_minutes),
    }
    for n, view in enumerate(items, start=1):
        item = view.item
        values |= {
            f"i{n}_id": str(item.id),
            f"i{n}_sku": str(item.sku_id),
            f"i{n}_price": yuan_input(item.sale_price_fen),
            f"i{n}_quantity": str(item.quantity),
            f"i{n}_limit": str(item.per_shopper_limit),
        }
    return values


def blank_values(now: datetime) -> dict[str, str]:
    start = now.astimezone(SHANGHAI).replace(minute=0, second=0, microsecond=0)
    start += timedelta(hours=1)
    return {
        "starts_at": start.strftime(LOCAL_INPUT_FORMAT),
        "ends_at": (start + timedelta(minutes=30)).strftime(LOCAL_INPUT_FORMAT),
        "status": SessionStatus.active.value,
        "payment_timeout_minutes": "5",
        "i1_limit": "1",
    }


def row_count(values: dict[str, str]) -> int:
    """Rows to show: every row typed or stored, and one blank row to add an item."""
    typed = [n for n in range(1, MAX_ITEMS + 1) if any(
        values.get(f"i{n}_{part}") for part in ("id", "sku", "price", "quantity"))]  # fmt: skip
    return min(max(typed, default=0) + BLANK_ROWS, MAX_ITEMS)


def read_session_form(
    form: FormData, stored: dict[int, int]
) -> tuple[dict[str, str], dict[str, str], dict[str, Any], list[tuple[int, dict[str, Any]]]]:
    """What was typed, errors (message ids), the session body and the item rows typed
    (row number, body; an edited row carries its ``id``). ``stored`` maps the session's
    item ids to their SKU: a row naming another id is refused, the SKU is never changed."""
    values = {"name": text_field(form, "name", 60)}
    errors: dict[str, str] = {}
    status = text_field(form, "status", 16) or SessionStatus.active.value
    values["status"] = status
    body: dict[str, Any] = {
        "name": values["name"],
        "status": status,
        "starts_at": read_moment(form, "starts_at", values, errors, required=True),
        "ends_at": read_moment(form, "ends_at", values, errors, required=True),
        "payment_timeout_minutes": read_int(form, "payment_timeout_minutes", values, errors),
    }
    rows: list[tuple[int, dict[str, Any]]] = []
    for n in range(1, MAX_ITEMS + 1):
        pre = f"i{n}_"
        raw_id = text_field(form, pre + "id", 24)
        if not raw_id and not any(text_field(form, pre + p) for p in ("sku", "price", "quantity")):
            continue
        item: dict[str, Any] = {}
        if raw_id:
            values[pre + "id"] = raw_id
            item_id = int(raw_id) if raw_id.isdigit() else 0
            if item_id not in stored:
                errors[pre + "sku"] = "flash_sale.err_sku"
                continue
            item["id"] = item_id
            values[pre + "sku"] = str(stored[item_id])
        else:
            item["sku_id"] = read_int(form, pre + "sku", values, errors)
        item["sale_price_fen"] = read_number(form, pre + "price", values, errors, money=True)
        item["quantity"] = read_int(form, pre + "quantity", values, errors)
        item["per_shopper_limit"] = read_int(form, pre + "limit", values, errors, default=1)
        rows.append((n, item))
    return values, errors, body, rows


def checked_bodies(
    t: Translator,
    locale: str,
    ids: dict[str, str],
    body: dict[str, Any],
    rows: list[tuple[int, dict[str, Any]]],
) -> tuple[tuple[dict[str, Any], list[dict[str, Any]]] | None, dict[str, str]]:
    """The session's values and its items' as the service takes them, or None with
    every error in words: parsing problems, then the API's schemas."""
    errors = words(t, ids)
    if errors:
        return None, errors
    try:
        values = FlashSessionEdit.model_validate(body).model_dump()
    except ValidationError as exc:
        errors |= schema_errors(t, locale, list(exc.errors()), lambda loc: str(loc[0]))
        values = {}
    items: list[dict[str, Any]] = []
    for n, raw in rows:
        schema: type[BaseModel] = FlashItemEdit if "id" in raw else FlashItemIn
        try:
            item = schema.model_validate(raw).model_dump()
        except ValidationError as exc:
            errors |= schema_errors(
                t, locale, list(exc.errors()),
                lambda loc, n=n: f"i{n}_{ITEM_SUFFIX.get(str(loc[0]), 'price')}",  # type: ignore[misc]
            )  # fmt: skip
            continue
        if "id" in raw:
            item["id"] = raw["id"]
        items.append(item)
    if errors:
        return None, errors
    return (values, items), {}
