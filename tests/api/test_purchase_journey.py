"""The whole funnel through the HTTP API: login → browse → cart → order → pay →
paid → shipped → completed → refund within the window; refused after it."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.clock import FrozenClock
from siyu.worker import Worker
from tests.helpers import ADDRESS, create_product, operator_headers, shopper_headers


def test_a_shopper_buys_receives_and_gets_a_refund_with_the_sandbox_cashier(
    client: TestClient, ctx: Context, clock: FrozenClock
) -> None:
    # given an owner who puts a coffee on sale
    admin = operator_headers(client, ctx)
    product = create_product(client, admin)
    sku_id = product["skus"][0]["id"]

    # when a shopper logs in from a QR code, browses and searches
    login = client.post(
        "/api/app/login",
        json={"code": "wx-code-1", "scene": 1047, "qr_scene": "c=SPRING&s=0"},
        headers={"X-Siyu-Anonymous-Id": "device-0001-abcd"},
    )
    assert login.status_code == 200
    assert login.json()["is_new"] is True
    shopper = {"Authorization": f"Bearer {login.json()['token']}"}
    listing = client.get("/api/app/products", params={"q": "咖啡"}).json()
    assert [p["id"] for p in listing["items"]] == [product["id"]]
    detail = client.get(f"/api/app/products/{product['id']}").json()
    assert [s["price_fen"] for s in detail["skus"]] == [5900, 6900]

    # and puts two bags in the cart and checks out
    cart = client.post(
        "/api/app/cart/items", json={"sku_id": sku_id, "quantity": 2}, headers=shopper
    ).json()
    assert cart["total_fen"] == 11800
    placed = client.post(
        "/api/app/orders",
        json={"cart_item_ids": [cart["lines"][0]["item_id"]], "address": ADDRESS},
        headers=shopper | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["status"], order["total_fen"]) == ("pending_payment", 11800)
    assert client.get("/api/app/cart", headers=shopper).json()["lines"] == []

    # and pays at the sandbox cashier
    start = client.post(f"/api/app/orders/{order['id']}/pay", headers=shopper)
    assert start.json()["provider"] == "sandbox"
    paid = client.post(f"/api/app/orders/{order['id']}/sandbox-pay", headers=shopper).json()
    assert (paid["status"], paid["paid_fen"]) == ("paid", 11800)

    # then the operator ships and the shopper confirms receipt
    shipped = client.post(
        f"/api/admin/orders/{order['id']}/ship",
        json={"carrier": "顺丰", "tracking_no": "SF1234567890"},
        headers=admin,
    )
    assert shipped.json()["status"] == "shipped"
    completed = client.post(f"/api/app/orders/{order['id']}/confirm", headers=shopper).json()
    assert completed["status"] == "completed"

    # and six days later asks to return one bag, which the operator approves
    clock.advance(timedelta(days=6))
    admin = operator_headers(client, ctx)  # the morning's console session has expired
    line_id = completed["lines"][0]["id"]
    request = client.post(
        "/api/app/aftersales",
        json={
            "order_id": order["id"],
            "kind": "return_refund",
            "reason": "不喜欢",
            "lines": [{"order_line_id": line_id, "quantity": 1}],
        },
        headers=shopper,
    )
    assert request.status_code == 201, request.text
    assert request.json()["refund_fen"] == 5900
    approved = client.post(f"/api/admin/aftersales/{request.json()['id']}/approve", headers=admin)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "refunded"

    final = client.get(f"/api/app/orders/{order['id']}", headers=shopper).json()
    assert (final["refunded_fen"], final["lines"][0]["refunded_quantity"]) == (5900, 1)
    stock = client.get(f"/api/app/products/{product['id']}").json()["skus"][0]["stock"]
    assert stock == 10 - 2 + 1  # the returned bag is back on the shelf

    # and the timeline shows every step
    timeline = client.get(f"/api/admin/orders/{order['id']}/timeline", headers=admin).json()
    assert [e["event_type"] for e in timeline] == [
        "order.placed",
        "order.paid",
        "order.shipped",
        "order.completed",
        "aftersale.requested",
        "aftersale.approved",
        "refund.succeeded",
    ]
    Worker(ctx).drain()

    # when, after the 7-day window, the shopper asks for the other bag
    clock.advance(timedelta(days=1, seconds=1))
    late = client.post(
        "/api/app/aftersales",
        json={
            "order_id": order["id"],
            "kind": "refund_only",
            "reason": "想退",
            "lines": [{"order_line_id": line_id, "quantity": 1}],
        },
        headers=shopper,
    )

    # then it is refused with a clear error
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "aftersale_window_closed"


def test_a_shopper_never_sees_another_shoppers_order(client: TestClient, ctx: Context) -> None:
    # given alice's order
    admin = operator_headers(client, ctx)
    sku_id = create_product(client, admin)["skus"][0]["id"]
    alice = shopper_headers(client, "alice")
    bob = shopper_headers(client, "bob")
    order = client.post(
        "/api/app/orders",
        json={"items": [{"sku_id": sku_id, "quantity": 1}], "address": ADDRESS},
        headers=alice | {"Idempotency-Key": "k1"},
    ).json()

    # when bob reads, pays, cancels or confirms it
    responses = [
        client.get(f"/api/app/orders/{order['id']}", headers=bob),
        client.post(f"/api/app/orders/{order['id']}/pay", headers=bob),
        client.post(f"/api/app/orders/{order['id']}/cancel", headers=bob),
        client.post(f"/api/app/orders/{order['id']}/confirm", headers=bob),
    ]

    # then every answer is 404 and bob's list is empty
    assert [r.status_code for r in responses] == [404, 404, 404, 404]
    assert client.get("/api/app/orders", headers=bob).json() == []
    assert client.get(f"/api/app/orders/{order['id']}", headers=alice).status_code == 200
