"""The tier's member price in the pricing engine: a rate and a per-SKU price, the best
one per line against a member-price promotion, explained and allocated like any other
saving, with the tier's free shipping and member day's."""

from __future__ import annotations

from datetime import UTC, datetime

from siyu.pricing.info import (
    CartLine,
    Coupon,
    CouponKind,
    DiscountSource,
    MemberBenefits,
    PricingInput,
    Promotion,
    PromotionKind,
    ShopperInfo,
    Tier,
)
from siyu.pricing.quote import quote

NOW = datetime(2026, 12, 7, 4, tzinfo=UTC)
DIAMOND = MemberBenefits(
    level=4, name_zh="钻石会员", name_en="Diamond", percent_off=20,
    sku_prices={2: 3500}, free_shipping_threshold_fen=0,
)  # fmt: skip
LINES = (
    CartLine(1, 10, 100, "咖啡豆", 10000, 1),
    CartLine(2, 20, 100, "挂耳", 5000, 2),
)
FULL_REDUCTION = Promotion(7, "满100减10", PromotionKind.full_reduction, tiers=(Tier(10000, 1000),))
COUPON = Coupon(31, 3, "满50减5", CouponKind.cash_off, threshold_fen=5000, amount_fen=500)
TIER = DiscountSource.member_tier


def _quote(member: MemberBenefits | None, promotions: tuple[Promotion, ...] = ()) -> object:
    return quote(
        PricingInput(
            lines=LINES,
            shopper=ShopperInfo(shopper_id=1, tier=member.level if member else 0, is_new=False,
                                member=member),
            promotions=promotions or (FULL_REDUCTION,),
            coupons=(COUPON,),
            now=NOW,
        )
    )  # fmt: skip


def test_member_price_with_a_promotion_and_a_coupon_is_explained_and_allocated() -> None:
    # when a diamond member (8折, 挂耳 at ¥35) buys with a full reduction and a coupon
    q = _quote(DIAMOND)

    # then the member saving comes first, ¥20 on the beans (8折) and ¥30 on the two
    # 挂耳 (¥35 each beats 8折's ¥40), then the promotion and the coupon on what is left
    assert [
        (d.source, d.source_id, d.amount_fen, d.reason_zh, d.reason_en) for d in q.discounts
    ] == [  # type: ignore[attr-defined]
        (TIER, 4, 5000, "钻石会员价，全场8折", "Diamond member price: 20 % off"),
        (DiscountSource.promotion, 7, 1000, "满100减10", "¥10.00 off orders over ¥100.00"),
        (DiscountSource.coupon, 31, 500, "优惠券：满50减5", "Coupon: ¥5.00 off orders over ¥50.00"),
        (DiscountSource.shipping, 0, 1000, "钻石会员包邮", "Free shipping for Diamond members"),
    ]
    assert [(ln.member_discount_fen, ln.allocations, ln.payable_fen) for ln in q.lines] == [  # type: ignore[attr-defined]
        (2000, ((TIER, 4, 2000), (DiscountSource.promotion, 7, 533), (DiscountSource.coupon, 31, 267)), 7200),
        (3000, ((TIER, 4, 3000), (DiscountSource.promotion, 7, 467), (DiscountSource.coupon, 31, 233)), 6300),
    ]  # fmt: skip
    assert (q.subtotal_fen, q.discount_fen, q.shipping_fen, q.total_fen) == (20000, 6500, 0, 13500)  # type: ignore[attr-defined]


def test_a_better_member_price_promotion_wins_the_line_and_they_never_stack() -> None:
    # given a 25 % member-price promotion for gold and above, and a diamond shopper
    promo = Promotion(9, "黄金会员75折", PromotionKind.member_price, percent_off=25, min_tier=2)

    # when priced
    q = _quote(DIAMOND, (promo,))

    # then the beans take the promotion's ¥25 (over 8折's ¥20), the 挂耳 the tier's ¥15
    # a piece (over the promotion's ¥12.50): one member price per line
    assert [ln.allocations[0] for ln in q.lines] == [  # type: ignore[attr-defined]
        (DiscountSource.member_price, 9, 2500),
        (TIER, 4, 3000),
    ]


def test_no_member_no_member_price() -> None:
    q = _quote(None)
    assert q.discounts[0].source is DiscountSource.promotion  # type: ignore[attr-defined]
    assert q.shipping_fen == 0  # ¥199 is over the store's threshold  # type: ignore[attr-defined]


def test_member_day_ships_free_for_members_under_the_threshold() -> None:
    # given a bronze member on member day and a small cart
    bronze = MemberBenefits(level=0, name_zh="青铜会员", name_en="Bronze",
                            member_day_free_shipping=True)  # fmt: skip
    small = (CartLine(1, 10, 100, "咖啡豆", 3000, 1),)
    inp = PricingInput(small, ShopperInfo(1, 0, False, 0, bronze), (), (), NOW)

    # when priced, then shipping is free, for member day, and nothing else changes
    q = quote(inp)
    assert [(d.source, d.name, d.amount_fen, d.reason_zh) for d in q.discounts] == [
        (DiscountSource.shipping, "会员日包邮", 1000, "会员日全场包邮")
    ]
    assert (q.shipping_fen, q.total_fen) == (0, 3000)
