"""Reads of the catalog: the shopper's product listing (filters, sorts, keyset cursor),
one product's detail, and the names the console shows next to ids."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, lazyload

from siyu.catalog.models import Category, Product
from siyu.catalog.rules import (
    MAX_PAGE_SIZE,
    ProductRole,
    ProductSort,
    ProductStatus,
    decode_cursor,
    encode_cursor,
)
from siyu.errors import InvalidInput, NotFound


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
    # An offer's scope (the products a promotion applies to): only these categories
    # (not their descendants, as pricing reads them) / these products, minus excluded.
    in_categories: frozenset[int] | None = None
    in_products: frozenset[int] | None = None
    excluded_products: frozenset[int] = frozenset()


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
    if query.in_categories is not None:
        stmt = stmt.where(Product.category_id.in_(query.in_categories))
    if query.in_products is not None:
        stmt = stmt.where(Product.id.in_(query.in_products))
    if query.excluded_products:
        stmt = stmt.where(Product.id.not_in(query.excluded_products))
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


def recent_product_titles(session: Session, limit: int) -> list[tuple[int, str]]:
    """(id, title) of the newest products, for the console's pick lists."""
    rows = session.execute(
        select(Product.id, Product.title).order_by(Product.id.desc()).limit(limit)
    ).all()
    return [(int(i), str(title)) for i, title in rows]


def product_titles(session: Session, ids: Iterable[int]) -> dict[int, str]:
    return _labels(session, Product.id, Product.title, ids)


def category_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    return _labels(session, Category.id, Category.name, ids)


def _labels(
    session: Session,
    id_column: InstrumentedAttribute[int],
    label_column: InstrumentedAttribute[str],
    ids: Iterable[int],
) -> dict[int, str]:
    """id → label of the rows with the given ids (those that exist)."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(select(id_column, label_column).where(id_column.in_(wanted))).all()
    return {int(i): str(label) for i, label in rows}
