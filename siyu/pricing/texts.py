"""The words of a quote, in Chinese and English: discount reasons, hints, why a coupon
cannot be used. Pure formatting; ``quote.py`` calls these only for what it returns.

The reasons depend on an offer's settings only, which repeat from quote to quote, so
they are memoised (formatting money is a good part of the cost of a quote)."""

from __future__ import annotations

from functools import lru_cache

from siyu.money import format_yuan, short_yuan, zhe
from siyu.pricing.info import CouponKind, PromotionKind

_FULL_REDUCTION, _N_ITEM = PromotionKind.full_reduction.value, PromotionKind.n_item_discount.value
_BUNDLE = PromotionKind.bundle.value
_CASH_OFF, _FREE_SHIPPING = CouponKind.cash_off.value, CouponKind.free_shipping.value

Words = tuple[str, str]  # zh, en

# Why a coupon cannot be used (the threshold gap is ``threshold_gap``).
NOT_VALID_YET: Words = ("未到使用时间", "Not valid yet")
EXPIRED: Words = ("已过期", "Expired")
NEW_SHOPPERS_ONLY: Words = ("仅限新人使用", "New shoppers only")
TIER_TOO_LOW: Words = ("会员等级不足", "Member tier too low")
NO_ELIGIBLE_ITEMS: Words = ("购物车中没有适用商品", "No eligible items in the cart")
SHIPPING_ALREADY_FREE: Words = ("本单已免运费", "Shipping is already free")
POINTS_NAME = "积分抵扣"
FREE_SHIPPING_NAME = "满额包邮"
MEMBER_DAY_SHIPPING_NAME = "会员日包邮"
MEMBER_DAY_SHIPPING_REASON: Words = ("会员日全场包邮", "Free shipping on member day")


def threshold_gap(gap: int) -> Words:
    return f"还差 {format_yuan(gap)} 可用", f"{format_yuan(gap)} more to use"


@lru_cache(maxsize=1024)
def cannot_combine(name: str) -> Words:
    return f"不可与「{name}」同享", f"Cannot be combined with “{name}”"


def not_owned(coupon_id: int) -> str:
    return f"coupon {coupon_id} is not one of the shopper's coupons"


# ---------------------------------------------------------------- hints


# A hint names its scope: "全场再买 ¥70.00 可减 ¥30.00", "零食类再买 2 件可享 9 折",
# "再加 1 件 九色大地色眼影盘 可减 ¥30.00". ``scope_zh`` / ``scope_en`` "" is store-wide.


def spend_more_hint(gap: int, get: int, scope_zh: str = "", scope_en: str = "") -> Words:
    return f"{scope_zh or '全场'}再买 {format_yuan(gap)} 可减 {format_yuan(get)}", (
        f"Spend {format_yuan(gap)} more{_on(scope_en)} to save {format_yuan(get)}"
    )


def more_items_hint(short: int, percent: int, scope_zh: str = "", scope_en: str = "") -> Words:
    return f"{scope_zh or '全场'}再买 {short} 件可享 {zhe(percent)} 折", (
        f"Add {short} more {items(short)}{_on(scope_en, 'from')} for {percent} % off"
    )


def bundle_hint(short: int, get: int, missing_titles: tuple[str, ...] = ()) -> Words:
    if missing_titles:
        names = "、".join(missing_titles)
        return f"再加 {short} 件 {names} 可减 {format_yuan(get)}", (
            f"Add {', '.join(missing_titles)} to save {format_yuan(get)}"
        )
    return f"再加 {short} 件组合商品可减 {format_yuan(get)}", (
        f"Add {short} more bundle {items(short)} to save {format_yuan(get)}"
    )


def _on(scope_en: str, word: str = "on") -> str:
    return f" {word} {scope_en}" if scope_en else ""


def free_shipping_hint(gap: int) -> Words:
    return f"再买 {format_yuan(gap)} 可免运费", f"Spend {format_yuan(gap)} more for free shipping"


# ---------------------------------------------------------------- discount reasons


@lru_cache(maxsize=128)
def member_price_reason(percent: int) -> Words:
    return f"会员价{zhe(percent)}折", f"Member price: {percent} % off"


def tier_price_name(name_zh: str) -> str:
    return f"{name_zh}价"


@lru_cache(maxsize=128)
def tier_price_reason(name_zh: str, name_en: str, percent: int) -> Words:
    """ "钻石会员价，全场8折" / "Diamond member price: 20 % off" (no rate: SKU prices)."""
    if percent:
        return f"{name_zh}价，全场{zhe(percent)}折", f"{name_en} member price: {percent} % off"
    return f"{name_zh}价", f"{name_en} member price"


@lru_cache(maxsize=128)
def tier_free_shipping_reason(name_zh: str, name_en: str, threshold_fen: int) -> Words:
    if threshold_fen <= 0:
        return f"{name_zh}包邮", f"Free shipping for {name_en} members"
    return (
        f"{name_zh}满{short_yuan(threshold_fen)}免运费",
        f"Free shipping over {format_yuan(threshold_fen)} for {name_en} members",
    )


def points_reason(points: int) -> Words:
    return f"积分抵扣 {points} 积分", f"{points} points redeemed"


@lru_cache(maxsize=128)
def free_shipping_reason(threshold_fen: int) -> Words:
    return (
        f"满{short_yuan(threshold_fen)}免运费",
        f"Free shipping over {format_yuan(threshold_fen)}",
    )


@lru_cache(maxsize=4096)
def offer_reason(
    kind: str,
    amount: int,
    threshold_fen: int,
    fixed_fen: int,
    percent: int,
    min_items: int,
    cap_fen: int,
) -> Words:
    """Why a promotion or coupon saved ``amount``: 满199减30, 2件9折, 优惠券：8折…"""
    t = threshold_fen
    if kind == _FULL_REDUCTION:
        a = fixed_fen
        if t <= 0:
            return f"立减{short_yuan(a)}", f"{format_yuan(a)} off"
        return (
            f"满{short_yuan(t)}减{short_yuan(a)}",
            f"{format_yuan(a)} off orders over {format_yuan(t)}",
        )
    if kind == _N_ITEM:
        return f"{min_items}件{zhe(percent)}折", f"{percent} % off {min_items} or more items"
    if kind == _BUNDLE:
        return f"组合购立减{format_yuan(amount)}", f"Bundle: {format_yuan(amount)} off"
    if kind == _FREE_SHIPPING:
        return "优惠券：免运费", "Coupon: free shipping"
    if kind == _CASH_OFF:
        a = fixed_fen
        if t <= 0:
            return f"优惠券：无门槛减{short_yuan(a)}", f"Coupon: {format_yuan(a)} off"
        return (
            f"优惠券：满{short_yuan(t)}减{short_yuan(a)}",
            f"Coupon: {format_yuan(a)} off orders over {format_yuan(t)}",
        )
    zh = f"优惠券：{f'满{short_yuan(t)}' if t > 0 else ''}{zhe(percent)}折"
    en = f"Coupon: {percent} % off" + (f" orders over {format_yuan(t)}" if t > 0 else "")
    if cap_fen > 0:
        zh += f"，最高减{short_yuan(cap_fen)}"
        en += f", up to {format_yuan(cap_fen)}"
    return zh, en


# ---------------------------------------------------------------- words


def items(count: int) -> str:
    return "item" if count == 1 else "items"
