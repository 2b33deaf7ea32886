"""Reading console forms: text as typed, yuan amounts to fen, SKU rows, and the map
from a validation error's location to the form field it belongs next to.

Parsing problems are reported as message ids (``field.money``) so the page can put
the operator's own language next to the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.datastructures import FormData

from siyu.clock import SHANGHAI
from siyu.money import short_yuan

SKU_FIELDS = ("spec", "price", "stock", "original_price", "sku_code")
SKU_FIELD_RE = re.compile(r"^skus-(\d{1,4})-(" + "|".join(SKU_FIELDS) + r")$")
MAX_SKU_ROWS = 200
MAX_YUAN = Decimal("1000000")  # 100,000,000 fen, the schemas' ceiling
SPEC_PAIR_RE = re.compile(r"[;；\n]")
# pydantic's names for SKU fields → the suffix of the form field.
SKU_ALIASES = {
    "spec": "spec",
    "price_fen": "price",
    "stock": "stock",
    "original_price_fen": "original_price",
    "cost_fen": "price",
    "image_url": "spec",
    "sku_code": "sku_code",
}


def yuan_input(fen: int | None) -> str:
    """A fen amount as the number an operator types (5900 → ``"59"``, 1990 →
    ``"19.9"``): what :func:`parse_yuan` reads back to the same fen."""
    return "" if fen is None else short_yuan(fen)


class NegativeAmount(ValueError):
    """An amount below zero: a number, but one no price or discount may be."""


def parse_yuan(text: str) -> int:
    """``"59"``, ``"59.9"``, ``"59.90"`` → 5990 fen; more than two decimals, a sign or
    anything that is not a number is refused (ValueError), never rounded."""
    cleaned = text.strip().replace(",", "").replace("¥", "").replace("￥", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError("not a number") from exc
    if value.is_finite() and value < 0:
        raise NegativeAmount("below zero")
    if not value.is_finite() or value > MAX_YUAN:
        raise ValueError("out of range")
    fen = value * 100
    if fen != fen.to_integral_value():
        raise ValueError("more than two decimals")
    return int(fen)


def money_error(text: str, exc: Exception) -> str:
    """The message id naming why ``text`` is not an amount: required, below zero, or
    not written as one."""
    if not text.strip():
        return "field.missing"
    return "field.money_positive" if isinstance(exc, NegativeAmount) else "field.money"


def parse_int(text: str) -> int:
    cleaned = text.strip()
    if not re.fullmatch(r"[+-]?\d{1,10}", cleaned):
        raise ValueError("not an integer")
    return int(cleaned)


def parse_spec(text: str, spec_name: str) -> dict[str, str]:
    """``"中度"`` under spec name ``"烘焙"`` → ``{"烘焙": "中度"}``; ``"颜色:红; 尺码:M"``
    gives two dimensions. Blank → no spec (a single-SKU product)."""
    text = text.strip()
    if not text:
        return {}
    if ":" not in text and "：" not in text:
        return {spec_name.strip() or "规格": text}
    spec: dict[str, str] = {}
    for part in SPEC_PAIR_RE.split(text):
        if not part.strip():
            continue
        name, sep, value = part.replace("：", ":").partition(":")
        if not sep:
            raise ValueError("a spec pair needs name:value")
        spec[name.strip()] = value.strip()
    return spec


def parse_local_date(text: str, *, end: bool = False) -> datetime | None:
    """A ``YYYY-MM-DD`` Shanghai date → the UTC start of that day (or of the next, for
    an end bound used with ``<``). Blank or malformed → None."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time(), tzinfo=SHANGHAI).astimezone(UTC)


@dataclass
class SkuRow:
    index: int
    values: dict[str, str]

    @property
    def is_blank(self) -> bool:
        return not any(self.values.get(name, "").strip() for name in SKU_FIELDS)


@dataclass
class ProductForm:
    values: dict[str, str]
    rows: list[SkuRow] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)  # field → message id


PRODUCT_FIELDS = (
    "title",
    "subtitle",
    "category_id",
    "role",
    "spec_name",
    "image_urls",
    "description",
)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def read_product_form(form: FormData) -> ProductForm:
    values = {name: _text(form, name).strip() for name in PRODUCT_FIELDS}
    rows: dict[int, dict[str, str]] = {}
    for key in form:
        match = SKU_FIELD_RE.match(key)
        if match and len(rows) <= MAX_SKU_ROWS:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = _text(form, key).strip()
    return ProductForm(values, [SkuRow(i, rows[i]) for i in sorted(rows)])


def sku_payload(row: SkuRow, spec_name: str, errors: dict[str, str]) -> dict[str, Any]:
    """One row as the API's ``SkuIn`` body; parsing problems land in ``errors``."""
    prefix = f"skus-{row.index}-"
    payload: dict[str, Any] = {}
    try:
        payload["spec"] = parse_spec(row.values.get("spec", ""), spec_name)
    except ValueError:
        errors[prefix + "spec"] = "field.spec"
    for name, key in (("price", "price_fen"), ("original_price", "original_price_fen")):
        text = row.values.get(name, "")
        if not text and name == "original_price":
            continue
        try:
            payload[key] = parse_yuan(text)
        except ValueError as exc:
            errors[prefix + name] = money_error(text, exc)
    stock = row.values.get("stock", "") or "0"
    try:
        payload["stock"] = parse_int(stock)
    except ValueError:
        errors[prefix + "stock"] = "field.int_parsing"
    if row.values.get("sku_code"):
        payload["sku_code"] = row.values["sku_code"]
    return payload


def image_urls(text: str, errors: dict[str, str]) -> list[str]:
    urls = [line.strip() for line in text.splitlines() if line.strip()]
    if any(not re.match(r"^(https?://|/)\S+$", url) for url in urls):
        errors["image_urls"] = "field.url"
    return urls


def product_payload(pf: ProductForm, *, with_skus: bool) -> dict[str, Any]:
    """The API's ``ProductCreate``/``ProductUpdate`` body; problems go to ``pf.errors``."""
    values = pf.values
    payload: dict[str, Any] = {
        "title": values["title"],
        "subtitle": values["subtitle"],
        "description": values["description"],
        "role": values["role"] or None,
        "image_urls": image_urls(values["image_urls"], pf.errors),
    }
    try:
        payload["category_id"] = parse_int(values["category_id"])
    except ValueError:
        pf.errors["category_id"] = "field.missing"
    if with_skus:
        rows = [row for row in pf.rows if not row.is_blank]
        pf.rows = rows or pf.rows[:1]
        payload["skus"] = [sku_payload(row, values["spec_name"], pf.errors) for row in rows]
        if not rows:
            pf.errors["skus"] = "field.skus_required"
    return payload


def product_field_for(pf: ProductForm, loc: tuple[Any, ...]) -> str:
    """Where a pydantic error about ``loc`` is shown on the product form."""
    if not loc:
        return "_form"
    head = str(loc[0])
    if head == "skus" and len(loc) >= 3 and isinstance(loc[1], int):
        rows = [row for row in pf.rows if not row.is_blank] or pf.rows
        if loc[1] < len(rows):
            return f"skus-{rows[loc[1]].index}-{SKU_ALIASES.get(str(loc[2]), 'spec')}"
        return "skus"
    return head if head in PRODUCT_FIELDS or head == "skus" else "_form"
