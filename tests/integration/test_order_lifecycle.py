"""The order lifecycle seam, through the real notification path on SQLite and
PostgreSQL: a subscribed ``paid`` step runs once per payment however often the provider
notifies, and a step that raises takes the whole payment back with it."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.bootstrap import Context
from siyu.catalog.models import Product, Sku
from siyu.coupon.models import ShopperCoupon
from siyu.lifecycle import OrderPaid
from siyu.order.models import Order
from siyu.outbox import OutboxEvent
from siyu.payment.models import PaymentNotification
from tests.helpers import ADDRESS, create_product, operator_headers, shopper_headers

T = TypeVar("T")
NOTIFY = "/api/payment/notify/sandbox"


def _concurrently(n: int, work: Callable[[int], T]) -> list[T]:
    barrier = threading.Barrier(n)

    def run(i: int) -> T:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return [f.result() for f in [pool.submit(run, i) for i in range(n)]]


def _shop_with_coupon(client: TestClient, ctx: Context) -> tuple[dict[str, str], int, int, int]:
    """A shopper holding a ¥5 coupon and an unpaid order of 2 × ¥59 that uses it, with
    its payment started: (shopper, product id, order id, coupon id)."""
    admin = operator_headers(client, ctx)
    product = create_product(client, admin, skus=[{"price_fen": 5900, "stock": 10}])
    template = client.post(
        "/api/admin/coupon-templates",
        json={"name": "无门槛减5元", "kind": "cash_off", "amount_fen": 500, "valid_days": 7},
        headers=admin,
    ).json()
    shopper = shopper_headers(client, "lifecycle")
    coupon_id = client.post(
        f"/api/app/coupons/center/{template['id']}/claim", headers=shopper
    ).json()["id"]
    placed = client.post(
        "/api/app/orders",
        json={"items": [{"sku_id": product["skus"][0]["id"], "quantity": 2}], "address": ADDRESS},
        headers=shopper | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert placed.status_code == 201, placed.text
    assert placed.json()["total_fen"] == 11300
    order_id = placed.json()["id"]
    assert client.post(f"/api/app/orders/{order_id}/pay", headers=shopper).status_code == 200
    return shopper, product["id"], order_id, coupon_id


def _notification(
    ctx: Context, order_id: int, notification_id: str
) -> tuple[dict[str, str], bytes]:
    sandbox = ctx.sandbox_payment
    assert sandbox is not None
    with ctx.db.transaction() as session:
        order = session.get(Order, order_id)
        assert order is not None
        return sandbox.build_notification(
            out_trade_no=order.order_no,
            amount_fen=order.total_fen,
            now=ctx.clock.now(),
            transaction_id="SBT-LIFECYCLE-1",
            notification_id=notification_id,
        )


def _state(ctx: Context, order_id: int, product_id: int, coupon_id: int) -> dict[str, Any]:
    with ctx.db.transaction() as session:
        order = session.get(Order, order_id)
        product = session.get(Product, product_id)
        coupon = session.get(ShopperCoupon, coupon_id)
        assert order is not None and product is not None and coupon is not None
        sku = session.scalar(select(Sku).where(Sku.product_id == product_id))
        assert sku is not None
        events = session.scalars(
            select(OutboxEvent.event_type).where(
                OutboxEvent.event_type.in_(["order.paid", "coupon.used"])
            )
        ).all()
        notifications = session.scalar(select(func.count()).select_from(PaymentNotification))
        return {
            "status": str(order.status),
            "paid_fen": order.paid_fen,
            "coupon": str(coupon.status),
            "sales_count": product.sales_count,
            "stock": sku.stock,
            "events": sorted(events),
            "notifications": notifications,
        }


def test_a_paid_step_runs_exactly_once_under_fifty_duplicate_notifications(
    client: TestClient, ctx: Context
) -> None:
    # given a throwaway step on the paid seam, and an unpaid order using a coupon
    seen: list[tuple[int, int, str | None]] = []

    def remember(session: Session, event: OrderPaid, now: datetime) -> None:
        seen.append((event.order_id, event.paid_fen, event.transaction_id))

    ctx.lifecycle.on_paid("test.remember", remember)
    _, product_id, order_id, coupon_id = _shop_with_coupon(client, ctx)

    # when the provider delivers its notification 50 times at once: 25 redeliveries of
    # one notification and 25 with their own ids for the same transaction
    notifications = [
        _notification(ctx, order_id, "SBX-same" if i < 25 else f"SBX-{i}") for i in range(50)
    ]
    responses = _concurrently(
        50,
        lambda i: client.post(NOTIFY, content=notifications[i][1], headers=notifications[i][0]),
    )

    # then every delivery is acknowledged, the step ran once, the payment landed once
    assert Counter(r.status_code for r in responses) == {204: 50}
    assert seen == [(order_id, 11300, "SBT-LIFECYCLE-1")]
    assert _state(ctx, order_id, product_id, coupon_id) == {
        "status": "paid",
        "paid_fen": 11300,
        "coupon": "used",
        "sales_count": 2,
        "stock": 8,
        "events": ["coupon.used", "order.paid"],
        "notifications": 26,
    }


def test_a_paid_step_that_raises_rolls_the_whole_payment_back(
    client: TestClient, ctx: Context
) -> None:
    # given a step on the paid seam that fails once, after the coupon and stock steps
    failures = []

    def explode_once(session: Session, event: OrderPaid, now: datetime) -> None:
        if not failures:
            failures.append(event.order_id)
            raise RuntimeError("points service down")

    ctx.lifecycle.on_paid("test.explode_once", explode_once)
    _, product_id, order_id, coupon_id = _shop_with_coupon(client, ctx)
    headers, body = _notification(ctx, order_id, "SBX-boom")

    # when the payment notification arrives and the step raises
    with pytest.raises(RuntimeError, match="points service down") as raised:
        client.post(NOTIFY, content=body, headers=headers)

    # then the failure names the step and nothing of the payment was kept
    assert "in order lifecycle step paid/test.explode_once" in raised.value.__notes__
    assert _state(ctx, order_id, product_id, coupon_id) == {
        "status": "pending_payment",
        "paid_fen": 0,
        "coupon": "locked",
        "sales_count": 0,
        "stock": 8,
        "events": [],
        "notifications": 0,
    }

    # and the provider's redelivery then pays the order in full
    assert client.post(NOTIFY, content=body, headers=headers).status_code == 204
    assert _state(ctx, order_id, product_id, coupon_id)["status"] == "paid"
    assert _state(ctx, order_id, product_id, coupon_id)["coupon"] == "used"


def test_steps_run_in_the_order_packages_registered_them(ctx: Context) -> None:
    # given the lifecycle the context built
    steps = ctx.lifecycle.describe()

    # then each moment lists its named steps, announcements last
    assert steps == {
        "paid": (
            "order.cancel_payment_timer",
            "catalog.count_sales",
            "coupon.mark_used",
            "loyalty.pend_points",
            "loyalty.earn_growth",
            "group_buy.seat_paid",
            "flash_sale.purchase_paid",
            "rising_price.purchase_paid",
            "bargain.order_paid",
            "order.announce_paid",
        ),
        "cancelled": (
            "order.cancel_payment_timer",
            "catalog.release_stock",
            "coupon.release",
            "loyalty.return_spent_points",
            "group_buy.seat_released",
            "flash_sale.purchase_released",
            "rising_price.purchase_released",
            "bargain.order_released",
            "order.announce_cancelled",
        ),
        "refunded": (
            "catalog.restock_returns",
            "coupon.restore",
            "loyalty.reverse_points",
            "loyalty.reverse_growth",
            "group_buy.seat_refunded",
            "rising_price.purchase_refunded",
            "order.announce_refunded",
        ),
        "settled": ("loyalty.credit_points", "order.announce_settled"),
    }


def test_a_step_name_is_registered_once(ctx: Context) -> None:
    # when a package registers a step name that is taken
    with pytest.raises(ValueError, match="paid step 'coupon.mark_used' is already registered"):
        ctx.lifecycle.on_paid("coupon.mark_used", lambda session, event, now: None)


def test_a_cancelled_step_runs_once_when_ten_cancels_race(client: TestClient, ctx: Context) -> None:
    # given a throwaway step on the cancelled seam and an unpaid order using a coupon
    seen: list[tuple[int, str]] = []
    ctx.lifecycle.on_cancelled(
        "test.remember", lambda session, event, now: seen.append((event.order_id, event.reason))
    )
    shopper, product_id, order_id, coupon_id = _shop_with_coupon(client, ctx)

    # when the shopper's app sends the cancel ten times at once
    responses = _concurrently(
        10, lambda i: client.post(f"/api/app/orders/{order_id}/cancel", headers=shopper)
    )

    # then one cancel won, the step ran once, stock and coupon came back once
    assert Counter(r.status_code for r in responses) == {200: 1, 409: 9}
    assert seen == [(order_id, "shopper")]
    state = _state(ctx, order_id, product_id, coupon_id)
    assert (state["status"], state["coupon"], state["stock"]) == ("cancelled", "issued", 10)
