"""No oversell under concurrency (specs/wechat.md §5.2) and idempotent order placement
under concurrent retries (§5.1), through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from siyu.bootstrap import Context
from siyu.catalog.models import Sku
from siyu.idempotency import IdempotencyRecord
from siyu.order.models import Order
from tests.helpers import ADDRESS, create_product, operator_headers, place_order, shopper_headers

T = TypeVar("T")


def _concurrently(work: list[Callable[[], T]]) -> list[T]:
    """Run every job in its own thread, all released at the same moment."""
    barrier = threading.Barrier(len(work))

    def run(job: Callable[[], T]) -> T:
        barrier.wait()
        return job()

    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        futures = [pool.submit(run, job) for job in work]
        return [f.result() for f in futures]


def _sku_with_stock(client: TestClient, ctx: Context, stock: int) -> int:
    admin = operator_headers(client, ctx)
    product = create_product(
        client, admin, skus=[{"spec": {"规格": "限量"}, "price_fen": 9900, "stock": stock}]
    )
    return int(product["skus"][0]["id"])


def _stock(ctx: Context, sku_id: int) -> int:
    with ctx.db.transaction() as session:
        sku = session.get(Sku, sku_id)
        assert sku is not None
        return sku.stock


def _order_count(ctx: Context) -> int:
    with ctx.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Order)) or 0)


def test_fifty_concurrent_orders_for_the_last_ten_units_sell_exactly_ten(
    client: TestClient, ctx: Context
) -> None:
    # given the last 10 units and 50 shoppers who want one each
    sku_id = _sku_with_stock(client, ctx, 10)
    shoppers = [shopper_headers(client, f"buyer{i:02d}") for i in range(50)]

    # when all 50 order at the same moment
    responses = _concurrently(
        [partial(place_order, client, shopper, sku_id, 1) for shopper in shoppers]
    )

    # then exactly 10 orders are placed and 40 are refused for lack of stock
    assert Counter(r.status_code for r in responses) == {201: 10, 409: 40}
    refused = {r.json()["error"]["code"] for r in responses if r.status_code == 409}
    assert refused == {"insufficient_stock"}
    placed = [r.json() for r in responses if r.status_code == 201]
    assert len({o["id"] for o in placed}) == 10
    assert {o["status"] for o in placed} == {"pending_payment"}
    assert _stock(ctx, sku_id) == 0
    assert _order_count(ctx) == 10


def test_the_database_refuses_negative_stock(client: TestClient, ctx: Context) -> None:
    # given a SKU with no stock left
    sku_id = _sku_with_stock(client, ctx, 0)

    # when something writes a negative stock directly
    with pytest.raises(IntegrityError), ctx.db.transaction() as session:
        session.execute(text("UPDATE skus SET stock = -1 WHERE id = :id"), {"id": sku_id})

    # then the CHECK constraint refused it and the stock is unchanged
    assert _stock(ctx, sku_id) == 0


def test_ten_concurrent_retries_with_one_idempotency_key_place_one_order(
    client: TestClient, ctx: Context
) -> None:
    # given a shopper whose client retries one order 10 times at once, same key and body
    sku_id = _sku_with_stock(client, ctx, 10)
    shopper = shopper_headers(client, "alice")

    # when the 10 requests arrive together
    responses = _concurrently(
        [lambda: place_order(client, shopper, sku_id, 2, key="order-attempt-1")] * 10
    )

    # then one order is placed and every answer carries it
    assert [r.status_code for r in responses] == [201] * 10
    assert len({r.json()["id"] for r in responses}) == 1
    assert len({r.json()["order_no"] for r in responses}) == 1
    assert _order_count(ctx) == 1
    assert _stock(ctx, sku_id) == 8
    with ctx.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1


def test_an_idempotency_key_reused_with_another_body_is_refused(
    client: TestClient, ctx: Context
) -> None:
    # given an order placed with a key
    sku_id = _sku_with_stock(client, ctx, 10)
    shopper = shopper_headers(client, "alice")
    first = place_order(client, shopper, sku_id, 1, key="order-attempt-1")
    assert first.status_code == 201, first.text

    # when the same key comes with a different body
    reused = client.post(
        "/api/app/orders",
        json={"items": [{"sku_id": sku_id, "quantity": 3}], "address": ADDRESS},
        headers=shopper | {"Idempotency-Key": "order-attempt-1"},
    )

    # then it is refused and nothing else was ordered
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert _order_count(ctx) == 1
    assert _stock(ctx, sku_id) == 9


def test_orders_racing_for_the_coupon_their_quote_chose_get_the_new_quote(
    client: TestClient, ctx: Context
) -> None:
    # given a shopper holding one ¥5 coupon and the checkout quote that applies it
    admin = operator_headers(client, ctx)
    sku_id = _sku_with_stock(client, ctx, 100)
    template = client.post(
        "/api/admin/coupon-templates",
        json={"name": "无门槛减5元", "kind": "cash_off", "amount_fen": 500, "valid_days": 7},
        headers=admin,
    ).json()
    shopper = shopper_headers(client, "racer")
    claimed = client.post(f"/api/app/coupons/center/{template['id']}/claim", headers=shopper)
    assert claimed.status_code == 201, claimed.text
    shown = client.get(
        "/api/app/checkout/quote", params={"sku_id": sku_id, "quantity": 1}, headers=shopper
    ).json()
    assert (shown["total_fen"], shown["quote"]["applied_coupon_ids"]) == (
        9400,
        [claimed.json()["id"]],
    )

    # when 20 orders for what was shown (the coupon left to the quote) arrive together
    def order() -> Any:
        return client.post(
            "/api/app/orders",
            json={
                "items": [{"sku_id": sku_id, "quantity": 1}],
                "address": ADDRESS,
                "expected_total_fen": shown["total_fen"],
            },
            headers=shopper | {"Idempotency-Key": str(uuid.uuid4())},
        )

    responses = _concurrently([order] * 20)

    # then on either database one is placed with the coupon and 19 get the new quote
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 19}
    (placed,) = [r.json() for r in responses if r.status_code == 201]
    assert placed["total_fen"] == 9400
    errors = [r.json()["error"] for r in responses if r.status_code == 409]
    assert {e["code"] for e in errors} == {"quote_changed"}
    assert {(e["quote"]["total_fen"], tuple(e["quote"]["applied_coupon_ids"])) for e in errors} == {
        (9900, ())
    }
    assert {e["fields"]["expected_total_fen"] for e in errors} == {"9900"}
    assert _order_count(ctx) == 1
    assert _stock(ctx, sku_id) == 99
