"""Catalog rules.

- A product (SPU) has one role in the portfolio: 引流 traffic products pull visitors in
  with low prices, 利润 profit products earn the margin, 高端 premium products anchor
  the brand. The playbooks aim for roughly 20 / 60 / 20.
- A product moves draft → on sale ⇄ off sale. It can go on sale only when it has at
  least one active SKU with a positive price; shoppers see only products on sale.
- Stock never goes negative; "low stock" is what the storefront hints at.
"""

from __future__ import annotations

import base64
import json
from enum import StrEnum
from typing import Any

LOW_STOCK_THRESHOLD = 10
MAX_PAGE_SIZE = 50


class ProductRole(StrEnum):
    traffic = "traffic"
    profit = "profit"
    premium = "premium"


class ProductStatus(StrEnum):
    draft = "draft"
    on_sale = "on_sale"
    off_sale = "off_sale"


ALLOWED_STATUS_CHANGES: dict[ProductStatus, frozenset[ProductStatus]] = {
    ProductStatus.draft: frozenset({ProductStatus.on_sale, ProductStatus.off_sale}),
    ProductStatus.on_sale: frozenset({ProductStatus.off_sale}),
    ProductStatus.off_sale: frozenset({ProductStatus.on_sale}),
}


class ProductSort(StrEnum):
    newest = "newest"
    price_asc = "price_asc"
    price_desc = "price_desc"
    sales = "sales"
    featured = "featured"  # traffic products first, then best sellers


def can_change_status(current: ProductStatus, target: ProductStatus) -> bool:
    return target in ALLOWED_STATUS_CHANGES[current]


def can_go_on_sale(active_sku_prices: list[int]) -> bool:
    return any(price > 0 for price in active_sku_prices)


def is_low_stock(stock: int) -> bool:
    return 0 < stock <= LOW_STOCK_THRESHOLD


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    """Raises ValueError on anything that is not a cursor we produced."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except Exception as exc:
        raise ValueError("malformed cursor") from exc
    if not isinstance(values, list) or not values:
        raise ValueError("malformed cursor")
    return values
