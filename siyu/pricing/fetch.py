"""The pricing engine's only I/O: load cart lines, the shopper, running promotions and
owned coupons into the plain objects of ``info.py``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.catalog.models import Product, Sku
from siyu.config import Settings
from siyu.coupon.service import is_new_shopper, usable_coupons
from siyu.loyalty.ledger import spendable
from siyu.loyalty.tiers.service import member_benefits
from siyu.pricing.info import (
    CartLine,
    Coupon,
    CouponChoice,
    PricingInput,
    PricingSettings,
    Promotion,
    ShopperInfo,
)
from siyu.promotion.service import running


@dataclass(frozen=True)
class Offers:
    """Everything about the shopper and the store that prices a cart at ``now``."""

    shopper: ShopperInfo
    promotions: tuple[Promotion, ...]
    coupons: tuple[Coupon, ...]


def pricing_settings(settings: Settings) -> PricingSettings:
    return PricingSettings(
        shipping_fen=settings.shipping_fen,
        free_shipping_threshold_fen=settings.free_shipping_threshold_fen,
        points_per_yuan=settings.points_per_yuan,
        points_max_percent=settings.points_max_percent,
    )


def load_offers(session: Session, shopper_id: int | None, now: datetime) -> Offers:
    if shopper_id is None:
        return Offers(ShopperInfo(), tuple(running(session, now)), ())
    shopper = ShopperInfo(
        shopper_id=shopper_id,
        is_new=is_new_shopper(session, shopper_id),
        points_balance=spendable(session, shopper_id, now),
    )
    # The tier and its benefits (member price, free shipping, member day).
    member = member_benefits(session, shopper_id, now)
    shopper = replace(shopper, tier=member.level, member=member)
    return Offers(
        shopper, tuple(running(session, now)), tuple(usable_coupons(session, shopper_id, now))
    )


def cart_lines(session: Session, items: Sequence[tuple[int, int]]) -> tuple[CartLine, ...]:
    """(sku id, quantity) → priced lines, in the given order; unknown SKUs are skipped
    (callers check availability before pricing)."""
    # Columns, not entities: a Product entity would load all its SKUs (selectin).
    rows = {
        row.sku_id: row
        for row in session.execute(
            select(
                Sku.id.label("sku_id"),
                Sku.price_fen,
                Product.id.label("product_id"),
                Product.category_id,
                Product.title,
                Product.role,
            )
            .join(Product, Product.id == Sku.product_id)
            .where(Sku.id.in_([sku_id for sku_id, _ in items]))
        ).all()
    }
    lines = []
    for sku_id, quantity in items:
        row = rows.get(sku_id)
        if row is None:
            continue
        lines.append(
            CartLine(
                line_id=row.sku_id,
                product_id=row.product_id,
                category_id=row.category_id,
                title=row.title,
                unit_price_fen=row.price_fen,
                quantity=quantity,
                role=row.role.value,
            )
        )
    return tuple(lines)


def pricing_input(
    lines: tuple[CartLine, ...],
    offers: Offers,
    *,
    settings: PricingSettings,
    now: datetime,
    coupon_ids: Sequence[int] | None,
    use_points: bool = False,
) -> PricingInput:
    """``coupon_ids`` None: the engine picks the best coupon; [] no coupon; else those."""
    chosen: tuple[int, ...] = ()
    if coupon_ids is None:
        choice = CouponChoice.best
    elif not coupon_ids:
        choice = CouponChoice.none
    else:
        choice, chosen = CouponChoice.chosen, tuple(dict.fromkeys(coupon_ids))
    return PricingInput(
        lines=lines,
        shopper=offers.shopper,
        promotions=offers.promotions,
        coupons=offers.coupons,
        now=now,
        settings=settings,
        coupon_choice=choice,
        chosen_coupon_ids=chosen,
        use_points=use_points,
    )
