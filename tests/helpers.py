"""Small helpers shared by tests: log people in, build a product, place orders, and\nwrite analytics events straight into a test store (``insert_events``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from siyu.analytics.store import AnalyticsStore
from siyu.bootstrap import Context
from siyu.events import CATALOG
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


# --- analytics events -----------------------------------------------------------------

EVENT_COLUMNS = (
    "event_id",
    "event",
    "anonymous_id",
    "shopper_id",
    "timestamp",
    "client_time",
    "received_at",
    "page",
    "channel",
    "channel_code",
    "properties",
    "source",
    "amount_fen",
    "order_id",
)
SERVER_EVENTS = frozenset(spec.name for spec in CATALOG if spec.source == "server")


def ch_time(at: datetime) -> str:
    """A UTC DateTime64(3) literal for inserts."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _field(event: object, name: str, default: Any) -> Any:
    if isinstance(event, Mapping):
        return event.get(name, default)
    return getattr(event, name, default)


def event_row(event: object) -> tuple[object, ...]:
    """One ``events`` row (in ``EVENT_COLUMNS`` order) from a dict or an object with some
    of the attributes ``event``, ``at`` (an aware datetime), ``anonymous_id``,
    ``shopper_id``, ``page``, ``channel``, ``channel_code``, ``properties`` (a dict or a
    JSON string), ``source``, ``amount_fen``, ``order_id`` and ``event_id``. Missing ones
    take the table's defaults; the event id is random and the source is ``server`` for
    the catalog's server facts, else ``client``."""
    name = str(_field(event, "event", ""))
    ts = ch_time(_field(event, "at", None))
    properties = _field(event, "properties", None) or {}
    default_source = "server" if name in SERVER_EVENTS else "client"
    return (
        _field(event, "event_id", None) or uuid.uuid4().hex,
        name,
        _field(event, "anonymous_id", ""),
        _field(event, "shopper_id", 0),
        ts,
        ts,
        ts,
        _field(event, "page", ""),
        _field(event, "channel", ""),
        _field(event, "channel_code", ""),
        properties if isinstance(properties, str) else json.dumps(properties),
        _field(event, "source", None) or default_source,
        _field(event, "amount_fen", 0),
        _field(event, "order_id", 0),
    )


def insert_events(
    store: AnalyticsStore, events: Iterable[object], links: Mapping[str, int] | None = None
) -> None:
    """Write ``events`` (see :func:`event_row`) straight into the test's analytics store,
    and ``links`` (device → shopper) into ``person_links``."""
    rows = [event_row(e) for e in events]
    if rows:
        store.insert("events", list(EVENT_COLUMNS), rows)
    if links:
        store.insert(
            "person_links",
            ["anonymous_id", "shopper_id", "linked_at"],
            [(anon, shopper, "2026-01-01 00:00:00.000") for anon, shopper in links.items()],
        )


def event_dict(
    name: str,
    anon: str,
    at: datetime,
    *,
    shopper: int = 0,
    channel: str = "",
    amount: int = 0,
    order: int = 0,
    page: str = "",
) -> dict[str, object]:
    """One hand-built analytics event, as :func:`insert_events` takes it."""
    return {
        "event": name, "anonymous_id": anon, "at": at, "shopper_id": shopper,
        "channel": channel, "amount_fen": amount, "order_id": order, "page": page,
    }  # fmt: skip
