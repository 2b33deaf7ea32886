"""Points under concurrency, on SQLite and PostgreSQL: two orders racing for the same
points (one wins, the other is told), and fifty duplicate payment notifications of one
order (the points are pending once)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.bootstrap import Context
from siyu.loyalty import ledger
from siyu.loyalty.ledger import InsufficientPoints
from siyu.loyalty.models import PointsEntry, PointsOrderLine
from siyu.loyalty.rules import EntryKind
from siyu.order.models import Order
from tests.integration.points_shop import open_shop

T = TypeVar("T")
NOTIFY = "/api/payment/notify/sandbox"


def _concurrently(n: int, work: Callable[[int], T]) -> list[T]:
    barrier = threading.Barrier(n)

    def run(i: int) -> T:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return [f.result() for f in [pool.submit(run, i) for i in range(n)]]


def test_two_concurrent_orders_spending_the_same_points_only_one_succeeds(
    client: TestClient, ctx: Context
) -> None:
    # given a shopper with 2000 points, shown a total that redeems all of them
    shop = open_shop(client, ctx)
    shop.give(2000)
    shown = shop.quote(shop.sku_a, 3)
    assert (shown["points_used"], shown["total_fen"]) == (2000, 9999 - 2000)

    # when two orders for that total are placed at the same moment
    responses = _concurrently(
        2, lambda i: shop.place({shop.sku_a: 3}, expected=int(shown["total_fen"]))
    )

    # then one is placed with the points and the other is refused with the new quote
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 1}
    refused = next(r.json() for r in responses if r.status_code == 409)
    assert refused["error"]["code"] == "quote_changed"
    assert shop.balance() == (0, 0)
    with ctx.db.transaction() as session:
        spends = session.scalar(select(func.count()).where(PointsEntry.kind == "order_spend"))
        orders = session.scalar(select(func.count()).select_from(Order))
    assert (spends, orders) == (1, 1)


def test_fifty_duplicate_payment_notifications_make_the_points_pending_once(
    client: TestClient, ctx: Context
) -> None:
    # given an unpaid order of 3 × ¥33.33 (no points spent: it earns ⌊9999/100⌋ = 99)
    shop = open_shop(client, ctx)
    placed = shop.place({shop.sku_a: 3}, use_points=False)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (
        client.post(f"/api/app/orders/{order['id']}/pay", headers=shop.shopper).status_code == 200
    )
    sandbox = ctx.sandbox_payment
    assert sandbox is not None
    headers, body = sandbox.build_notification(
        out_trade_no=order["order_no"],
        amount_fen=order["total_fen"],
        now=ctx.clock.now(),
        transaction_id="SBT-POINTS-1",
        notification_id="N-POINTS-1",
    )

    # when the provider delivers the notification 50 times at once
    statuses = _concurrently(
        50, lambda i: client.post(NOTIFY, content=body, headers=headers).status_code
    )

    # then every delivery is acknowledged and the 99 points are pending exactly once
    assert set(statuses) == {204}
    assert shop.balance() == (0, 99)
    with ctx.db.transaction() as session:
        earns = session.scalars(
            select(PointsEntry.delta).where(PointsEntry.kind == "order_earn")
        ).all()
        earned = session.scalars(select(PointsOrderLine.earned)).all()
    assert (list(earns), list(earned)) == ([99], [99])


def test_two_concurrent_debits_of_the_whole_balance_one_is_refused(
    client: TestClient, ctx: Context
) -> None:
    # given a shopper with 2000 points
    shop = open_shop(client, ctx)
    shop.give(2000)

    # when two transactions each take all 2000 at the same moment
    def take(i: int) -> str:
        try:
            with ctx.db.transaction() as session:
                ledger.debit(
                    session,
                    shopper_id=shop.shopper_id,
                    points=2000,
                    kind=EntryKind.order_spend,
                    key=f"race:{i}",
                    now=ctx.clock.now(),
                )
        except InsufficientPoints as refused:
            return refused.code
        return "ok"

    outcomes = _concurrently(2, take)

    # then one debit applied and the other was refused by the guard: never below zero
    assert sorted(outcomes) == ["ok", "points_insufficient"]
    assert shop.balance() == (0, 0)
    assert [e[:3] for e in shop.entries()] == [
        ("reward", "available", 2000),
        ("order_spend", "available", -2000),
    ]
