"""The shopper's 秒杀 channel API as the storefront reads it: the server's clock next to
the sessions' real start and end (so a client corrects its own clock), and the quote
the checkout shows — the sale price, shipping free, exactly what the order charges."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.clock import FrozenClock
from tests.helpers import ADDRESS, create_product, operator_headers, shopper_headers

SHELF = 5900
SALE = 1990


def _session(
    client: TestClient, admin: dict[str, str], sku_id: int, starts: datetime, **item: Any
) -> dict[str, Any]:
    body = {
        "name": "10点秒杀", "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(minutes=30)).isoformat(),
        "items": [{"sku_id": sku_id, "sale_price_fen": SALE, "quantity": 5,
                   "per_shopper_limit": 2} | item],
    }  # fmt: skip
    made = client.post("/api/admin/flash-sales", json=body, headers=admin)
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_the_channel_sends_the_server_clock_with_the_real_start_and_end(
    client: TestClient, ctx: Context, clock: FrozenClock
) -> None:
    # given a session on now and one starting in 90 seconds
    admin = operator_headers(client, ctx)
    sku_id = create_product(client, admin)["skus"][0]["id"]
    now = clock.now()
    on = _session(client, admin, sku_id, now - timedelta(minutes=1))
    later = _session(client, admin, sku_id, now + timedelta(seconds=90))

    # when a visitor opens the channel
    channel = client.get("/api/app/flash-sales")

    # then the server's time comes with each session's start and end, on now first
    assert channel.status_code == 200
    body = channel.json()
    assert datetime.fromisoformat(body["server_time"]) == now
    assert [s["id"] for s in body["sessions"]] == [on["id"], later["id"]]
    first, second = body["sessions"]
    assert (first["phase"], first["starts_in_seconds"], first["ends_in_seconds"]) == (
        "running",
        0,
        29 * 60,
    )
    assert (second["phase"], second["starts_in_seconds"]) == ("upcoming", 90)
    assert datetime.fromisoformat(second["starts_at"]) == now + timedelta(seconds=90)
    item = second["items"][0]
    assert (item["shelf_price_fen"], item["sale_price_fen"], item["units_left"]) == (SHELF, SALE, 5)
    assert (item["per_shopper_limit"], item["sold_out"]) == (2, False)


def test_the_quote_is_the_sale_price_shipping_free_and_what_the_order_charges(
    client: TestClient, ctx: Context, clock: FrozenClock
) -> None:
    # given a running session of the ¥59.00 coffee at ¥19.90, two a shopper
    admin = operator_headers(client, ctx)
    sku_id = create_product(client, admin)["skus"][0]["id"]
    item_id = _session(client, admin, sku_id, clock.now() - timedelta(minutes=1))["items"][0]["id"]
    shopper = shopper_headers(client, "flash-quote")

    # when the checkout asks for the quote of two, then buys them
    quoted = client.get(f"/api/app/flash-sales/items/{item_id}/quote?quantity=2")
    bought = client.post(
        f"/api/app/flash-sales/items/{item_id}/buy",
        json={"address": ADDRESS, "quantity": 2},
        headers=shopper | {"Idempotency-Key": str(uuid.uuid4())},
    )

    # then the quote is 2 × ¥19.90 with the saving named, and the order charges it
    assert quoted.status_code == 200, quoted.text
    body = quoted.json()
    assert (body["total_fen"], body["discount_fen"], body["shipping_fen"]) == (
        2 * SALE,
        2 * (SHELF - SALE),
        0,
    )
    assert body["coupons"] == []
    [saving] = [d for d in body["quote"]["discounts"] if d["source"] == "activity"]
    assert (saving["amount_fen"], saving["reason_zh"]) == (2 * (SHELF - SALE), "限时秒杀价 ¥19.90")
    assert bought.status_code == 201, bought.text
    assert bought.json()["order"]["total_fen"] == body["total_fen"]
    assert bought.json()["item"]["units_left"] == 3


def test_a_quote_beyond_the_limit_or_of_no_item_is_a_clear_4xx(
    client: TestClient, ctx: Context, clock: FrozenClock
) -> None:
    admin = operator_headers(client, ctx)
    sku_id = create_product(client, admin)["skus"][0]["id"]
    item_id = _session(client, admin, sku_id, clock.now())["items"][0]["id"]

    over = client.get(f"/api/app/flash-sales/items/{item_id}/quote?quantity=3")
    unknown = client.get("/api/app/flash-sales/items/987654/quote")
    text = client.get(f"/api/app/flash-sales/items/{item_id}/quote?quantity=abc")

    assert (over.status_code, over.json()["error"]["code"]) == (422, "bad_quantity")
    assert over.json()["error"]["message"] == "每人限购 2 件 / At most 2 a shopper"
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "flash_item_not_found")
    assert text.status_code == 422
