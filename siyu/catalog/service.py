"""Catalog use cases: shopper reads (tree, listing, detail) and operator writes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.catalog import stock
from siyu.catalog.listing import (
    ProductPage,
    ProductQuery,
    descendant_category_ids,
    get_product,
    list_products,
)
from siyu.catalog.models import Category, Product, Sku
from siyu.catalog.rules import (
    ProductRole,
    ProductStatus,
    can_change_status,
    can_go_on_sale,
)
from siyu.db import get_or_raise
from siyu.errors import Conflict, InvalidInput, NotFound
from siyu.identity.audit import AuditTrail, assign

# Shopper reads live in siyu.catalog.listing; callers still reach them here.
__all__ = ["ProductPage", "ProductQuery", "descendant_category_ids", "get_product", "list_products"]

# ---------------------------------------------------------------- categories


@dataclass(frozen=True)
class CategoryNode:
    id: int
    name: str
    icon_url: str
    sort_order: int
    is_active: bool
    children: list[CategoryNode] = field(default_factory=list)


def category_tree(session: Session, *, include_inactive: bool = False) -> list[CategoryNode]:
    stmt = select(Category).order_by(Category.sort_order, Category.id)
    if not include_inactive:
        stmt = stmt.where(Category.is_active.is_(True))
    rows = session.scalars(stmt).all()
    nodes = {c.id: CategoryNode(c.id, c.name, c.icon_url, c.sort_order, c.is_active) for c in rows}
    roots: list[CategoryNode] = []
    for c in rows:
        if c.parent_id is None:
            roots.append(nodes[c.id])
        elif c.parent_id in nodes:
            nodes[c.parent_id].children.append(nodes[c.id])
    return roots


def _category_snapshot(c: Category) -> dict[str, Any]:
    return {
        "name": c.name,
        "parent_id": c.parent_id,
        "sort_order": c.sort_order,
        "is_active": c.is_active,
        "icon_url": c.icon_url,
    }


_CATEGORIES = AuditTrail("category", _category_snapshot)


def get_category(session: Session, category_id: int) -> Category:
    missing = NotFound("category_not_found", "分类不存在 / Category not found")
    return get_or_raise(session, Category, category_id, missing)


def create_category(
    session: Session,
    *,
    actor_id: int,
    name: str,
    parent_id: int | None,
    sort_order: int = 0,
    icon_url: str = "",
    now: datetime,
) -> Category:
    if parent_id is not None and session.get(Category, parent_id) is None:
        raise InvalidInput(
            "parent_not_found",
            "上级分类不存在 / Parent category not found",
            {"parent_id": "not_found"},
        )
    category = Category(name=name, parent_id=parent_id, sort_order=sort_order, icon_url=icon_url)
    _CATEGORIES.add(session, category, operator_id=actor_id, now=now)
    return category


def delete_category(session: Session, *, actor_id: int, category_id: int, now: datetime) -> None:
    """Delete a category nothing uses: no sub-categories, no products (of any status) and
    no coupon or promotion scope naming it. Otherwise :class:`Conflict` says what holds
    it (hide it with ``is_active`` instead, or move those first)."""
    category = get_category(session, category_id)
    children = session.scalar(
        select(func.count()).select_from(Category).where(Category.parent_id == category_id)
    )
    products = session.scalar(
        select(func.count()).select_from(Product).where(Product.category_id == category_id)
    )
    scopes = _scopes_naming(session, category_id)
    if children or products or scopes:
        held = []
        if children:
            held.append(f"{children} 个子分类 / {children} sub-categories")
        if products:
            held.append(f"{products} 个商品 / {products} products")
        if scopes:
            held.append("优惠范围 / offer scopes: " + "、".join(scopes[:3]))
        raise Conflict(
            "category_in_use",
            "分类仍在使用，可改为停用，或先移走：/ The category is in use; hide it instead, "
            "or first move: " + "; ".join(held),
        )
    _CATEGORIES.delete(session, category, operator_id=actor_id, now=now)


def _scopes_naming(session: Session, category_id: int) -> list[str]:
    """Names of the coupon templates and promotions whose scope names the category:
    the ``offer_scopes`` rows that hold it by foreign key. The import is local because
    marketing builds on the catalog, not the other way round."""
    from siyu.coupon.models import CouponTemplate
    from siyu.pricing.scopes import OfferScope
    from siyu.promotion.models import Promotion

    names: list[str] = []
    for model, owner in (
        (CouponTemplate, OfferScope.coupon_template_id),
        (Promotion, OfferScope.promotion_id),
    ):
        names += session.scalars(
            select(model.name)
            .join(OfferScope, owner == model.id)
            .where(OfferScope.category_id == category_id)
            .distinct()
            .order_by(model.name)
        )
    return names


def update_category(
    session: Session, *, actor_id: int, category_id: int, changes: dict[str, Any], now: datetime
) -> Category:
    category = get_category(session, category_id)
    parent_id = changes.get("parent_id", category.parent_id)
    if "parent_id" in changes and parent_id is not None:
        if parent_id in descendant_category_ids(session, category_id):
            raise InvalidInput(
                "category_cycle",
                "不能移动到自己的子分类下 / A category cannot be moved under itself",
                {"parent_id": "cycle"},
            )
        if session.get(Category, parent_id) is None:
            raise InvalidInput(
                "parent_not_found",
                "上级分类不存在 / Parent category not found",
                {"parent_id": "not_found"},
            )
    with _CATEGORIES.change(session, category, "update", operator_id=actor_id, now=now):
        assign(category, changes, ("name", "parent_id", "sort_order", "is_active", "icon_url"))
    return category


# ---------------------------------------------------------------- operator writes


@dataclass(frozen=True)
class SkuDraft:
    spec: dict[str, str]
    price_fen: int
    stock: int
    original_price_fen: int | None = None
    cost_fen: int | None = None
    image_url: str = ""
    sku_code: str | None = None


def product_snapshot(p: Product) -> dict[str, Any]:
    return {
        "title": p.title,
        "subtitle": p.subtitle,
        "category_id": p.category_id,
        "role": str(p.role),
        "status": str(p.status),
        "image_urls": list(p.image_urls),
        "description": p.description,
        "skus": [sku_snapshot(s) for s in p.skus],
    }


def sku_snapshot(s: Sku) -> dict[str, Any]:
    return {
        "id": s.id,
        "sku_code": s.sku_code,
        "spec": dict(s.spec),
        "price_fen": s.price_fen,
        "stock": s.stock,
        "is_active": s.is_active,
    }


_PRODUCTS = AuditTrail("product", product_snapshot)
_SKUS = AuditTrail("sku", sku_snapshot)


def _refresh_min_price(product: Product) -> None:
    prices = [s.price_fen for s in product.skus if s.is_active]
    product.min_price_fen = min(prices) if prices else 0


def _check_category(session: Session, category_id: int) -> None:
    if session.get(Category, category_id) is None:
        raise InvalidInput(
            "category_not_found", "分类不存在 / Category not found", {"category_id": "not_found"}
        )


def _new_sku(session: Session, product: Product, draft: SkuDraft) -> Sku:
    code = draft.sku_code or f"SKU{secrets.token_hex(5).upper()}"
    if session.scalar(select(Sku.id).where(Sku.sku_code == code)) is not None:
        raise Conflict(
            "sku_code_taken",
            f"SKU 编码 {code} 已存在 / SKU code {code} exists",
            {"sku_code": "taken"},
        )
    sku = Sku(
        sku_code=code,
        spec=draft.spec,
        price_fen=draft.price_fen,
        stock=draft.stock,
        original_price_fen=draft.original_price_fen,
        cost_fen=draft.cost_fen,
        image_url=draft.image_url,
        is_active=True,
    )
    product.skus.append(sku)
    return sku


def create_product(
    session: Session,
    *,
    actor_id: int,
    category_id: int,
    title: str,
    role: ProductRole,
    skus: list[SkuDraft],
    subtitle: str = "",
    description: str = "",
    image_urls: list[str] | None = None,
    now: datetime,
) -> Product:
    _check_category(session, category_id)
    if not skus:
        raise InvalidInput(
            "no_skus", "至少需要一个 SKU / At least one SKU is required", {"skus": "required"}
        )
    specs = [tuple(sorted(d.spec.items())) for d in skus]
    if len(set(specs)) != len(specs):
        raise InvalidInput(
            "duplicate_spec",
            "SKU 规格重复 / Two SKUs have the same spec",
            {"skus": "duplicate_spec"},
        )
    product = Product(
        category_id=category_id,
        title=title,
        subtitle=subtitle,
        description=description,
        role=role,
        status=ProductStatus.draft,
        image_urls=list(image_urls or []),
        created_at=now,
        updated_at=now,
    )
    session.add(product)
    for draft in skus:
        _new_sku(session, product, draft)
    _refresh_min_price(product)
    _PRODUCTS.add(session, product, operator_id=actor_id, now=now)
    return product


def update_product(
    session: Session, *, actor_id: int, product_id: int, changes: dict[str, Any], now: datetime
) -> Product:
    product = get_product(session, product_id, on_sale_only=False)
    if "category_id" in changes:
        _check_category(session, changes["category_id"])
    with _PRODUCTS.change(session, product, "update", operator_id=actor_id, now=now):
        assign(
            product,
            changes,
            ("title", "subtitle", "description", "role", "image_urls", "category_id"),
        )
        product.updated_at = now
    return product


def set_product_status(
    session: Session, *, actor_id: int, product_id: int, status: ProductStatus, now: datetime
) -> Product:
    product = get_product(session, product_id, on_sale_only=False)
    if product.status is status:
        return product
    if not can_change_status(product.status, status):
        raise InvalidInput(
            "bad_status_change",
            f"商品不能从 {product.status} 改为 {status} / "
            f"Cannot change a product from {product.status} to {status}",
        )
    if status is ProductStatus.on_sale and not can_go_on_sale(
        [s.price_fen for s in product.skus if s.is_active]
    ):
        raise InvalidInput(
            "not_sellable",
            "上架前需要至少一个有效且价格大于 0 的 SKU / "
            "A product needs an active SKU with a price before going on sale",
        )
    with _PRODUCTS.change(session, product, "status", operator_id=actor_id, now=now):
        product.status = status
        product.updated_at = now
    return product


def add_sku(
    session: Session, *, actor_id: int, product_id: int, draft: SkuDraft, now: datetime
) -> Sku:
    product = get_product(session, product_id, on_sale_only=False)
    if any(dict(s.spec) == draft.spec for s in product.skus):
        raise InvalidInput(
            "duplicate_spec",
            "SKU 规格重复 / Two SKUs have the same spec",
            {"spec": "duplicate_spec"},
        )
    sku = _new_sku(session, product, draft)
    _refresh_min_price(product)
    session.flush()
    _SKUS.created(session, sku, operator_id=actor_id, now=now)
    return sku


def get_sku(session: Session, sku_id: int) -> Sku:
    missing = NotFound("sku_not_found", "SKU 不存在 / SKU not found")
    return get_or_raise(session, Sku, sku_id, missing)


def update_sku(
    session: Session, *, actor_id: int, sku_id: int, changes: dict[str, Any], now: datetime
) -> Sku:
    """Non-price fields; prices go through :func:`set_sku_price` (its own permission)."""
    sku = get_sku(session, sku_id)
    with _SKUS.change(session, sku, "update", operator_id=actor_id, now=now):
        assign(sku, changes, ("spec", "image_url", "is_active", "original_price_fen", "cost_fen"))
        _refresh_min_price(sku.product)
    return sku


def set_sku_price(
    session: Session,
    *,
    actor_id: int,
    sku_id: int,
    price_fen: int,
    now: datetime,
    expected_fen: int | None = None,
) -> Sku:
    """With ``expected_fen`` (the price an operator confirmed a change from), a price
    that moved meanwhile is refused (``price_changed``), so a form posted twice, or
    after someone else's change, does not silently apply."""
    if price_fen < 0:
        raise InvalidInput(
            "bad_price", "价格不能为负 / Price cannot be negative", {"price_fen": "negative"}
        )
    sku = get_sku(session, sku_id)
    if expected_fen is not None and sku.price_fen != expected_fen:
        raise Conflict(
            "price_changed",
            "价格已被改过，请重新确认 / The price has changed since; confirm again",
            {"price_fen": "changed"},
        )
    with _SKUS.change(session, sku, "price", operator_id=actor_id, now=now):
        sku.price_fen = price_fen
        _refresh_min_price(sku.product)
    return sku


def adjust_stock(
    session: Session,
    *,
    actor_id: int,
    sku_id: int,
    delta: int,
    reason: str,
    now: datetime,
    expected: int | None = None,
) -> Sku:
    """Add or remove stock by a guarded update: concurrent orders can never drive it
    below zero, and the operator's change never overwrites a concurrent reservation.
    With ``expected`` (the stock an operator confirmed the change from) a stock that
    moved meanwhile, a repeated post included, is refused (``stock_changed``)."""
    sku = get_sku(session, sku_id)
    if expected is not None and sku.stock != expected:
        raise _stock_changed()
    with _SKUS.change(session, sku, "stock", operator_id=actor_id, now=now, reason=reason):
        if not stock.adjust(session, sku_id, delta, expected):
            session.refresh(sku)
            if expected is not None and sku.stock != expected:
                raise _stock_changed()
            raise Conflict(
                "stock_too_low",
                "库存不足，不能减少这么多 / Not enough stock to remove",
                {"delta": "too_low"},
            )
        session.refresh(sku)
    return sku


def _stock_changed() -> Conflict:
    return Conflict(
        "stock_changed",
        "库存已变化，请重新确认 / The stock has changed since; confirm again",
        {"delta": "changed"},
    )


def check_catalog_refs(
    session: Session, *, product_fields: dict[str, list[int]], category_ids: list[int]
) -> None:
    """Refuse references to products or categories that do not exist (offers, coupon
    scopes): ``product_fields`` maps a request field name to the product ids it holds."""
    wanted = {i for ids in product_fields.values() for i in ids}
    known = (
        set(session.scalars(select(Product.id).where(Product.id.in_(wanted)))) if wanted else set()
    )
    for name, ids in product_fields.items():
        unknown = sorted(set(ids) - known)
        if unknown:
            raise InvalidInput(
                "unknown_product",
                f"商品不存在：{unknown} / Unknown products: {unknown}",
                {name: "unknown"},
            )
    if category_ids:
        known_categories = set(
            session.scalars(select(Category.id).where(Category.id.in_(category_ids)))
        )
        unknown = sorted(set(category_ids) - known_categories)
        if unknown:
            raise InvalidInput(
                "unknown_category",
                f"分类不存在：{unknown} / Unknown categories: {unknown}",
                {"category_ids": "unknown"},
            )
