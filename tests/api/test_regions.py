"""The 省/市/区 tree (/api/app/regions) and the rule that an address names a real place,
in the address book and in an address typed at checkout."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from tests.helpers import ADDRESS, create_product, operator_headers, shopper_headers

API = "/api/app/addresses"


def test_the_region_tree_is_served_compact_and_cacheable(client: TestClient) -> None:
    # when the storefront loads the tree
    response = client.get("/api/app/regions")

    # then it is the latest year's 34 - 3 (香港, 澳门, 台湾 have no cities) provinces
    assert response.status_code == 200, response.text
    body = response.json()
    tree = body["regions"]
    assert body["year"] == 2024
    assert len(tree) == 31
    assert sum(len(d) for cities in tree.values() for d in cities.values()) == 2846
    # municipalities list their districts under the province's own name, not 市辖区
    assert list(tree["上海市"]) == ["上海市"]
    assert "浦东新区" in tree["上海市"]["上海市"]
    assert {"渝中区", "城口县"} <= set(tree["重庆市"]["重庆市"])
    assert not any("市辖区" in cities for cities in tree.values())
    # a city without a county level has an empty list
    assert tree["广东省"]["东莞市"] == []
    # compact, and cached with an ETag that revalidates to 304
    assert b": " not in response.content and b", " not in response.content
    assert "max-age=" in response.headers["cache-control"]
    etag = response.headers["etag"]
    again = client.get("/api/app/regions", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["etag"] == etag


@pytest.mark.parametrize(
    ("place", "field"),
    [
        ({"province": "上海省"}, "province"),
        ({"province": "浙江省", "city": "苏州市", "district": "姑苏区"}, "city"),
        ({"province": "浙江省", "city": "杭州市", "district": "浦东新区"}, "district"),
        ({"province": "四川省", "city": "成都市", "district": "高新区"}, "district"),
        ({"province": "上海市", "city": "市辖区", "district": "浦东新区"}, "city"),
        ({"province": "浙江省", "city": "杭州市", "district": ""}, "district"),
        ({"province": "广东省", "city": "东莞市", "district": "南城区"}, "district"),
    ],
)
def test_a_place_that_does_not_exist_is_refused_naming_its_field(
    client: TestClient, ctx: Context, place: dict[str, str], field: str
) -> None:
    alice = shopper_headers(client, "alice")
    home = client.post(API, json=ADDRESS, headers=alice)
    assert home.status_code == 201, home.text

    # when the shopper adds, edits, or types at checkout an address that is not real
    added = client.post(API, json={**ADDRESS, **place}, headers=alice)
    changed = client.patch(f"{API}/{home.json()['id']}", json=place, headers=alice)
    product = create_product(client, operator_headers(client, ctx))
    ordered = client.post(
        "/api/app/orders",
        json={
            "items": [{"sku_id": product["skus"][0]["id"], "quantity": 1}],
            "address": {**ADDRESS, **place},
        },
        headers=alice | {"Idempotency-Key": str(uuid.uuid4())},
    )

    # then each is a 422 that names the first field that does not fit, in words
    for response, key in ((added, field), (changed, field), (ordered, f"address.{field}")):
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert list(error["fields"]) == [key], error
    assert added.json()["error"]["code"] == "bad_region"
    assert "请" in added.json()["error"]["message"]  # in words, not "invalid"
    assert client.get(f"{API}/{home.json()['id']}", headers=alice).json()["city"] == "上海市"


@pytest.mark.parametrize(
    "place",
    [
        {"province": "上海市", "city": "上海市", "district": "浦东新区"},
        {"province": "重庆市", "city": "重庆市", "district": "城口县"},
        {"province": "广东省", "city": "东莞市", "district": ""},
        {"province": "广东省", "city": "东莞市"},
    ],
)
def test_a_municipality_and_a_city_without_districts_are_accepted(
    client: TestClient, ctx: Context, place: dict[str, str]
) -> None:
    alice = shopper_headers(client, "alice")
    body: dict[str, Any] = {k: v for k, v in ADDRESS.items() if k != "district"} | place
    added = client.post(API, json=body, headers=alice)
    assert added.status_code == 201, added.text
    assert added.json()["district"] == place.get("district", "")

    product = create_product(client, operator_headers(client, ctx))
    ordered = client.post(
        "/api/app/orders",
        json={"items": [{"sku_id": product["skus"][0]["id"], "quantity": 1}], "address": body},
        headers=alice | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert ordered.status_code == 201, ordered.text
