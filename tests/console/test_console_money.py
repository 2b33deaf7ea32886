"""Actions that move money ask first, with the amount, and happen once however often
the confirmed form is posted; lists show the order number and sort newest first."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.identity.rules import Role
from tests.console.conftest import (
    Shop,
    aftersale_request,
    csrf_of,
    new_operator,
    open_shop,
    paid_order,
    sign_in,
    unpaid_order,
)


def sku_of(client: TestClient, admin: dict[str, str], shop: Shop) -> dict[str, Any]:
    product = client.get(f"/api/admin/products/{shop.product['id']}", headers=admin).json()
    return next(s for s in product["skus"] if s["id"] == shop.sku_id)


def sku_stock(client: TestClient, admin: dict[str, str], shop: Shop) -> int:
    return int(sku_of(client, admin, shop)["stock"])


def sku_price(client: TestClient, admin: dict[str, str], shop: Shop) -> int:
    return int(sku_of(client, admin, shop)["price_fen"])


def order_status(client: TestClient, admin: dict[str, str], order_id: int) -> str:
    return str(client.get(f"/api/admin/orders/{order_id}", headers=admin).json()["status"])


def audit_count(client: TestClient, admin: dict[str, str], target_type: str, action: str) -> int:
    rows = client.get("/api/admin/audit-logs", params={"target_type": target_type}, headers=admin)
    return sum(1 for row in rows.json() if row["action"] == action)


def test_approving_a_refund_asks_first_with_the_amount_and_refunds_once(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given a paid order with a refund request
    shop = open_shop(client, api_admin)
    order = paid_order(client, shop)
    request = aftersale_request(client, shop, order["id"])
    csrf = sign_in(client, new_operator(ctx, Role.support))

    # when the operator clicks 同意并退款 (the list's link, or a post without confirming)
    queue = client.get("/console/aftersales?status=")
    asked = client.get(f"/console/aftersales/{request['id']}/approve?back_status=")
    unconfirmed = client.post(
        f"/console/aftersales/{request['id']}/approve", data={"csrf_token": csrf}
    )

    # then the list shows the order number, and nothing is refunded before the confirm
    # page states the amount, the shopper and the order
    assert order["order_no"] in queue.text
    assert f">#{order['id']}<" not in queue.text
    for page in (asked, unconfirmed):
        assert page.status_code == 200
        assert 'data-testid="confirm-text"' in page.text
        assert "退款 ¥" in page.text and order["order_no"] in page.text
    status = client.get(f"/api/admin/aftersales/{request['id']}", headers=api_admin).json()
    assert status["status"] == "pending"

    # when the confirmed form is posted twice
    form = {"csrf_token": csrf_of(asked.text), "confirmed": "1", "back_status": ""}
    first = client.post(
        f"/console/aftersales/{request['id']}/approve", data=form, follow_redirects=False
    )
    second = client.post(
        f"/console/aftersales/{request['id']}/approve", data=form, follow_redirects=False
    )

    # then it is refunded once, and the second answer says it was done before
    assert first.headers["location"] == "/console/aftersales?status=&notice=approved"
    assert second.status_code == 303
    assert second.headers["location"] == "/console/aftersales?status=&notice=already_approved"
    assert "没有重复退款" in client.get(second.headers["location"]).text
    refunds = client.get(f"/api/admin/orders/{order['id']}", headers=api_admin).json()
    assert refunds["refunded_fen"] == request["refund_fen"]


def test_cancelling_an_order_asks_first_with_its_number_and_amount_and_happens_once(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given an unpaid order holding one unit of stock
    shop = open_shop(client, api_admin)
    order = unpaid_order(client, shop)
    csrf = sign_in(client, new_operator(ctx, Role.support))
    stock_before = sku_stock(client, api_admin, shop)

    # when the operator presses 取消订单 on the order page
    asked = client.post(f"/console/orders/{order['id']}/cancel", data={"csrf_token": csrf})

    # then a confirm step names the order and its amount, and nothing is cancelled yet
    assert asked.status_code == 200
    assert 'data-testid="confirm-text"' in asked.text
    assert order["order_no"] in asked.text and "¥" in asked.text and "退回库存" in asked.text
    assert order_status(client, api_admin, order["id"]) == "pending_payment"

    # when the confirmed form is posted twice
    form = {"csrf_token": csrf_of(asked.text), "confirmed": "1"}
    first = client.post(f"/console/orders/{order['id']}/cancel", data=form, follow_redirects=False)
    second = client.post(f"/console/orders/{order['id']}/cancel", data=form, follow_redirects=False)

    # then it is cancelled once, its stock released once, and the second says so
    assert first.headers["location"] == f"/console/orders/{order['id']}?notice=cancelled"
    assert second.headers["location"] == (f"/console/orders/{order['id']}?notice=already_cancelled")
    assert "未重复操作" in client.get(second.headers["location"]).text
    assert order_status(client, api_admin, order["id"]) == "cancelled"
    assert sku_stock(client, api_admin, shop) == stock_before + 1
    assert audit_count(client, api_admin, "order", "order.cancel") == 1


def test_a_price_change_asks_first_old_to_new_and_a_repeat_changes_nothing(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given a SKU at ¥59.00
    shop = open_shop(client, api_admin)
    csrf = sign_in(client, new_operator(ctx, Role.operator))
    url = f"/console/skus/{shop.sku_id}/price"

    # when a new price is typed and saved
    asked = client.post(url, data={"csrf_token": csrf, "price": "49.50"})

    # then the confirm step says old → new and the price is unchanged so far
    assert asked.status_code == 200
    assert "¥59.00 → ¥49.50" in asked.text and "烘焙：中度" in asked.text
    assert sku_price(client, api_admin, shop) == 5900

    # when the confirmed form is posted twice
    form = {"csrf_token": csrf, "price": "49.50", "confirmed": "1", "from_fen": "5900"}
    first = client.post(url, data=form, follow_redirects=False)
    second = client.post(url, data=form, follow_redirects=False)

    # then the price changes once and the second answer says it was saved before
    pid = shop.product["id"]
    assert first.headers["location"] == f"/console/products/{pid}?notice=price_saved"
    assert second.headers["location"] == f"/console/products/{pid}?notice=price_already"
    assert sku_price(client, api_admin, shop) == 4950
    assert audit_count(client, api_admin, "sku", "sku.price") == 1

    # when a stale confirm (from ¥59.00) asks for yet another price
    stale = client.post(url, data=form | {"price": "39.00"})

    # then it is asked again from the price as it is now
    assert stale.status_code == 409
    assert "¥49.50 → ¥39.00" in stale.text and "价格在你查看之后已被修改" in stale.text
    assert sku_price(client, api_admin, shop) == 4950


def test_a_stock_adjustment_asks_first_old_to_new_and_applies_once(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given a SKU with 10 in stock
    shop = open_shop(client, api_admin)
    csrf = sign_in(client, new_operator(ctx, Role.operator))
    url = f"/console/skus/{shop.sku_id}/stock"

    # when +5 is entered
    asked = client.post(url, data={"csrf_token": csrf, "delta": "5", "reason": "到货"})

    # then the confirm step says 10 → 15 and nothing changed yet
    assert asked.status_code == 200
    assert "库存 10 → 15（+5）" in asked.text
    assert sku_stock(client, api_admin, shop) == 10

    # when the confirmed form is posted twice
    form = {
        "csrf_token": csrf,
        "delta": "5",
        "reason": "到货",
        "confirmed": "1",
        "from_stock": "10",
    }
    first = client.post(url, data=form, follow_redirects=False)
    second = client.post(url, data=form, follow_redirects=False)

    # then the stock rises by 5 once, and the second answer says it was applied before
    pid = shop.product["id"]
    assert first.headers["location"] == f"/console/products/{pid}?notice=stock_saved"
    assert second.headers["location"] == f"/console/products/{pid}?notice=stock_already"
    assert "未重复调整" in client.get(second.headers["location"]).text
    assert sku_stock(client, api_admin, shop) == 15
    assert audit_count(client, api_admin, "sku", "sku.stock") == 1


def test_the_en_console_confirm_step_uses_english_punctuation(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    shop = open_shop(client, api_admin)
    csrf = sign_in(client, new_operator(ctx, Role.operator))
    client.cookies.set("siyu_lang", "en")
    asked = client.post(
        f"/console/skus/{shop.sku_id}/stock", data={"csrf_token": csrf, "delta": "-2"}
    )
    assert "烘焙: 中度" in asked.text and "stock 10 → 8 (-2)" in asked.text
    assert "：" not in asked.text.replace("烘焙: 中度", "")
