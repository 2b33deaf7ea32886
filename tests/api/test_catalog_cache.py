"""Catalog reads are cached, and never stale: an operator's edit, a price change, a
product taken off sale and a sell-out show on the very next read — in this process
and in another one on the same database — and clients revalidate with ETags."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.clock import FrozenClock
from siyu.config import Settings
from siyu.web.catalog_cache import CatalogCache
from tests.helpers import create_product, operator_headers, place_order, shopper_headers


def _cache(client: TestClient) -> CatalogCache:
    cache: CatalogCache = client.app.state.catalog_cache  # type: ignore[attr-defined]
    return cache


def _detail(client: TestClient, product_id: int) -> dict[str, Any]:
    response = client.get(f"/api/app/products/{product_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _titles(client: TestClient) -> list[str]:
    response = client.get("/api/app/products", params={"limit": 50})
    assert response.status_code == 200, response.text
    return [p["title"] for p in response.json()["items"]]


@pytest.fixture
def other_client(settings: Settings, clock: FrozenClock) -> Iterator[TestClient]:
    """A second API process on the same database: its own context, cache and reader."""
    other = build_context(settings, clock=clock)
    with TestClient(create_app(ctx=other, run_worker=False)) as c:
        yield c
    other.close()


def test_repeated_reads_are_served_from_the_cache(client: TestClient, ctx: Context) -> None:
    admin = operator_headers(client, ctx)
    product = create_product(client, admin, title="挂耳咖啡")
    for _ in range(3):
        assert "挂耳咖啡" in _titles(client)
        assert _detail(client, product["id"])["title"] == "挂耳咖啡"
        assert client.get("/api/app/categories").status_code == 200
    cache = _cache(client)
    assert cache.hits >= 6  # the 2nd and 3rd round of each read
    assert cache.misses <= 3 + 1


def test_edits_price_and_status_show_on_the_next_read(
    client: TestClient, other_client: TestClient, ctx: Context
) -> None:
    admin = operator_headers(client, ctx)
    product = create_product(client, admin, title="冷萃咖啡")
    pid, sku = product["id"], product["skus"][0]["id"]
    for c in (client, other_client):  # warm both caches
        assert "冷萃咖啡" in _titles(c)
        assert _detail(c, pid)["skus"][0]["price_fen"] == 5900

    edited = client.patch(
        f"/api/admin/products/{pid}", json={"title": "冷萃咖啡 新包装"}, headers=admin
    )
    assert edited.status_code == 200, edited.text
    repriced = client.put(f"/api/admin/skus/{sku}/price", json={"price_fen": 4900}, headers=admin)
    assert repriced.status_code == 200, repriced.text
    for c in (client, other_client):
        assert "冷萃咖啡 新包装" in _titles(c)
        detail = _detail(c, pid)
        assert detail["title"] == "冷萃咖啡 新包装"
        assert detail["skus"][0]["price_fen"] == 4900
        assert min(p["min_price_fen"] for p in c.get("/api/app/products").json()["items"]) <= 4900

    off = client.post(
        f"/api/admin/products/{pid}/status", json={"status": "off_sale"}, headers=admin
    )
    assert off.status_code == 200, off.text
    for c in (client, other_client):
        assert "冷萃咖啡 新包装" not in _titles(c)
        assert c.get(f"/api/app/products/{pid}").status_code == 404

    renamed = client.post("/api/admin/categories", json={"name": "茶饮"}, headers=admin)
    assert renamed.status_code == 201
    for c in (client, other_client):
        assert "茶饮" in [n["name"] for n in c.get("/api/app/categories").json()]


def test_a_sell_out_shows_at_once(
    client: TestClient, other_client: TestClient, ctx: Context
) -> None:
    admin = operator_headers(client, ctx)
    product = create_product(
        client, admin, title="限量礼盒", skus=[{"spec": {}, "price_fen": 9900, "stock": 2}]
    )
    pid, sku = product["id"], product["skus"][0]["id"]
    assert _detail(other_client, pid)["skus"][0]["stock"] == 2
    shopper = shopper_headers(client, "buyer")
    assert place_order(client, shopper, sku).status_code == 201
    for c in (client, other_client):
        left = _detail(c, pid)["skus"][0]
        assert (left["stock"], left["low_stock"]) == (1, True)
    assert place_order(client, shopper, sku).status_code == 201
    for c in (client, other_client):
        assert _detail(c, pid)["skus"][0]["stock"] == 0
    assert place_order(client, shopper, sku).status_code == 409


def test_etag_revalidation(client: TestClient, ctx: Context) -> None:
    admin = operator_headers(client, ctx)
    product = create_product(client, admin, title="手冲壶")
    pid, sku = product["id"], product["skus"][0]["id"]
    for path in ("/api/app/products", f"/api/app/products/{pid}", "/api/app/categories"):
        first = client.get(path)
        etag = first.headers["etag"]
        assert first.headers["cache-control"] == "no-cache"
        again = client.get(path, headers={"If-None-Match": etag})
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
        other = client.get(path, headers={"If-None-Match": '"something-else"'})
        assert other.status_code == 200 and other.json() == first.json()
    etag = client.get(f"/api/app/products/{pid}").headers["etag"]
    client.post(f"/api/admin/skus/{sku}/stock", json={"delta": 5}, headers=admin)
    changed = client.get(f"/api/app/products/{pid}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["skus"][0]["stock"] == product["skus"][0]["stock"] + 5


def test_running_promotions_are_kept_and_never_stale(
    client: TestClient, other_client: TestClient, ctx: Context
) -> None:
    from tests.api.test_checkout_quote import promotion, quote

    admin = operator_headers(client, ctx)
    sku = create_product(client, admin, skus=[{"price_fen": 10000, "stock": 20}])["skus"][0]
    shoppers = {c: shopper_headers(c, "promo-watcher") for c in (client, other_client)}
    for c in (client, other_client):  # both processes have the (empty) list in memory
        assert quote(c, shoppers[c], sku_id=sku["id"], quantity=2)["total_fen"] == 20000
    created = promotion(client, admin, ctx)
    assert created.status_code == 201, created.text
    for c in (client, other_client):
        assert quote(c, shoppers[c], sku_id=sku["id"], quantity=2)["total_fen"] == 17000
    pid = created.json()["id"]
    edited = client.patch(
        f"/api/admin/promotions/{pid}",
        json={"tiers": [{"threshold_fen": 19900, "amount_fen": 4000}]},
        headers=admin,
    )
    assert edited.status_code == 200, edited.text
    for c in (client, other_client):
        assert quote(c, shoppers[c], sku_id=sku["id"], quantity=2)["total_fen"] == 16000
    paused = client.post(
        f"/api/admin/promotions/{pid}/status", json={"status": "paused"}, headers=admin
    )
    assert paused.status_code == 200
    for c in (client, other_client):
        assert quote(c, shoppers[c], sku_id=sku["id"], quantity=2)["total_fen"] == 20000
