"""Order use cases: place (reserving stock), cancel (releasing it exactly once),
ship, confirm receipt, and the two timers (payment timeout, auto-confirmation)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.cart.service import remove_skus_from_cart
from siyu.catalog.models import Product, Sku
from siyu.catalog.rules import ProductStatus
from siyu.coupon.redemption import lock_for_order, release_for_order
from siyu.db import rowcount
from siyu.errors import Conflict, InvalidInput, NotFound
from siyu.identity.audit import record_audit
from siyu.money import format_yuan
from siyu.order.models import Order, OrderDiscount, OrderLine
from siyu.order.rules import (
    MAX_ORDER_LINES,
    LineInput,
    OrderAction,
    OrderStatus,
    merge_quantities,
    next_status,
    source_status,
)
from siyu.outbox import OutboxEvent, append_event
from siyu.pricing.fetch import cart_lines, load_offers, pricing_input
from siyu.pricing.info import Coupon, DiscountSource, PricingSettings, Quote
from siyu.pricing.quote import quote as price
from siyu.pricing.serialize import quote_to_dict
from siyu.timers import cancel_timer, schedule_timer

PAYMENT_TIMEOUT_TIMER = "order.payment_timeout"
AUTO_CONFIRM_TIMER = "order.auto_confirm"


@dataclass(frozen=True)
class Address:
    name: str
    phone: str
    province: str
    city: str
    district: str
    detail: str


def new_order_no(now: datetime) -> str:
    return f"{now:%Y%m%d%H%M%S}{secrets.randbelow(10**8):08d}"


def get_order(session: Session, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound("order_not_found", "订单不存在 / Order not found")
    return order


def get_order_by_no(session: Session, order_no: str) -> Order | None:
    return session.scalar(select(Order).where(Order.order_no == order_no))


def get_shopper_order(session: Session, shopper_id: int, order_id: int) -> Order:
    """A shopper sees only their own orders; another's order is simply 'not found'."""
    order = session.get(Order, order_id)
    if order is None or order.shopper_id != shopper_id:
        raise NotFound("order_not_found", "订单不存在 / Order not found")
    return order


def transition(
    session: Session, order: Order, action: OrderAction, now: datetime, **values: Any
) -> bool:
    """Apply ``action`` with a conditional update; False if the order was not in the
    one state the action starts from (someone else got there first)."""
    source = source_status(action)
    target = next_status(source, action)
    assert target is not None
    result = session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == source)
        .values(status=target, **values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(order)
    return rowcount(result) == 1


def place_order(
    session: Session,
    *,
    shopper_id: int,
    items: list[tuple[int, int]],
    address: Address,
    note: str,
    source: str,
    payment_timeout: timedelta,
    now: datetime,
    pricing: PricingSettings | None = None,
    coupon_ids: list[int] | None = None,
    use_points: bool = False,
    expected_total_fen: int | None = None,
) -> Order:
    """Place an order charged exactly what the pricing engine quotes for these items,
    this shopper and ``now``. ``expected_total_fen`` is what the shopper was shown: if
    the quote changed since (a promotion ended, a coupon expired) nothing is written
    and the shopper gets ``quote_changed`` with the new total."""
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
    for _, quantity in merged:
        if not 1 <= quantity <= 99:
            raise InvalidInput(
                "bad_quantity",
                "数量需在 1 到 99 之间 / Quantity must be 1-99",
                {"items": "quantity"},
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
    offers = load_offers(session, shopper_id, now)
    quote = price(
        pricing_input(
            cart_lines(session, [(line.sku_id, line.quantity) for line in inputs]),
            offers,
            settings=pricing or PricingSettings(shipping_fen=0, free_shipping_threshold_fen=0),
            now=now,
            coupon_ids=coupon_ids,
            use_points=use_points,
        )
    )
    _check_quote(quote, coupon_ids=coupon_ids, expected_total_fen=expected_total_fen)
    # Reserve in id order so concurrent multi-line orders lock rows in the same order.
    for line in sorted(inputs, key=lambda x: x.sku_id):
        reserved = session.execute(
            update(Sku)
            .where(Sku.id == line.sku_id, Sku.stock >= line.quantity)
            .values(stock=Sku.stock - line.quantity)
            .execution_options(synchronize_session=False)
        )
        if rowcount(reserved) != 1:
            title = products[skus[line.sku_id].product_id].title
            raise Conflict(
                "insufficient_stock",
                f"「{title}」库存不足 / Not enough stock for {title}",
                {"items": f"sku {line.sku_id} insufficient stock"},
            )
    order = Order(
        order_no=new_order_no(now),
        shopper_id=shopper_id,
        status=OrderStatus.pending_payment,
        source=source,
        subtotal_fen=quote.subtotal_fen,
        discount_fen=quote.discount_fen,
        shipping_fen=quote.shipping_fen,
        total_fen=quote.total_fen,
        address=address.__dict__,
        note=note,
        placed_at=now,
        pay_deadline=now + payment_timeout,
        pricing=quote_to_dict(quote),
    )
    priced = {q.line_id: q for q in quote.lines}
    for line in inputs:
        sku = skus[line.sku_id]
        product = products[sku.product_id]
        order.lines.append(
            OrderLine(
                sku_id=sku.id,
                product_id=product.id,
                title=product.title,
                spec=dict(sku.spec),
                image_url=sku.image_url or (product.image_urls or [""])[0],
                unit_price_fen=line.unit_price_fen,
                quantity=line.quantity,
                discount_fen=priced[line.sku_id].discount_fen,
                payable_fen=priced[line.sku_id].payable_fen,
            )
        )
    session.add(order)
    session.flush()
    _record_discounts(session, order, quote, {c.coupon_id: c.template_id for c in offers.coupons})
    if quote.applied_coupon_ids:
        lock_for_order(
            session,
            shopper_id=shopper_id,
            coupon_ids=quote.applied_coupon_ids,
            order_id=order.id,
            now=now,
        )
    if source == "cart":
        remove_skus_from_cart(session, shopper_id, [line.sku_id for line in inputs])
    schedule_timer(
        session,
        PAYMENT_TIMEOUT_TIMER,
        order.id,
        due_at=order.pay_deadline,
        payload={"order_id": order.id},
        now=now,
    )
    append_event(
        session,
        "order.placed",
        aggregate_type="order",
        aggregate_id=order.id,
        now=now,
        payload={
            "order_id": order.id,
            "order_no": order.order_no,
            "shopper_id": shopper_id,
            "total_fen": order.total_fen,
            "discount_fen": order.discount_fen,
            "coupon_ids": list(quote.applied_coupon_ids),
            "promotion_ids": list(quote.applied_promotion_ids),
            "lines": [
                {"sku_id": li.sku_id, "quantity": li.quantity, "unit_price_fen": li.unit_price_fen}
                for li in inputs
            ],
        },
    )
    return order


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
    offers = load_offers(session, shopper_id, now)
    quote = price(
        pricing_input(
            cart_lines(session, [(sku, qty) for sku, qty in merged if sku in sellable]),
            offers,
            settings=pricing,
            now=now,
            coupon_ids=coupon_ids,
            use_points=use_points,
        )
    )
    return quote, {c.coupon_id: c for c in offers.coupons}


def _check_quote(
    quote: Quote, *, coupon_ids: list[int] | None, expected_total_fen: int | None
) -> None:
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
    if expected_total_fen is not None and expected_total_fen != quote.total_fen:
        raise Conflict(
            "quote_changed",
            f"价格已变化，应付 {format_yuan(quote.total_fen)}，请确认后再下单 / The price "
            f"changed: you now pay {format_yuan(quote.total_fen)}; please review",
            {"expected_total_fen": str(quote.total_fen)},
        )


def _record_discounts(
    session: Session, order: Order, quote: Quote, templates: dict[int, int]
) -> None:
    for d in quote.discounts:
        if d.amount_fen <= 0:
            continue
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


def cancel_order(session: Session, order: Order, *, reason: str, now: datetime) -> bool:
    """pending_payment → cancelled; the winner of the conditional update releases the
    stock. Returns False if the order had already left pending_payment."""
    if not transition(
        session, order, OrderAction.cancel, now, cancelled_at=now, cancel_reason=reason
    ):
        return False
    # Same lock order as placement (by SKU id), so concurrent cancels cannot deadlock.
    for line in sorted(order.lines, key=lambda li: li.sku_id):
        session.execute(
            update(Sku)
            .where(Sku.id == line.sku_id)
            .values(stock=Sku.stock + line.quantity)
            .execution_options(synchronize_session=False)
        )
    cancel_timer(session, PAYMENT_TIMEOUT_TIMER, order.id)
    release_for_order(session, order_id=order.id, now=now)
    append_event(
        session,
        "order.cancelled",
        aggregate_type="order",
        aggregate_id=order.id,
        now=now,
        payload={"order_id": order.id, "shopper_id": order.shopper_id, "reason": reason},
    )
    return True


def cancel_by_shopper(session: Session, *, shopper_id: int, order_id: int, now: datetime) -> Order:
    order = get_shopper_order(session, shopper_id, order_id)
    if not cancel_order(session, order, reason="shopper", now=now):
        raise Conflict(
            "order_not_cancellable",
            "订单已支付或已取消，不能取消 / Only unpaid orders can be cancelled",
        )
    return order


def cancel_by_operator(session: Session, *, actor_id: int, order_id: int, now: datetime) -> Order:
    order = get_order(session, order_id)
    before = {"status": str(order.status)}
    if not cancel_order(session, order, reason="operator", now=now):
        raise Conflict(
            "order_not_cancellable",
            "只能取消待支付订单；已支付订单请走售后退款 / "
            "Only unpaid orders can be cancelled; refund paid ones via after-sales",
        )
    record_audit(
        session,
        operator_id=actor_id,
        action="order.cancel",
        target_type="order",
        target_id=order.id,
        before=before,
        after={"status": str(order.status)},
        now=now,
    )
    return order


def ship_order(
    session: Session,
    *,
    actor_id: int,
    order_id: int,
    carrier: str,
    tracking_no: str,
    auto_confirm_after: timedelta,
    now: datetime,
) -> Order:
    order = get_order(session, order_id)
    if order.refunded_fen >= order.paid_fen > 0:
        raise Conflict("order_refunded", "订单已全额退款，不能发货 / The order was refunded")
    if order.open_aftersale_id is not None:
        raise Conflict(
            "aftersale_open",
            "订单有待处理的售后申请，请先处理 / Resolve the open "
            "after-sales request before shipping",
        )
    before = {"status": str(order.status)}
    if not transition(
        session,
        order,
        OrderAction.ship,
        now,
        shipped_at=now,
        carrier=carrier,
        tracking_no=tracking_no,
    ):
        raise Conflict(
            "order_not_shippable", "只有已支付的订单可以发货 / Only paid orders can be shipped"
        )
    schedule_timer(
        session,
        AUTO_CONFIRM_TIMER,
        order.id,
        due_at=now + auto_confirm_after,
        payload={"order_id": order.id},
        now=now,
    )
    record_audit(
        session,
        operator_id=actor_id,
        action="order.ship",
        target_type="order",
        target_id=order.id,
        before=before,
        after={"status": str(order.status), "carrier": carrier, "tracking_no": tracking_no},
        now=now,
    )
    append_event(
        session,
        "order.shipped",
        aggregate_type="order",
        aggregate_id=order.id,
        now=now,
        payload={
            "order_id": order.id,
            "shopper_id": order.shopper_id,
            "carrier": carrier,
            "tracking_no": tracking_no,
        },
    )
    return order


def complete_order(session: Session, order: Order, *, by: str, now: datetime) -> bool:
    if not transition(session, order, OrderAction.confirm, now, completed_at=now):
        return False
    cancel_timer(session, AUTO_CONFIRM_TIMER, order.id)
    append_event(
        session,
        "order.completed",
        aggregate_type="order",
        aggregate_id=order.id,
        now=now,
        payload={
            "order_id": order.id,
            "shopper_id": order.shopper_id,
            "by": by,
            "total_fen": order.total_fen,
        },
    )
    return True


def confirm_receipt(session: Session, *, shopper_id: int, order_id: int, now: datetime) -> Order:
    order = get_shopper_order(session, shopper_id, order_id)
    if not complete_order(session, order, by="shopper", now=now):
        raise Conflict(
            "order_not_shipped", "订单尚未发货，不能确认收货 / The order has not shipped yet"
        )
    return order


def auto_confirm(session: Session, payload: dict[str, Any], now: datetime) -> None:
    order = session.get(Order, payload["order_id"])
    if order is not None:
        complete_order(session, order, by="system", now=now)


def list_shopper_orders(
    session: Session,
    shopper_id: int,
    *,
    status: OrderStatus | None,
    limit: int,
    before_id: int | None,
) -> list[Order]:
    stmt = select(Order).where(Order.shopper_id == shopper_id)
    if status is not None:
        stmt = stmt.where(Order.status == status)
    if before_id is not None:
        stmt = stmt.where(Order.id < before_id)
    return list(session.scalars(stmt.order_by(Order.id.desc()).limit(min(max(limit, 1), 50))))


@dataclass(frozen=True)
class OrderFilter:
    status: OrderStatus | None = None
    shopper_id: int | None = None
    order_no: str | None = None
    placed_from: datetime | None = None
    placed_to: datetime | None = None
    min_total_fen: int | None = None
    max_total_fen: int | None = None
    flagged: bool | None = None


def search_orders(
    session: Session, f: OrderFilter, *, limit: int = 50, before_id: int | None = None
) -> list[Order]:
    stmt = select(Order)
    if f.status is not None:
        stmt = stmt.where(Order.status == f.status)
    if f.shopper_id is not None:
        stmt = stmt.where(Order.shopper_id == f.shopper_id)
    if f.order_no:
        stmt = stmt.where(Order.order_no == f.order_no)
    if f.placed_from is not None:
        stmt = stmt.where(Order.placed_at >= f.placed_from)
    if f.placed_to is not None:
        stmt = stmt.where(Order.placed_at < f.placed_to)
    if f.min_total_fen is not None:
        stmt = stmt.where(Order.total_fen >= f.min_total_fen)
    if f.max_total_fen is not None:
        stmt = stmt.where(Order.total_fen <= f.max_total_fen)
    if f.flagged is not None:
        stmt = stmt.where(
            Order.payment_flag.is_not(None) if f.flagged else Order.payment_flag.is_(None)
        )
    if before_id is not None:
        stmt = stmt.where(Order.id < before_id)
    return list(session.scalars(stmt.order_by(Order.id.desc()).limit(min(max(limit, 1), 200))))


def order_timeline(session: Session, order_id: int) -> list[OutboxEvent]:
    """What happened to an order, from its domain events, oldest first."""
    return list(
        session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.aggregate_type == "order", OutboxEvent.aggregate_id == str(order_id))
            .order_by(OutboxEvent.id)
        )
    )
