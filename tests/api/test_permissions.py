"""Who may do what in the console: the role × action matrix through the HTTP API, and
which tokens open which doors (shopper vs operator, revoked sessions)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.aftersale.models import AfterSale
from siyu.bootstrap import Context
from siyu.catalog.models import Category, Product, Sku
from siyu.identity.models import AuditLog, Operator
from siyu.identity.rules import Role
from siyu.order.models import Order
from tests.helpers import (
    PASSWORD,
    create_product,
    operator_headers,
    place_order,
    shopper_headers,
)

# The expectation, written out by hand from the business rule (identity/rules.py
# docstring), not read from ROLE_PERMISSIONS, so a change to the table shows up here.
#                        owner  operator analyst support
MATRIX: dict[str, tuple[bool, bool, bool, bool]] = {
    "create_product": (True, True, False, False),
    "update_product": (True, True, False, False),
    "change_sku_price": (True, True, False, False),
    "adjust_stock": (True, True, False, False),
    "create_category": (True, True, False, False),
    "list_orders": (True, True, True, True),
    "ship_order": (True, True, False, True),
    "cancel_order": (True, True, False, True),
    "approve_aftersale": (True, True, False, True),
    "reject_aftersale": (True, True, False, True),
    "list_operators": (True, False, False, False),
    "create_operator": (True, False, False, False),
    "read_audit_log": (True, False, False, False),
    "change_product_status": (True, True, False, False),
}
ROLES = (Role.owner, Role.operator, Role.analyst, Role.support)
SUCCESS_STATUS = {"create_product": 201, "create_category": 201, "create_operator": 201}


@dataclass(frozen=True)
class World:
    owner: dict[str, str]
    category_id: int
    product_id: int
    sku_id: int
    paid_order_id: int
    pending_order_id: int
    approve_aftersale_id: int
    reject_aftersale_id: int


def _paid_order(client: TestClient, shopper: dict[str, str], sku_id: int) -> int:
    order_id = int(place_order(client, shopper, sku_id).json()["id"])
    assert client.post(f"/api/app/orders/{order_id}/pay", headers=shopper).status_code == 200
    paid = client.post(f"/api/app/orders/{order_id}/sandbox-pay", headers=shopper)
    assert paid.json()["status"] == "paid", paid.text
    return order_id


def _aftersale(client: TestClient, shopper: dict[str, str], order_id: int) -> int:
    response = client.post(
        "/api/app/aftersales",
        json={"order_id": order_id, "kind": "refund_only", "reason": "拍错了"},
        headers=shopper,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def build_world(client: TestClient, ctx: Context) -> World:
    owner = operator_headers(client, ctx, Role.owner, username="the-owner")
    product = create_product(client, owner)
    sku_id = product["skus"][0]["id"]
    shopper = shopper_headers(client)
    return World(
        owner=owner,
        category_id=product["category_id"],
        product_id=product["id"],
        sku_id=sku_id,
        paid_order_id=_paid_order(client, shopper, sku_id),
        pending_order_id=int(place_order(client, shopper, sku_id).json()["id"]),
        approve_aftersale_id=_aftersale(client, shopper, _paid_order(client, shopper, sku_id)),
        reject_aftersale_id=_aftersale(client, shopper, _paid_order(client, shopper, sku_id)),
    )


def _count(model: type[Any]) -> Callable[[Session, World], object]:
    return lambda s, w: s.scalar(select(func.count()).select_from(model))


Perform = Callable[[TestClient, World, dict[str, str]], httpx.Response]
Observe = Callable[[Session, World], object]

# Each action: the request, and the piece of state it is meant to change. For reads
# the "state" is whether the answer carried the data.
ACTIONS: dict[str, tuple[Perform, Observe | None]] = {
    "create_product": (
        lambda c, w, h: c.post(
            "/api/admin/products",
            json={
                "category_id": w.category_id,
                "title": "挂耳咖啡 10 包",
                "role": "profit",
                "skus": [{"price_fen": 3900, "stock": 5}],
            },
            headers=h,
        ),
        _count(Product),
    ),
    "update_product": (
        lambda c, w, h: c.patch(
            f"/api/admin/products/{w.product_id}", json={"title": "新标题"}, headers=h
        ),
        lambda s, w: s.get(Product, w.product_id).title,  # type: ignore[union-attr]
    ),
    "change_sku_price": (
        lambda c, w, h: c.put(
            f"/api/admin/skus/{w.sku_id}/price", json={"price_fen": 4900}, headers=h
        ),
        lambda s, w: s.get(Sku, w.sku_id).price_fen,  # type: ignore[union-attr]
    ),
    "adjust_stock": (
        lambda c, w, h: c.post(f"/api/admin/skus/{w.sku_id}/stock", json={"delta": 5}, headers=h),
        lambda s, w: s.get(Sku, w.sku_id).stock,  # type: ignore[union-attr]
    ),
    "create_category": (
        lambda c, w, h: c.post("/api/admin/categories", json={"name": "茶叶"}, headers=h),
        _count(Category),
    ),
    "list_orders": (lambda c, w, h: c.get("/api/admin/orders", headers=h), None),
    "ship_order": (
        lambda c, w, h: c.post(
            f"/api/admin/orders/{w.paid_order_id}/ship",
            json={"carrier": "顺丰", "tracking_no": "SF1234567890"},
            headers=h,
        ),
        lambda s, w: str(s.get(Order, w.paid_order_id).status),  # type: ignore[union-attr]
    ),
    "cancel_order": (
        lambda c, w, h: c.post(f"/api/admin/orders/{w.pending_order_id}/cancel", headers=h),
        lambda s, w: str(s.get(Order, w.pending_order_id).status),  # type: ignore[union-attr]
    ),
    "approve_aftersale": (
        lambda c, w, h: c.post(
            f"/api/admin/aftersales/{w.approve_aftersale_id}/approve", headers=h
        ),
        lambda s, w: str(s.get(AfterSale, w.approve_aftersale_id).status),  # type: ignore[union-attr]
    ),
    "reject_aftersale": (
        lambda c, w, h: c.post(
            f"/api/admin/aftersales/{w.reject_aftersale_id}/reject",
            json={"reason": "已发货"},
            headers=h,
        ),
        lambda s, w: str(s.get(AfterSale, w.reject_aftersale_id).status),  # type: ignore[union-attr]
    ),
    "list_operators": (lambda c, w, h: c.get("/api/admin/operators", headers=h), None),
    "create_operator": (
        lambda c, w, h: c.post(
            "/api/admin/operators",
            json={"username": "new-hire", "password": "new-hire-pass-2026", "role": "analyst"},
            headers=h,
        ),
        _count(Operator),
    ),
    "read_audit_log": (lambda c, w, h: c.get("/api/admin/audit-logs", headers=h), None),
    # Last: taking the product off sale must not get in the way of the others.
    "change_product_status": (
        lambda c, w, h: c.post(
            f"/api/admin/products/{w.product_id}/status", json={"status": "off_sale"}, headers=h
        ),
        lambda s, w: str(s.get(Product, w.product_id).status),  # type: ignore[union-attr]
    ),
}


def _read(ctx: Context, observe: Observe, world: World) -> object:
    with ctx.db.transaction() as session:
        return observe(session, world)


def _error_code(response: httpx.Response) -> str | None:
    if response.status_code < 400:
        return None
    return str(response.json()["error"]["code"])


def _saw_data(name: str, response: httpx.Response, world: World) -> bool:
    if response.status_code != 200:
        return False
    body = response.json()
    if name == "list_orders":
        return {o["id"] for o in body} >= {world.paid_order_id, world.pending_order_id}
    if name == "list_operators":
        return "the-owner" in {o["username"] for o in body}
    return "product.create" in {row["action"] for row in body}


@pytest.mark.parametrize("role", ROLES, ids=[r.value for r in ROLES])
def test_each_role_may_do_exactly_what_the_permission_matrix_allows_and_nothing_else(
    client: TestClient, ctx: Context, role: Role
) -> None:
    # given a store with something to act on for every action, and a user of this role
    world = build_world(client, ctx)
    actor = operator_headers(client, ctx, role)
    column = ROLES.index(role)

    # when the user tries every action
    outcomes: dict[str, tuple[int, str | None, bool]] = {}
    for name, (perform, observe) in ACTIONS.items():
        before = _read(ctx, observe, world) if observe else None
        response = perform(client, world, actor)
        if observe is None:
            effect = _saw_data(name, response, world)
        else:
            effect = _read(ctx, observe, world) != before
        outcomes[name] = (response.status_code, _error_code(response), effect)

    # then allowed actions succeed and take effect; forbidden ones are 403 and change nothing
    expected = {
        name: (SUCCESS_STATUS.get(name, 200), None, True)
        if allowed[column]
        else (403, "permission_denied", False)
        for name, allowed in MATRIX.items()
    }
    assert outcomes == expected


def test_a_support_user_cannot_change_a_price_and_the_price_stays(
    client: TestClient, ctx: Context
) -> None:
    # given a coffee at 59.00 and a support user
    owner = operator_headers(client, ctx)
    sku_id = create_product(client, owner)["skus"][0]["id"]
    support = operator_headers(client, ctx, Role.support)

    # when support sets the price to 0.01
    response = client.put(f"/api/admin/skus/{sku_id}/price", json={"price_fen": 1}, headers=support)

    # then it is refused, the price is unchanged and no price change was audited
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    with ctx.db.transaction() as session:
        assert session.get(Sku, sku_id).price_fen == 5900  # type: ignore[union-attr]
        actions = session.scalars(select(AuditLog.action)).all()
    assert "sku.price" not in actions


def test_admin_routes_without_a_token_are_401(client: TestClient) -> None:
    # when nobody logs in
    responses = [
        client.get("/api/admin/orders"),
        client.get("/api/admin/me"),
        client.post("/api/admin/categories", json={"name": "茶叶"}),
        client.get("/api/admin/orders", headers={"Authorization": "Bearer not-a-token"}),
    ]

    # then every answer is 401 with a clear code
    assert [(r.status_code, r.json()["error"]["code"]) for r in responses] == [
        (401, "login_required"),
        (401, "login_required"),
        (401, "login_required"),
        (401, "invalid_token"),
    ]


def test_a_shopper_token_does_not_open_the_console(client: TestClient, ctx: Context) -> None:
    # given a logged-in shopper
    shopper = shopper_headers(client)

    # when the shopper calls console routes with their token
    responses = [
        client.get("/api/admin/orders", headers=shopper),
        client.get("/api/admin/me", headers=shopper),
        client.post("/api/admin/categories", json={"name": "茶叶"}, headers=shopper),
    ]

    # then each is 401 invalid_token and nothing was created
    assert [(r.status_code, r.json()["error"]["code"]) for r in responses] == [
        (401, "invalid_token")
    ] * 3
    with ctx.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Category)) == 0


def test_an_operator_token_does_not_open_shopper_routes(client: TestClient, ctx: Context) -> None:
    # given an owner's console token
    owner = operator_headers(client, ctx)

    # when it is used on the shopper's own routes
    responses = [
        client.get("/api/app/me", headers=owner),
        client.get("/api/app/cart", headers=owner),
        client.get("/api/app/orders", headers=owner),
        client.get("/api/app/aftersales", headers=owner),
    ]

    # then each is 401 invalid_token
    assert [(r.status_code, r.json()["error"]["code"]) for r in responses] == [
        (401, "invalid_token")
    ] * 4


def test_disabling_an_operator_stops_their_existing_token(client: TestClient, ctx: Context) -> None:
    # given an operator who is logged in
    owner = operator_headers(client, ctx)
    staff = operator_headers(client, ctx, Role.operator, username="staff-1")
    me = client.get("/api/admin/me", headers=staff)
    assert me.status_code == 200

    # when the owner disables the account
    disabled = client.patch(
        f"/api/admin/operators/{me.json()['id']}", json={"is_active": False}, headers=owner
    )

    # then the old token no longer works and the password no longer logs in
    assert disabled.json()["is_active"] is False
    after = client.get("/api/admin/me", headers=staff)
    assert (after.status_code, after.json()["error"]["code"]) == (401, "invalid_token")
    login = client.post("/api/admin/login", json={"username": "staff-1", "password": PASSWORD})
    client.cookies.clear()
    assert (login.status_code, login.json()["error"]["code"]) == (403, "operator_disabled")


def test_changing_the_password_revokes_tokens_issued_before(
    client: TestClient, ctx: Context
) -> None:
    # given an operator logged in on two devices
    operator_headers(client, ctx, Role.operator, username="staff-2")
    second = client.post("/api/admin/login", json={"username": "staff-2", "password": PASSWORD})
    client.cookies.clear()
    device_b = {"Authorization": f"Bearer {second.json()['token']}"}
    device_a = operator_headers_from_login(client, "staff-2", PASSWORD)

    # when the password is changed from device A
    changed = client.post(
        "/api/admin/me/password",
        json={"old_password": PASSWORD, "new_password": "brand-new-pass-77"},
        headers=device_a,
    )

    # then both old tokens stop working and only the new password logs in
    assert changed.status_code == 204
    assert client.get("/api/admin/me", headers=device_a).status_code == 401
    assert client.get("/api/admin/me", headers=device_b).status_code == 401
    fresh = operator_headers_from_login(client, "staff-2", "brand-new-pass-77")
    assert client.get("/api/admin/me", headers=fresh).json()["username"] == "staff-2"
    old = client.post("/api/admin/login", json={"username": "staff-2", "password": PASSWORD})
    assert old.status_code == 401


def operator_headers_from_login(client: TestClient, username: str, password: str) -> dict[str, str]:
    response = client.post("/api/admin/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}
