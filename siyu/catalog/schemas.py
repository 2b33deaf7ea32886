from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from siyu.catalog.rules import ProductRole, ProductStatus, is_low_stock
from siyu.fields import not_null


class CategoryOut(BaseModel):
    id: int
    name: str
    icon_url: str
    sort_order: int
    is_active: bool
    children: list[CategoryOut] = []


class CategoryCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    parent_id: int | None = None
    sort_order: int = Field(default=0, ge=-10000, le=10000)
    icon_url: str = Field(default="", max_length=512)


class CategoryUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    parent_id: int | None = None
    sort_order: int | None = Field(default=None, ge=-10000, le=10000)
    is_active: bool | None = None
    icon_url: str | None = Field(default=None, max_length=512)

    _present = field_validator("name", "sort_order", "is_active", "icon_url", mode="before")(
        not_null
    )


def _check_spec(spec: dict[str, str]) -> dict[str, str]:
    if len(spec) > 5:
        raise ValueError("at most 5 spec dimensions")
    for key, value in spec.items():
        if not key.strip() or not str(value).strip() or len(key) > 20 or len(str(value)) > 40:
            raise ValueError("spec names ≤ 20 and values ≤ 40 characters, not blank")
    return spec


class SkuIn(BaseModel):
    spec: dict[str, str] = Field(default_factory=dict, description='如 {"颜色": "红", "尺码": "M"}')
    price_fen: int = Field(ge=0, le=100_000_000, description="售价（分）")
    stock: int = Field(default=0, ge=0, le=10_000_000)
    original_price_fen: int | None = Field(default=None, ge=0, le=100_000_000)
    cost_fen: int | None = Field(default=None, ge=0, le=100_000_000)
    image_url: str = Field(default="", max_length=512)
    sku_code: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$"
    )

    _spec = field_validator("spec")(_check_spec)


class SkuUpdate(BaseModel):
    spec: dict[str, str] | None = None
    image_url: str | None = Field(default=None, max_length=512)
    is_active: bool | None = None
    original_price_fen: int | None = Field(default=None, ge=0, le=100_000_000)
    cost_fen: int | None = Field(default=None, ge=0, le=100_000_000)

    _present = field_validator("spec", "image_url", "is_active", mode="before")(not_null)

    @field_validator("spec")
    @classmethod
    def _valid_spec(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        return None if v is None else _check_spec(v)


class SkuPrice(BaseModel):
    price_fen: int = Field(ge=0, le=100_000_000)


class StockAdjust(BaseModel):
    delta: int = Field(ge=-10_000_000, le=10_000_000, description="正数入库，负数出库")
    reason: str = Field(default="", max_length=100)

    @field_validator("delta")
    @classmethod
    def _non_zero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("delta must not be 0")
        return v


class ProductCreate(BaseModel):
    category_id: int
    title: str = Field(min_length=1, max_length=120)
    subtitle: str = Field(default="", max_length=200)
    description: str = Field(default="", max_length=20000)
    role: ProductRole
    image_urls: list[str] = Field(default_factory=list, max_length=20)
    skus: list[SkuIn] = Field(min_length=1, max_length=200)


class ProductUpdate(BaseModel):
    category_id: int | None = None
    title: str | None = Field(default=None, min_length=1, max_length=120)
    subtitle: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=20000)
    role: ProductRole | None = None
    image_urls: list[str] | None = Field(default=None, max_length=20)

    _present = field_validator(
        "category_id", "title", "subtitle", "description", "role", "image_urls", mode="before"
    )(not_null)


class ProductStatusChange(BaseModel):
    status: ProductStatus


class SkuOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sku_code: str
    spec: dict[str, Any]
    price_fen: int
    original_price_fen: int | None
    stock: int
    image_url: str
    is_active: bool
    low_stock: bool = False

    def model_post_init(self, __context: Any) -> None:
        self.low_stock = is_low_stock(self.stock)


class AdminSkuOut(SkuOut):
    cost_fen: int | None


class ProductSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    category_id: int
    title: str
    subtitle: str
    role: ProductRole
    status: ProductStatus
    image_urls: list[str]
    min_price_fen: int
    sales_count: int


class ProductDetail(ProductSummary):
    description: str
    skus: list[SkuOut]
    created_at: datetime
    updated_at: datetime


class AdminProductDetail(ProductDetail):
    skus: list[AdminSkuOut]  # type: ignore[assignment]


class ProductPageOut(BaseModel):
    items: list[ProductSummary]
    next_cursor: str | None
