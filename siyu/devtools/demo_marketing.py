"""The demo's marketing and channels: the playbooks' opening set of promotions and
coupons, and the channel codes its traffic comes through (with a month of spend).
Seeded by :func:`siyu.devtools.demo.seed_demo` when the store opens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from siyu.catalog.models import Category, Product
from siyu.channel.service import create_channel, upsert_spend
from siyu.clock import SHANGHAI
from siyu.coupon import service as coupons
from siyu.coupon.rules import GiftTrigger, ValidityKind
from siyu.devtools import demo_data as data
from siyu.pricing.info import CouponKind, PromotionKind, Scope
from siyu.promotion import service as promotions

if TYPE_CHECKING:
    from siyu.devtools.demo import Seeder


def seed_marketing(seeder: Seeder, at: datetime) -> None:
    """The playbooks' opening set: 满减 tiers, 2件9折 on snacks, a lipstick + eye
    shadow bundle, the new-shopper gift pack and a first-order reward, and coupons in
    the claim center."""
    actor = seeder.staff["operator"]
    ends = seeder.now + timedelta(days=30)

    def category(name: str) -> int:
        return seeder.step(
            lambda s: s.scalars(select(Category.id).where(Category.name == name)).one()
        )

    def product(title: str) -> int:
        return seeder.step(
            lambda s: s.scalars(select(Product.id).where(Product.title == title)).one()
        )

    for values in (
        {
            "name": "全场满199减30 满299减50",
            "kind": PromotionKind.full_reduction,
            "tiers": [
                {"threshold_fen": 19900, "amount_fen": 3000},
                {"threshold_fen": 29900, "amount_fen": 5000},
            ],
        },
        {
            "name": "零食2件9折",
            "kind": PromotionKind.n_item_discount,
            "scope_kind": Scope.categories,
            "category_ids": [category("零食")],
            "min_items": 2,
            "percent_off": 10,
            "priority": 10,
        },
        {
            "name": "口红+眼影盘 组合立减30",
            "kind": PromotionKind.bundle,
            "bundle_product_ids": [product("丝绒雾面口红"), product("九色大地色眼影盘")],
            "amount_off_fen": 3000,
            "priority": 20,
        },
    ):
        seeder.call(
            promotions.create_promotion,
            actor_id=actor,
            values={"starts_at": at, "ends_at": ends, **values},
            now=at,
        )
    for values in (
        {
            "name": "新人礼包 无门槛5元",
            "kind": CouponKind.cash_off,
            "amount_fen": 500,
            "valid_days": 7,
            "gift_trigger": GiftTrigger.register,
            "claimable": False,
        },
        {
            "name": "首单回馈 满50减10",
            "kind": CouponKind.cash_off,
            "threshold_fen": 5000,
            "amount_fen": 1000,
            "valid_days": 14,
            "gift_trigger": GiftTrigger.first_order,
            "claimable": False,
        },
        {
            "name": "领券中心 满100减20",
            "kind": CouponKind.cash_off,
            "threshold_fen": 10000,
            "amount_fen": 2000,
            "valid_days": 7,
            "total_quantity": 500,
        },
        {
            "name": "美妆9折券 最高减30",
            "kind": CouponKind.percent_off,
            "percent_off": 10,
            "cap_fen": 3000,
            "valid_days": 10,
            "scope_kind": Scope.categories,
            "category_ids": [category(c) for c in ("口红", "眼影", "面膜", "精华")],
            "total_quantity": 300,
        },
    ):
        seeder.call(
            coupons.create_template,
            actor_id=actor,
            values={"validity_kind": ValidityKind.relative, **values},
            now=at,
        )
    seeder.coupon_center = [
        t.id for t, _ in seeder.step(lambda s: coupons.claim_center(s, None, at))
    ]


def seed_channels(seeder: Seeder, at: datetime) -> None:
    """The channel codes the demo's traffic comes through, and their daily spend over
    the last month (so 渠道效果 has CAC and ROI to show)."""
    actor, rng = seeder.staff["operator"], seeder.rng
    today = seeder.now.astimezone(SHANGHAI).date()
    for channel in data.CHANNELS:
        created = seeder.call(
            create_channel,
            actor_id=actor,
            code=channel.code,
            name=channel.name,
            group=channel.group,
            note=channel.note,
            now=at,
        )
        low, high = channel.daily_spend_fen
        if not high:
            continue
        for back in range(30, 0, -1):
            seeder.call(
                upsert_spend,
                actor_id=actor,
                channel_id=created.id,
                day=today - timedelta(days=back),
                amount_fen=rng.randint(low, high) // 100 * 100,
                now=seeder.now - timedelta(days=back - 1, hours=14),
            )
