"""Console test helpers: sign in through the login form, read CSRF tokens from pages,
and build orders and after-sales requests through the public API."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.identity.operators import create_operator
from siyu.identity.rules import Role
from tests.helpers import PASSWORD, create_product, operator_headers, place_order, shopper_headers

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the CSRF token the console's forms carry."""
    form = client.get("/console/login")
    assert form.status_code == 200
    response = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    home = client.get(response.headers["location"])
    assert home.status_code == 200, home.text
    return csrf_of(home.text)


def new_operator(ctx: Context, role: Role) -> str:
    username = f"{role.value}-{uuid.uuid4().hex[:6]}"
    with ctx.db.transaction() as session:
        create_operator(
            session,
            username=username,
            display_name=f"{role.value} 同事",
            password=PASSWORD,
            role=role,
            now=ctx.clock.now(),
        )
    return username


@dataclass(frozen=True)
class Shop:
    """A product on sale and a shopper, set up through the API."""

    product: dict[str, Any]
    shopper: dict[str, str]

    @property
    def sku_id(self) -> int:
        return int(self.product["skus"][0]["id"])


def open_shop(client: TestClient, admin: dict[str, str]) -> Shop:
    return Shop(create_product(client, admin), shopper_headers(client, "console-shopper"))


def unpaid_order(client: TestClient, shop: Shop) -> dict[str, Any]:
    placed = place_order(client, shop.shopper, shop.sku_id)
    assert placed.status_code == 201, placed.text
    return dict(placed.json())


def paid_order(client: TestClient, shop: Shop) -> dict[str, Any]:
    order = unpaid_order(client, shop)
    assert (
        client.post(f"/api/app/orders/{order['id']}/pay", headers=shop.shopper).status_code == 200
    )
    paid = client.post(f"/api/app/orders/{order['id']}/sandbox-pay", headers=shop.shopper)
    assert paid.status_code == 200, paid.text
    return dict(paid.json())


def aftersale_request(client: TestClient, shop: Shop, order_id: int) -> dict[str, Any]:
    response = client.post(
        "/api/app/aftersales",
        json={"order_id": order_id, "kind": "refund_only", "reason": "拍错了"},
        headers=shop.shopper,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
def api_admin(client: TestClient, ctx: Context) -> dict[str, str]:
    """Bearer headers of an owner, for setting up data through /api/admin."""
    return operator_headers(client, ctx)
