"""The price of an order placed through a play (group buy, flash sale, bargain): the
play's unit price for its one line, nothing else. Pure, like ``quote.py``.

The play's price *is* the offer: store promotions, coupons, member prices and points
do not stack on it (CRMEB and mall do the same; a 7折 group price on top of 8折 钻石
and a coupon is not a price an operator sets). The saving against the shelf price is
one discount of source ``activity`` (source id: the campaign), allocated to the line,
so refunds, commission and a play's cost read it like any other saving.
"""

from __future__ import annotations

from dataclasses import dataclass

from siyu.money import format_yuan
from siyu.pricing.info import CartLine, Discount, DiscountSource, PricingSettings, Quote, QuoteLine

_BY_ACTIVITY = DiscountSource.activity


@dataclass(frozen=True)
class ActivityPrice:
    campaign_id: int
    kind: str  # "group_buy", "flash_sale": the order's source
    name_zh: str  # 2人拼团 · 限时秒杀
    name_en: str
    unit_price_fen: int
    free_shipping: bool = True  # plays ship free unless the operator says otherwise


def activity_quote(line: CartLine, price: ActivityPrice, settings: PricingSettings) -> Quote:
    """One line at the play's price (never above the shelf price), shipping free when
    the play says so, else at the store's rule on what is paid for the goods."""
    quantity = max(line.quantity, 0)
    shelf = max(line.unit_price_fen, 0)
    unit = min(max(price.unit_price_fen, 0), shelf)
    subtotal = shelf * quantity
    saving = (shelf - unit) * quantity
    payable = subtotal - saving
    discounts: list[Discount] = []
    allocations: tuple[tuple[DiscountSource, int, int], ...] = ()
    if saving > 0:
        discounts.append(
            Discount(
                source=_BY_ACTIVITY,
                source_id=price.campaign_id,
                name=price.name_zh,
                amount_fen=saving,
                reason_zh=f"{price.name_zh}价 {format_yuan(unit)}",
                reason_en=f"{price.name_en} price {format_yuan(unit)}",
                kind=price.kind,
            )
        )
        allocations = ((_BY_ACTIVITY, price.campaign_id, saving),)
    charged = quantity > 0 and settings.shipping_fen > 0
    free = price.free_shipping or payable >= settings.free_shipping_threshold_fen
    shipping = settings.shipping_fen if charged and not free else 0
    if charged and free:
        discounts.append(
            Discount(
                source=DiscountSource.shipping,
                source_id=0,
                name="包邮",
                amount_fen=settings.shipping_fen,
                reason_zh=f"{price.name_zh}包邮",
                reason_en=f"{price.name_en}: free shipping",
            )
        )
    quote_line = QuoteLine(
        line_id=line.line_id,
        product_id=line.product_id,
        quantity=quantity,
        unit_price_fen=shelf,
        subtotal_fen=subtotal,
        member_discount_fen=0,
        allocations=allocations,
        discount_fen=saving,
        payable_fen=payable,
    )
    return Quote(
        lines=(quote_line,),
        discounts=tuple(discounts),
        subtotal_fen=subtotal,
        discount_fen=saving,
        shipping_fen=shipping,
        points_used=0,
        points_fen=0,
        total_fen=payable + shipping,
        applied_coupon_ids=(),
        applied_promotion_ids=(),
        coupon_statuses=(),
        hints=(),
    )
