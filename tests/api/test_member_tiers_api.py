"""The member tier API: the shopper's card and member day, the birthday set once, and
the operator's tier table, validated with nothing half-written."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from tests.helpers import create_product, operator_headers, shopper_headers


def _table(client: TestClient, admin: dict[str, str]) -> dict[str, Any]:
    response = client.get("/api/admin/member-tiers", headers=admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_shopper_sees_the_default_card_and_the_next_member_day(
    client: TestClient, ctx: Context
) -> None:
    # given a new shopper on 2 Nov 2026, 10:00 in Shanghai
    shopper = shopper_headers(client, "card")

    # when they open their tier card and the member-day banner
    card = client.get("/api/app/member/card", headers=shopper).json()
    day = client.get("/api/app/member/day").json()

    # then they are 青铜 with 500 growth to 白银, and member day is the 15th
    assert {k: card[k] for k in ("level", "name_zh", "growth", "next_name_zh", "missing_growth",
                                 "progress_percent")} == {
        "level": 0, "name_zh": "青铜会员", "growth": 0, "next_name_zh": "白银会员",
        "missing_growth": 500, "progress_percent": 0,
    }  # fmt: skip
    assert [(t["name_zh"], t["discount_percent"]) for t in card["tiers"]][-1] == ("钻石会员", 80)
    assert day == {
        "is_today": False,
        "next_starts_at": "2026-11-14T16:00:00Z",
        "countdown_seconds": 12 * 86400 + 14 * 3600,
        "points_multiplier_percent": 200,
        "free_shipping": True,
    }


def test_the_birthday_is_set_once(client: TestClient) -> None:
    shopper = shopper_headers(client, "birthday")
    first = client.put("/api/app/member/birthday", json={"birthday": "1995-11-03"}, headers=shopper)
    again = client.put("/api/app/member/birthday", json={"birthday": "1995-12-03"}, headers=shopper)
    assert (first.status_code, again.status_code) == (204, 409)
    assert again.json()["error"]["code"] == "birthday_already_set"


def test_a_bad_tier_table_is_refused_whole_and_a_good_one_saved(
    client: TestClient, ctx: Context
) -> None:
    # given the default table
    admin = operator_headers(client, ctx)
    table = _table(client, admin)

    # when an operator saves thresholds that do not rise and a rate of 0 %
    bad = {**table, "tiers": [dict(t) for t in table["tiers"]]}
    bad["tiers"][2]["threshold"] = 400
    bad["tiers"][3]["discount_percent"] = 0
    refused = client.put("/api/admin/member-tiers", json=bad, headers=admin)
    bad["tiers"][3]["discount_percent"] = 90
    refused_again = client.put("/api/admin/member-tiers", json=bad, headers=admin)

    # then both are 422 and nothing changed
    assert refused.status_code == 422
    assert refused_again.status_code == 422
    assert refused_again.json()["error"]["fields"] == {
        "tiers.2.threshold": "thresholds must strictly increase"
    }
    assert _table(client, admin) == table

    # when a valid table is saved: 钻石 75折, member day also on Saturdays
    good = {**table, "tiers": [dict(t) for t in table["tiers"]]}
    good["tiers"][4]["discount_percent"] = 75
    good["member_day"] = {**table["member_day"], "weekdays": [6]}
    saved = client.put("/api/admin/member-tiers", json=good, headers=admin)

    # then it is what the table reads now
    assert saved.status_code == 200, saved.text
    assert _table(client, admin) == good
    assert _table(client, admin)["tiers"][4]["discount_percent"] == 75


def test_the_product_page_shows_each_tiers_price_and_the_shoppers_own(
    client: TestClient, ctx: Context
) -> None:
    # given a ¥59 SKU with a 黄金 member price of ¥49 and the default rates
    admin = operator_headers(client, ctx)
    product = create_product(client, admin, skus=[{"price_fen": 5900, "stock": 10}])
    sku = product["skus"][0]["id"]
    table = _table(client, admin)
    table["sku_prices"] = [{"level": 2, "sku_id": sku, "price_fen": 4900}]
    assert client.put("/api/admin/member-tiers", json=table, headers=admin).status_code == 200
    shopper = shopper_headers(client, "page")

    # when an anonymous visitor and a signed-in 青铜 shopper open the page (cached)
    anonymous = client.get(f"/api/app/products/{product['id']}").json()["member_prices"]
    signed_in = client.get(f"/api/app/products/{product['id']}", headers=shopper).json()

    # then the tiers that save show their price: 白银 98折, 黄金 its SKU price, which
    # holds for 铂金 too (below 9折's ¥53.10), 钻石 8折
    assert [(t["name_zh"], t["skus"][0]["price_fen"]) for t in anonymous["tiers"]] == [
        ("白银会员", 5782),
        ("黄金会员", 4900),
        ("铂金会员", 4900),
        ("钻石会员", 4720),
    ]
    assert anonymous["mine"] is None
    assert signed_in["member_prices"]["mine"] == {
        "level": 0, "name_zh": "青铜会员", "name_en": "Bronze",
        "skus": [{"sku_id": sku, "price_fen": 5900}],
    }  # fmt: skip
    assert signed_in["skus"][0]["price_fen"] == 5900  # the shelf price stays the shelf price


def test_a_tier_table_edit_shows_on_the_next_visitors_page(
    client: TestClient, ctx: Context
) -> None:
    # given a ¥59 SKU whose page a visitor has seen (member prices now cached)
    admin = operator_headers(client, ctx)
    product = create_product(client, admin, skus=[{"price_fen": 5900, "stock": 10}])
    url = f"/api/app/products/{product['id']}"
    before = client.get(url).json()["member_prices"]["tiers"]
    assert before[-1]["skus"][0]["price_fen"] == 4720  # 钻石 8折

    # when the operator makes 钻石 7折, and then changes the SKU's shelf price
    table = _table(client, admin)
    table["tiers"][-1]["discount_percent"] = 70
    assert client.put("/api/admin/member-tiers", json=table, headers=admin).status_code == 200
    after_tiers = client.get(url).json()["member_prices"]["tiers"]
    sku = product["skus"][0]["id"]
    repriced = client.put(f"/api/admin/skus/{sku}/price", json={"price_fen": 10000}, headers=admin)
    after_price = client.get(url).json()["member_prices"]["tiers"]

    # then the next visitor sees each change at once
    assert after_tiers[-1]["skus"][0]["price_fen"] == 4130
    assert repriced.status_code == 200, repriced.text
    assert after_price[-1]["skus"][0]["price_fen"] == 7000
