"""A coupon's life on an order (locked at placement, used on payment, released on
cancel, restored after a full refund, expired by the sweep) and what coupons did for
the store (redemption stats). Every step is one conditional update."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from siyu.coupon.models import ShopperCoupon
from siyu.coupon.rules import CouponStatus, IssueSource
from siyu.db import rowcount
from siyu.errors import Conflict
from siyu.lifecycle import OrderCancelled, OrderLifecycle, OrderPaid, OrderRefunded
from siyu.order.models import Order, OrderLineAllocation
from siyu.outbox import append_event
from siyu.pricing.info import DiscountSource


def lock_for_order(
    session: Session,
    *,
    shopper_id: int,
    coupon_ids: Iterable[int],
    order_id: int,
    now: datetime,
) -> None:
    """issued → locked by this order, each with one guarded update. If any coupon was
    taken by a concurrent order (or expired) the caller's transaction must roll back."""
    for coupon_id in sorted(set(coupon_ids)):
        result = session.execute(
            update(ShopperCoupon)
            .where(
                ShopperCoupon.id == coupon_id,
                ShopperCoupon.shopper_id == shopper_id,
                ShopperCoupon.status == CouponStatus.issued,
                ShopperCoupon.valid_from <= now,
                ShopperCoupon.valid_until > now,
            )
            .values(status=CouponStatus.locked, order_id=order_id, locked_at=now)
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) != 1:
            raise Conflict(
                "coupon_unavailable",
                "优惠券已被使用或已失效，请重新结算 / The coupon was used or is no longer "
                "valid; please review your order",
                {"coupon_ids": str(coupon_id)},
            )


def use_for_order(
    session: Session, *, order_id: int, discounts: dict[int, int], now: datetime
) -> list[int]:
    """locked → used when the order is paid; ``discounts`` maps coupon id → saving."""
    used = []
    for coupon in session.scalars(
        select(ShopperCoupon).where(
            ShopperCoupon.order_id == order_id, ShopperCoupon.status == CouponStatus.locked
        )
    ):
        result = session.execute(
            update(ShopperCoupon)
            .where(ShopperCoupon.id == coupon.id, ShopperCoupon.status == CouponStatus.locked)
            .values(status=CouponStatus.used, used_at=now, discount_fen=discounts.get(coupon.id, 0))
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) == 1:
            used.append(coupon.id)
            append_event(
                session,
                "coupon.used",
                aggregate_type="coupon",
                aggregate_id=coupon.id,
                now=now,
                payload={
                    "coupon_id": coupon.id,
                    "template_id": coupon.template_id,
                    "shopper_id": coupon.shopper_id,
                    "order_id": order_id,
                    "amount_fen": discounts.get(coupon.id, 0),
                },
            )
    return used


def coupon_savings(session: Session, order_id: int) -> dict[int, int]:
    """Coupon id → what it saved on an order, from the order's allocation rows."""
    rows = session.execute(
        select(OrderLineAllocation.source_id, func.sum(OrderLineAllocation.amount_fen))
        .where(
            OrderLineAllocation.order_id == order_id,
            OrderLineAllocation.source == DiscountSource.coupon.value,
        )
        .group_by(OrderLineAllocation.source_id)
    ).all()
    return {int(coupon_id): int(amount) for coupon_id, amount in rows}


def mark_used(session: Session, event: OrderPaid, now: datetime) -> None:
    use_for_order(
        session,
        order_id=event.order_id,
        discounts=coupon_savings(session, event.order_id),
        now=now,
    )


def release(session: Session, event: OrderCancelled, now: datetime) -> None:
    release_for_order(session, order_id=event.order_id, now=now)


def restore_when_all_returned(session: Session, event: OrderRefunded, now: datetime) -> None:
    """Everything came back: coupons still valid go back to the shopper."""
    if event.fully_refunded:
        restore_for_order(session, order_id=event.order_id, now=now)


def register_steps(lifecycle: OrderLifecycle) -> None:
    lifecycle.on_paid("coupon.mark_used", mark_used)
    lifecycle.on_cancelled("coupon.release", release)
    lifecycle.on_refunded("coupon.restore", restore_when_all_returned)


def release_for_order(session: Session, *, order_id: int, now: datetime) -> int:
    """locked → issued when the order is cancelled (expired if no longer valid)."""
    return _give_back(session, order_id, CouponStatus.locked, now)


def restore_for_order(session: Session, *, order_id: int, now: datetime) -> int:
    """used → issued when the whole order was refunded (expired if no longer valid)."""
    return _give_back(session, order_id, CouponStatus.used, now)


def _give_back(session: Session, order_id: int, current: CouponStatus, now: datetime) -> int:
    restored = rowcount(
        session.execute(
            update(ShopperCoupon)
            .where(
                ShopperCoupon.order_id == order_id,
                ShopperCoupon.status == current,
                ShopperCoupon.valid_until > now,
            )
            .values(
                status=CouponStatus.issued,
                order_id=None,
                locked_at=None,
                used_at=None,
                discount_fen=0,
            )
            .execution_options(synchronize_session=False)
        )
    )
    session.execute(
        update(ShopperCoupon)
        .where(ShopperCoupon.order_id == order_id, ShopperCoupon.status == current)
        .values(status=CouponStatus.expired)
        .execution_options(synchronize_session=False)
    )
    return restored


def expire_due(session: Session, *, now: datetime, limit: int = 1000) -> int:
    """issued → expired for coupons past their validity (the worker's sweep)."""
    ids = list(
        session.scalars(
            select(ShopperCoupon.id)
            .where(ShopperCoupon.status == CouponStatus.issued, ShopperCoupon.valid_until <= now)
            .limit(limit)
        )
    )
    if not ids:
        return 0
    return rowcount(
        session.execute(
            update(ShopperCoupon)
            .where(ShopperCoupon.id.in_(ids), ShopperCoupon.status == CouponStatus.issued)
            .values(status=CouponStatus.expired)
            .execution_options(synchronize_session=False)
        )
    )


@dataclass(frozen=True)
class RedemptionStats:
    template_id: int
    issued: int  # coupons out, however they were issued
    claimed: int  # of which claimed by shoppers in the claim center
    unused: int  # issued and still valid
    locked: int  # on an unpaid order
    used: int
    expired: int
    gmv_fen: int  # paid amount of orders that used a coupon of this template
    discount_fen: int  # what those coupons cost the store


def redemption_stats(session: Session, now: datetime) -> dict[int, RedemptionStats]:
    counts: dict[int, dict[str, int]] = {}
    rows = session.execute(
        select(
            ShopperCoupon.template_id,
            ShopperCoupon.status,
            ShopperCoupon.source,
            func.count(),
            func.sum(case((ShopperCoupon.valid_until > now, 1), else_=0)),
            func.coalesce(func.sum(ShopperCoupon.discount_fen), 0),
        ).group_by(ShopperCoupon.template_id, ShopperCoupon.status, ShopperCoupon.source)
    ).all()
    keys = ("issued", "claimed", "unused", "locked", "used", "expired", "discount")
    for template_id, status, source, n, still_valid, discount in rows:
        c = counts.setdefault(template_id, dict.fromkeys(keys, 0))
        n, still_valid = int(n), int(still_valid or 0)
        c["issued"] += n
        c["claimed"] += n if source is IssueSource.claim else 0
        if status is CouponStatus.issued:
            c["unused"] += still_valid
            c["expired"] += n - still_valid  # past validity, not yet swept
        else:
            c[status.value] += n
        if status is CouponStatus.used:
            c["discount"] += int(discount)
    gmv = dict(
        session.execute(
            select(ShopperCoupon.template_id, func.coalesce(func.sum(Order.paid_fen), 0))
            .join(Order, Order.id == ShopperCoupon.order_id)
            .where(ShopperCoupon.status == CouponStatus.used)
            .group_by(ShopperCoupon.template_id)
        ).all()
    )
    return {
        t: RedemptionStats(
            template_id=t,
            issued=c["issued"],
            claimed=c["claimed"],
            unused=c["unused"],
            locked=c["locked"],
            used=c["used"],
            expired=c["expired"],
            gmv_fen=int(gmv.get(t, 0)),
            discount_fen=c["discount"],
        )
        for t, c in counts.items()
    }
