"""Promotion use cases: create, edit, schedule and pause store promotions, list the
ones running at ``now`` for the pricing engine, and report what each one cost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from siyu import versions
from siyu.catalog.listing import category_names, product_titles
from siyu.errors import InvalidInput, NotFound
from siyu.identity.audit import AuditTrail
from siyu.order.models import Order, OrderDiscount
from siyu.pricing import info
from siyu.pricing.info import DiscountSource, PromotionKind
from siyu.pricing.offers import OfferBook
from siyu.promotion.models import Promotion
from siyu.promotion.rules import PromotionStatus

FIELDS = (
    "name",
    "description",
    "kind",
    "scope_kind",
    "category_ids",
    "product_ids",
    "excluded_product_ids",
    "tiers",
    "min_items",
    "percent_off",
    "bundle_product_ids",
    "amount_off_fen",
    "min_tier",
    "exclusive",
    "stack_group",
    "priority",
    "starts_at",
    "ends_at",
)


def _bad(field: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput("invalid_promotion", f"{zh} / {en}", {field: "invalid"})


def check_promotion(values: dict[str, Any]) -> None:
    kind = PromotionKind(values["kind"])
    if values["ends_at"] <= values["starts_at"]:
        raise _bad("ends_at", "结束时间须晚于开始时间", "The end must follow the start")
    if kind is PromotionKind.full_reduction:
        tiers = values.get("tiers") or []
        if not tiers:
            raise _bad("tiers", "请至少设置一档满减", "Add at least one tier")
        thresholds = [t["threshold_fen"] for t in tiers]
        if thresholds != sorted(set(thresholds)):
            raise _bad("tiers", "门槛须逐档递增且不重复", "Thresholds must increase")
        amounts = [t["amount_fen"] for t in tiers]
        if amounts != sorted(amounts) or any(a <= 0 for a in amounts):
            raise _bad("tiers", "减免金额须为正且逐档不减", "Amounts must be positive, rising")
        if any(t["amount_fen"] > t["threshold_fen"] for t in tiers):
            raise _bad("tiers", "减免金额不能超过门槛", "An amount exceeds its threshold")
    elif kind is PromotionKind.n_item_discount:
        if values.get("min_items", 0) < 2:
            raise _bad("min_items", "件数须至少为 2", "At least 2 items")
        if not 1 <= values.get("percent_off", 0) <= 99:
            raise _bad("percent_off", "折扣须在 1% 到 99% 之间", "Percent off must be 1-99")
    elif kind is PromotionKind.bundle:
        products = values.get("bundle_product_ids") or []
        if len(set(products)) < 2:
            raise _bad("bundle_product_ids", "组合须包含至少 2 个商品", "A bundle needs 2 products")
        if values.get("amount_off_fen", 0) <= 0:
            raise _bad("amount_off_fen", "请填写组合立减金额", "Enter the bundle saving")
    elif kind is PromotionKind.member_price:
        if not 1 <= values.get("percent_off", 0) <= 99:
            raise _bad("percent_off", "折扣须在 1% 到 99% 之间", "Percent off must be 1-99")
        if values.get("min_tier", 0) < 1:
            raise _bad("min_tier", "请选择会员等级", "Choose the member tier")


_PROMOTIONS = AuditTrail[Promotion]("promotion", lambda p: {"name": p.name, "kind": str(p.kind)})
PROMOTIONS = OfferBook[Promotion](
    Promotion,
    _PROMOTIONS,
    FIELDS,
    ("product_ids", "excluded_product_ids", "bundle_product_ids"),
    "promotion_not_found",
    "活动不存在 / Promotion not found",
)


def create_promotion(
    session: Session, *, actor_id: int, values: dict[str, Any], now: datetime
) -> Promotion:
    check_promotion(values)
    return PROMOTIONS.create(session, values, actor_id=actor_id, now=now)


def get_promotion(session: Session, promotion_id: int) -> Promotion:
    return PROMOTIONS.get(session, promotion_id)


def update_promotion(
    session: Session, *, actor_id: int, promotion_id: int, changes: dict[str, Any], now: datetime
) -> Promotion:
    promotion = get_promotion(session, promotion_id)
    check_promotion({**PROMOTIONS.current(promotion), **changes})
    return PROMOTIONS.update(session, promotion, changes, actor_id=actor_id, now=now)


def set_status(
    session: Session, *, actor_id: int, promotion_id: int, status: PromotionStatus, now: datetime
) -> Promotion:
    promotion = get_promotion(session, promotion_id)
    return PROMOTIONS.set_status(session, promotion, status, actor_id=actor_id, now=now)


def list_promotions(session: Session) -> list[Promotion]:
    return list(session.scalars(select(Promotion).order_by(Promotion.id.desc())))


@dataclass(frozen=True)
class ScopeNames:
    """The names of the categories and products promotions name, for their hints."""

    categories: dict[int, str]
    products: dict[int, str]

    @classmethod
    def of(cls, session: Session, promotions: list[Promotion]) -> ScopeNames:
        return cls(
            category_names(session, {c for p in promotions for c in p.category_ids}),
            product_titles(
                session, {i for p in promotions for i in (*p.product_ids, *p.bundle_product_ids)}
            ),
        )


SCOPE_NAMES_SHOWN = 2  # more named targets read as "口红、眼影等 3 款商品"


def scope_words(p: Promotion, names: ScopeNames) -> tuple[str, str]:
    """What a shopper reads as a promotion's scope: "零食类", "口红、眼影" ("" store-wide)."""
    if p.scope_kind is info.Scope.categories:
        found = [names.categories[c] for c in p.category_ids if c in names.categories]
        if not found:
            return "指定分类", "selected categories"
        return "、".join(found) + "类", ", ".join(found)
    if p.scope_kind is info.Scope.products:
        found = [names.products[i] for i in p.product_ids if i in names.products]
        if not found:
            return "指定商品", "selected products"
        if len(found) > SCOPE_NAMES_SHOWN:
            shown = found[:SCOPE_NAMES_SHOWN]
            return (
                f"{'、'.join(shown)}等 {len(found)} 款商品",
                f"{', '.join(shown)} and {len(found) - len(shown)} more",
            )
        return "、".join(found), ", ".join(found)
    return "", ""


def to_pricing(p: Promotion, names: ScopeNames | None = None) -> info.Promotion:
    scope_zh, scope_en = scope_words(p, names) if names is not None else ("", "")
    titles = names.products if names is not None else {}
    return info.Promotion(
        scope_zh=scope_zh,
        scope_en=scope_en,
        bundle_titles=tuple(titles.get(i, "") for i in p.bundle_product_ids)
        if all(i in titles for i in p.bundle_product_ids)
        else (),
        promotion_id=p.id,
        name=p.name,
        kind=p.kind,
        scope=info.ScopeRule(
            kind=p.scope_kind,
            category_ids=frozenset(p.category_ids),
            product_ids=frozenset(p.product_ids),
            excluded_product_ids=frozenset(p.excluded_product_ids),
        ),
        tiers=tuple(info.Tier(t["threshold_fen"], t["amount_fen"]) for t in p.tiers),
        min_items=p.min_items,
        percent_off=p.percent_off,
        bundle_product_ids=tuple(p.bundle_product_ids),
        amount_off_fen=p.amount_off_fen,
        min_tier=p.min_tier,
        exclusive=p.exclusive,
        stack_group=p.stack_group,
        priority=p.priority,
        starts_at=p.starts_at,
        ends_at=p.ends_at,
    )


def _active(session: Session) -> tuple[info.Promotion, ...]:
    promotions = list(
        session.scalars(
            select(Promotion)
            .where(Promotion.status == PromotionStatus.active)
            .order_by(Promotion.id)
        )
    )
    names = ScopeNames.of(session, promotions)
    return tuple(to_pricing(p, names) for p in promotions)


def _in_force(p: info.Promotion, now: datetime) -> bool:
    return (p.starts_at is None or p.starts_at <= now) and (p.ends_at is None or now < p.ends_at)


def running(session: Session, now: datetime) -> list[info.Promotion]:
    """Promotions in force at ``now`` (active and inside their schedule). Every quote
    and order asks this: the active promotions (with their scopes' names) are kept in
    the database's memo while the offers and catalog versions stand."""
    memo = versions.memo_of(session)
    if memo is None:
        active = _active(session)
    else:
        key = "promotions.active"
        active = memo.get(
            session, key, (versions.OFFERS, versions.CATALOG), lambda: _active(session)
        )
    return [p for p in active if _in_force(p, now)]


@dataclass(frozen=True)
class PromotionStats:
    promotion_id: int
    orders: int  # paid orders that received it
    gmv_fen: int  # their paid amount
    discount_fen: int  # what it cost the store


def promotion_stats(session: Session) -> dict[int, PromotionStats]:
    rows = session.execute(
        select(
            OrderDiscount.source_id,
            func.count(distinct(OrderDiscount.order_id)),
            func.coalesce(func.sum(Order.paid_fen), 0),
            func.coalesce(func.sum(OrderDiscount.amount_fen), 0),
        )
        .join(Order, Order.id == OrderDiscount.order_id)
        .where(
            OrderDiscount.source == DiscountSource.promotion.value,
            Order.paid_at.is_not(None),
        )
        .group_by(OrderDiscount.source_id)
    ).all()
    return {
        pid: PromotionStats(pid, int(n), int(gmv), int(discount)) for pid, n, gmv, discount in rows
    }


@dataclass(frozen=True)
class ProductScope:
    """The products a promotion applies to, as catalog filters (None: no limit)."""

    category_ids: frozenset[int] | None
    product_ids: frozenset[int] | None
    excluded_product_ids: frozenset[int]


def running_scope(session: Session, promotion_id: int, now: datetime) -> ProductScope:
    """What a running promotion applies to, for "去凑单" (its qualifying products);
    NotFound for a promotion that does not exist or is not running at ``now``."""
    p = session.get(Promotion, promotion_id)
    if p is None or not (p.status is PromotionStatus.active and p.starts_at <= now < p.ends_at):
        raise NotFound("promotion_not_found", "活动不存在或未在进行中 / Promotion not running")
    excluded = frozenset(p.excluded_product_ids)
    if p.kind is PromotionKind.bundle:
        return ProductScope(None, frozenset(p.bundle_product_ids), excluded)
    if p.scope_kind is info.Scope.categories:
        return ProductScope(frozenset(p.category_ids), None, excluded)
    if p.scope_kind is info.Scope.products:
        return ProductScope(None, frozenset(p.product_ids), excluded)
    return ProductScope(None, None, excluded)
