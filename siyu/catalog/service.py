"""Catalog use cases: shopper reads (tree, listing, detail) and operator writes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select, update
from sqlalchemy.orm import Session, lazyload

from siyu.catalog.models import Category, Product, Sku
from siyu.catalog.rules import (
    MAX_PAGE_SIZE,
    ProductRole,
    ProductSort,
    ProductStatus,
    can_change_status,
    can_go_on_sale,
    decode_cursor,
    encode_cursor,
)
from siyu.db import rowcount
from siyu.errors import Conflict, InvalidInput, NotFound
from siyu.identity.audit import record_audit
from siyu.pricing.info import Scope

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


def descendant_category_ids(session: Session, category_id: int) -> list[int]:
    pairs = session.execute(select(Category.id, Category.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for cid, parent in pairs:
        children.setdefault(parent, []).append(cid)
    found, stack = [], [category_id]
    while stack:
        cid = stack.pop()
        found.append(cid)
        stack.extend(children.get(cid, []))
    return found


def _category_snapshot(c: Category) -> dict[str, Any]:
    return {
        "name": c.name,
        "parent_id": c.parent_id,
        "sort_order": c.sort_order,
        "is_active": c.is_active,
        "icon_url": c.icon_url,
    }


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
    session.add(category)
    session.flush()
    record_audit(
        session,
        operator_id=actor_id,
        action="category.create",
        target_type="category",
        target_id=category.id,
        before=None,
        after=_category_snapshot(category),
        now=now,
    )
    return category


def delete_category(session: Session, *, actor_id: int, category_id: int, now: datetime) -> None:
    """Delete a category nothing uses: no sub-categories, no products (of any status) and
    no coupon or promotion scope naming it. Otherwise :class:`Conflict` says what holds
    it (hide it with ``is_active`` instead, or move those first)."""
    category = session.get(Category, category_id)
    if category is None:
        raise NotFound("category_not_found", "分类不存在 / Category not found")
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
    before = _category_snapshot(category)
    session.delete(category)
    session.flush()
    record_audit(
        session,
        operator_id=actor_id,
        action="category.delete",
        target_type="category",
        target_id=category_id,
        before=before,
        after=None,
        now=now,
    )


def _scopes_naming(session: Session, category_id: int) -> list[str]:
    """Coupon templates and promotions whose scope names the category. Scopes keep
    category ids in a JSON list (no foreign key), so their tables are read here; the
    import is local because marketing builds on the catalog, not the other way round."""
    from siyu.coupon.models import CouponTemplate
    from siyu.promotion.models import Promotion

    names = []
    for model in (CouponTemplate, Promotion):
        rows = session.execute(
            select(model.name, model.category_ids).where(model.scope_kind == Scope.categories)
        )
        names += [name for name, ids in rows if category_id in (ids or [])]
    return names


def update_category(
    session: Session, *, actor_id: int, category_id: int, changes: dict[str, Any], now: datetime
) -> Category:
    category = session.get(Category, category_id)
    if category is None:
        raise NotFound("category_not_found", "分类不存在 / Category not found")
    before = _category_snapshot(category)
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
    for key in ("name", "parent_id", "sort_order", "is_active", "icon_url"):
        if key in changes:
            setattr(category, key, changes[key])
    record_audit(
        session,
        operator_id=actor_id,
        action="category.update",
        target_type="category",
        target_id=category.id,
        before=before,
        after=_category_snapshot(category),
        now=now,
    )
    return category


# ---------------------------------------------------------------- shopper reads


@dataclass(frozen=True)
class ProductQuery:
    category_id: int | None = None
    q: str | None = None
    role: ProductRole | None = None
    min_price_fen: int | None = None
    max_price_fen: int | None = None
    sort: ProductSort = ProductSort.newest
    cursor: str | None = None
    limit: int = 20
    statuses: tuple[ProductStatus, ...] = (ProductStatus.on_sale,)


@dataclass(frozen=True)
class ProductPage:
    items: list[Product]
    next_cursor: str | None


_ROLE_RANK = {ProductRole.traffic: 0, ProductRole.profit: 1, ProductRole.premium: 2}


def _sort_columns(sort: ProductSort) -> list[tuple[Any, bool]]:
    """(column, descending) pairs; the last is always the id, so the order is total."""
    role_rank = case(
        *[(Product.role == role.value, rank) for role, rank in _ROLE_RANK.items()], else_=99
    )
    columns: dict[ProductSort, list[tuple[Any, bool]]] = {
        ProductSort.newest: [(Product.created_at, True), (Product.id, True)],
        ProductSort.price_asc: [(Product.min_price_fen, False), (Product.id, False)],
        ProductSort.price_desc: [(Product.min_price_fen, True), (Product.id, True)],
        ProductSort.sales: [(Product.sales_count, True), (Product.id, True)],
        ProductSort.featured: [(role_rank, False), (Product.sales_count, True), (Product.id, True)],
    }
    return columns[sort]


def _cursor_values(product: Product, sort: ProductSort) -> list[Any]:
    values: dict[ProductSort, list[Any]] = {
        ProductSort.newest: [product.created_at.isoformat(), product.id],
        ProductSort.price_asc: [product.min_price_fen, product.id],
        ProductSort.price_desc: [product.min_price_fen, product.id],
        ProductSort.sales: [product.sales_count, product.id],
        ProductSort.featured: [_ROLE_RANK[product.role], product.sales_count, product.id],
    }
    return values[sort]


def _after_cursor(stmt: Select[Any], sort: ProductSort, cursor: str) -> Select[Any]:
    columns = _sort_columns(sort)
    try:
        values = decode_cursor(cursor)
        if len(values) != len(columns):
            raise ValueError("cursor does not match the sort")
        if sort is ProductSort.newest:
            values = [datetime.fromisoformat(values[0]), int(values[1])]
            if values[0].tzinfo is None:
                raise ValueError("cursor time without a zone")
        else:
            values = [int(v) for v in values]
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            "bad_cursor", "分页参数无效 / Invalid page cursor", {"cursor": "invalid"}
        ) from exc
    # Keyset pagination: (a, b, c) strictly after (va, vb, vc) in the sort order.
    clauses = []
    for i, (col, desc) in enumerate(columns):
        equal_prefix = [c == v for (c, _), v in zip(columns[:i], values[:i], strict=False)]
        clauses.append(and_(*equal_prefix, col < values[i] if desc else col > values[i]))
    return stmt.where(or_(*clauses))


def list_products(session: Session, query: ProductQuery) -> ProductPage:
    limit = max(1, min(query.limit, MAX_PAGE_SIZE))
    # A listing shows products, not their SKUs: skip the eager SKU load.
    stmt = select(Product).options(lazyload(Product.skus)).where(Product.status.in_(query.statuses))
    if query.category_id is not None:
        stmt = stmt.where(
            Product.category_id.in_(descendant_category_ids(session, query.category_id))
        )
    if query.q:
        pattern = "%" + query.q.strip().replace("%", r"\%").replace("_", r"\_") + "%"
        stmt = stmt.where(
            or_(
                Product.title.like(pattern, escape="\\"),
                Product.subtitle.like(pattern, escape="\\"),
            )
        )
    if query.role is not None:
        stmt = stmt.where(Product.role == query.role)
    if query.min_price_fen is not None:
        stmt = stmt.where(Product.min_price_fen >= query.min_price_fen)
    if query.max_price_fen is not None:
        stmt = stmt.where(Product.min_price_fen <= query.max_price_fen)
    if query.cursor:
        stmt = _after_cursor(stmt, query.sort, query.cursor)
    order = [col.desc() if desc else col.asc() for col, desc in _sort_columns(query.sort)]
    rows = list(session.scalars(stmt.order_by(*order).limit(limit + 1)))
    has_more = len(rows) > limit
    items = rows[:limit]
    next_cursor = encode_cursor(_cursor_values(items[-1], query.sort)) if has_more else None
    return ProductPage(items=items, next_cursor=next_cursor)


def get_product(session: Session, product_id: int, *, on_sale_only: bool) -> Product:
    product = session.get(Product, product_id)
    if product is None or (on_sale_only and product.status is not ProductStatus.on_sale):
        raise NotFound("product_not_found", "商品不存在或已下架 / Product not found or off sale")
    return product


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
    session.flush()
    record_audit(
        session,
        operator_id=actor_id,
        action="product.create",
        target_type="product",
        target_id=product.id,
        before=None,
        after=product_snapshot(product),
        now=now,
    )
    return product


def update_product(
    session: Session, *, actor_id: int, product_id: int, changes: dict[str, Any], now: datetime
) -> Product:
    product = get_product(session, product_id, on_sale_only=False)
    before = product_snapshot(product)
    if "category_id" in changes:
        _check_category(session, changes["category_id"])
    for key in ("title", "subtitle", "description", "role", "image_urls", "category_id"):
        if key in changes:
            setattr(product, key, changes[key])
    product.updated_at = now
    record_audit(
        session,
        operator_id=actor_id,
        action="product.update",
        target_type="product",
        target_id=product.id,
        before=before,
        after=product_snapshot(product),
        now=now,
    )
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
    before = product_snapshot(product)
    product.status = status
    product.updated_at = now
    record_audit(
        session,
        operator_id=actor_id,
        action="product.status",
        target_type="product",
        target_id=product.id,
        before=before,
        after=product_snapshot(product),
        now=now,
    )
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
    record_audit(
        session,
        operator_id=actor_id,
        action="sku.create",
        target_type="sku",
        target_id=sku.id,
        before=None,
        after=sku_snapshot(sku),
        now=now,
    )
    return sku


def get_sku(session: Session, sku_id: int) -> Sku:
    sku = session.get(Sku, sku_id)
    if sku is None:
        raise NotFound("sku_not_found", "SKU 不存在 / SKU not found")
    return sku


def update_sku(
    session: Session, *, actor_id: int, sku_id: int, changes: dict[str, Any], now: datetime
) -> Sku:
    """Non-price fields; prices go through :func:`set_sku_price` (its own permission)."""
    sku = get_sku(session, sku_id)
    before = sku_snapshot(sku)
    for key in ("spec", "image_url", "is_active", "original_price_fen", "cost_fen"):
        if key in changes:
            setattr(sku, key, changes[key])
    _refresh_min_price(sku.product)
    record_audit(
        session,
        operator_id=actor_id,
        action="sku.update",
        target_type="sku",
        target_id=sku.id,
        before=before,
        after=sku_snapshot(sku),
        now=now,
    )
    return sku


def set_sku_price(
    session: Session, *, actor_id: int, sku_id: int, price_fen: int, now: datetime
) -> Sku:
    if price_fen < 0:
        raise InvalidInput(
            "bad_price", "价格不能为负 / Price cannot be negative", {"price_fen": "negative"}
        )
    sku = get_sku(session, sku_id)
    before = sku_snapshot(sku)
    sku.price_fen = price_fen
    _refresh_min_price(sku.product)
    record_audit(
        session,
        operator_id=actor_id,
        action="sku.price",
        target_type="sku",
        target_id=sku.id,
        before=before,
        after=sku_snapshot(sku),
        now=now,
    )
    return sku


def adjust_stock(
    session: Session, *, actor_id: int, sku_id: int, delta: int, reason: str, now: datetime
) -> Sku:
    """Add or remove stock by a guarded update: concurrent orders can never drive it
    below zero, and the operator's change never overwrites a concurrent reservation."""
    sku = get_sku(session, sku_id)
    before = sku_snapshot(sku)
    result = session.execute(
        update(Sku)
        .where(Sku.id == sku_id, Sku.stock + delta >= 0)
        .values(stock=Sku.stock + delta)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) != 1:
        raise Conflict(
            "stock_too_low",
            "库存不足，不能减少这么多 / Not enough stock to remove",
            {"delta": "too_low"},
        )
    session.refresh(sku)
    after = sku_snapshot(sku) | {"reason": reason}
    record_audit(
        session,
        operator_id=actor_id,
        action="sku.stock",
        target_type="sku",
        target_id=sku.id,
        before=before,
        after=after,
        now=now,
    )
    return sku


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
