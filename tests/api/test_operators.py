"""Operator accounts through the HTTP API: argon2 passwords, login rate limiting, the
audit trail of every console write, the last owner, weak passwords."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.bootstrap import Context
from siyu.clock import FrozenClock
from siyu.errors import InvalidInput
from siyu.identity.models import Operator
from siyu.identity.operators import create_operator, update_operator
from siyu.identity.rules import Role
from tests.helpers import PASSWORD, create_product, operator_headers, place_order, shopper_headers


def login(client: TestClient, username: str, password: str) -> tuple[int, str | None]:
    response = client.post("/api/admin/login", json={"username": username, "password": password})
    client.cookies.clear()
    code = response.json()["error"]["code"] if response.status_code >= 400 else None
    return response.status_code, code


def operator_count(ctx: Context) -> int:
    with ctx.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Operator)) or 0


def test_an_operator_created_by_the_owner_logs_in_with_an_argon2_hashed_password(
    client: TestClient, ctx: Context
) -> None:
    # given an owner who creates an analyst account
    owner = operator_headers(client, ctx)
    created = client.post(
        "/api/admin/operators",
        json={"username": "Data.Lin", "password": "spreadsheet-2026", "role": "analyst"},
        headers=owner,
    )
    assert created.status_code == 201, created.text

    # when the analyst logs in (usernames are case-insensitive)
    response = client.post(
        "/api/admin/login", json={"username": "data.lin", "password": "spreadsheet-2026"}
    )
    client.cookies.clear()

    # then the login succeeds with the analyst's permissions, and only a hash is stored
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["operator"]["username"], body["operator"]["role"]) == ("data.lin", "analyst")
    assert body["permissions"] == [
        "aftersale.read",
        "analytics.read",
        "catalog.read",
        "marketing.read",
        "order.read",
        "shopper.read",
    ]
    with ctx.db.transaction() as session:
        stored = session.scalar(select(Operator).where(Operator.username == "data.lin"))
        assert stored is not None
        assert stored.password_hash.startswith("$argon2")
        assert "spreadsheet-2026" not in stored.password_hash
        assert stored.last_login_at == ctx.clock.now()


def test_a_wrong_password_or_unknown_user_is_401_with_the_same_answer(
    client: TestClient, ctx: Context
) -> None:
    # given an operator
    operator_headers(client, ctx, Role.operator, username="staff")

    # when someone tries a wrong password and an unknown user
    wrong = client.post("/api/admin/login", json={"username": "staff", "password": "nope-123456"})
    unknown = client.post("/api/admin/login", json={"username": "ghost", "password": PASSWORD})

    # then both are 401 bad_credentials, indistinguishable
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "bad_credentials"


def test_after_five_failures_even_the_right_password_waits_out_the_window(
    client: TestClient, ctx: Context, clock: FrozenClock
) -> None:
    # given an operator whose password someone is guessing
    operator_headers(client, ctx, Role.operator, username="staff")
    failures = [login(client, "staff", f"guess-{i}-abcdef") for i in range(5)]
    assert failures == [(401, "bad_credentials")] * 5

    # when the real operator then logs in with the right password
    sixth = login(client, "staff", PASSWORD)

    # then it is refused until the 15-minute window has passed, and then accepted
    assert sixth == (429, "too_many_login_attempts")
    clock.advance(timedelta(minutes=15))
    assert login(client, "staff", PASSWORD) == (429, "too_many_login_attempts")
    clock.advance(timedelta(seconds=1))
    assert login(client, "staff", PASSWORD) == (200, None)


def test_every_console_write_is_audited_with_who_what_and_before_after(
    client: TestClient, ctx: Context
) -> None:
    # given an owner, a coffee on sale (3 audited writes) and a shopper with orders
    owner = operator_headers(client, ctx, username="boss")
    owner_id = client.get("/api/admin/me", headers=owner).json()["id"]
    product = create_product(client, owner)
    product_id, category_id = product["id"], product["category_id"]
    sku_id = product["skus"][0]["id"]
    shopper = shopper_headers(client)
    paid_ids = []
    for _ in range(3):
        order_id = place_order(client, shopper, sku_id).json()["id"]
        client.post(f"/api/app/orders/{order_id}/pay", headers=shopper)
        client.post(f"/api/app/orders/{order_id}/sandbox-pay", headers=shopper)
        paid_ids.append(order_id)
    pending_id = place_order(client, shopper, sku_id).json()["id"]
    aftersale_ids = [
        client.post(
            "/api/app/aftersales",
            json={"order_id": order_id, "kind": "refund_only", "reason": "不要了"},
            headers=shopper,
        ).json()["id"]
        for order_id in paid_ids[1:]
    ]

    # when the owner makes one of every kind of write
    writes = [
        client.patch(
            f"/api/admin/categories/{category_id}", json={"name": "精品咖啡"}, headers=owner
        ),
        client.patch(
            f"/api/admin/products/{product_id}", json={"subtitle": "新产季"}, headers=owner
        ),
        client.post(
            f"/api/admin/products/{product_id}/skus",
            json={"spec": {"烘焙": "浅度"}, "price_fen": 7900, "stock": 3},
            headers=owner,
        ),
        client.patch(
            f"/api/admin/skus/{sku_id}", json={"image_url": "https://img/x.jpg"}, headers=owner
        ),
        client.put(f"/api/admin/skus/{sku_id}/price", json={"price_fen": 4900}, headers=owner),
        client.post(
            f"/api/admin/skus/{sku_id}/stock", json={"delta": -2, "reason": "破损"}, headers=owner
        ),
        client.post(
            f"/api/admin/orders/{paid_ids[0]}/ship",
            json={"carrier": "顺丰", "tracking_no": "SF1234567890"},
            headers=owner,
        ),
        client.post(f"/api/admin/orders/{pending_id}/cancel", headers=owner),
        client.post(f"/api/admin/aftersales/{aftersale_ids[0]}/approve", headers=owner),
        client.post(
            f"/api/admin/aftersales/{aftersale_ids[1]}/reject",
            json={"reason": "已过期"},
            headers=owner,
        ),
        client.post(
            "/api/admin/operators",
            json={"username": "helper", "password": "helper-pass-2026", "role": "support"},
            headers=owner,
        ),
    ]
    helper_id = writes[-1].json()["id"]
    writes.append(
        client.patch(f"/api/admin/operators/{helper_id}", json={"role": "analyst"}, headers=owner)
    )
    writes.append(
        client.post(
            "/api/admin/me/password",
            json={"old_password": PASSWORD, "new_password": "boss-new-pass-99"},
            headers=owner,
        )
    )
    statuses = [w.status_code for w in writes]
    assert statuses == [200, 200, 201, 200, 200, 200, 200, 200, 200, 200, 201, 200, 204]

    # then the audit log holds one row per write, each naming the owner
    owner = operator_headers(client, ctx, username="auditor")  # password change revoked "boss"
    rows = client.get("/api/admin/audit-logs", params={"limit": 200}, headers=owner).json()
    trail = [(r["operator_id"], r["action"], r["target_type"]) for r in reversed(rows)]
    assert trail == [
        (owner_id, "category.create", "category"),
        (owner_id, "product.create", "product"),
        (owner_id, "product.status", "product"),
        (owner_id, "category.update", "category"),
        (owner_id, "product.update", "product"),
        (owner_id, "sku.create", "sku"),
        (owner_id, "sku.update", "sku"),
        (owner_id, "sku.price", "sku"),
        (owner_id, "sku.stock", "sku"),
        (owner_id, "order.ship", "order"),
        (owner_id, "order.cancel", "order"),
        (owner_id, "aftersale.approve", "aftersale"),
        (owner_id, "aftersale.reject", "aftersale"),
        (owner_id, "operator.create", "operator"),
        (owner_id, "operator.update", "operator"),
        (owner_id, "operator.change_password", "operator"),
    ]
    by_action = {r["action"]: r for r in rows}
    price = by_action["sku.price"]
    assert (price["target_id"], price["before"]["price_fen"], price["after"]["price_fen"]) == (
        str(sku_id),
        5900,
        4900,
    )
    stock = by_action["sku.stock"]
    # 10 on the shelf, 4 reserved by the orders (the cancel comes after), 2 written off
    assert (stock["before"]["stock"], stock["after"]["stock"], stock["after"]["reason"]) == (
        6,
        4,
        "破损",
    )
    role_change = by_action["operator.update"]
    assert (role_change["before"]["role"], role_change["after"]["role"]) == ("support", "analyst")
    assert by_action["category.update"]["after"]["name"] == "精品咖啡"
    assert by_action["order.ship"]["after"] == {
        "status": "shipped",
        "carrier": "顺丰",
        "tracking_no": "SF1234567890",
    }


def test_the_only_owner_cannot_demote_or_disable_themselves(
    client: TestClient, ctx: Context
) -> None:
    # given a store with one owner
    owner = operator_headers(client, ctx, username="solo")
    owner_id = client.get("/api/admin/me", headers=owner).json()["id"]

    # when the owner tries to become an operator, or to switch the account off
    demote = client.patch(
        f"/api/admin/operators/{owner_id}", json={"role": "operator"}, headers=owner
    )
    disable = client.patch(
        f"/api/admin/operators/{owner_id}", json={"is_active": False}, headers=owner
    )

    # then both are refused and the account is still an active owner
    assert (demote.status_code, demote.json()["error"]["code"]) == (422, "cannot_demote_self")
    assert (disable.status_code, disable.json()["error"]["code"]) == (422, "cannot_demote_self")
    me = client.get("/api/admin/me", headers=owner).json()
    assert (me["role"], me["is_active"]) == ("owner", True)


@pytest.mark.parametrize(
    "change", [{"role": Role.operator}, {"is_active": False}], ids=["demote", "disable"]
)
def test_the_last_active_owner_cannot_be_demoted_or_disabled_by_anyone(
    ctx: Context, change: dict[str, object]
) -> None:
    # given one owner and an operator acting on the owner's account
    with ctx.db.transaction() as session:
        owner = create_operator(
            session,
            username="only-owner",
            display_name="",
            password=PASSWORD,
            role=Role.owner,
            now=ctx.clock.now(),
        )
        actor = create_operator(
            session,
            username="staff",
            display_name="",
            password=PASSWORD,
            role=Role.operator,
            now=ctx.clock.now(),
        )
        owner_id, actor_id = owner.id, actor.id

    # when the change is attempted
    with pytest.raises(InvalidInput) as refused, ctx.db.transaction() as session:
        update_operator(
            session,
            actor_id=actor_id,
            operator_id=owner_id,
            role=change.get("role"),  # type: ignore[arg-type]
            is_active=change.get("is_active"),  # type: ignore[arg-type]
            display_name=None,
            now=ctx.clock.now(),
        )

    # then it is refused as last_owner and nothing changed
    assert refused.value.code == "last_owner"
    with ctx.db.transaction() as session:
        stored = session.get(Operator, owner_id)
        assert stored is not None
        assert (stored.role, stored.is_active, stored.token_version) == (Role.owner, True, 0)


@pytest.mark.parametrize(
    "password",
    ["short-1", "no-digits-in-here", "1234567890123"],
    ids=["short", "letters", "digits"],
)
def test_a_weak_password_is_refused_for_a_new_operator(
    client: TestClient, ctx: Context, password: str
) -> None:
    # given an owner
    owner = operator_headers(client, ctx)

    # when the owner creates an account with a weak password
    response = client.post(
        "/api/admin/operators",
        json={"username": "weakling", "password": password, "role": "support"},
        headers=owner,
    )

    # then it is 422 weak_password naming the field, and no account exists
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "weak_password"
    assert response.json()["error"]["fields"] == {"password": "weak"}
    assert operator_count(ctx) == 1


def test_a_weak_new_password_is_refused_and_the_old_one_still_works(
    client: TestClient, ctx: Context
) -> None:
    # given a logged-in operator
    staff = operator_headers(client, ctx, Role.operator, username="staff")

    # when they change to a weak password
    response = client.post(
        "/api/admin/me/password",
        json={"old_password": PASSWORD, "new_password": "password"},
        headers=staff,
    )

    # then it is refused, the session survives and the old password still logs in
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"new_password": "weak"}
    assert client.get("/api/admin/me", headers=staff).status_code == 200
    assert login(client, "staff", PASSWORD) == (200, None)
