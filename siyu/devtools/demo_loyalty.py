"""The demo's loyalty program: the five default tiers stored, the check-in rule, a
points mall with coupons and goods, one live lottery with 谢谢参与, and points for the
demo shoppers through the ledger (an opening gift, today's check-ins, a few draws and
one goods exchange waiting to ship), so the console's 会员 pages and the storefront's
会员中心 show something. Seeded by :func:`siyu.devtools.demo.seed_demo`; every step is
the same service call an operator's form or a shopper's tap makes."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from siyu.catalog.models import Product, Sku
from siyu.coupon import service as coupons
from siyu.coupon.rules import ValidityKind
from siyu.errors import DomainError
from siyu.loyalty import service as points
from siyu.loyalty.checkin import service as checkin
from siyu.loyalty.checkin.rules import CheckinRule
from siyu.loyalty.lottery import service as lottery
from siyu.loyalty.lottery.models import CampaignStatus
from siyu.loyalty.lottery.rules import PrizeKind
from siyu.loyalty.mall import service as mall
from siyu.loyalty.mall.models import ItemKind, ItemStatus
from siyu.loyalty.tiers import program as tiers
from siyu.loyalty.tiers.rules import DEFAULT_TIERS, MemberDayRule, ReviewRule
from siyu.pricing.info import CouponKind

if TYPE_CHECKING:
    from siyu.devtools.demo import DemoShopper, Seeder

OPENING_GIFT = 300  # points every demo shopper got when the program opened
DRAWS = 3  # shoppers who tried the lottery today


def _first_sku(seeder: Seeder, title: str) -> int:
    return seeder.step(
        lambda s: s.scalars(
            select(Sku.id)
            .join(Product, Sku.product_id == Product.id)
            .where(Product.title == title)
            .order_by(Sku.id)
            .limit(1)
        ).one()
    )


def seed_loyalty(seeder: Seeder, people: list[DemoShopper], at: datetime) -> None:
    """The program as an operator would set it up on ``at``, then today's activity."""
    actor = seeder.staff["operator"]
    program = seeder.ctx.points
    seeder.call(
        tiers.save_program,
        actor_id=actor,
        tiers=list(DEFAULT_TIERS),
        member_day=MemberDayRule(),
        review=ReviewRule(),
        sku_prices={},
        now=at,
    )
    seeder.call(checkin.save_rule, rule=CheckinRule(), now=at, actor_id=actor)

    def template(name: str, amount_fen: int, threshold_fen: int = 0) -> int:
        values = {
            "name": name,
            "kind": CouponKind.cash_off,
            "amount_fen": amount_fen,
            "threshold_fen": threshold_fen,
            "validity_kind": ValidityKind.relative,
            "valid_days": 14,
            "claimable": False,
            "per_shopper_limit": 5,
        }
        return seeder.call(coupons.create_template, actor_id=actor, values=values, now=at).id

    ten_off = template("积分兑换 无门槛10元", 1000)
    twenty_off = template("积分兑换 满100减20", 2000, 10000)
    lipstick = _first_sku(seeder, "丝绒雾面口红")
    goods_id = None
    for position, (name, kind, price, coupon_id, sku_id, limit) in enumerate(
        (
            ("无门槛10元券", ItemKind.coupon, 500, ten_off, None, 0),
            ("满100减20券", ItemKind.coupon, 800, twenty_off, None, 3),
            ("丝绒雾面口红 正装", ItemKind.goods, 2000, None, lipstick, 1),
        )
    ):
        item = seeder.call(
            mall.save_item,
            item_id=None,
            values={
                "name": name,
                "kind": kind,
                "points_price": price,
                "coupon_template_id": coupon_id,
                "sku_id": sku_id,
                "per_shopper_limit": limit,
                "status": ItemStatus.active,
                "position": position,
            },
            now=at,
            actor_id=actor,
        )
        if kind is ItemKind.goods:
            goods_id = item.id
    prizes = [
        {"name": "丝绒雾面口红", "kind": PrizeKind.goods, "weight_ppm": 5_000, "stock": 3,
         "sku_id": lipstick},
        {"name": "50积分", "kind": PrizeKind.points, "weight_ppm": 100_000, "stock": 500,
         "points": 50},
        {"name": "满100减20券", "kind": PrizeKind.coupon, "weight_ppm": 95_000, "stock": 100,
         "coupon_template_id": twenty_off},
        {"name": "谢谢参与", "kind": PrizeKind.thanks, "weight_ppm": 800_000, "stock": None},
    ]  # fmt: skip
    campaign = seeder.call(
        lottery.save_campaign,
        campaign_id=None,
        values={
            "name": "100积分抽口红",
            "cost_points": 100,
            "daily_limit": 3,
            "starts_at": at,
            "ends_at": seeder.now + timedelta(days=30),
            "status": CampaignStatus.active,
        },
        prizes=prizes,
        now=at,
        actor_id=actor,
    )

    # Today: every shopper holds the opening gift; some check in, draw or exchange.
    now = seeder.now
    for person in people:
        seeder.call(
            points.adjust_points,
            program=program,
            operator_id=actor,
            shopper_id=person.id,
            delta=OPENING_GIFT,
            reason="会员开业赠送积分 / Loyalty opening gift",
            key=f"demo-opening:{person.id}",
            now=now - timedelta(hours=2),
        )
    for person in people[::2]:
        with suppress(DomainError):
            seeder.call(checkin.check_in, program=program, shopper_id=person.id, now=now)
    for n, person in enumerate(people[:DRAWS]):
        with suppress(DomainError):  # a shopper over the daily limit, as in the real store
            seeder.call(
                lottery.draw,
                program=program,
                campaign_id=campaign.id,
                shopper_id=person.id,
                ref=f"demo-draw-{n}",
                now=now,
            )
    if goods_id is not None and people:
        # One shopper saved up for the lipstick: it waits in the mall's "to ship" list.
        seeder.call(
            points.adjust_points,
            program=program,
            operator_id=actor,
            shopper_id=people[-1].id,
            delta=2000,
            reason="会员日活动补偿 / Member-day goodwill",
            key=f"demo-goodwill:{people[-1].id}",
            now=now - timedelta(hours=1),
        )
        with suppress(DomainError):  # sold out: the demo goes on without it
            seeder.call(
                mall.exchange,
                item_id=goods_id,
                shopper_id=people[-1].id,
                request_key="demo-exchange-1",
                now=now,
            )
