"""The payment timeout: an unpaid order is cancelled after 30 minutes and its stock
released exactly once, across restarts and against a racing shopper cancel; with
WeChat Pay the timeout asks the gateway first and applies a payment it missed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.catalog.models import Product, Sku
from siyu.clock import FrozenClock
from siyu.config import Settings
from siyu.order.models import Order
from siyu.order.service import PAYMENT_TIMEOUT_TIMER
from siyu.outbox import OutboxEvent
from siyu.timers import Timer
from siyu.worker import Worker
from tests.conftest import START
from tests.fakes.wechatpay import FakeWeChatPay
from tests.helpers import create_product, operator_headers, place_order, shopper_headers

T = TypeVar("T")


def _shop(client: TestClient, ctx: Context) -> tuple[dict[str, str], int, int]:
    """Returns (shopper headers, product id, sku id)."""
    admin = operator_headers(client, ctx)
    product = create_product(
        client, admin, skus=[{"spec": {"烘焙": "中度"}, "price_fen": 5900, "stock": 10}]
    )
    return shopper_headers(client, "alice"), product["id"], product["skus"][0]["id"]


def _stock(ctx: Context, sku_id: int) -> int:
    with ctx.db.transaction() as session:
        sku = session.get(Sku, sku_id)
        assert sku is not None
        return sku.stock


def _order_state(ctx: Context, order_id: int) -> tuple[str, str | None]:
    with ctx.db.transaction() as session:
        order = session.get(Order, order_id)
        assert order is not None
        return str(order.status), order.cancel_reason


def _timer_status(ctx: Context, order_id: int) -> str:
    with ctx.db.transaction() as session:
        timer = session.scalars(
            select(Timer).where(Timer.kind == PAYMENT_TIMEOUT_TIMER, Timer.key == str(order_id))
        ).one()
        return str(timer.status)


def _events(ctx: Context, order_id: int, event_type: str) -> int:
    with ctx.db.transaction() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(
                    OutboxEvent.event_type == event_type,
                    OutboxEvent.aggregate_id == str(order_id),
                )
            )
            or 0
        )


def _tick(worker: Worker) -> int:
    """One worker pass; how many payment timeouts it fired (the worker's other timers,
    such as the loyalty jobs it schedules, are not these tests' business)."""

    def done() -> int:
        with worker.ctx.db.transaction() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(Timer)
                    .where(Timer.kind == PAYMENT_TIMEOUT_TIMER, Timer.status == "done")
                )
                or 0
            )

    before = done()
    worker.tick()
    return done() - before


def _concurrently(*work: Callable[[], T]) -> list[T]:
    barrier = threading.Barrier(len(work))

    def run(job: Callable[[], T]) -> T:
        barrier.wait()
        return job()

    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        futures = [pool.submit(run, job) for job in work]
        return [f.result() for f in futures]


def test_an_unpaid_order_is_cancelled_after_30_minutes_and_its_stock_released_once(
    client: TestClient, ctx: Context, clock: FrozenClock
) -> None:
    # given an unpaid order for 3 of 10 units
    shopper, _, sku_id = _shop(client, ctx)
    order = place_order(client, shopper, sku_id, 3).json()
    assert _stock(ctx, sku_id) == 7
    worker = Worker(ctx)

    # when 29 minutes pass, the timer has not fired
    clock.advance(timedelta(minutes=29))
    assert _tick(worker) == 0
    assert _order_state(ctx, order["id"]) == ("pending_payment", None)

    # when the 30 minutes are up
    clock.advance(timedelta(minutes=1))
    fired = _tick(worker)

    # then the order is cancelled and the 3 units are back, once
    assert fired == 1
    assert _order_state(ctx, order["id"]) == ("cancelled", "payment_timeout")
    assert _stock(ctx, sku_id) == 10
    assert _timer_status(ctx, order["id"]) == "done"

    # when the worker runs again, and the shopper tries to pay
    clock.advance(timedelta(minutes=5))
    assert _tick(worker) == 0
    pay = client.post(f"/api/app/orders/{order['id']}/pay", headers=shopper)

    # then nothing changes
    assert pay.status_code == 409
    assert pay.json()["error"]["code"] == "order_not_payable"
    assert _stock(ctx, sku_id) == 10
    assert _events(ctx, order["id"], "order.cancelled") == 1


def test_the_payment_timeout_fires_once_after_a_restart(settings: Settings) -> None:
    # given an unpaid order placed by a process that then stopped
    first = build_context(settings, clock=FrozenClock(START))
    with TestClient(create_app(ctx=first, run_worker=False)) as client:
        shopper, _, sku_id = _shop(client, first)
        order = place_order(client, shopper, sku_id, 2).json()
    first.close()

    # when a new process starts on the same database 31 minutes later
    second = build_context(settings, clock=FrozenClock(START + timedelta(minutes=31)))
    worker = Worker(second)
    fired = _tick(worker)

    # then the timer fired: the order is cancelled and its stock is back once
    assert fired == 1
    assert _order_state(second, order["id"]) == ("cancelled", "payment_timeout")
    assert _stock(second, sku_id) == 10

    # when the new process ticks again, nothing changes
    assert _tick(worker) == 0
    assert _stock(second, sku_id) == 10
    assert _events(second, order["id"], "order.cancelled") == 1
    second.close()

    # and a third process finds nothing left to do either
    third = build_context(settings, clock=FrozenClock(START + timedelta(hours=2)))
    assert _tick(Worker(third)) == 0
    assert _stock(third, sku_id) == 10
    third.close()


def test_a_shopper_cancel_racing_the_timeout_releases_the_stock_once(
    client: TestClient, ctx: Context, clock: FrozenClock
) -> None:
    # given a shopper with unpaid orders whose payment time is up
    shopper, _, sku_id = _shop(client, ctx)
    outcomes: list[int] = []
    orders: list[int] = []
    for _ in range(8):
        order = place_order(client, shopper, sku_id, 2).json()
        orders.append(order["id"])
        clock.advance(timedelta(minutes=31))

        # when the shopper cancels at the very moment the timer fires
        cancel, _ = _concurrently(
            partial(client.post, f"/api/app/orders/{order['id']}/cancel", headers=shopper),
            lambda: Worker(ctx).tick(),
        )
        outcomes.append(cancel.status_code)
        if cancel.status_code == 409:
            assert cancel.json()["error"]["code"] == "order_not_cancellable"

    # then each order was cancelled once and every unit is back exactly once
    assert set(outcomes) <= {200, 409}
    assert _stock(ctx, sku_id) == 10
    for order_id in orders:
        assert _order_state(ctx, order_id)[0] == "cancelled"
        assert _events(ctx, order_id, "order.cancelled") == 1
        assert _timer_status(ctx, order_id) in ("done", "cancelled")


# -- with WeChat Pay --------------------------------------------------------------------


@pytest.fixture
def wechatpay_client(wechatpay_ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx=wechatpay_ctx, run_worker=False)) as test_client:
        yield test_client


def _gateway_calls(fake: FakeWeChatPay) -> list[tuple[str, str]]:
    return [(r.method, r.path.split("?")[0]) for r in fake.requests]


def _started_wechatpay_order(client: TestClient, ctx: Context) -> tuple[dict[str, Any], int, int]:
    """An order for 2 × 5900 whose WeChat Pay payment was started; returns
    (order, product id, sku id)."""
    shopper, product_id, sku_id = _shop(client, ctx)
    order = place_order(client, shopper, sku_id, 2).json()
    started = client.post(f"/api/app/orders/{order['id']}/pay", headers=shopper)
    assert started.status_code == 200, started.text
    return order, product_id, sku_id


def test_the_timeout_applies_a_payment_whose_notification_was_lost(
    wechatpay_client: TestClient,
    wechatpay_ctx: Context,
    wechatpay_clock: FrozenClock,
    fake_wechatpay: FakeWeChatPay,
) -> None:
    # given an order the shopper paid at WeChat Pay, whose notification never arrived
    ctx = wechatpay_ctx
    order, product_id, sku_id = _started_wechatpay_order(wechatpay_client, ctx)
    fake_wechatpay.pay(order["order_no"])
    transaction_id = fake_wechatpay.transactions[order["order_no"]]["transaction_id"]

    # when the payment timeout fires
    wechatpay_clock.advance(timedelta(minutes=31))
    fired = _tick(Worker(ctx))

    # then it asked WeChat Pay, found the payment and marked the order paid, not cancelled
    assert fired == 1
    with ctx.db.transaction() as session:
        paid = session.get(Order, order["id"])
        assert paid is not None
        assert (paid.status, paid.paid_fen, paid.transaction_id, paid.payment_flag) == (
            "paid",
            11800,
            transaction_id,
            None,
        )
        product = session.get(Product, product_id)
        assert product is not None
        assert product.sales_count == 2
    assert _stock(ctx, sku_id) == 8
    assert _events(ctx, order["id"], "order.paid") == 1
    assert _events(ctx, order["id"], "order.cancelled") == 0
    assert _timer_status(ctx, order["id"]) == "done"
    assert _gateway_calls(fake_wechatpay)[1:] == [
        ("GET", f"/v3/pay/transactions/out-trade-no/{order['order_no']}")
    ]


def test_the_timeout_closes_an_unpaid_wechat_trade_before_cancelling(
    wechatpay_client: TestClient,
    wechatpay_ctx: Context,
    wechatpay_clock: FrozenClock,
    fake_wechatpay: FakeWeChatPay,
) -> None:
    # given an order whose WeChat Pay payment was started but never made
    ctx = wechatpay_ctx
    order, _, sku_id = _started_wechatpay_order(wechatpay_client, ctx)

    # when the payment timeout fires
    wechatpay_clock.advance(timedelta(minutes=31))
    fired = _tick(Worker(ctx))

    # then the trade is closed at WeChat Pay (it can no longer be paid) and the order
    # cancelled with its stock back
    assert fired == 1
    order_no = order["order_no"]
    assert _gateway_calls(fake_wechatpay)[1:] == [
        ("GET", f"/v3/pay/transactions/out-trade-no/{order_no}"),
        ("POST", f"/v3/pay/transactions/out-trade-no/{order_no}/close"),
    ]
    assert fake_wechatpay.transactions[order_no]["trade_state"] == "CLOSED"
    assert _order_state(ctx, order["id"]) == ("cancelled", "payment_timeout")
    assert _stock(ctx, sku_id) == 10
