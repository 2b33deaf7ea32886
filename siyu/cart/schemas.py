from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class CartAdd(BaseModel):
    sku_id: int
    quantity: int = Field(default=1, ge=1, le=99)


class CartUpdate(BaseModel):
    quantity: int = Field(ge=1, le=99)


class CartLineOut(BaseModel):
    item_id: int
    sku_id: int
    product_id: int
    title: str
    spec: dict[str, Any]
    image_url: str
    unit_price_fen: int
    quantity: int
    line_total_fen: int
    stock: int
    available: bool
    problem: str | None


class CartOut(BaseModel):
    lines: list[CartLineOut]
    total_fen: int
    item_count: int
