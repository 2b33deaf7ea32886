"""The checkout quote over HTTP: promotions and coupons an operator sets up, the hints
and the coupon picker a shopper sees, and the amount the order then charges."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.clock import FrozenClock
from siyu.identity.rules import Role
from tests.helpers import ADDRESS, create_product, operator_headers, shopper_headers


def promotion(client: TestClient, admin: dict[str, str], ctx: Context, **fields: Any) -> Any:
    now = ctx.clock.now()
    body = {
        "name": "满199减30 满299减50",
        "kind": "full_reduction",
        "tiers": [
            {"threshold_fen": 19900, "amount_fen": 3000},
            {"threshold_fen": 29900, "amount_fen": 5000},
        ],
        "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=7)).isoformat(),
    }
    return client.post("/api/admin/promotions", json=body | fields, headers=admin)


def coupon(client: TestClient, admin: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": "满100减20", "kind": "cash_off", "threshold_fen": 10000, "amount_fen": 2000}
    response = client.post(
        "/api/admin/coupon-templates", json=body | {"valid_days": 7} | fields, headers=admin
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def quote(client: TestClient, shopper: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/api/app/checkout/quote", params=params, headers=shopper)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_cart_shows_the_hint_the_saving_and_the_best_coupon_and_the_order_charges_it(
    client: TestClient, ctx: Context
) -> None:
    # given 满199减30/满299减50, a shopper holding 满100减20 and a 满500减80 coupon
    admin = operator_headers(client, ctx)
    assert promotion(client, admin, ctx).status_code == 201
    sku = create_product(client, admin, skus=[{"price_fen": 9900, "stock": 20}])["skus"][0]
    small, big = (
        coupon(client, admin),
        coupon(client, admin, name="满500减80", threshold_fen=50000, amount_fen=8000),
    )
    shopper = shopper_headers(client, "quoter")
    for t in (small, big):
        claimed = client.post(f"/api/app/coupons/center/{t['id']}/claim", headers=shopper)
        assert claimed.status_code == 201, claimed.text
    cart_item = client.post(
        "/api/app/cart/items", json={"sku_id": sku["id"], "quantity": 1}, headers=shopper
    ).json()["lines"][0]["item_id"]

    # when the cart holds one ¥99 item
    one = quote(client, shopper)

    # then nothing applies yet, and the hint says what one more ¥1 would unlock
    assert (one["total_fen"], one["discount_fen"]) == (9900, 0)
    assert [h["message_zh"] for h in one["quote"]["hints"]] == ["全场再买 ¥100.00 可减 ¥30.00"]
    assert [(c["name"], c["usable"], c["missing_fen"]) for c in one["coupons"]] == [
        ("满100减20", False, 100),
        ("满500减80", False, 40100),
    ]
    assert one["coupons"][0]["reason_zh"] == "还差 ¥1.00 可用"
    # and each coupon says what it covers, as its face in the coupon center does
    assert {(c["scope_zh"], c["scope_en"]) for c in one["coupons"]} == {("全场通用", "Store-wide")}

    # when the shopper makes it three
    client.patch(f"/api/app/cart/items/{cart_item}", json={"quantity": 3}, headers=shopper)
    three = quote(client, shopper)

    # then 满199减30 and the best coupon apply: 29700 - 3000 - 2000
    assert (three["total_fen"], three["discount_fen"]) == (24700, 5000)
    assert [d["name"] for d in three["quote"]["discounts"]] == ["满199减30 满299减50", "满100减20"]
    assert three["coupons"][0] | {"valid_until": None} == three["coupons"][0] | {
        "valid_until": None,
        "name": "满100减20",
        "usable": True,
        "applied": True,
        "saving_fen": 5000,
    }
    assert [h["message_zh"] for h in three["quote"]["hints"]] == ["全场再买 ¥2.00 可减 ¥50.00"]

    # and without a coupon it is 26700; the order charges what the quote said
    assert quote(client, shopper, no_coupon="true")["total_fen"] == 26700
    placed = client.post(
        "/api/app/orders",
        json={
            "cart_item_ids": [cart_item],
            "address": ADDRESS,
            "coupon_ids": three["quote"]["applied_coupon_ids"],
            "expected_total_fen": three["total_fen"],
        },
        headers=shopper | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["subtotal_fen"], order["discount_fen"], order["total_fen"]) == (
        29700,
        5000,
        24700,
    )
    assert order["pricing"]["applied_coupon_ids"] == three["quote"]["applied_coupon_ids"]
    assert sum(li["payable_fen"] for li in order["lines"]) == 24700


def test_a_coupon_the_cart_cannot_use_is_refused_at_placement_with_its_reason(
    client: TestClient, ctx: Context
) -> None:
    # given a shopper with only a 满100减20 coupon and a ¥59 cart
    admin = operator_headers(client, ctx)
    sku = create_product(client, admin, skus=[{"price_fen": 5900, "stock": 20}])["skus"][0]
    template = coupon(client, admin)
    shopper = shopper_headers(client, "picker")
    coupon_id = client.post(
        f"/api/app/coupons/center/{template['id']}/claim", headers=shopper
    ).json()["id"]

    # when they insist on the coupon
    response = client.post(
        "/api/app/orders",
        json={
            "items": [{"sku_id": sku["id"], "quantity": 1}],
            "address": ADDRESS,
            "coupon_ids": [coupon_id],
        },
        headers=shopper | {"Idempotency-Key": str(uuid.uuid4())},
    )

    # then the order is refused, saying how much is missing, and the coupon is untouched
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "coupon_unavailable"
    assert "还差 ¥41.00 可用" in response.json()["error"]["message"]
    mine = client.get("/api/app/coupons/mine", headers=shopper).json()
    assert [(c["id"], c["status"]) for c in mine] == [(coupon_id, "issued")]


def test_operators_schedule_and_pause_promotions_and_analysts_only_read(
    client: TestClient, ctx: Context, clock: FrozenClock
) -> None:
    # given an owner and an analyst
    admin = operator_headers(client, ctx)
    analyst = operator_headers(client, ctx, Role.analyst)
    sku = create_product(client, admin, skus=[{"price_fen": 25000, "stock": 20}])["skus"][0]
    shopper = shopper_headers(client, "pauser")

    # when the owner schedules a promotion for tomorrow
    now = ctx.clock.now()
    created = promotion(
        client,
        admin,
        ctx,
        starts_at=(now + timedelta(days=1)).isoformat(),
        ends_at=(now + timedelta(days=3)).isoformat(),
    )
    assert created.status_code == 201, created.text
    promo = created.json()

    # then it is scheduled and does not price today's cart
    assert promo["phase"] == "scheduled"
    assert quote(client, shopper, sku_id=sku["id"])["total_fen"] == 25000
    clock.advance(timedelta(days=1, minutes=1))
    assert quote(client, shopper, sku_id=sku["id"])["total_fen"] == 22000
    admin = operator_headers(client, ctx)  # yesterday's console sessions have expired
    analyst = operator_headers(client, ctx, Role.analyst)

    # and pausing stops it at once; the analyst can read but not change it
    denied = client.post(
        f"/api/admin/promotions/{promo['id']}/status", json={"status": "paused"}, headers=analyst
    )
    assert denied.status_code == 403
    paused = client.post(
        f"/api/admin/promotions/{promo['id']}/status", json={"status": "paused"}, headers=admin
    )
    assert paused.json()["phase"] == "paused"
    assert quote(client, shopper, sku_id=sku["id"])["total_fen"] == 25000
    listed = client.get("/api/admin/promotions", headers=analyst)
    assert [(p["id"], p["phase"]) for p in listed.json()] == [(promo["id"], "paused")]


def test_promotion_and_coupon_rules_an_operator_cannot_mean_are_refused(
    client: TestClient, ctx: Context
) -> None:
    admin = operator_headers(client, ctx)
    bad_promotions = [
        {
            "tiers": [
                {"threshold_fen": 29900, "amount_fen": 5000},
                {"threshold_fen": 19900, "amount_fen": 3000},
            ]
        },
        {"tiers": [{"threshold_fen": 1000, "amount_fen": 3000}]},
        {"kind": "n_item_discount", "min_items": 1, "percent_off": 10},
        {"kind": "bundle", "bundle_product_ids": [987654, 987655], "amount_off_fen": 3000},
        {"ends_at": (ctx.clock.now() - timedelta(days=2)).isoformat()},
    ]
    codes = [promotion(client, admin, ctx, **b).json()["error"]["code"] for b in bad_promotions]
    assert codes == ["invalid_promotion"] * 3 + ["unknown_product", "invalid_promotion"]
    bad_coupons = [
        {"threshold_fen": 1000, "amount_fen": 2000},
        {"kind": "percent_off", "percent_off": 0},
        {"validity_kind": "fixed"},
        {"scope_kind": "categories"},
    ]
    responses = [
        client.post(
            "/api/admin/coupon-templates",
            json={"name": "x", "kind": "cash_off", "threshold_fen": 10000, "amount_fen": 2000}
            | {"valid_days": 7}
            | b,
            headers=admin,
        )
        for b in bad_coupons
    ]
    assert [r.status_code for r in responses] == [422] * 4
    assert client.get("/api/admin/promotions", headers=admin).json() == []
    assert client.get("/api/admin/coupon-templates", headers=admin).json() == []


def test_a_hint_names_its_scope_and_its_promotion_lists_only_the_products_it_applies_to(
    client: TestClient, ctx: Context
) -> None:
    # given a lipstick and a snack in their own categories, and 零食 3件9折
    admin = operator_headers(client, ctx)
    lipstick = create_product(
        client, admin, title="丝绒口红", skus=[{"price_fen": 12900, "stock": 10}]
    )
    snack = create_product(client, admin, title="坚果礼盒", skus=[{"price_fen": 3900, "stock": 10}])
    snack_category = snack["category_id"]
    category_name = client.get("/api/app/categories").json()
    names = {c["id"]: c["name"] for c in category_name}
    made = promotion(
        client,
        admin,
        ctx,
        name="零食3件9折",
        kind="n_item_discount",
        tiers=[],
        min_items=3,
        percent_off=10,
        scope_kind="categories",
        category_ids=[snack_category],
    )
    assert made.status_code == 201, made.text
    promotion_id = made.json()["id"]
    shopper = shopper_headers(client, "scoped")

    # when the cart holds only the lipstick
    client.post(
        "/api/app/cart/items", json={"sku_id": lipstick["skus"][0]["id"], "quantity": 1},
        headers=shopper,
    )  # fmt: skip
    # then no hint speaks of the snack promotion (its scope has nothing in the cart)
    hints = quote(client, shopper)["quote"]["hints"]
    assert [h for h in hints if h["source"] == "promotion"] == []

    # when a snack joins it, the hint names the scope
    client.post(
        "/api/app/cart/items", json={"sku_id": snack["skus"][0]["id"], "quantity": 1},
        headers=shopper,
    )  # fmt: skip
    hints = quote(client, shopper)["quote"]["hints"]
    assert [h["message_zh"] for h in hints if h["source"] == "promotion"] == [
        f"{names[snack_category]}类再买 2 件可享 9 折"
    ]
    assert [h["source_id"] for h in hints if h["source"] == "promotion"] == [promotion_id]

    # and its 去凑单 list holds the snack only
    listed = client.get("/api/app/products", params={"promotion_id": promotion_id})
    assert listed.status_code == 200, listed.text
    assert [p["id"] for p in listed.json()["items"]] == [snack["id"]]


def test_a_promotion_filter_for_a_missing_or_bad_promotion_is_a_clear_4xx(
    client: TestClient,
) -> None:
    missing = client.get("/api/app/products", params={"promotion_id": 987654})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "promotion_not_found"
    for bad in ("abc", "0", "-1", "99999999999999999999"):
        response = client.get("/api/app/products", params={"promotion_id": bad})
        assert response.status_code == 422, (bad, response.text)
