"""Catalog routes: shopper reads under /api/app, operator writes under /api/admin."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from siyu.catalog import service
from siyu.catalog.media import PRODUCT_IMAGE_TYPES, product_image_path
from siyu.catalog.models import Category
from siyu.catalog.rules import MAX_PAGE_SIZE, ProductRole, ProductSort, ProductStatus
from siyu.catalog.schemas import (
    AdminProductDetail,
    AdminSkuOut,
    CategoryCreate,
    CategoryOut,
    CategoryUpdate,
    ProductCreate,
    ProductDetail,
    ProductPageOut,
    ProductStatusChange,
    ProductSummary,
    ProductUpdate,
    SkuIn,
    SkuPrice,
    SkuUpdate,
    StockAdjust,
)
from siyu.coupon import service as coupon_service
from siyu.coupon.schemas import CouponFace
from siyu.errors import NotFound
from siyu.loyalty.tiers.service import tier_prices
from siyu.pricing.info import PromotionKind, ScopeRule
from siyu.promotion import service as promotion_service
from siyu.web.api.common import (
    from_fields,
    immutable_file,
    transact,
    transact_into,
    transact_no_content,
)
from siyu.web.api.coupon import coupon_face
from siyu.web.catalog_cache import cached_response, catalog_cache
from siyu.web.deps import (
    AppContext,
    CatalogReader,
    CatalogWriter,
    CtxDep,
    NowDep,
    OptionalShopper,
    PriceWriter,
    ReadSessionDep,
    SessionDep,
    StockWriter,
)
from siyu.web.params import query_parameters, read_query

app_router = APIRouter(prefix="/api/app", tags=["catalog"])
admin_router = APIRouter(prefix="/api/admin", tags=["catalog admin"])
media_router = APIRouter(prefix="/media", tags=["media"])

_T = TypeVar("_T")

# The product lists' paging, the same for shoppers and operators.
Cursor = Annotated[str | None, Query(max_length=200)]
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]


@media_router.get("/products/{name}", include_in_schema=False)
def product_image(name: str, ctx: CtxDep) -> Response:
    """A product image kept by the store: named by its content, so cached for good. Only
    names the store writes (``<sha256>.<type>``) are looked up, so no path escapes the
    folder."""
    path = product_image_path(ctx.settings.media_dir, name)
    if path is None:
        raise NotFound("image_not_found", "图片不存在 / Image not found")
    return immutable_file(path, PRODUCT_IMAGE_TYPES[path.suffix.lstrip(".")])


def _category_out(
    c: service.CategoryNode | Category, children: list[CategoryOut] | None = None
) -> CategoryOut:
    return from_fields(CategoryOut, c, children=children or [])


def _tree(nodes: list[service.CategoryNode]) -> list[CategoryOut]:
    return [_category_out(n, _tree(n.children)) for n in nodes]


def _product_page(session: Session, query: service.ProductQuery) -> dict[str, Any]:
    page = service.list_products(session, query)
    return ProductPageOut(
        items=[ProductSummary.model_validate(p) for p in page.items],
        next_cursor=page.next_cursor,
    ).model_dump(mode="json")


def _read(ctx: AppContext, read: Callable[[Session], _T]) -> _T:
    with ctx.db.read_session() as session, session.begin():
        return read(session)


@app_router.get("/categories", response_model=list[CategoryOut])
async def category_tree(request: Request, ctx: CtxDep) -> Response:
    """分类树（仅启用的分类）。带 ETag，可用 If-None-Match 协商缓存。"""

    def load() -> list[dict[str, Any]]:
        tree = _read(ctx, service.category_tree)
        return [c.model_dump(mode="json") for c in _tree(tree)]

    return cached_response(request, await catalog_cache(request).body(("categories",), load))


class ProductListParams(BaseModel):
    """The shopper's product list query (one model: validated in one pass)."""

    model_config = ConfigDict(extra="ignore")

    category_id: int | None = None
    q: str | None = Field(default=None, max_length=50, description="搜索关键词")
    role: ProductRole | None = None
    min_price_fen: int | None = Field(default=None, ge=0)
    max_price_fen: int | None = Field(default=None, ge=0)
    sort: ProductSort = ProductSort.newest
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=20, ge=1, le=MAX_PAGE_SIZE)
    promotion_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="只列出该进行中活动适用的商品（去凑单）"
    )


@app_router.get(
    "/products", response_model=ProductPageOut, openapi_extra=query_parameters(ProductListParams)
)
async def list_products(request: Request, ctx: CtxDep) -> Response:
    """商品列表：筛选、排序、游标分页；promotion_id 只列出该活动适用的商品。带 ETag。"""
    params = read_query(ProductListParams, request)
    query = service.ProductQuery(
        category_id=params.category_id,
        q=params.q,
        role=params.role,
        min_price_fen=params.min_price_fen,
        max_price_fen=params.max_price_fen,
        sort=params.sort,
        cursor=params.cursor,
        limit=params.limit,
    )
    promotion_id, now = params.promotion_id, ctx.clock.now()
    if promotion_id is not None:  # follows the promotion's scope and time: not cached

        def in_scope(session: Session) -> dict[str, Any]:
            scope = promotion_service.running_scope(session, promotion_id, now)
            scoped = replace(
                query,
                in_categories=scope.category_ids,
                in_products=scope.product_ids,
                excluded_products=scope.excluded_product_ids,
            )
            return _product_page(session, scoped)

        return cached_response(request, orjson.dumps(await run_in_threadpool(_read, ctx, in_scope)))
    body = await catalog_cache(request).body(
        ("products", query), lambda: _read(ctx, lambda session: _product_page(session, query))
    )
    return cached_response(request, body)


@app_router.get("/products/{product_id}", response_model=ProductDetail)
async def product_detail(
    product_id: int, request: Request, ctx: CtxDep, shopper: OptionalShopper
) -> Response:
    """商品详情（在售）；库存为实时库存。带 ETag。``member_prices``：各等级的会员价
    （"钻石会员价 ¥X"）与登录会员自己的价格（按人计算，不进缓存）。"""

    def load(session: Session) -> dict[str, Any]:
        product = service.get_product(session, product_id, on_sale_only=True)
        detail = ProductDetail.model_validate(product)
        detail.skus = [s for s in detail.skus if s.is_active]
        return detail.model_dump(mode="json")

    cache = catalog_cache(request)

    async def member_prices(content: dict[str, Any]) -> dict[str, Any]:
        prices = {int(s["id"]): int(s["price_fen"]) for s in content["skus"]}
        if shopper is None:  # the same for every visitor: cached with the offers
            found = await cache.with_offers(
                ("member_prices", product_id),
                lambda: _read(ctx, lambda session: tier_prices(session, prices, None)),
            )
        else:
            shopper_id = shopper.id
            found = await run_in_threadpool(
                _read, ctx, lambda session: tier_prices(session, prices, shopper_id)
            )
        return {"member_prices": found}

    body = await cache.product(product_id, lambda: _read(ctx, load), member_prices)
    return cached_response(request, body)


class OfferPromotion(BaseModel):
    promotion_id: int
    name: str  # e.g. 全场满199减30
    kind: str
    scope_zh: str  # "" store-wide
    scope_en: str
    ends_at: datetime | None


class ProductOffers(BaseModel):
    promotions: list[OfferPromotion]
    coupons: list[CouponFace]  # claimable in the coupon center and covering this product


@app_router.get("/products/{product_id}/offers", response_model=ProductOffers)
def product_offers(product_id: int, session: ReadSessionDep, now: NowDep) -> ProductOffers:
    """商品页的优惠：正在进行且适用于此商品的活动，和领券中心里可用于此商品的券（与计价
    引擎相同的范围规则：分类、指定商品、排除商品；组合优惠看组合内的商品）。"""
    with session.begin():
        product = service.get_product(session, product_id, on_sale_only=True)
        pid, cid = product.id, product.category_id
        promotions = [
            OfferPromotion(
                promotion_id=p.promotion_id,
                name=p.name,
                kind=p.kind.value,
                scope_zh=p.scope_zh,
                scope_en=p.scope_en,
                ends_at=p.ends_at,
            )
            for p in promotion_service.running(session, now)
            if (
                pid in p.bundle_product_ids
                if p.kind is PromotionKind.bundle
                else p.scope.covers(pid, cid)
            )
        ]
        coupons = [
            CouponFace(**coupon_face(t))
            for t, _ in coupon_service.claim_center(session, None, now)
            if ScopeRule(
                kind=t.scope_kind,
                category_ids=frozenset(t.category_ids),
                product_ids=frozenset(t.product_ids),
                excluded_product_ids=frozenset(t.excluded_product_ids),
            ).covers(pid, cid)
        ]
        return ProductOffers(promotions=promotions, coupons=coupons)


# ---------------------------------------------------------------- admin


@admin_router.get("/categories", response_model=list[CategoryOut])
def admin_category_tree(session: SessionDep, _: CatalogReader) -> list[CategoryOut]:
    with session.begin():
        return _tree(service.category_tree(session, include_inactive=True))


@admin_router.post("/categories", response_model=CategoryOut, status_code=201)
def create_category(
    body: CategoryCreate, session: SessionDep, now: NowDep, actor: CatalogWriter
) -> CategoryOut:
    return transact_into(
        session,
        _category_out,
        service.create_category,
        actor_id=actor.id,
        name=body.name,
        parent_id=body.parent_id,
        sort_order=body.sort_order,
        icon_url=body.icon_url,
        now=now,
    )


@admin_router.patch("/categories/{category_id}", response_model=CategoryOut)
def update_category(
    category_id: int, body: CategoryUpdate, session: SessionDep, now: NowDep, actor: CatalogWriter
) -> CategoryOut:
    return transact_into(
        session,
        _category_out,
        service.update_category,
        actor_id=actor.id,
        category_id=category_id,
        changes=body.model_dump(exclude_unset=True),
        now=now,
    )


@admin_router.delete(
    "/categories/{category_id}",
    status_code=204,
    responses={409: {"description": "仍有子分类、商品或优惠范围使用 / Still in use"}},
)
def delete_category(
    category_id: int, session: SessionDep, now: NowDep, actor: CatalogWriter
) -> Response:
    """删除未被使用的分类（无子分类、无商品、无优惠券或活动范围引用）；否则 409 并说明原因。"""
    return transact_no_content(
        session, service.delete_category, actor_id=actor.id, category_id=category_id, now=now
    )


@admin_router.get("/products", response_model=ProductPageOut)
def admin_list_products(
    session: SessionDep,
    _: CatalogReader,
    status: ProductStatus | None = None,
    category_id: int | None = None,
    q: Annotated[str | None, Query(max_length=50)] = None,
    role: ProductRole | None = None,
    sort: ProductSort = ProductSort.newest,
    cursor: Cursor = None,
    limit: PageSize = 20,
) -> ProductPageOut:
    statuses = (status,) if status else tuple(ProductStatus)
    query = service.ProductQuery(
        category_id=category_id,
        q=q,
        role=role,
        sort=sort,
        cursor=cursor,
        limit=limit,
        statuses=statuses,
    )
    with session.begin():
        return ProductPageOut.model_validate(_product_page(session, query))


@admin_router.get("/products/{product_id}", response_model=AdminProductDetail)
def admin_product_detail(
    product_id: int, session: SessionDep, _: CatalogReader
) -> AdminProductDetail:
    return transact(
        session, AdminProductDetail, service.get_product, product_id, on_sale_only=False
    )


def _sku_draft(s: SkuIn) -> service.SkuDraft:
    return service.SkuDraft(**s.model_dump())


@admin_router.post("/products", response_model=AdminProductDetail, status_code=201)
def create_product(
    body: ProductCreate, session: SessionDep, now: NowDep, actor: CatalogWriter, _: PriceWriter
) -> AdminProductDetail:
    """新建商品（草稿状态），含多个 SKU。"""
    return transact(
        session,
        AdminProductDetail,
        service.create_product,
        actor_id=actor.id,
        category_id=body.category_id,
        title=body.title,
        role=body.role,
        skus=[_sku_draft(s) for s in body.skus],
        subtitle=body.subtitle,
        description=body.description,
        image_urls=body.image_urls,
        now=now,
    )


@admin_router.patch("/products/{product_id}", response_model=AdminProductDetail)
def update_product(
    product_id: int, body: ProductUpdate, session: SessionDep, now: NowDep, actor: CatalogWriter
) -> AdminProductDetail:
    return transact(
        session,
        AdminProductDetail,
        service.update_product,
        actor_id=actor.id,
        product_id=product_id,
        changes=body.model_dump(exclude_unset=True),
        now=now,
    )


@admin_router.post("/products/{product_id}/status", response_model=AdminProductDetail)
def change_product_status(
    product_id: int,
    body: ProductStatusChange,
    session: SessionDep,
    now: NowDep,
    actor: CatalogWriter,
) -> AdminProductDetail:
    """上架 / 下架。"""
    return transact(
        session,
        AdminProductDetail,
        service.set_product_status,
        actor_id=actor.id,
        product_id=product_id,
        status=body.status,
        now=now,
    )


@admin_router.post("/products/{product_id}/skus", response_model=AdminSkuOut, status_code=201)
def add_sku(
    product_id: int,
    body: SkuIn,
    session: SessionDep,
    now: NowDep,
    actor: CatalogWriter,
    _: PriceWriter,
) -> AdminSkuOut:
    return transact(
        session,
        AdminSkuOut,
        service.add_sku,
        actor_id=actor.id,
        product_id=product_id,
        draft=_sku_draft(body),
        now=now,
    )


@admin_router.patch("/skus/{sku_id}", response_model=AdminSkuOut)
def update_sku(
    sku_id: int, body: SkuUpdate, session: SessionDep, now: NowDep, actor: CatalogWriter
) -> AdminSkuOut:
    return transact(
        session,
        AdminSkuOut,
        service.update_sku,
        actor_id=actor.id,
        sku_id=sku_id,
        changes=body.model_dump(exclude_unset=True),
        now=now,
    )


@admin_router.put("/skus/{sku_id}/price", response_model=AdminSkuOut)
def set_sku_price(
    sku_id: int, body: SkuPrice, session: SessionDep, now: NowDep, actor: PriceWriter
) -> AdminSkuOut:
    """改价（需要改价权限；客服角色不可改价）。"""
    return transact(
        session,
        AdminSkuOut,
        service.set_sku_price,
        actor_id=actor.id,
        sku_id=sku_id,
        price_fen=body.price_fen,
        now=now,
    )


@admin_router.post("/skus/{sku_id}/stock", response_model=AdminSkuOut)
def adjust_stock(
    sku_id: int, body: StockAdjust, session: SessionDep, now: NowDep, actor: StockWriter
) -> AdminSkuOut:
    """库存增减（带条件更新，不会变成负数）。"""
    return transact(
        session,
        AdminSkuOut,
        service.adjust_stock,
        actor_id=actor.id,
        sku_id=sku_id,
        delta=body.delta,
        reason=body.reason,
        now=now,
    )
