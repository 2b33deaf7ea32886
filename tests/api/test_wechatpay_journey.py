"""The whole funnel with the WeChat Pay provider against the fake gateway on loopback:
login → browse → cart → order → wx.requestPayment params → paid by notification →
shipped → completed → refund accepted (PROCESSING) → refund notification → refunded;
refused after the after-sales window."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from siyu.app import create_app
from siyu.bootstrap import Context
from siyu.clock import FrozenClock
from siyu.payment.models import Refund
from siyu.worker import Worker
from tests.fakes.fixtures import TEST_APPID
from tests.fakes.wechatpay import FakeWeChatPay, MerchantKeys, rsa_verify_bytes
from tests.helpers import ADDRESS, create_product, operator_headers


@pytest.fixture
def wechatpay_client(wechatpay_ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx=wechatpay_ctx, run_worker=False)) as test_client:
        yield test_client


def _refund_requests(fake: FakeWeChatPay) -> list[str]:
    return [r.path for r in fake.requests if r.path == "/v3/refund/domestic/refunds"]


def test_a_shopper_pays_with_wechat_pay_and_gets_a_refund_by_notification(
    wechatpay_client: TestClient,
    wechatpay_ctx: Context,
    wechatpay_clock: FrozenClock,
    fake_wechatpay: FakeWeChatPay,
    merchant_keys: MerchantKeys,
) -> None:
    client, ctx, clock, fake = wechatpay_client, wechatpay_ctx, wechatpay_clock, fake_wechatpay
    # given an owner who puts a coffee on sale
    admin = operator_headers(client, ctx)
    product = create_product(client, admin)
    sku_id = product["skus"][0]["id"]

    # and a shopper who logs in, browses, and checks out two bags from the cart
    login = client.post(
        "/api/app/login",
        json={"code": "wx-code-pay-1"},
        headers={"X-Siyu-Anonymous-Id": "device-0002-abcd"},
    )
    assert login.status_code == 200, login.text
    shopper = {"Authorization": f"Bearer {login.json()['token']}"}
    listing = client.get("/api/app/products", params={"q": "咖啡"}).json()
    assert [p["id"] for p in listing["items"]] == [product["id"]]
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
    order_no = order["order_no"]

    # when the shopper starts the payment
    start = client.post(f"/api/app/orders/{order['id']}/pay", headers=shopper)

    # then the answer holds wx.requestPayment parameters signed with the merchant key
    assert start.status_code == 200, start.text
    assert start.json()["provider"] == "wechatpay"
    params = start.json()["params"]
    prepay_id = fake.transactions[order_no]["prepay_id"]
    assert params["appId"] == TEST_APPID
    assert params["package"] == f"prepay_id={prepay_id}"
    assert params["signType"] == "RSA"
    assert params["timeStamp"] == str(int(clock.now().timestamp()))
    message = (
        f"{params['appId']}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n"
    )
    assert rsa_verify_bytes(merchant_keys.public_key_pem, message.encode(), params["paySign"])
    assert fake.transactions[order_no]["amount"] == {"total": 11800, "currency": "CNY"}
    assert fake.transactions[order_no]["payer"] == {"openid": "sandbox-wx-code-pay-1"}
    # and the order is not paid just because the shopper's client said "ok"
    assert client.get(f"/api/app/orders/{order['id']}", headers=shopper).json()["status"] == (
        "pending_payment"
    )

    # when WeChat Pay takes the money and notifies
    headers, body = fake.pay(order_no)
    notified = client.post("/api/payment/notify/wechatpay", content=body, headers=headers)

    # then the notification is acknowledged and the order is paid
    assert notified.status_code == 204, notified.text
    paid = client.get(f"/api/admin/orders/{order['id']}", headers=admin).json()
    assert (paid["status"], paid["paid_fen"], paid["payment_provider"]) == (
        "paid",
        11800,
        "wechatpay",
    )
    assert paid["transaction_id"] == fake.transactions[order_no]["transaction_id"]

    # when the operator ships and the shopper confirms receipt
    shipped = client.post(
        f"/api/admin/orders/{order['id']}/ship",
        json={"carrier": "顺丰", "tracking_no": "SF1234567890"},
        headers=admin,
    )
    assert shipped.json()["status"] == "shipped"
    completed = client.post(f"/api/app/orders/{order['id']}/confirm", headers=shopper).json()
    assert completed["status"] == "completed"

    # and the shopper returns one bag, which the operator approves
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
    approved = client.post(f"/api/admin/aftersales/{request.json()['id']}/approve", headers=admin)

    # then the refund is accepted by WeChat Pay but not finished yet
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "refunding"
    with ctx.db.transaction() as session:
        refund = session.scalars(select(Refund)).one()
        out_refund_no, refund_status = refund.out_refund_no, refund.status
        submitted_at = refund.submitted_at
    assert (refund_status, submitted_at) == ("processing", clock.now())
    assert fake.refunds[out_refund_no]["status"] == "PROCESSING"
    assert fake.refunds[out_refund_no]["amount"] == {"refund": 5900, "total": 11800}
    pending = client.get(f"/api/app/orders/{order['id']}", headers=shopper).json()
    assert pending["refunded_fen"] == 0

    # when WeChat Pay finishes the refund and notifies
    headers, body = fake.complete_refund(out_refund_no)
    refund_notified = client.post(
        "/api/payment/notify/wechatpay/refund", content=body, headers=headers
    )

    # then the refund succeeded: totals, stock and the request are updated
    assert refund_notified.status_code == 204, refund_notified.text
    aftersale = client.get(f"/api/app/aftersales/{request.json()['id']}", headers=shopper).json()
    assert aftersale["status"] == "refunded"
    final = client.get(f"/api/app/orders/{order['id']}", headers=shopper).json()
    assert (final["status"], final["paid_fen"], final["refunded_fen"]) == (
        "completed",
        11800,
        5900,
    )
    assert (final["lines"][0]["refunded_fen"], final["lines"][0]["refunded_quantity"]) == (5900, 1)
    stock = client.get(f"/api/app/products/{product['id']}").json()["skus"][0]["stock"]
    assert stock == 10 - 2 + 1
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

    # when the backstop timers fire later, they send nothing twice
    clock.advance(timedelta(minutes=11))
    Worker(ctx).drain()
    assert len(_refund_requests(fake)) == 1
    again = client.get(f"/api/app/orders/{order['id']}", headers=shopper).json()
    assert again["refunded_fen"] == 5900

    # when, after the 7-day window, the shopper asks for the other bag
    clock.advance(timedelta(days=7))
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
