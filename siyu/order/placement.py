"""Placing an order, as named steps in one transaction:

address → fetch → quote → check → reserve stock → store allocations → lock coupons →
spend points → schedule timeout → record event.

The order keeps a copy of the address it ships to (``orders.address``): the one typed
at checkout, or a copy of an address-book entry (``address_id``, else the shopper's
default), so editing or deleting that entry later does not change the order.

The order is charged exactly what the pricing engine quotes for these items, this
shopper and ``now``; the quote's split of every discount per line and source is
stored once, as ``order_line_allocations`` rows. A failing step raises and the edge
rolls everything back, so nothing is half-written.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.address.service import AddressDetails, address_for_order
from siyu.cart.service import remove_skus_from_cart
from siyu.catalog import stock
from siyu.catalog.models import Product, Sku
from siyu.catalog.rules import ProductStatus
from siyu.coupon.redemption import lock_for_order
from siyu.errors import Conflict, InvalidInput
from siyu.loyalty.ledger import InsufficientPoints
from siyu.loyalty.orders import spend_for_order
from siyu.money import format_yuan
from siyu.order.events import record_order_event
from siyu.order.models import Order, OrderDiscount, OrderLine, OrderLineAllocation
from siyu.order.rules import (
    MAX_ORDER_LINES,
    PAYMENT_TIMEOUT_TIMER,
    LineInput,
    OrderStatus,
    merge_quantities,
)
from siyu.pricing.activity import ActivityPrice, activity_quote
from siyu.pricing.fetch import Offers, cart_lines, load_offers, pricing_input
from siyu.pricing.info import Coupon, DiscountSource, PricingSettings, Quote, ShopperInfo
from siyu.pricing.quote import quote as price
from siyu.pricing.serialize import quote_to_dict
from siyu.timers import schedule_timer

# The address an order ships to has the details of an address-book entry.
Address = AddressDetails


@dataclass(frozen=True)
class Activity:
    """An order placed through a play (group buy, flash sale): the play's price for
    its one line (``order.source`` is ``price.kind``), and the play's claim — a seat,
    a unit of the sale — made in the placement's transaction once the order row
    exists and before stock, so a refused claim writes nothing. No coupon, promotion,
    member price or points stacks on a play's price (``siyu.pricing.activity``)."""

    price: ActivityPrice
    claim: Callable[[Session, Order], None]


@dataclass(frozen=True)
class OrderRequest:
    shopper_id: int
    address: Address | None
    address_id: int | None
    note: str
    source: str  # "cart" | "buy_now"
    payment_timeout: timedelta
    pricing: PricingSettings
    coupon_ids: list[int] | None
    use_points: bool
    expected_total_fen: int | None
    activity: Activity | None = None


@dataclass(frozen=True)
class FetchedLines:
    """The SKUs and products an order names, checked to be on sale."""

    inputs: tuple[LineInput, ...]
    skus: dict[int, Sku]
    products: dict[int, Product]

    def title(self, sku_id: int) -> str:
        return self.products[self.skus[sku_id].product_id].title


class QuoteChanged(Conflict):
    """409 ``quote_changed``: the error body carries the new quote."""

    def __init__(self, quote: Quote) -> None:
        super().__init__(
            "quote_changed",
            f"价格已变化，应付 {format_yuan(quote.total_fen)}，请确认后再下单 / The price "
            f"changed: you now pay {format_yuan(quote.total_fen)}; please review",
            {"expected_total_fen": str(quote.total_fen)},
        )
        self.extra = {"quote": quote_to_dict(quote)}


def new_order_no(now: datetime) -> str:
    return f"{now:%Y%m%d%H%M%S}{secrets.randbelow(10**8):08d}"


def place_order(
    session: Session,
    *,
    shopper_id: int,
    items: list[tuple[int, int]],
    address: Address | None,
    note: str,
    source: str,
    payment_timeout: timedelta,
    now: datetime,
    address_id: int | None = None,
    pricing: PricingSettings | None = None,
    coupon_ids: list[int] | None = None,
    use_points: bool = False,
    expected_total_fen: int | None = None,
    activity: Activity | None = None,
) -> Order:
    """``expected_total_fen`` is what the shopper was shown: if the quote changed since
    (a promotion ended, a concurrent order took the coupon) nothing is written and the
    shopper gets ``quote_changed`` with the new quote. ``address`` is typed at checkout;
    without it the order ships to the shopper's ``address_id`` or else their default.
    ``activity``: the order is a play's (one line at its price, its claim made here)."""
    if activity is not None:
        check_activity(items, coupon_ids, use_points)
        source = activity.price.kind
    request = OrderRequest(
        shopper_id=shopper_id,
        address=address,
        address_id=address_id,
        note=note,
        source=source,
        payment_timeout=payment_timeout,
        pricing=pricing or PricingSettings(shipping_fen=0, free_shipping_threshold_fen=0),
        coupon_ids=coupon_ids,
        use_points=use_points,
        expected_total_fen=expected_total_fen,
        activity=activity,
    )
    ship_to = resolve_address(session, request)
    lines = fetch_lines(session, items)
    offers, quote = quote_request(session, request, lines, now)
    check_quote(quote, request)
    order = create_order(session, request, ship_to, lines, quote, now)
    if activity is not None:
        activity.claim(session, order)
    store_allocations(session, order, quote, offers)
    lock_coupons(session, request, order, quote, lines, now)
    if source == "cart":
        remove_skus_from_cart(session, shopper_id, [line.sku_id for line in lines.inputs])
    schedule_timeout(session, order, now)
    record_placed(session, order, quote, lines, now)
    # Stock at the end: on PostgreSQL the guarded update locks the SKU row until
    # commit, and every shopper of a sale wants the same row, so the lock is not held
    # through the inserts above (a shortage rolls them back with the rest).
    reserve_stock(session, lines)
    # Points after stock: cancel and refund lock the SKU rows before the points
    # balance, so placement does too (no deadlock between one shopper's orders).
    spend_points(session, request, order, quote, lines, now)
    return order


def resolve_address(session: Session, request: OrderRequest) -> Address:
    """The address the order ships to: the one typed, the shopper's own ``address_id``
    (another shopper's is not found) or the shopper's default."""
    if request.address is not None and request.address_id is not None:
        raise InvalidInput(
            "ambiguous_address",
            "请只填写新地址或选择已保存的地址之一 / Give address or address_id, not both",
            {"address_id": "conflict"},
        )
    if request.address is not None:
        return request.address
    saved = address_for_order(session, request.shopper_id, request.address_id)
    if saved is None:
        raise InvalidInput(
            "address_required",
            "请填写收货地址 / Please give a shipping address",
            {"address": "required"},
        )
    return Address(**saved)


def fetch_lines(session: Session, items: list[tuple[int, int]]) -> FetchedLines:
    if not items:
        raise InvalidInput(
            "empty_order", "请选择要购买的商品 / Choose something to buy", {"items": "required"}
        )
    merged = merge_quantities(items)
    if len(merged) > MAX_ORDER_LINES:
        raise InvalidInput(
            "too_many_lines",
            f"一次最多购买 {MAX_ORDER_LINES} 种商品 / At most "
            f"{MAX_ORDER_LINES} different items per order",
            {"items": "too_many"},
        )
    if any(not 1 <= quantity <= 99 for _, quantity in merged):
        raise InvalidInput(
            "bad_quantity", "数量需在 1 到 99 之间 / Quantity must be 1-99", {"items": "quantity"}
        )
    skus = {
        sku.id: sku
        for sku in session.scalars(select(Sku).where(Sku.id.in_([s for s, _ in merged])))
    }
    products = {
        p.id: p
        for p in session.scalars(
            select(Product).where(Product.id.in_({s.product_id for s in skus.values()}))
        )
    }
    inputs = []
    for sku_id, quantity in merged:
        sku = skus.get(sku_id)
        if (
            sku is None
            or not sku.is_active
            or products[sku.product_id].status is not ProductStatus.on_sale
        ):
            raise Conflict(
                "sku_unavailable",
                f"商品 {sku_id} 不存在或已下架 / Item {sku_id} is unavailable",
                {"items": f"sku {sku_id} unavailable"},
            )
        inputs.append(LineInput(sku_id=sku_id, unit_price_fen=sku.price_fen, quantity=quantity))
    return FetchedLines(tuple(inputs), skus, products)


def check_activity(
    items: list[tuple[int, int]], coupon_ids: list[int] | None, use_points: bool
) -> None:
    if len(merge_quantities(items)) != 1:
        raise InvalidInput(
            "activity_one_item",
            "活动订单只能购买一种商品 / A campaign order is for one item",
            {"items": "one"},
        )
    if coupon_ids or use_points:
        raise InvalidInput(
            "activity_no_stacking",
            "活动价不能再使用优惠券或积分 / Coupons and points do not apply to a campaign price",
            {"coupon_ids" if coupon_ids else "use_points": "not_allowed"},
        )


def quote_request(
    session: Session, request: OrderRequest, lines: FetchedLines, now: datetime
) -> tuple[Offers, Quote]:
    if request.activity is not None:
        return activity_request(session, request, lines)
    return _price(
        session,
        request.shopper_id,
        [(line.sku_id, line.quantity) for line in lines.inputs],
        request.pricing,
        request.coupon_ids,
        request.use_points,
        now,
    )


def activity_request(
    session: Session, request: OrderRequest, lines: FetchedLines
) -> tuple[Offers, Quote]:
    """A play's order is priced by the play alone (``siyu.pricing.activity``)."""
    assert request.activity is not None
    (line,) = cart_lines(session, [(li.sku_id, li.quantity) for li in lines.inputs])
    quote = activity_quote(line, request.activity.price, request.pricing)
    return Offers(ShopperInfo(shopper_id=request.shopper_id), (), ()), quote


def _price(
    session: Session,
    shopper_id: int,
    items: list[tuple[int, int]],
    settings: PricingSettings,
    coupon_ids: list[int] | None,
    use_points: bool,
    now: datetime,
) -> tuple[Offers, Quote]:
    offers = load_offers(session, shopper_id, now)
    quote = price(
        pricing_input(
            cart_lines(session, items),
            offers,
            settings=settings,
            now=now,
            coupon_ids=coupon_ids,
            use_points=use_points,
        )
    )
    return offers, quote


def check_quote(quote: Quote, request: OrderRequest) -> None:
    coupon_ids = request.coupon_ids
    if coupon_ids:
        unusable = [s for s in quote.coupon_statuses if s.coupon_id in coupon_ids and not s.usable]
        missing = set(coupon_ids) - {s.coupon_id for s in quote.coupon_statuses}
        if missing or unusable:
            reason = unusable[0].reason_zh if unusable else "优惠券不可用"
            reason_en = unusable[0].reason_en if unusable else "coupon not available"
            raise Conflict(
                "coupon_unavailable",
                f"优惠券不可用：{reason} / The coupon cannot be used: {reason_en}",
                {
                    "coupon_ids": ",".join(
                        str(c) for c in sorted(missing) or [unusable[0].coupon_id]
                    )
                },
            )
    if request.expected_total_fen is not None and request.expected_total_fen != quote.total_fen:
        raise QuoteChanged(quote)


def reserve_stock(session: Session, lines: FetchedLines) -> None:
    short = stock.reserve_all(session, [(li.sku_id, li.quantity) for li in lines.inputs])
    if short is not None:
        title = lines.title(short)
        raise Conflict(
            "insufficient_stock",
            f"「{title}」库存不足 / Not enough stock for {title}",
            {"items": f"sku {short} insufficient stock"},
        )


def create_order(
    session: Session,
    request: OrderRequest,
    ship_to: Address,
    lines: FetchedLines,
    quote: Quote,
    now: datetime,
) -> Order:
    order = Order(
        order_no=new_order_no(now),
        shopper_id=request.shopper_id,
        status=OrderStatus.pending_payment,
        source=request.source,
        subtotal_fen=quote.subtotal_fen,
        discount_fen=quote.discount_fen,
        shipping_fen=quote.shipping_fen,
        total_fen=quote.total_fen,
        address=dict(ship_to.__dict__),
        note=request.note,
        placed_at=now,
        pay_deadline=now + request.payment_timeout,
        pricing=quote_to_dict(quote),
    )
    priced = {q.line_id: q for q in quote.lines}
    for line in lines.inputs:
        sku = lines.skus[line.sku_id]
        product = lines.products[sku.product_id]
        order.lines.append(
            OrderLine(
                sku_id=sku.id,
                product_id=product.id,
                title=product.title,
                spec=dict(sku.spec),
                image_url=sku.image_url or (product.image_urls or [""])[0],
                unit_price_fen=line.unit_price_fen,
                quantity=line.quantity,
                payable_fen=priced[line.sku_id].payable_fen,
            )
        )
    session.add(order)
    session.flush()
    return order


def store_allocations(session: Session, order: Order, quote: Quote, offers: Offers) -> None:
    """One row per line per discount source, and the order's savings by source (the
    redemption stats read those)."""
    line_ids = {line.sku_id: line.id for line in order.lines}
    for quoted in quote.lines:
        for source, source_id, amount in quoted.allocations:
            if amount > 0:
                session.add(
                    OrderLineAllocation(
                        order_id=order.id,
                        order_line_id=line_ids[quoted.line_id],
                        source=source.value,
                        source_id=source_id,
                        amount_fen=amount,
                    )
                )
    templates = {c.coupon_id: c.template_id for c in offers.coupons}
    for d in quote.discounts:
        if d.amount_fen > 0:
            session.add(
                OrderDiscount(
                    order_id=order.id,
                    source=d.source.value,
                    source_id=d.source_id,
                    template_id=templates.get(d.source_id)
                    if d.source is DiscountSource.coupon
                    else None,
                    kind=d.kind,
                    name=d.name[:64],
                    amount_fen=d.amount_fen,
                )
            )
    session.flush()


def lock_coupons(
    session: Session,
    request: OrderRequest,
    order: Order,
    quote: Quote,
    lines: FetchedLines,
    now: datetime,
) -> None:
    """Lock the coupons the quote chose. A concurrent order may have taken one since
    the quote was read (PostgreSQL reads before it waits; SQLite's writers queue before
    reading, so there the quote already differs): the shopper gets the new quote,
    the same answer on both databases."""
    if not quote.applied_coupon_ids:
        return
    try:
        lock_for_order(
            session,
            shopper_id=request.shopper_id,
            coupon_ids=quote.applied_coupon_ids,
            order_id=order.id,
            now=now,
        )
    except Conflict:
        if request.coupon_ids:
            raise  # the shopper picked that coupon: it is simply unavailable now
        session.expire_all()
        _, fresh = quote_request(session, request, lines, now)
        raise QuoteChanged(fresh) from None


def spend_points(
    session: Session,
    request: OrderRequest,
    order: Order,
    quote: Quote,
    lines: FetchedLines,
    now: datetime,
) -> None:
    """Debit exactly the points the quote redeems, guarded. A concurrent order may
    have spent them since the quote was read (PostgreSQL): a shopper who was shown a
    total gets the new quote (``quote_changed``, as SQLite answers, where the quote
    already saw the other order); otherwise ``points_insufficient``."""
    if quote.points_used <= 0:
        return
    try:
        spend_for_order(
            session,
            shopper_id=request.shopper_id,
            order_id=order.id,
            points=quote.points_used,
            now=now,
        )
    except InsufficientPoints:
        if request.expected_total_fen is None:
            raise
        session.expire_all()
        _, fresh = quote_request(session, request, lines, now)
        raise QuoteChanged(fresh) from None


def schedule_timeout(session: Session, order: Order, now: datetime) -> None:
    schedule_timer(
        session,
        PAYMENT_TIMEOUT_TIMER,
        order.id,
        due_at=order.pay_deadline,
        payload={"order_id": order.id},
        now=now,
    )


def record_placed(
    session: Session, order: Order, quote: Quote, lines: FetchedLines, now: datetime
) -> None:
    record_order_event(
        session,
        "order.placed",
        order.id,
        now,
        {
            "order_id": order.id,
            "order_no": order.order_no,
            "shopper_id": order.shopper_id,
            "total_fen": order.total_fen,
            "discount_fen": order.discount_fen,
            "coupon_ids": list(quote.applied_coupon_ids),
            "promotion_ids": list(quote.applied_promotion_ids),
            "lines": [
                {"sku_id": li.sku_id, "quantity": li.quantity, "unit_price_fen": li.unit_price_fen}
                for li in lines.inputs
            ],
        },
    )


def checkout_quote(
    session: Session,
    *,
    shopper_id: int,
    items: list[tuple[int, int]],
    pricing: PricingSettings,
    coupon_ids: list[int] | None,
    use_points: bool,
    now: datetime,
) -> tuple[Quote, dict[int, Coupon]]:
    """What placing these items now would charge: the same engine, inputs and choice
    as :func:`place_order`, so the quote shown is the amount charged. Lines that
    cannot be bought (off sale, unknown) are left out. Returns the quote and the
    shopper's usable coupons by id (for the coupon picker)."""
    merged = [(sku, min(max(qty, 1), 99)) for sku, qty in merge_quantities(items)]
    sellable = set(
        session.scalars(
            select(Sku.id)
            .join(Product, Product.id == Sku.product_id)
            .where(
                Sku.id.in_([sku for sku, _ in merged]),
                Sku.is_active.is_(True),
                Product.status == ProductStatus.on_sale,
            )
        )
    )
    offers, quote = _price(
        session,
        shopper_id,
        [(sku, qty) for sku, qty in merged if sku in sellable],
        pricing,
        coupon_ids,
        use_points,
        now,
    )
    return quote, {c.coupon_id: c for c in offers.coupons}
