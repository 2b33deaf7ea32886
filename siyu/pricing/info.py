"""What the pricing engine reads and what it returns: plain frozen dataclasses.

The engine (``quote.py``) is pure: no session, no clock, no I/O. ``fetch.py`` is the
only place that turns database rows into these objects.

How a quote is built (the rules an operator can rely on):

1. **Shelf price.** Each line starts at its unit price; a member price lowers it
   for a member. This is a price, not an offer: it never blocks or is blocked by
   anything. A line gets **one** member price, the one that saves most of:
   - a ``member_price`` promotion (percent off for shoppers of ``min_tier`` or
     above, an operator's campaign with a schedule and a scope), and
   - the shopper's tier benefits (``ShopperInfo.member``, from the tier table in
     ``siyu.loyalty.tiers``): the tier's discount rate on every line (钻石 8折)
     and the per-SKU member prices of the tier or a lower one.
   The two are not stacked (a member discount on a member discount is not what an
   operator who set "钻石8折" means). Tier savings are their own source
   (``DiscountSource.member_tier``, source id = the level) so they are explained,
   stored in the allocation rows and reversed by refunds like any other saving;
   the tier table is content (editing it moves the offers version). We did not
   turn tiers into member-price promotions: they have no schedule or scope,
   carry per-SKU prices, and must not show up in promotion stats.
2. **Offers** are store promotions (full reduction, N-item discount, bundle) and the
   shopper's coupons. An offer *applies* when its condition holds on the shelf
   amounts of the lines in its scope (threshold, item count, bundle complete) and,
   for coupons, when it is valid at ``now`` for this shopper.
3. **Stacking is explicit.** A legal combination of offers is a set in which
   - an ``exclusive`` offer stands alone;
   - all other offers share one ``stack_group``;
   - there is at most one discount coupon and at most one free-shipping coupon.
4. **Order of application.** Promotions by ``priority`` (higher first, then id),
   then the coupon. Each benefit is taken from what is left of the lines in its
   scope, so a discount is never computed on a price another offer already took
   away and no line goes below zero.
5. **Shipping** is free at the store's threshold, at a lower one of the
   shopper's tier, or on member day for every member (every signed-in shopper:
   青铜 starts at growth 0).
6. **The best combination** (largest saving, goods plus shipping) is chosen
   automatically; the shopper may name the coupon instead (``coupon_choice``).
7. **Points** are redeemed last, on request, capped by balance and by a share of
   what is left to pay for the goods.
8. Every order-level amount (full reduction, coupon, points) is allocated back to
   the lines in its scope in proportion to what is left of each, in integer fen,
   so a partial refund returns exactly what the shopper paid for that line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from inspect import Parameter, signature


class Scope(StrEnum):
    all = "all"
    categories = "categories"
    products = "products"


@dataclass(frozen=True)
class ScopeRule:
    """Which lines an offer looks at: everything, some categories or some products,
    minus excluded products."""

    kind: Scope = Scope.all
    category_ids: frozenset[int] = frozenset()
    product_ids: frozenset[int] = frozenset()
    excluded_product_ids: frozenset[int] = frozenset()

    def covers(self, product_id: int, category_id: int) -> bool:
        if product_id in self.excluded_product_ids:
            return False
        if self.kind is Scope.all:
            return True
        if self.kind is Scope.categories:
            return category_id in self.category_ids
        return product_id in self.product_ids


@dataclass(frozen=True)
class CartLine:
    line_id: int  # the SKU id: one line per SKU
    product_id: int
    category_id: int
    title: str
    unit_price_fen: int
    quantity: int
    role: str = "profit"  # product role (traffic / profit / premium)


@dataclass(frozen=True)
class MemberBenefits:
    """What the shopper's tier (and today's member day) does to a price."""

    level: int = 0
    name_zh: str = ""  # 钻石会员
    name_en: str = ""
    percent_off: int = 0  # the tier's discount rate: 20 is 8折
    sku_prices: Mapping[int, int] = field(default_factory=dict)  # sku id -> member price
    free_shipping_threshold_fen: int | None = None  # the tier's, when lower than the store's
    member_day_free_shipping: bool = False  # today is member day and it ships free


@dataclass(frozen=True)
class ShopperInfo:
    shopper_id: int | None = None
    tier: int = 0
    is_new: bool = True  # no paid order yet
    points_balance: int = 0
    member: MemberBenefits | None = None  # None: not signed in, no member benefits


class PromotionKind(StrEnum):
    full_reduction = "full_reduction"  # 满199减30, 满299减50 (best tier met)
    n_item_discount = "n_item_discount"  # 2 items 10 % off
    bundle = "bundle"  # 口红 + 眼影盘 together ¥30 less
    member_price = "member_price"  # tier >= min_tier: percent off the unit price


@dataclass(frozen=True)
class Tier:
    threshold_fen: int
    amount_fen: int


@dataclass(frozen=True)
class Promotion:
    promotion_id: int
    name: str
    kind: PromotionKind
    scope: ScopeRule = ScopeRule()
    # full_reduction: tiers, lowest threshold first
    tiers: tuple[Tier, ...] = ()
    # n_item_discount: at least min_items units in scope -> percent_off on them
    min_items: int = 0
    # n_item_discount and member_price: 10 means 10 % off
    percent_off: int = 0
    # bundle: every product present -> amount_off_fen per complete set
    bundle_product_ids: tuple[int, ...] = ()
    amount_off_fen: int = 0
    # member_price: shoppers at or above this tier
    min_tier: int = 0
    exclusive: bool = False
    stack_group: str = "default"
    priority: int = 0
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    # What a shopper reads as the scope in a hint: "零食类", "口红、眼影" ("" store-wide).
    scope_zh: str = ""
    scope_en: str = ""
    # bundle: the titles of bundle_product_ids, in order, to name what is missing
    bundle_titles: tuple[str, ...] = ()


class CouponKind(StrEnum):
    cash_off = "cash_off"  # 满100减20; threshold 0 is a no-threshold coupon
    percent_off = "percent_off"  # 20 % off, capped at cap_fen
    free_shipping = "free_shipping"


@dataclass(frozen=True)
class Coupon:
    """A coupon the shopper owns (a shopper coupon joined with its template)."""

    coupon_id: int  # the shopper's coupon, not the template
    template_id: int
    name: str
    kind: CouponKind
    threshold_fen: int = 0
    amount_fen: int = 0  # cash_off
    percent_off: int = 0  # percent_off: 20 means 20 % off
    cap_fen: int = 0  # percent_off: 0 means no cap
    scope: ScopeRule = ScopeRule()
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    new_shoppers_only: bool = False
    min_tier: int = 0
    exclusive: bool = False
    stack_group: str = "default"


@dataclass(frozen=True)
class PricingSettings:
    shipping_fen: int = 1000  # flat shipping
    free_shipping_threshold_fen: int = 9900  # shelf subtotal at or above: free
    points_per_yuan: int = 100  # 100 points = ¥1
    points_max_percent: int = 50  # points pay at most this share of the goods


class CouponChoice(StrEnum):
    best = "best"  # the engine picks
    none = "none"  # the shopper wants no coupon
    chosen = "chosen"  # the shopper named coupons in chosen_coupon_ids


@dataclass(frozen=True)
class PricingInput:
    lines: tuple[CartLine, ...]
    shopper: ShopperInfo
    promotions: tuple[Promotion, ...]
    coupons: tuple[Coupon, ...]
    now: datetime
    settings: PricingSettings = PricingSettings()
    coupon_choice: CouponChoice = CouponChoice.best
    chosen_coupon_ids: tuple[int, ...] = ()
    use_points: bool = False


class DiscountSource(StrEnum):
    member_price = "member_price"  # a member-price promotion
    member_tier = "member_tier"  # the shopper's tier: rate or per-SKU price (id: level)
    promotion = "promotion"
    coupon = "coupon"
    points = "points"
    shipping = "shipping"  # free shipping (threshold or coupon)
    activity = "activity"  # a play's own price: group buy, flash sale (id: campaign)


@dataclass(frozen=True)
class Discount:
    """One saving: where it comes from, how much, and a reason a shopper can read."""

    source: DiscountSource
    source_id: int  # promotion id, shopper coupon id, 0 for points / shipping threshold
    name: str
    amount_fen: int
    reason_zh: str
    reason_en: str
    kind: str = ""  # PromotionKind / CouponKind value, "" for points


@dataclass(frozen=True)
class QuoteLine:
    line_id: int
    product_id: int
    quantity: int
    unit_price_fen: int  # shelf price before member price
    subtotal_fen: int  # unit_price_fen * quantity
    member_discount_fen: int  # member price saving on this line
    # every saving on this line (member price, promotions, coupon, points), by source id
    allocations: tuple[tuple[DiscountSource, int, int], ...]
    discount_fen: int  # sum of allocations
    payable_fen: int  # subtotal_fen - discount_fen, never negative


@dataclass(frozen=True)
class Hint:
    """A saving the shopper could still get: "再买 ¥12 可减 ¥30"."""

    source: DiscountSource
    source_id: int
    missing_fen: int  # amount still to buy (0 when the gap is an item count)
    missing_items: int  # items still to add (n-item discount, bundle)
    benefit_fen: int  # what they would save
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class CouponStatus:
    coupon_id: int
    usable: bool
    saving_fen: int  # what it saves in the best combination that uses it; 0 if unusable
    reason_zh: str = ""  # why not usable
    reason_en: str = ""
    missing_fen: int = 0  # threshold gap, when that is the reason


@dataclass(frozen=True)
class Quote:
    lines: tuple[QuoteLine, ...]
    discounts: tuple[Discount, ...]  # every applied saving, in application order
    subtotal_fen: int  # shelf subtotal
    discount_fen: int  # goods discounts: member price + promotions + coupon + points
    shipping_fen: int  # what the shopper pays for shipping (after free shipping)
    points_used: int
    points_fen: int
    total_fen: int  # payable: goods after discounts + shipping, never negative
    applied_coupon_ids: tuple[int, ...]
    applied_promotion_ids: tuple[int, ...]
    coupon_statuses: tuple[CouponStatus, ...]
    hints: tuple[Hint, ...]
    points_available: int = 0  # points the shopper could redeem on this order
    notes: tuple[str, ...] = field(default=())


def check_builder(cls: type, build: Callable[..., object]) -> None:
    """``build`` takes exactly the fields of ``cls``, in order, with the same defaults,
    and ``cls`` does nothing in ``__init__`` beyond setting them."""
    params = [(p.name, p.default) for p in signature(build).parameters.values()]
    wanted = [(f.name, Parameter.empty if f.default is MISSING else f.default) for f in fields(cls)]
    plain = "__slots__" not in vars(cls) and not hasattr(cls, "__post_init__")
    if params != wanted or not plain or not all(f.init for f in fields(cls)):
        raise TypeError(f"{build.__name__} no longer builds a {cls.__name__}")
