"""Shoppers browse: category tree, filters, every sort, cursor pages that neither skip
nor repeat, and only products on sale."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.catalog.rules import ProductSort
from siyu.clock import FrozenClock
from tests.helpers import operator_headers


def _seed(client: TestClient, admin: dict[str, str], clock: FrozenClock) -> dict[str, int]:
    root = client.post("/api/admin/categories", json={"name": "美妆"}, headers=admin).json()
    child = client.post(
        "/api/admin/categories", json={"name": "口红", "parent_id": root["id"]}, headers=admin
    ).json()
    other = client.post("/api/admin/categories", json={"name": "零食"}, headers=admin).json()
    prices = [990, 5900, 5900, 12900, 29900, 1990, 5900]
    roles = ["traffic", "profit", "profit", "premium", "premium", "traffic", "profit"]
    for i, (price, role) in enumerate(zip(prices, roles, strict=True)):
        clock.advance(timedelta(minutes=1))
        category = child["id"] if i % 2 == 0 else other["id"]
        product = client.post(
            "/api/admin/products",
            json={
                "category_id": category,
                "title": f"商品{i} {'口红' if i < 3 else '零食'}",
                "role": role,
                "skus": [{"spec": {}, "price_fen": price, "stock": 5}],
            },
            headers=admin,
        ).json()
        if i != 6:  # the last one stays a draft
            client.post(
                f"/api/admin/products/{product['id']}/status",
                json={"status": "on_sale"},
                headers=admin,
            )
    return {"root": root["id"], "child": child["id"], "other": other["id"]}


def _all_pages(client: TestClient, **params: object) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    while True:
        page = client.get(
            "/api/app/products",
            params={**params, "limit": 2, **({"cursor": cursor} if cursor else {})},
        )
        assert page.status_code == 200, page.text
        items.extend(page.json()["items"])
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


@pytest.mark.parametrize("sort", list(ProductSort))
def test_cursor_pages_cover_each_product_once_in_sort_order(
    client: TestClient, ctx: Context, clock: FrozenClock, sort: ProductSort
) -> None:
    # given six products on sale and one draft
    _seed(client, operator_headers(client, ctx), clock)

    # when a shopper pages through two at a time
    items = _all_pages(client, sort=sort.value)

    # then each on-sale product appears once, drafts never, in the sort's order
    titles = [str(i["title"]) for i in items]
    assert len(titles) == len(set(titles)) == 6
    assert "商品6 零食" not in titles
    prices = [int(str(i["min_price_fen"])) for i in items]
    if sort is ProductSort.price_asc:
        assert prices == sorted(prices)
    if sort is ProductSort.price_desc:
        assert prices == sorted(prices, reverse=True)
    if sort is ProductSort.newest:
        assert titles == [f"商品{i} {'口红' if i < 3 else '零食'}" for i in (5, 4, 3, 2, 1, 0)]
    if sort is ProductSort.featured:
        assert [i["role"] for i in items][:2] == ["traffic", "traffic"]


def test_filters_by_category_subtree_keyword_role_and_price(
    client: TestClient, ctx: Context, clock: FrozenClock
) -> None:
    ids = _seed(client, operator_headers(client, ctx), clock)
    under_root = _all_pages(client, category_id=ids["root"])
    assert sorted(str(i["title"]) for i in under_root) == ["商品0 口红", "商品2 口红", "商品4 零食"]
    assert [i["title"] for i in _all_pages(client, q="口红", sort="price_asc")] == [
        "商品0 口红",
        "商品1 口红",
        "商品2 口红",
    ]
    assert {i["role"] for i in _all_pages(client, role="premium")} == {"premium"}
    priced = _all_pages(client, min_price_fen=2000, max_price_fen=20000)
    assert sorted(int(str(i["min_price_fen"])) for i in priced) == [5900, 5900, 12900]


def test_the_category_tree_nests_children(
    client: TestClient, ctx: Context, clock: FrozenClock
) -> None:
    _seed(client, operator_headers(client, ctx), clock)
    tree = client.get("/api/app/categories").json()
    assert [(c["name"], [k["name"] for k in c["children"]]) for c in tree] == [
        ("美妆", ["口红"]),
        ("零食", []),
    ]


def test_a_cursor_from_another_sort_or_garbage_is_a_clear_error(
    client: TestClient, ctx: Context, clock: FrozenClock
) -> None:
    _seed(client, operator_headers(client, ctx), clock)
    cursor = client.get("/api/app/products", params={"limit": 2, "sort": "featured"}).json()[
        "next_cursor"
    ]
    for bad in (cursor, "not-a-cursor", "W10"):
        response = client.get("/api/app/products", params={"cursor": bad, "sort": "newest"})
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "bad_cursor"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("sort=cheapest", "sort"),
        ("q=" + "长" * 51, "q"),
    ],
)
def test_a_bad_list_query_is_a_422_naming_the_field(
    client: TestClient, query: str, field: str
) -> None:
    response = client.get(f"/api/app/products?{query}")
    assert response.status_code == 422
    body = response.json()["error"]
    assert (body["code"], list(body["fields"])) == ("invalid_input", [field])


def test_the_list_query_is_documented_as_query_parameters(client: TestClient) -> None:
    op = client.get("/openapi.json").json()["paths"]["/api/app/products"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert list(params) == [
        "category_id", "q", "role", "min_price_fen", "max_price_fen", "sort", "cursor",
        "limit", "promotion_id",
    ]  # fmt: skip
    assert {p["in"] for p in params.values()} == {"query"}
    assert params["sort"]["schema"]["default"] == "newest"
    assert "featured" in params["sort"]["schema"]["enum"]
    assert params["limit"]["schema"] == {
        "default": 20, "maximum": 50, "minimum": 1, "title": "Limit", "type": "integer"
    }  # fmt: skip


def test_a_repeated_parameter_keeps_its_last_value(client: TestClient) -> None:
    response = client.get("/api/app/products?limit=0&limit=2")
    assert response.status_code == 200
    assert len(response.json()["items"]) <= 2
