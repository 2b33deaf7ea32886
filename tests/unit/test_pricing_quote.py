"""Table tests of the pricing engine, with the playbooks' own examples:
满199减30, 2件9折, 口红+眼影盘套餐省30元, 钻石会员全场8折, 满100减20, 5元无门槛券,
满101减100 新人券, 3.8折券, 9.9元包邮."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from siyu.pricing.info import (
    CartLine,
    Coupon,
    CouponChoice,
    CouponKind,
    CouponStatus,
    DiscountSource,
    PricingInput,
    PricingSettings,
    Promotion,
    PromotionKind,
    Quote,
    Scope,
    ScopeRule,
    ShopperInfo,
    Tier,
)
from siyu.pricing.quote import quote

NOW = datetime(2025, 6, 18, 20, 0)
DAY = timedelta(days=1)
RETURNING = ShopperInfo(shopper_id=7, tier=0, is_new=False)

LIPSTICK, PALETTE, MASK = 10, 20, 30  # product ids
BEAUTY, FOOD = 1, 2  # category ids


def line(
    line_id: int, price: int, quantity: int = 1, product: int = 0, category: int = BEAUTY
) -> CartLine:
    return CartLine(line_id, product or line_id, category, f"商品{line_id}", price, quantity)


def price(
    lines: tuple[CartLine, ...],
    promotions: tuple[Promotion, ...] = (),
    coupons: tuple[Coupon, ...] = (),
    shopper: ShopperInfo = RETURNING,
    **options: object,
) -> Quote:
    return quote(PricingInput(lines, shopper, promotions, coupons, NOW, **options))  # type: ignore[arg-type]


def full_reduction(pid: int = 1, *tiers: tuple[int, int], **kw: object) -> Promotion:
    tiers = tiers or ((19900, 3000), (29900, 5000))
    return Promotion(
        pid, "满减", PromotionKind.full_reduction, tiers=tuple(Tier(*t) for t in tiers), **kw
    )  # type: ignore[arg-type]


def n_item(pid: int = 2, min_items: int = 2, percent: int = 10, **kw: object) -> Promotion:
    return Promotion(
        pid,
        f"{min_items}件",
        PromotionKind.n_item_discount,
        min_items=min_items,
        percent_off=percent,
        **kw,
    )  # type: ignore[arg-type]


def cash(cid: int, threshold: int, amount: int, **kw: object) -> Coupon:
    return Coupon(
        cid,
        100 + cid,
        f"满{threshold // 100}减{amount // 100}",
        CouponKind.cash_off,
        threshold_fen=threshold,
        amount_fen=amount,
        **kw,
    )  # type: ignore[arg-type]


def percent(cid: int, off: int, cap: int = 0, **kw: object) -> Coupon:
    return Coupon(
        cid, 100 + cid, f"{off}% off", CouponKind.percent_off, percent_off=off, cap_fen=cap, **kw
    )  # type: ignore[arg-type]


def free_shipping(cid: int, **kw: object) -> Coupon:
    return Coupon(cid, 100 + cid, "免运费券", CouponKind.free_shipping, **kw)  # type: ignore[arg-type]


def status(q: Quote, coupon_id: int) -> CouponStatus:
    return next(s for s in q.coupon_statuses if s.coupon_id == coupon_id)


def allocated(q: Quote, source: DiscountSource, source_id: int) -> list[int]:
    return [sum(a for s, i, a in ql.allocations if (s, i) == (source, source_id)) for ql in q.lines]


# ---------------------------------------------------------------- no offers, shipping


def test_a_cart_without_offers_pays_its_shelf_price_plus_shipping() -> None:
    q = price((line(1, 5900), line(2, 1990, 2)))

    assert (q.subtotal_fen, q.discount_fen, q.shipping_fen, q.total_fen) == (9880, 0, 1000, 10880)
    assert [ql.payable_fen for ql in q.lines] == [5900, 3980]
    assert q.discounts == () and q.applied_coupon_ids == () and q.applied_promotion_ids == ()
    assert [(h.source, h.missing_fen, h.message_zh, h.message_en) for h in q.hints] == [
        (DiscountSource.shipping, 20, "再买 ¥0.20 可免运费", "Spend ¥0.20 more for free shipping")
    ]


def test_shipping_is_free_when_the_threshold_is_met_exactly() -> None:
    q = price((line(1, 9900),))

    assert (q.shipping_fen, q.total_fen) == (0, 9900)
    assert [
        (d.source, d.source_id, d.amount_fen, d.reason_zh, d.reason_en) for d in q.discounts
    ] == [(DiscountSource.shipping, 0, 1000, "满99免运费", "Free shipping over ¥99.00")]
    assert q.hints == ()


def test_an_empty_cart_costs_nothing_and_no_coupon_applies() -> None:
    q = price((), (full_reduction(),), (cash(1, 0, 500), free_shipping(2)))

    assert (q.subtotal_fen, q.shipping_fen, q.total_fen, q.lines, q.hints) == (0, 0, 0, (), ())
    assert [(s.usable, s.reason_zh) for s in q.coupon_statuses] == [
        (False, "购物车中没有适用商品")
    ] * 2


# ---------------------------------------------------------------- promotions


@pytest.mark.parametrize(
    ("prices", "off", "hint"),
    [
        (
            (10000, 8000),
            0,
            (1900, 3000, "全场再买 ¥19.00 可减 ¥30.00", "Spend ¥19.00 more to save ¥30.00"),
        ),
        (
            (15000, 5000),
            3000,
            (9900, 5000, "全场再买 ¥99.00 可减 ¥50.00", "Spend ¥99.00 more to save ¥50.00"),
        ),
        (
            (19900,),
            3000,
            (10000, 5000, "全场再买 ¥100.00 可减 ¥50.00", "Spend ¥100.00 more to save ¥50.00"),
        ),
        ((29900,), 5000, None),
        ((50000, 50000), 5000, None),
    ],
)
def test_full_reduction_takes_the_best_tier_met_and_hints_at_the_next(
    prices: tuple[int, ...], off: int, hint: tuple[int, int, str, str] | None
) -> None:
    q = price(tuple(line(i + 1, p) for i, p in enumerate(prices)), (full_reduction(),))

    assert q.discount_fen == off
    assert q.applied_promotion_ids == ((1,) if off else ())
    promo_hints = [
        (h.missing_fen, h.benefit_fen, h.message_zh, h.message_en)
        for h in q.hints
        if h.source is DiscountSource.promotion
    ]
    assert promo_hints == ([hint] if hint else [])


def test_full_reduction_is_split_over_the_lines_by_value_and_reads_as_the_rule() -> None:
    q = price((line(1, 5900), line(2, 6900), line(3, 990, 10)), (full_reduction(1, (19900, 3000)),))

    assert allocated(q, DiscountSource.promotion, 1) == [780, 912, 1308]
    assert [ql.payable_fen for ql in q.lines] == [5120, 5988, 8592]
    (d,) = [d for d in q.discounts if d.source is DiscountSource.promotion]
    assert (d.amount_fen, d.reason_zh, d.reason_en, d.kind) == (
        3000,
        "满199减30",
        "¥30.00 off orders over ¥199.00",
        "full_reduction",
    )


@pytest.mark.parametrize(
    ("quantities", "off", "hint_zh", "hint_en"),
    [
        ((1,), 0, "全场再买 1 件可享 9 折", "Add 1 more item for 10 % off"),
        ((2,), 1000, None, None),
        ((1, 1), 1000, None, None),
        ((3,), 1500, None, None),
    ],
)
def test_two_items_ten_percent_off(
    quantities: tuple[int, ...], off: int, hint_zh: str | None, hint_en: str | None
) -> None:
    q = price(tuple(line(i + 1, 5000, qty) for i, qty in enumerate(quantities)), (n_item(),))

    assert q.discount_fen == off
    hints = [
        (h.missing_items, h.message_zh, h.message_en)
        for h in q.hints
        if h.source is DiscountSource.promotion
    ]
    assert hints == ([(1, hint_zh, hint_en)] if hint_zh else [])
    if off:
        assert [(d.reason_zh, d.reason_en) for d in q.discounts][0] == (
            "2件9折",
            "10 % off 2 or more items",
        )


def test_discount_rates_read_as_zhe() -> None:
    q = price((line(1, 1000),), (n_item(2, 3, 15),))

    assert [(h.missing_items, h.message_zh, h.message_en) for h in q.hints][0] == (
        2,
        "全场再买 2 件可享 8.5 折",
        "Add 2 more items for 15 % off",
    )


def test_a_bundle_takes_its_amount_per_complete_set_from_the_bundle_lines_only() -> None:
    bundle = Promotion(
        3,
        "口红+眼影盘套餐省30元",
        PromotionKind.bundle,
        bundle_product_ids=(LIPSTICK, PALETTE),
        amount_off_fen=3000,
    )
    lines = (line(1, 12900, 2, LIPSTICK), line(2, 15900, 2, PALETTE), line(3, 4900, 1, MASK))

    q = price(lines, (bundle,))

    assert q.discount_fen == 6000  # two sets
    assert allocated(q, DiscountSource.promotion, 3) == [2688, 3312, 0]
    assert [
        (d.reason_zh, d.reason_en) for d in q.discounts if d.source is DiscountSource.promotion
    ] == [("组合购立减¥60.00", "Bundle: ¥60.00 off")]


def test_an_incomplete_bundle_hints_at_the_missing_product() -> None:
    bundle = Promotion(
        3,
        "口红+眼影盘",
        PromotionKind.bundle,
        bundle_product_ids=(LIPSTICK, PALETTE),
        amount_off_fen=3000,
    )

    q = price((line(1, 12900, 1, LIPSTICK),), (bundle,))

    assert q.discount_fen == 0
    assert [
        (h.missing_items, h.benefit_fen, h.message_zh, h.message_en)
        for h in q.hints
        if h.source is DiscountSource.promotion
    ] == [(1, 3000, "再加 1 件组合商品可减 ¥30.00", "Add 1 more bundle item to save ¥30.00")]


@pytest.mark.parametrize(("tier", "unit_saving"), [(3, 1998), (4, 1998), (2, 0)])
def test_diamond_members_pay_eighty_percent_of_the_unit_price(tier: int, unit_saving: int) -> None:
    diamond = Promotion(
        4, "钻石会员全场8折", PromotionKind.member_price, percent_off=20, min_tier=3
    )

    q = price((line(1, 9990, 3),), (diamond,), shopper=ShopperInfo(1, tier=tier, is_new=False))

    assert q.lines[0].member_discount_fen == unit_saving * 3
    assert q.discount_fen == unit_saving * 3
    if unit_saving:
        assert q.lines[0].allocations == ((DiscountSource.member_price, 4, 5994),)
        assert [(d.source, d.reason_zh, d.reason_en) for d in q.discounts][0] == (
            DiscountSource.member_price,
            "会员价8折",
            "Member price: 20 % off",
        )


def test_offer_conditions_read_the_member_price() -> None:
    diamond = Promotion(4, "钻石会员8折", PromotionKind.member_price, percent_off=20, min_tier=3)

    q = price(
        (line(1, 20000),),
        (diamond, full_reduction(1, (19900, 3000))),
        shopper=ShopperInfo(1, tier=3),
    )

    assert q.applied_promotion_ids == ()  # 200 × 0.8 = 160 < 199
    assert q.discount_fen == 4000
    assert q.hints[0].missing_fen == 3900


def test_promotions_apply_by_priority_each_on_what_is_left() -> None:
    half = n_item(2, 1, 50, priority=10)
    q = price((line(1, 20000),), (full_reduction(1, (10000, 5000)), half))

    assert q.applied_promotion_ids == (2, 1)
    assert [d.amount_fen for d in q.discounts if d.source is DiscountSource.promotion] == [
        10000,
        5000,
    ]


def test_inactive_promotions_are_ignored() -> None:
    ended = full_reduction(1, (100, 50), ends_at=NOW)
    later = n_item(2, 1, 50, starts_at=NOW + DAY)

    q = price((line(1, 1000),), (ended, later))

    assert (q.discount_fen, q.applied_promotion_ids) == (0, ())
    assert [h.source for h in q.hints] == [DiscountSource.shipping]


def test_a_category_scope_with_an_exclusion_counts_only_its_lines() -> None:
    scope = ScopeRule(
        Scope.categories, category_ids=frozenset({BEAUTY}), excluded_product_ids=frozenset({3})
    )
    lines = (line(1, 10000), line(2, 10000, category=FOOD), line(3, 10000))

    q = price(lines, (full_reduction(1, (10000, 1000), scope=scope),))

    assert allocated(q, DiscountSource.promotion, 1) == [1000, 0, 0]


# ---------------------------------------------------------------- coupons


@pytest.mark.parametrize(
    ("coupon", "off", "zh", "en"),
    [
        (cash(1, 10000, 2000), 2000, "优惠券：满100减20", "Coupon: ¥20.00 off orders over ¥100.00"),
        (cash(1, 0, 500), 500, "优惠券：无门槛减5", "Coupon: ¥5.00 off"),
        (percent(1, 20, 5000), 3000, "优惠券：8折，最高减50", "Coupon: 20 % off, up to ¥50.00"),
        (percent(1, 62, 5000), 5000, "优惠券：3.8折，最高减50", "Coupon: 62 % off, up to ¥50.00"),
        (percent(1, 62), 9300, "优惠券：3.8折", "Coupon: 62 % off"),
    ],
)
def test_each_coupon_kind(coupon: Coupon, off: int, zh: str, en: str) -> None:
    q = price((line(1, 15000),), coupons=(coupon,))

    assert q.applied_coupon_ids == (1,)
    assert q.discount_fen == off
    (d,) = [d for d in q.discounts if d.source is DiscountSource.coupon]
    assert (d.source, d.source_id, d.amount_fen, d.reason_zh, d.reason_en, d.kind) == (
        DiscountSource.coupon,
        1,
        off,
        zh,
        en,
        coupon.kind.value,
    )
    assert status(q, 1) == CouponStatus(1, True, off)


def test_the_new_shopper_coupon_gives_a_hundred_off_a_hundred_and_one() -> None:
    newcomer = cash(1, 10100, 10000, new_shoppers_only=True)

    first = price((line(1, 10100),), coupons=(newcomer,), shopper=ShopperInfo(1, is_new=True))
    again = price((line(1, 10100),), coupons=(newcomer,))

    assert (first.discount_fen, first.total_fen) == (10000, 100)
    assert again.discount_fen == 0
    assert status(again, 1) == CouponStatus(1, False, 0, "仅限新人使用", "New shoppers only")


def test_a_free_shipping_coupon_saves_the_fee_when_shipping_is_charged() -> None:
    q = price((line(1, 990),), coupons=(free_shipping(5),))

    assert (q.shipping_fen, q.total_fen, q.applied_coupon_ids) == (0, 990, (5,))
    assert [(d.source, d.source_id, d.kind, d.amount_fen, d.reason_zh) for d in q.discounts] == [
        (DiscountSource.coupon, 5, "free_shipping", 1000, "优惠券：免运费")
    ]
    assert status(q, 5).saving_fen == 1000
    assert all(h.source is not DiscountSource.shipping for h in q.hints)


def test_a_free_shipping_coupon_is_not_spent_when_shipping_is_already_free() -> None:
    q = price((line(1, 9900),), coupons=(free_shipping(5),))

    assert q.applied_coupon_ids == ()
    assert status(q, 5) == CouponStatus(5, False, 0, "本单已免运费", "Shipping is already free")


@pytest.mark.parametrize(
    ("coupon", "shopper", "zh", "en", "missing"),
    [
        (cash(1, 0, 500, valid_from=NOW + DAY), RETURNING, "未到使用时间", "Not valid yet", 0),
        (cash(1, 0, 500, valid_until=NOW), RETURNING, "已过期", "Expired", 0),
        (
            cash(1, 0, 500, new_shoppers_only=True),
            RETURNING,
            "仅限新人使用",
            "New shoppers only",
            0,
        ),
        (
            cash(1, 0, 500, min_tier=2),
            ShopperInfo(1, tier=1),
            "会员等级不足",
            "Member tier too low",
            0,
        ),
        (
            cash(1, 0, 500, scope=ScopeRule(Scope.categories, category_ids=frozenset({FOOD}))),
            RETURNING,
            "购物车中没有适用商品",
            "No eligible items in the cart",
            0,
        ),
        (cash(1, 10000, 2000), RETURNING, "还差 ¥12.00 可用", "¥12.00 more to use", 1200),
        (percent(1, 20, threshold_fen=8801), RETURNING, "还差 ¥0.01 可用", "¥0.01 more to use", 1),
    ],
)
def test_why_a_coupon_cannot_be_used(
    coupon: Coupon, shopper: ShopperInfo, zh: str, en: str, missing: int
) -> None:
    q = price((line(1, 8800),), coupons=(coupon,), shopper=shopper)

    assert q.applied_coupon_ids == ()
    assert status(q, 1) == CouponStatus(1, False, 0, zh, en, missing)


def test_a_coupon_valid_from_now_is_usable() -> None:
    q = price(
        (line(1, 8800),), coupons=(cash(1, 8800, 500, valid_from=NOW, valid_until=NOW + DAY),)
    )

    assert q.applied_coupon_ids == (1,)


# ---------------------------------------------------------------- stacking


def test_a_coupon_is_priced_on_what_the_promotion_left() -> None:
    q = price((line(1, 20000),), (full_reduction(1, (19900, 3000)),), (percent(9, 20),))

    assert (q.applied_promotion_ids, q.applied_coupon_ids) == ((1,), (9,))
    assert [d.amount_fen for d in q.discounts][:2] == [3000, 3400]  # 20 % of 170, not of 200
    assert q.total_fen == 13600


def test_an_exclusive_offer_stands_alone_when_it_saves_most() -> None:
    members_day = full_reduction(9, (50000, 15000), exclusive=True)
    lines = (line(1, 30000), line(2, 30000))

    q = price(lines, (full_reduction(), members_day), (cash(1, 10000, 2000),))

    assert (q.applied_promotion_ids, q.applied_coupon_ids, q.discount_fen) == ((9,), (), 15000)
    assert status(q, 1) == CouponStatus(
        1, True, 7000, "不可与「满减」同享", "Cannot be combined with “满减”"
    )


def test_an_exclusive_offer_loses_to_a_better_stack() -> None:
    members_day = full_reduction(9, (50000, 6000), exclusive=True)

    q = price(
        (line(1, 30000), line(2, 30000)), (full_reduction(), members_day), (cash(1, 10000, 2000),)
    )

    assert (q.applied_promotion_ids, q.applied_coupon_ids, q.discount_fen) == ((1,), (1,), 7000)


def test_offers_of_different_stack_groups_do_not_combine() -> None:
    beauty_week = n_item(2, 1, 10, stack_group="beauty")

    q = price(
        (line(1, 30000),),
        (full_reduction(), beauty_week),
        (cash(1, 0, 1000, stack_group="beauty"),),
    )

    # default: 50; beauty: 30 + 10 % of 300 = 30 + 10 → the default group wins with 50
    assert (q.applied_promotion_ids, q.applied_coupon_ids, q.discount_fen) == ((1,), (), 5000)
    assert status(q, 1) == CouponStatus(
        1, True, 4000, "不可与「满减」同享", "Cannot be combined with “满减”"
    )


def test_one_discount_coupon_and_one_free_shipping_coupon_per_order() -> None:
    coupons = (cash(1, 0, 500), cash(2, 0, 800), free_shipping(3), free_shipping(4))

    q = price((line(1, 5000),), coupons=coupons)

    assert q.applied_coupon_ids == (2, 3)
    assert (q.discount_fen, q.shipping_fen, q.total_fen) == (800, 0, 4200)
    assert [(s.coupon_id, s.saving_fen) for s in q.coupon_statuses] == [
        (1, 1500),
        (2, 1800),
        (3, 1800),
        (4, 1800),
    ]


def test_ties_go_to_the_coupon_expiring_first_then_the_lowest_id() -> None:
    coupons = (
        cash(3, 0, 500),
        cash(2, 0, 500, valid_until=NOW + 9 * DAY),
        cash(1, 0, 500),
        cash(4, 0, 500, valid_until=NOW + 2 * DAY),
    )

    assert price((line(1, 5000),), coupons=coupons).applied_coupon_ids == (4,)
    assert price((line(1, 5000),), coupons=(coupons[0], coupons[2])).applied_coupon_ids == (1,)


def test_no_coupon_is_spent_when_it_saves_nothing() -> None:
    everything = n_item(2, 1, 100)

    q = price((line(1, 5000),), (everything,), (cash(1, 0, 500),))

    assert (q.applied_coupon_ids, q.discount_fen, q.total_fen) == ((), 5000, 1000)
    assert all(ql.payable_fen == 0 for ql in q.lines)


# ---------------------------------------------------------------- the shopper's choice


def test_the_shopper_can_refuse_coupons_and_keep_the_promotions() -> None:
    q = price(
        (line(1, 30000),), (full_reduction(),), (cash(1, 0, 1000),), coupon_choice=CouponChoice.none
    )

    assert (q.applied_promotion_ids, q.applied_coupon_ids, q.discount_fen) == ((1,), (), 5000)
    assert status(q, 1).saving_fen == 6000


def test_the_shopper_can_name_a_coupon_worse_than_the_best() -> None:
    coupons = (cash(1, 0, 1000), cash(2, 0, 300))

    q = price(
        (line(1, 30000),),
        (full_reduction(),),
        coupons,
        coupon_choice=CouponChoice.chosen,
        chosen_coupon_ids=(2,),
    )

    assert (q.applied_promotion_ids, q.applied_coupon_ids, q.discount_fen) == ((1,), (2,), 5300)


def test_a_named_exclusive_coupon_drops_the_promotions() -> None:
    solo = percent(3, 10, exclusive=True)

    q = price(
        (line(1, 30000),),
        (full_reduction(),),
        (solo,),
        coupon_choice=CouponChoice.chosen,
        chosen_coupon_ids=(3,),
    )

    assert (q.applied_promotion_ids, q.applied_coupon_ids, q.discount_fen) == ((), (3,), 3000)


def test_a_named_coupon_that_does_not_apply_is_not_applied_and_says_why() -> None:
    coupons = (cash(1, 50000, 5000), cash(2, 0, 300), cash(3, 0, 100))

    q = price(
        (line(1, 30000),),
        (full_reduction(),),
        coupons,
        coupon_choice=CouponChoice.chosen,
        chosen_coupon_ids=(1, 99, 2, 3),
    )

    assert (q.applied_promotion_ids, q.applied_coupon_ids, q.discount_fen) == ((1,), (2,), 5300)
    assert status(q, 1) == CouponStatus(
        1, False, 0, "还差 ¥200.00 可用", "¥200.00 more to use", 20000
    )
    assert status(q, 3) == CouponStatus(
        3, True, 5100, "不可与「满0减3」同享", "Cannot be combined with “满0减3”"
    )
    assert q.notes == ("coupon 99 is not one of the shopper's coupons",)


def test_when_no_named_coupon_applies_the_best_promotions_still_do() -> None:
    q = price(
        (line(1, 30000),),
        (full_reduction(),),
        (cash(1, 0, 100, valid_until=NOW),),
        coupon_choice=CouponChoice.chosen,
        chosen_coupon_ids=(1,),
    )

    assert (q.applied_promotion_ids, q.applied_coupon_ids, q.discount_fen) == ((1,), (), 5000)


# ---------------------------------------------------------------- points


def test_points_pay_last_within_the_balance_and_are_split_over_the_lines() -> None:
    shopper = ShopperInfo(1, is_new=False, points_balance=1234)

    q = price(
        (line(1, 6000), line(2, 4000)),
        coupons=(cash(1, 0, 1000),),
        shopper=shopper,
        use_points=True,
    )

    assert (q.points_used, q.points_fen, q.points_available) == (1234, 1234, 1234)
    assert allocated(q, DiscountSource.points, 0) == [740, 494]
    assert q.total_fen == 10000 - 1000 - 1234
    assert [(d.source, d.reason_zh, d.reason_en) for d in q.discounts][-2] == (
        DiscountSource.points,
        "积分抵扣 1234 积分",
        "1234 points redeemed",
    )


def test_points_pay_at_most_half_of_what_is_left() -> None:
    shopper = ShopperInfo(1, points_balance=10**6)

    q = price((line(1, 5001),), shopper=shopper, use_points=True)

    assert (q.points_used, q.points_fen, q.total_fen) == (2500, 2500, 2501 + 1000)


def test_points_are_redeemed_in_whole_points() -> None:
    shopper = ShopperInfo(1, points_balance=1000)  # 30 points a yuan → ¥33.33 by balance
    settings = PricingSettings(points_per_yuan=30)

    q = price((line(1, 100000),), shopper=shopper, use_points=True, settings=settings)

    assert (q.points_fen, q.points_used) == (3330, 999)
    assert q.points_used * 100 == q.points_fen * 30


def test_points_available_is_shown_without_redeeming() -> None:
    q = price((line(1, 5000),), shopper=ShopperInfo(1, points_balance=800))

    assert (q.points_available, q.points_used, q.points_fen, q.total_fen) == (800, 0, 0, 6000)


# ---------------------------------------------------------------- never negative


def test_a_huge_coupon_leaves_nothing_to_pay_but_shipping() -> None:
    q = price((line(1, 990), line(2, 1990)), coupons=(cash(1, 0, 10**9),))

    assert [ql.payable_fen for ql in q.lines] == [0, 0]
    assert (q.discount_fen, q.total_fen) == (2980, 1000)
    assert q.discounts[0].amount_fen == 2980


def test_hints_come_nearest_first() -> None:
    q = price(
        (line(1, 5000),),
        (full_reduction(1, (6000, 500)), full_reduction(2, (5500, 100)), n_item(3, 2, 10)),
    )

    assert [(h.source, h.source_id, h.missing_fen, h.missing_items) for h in q.hints] == [
        (DiscountSource.promotion, 3, 0, 1),
        (DiscountSource.promotion, 2, 500, 0),
        (DiscountSource.promotion, 1, 1000, 0),
        (DiscountSource.shipping, 0, 4900, 0),
    ]


def test_the_same_cart_gives_the_same_quote() -> None:
    args = (
        (line(1, 30000), line(2, 990, 3)),
        (full_reduction(), n_item()),
        (cash(1, 0, 500), percent(2, 10)),
    )

    assert price(*args) == price(*args)


def test_the_fast_result_builders_make_the_same_objects_as_the_constructors() -> None:
    from siyu.pricing import quote as engine
    from siyu.pricing.info import Discount, QuoteLine

    allocations = ((DiscountSource.coupon, 1, 2),)
    pairs = [
        (engine._quote_line(1, 2, 3, 4, 12, 0, allocations, 2, 10),
         QuoteLine(1, 2, 3, 4, 12, 0, allocations, 2, 10)),
        (engine._discount(DiscountSource.points, 0, "积分", 5, "zh", "en"),
         Discount(DiscountSource.points, 0, "积分", 5, "zh", "en")),
        (engine._status(7, True, 300), CouponStatus(7, True, 300)),
        (engine._status(7, False, 0, "zh", "en", 99), CouponStatus(7, False, 0, "zh", "en", 99)),
    ]  # fmt: skip
    for fast, slow in pairs:
        assert type(fast) is type(slow)
        assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
        assert vars(fast) == vars(slow)


def test_a_builder_that_no_longer_matches_its_class_is_refused() -> None:
    from siyu.pricing.info import check_builder

    def wrong(coupon_id: int, usable: bool) -> CouponStatus:
        return CouponStatus(coupon_id, usable, 0)

    with pytest.raises(TypeError):
        check_builder(CouponStatus, wrong)


# ---------------------------------------------------------------- hints name their scope


def _promotion_hints(q: Quote) -> list[tuple[int, str, str]]:
    return [
        (h.source_id, h.message_zh, h.message_en)
        for h in q.hints
        if h.source is DiscountSource.promotion
    ]


def test_a_hint_names_the_scope_and_a_bundle_hint_names_the_missing_product() -> None:
    snacks = Promotion(
        5,
        "零食2件9折",
        PromotionKind.n_item_discount,
        scope=ScopeRule(Scope.categories, category_ids=frozenset({FOOD})),
        min_items=3,
        percent_off=10,
        scope_zh="零食类",
        scope_en="Snacks",
    )
    bundle = Promotion(
        6,
        "口红+眼影盘",
        PromotionKind.bundle,
        bundle_product_ids=(LIPSTICK, PALETTE),
        amount_off_fen=3000,
        bundle_titles=("丝绒口红", "九色大地色眼影盘"),
    )
    cart = (line(1, 12900, 1, LIPSTICK), line(2, 1500, 1, 40, category=FOOD))

    q = price(cart, (full_reduction(4, (19900, 3000)), snacks, bundle))

    assert sorted(_promotion_hints(q)) == [
        (4, "全场再买 ¥55.00 可减 ¥30.00", "Spend ¥55.00 more to save ¥30.00"),
        (5, "零食类再买 2 件可享 9 折", "Add 2 more items from Snacks for 10 % off"),
        (6, "再加 1 件 九色大地色眼影盘 可减 ¥30.00", "Add 九色大地色眼影盘 to save ¥30.00"),
    ]


def test_no_hint_for_a_promotion_whose_scope_has_nothing_in_the_cart() -> None:
    # given only a lipstick, and promotions for snacks only (as Youzan and Taobao,
    # 凑单 is offered for what the cart partly qualifies for, or store-wide)
    snacks_items = Promotion(
        5,
        "零食2件9折",
        PromotionKind.n_item_discount,
        scope=ScopeRule(Scope.categories, category_ids=frozenset({FOOD})),
        min_items=2,
        percent_off=10,
        scope_zh="零食类",
    )
    snacks_spend = full_reduction(
        7, (9900, 1000), scope=ScopeRule(Scope.categories, category_ids=frozenset({FOOD}))
    )

    q = price((line(1, 12900, 1, LIPSTICK),), (snacks_items, snacks_spend))

    assert _promotion_hints(q) == []
