"""The rehearsal's shoppers, for Locust (``python -m locust -f`` this file; never
imported by the server or the tests: Locust patches the process with gevent).

Each shopper logs in through the sandbox WeChat login (its code carries the run id, so
its openid is ``sandbox-rehearse-<run>-…``), then loops: browse the list (now and then
the products of a running promotion) → product → its offers → cart → quote → place
(with an ``Idempotency-Key``) → pay (start, then the sandbox cashier). The catalog and
the running promotions are read once at the start from the public API the storefront
uses. The ids of the orders placed and paid are written to ``SIYU_REHEARSE_OUT`` when
Locust quits, for the database checks.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from pathlib import Path
from typing import Any

import requests
from locust import FastHttpUser, between, events, task

RUN_ID = os.environ.get("SIYU_REHEARSE_RUN", "local")
OUT = os.environ.get("SIYU_REHEARSE_OUT", "")
MIN_STOCK = 1
ADDRESS = {
    "name": "压测顾客",
    "phone": "13800138000",
    "province": "上海市",
    "city": "上海市",
    "district": "浦东新区",
    "detail": "世纪大道 100 号",
}

CATALOG: list[dict[str, Any]] = []  # {"id", "skus": [ids], "promotions": [ids]}
PROMOTIONS: set[int] = set()
PLACED: list[int] = []
PAID: list[int] = []


def load_catalog(host: str) -> None:
    """Products on sale with SKUs in stock, and the promotions running on each."""
    http = requests.Session()
    cursor: str | None = None
    summaries: list[dict[str, Any]] = []
    while True:
        params: dict[str, Any] = {"limit": 50, **({"cursor": cursor} if cursor else {})}
        page = http.get(f"{host}/api/app/products", params=params, timeout=30).json()
        summaries += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    for summary in summaries:
        detail = http.get(f"{host}/api/app/products/{summary['id']}", timeout=30).json()
        skus = [s["id"] for s in detail["skus"] if s["is_active"] and s["stock"] >= MIN_STOCK]
        if not skus:
            continue
        offers = http.get(f"{host}/api/app/products/{summary['id']}/offers", timeout=30).json()
        promotions = [p["promotion_id"] for p in offers["promotions"]]
        PROMOTIONS.update(promotions)
        CATALOG.append({"id": summary["id"], "skus": skus, "promotions": promotions})


@events.test_start.add_listener
def on_test_start(environment: Any, **_: Any) -> None:
    if not CATALOG:
        load_catalog(str(environment.host).rstrip("/"))


@events.quitting.add_listener
def on_quitting(environment: Any, **_: Any) -> None:
    if OUT:
        data = {
            "run_id": RUN_ID,
            "placed": PLACED,
            "paid": PAID,
            "products": len(CATALOG),
            "promotions": sorted(PROMOTIONS),
        }
        Path(OUT).write_text(json.dumps(data), encoding="utf-8")


def failure_kind(response: Any) -> str:
    """``409 out_of_stock``: the status and the API's error code."""
    try:
        code = response.json().get("error", {}).get("code") or response.json().get("code")
    except Exception:
        code = None
    return f"{response.status_code} {code or 'error'}"


class Shopper(FastHttpUser):
    wait_time = between(0.1, 0.5)

    token = ""

    def on_start(self) -> None:
        code = f"rehearse-{RUN_ID}-{uuid.uuid4().hex[:10]}"
        body = {"code": code, "nickname": f"压测-{RUN_ID[-6:]}"}
        with self.client.post(
            "/api/app/login", json=body, name="login", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(failure_kind(response))
                return
            self.token = response.json()["token"]

    def call(self, method: str, path: str, name: str, ok: int = 200, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        with self.client.request(
            method, path, name=name, headers=headers, catch_response=True, **kwargs
        ) as response:
            if response.status_code != ok:
                response.failure(failure_kind(response))
                return None
            return response.json()

    @task
    def buy(self) -> None:
        if not self.token or not CATALOG:
            return
        promoted = [p for p in CATALOG if p["promotions"]]
        product = random.choice(promoted if promoted and random.random() < 0.6 else CATALOG)
        params: dict[str, Any] = {"limit": 20}
        if product["promotions"] and random.random() < 0.3:
            params["promotion_id"] = random.choice(product["promotions"])
        if self.call("GET", "/api/app/products", "browse", params=params) is None:
            return
        if self.call("GET", f"/api/app/products/{product['id']}", "product") is None:
            return
        self.call("GET", f"/api/app/products/{product['id']}/offers", "offers")
        sku_id = random.choice(product["skus"])
        cart = self.call(
            "POST", "/api/app/cart/items", "cart", ok=201, json={"sku_id": sku_id, "quantity": 1}
        )
        if cart is None:
            return
        items = [line["item_id"] for line in cart["lines"] if line["available"]]
        if not items:
            return
        quote = self.call(
            "GET", "/api/app/checkout/quote", "quote", params={"cart_item_ids": items}
        )
        if quote is None:
            return
        body = {
            "cart_item_ids": items,
            "address": ADDRESS,
            "coupon_ids": quote["quote"].get("applied_coupon_ids", []),
            "expected_total_fen": quote["total_fen"],
        }
        headers = {"Idempotency-Key": f"rehearse-{RUN_ID}-{uuid.uuid4().hex}"}
        placed = self.call("POST", "/api/app/orders", "place", ok=201, json=body, headers=headers)
        if placed is None:
            return
        order_id = int(placed["id"])
        PLACED.append(order_id)
        if self.call("POST", f"/api/app/orders/{order_id}/pay", "pay_start") is None:
            return
        if self.call("POST", f"/api/app/orders/{order_id}/sandbox-pay", "pay") is not None:
            PAID.append(order_id)
