from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from siyu.catalog.rules import ProductRole, ProductStatus
from siyu.db import Base, IdPk, StrEnumType


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[IdPk]
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    icon_url: Mapped[str] = mapped_column(String(512), default="")
    sort_order: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        Index("ix_products_listing", "status", "created_at", "id"),
        Index("ix_products_price", "status", "min_price_fen", "id"),
        Index("ix_products_sales", "status", "sales_count", "id"),
    )

    id: Mapped[IdPk]
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    subtitle: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[ProductRole] = mapped_column(StrEnumType(ProductRole, 16))
    status: Mapped[ProductStatus] = mapped_column(
        StrEnumType(ProductStatus, 16), default=ProductStatus.draft
    )
    image_urls: Mapped[list[Any]] = mapped_column(default=list)
    # Denormalised for listing and sorting; maintained whenever SKUs change.
    min_price_fen: Mapped[int] = mapped_column(default=0)
    sales_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    skus: Mapped[list[Sku]] = relationship(
        back_populates="product", order_by="Sku.id", lazy="selectin"
    )


class Sku(Base):
    __tablename__ = "skus"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price_fen >= 0", name="price_not_negative"),
    )

    id: Mapped[IdPk]
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    sku_code: Mapped[str] = mapped_column(String(64), unique=True)
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"颜色": "红", "尺码": "M"}
    price_fen: Mapped[int]
    original_price_fen: Mapped[int | None]
    cost_fen: Mapped[int | None]
    stock: Mapped[int] = mapped_column(default=0)
    image_url: Mapped[str] = mapped_column(String(512), default="")
    is_active: Mapped[bool] = mapped_column(default=True)

    product: Mapped[Product] = relationship(back_populates="skus")
