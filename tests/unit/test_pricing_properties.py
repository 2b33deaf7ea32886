"""Properties of the pricing engine on random carts and offers.

The optimality property compares the engine's automatic choice with a brute force
written here from the rules in info.py's docstring alone: every subset of the
applicable offers that obeys the stacking rules, each applied in the documented
order. It shares no code with the engine's search.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import combinations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from siyu.money import allocate_proportionally
from siyu.pricing.info import (
    CartLine,
    Coupon,
    CouponChoice,
    CouponKind,
    DiscountSource,
    PricingInput,
    PricingSettings,
    Promotion,
    PromotionKind,
    Scope,
    ScopeRule,
    ShopperInfo,
    Tier,
)
from siyu.pricing.quote import quote

NOW = datetime(2025, 6, 18, 20, 0)
DAY = timedelta(days=1)
PRODUCTS = [1, 2, 3, 4]
CATEGORIES = [1, 2, 3]

# ---------------------------------------------------------------- strategies

moments = st.sampled_from([None, NOW - DAY, NOW, NOW + DAY])
groups = st.sampled_from(["default", "default", "other"])


@st.composite
def scopes(draw: st.DrawFn) -> ScopeRule:
    kind = draw(st.sampled_from([Scope.all, Scope.all, Scope.categories, Scope.products]))
    return ScopeRule(
        kind,
        category_ids=frozenset(draw(st.sets(st.sampled_from(CATEGORIES), max_size=2))),
        product_ids=frozenset(draw(st.sets(st.sampled_from(PRODUCTS), max_size=3))),
        excluded_product_ids=frozenset(draw(st.sets(st.sampled_from(PRODUCTS), max_size=1))),
    )


@st.composite
def amounts_near(draw: st.DrawFn, total: int) -> int:
    """A threshold or amount: often exactly the cart total or one fen either side."""
    return draw(
        st.one_of(
            st.sampled_from([0, max(total - 1, 0), total, total + 1, total // 2]),
            st.integers(0, 40_000),
            st.just(10**9),
        )
    )


@st.composite
def promotions(draw: st.DrawFn, pid: int, total: int) -> Promotion:
    kind = draw(st.sampled_from([k for k in PromotionKind if k is not PromotionKind.member_price]))
    tiers = tuple(
        sorted(
            (
                Tier(draw(amounts_near(total)), draw(amounts_near(total)))
                for _ in range(draw(st.integers(1, 3)))
            ),
            key=lambda t: t.threshold_fen,
        )
    )
    return Promotion(
        promotion_id=pid,
        name=f"promotion {pid}",
        kind=kind,
        scope=draw(scopes()),
        tiers=tiers,
        min_items=draw(st.integers(0, 5)),
        percent_off=draw(st.sampled_from([0, 5, 10, 15, 50, 99, 100])),
        bundle_product_ids=tuple(draw(st.sets(st.sampled_from(PRODUCTS), min_size=1, max_size=3))),
        amount_off_fen=draw(amounts_near(total)),
        exclusive=draw(st.booleans()),
        stack_group=draw(groups),
        priority=draw(st.integers(0, 2)),
        starts_at=draw(moments),
        ends_at=draw(moments),
    )


@st.composite
def coupons(draw: st.DrawFn, cid: int, total: int) -> Coupon:
    return Coupon(
        coupon_id=cid,
        template_id=cid,
        name=f"coupon {cid}",
        kind=draw(st.sampled_from(list(CouponKind))),
        threshold_fen=draw(amounts_near(total)),
        amount_fen=draw(amounts_near(total)),
        percent_off=draw(st.sampled_from([0, 10, 20, 62, 100])),
        cap_fen=draw(st.sampled_from([0, 0, 1, 500, 5000])),
        scope=draw(scopes()),
        valid_from=draw(moments),
        valid_until=draw(moments),
        new_shoppers_only=draw(st.booleans()),
        min_tier=draw(st.integers(0, 2)),
        exclusive=draw(st.booleans()),
        stack_group=draw(groups),
    )


@st.composite
def inputs(draw: st.DrawFn, max_lines: int = 6, max_offers: int = 6) -> PricingInput:
    lines = tuple(
        CartLine(
            line_id=100 + i,
            product_id=draw(st.sampled_from(PRODUCTS)),
            category_id=draw(st.sampled_from(CATEGORIES)),
            title=f"line {i}",
            unit_price_fen=draw(st.one_of(st.just(0), st.integers(1, 30_000))),
            quantity=draw(st.integers(1, 4)),
        )
        for i in range(draw(st.integers(0, max_lines)))
    )
    total = sum(x.unit_price_fen * x.quantity for x in lines)
    promos: list[Promotion] = []
    owned: list[Coupon] = []
    for n in range(draw(st.integers(0, max_offers))):
        if draw(st.booleans()):
            promos.append(draw(promotions(n + 1, total)))
        else:
            owned.append(draw(coupons(n + 1, total)))
    if draw(st.booleans()):  # a member price is not an offer: it does not count
        promos.append(
            Promotion(99, "member", PromotionKind.member_price, scope=draw(scopes()),
                      percent_off=draw(st.sampled_from([5, 20, 100])), min_tier=draw(st.integers(0, 2)))
        )  # fmt: skip
    return PricingInput(
        lines=lines,
        shopper=ShopperInfo(
            shopper_id=1,
            tier=draw(st.integers(0, 2)),
            is_new=draw(st.booleans()),
            points_balance=draw(st.sampled_from([0, 1, 999, 10**6])),
        ),
        promotions=tuple(draw(st.permutations(promos))),
        coupons=tuple(owned),
        now=NOW,
        settings=PricingSettings(
            shipping_fen=draw(st.sampled_from([0, 1000])),
            free_shipping_threshold_fen=draw(amounts_near(total)),
            points_per_yuan=draw(st.sampled_from([1, 30, 100, 1000])),
            points_max_percent=draw(st.sampled_from([0, 50, 100])),
        ),
        coupon_choice=draw(st.sampled_from(list(CouponChoice))),
        chosen_coupon_ids=tuple(draw(st.lists(st.integers(1, 7), max_size=3))),
        use_points=draw(st.booleans()),
    )


# ---------------------------------------------------------------- the brute force


def active(starts: datetime | None, ends: datetime | None) -> bool:
    return (starts is None or starts <= NOW) and (ends is None or ends > NOW)


def shelf_of(inp: PricingInput) -> list[int]:
    shelf = []
    for x in inp.lines:
        rates = [
            p.percent_off
            for p in inp.promotions
            if p.kind is PromotionKind.member_price
            and inp.shopper.tier >= p.min_tier
            and active(p.starts_at, p.ends_at)
            and p.scope.covers(x.product_id, x.category_id)
        ]
        per_unit = x.unit_price_fen * max(rates, default=0) // 100
        shelf.append((x.unit_price_fen - per_unit) * x.quantity)
    return shelf


class Offer:
    """An applicable offer as the brute force sees it."""

    def __init__(self, source: str, obj: Promotion | Coupon, lines: list[int], benefit: object):
        self.source, self.obj, self.lines, self.benefit = source, obj, lines, benefit
        self.exclusive, self.group = obj.exclusive, obj.stack_group
        self.shipping = isinstance(obj, Coupon) and obj.kind is CouponKind.free_shipping


def applicable(inp: PricingInput, shelf: list[int], fee: int) -> list[Offer]:
    found = []
    for p in inp.promotions:
        if p.kind is PromotionKind.member_price or not active(p.starts_at, p.ends_at):
            continue
        lines = [i for i, x in enumerate(inp.lines) if p.scope.covers(x.product_id, x.category_id)]
        total = sum(shelf[i] for i in lines)
        if p.kind is PromotionKind.full_reduction:
            met = [t.amount_fen for t in p.tiers if t.threshold_fen <= total]
            if lines and met:
                found.append(Offer("p", p, lines, lambda left, a=max(met): min(a, left)))
        elif p.kind is PromotionKind.n_item_discount:
            if lines and sum(inp.lines[i].quantity for i in lines) >= p.min_items:
                found.append(Offer("p", p, lines, lambda left, r=p.percent_off: left * r // 100))
        else:
            lines = [i for i in lines if inp.lines[i].product_id in p.bundle_product_ids]
            sets = min(
                sum(inp.lines[i].quantity for i in lines if inp.lines[i].product_id == b)
                for b in p.bundle_product_ids
            )
            if sets:
                found.append(
                    Offer("p", p, lines, lambda left, a=p.amount_off_fen * sets: min(a, left))
                )
    for c in inp.coupons:
        lines = [i for i, x in enumerate(inp.lines) if c.scope.covers(x.product_id, x.category_id)]
        if (
            (c.valid_from is not None and c.valid_from > NOW)
            or (c.valid_until is not None and c.valid_until <= NOW)
            or (c.new_shoppers_only and not inp.shopper.is_new)
            or inp.shopper.tier < c.min_tier
            or not lines
            or sum(shelf[i] for i in lines) < c.threshold_fen
            or (c.kind is CouponKind.free_shipping and fee == 0)
        ):
            continue
        if c.kind is CouponKind.cash_off:
            found.append(Offer("c", c, lines, lambda left, a=c.amount_fen: min(a, left)))
        elif c.kind is CouponKind.percent_off:
            found.append(
                Offer(
                    "c",
                    c,
                    lines,
                    lambda left, r=c.percent_off, cap=c.cap_fen: (
                        min(left * r // 100, cap) if cap else left * r // 100
                    ),
                )
            )
        else:
            found.append(Offer("c", c, lines, None))
    return found


def is_legal(combo: tuple[Offer, ...]) -> bool:
    if any(o.exclusive for o in combo):
        return len(combo) == 1
    coupons = [o for o in combo if o.source == "c"]
    return (
        len({o.group for o in combo}) <= 1
        and sum(1 for o in coupons if not o.shipping) <= 1
        and sum(1 for o in coupons if o.shipping) <= 1
    )


def saving_of(combo: tuple[Offer, ...], shelf: list[int], fee: int) -> int:
    left = list(shelf)
    saving = 0
    promos = sorted(
        (o for o in combo if o.source == "p"), key=lambda o: (-o.obj.priority, o.obj.promotion_id)
    )  # type: ignore[union-attr]
    goods = promos + [o for o in combo if o.source == "c" and not o.shipping]
    for o in goods:
        weights = [left[i] for i in o.lines]
        amount = o.benefit(sum(weights))  # type: ignore[operator]
        for i, part in zip(o.lines, allocate_proportionally(amount, weights), strict=True):
            left[i] -= part
        saving += amount
    return saving + sum(fee for o in combo if o.shipping)


def best_saving(inp: PricingInput) -> int:
    shelf = shelf_of(inp)
    charged = bool(inp.lines) and sum(shelf) < inp.settings.free_shipping_threshold_fen
    fee = inp.settings.shipping_fen if charged else 0
    offers = applicable(inp, shelf, fee)
    return max(
        saving_of(combo, shelf, fee)
        for size in range(len(offers) + 1)
        for combo in combinations(offers, size)
        if is_legal(combo)
    )


# ---------------------------------------------------------------- properties


def offers_saving(q: object) -> int:
    return sum(
        d.amount_fen
        for d in q.discounts
        if d.source in (DiscountSource.promotion, DiscountSource.coupon)
    )  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs())
def test_nothing_is_ever_negative(inp: PricingInput) -> None:
    q = quote(inp)

    assert q.total_fen >= 0 and q.shipping_fen >= 0 and q.discount_fen >= 0
    assert all(ql.payable_fen >= 0 and ql.discount_fen >= 0 for ql in q.lines)
    assert all(amount > 0 for ql in q.lines for _, _, amount in ql.allocations)
    assert all(d.amount_fen >= 0 for d in q.discounts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs())
def test_every_discount_is_allocated_to_the_fen(inp: PricingInput) -> None:
    q = quote(inp)

    for d in q.discounts:
        on_lines = sum(
            a for ql in q.lines for s, i, a in ql.allocations if (s, i) == (d.source, d.source_id)
        )
        shipping = d.source is DiscountSource.shipping or d.kind == CouponKind.free_shipping.value
        assert on_lines == (0 if shipping else d.amount_fen), d
    for ql in q.lines:
        assert sum(a for _, _, a in ql.allocations) == ql.discount_fen
        assert ql.payable_fen == ql.subtotal_fen - ql.discount_fen
    payable = sum(ql.payable_fen for ql in q.lines)
    assert payable + q.shipping_fen == q.total_fen
    assert q.discount_fen == q.subtotal_fen - payable
    assert q.points_used * 100 == q.points_fen * inp.settings.points_per_yuan
    assert q.points_used <= inp.shopper.points_balance


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs())
def test_the_automatic_choice_saves_as_much_as_the_best_legal_combination(
    inp: PricingInput,
) -> None:
    auto = PricingInput(inp.lines, inp.shopper, inp.promotions, inp.coupons, inp.now, inp.settings)

    assert offers_saving(quote(auto)) == best_saving(auto)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs())
def test_a_coupon_status_saving_is_never_above_the_best(inp: PricingInput) -> None:
    auto = PricingInput(inp.lines, inp.shopper, inp.promotions, inp.coupons, inp.now, inp.settings)
    q = quote(auto)

    best = offers_saving(q)
    assert all(s.saving_fen <= best for s in q.coupon_statuses)
    assert all(s.saving_fen == 0 for s in q.coupon_statuses if not s.usable)
    applied = [s for s in q.coupon_statuses if s.coupon_id in q.applied_coupon_ids]
    assert all(s.saving_fen == best for s in applied)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs())
@example(
    PricingInput(
        (CartLine(1, 1, 1, "a", 10**7, 3),),
        ShopperInfo(),
        (),
        (Coupon(1, 1, "huge", CouponKind.cash_off, amount_fen=10**12),),
        NOW,
    )
)
def test_the_same_input_gives_an_equal_quote(inp: PricingInput) -> None:
    assert quote(inp) == quote(inp)
