"""What a product page says about offers: the coupons whose scope covers the product,
and every coupon face saying what it covers (全场通用 / 限 … 可用)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from tests.helpers import create_product, operator_headers


def test_a_product_lists_only_the_coupons_that_cover_it_each_saying_its_scope(
    client: TestClient, ctx: Context
) -> None:
    admin = operator_headers(client, ctx)
    coffee = create_product(client, admin, title="云南小粒咖啡豆 500g")
    tea = create_product(client, admin, title="西湖龙井 250g")

    def template(name: str, **scope: object) -> None:
        body = {"name": name, "kind": "cash_off", "amount_fen": 500, "valid_days": 7, **scope}
        response = client.post("/api/admin/coupon-templates", json=body, headers=admin)
        assert response.status_code == 201, response.text

    template("全场5元券")
    template("咖啡5元券", scope_kind="categories", category_ids=[coffee["category_id"]])
    template("龙井5元券", scope_kind="products", product_ids=[tea["id"]])

    offers = client.get(f"/api/app/products/{coffee['id']}/offers")
    assert offers.status_code == 200, offers.text
    faces = {c["name"]: c["scope_zh"] for c in offers.json()["coupons"]}
    assert set(faces) == {"全场5元券", "咖啡5元券"}
    assert faces["全场5元券"] == "全场通用"
    assert faces["咖啡5元券"].startswith("限 咖啡-") and faces["咖啡5元券"].endswith(" 可用")

    center = {c["name"]: c["scope_zh"] for c in client.get("/api/app/coupons/center").json()}
    assert center["龙井5元券"] == "限 西湖龙井 250g 可用"
