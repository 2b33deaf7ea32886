"""Urgency cues through the HTTP API: the social-proof feed shows only real paid,
unrefunded orders with masked names and the store can switch it off; the low-stock
hint comes from the real stock at or below the threshold; countdowns are the real end
times of the plays running on the item."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from tests.helpers import create_product, operator_headers, place_order


def _shopper(client: TestClient, code: str, nickname: str) -> dict[str, str]:
    login = client.post("/api/app/login", json={"code": code, "nickname": nickname})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['token']}"}


def _pay(client: TestClient, who: dict[str, str], order_id: int) -> None:
    client.post(f"/api/app/orders/{order_id}/pay", headers=who)
    paid = client.post(f"/api/app/orders/{order_id}/sandbox-pay", headers=who)
    assert paid.json()["status"] == "paid", paid.text


def _cues(client: TestClient, **params: Any) -> Any:
    answer = client.get("/api/app/cues", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_feed_shows_only_the_paid_unrefunded_order_with_the_name_masked(
    client: TestClient, ctx: Context
) -> None:
    # given four orders of the beans: pending, cancelled, paid then refunded, and paid
    admin = operator_headers(client, ctx)
    product = create_product(client, admin, skus=[{"price_fen": 5900, "stock": 50}])
    sku_id = product["skus"][0]["id"]
    pending = _shopper(client, "cue-pending", "钱多多")
    cancelled = _shopper(client, "cue-cancelled", "孙悟空")
    refunded = _shopper(client, "cue-refunded", "周杰伦")
    paid = _shopper(client, "cue-paid", "张三丰")
    place_order(client, pending, sku_id)
    gone = place_order(client, cancelled, sku_id).json()["id"]
    assert client.post(f"/api/app/orders/{gone}/cancel", headers=cancelled).status_code == 200
    back = place_order(client, refunded, sku_id).json()["id"]
    _pay(client, refunded, back)
    asked = client.post("/api/app/aftersales", json={"order_id": back, "kind": "refund_only",
                        "reason": "不要了"}, headers=refunded)  # fmt: skip
    approved = client.post(f"/api/admin/aftersales/{asked.json()['id']}/approve", headers=admin)
    assert approved.json()["status"] == "refunded", approved.text
    kept = place_order(client, paid, sku_id).json()["id"]
    _pay(client, paid, kept)
    ctx.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]

    # when the product page asks for its cues, by SKU and by product
    by_sku = _cues(client, sku_id=sku_id)
    by_product = _cues(client, product_id=product["id"])

    # then exactly the paid order appears, masked, five minutes ago
    assert (
        by_sku["purchases"]
        == by_product["purchases"]
        == [
            {
                "name": "张**",
                "title": "云南小粒咖啡豆 500g",
                "minutes_ago": 5,
                "text_zh": "张**5分钟前购买了云南小粒咖啡豆 500g",
                "text_en": "张** bought 云南小粒咖啡豆 500g 5 min ago",
            }
        ]
    )
    assert by_sku["social_proof_enabled"] is True


def test_the_store_switches_the_feed_off_and_sets_the_low_stock_threshold(
    client: TestClient, ctx: Context
) -> None:
    # given a paid order of beans with 3 left after it
    admin = operator_headers(client, ctx)
    sku_id = create_product(client, admin, skus=[{"price_fen": 5900, "stock": 4}])["skus"][0]["id"]
    buyer = _shopper(client, "cue-buyer", "李四")
    _pay(client, buyer, place_order(client, buyer, sku_id).json()["id"])
    before = _cues(client, sku_id=sku_id)

    # when the operator switches the feed off and hints only at 2 or fewer
    saved = client.put("/api/admin/cues/settings", headers=admin,
                       json={"social_proof_enabled": False, "low_stock_threshold": 2})  # fmt: skip
    after = _cues(client, sku_id=sku_id)

    # then the default threshold (5) showed 仅剩3件 and the feed; now neither shows
    assert [p["name"] for p in before["purchases"]] == ["李*"]
    assert before["low_stock"] == {"units_left": 3, "text_zh": "仅剩3件", "text_en": "Only 3 left"}
    assert saved.status_code == 200, saved.text
    assert (after["social_proof_enabled"], after["purchases"], after["low_stock"]) == (
        False, [], None,
    )  # fmt: skip
    read = client.get("/api/admin/cues/settings", headers=admin).json()
    assert read == {"social_proof_enabled": False, "low_stock_threshold": 2}


def test_countdowns_are_the_real_end_times_of_the_plays_on_the_item(
    client: TestClient, ctx: Context
) -> None:
    # given a group buy ending in 2 days and a rising-price sale ending in 5 hours
    admin = operator_headers(client, ctx)
    sku_id = create_product(client, admin, skus=[{"price_fen": 5900, "stock": 50}])["skus"][0]["id"]
    now = ctx.clock.now()
    group = client.post("/api/admin/group-buy", headers=admin, json={
        "name": "2人团", "sku_id": sku_id, "tiers": [{"size": 2, "price_fen": 4900}],
        "starts_at": now.isoformat(), "ends_at": (now + timedelta(days=2)).isoformat(),
    })  # fmt: skip
    rising = client.post("/api/admin/rising-price", headers=admin, json={
        "name": "早鸟", "sku_id": sku_id, "base_price_fen": 2950, "base_units": 10,
        "step_percent": 10, "cap_price_fen": 5900, "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(hours=5)).isoformat(),
    })  # fmt: skip
    assert group.status_code == rising.status_code == 201, (group.text, rising.text)

    # when the page asks for the SKU's cues
    cues = _cues(client, sku_id=sku_id)

    # then both countdowns come from the campaigns' end times, soonest first
    assert [(c["kind"], c["campaign_id"], c["ends_in_seconds"]) for c in cues["countdowns"]] == [
        ("rising_price", rising.json()["id"], 5 * 3600),
        ("group_buy", group.json()["id"], 2 * 24 * 3600),
    ]


def test_cues_need_exactly_one_of_sku_and_product(client: TestClient, ctx: Context) -> None:
    both = client.get("/api/app/cues", params={"sku_id": 1, "product_id": 1})
    neither = client.get("/api/app/cues")
    unknown = client.get("/api/app/cues", params={"sku_id": 987654})
    assert [(r.status_code, r.json()["error"]["code"]) for r in (both, neither, unknown)] == [
        (422, "one_item"), (422, "one_item"), (404, "sku_unavailable"),
    ]  # fmt: skip
