"""Deleting a category: only one nothing uses; otherwise a 409 that says what holds it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from siyu.bootstrap import Context
from siyu.identity.rules import Role
from tests.helpers import create_product, operator_headers


def new_category(client: TestClient, admin: dict[str, str], name: str, **fields: object) -> int:
    response = client.post("/api/admin/categories", json={"name": name, **fields}, headers=admin)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def tree_ids(client: TestClient, admin: dict[str, str]) -> set[int]:
    found: set[int] = set()
    stack = list(client.get("/api/admin/categories", headers=admin).json())
    while stack:
        node = stack.pop()
        found.add(node["id"])
        stack.extend(node.get("children", []))
    return found


def test_an_unused_category_is_deleted_and_the_audit_log_keeps_it(
    client: TestClient, ctx: Context
) -> None:
    # given an empty category
    admin = operator_headers(client, ctx)
    cid = new_category(client, admin, "临时分类")

    # when the owner deletes it
    response = client.delete(f"/api/admin/categories/{cid}", headers=admin)

    # then it is gone, once, and the audit log has what it was
    assert response.status_code == 204, response.text
    assert cid not in tree_ids(client, admin)
    again = client.delete(f"/api/admin/categories/{cid}", headers=admin)
    assert again.status_code == 404
    logs = client.get(
        "/api/admin/audit-logs", params={"target_type": "category"}, headers=admin
    ).json()
    deleted = [log for log in logs if log["action"] == "category.delete"]
    assert len(deleted) == 1 and deleted[0]["before"]["name"] == "临时分类"
    assert deleted[0]["after"] is None


def test_a_category_in_use_is_kept_and_the_answer_says_what_holds_it(
    client: TestClient, ctx: Context
) -> None:
    # given a category with a sub-category, one with a product, one a coupon names
    admin = operator_headers(client, ctx)
    parent = new_category(client, admin, "美妆")
    child = new_category(client, admin, "口红", parent_id=parent)
    product = create_product(client, admin, on_sale=False)
    with_product = product["category_id"]
    scoped = new_category(client, admin, "面膜")
    coupon = client.post(
        "/api/admin/coupon-templates",
        json={
            "name": "面膜10元券",
            "kind": "cash_off",
            "amount_fen": 1000,
            "valid_days": 7,
            "scope_kind": "categories",
            "category_ids": [scoped],
        },
        headers=admin,
    )
    assert coupon.status_code == 201, coupon.text

    # when each is deleted, each is refused and kept
    for cid, reason in (
        (parent, "1 sub-categories"),
        (with_product, "1 products"),
        (scoped, "面膜10元券"),
    ):
        response = client.delete(f"/api/admin/categories/{cid}", headers=admin)
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "category_in_use"
        assert reason in response.json()["error"]["message"]
        assert cid in tree_ids(client, admin)

    # and once the child is gone, the parent can go too
    assert client.delete(f"/api/admin/categories/{child}", headers=admin).status_code == 204
    assert client.delete(f"/api/admin/categories/{parent}", headers=admin).status_code == 204


def test_only_catalog_writers_delete_categories(client: TestClient, ctx: Context) -> None:
    owner = operator_headers(client, ctx)
    cid = new_category(client, owner, "不可删")
    for role in (Role.support, Role.analyst):
        headers = operator_headers(client, ctx, role)
        assert client.delete(f"/api/admin/categories/{cid}", headers=headers).status_code == 403
    assert client.delete(f"/api/admin/categories/{cid}").status_code == 401
    assert cid in tree_ids(client, owner)


def test_offer_scopes_are_rows_the_database_protects(client: TestClient, ctx: Context) -> None:
    # given a promotion on two categories with one product left out
    admin = operator_headers(client, ctx)
    kept, dropped = new_category(client, admin, "精华"), new_category(client, admin, "眼霜")
    first = create_product(client, admin, on_sale=False)
    second = create_product(client, admin, on_sale=False)
    body = {
        "name": "护肤满减",
        "kind": "full_reduction",
        "tiers": [{"threshold_fen": 10000, "amount_fen": 1000}],
        "starts_at": "2026-12-01T00:00:00Z",
        "ends_at": "2026-12-31T00:00:00Z",
        "scope_kind": "categories",
        "category_ids": [kept, dropped],
        "excluded_product_ids": [first["id"]],
    }
    created = client.post("/api/admin/promotions", json=body, headers=admin)
    assert created.status_code == 201, created.text
    promotion_id = created.json()["id"]

    # then the scope is one row per target, and the database itself refuses to delete
    # a category a row names, whoever asks
    with ctx.db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT role, category_id, product_id FROM offer_scopes "
                "WHERE promotion_id = :p ORDER BY role, position"
            ),
            {"p": promotion_id},
        ).all()
    assert [tuple(r) for r in rows] == [
        ("category", kept, None),
        ("category", dropped, None),
        ("excluded", None, first["id"]),
    ]
    with pytest.raises(IntegrityError), ctx.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM categories WHERE id = :c"), {"c": dropped})

    # when the operator narrows the scope to one category and then to two products
    narrowed = client.patch(
        f"/api/admin/promotions/{promotion_id}", json={"category_ids": [kept]}, headers=admin
    )
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["category_ids"] == [kept]

    # then the category it no longer names can be deleted, the other cannot
    assert client.delete(f"/api/admin/categories/{dropped}", headers=admin).status_code == 204
    assert client.delete(f"/api/admin/categories/{kept}", headers=admin).status_code == 409
    to_products = client.patch(
        f"/api/admin/promotions/{promotion_id}",
        json={"scope_kind": "products", "product_ids": [second["id"], first["id"]]},
        headers=admin,
    )
    assert to_products.status_code == 200, to_products.text
    assert to_products.json()["product_ids"] == [second["id"], first["id"]]
    assert to_products.json()["category_ids"] == []
    assert client.delete(f"/api/admin/categories/{kept}", headers=admin).status_code == 204
