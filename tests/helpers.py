"""Small API helpers shared by tests: log people in, build a product, place orders."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.identity.operators import create_operator
from siyu.identity.rules import Role

ADDRESS = {
    "name": "张三",
    "phone": "13800138000",
    "province": "上海市",
    "city": "上海市",
    "district": "浦东新区",
    "detail": "世纪大道 100 号",
}
PASSWORD = "correct-horse-9battery"


def shopper_headers(client: TestClient, code: str = "alice", **login: Any) -> dict[str, str]:
    response = client.post(
        "/api/app/login",
        json={"code": code, **login},
        headers={"X-Siyu-Anonymous-Id": f"dev-{code}-00000000"},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def operator_headers(
    client: TestClient, ctx: Context, role: Role = Role.owner, username: str | None = None
) -> dict[str, str]:
    username = username or f"{role.value}-{uuid.uuid4().hex[:6]}"
    with ctx.db.transaction() as session:
        create_operator(
            session,
            username=username,
            display_name=username,
            password=PASSWORD,
            role=role,
            now=ctx.clock.now(),
        )
    response = client.post("/api/admin/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def create_product(
    client: TestClient,
    admin: dict[str, str],
    *,
    title: str = "云南小粒咖啡豆 500g",
    skus: list[dict[str, Any]] | None = None,
    role: str = "traffic",
    on_sale: bool = True,
) -> dict[str, Any]:
    category = client.post(
        "/api/admin/categories", json={"name": f"咖啡-{uuid.uuid4().hex[:4]}"}, headers=admin
    )
    assert category.status_code == 201, category.text
    body = {
        "category_id": category.json()["id"],
        "title": title,
        "role": role,
        "image_urls": ["https://img.example.com/coffee.jpg"],
        "skus": skus
        or [
            {"spec": {"烘焙": "中度"}, "price_fen": 5900, "stock": 10},
            {"spec": {"烘焙": "深度"}, "price_fen": 6900, "stock": 10},
        ],
    }
    product = client.post("/api/admin/products", json=body, headers=admin)
    assert product.status_code == 201, product.text
    if on_sale:
        changed = client.post(
            f"/api/admin/products/{product.json()['id']}/status",
            json={"status": "on_sale"},
            headers=admin,
        )
        assert changed.status_code == 200, changed.text
        return dict(changed.json())
    return dict(product.json())


def place_order(
    client: TestClient,
    shopper: dict[str, str],
    sku_id: int,
    quantity: int = 1,
    key: str | None = None,
) -> Any:
    return client.post(
        "/api/app/orders",
        json={"items": [{"sku_id": sku_id, "quantity": quantity}], "address": ADDRESS},
        headers=shopper | {"Idempotency-Key": key or str(uuid.uuid4())},
    )
