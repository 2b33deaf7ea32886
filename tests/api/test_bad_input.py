"""Bad input never gets a 500 and never half-writes: a sweep over every route in the
OpenAPI document, then targeted cases for the rules that matter most."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.bootstrap import Context
from siyu.catalog.models import Product, Sku
from siyu.config import Settings
from siyu.coupon.schemas import NULLABLE as NULLABLE_TEMPLATE_FIELDS
from siyu.identity.models import AuditLog
from siyu.identity.rules import Role
from siyu.loyalty.tiers.rules import DEFAULT_TIERS
from siyu.models import metadata
from siyu.order.models import Order
from siyu.outbox import OutboxEvent
from tests.helpers import (
    ADDRESS,
    PASSWORD,
    create_product,
    operator_headers,
    place_order,
    shopper_headers,
)

HUGE = 10**30  # past every 64-bit column
PROMOTION = {
    "name": "满199减30",
    "kind": "full_reduction",
    "tiers": [{"threshold_fen": 19900, "amount_fen": 3000}],
    "starts_at": "2026-11-01T00:00:00+08:00",
    "ends_at": "2026-12-31T00:00:00+08:00",
}
UNKNOWN_ID = 987654


def assert_error_shape(body: Any) -> None:
    error = body["error"]
    # quote_changed also carries the new quote, so the shopper can review it
    extra = {"quote"} if error.get("code") == "quote_changed" else set()
    assert set(error) == {"code", "message", "fields"} | extra
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)


def snapshot(ctx: Context) -> dict[str, list[str]]:
    """Every row of every table. A shopper login is a write by design (its event is
    left out: the sweep's login attempts that succeed are the documented ones)."""
    rows: dict[str, list[str]] = {}
    with ctx.db.engine.connect() as conn:
        for table in metadata.sorted_tables:
            stmt = table.select()
            if table.name == OutboxEvent.__tablename__:
                stmt = stmt.where(table.c.event_type != "shopper.logged_in")
            rows[table.name] = sorted(repr(tuple(r)) for r in conn.execute(stmt))
    return rows


# ---------------------------------------------------------------- the sweep

# Routes that take no input at all: nothing to get wrong.
NO_INPUT = {
    ("GET", "/api/app/me"),
    ("GET", "/api/app/categories"),
    ("GET", "/api/app/cart"),
    ("GET", "/api/app/points"),
    ("GET", "/api/app/checkin"),
    ("POST", "/api/app/checkin"),
    ("GET", "/api/app/lottery-draws"),
    ("GET", "/api/app/lottery"),
    ("GET", "/api/app/mall/items"),
    ("GET", "/api/app/mall/exchanges"),
    ("GET", "/api/admin/checkin/rule"),
    ("GET", "/api/app/addresses"),
    ("GET", "/api/app/regions"),
    ("GET", "/api/app/aftersales"),
    ("GET", "/api/admin/me"),
    ("GET", "/api/admin/operators"),
    ("GET", "/api/admin/roles"),
    ("GET", "/api/admin/categories"),
    ("POST", "/api/admin/logout"),
    ("GET", "/api/health"),
    ("GET", "/api/app/coupons/center"),
    ("GET", "/api/app/coupons/gift"),
    ("POST", "/api/app/coupons/gift/seen"),
    ("GET", "/api/admin/coupon-templates"),
    ("GET", "/api/admin/promotions"),
    ("GET", "/api/app/member/card"),
    ("GET", "/api/app/member/day"),
    ("GET", "/api/admin/member-tiers"),
    ("GET", "/api/admin/group-buy"),
    ("GET", "/api/app/flash-sales"),
    ("GET", "/api/admin/flash-sales"),
    ("GET", "/api/admin/points/rules"),
    ("GET", "/api/admin/rising-price"),
    ("GET", "/api/admin/bargains"),
    ("GET", "/api/app/bargains/mine"),
    ("GET", "/api/admin/cues/settings"),
}
# Body fields where null is a meaningful value (absent, "move to the root", "clear").
NULL_ALLOWED = {
    "LoginRequest": {"scene", "qr_scene", "sharer_id", "nickname"},
    "OperatorUpdate": {"role", "is_active", "display_name"},
    "CategoryCreate": {"parent_id"},
    "CategoryUpdate": {"parent_id"},
    "SkuIn": {"original_price_fen", "cost_fen", "sku_code"},
    "SkuUpdate": {"original_price_fen", "cost_fen"},
    "PlaceOrder": {"cart_item_ids", "coupon_ids", "expected_total_fen", "address", "address_id"},
    "AddressIn": {"postal_code"},
    "TierIn": {"free_shipping_threshold_fen", "birthday_coupon_template_id"},
    "AddressCreate": {"postal_code"},
    "AddressUpdate": {"postal_code"},
    "TemplateCreate": set(NULLABLE_TEMPLATE_FIELDS),
    "TemplateFields": set(NULLABLE_TEMPLATE_FIELDS),
    "AfterSaleCreate": {"lines"},
    "DayRewardIn": {"coupon_template_id"},
    "PrizeIn": {"stock", "fallback_position", "coupon_template_id", "sku_id"},
    "ItemIn": {"coupon_template_id", "sku_id"},
    "JoinIn": {"address", "address_id", "sharer_id"},
    "BuyIn": {"address", "address_id"},
    "PointsRulesIn": {"expiry_years"},
    "RisingPriceBuyIn": {"address", "address_id", "expected_unit_price_fen"},
    "BargainBuyIn": {"address", "address_id"},
}
# Entry attribution is best effort (identity/rules.py): a nonsense scene or sharer is
# dropped and the shopper still gets in.
IGNORED_WHEN_OUT_OF_RANGE = {"LoginRequest": {"scene", "sharer_id"}}
# One of two: a bad value for one is sent without the other.
EXCLUSIVE = {"PlaceOrder": {"cart_item_ids": "items"}}
# Batches whose bad items are reported one by one in a 200 (tracking/api.py).
REPORTED_PER_ITEM = {("POST", "/api/track")}


@dataclass(frozen=True)
class World:
    owner: dict[str, str]
    shopper: dict[str, str]
    ids: dict[str, int | str]
    bodies: dict[tuple[str, str], dict[str, Any]]


LOTTERY = {
    "name": "抽奖", "cost_points": 10, "daily_limit": 1,
    "starts_at": "2026-11-01T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z",
    "prizes": [{"name": "谢谢参与", "kind": "thanks", "weight_ppm": 1_000_000}],
}  # fmt: skip
FLASH_SALE = {
    "name": "10点秒杀", "starts_at": "2026-11-02T10:00:00+08:00",
    "ends_at": "2026-11-02T10:30:00+08:00",
}  # fmt: skip
RISING_PRICE = {
    "name": "阶梯涨价", "base_price_fen": 50, "base_units": 10, "step_percent": 10,
    "cap_price_fen": 100, "starts_at": "2026-11-01T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z",
}  # fmt: skip
BARGAIN = {
    "name": "砍价", "floor_price_fen": 10, "helpers_needed": 3,
    "starts_at": "2026-11-01T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z",
}  # fmt: skip
GROUP_BUY = {
    "name": "拼团", "tiers": [{"size": 2, "price_fen": 100}],
    "starts_at": "2026-11-01T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z",
}  # fmt: skip


def build_world(client: TestClient, ctx: Context) -> World:
    owner = operator_headers(client, ctx, username="sweep-owner")
    analyst = operator_headers(client, ctx, Role.analyst, username="sweep-analyst")
    analyst_id = client.get("/api/admin/me", headers=analyst).json()["id"]
    product = create_product(client, owner)
    sku_id, category_id = product["skus"][0]["id"], product["category_id"]
    shopper = shopper_headers(client, "sweeper")
    cart = client.post("/api/app/cart/items", json={"sku_id": sku_id}, headers=shopper).json()
    order_id = place_order(client, shopper, product["skus"][1]["id"]).json()["id"]
    address = client.post("/api/app/addresses", json=ADDRESS, headers=shopper)
    assert address.status_code == 201, address.text
    channel = client.post(
        "/api/admin/channels",
        json={"code": "SWEEP1", "name": "扫码海报", "group": "qr"},
        headers=owner,
    )
    assert channel.status_code == 201, channel.text
    template = client.post(
        "/api/admin/coupon-templates",
        json={
            "name": "满100减20",
            "kind": "cash_off",
            "threshold_fen": 10000,
            "amount_fen": 2000,
            "valid_days": 7,
        },
        headers=owner,
    )
    assert template.status_code == 201, template.text
    promotion = client.post("/api/admin/promotions", json=PROMOTION, headers=owner)
    assert promotion.status_code == 201, promotion.text
    ids: dict[str, int | str] = {
        "template_id": template.json()["id"],
        "promotion_id": promotion.json()["id"],
        "channel_id": channel.json()["id"],
        "day": "2026-11-01",
        "product_id": product["id"],
        "sku_id": sku_id,
        "category_id": category_id,
        "item_id": cart["lines"][0]["item_id"],
        "order_id": order_id,
        "address_id": address.json()["id"],
        "operator_id": analyst_id,
        "shopper_id": client.get("/api/app/me", headers=shopper).json()["id"],
        "aftersale_id": UNKNOWN_ID,
        "provider_name": "nope",
        "campaign_id": UNKNOWN_ID,
        "mall_item_id": UNKNOWN_ID,
        "group_id": UNKNOWN_ID,
        "session_id": UNKNOWN_ID,
        "exchange_id": UNKNOWN_ID,
        "bargain_id": UNKNOWN_ID,
    }
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/api/app/login"): {"code": "sweeper"},
        ("POST", "/api/app/me/phone"): {"code": "13900139000"},
        ("PATCH", "/api/app/me"): {
            "nickname": "扫描者",
            "avatar_url": "https://img.example.com/s.png",
        },
        ("POST", "/api/admin/login"): {"username": "sweep-owner", "password": PASSWORD},
        ("POST", "/api/admin/me/password"): {
            "old_password": PASSWORD,
            "new_password": "sweep-new-pass-1",
        },
        ("POST", "/api/admin/operators"): {
            "username": "sweep-new",
            "password": "sweep-new-pass-1",
            "role": "analyst",
        },
        ("PATCH", "/api/admin/operators/{operator_id}"): {"display_name": "新名字"},
        ("POST", "/api/admin/categories"): {"name": "新分类"},
        ("POST", "/api/admin/channels"): {"code": "SWEEP2", "name": "公众号菜单", "group": "qr"},
        ("PATCH", "/api/admin/channels/{channel_id}"): {"name": "改名"},
        ("PUT", "/api/admin/channels/{channel_id}/spend/{day}"): {"amount_fen": 1000},
        ("PATCH", "/api/admin/categories/{category_id}"): {"name": "改名"},
        ("POST", "/api/admin/products"): {
            "category_id": category_id,
            "title": "新品",
            "role": "profit",
            "skus": [{"price_fen": 100}],
        },
        ("PATCH", "/api/admin/products/{product_id}"): {"title": "改名"},
        ("POST", "/api/admin/products/{product_id}/status"): {"status": "off_sale"},
        ("POST", "/api/admin/products/{product_id}/skus"): {
            "spec": {"烘焙": "浅度"},
            "price_fen": 100,
        },
        ("PATCH", "/api/admin/skus/{sku_id}"): {"image_url": "https://img/x.jpg"},
        ("PUT", "/api/admin/skus/{sku_id}/price"): {"price_fen": 100},
        ("POST", "/api/admin/skus/{sku_id}/stock"): {"delta": 1},
        ("POST", "/api/app/cart/items"): {"sku_id": sku_id, "quantity": 1},
        ("PATCH", "/api/app/cart/items/{item_id}"): {"quantity": 2},
        ("POST", "/api/app/addresses"): {**ADDRESS, "postal_code": "200120"},
        ("PATCH", "/api/app/addresses/{address_id}"): {"detail": "世纪大道 200 号"},
        ("POST", "/api/app/orders"): {
            "items": [{"sku_id": sku_id, "quantity": 1}],
            "address": ADDRESS,
        },
        ("POST", "/api/admin/coupon-templates"): {
            "name": "无门槛5元",
            "kind": "cash_off",
            "amount_fen": 500,
            "valid_days": 7,
        },
        ("PATCH", "/api/admin/coupon-templates/{template_id}"): {"description": "新人专享"},
        ("POST", "/api/admin/coupon-templates/{template_id}/status"): {"status": "paused"},
        ("POST", "/api/admin/coupon-templates/{template_id}/issue"): {
            "shopper_ids": [1],
            "batch_key": "sweep",
        },
        ("POST", "/api/admin/promotions"): PROMOTION,
        ("PATCH", "/api/admin/promotions/{promotion_id}"): {"name": "改名"},
        ("POST", "/api/admin/promotions/{promotion_id}/status"): {"status": "paused"},
        ("POST", "/api/admin/orders/{order_id}/ship"): {
            "carrier": "顺丰",
            "tracking_no": "SF1234567890",
        },
        ("POST", "/api/app/aftersales"): {
            "order_id": order_id,
            "kind": "refund_only",
            "reason": "不要了",
        },
        ("POST", "/api/admin/aftersales/{aftersale_id}/reject"): {"reason": "不行"},
        ("POST", "/api/admin/shoppers/{shopper_id}/points/adjustments"): {
            "delta": 10,
            "reason": "补偿",
            "request_id": "sweep-adjust-0001",
        },
        ("PUT", "/api/app/member/birthday"): {"birthday": "1995-11-03"},
        ("PUT", "/api/admin/member-tiers"): {"tiers": [asdict(t) for t in DEFAULT_TIERS]},
        ("POST", "/api/app/checkin/makeup"): {"day": "2026-11-01"},
        ("PUT", "/api/admin/checkin/rule"): {"rewards": [{"points": 5}]},
        ("PUT", "/api/admin/points/rules"): {
            "earn_per_yuan": 2,
            "expiry_years": 1,
            "signup_reward": 100,
        },
        ("POST", "/api/admin/lottery"): LOTTERY,
        ("PUT", "/api/admin/lottery/{campaign_id}"): LOTTERY,
        ("POST", "/api/admin/mall/items"): {
            "name": "券",
            "kind": "coupon",
            "points_price": 100,
            "coupon_template_id": template.json()["id"],
        },  # fmt: skip
        ("PUT", "/api/admin/mall/items/{mall_item_id}"): {
            "name": "券",
            "kind": "coupon",
            "points_price": 100,
            "coupon_template_id": template.json()["id"],
        },  # fmt: skip
        ("POST", "/api/admin/group-buy"): GROUP_BUY | {"sku_id": sku_id},
        ("PUT", "/api/admin/group-buy/{campaign_id}"): GROUP_BUY | {"sku_id": sku_id},
        ("POST", "/api/admin/group-buy/{campaign_id}/status"): {"status": "paused"},
        ("POST", "/api/app/group-buy/{campaign_id}/groups"): {"address": ADDRESS},
        ("POST", "/api/app/group-buy/groups/{group_id}/members"): {"address": ADDRESS},
        ("POST", "/api/admin/flash-sales"): FLASH_SALE
        | {"items": [{"sku_id": sku_id, "sale_price_fen": 100, "quantity": 10}]},
        ("PUT", "/api/admin/flash-sales/{session_id}"): FLASH_SALE,
        ("POST", "/api/admin/flash-sales/{session_id}/items"): {
            "sku_id": sku_id,
            "sale_price_fen": 100,
            "quantity": 10,
        },  # fmt: skip
        ("PUT", "/api/admin/flash-sales/{session_id}/items/{item_id}"): {
            "sale_price_fen": 100,
            "quantity": 10,
        },  # fmt: skip
        ("POST", "/api/app/flash-sales/items/{item_id}/buy"): {"address": ADDRESS},
        ("POST", "/api/admin/rising-price"): RISING_PRICE | {"sku_id": sku_id},
        ("PUT", "/api/admin/rising-price/{campaign_id}"): RISING_PRICE | {"sku_id": sku_id},
        ("POST", "/api/app/rising-price/{campaign_id}/buy"): {"address": ADDRESS},
        ("POST", "/api/admin/bargains"): BARGAIN | {"sku_id": sku_id},
        ("PUT", "/api/admin/bargains/{campaign_id}"): BARGAIN | {"sku_id": sku_id},
        ("POST", "/api/app/bargains/{bargain_id}/buy"): {"address": ADDRESS},
        ("PUT", "/api/admin/cues/settings"): {
            "social_proof_enabled": True,
            "low_stock_threshold": 5,
        },
        ("POST", "/api/track"): {
            "batch": [
                {
                    "event_id": "sweep-event-1",
                    "event": "$pageview",
                    "anonymous_id": "sweep-device-1",
                    "client_time": "2026-11-02T02:00:00+00:00",
                }
            ]
        },
    }
    return World(owner=owner, shopper=shopper, ids=ids, bodies=bodies)


@dataclass
class Probe:
    what: str
    path_params: dict[str, Any]
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    files: dict[str, Any] | None = None  # multipart uploads
    data: dict[str, str] | None = None
    accepted: bool = False  # a documented case where the input is dropped, not refused
    names_field: str | None = None


class Schemas:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.components = spec["components"]["schemas"]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def name(self, schema: dict[str, Any]) -> str:
        return str(schema.get("$ref", "").rsplit("/", 1)[-1])

    def branches(self, schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """The non-null schema and whether null is accepted."""
        options = schema.get("anyOf", [schema])
        non_null = [o for o in options if o.get("type") != "null"]
        merged = dict(non_null[0]) if non_null else {}
        merged.update({k: v for k, v in schema.items() if k != "anyOf"})
        return self.resolve(merged) | merged, len(non_null) < len(options)

    def bad_values(self, schema: dict[str, Any]) -> list[tuple[str, Any]]:
        s, _ = self.branches(schema)
        if "enum" in s:
            return [("unknown enum value", "nope")]
        kind = s.get("type")
        if kind == "integer":
            values: list[tuple[str, Any]] = [("text", "abc"), ("fraction", 1.5), ("huge", HUGE)]
            if "minimum" in s:
                values.append(("below minimum", s["minimum"] - 1))
            if "maximum" in s:
                values.append(("above maximum", s["maximum"] + 1))
            return values
        if kind == "string":
            values = [("number", 12345)]
            if s.get("format") == "date-time":
                values += [("not a time", "yesterday"), ("naive time", "2026-01-01T00:00:00")]
            if "maxLength" in s:
                values.append(("too long", "x" * (s["maxLength"] + 1)))
            if s.get("minLength", 0) >= 1:
                values.append(("empty", ""))
            return values
        if kind == "boolean":
            return [("not a boolean", "maybe")]
        if kind == "object":
            return [("text", "abc"), ("list", [1])]
        if kind == "array":
            values = [("text", "abc"), ("object", {"a": 1})]
            if s.get("minItems", 0) >= 1:
                values.append(("empty list", []))
            items, _ = self.branches(s.get("items", {}))
            if items.get("type") == "integer":
                values += [("huge item", [HUGE]), ("text item", ["abc"])]
            if items.get("type") == "object":
                values.append(("empty item", [{}]))
            return values
        return []


def probes_for(
    method: str, path: str, op: dict[str, Any], schemas: Schemas, world: World
) -> list[Probe]:
    params = op.get("parameters", [])
    path_names = [p["name"] for p in params if p["in"] == "path"]
    base_path = {n: world.ids[n] for n in path_names}
    probes: list[Probe] = []
    body_ref = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    body_schema = body_ref.get("schema")
    base_body = world.bodies.get((method, path)) if body_schema else None
    if body_schema is not None:
        assert base_body is not None, f"no valid body written for {method} {path}"

    for p in params:
        if p["in"] == "path":
            s, _ = schemas.branches(p["schema"])
            if s.get("type") == "integer":
                bad = ["abc", "1.5", str(HUGE), "0", "-1", str(UNKNOWN_ID)]
            else:
                bad = ["nope", "x" * 300]
            for value in bad:
                probes.append(
                    Probe(
                        f"path {p['name']}={value[:20]}",
                        base_path | {p["name"]: value},
                        json=base_body,
                    )
                )
        elif p["in"] == "query":
            for label, value in schemas.bad_values(p["schema"]):
                if isinstance(value, list | dict) or label == "number":
                    continue  # a query string is text: "12345" is a fine string
                probes.append(
                    Probe(f"query {p['name']}: {label}", base_path, query={p["name"]: str(value)})
                )
        elif p["in"] == "header" and p["name"] == "Idempotency-Key":
            probes.append(
                Probe(
                    "missing Idempotency-Key",
                    base_path,
                    json=base_body,
                    headers={"Idempotency-Key": ""},
                )
            )
            probes.append(
                Probe(
                    "long Idempotency-Key",
                    base_path,
                    json=base_body,
                    headers={"Idempotency-Key": "k" * 256},
                )
            )
        elif p["in"] == "header" and p["name"] == "x-siyu-anonymous-id":
            probes.append(
                Probe(
                    "bad anonymous id",
                    base_path,
                    json=base_body,
                    headers={"X-Siyu-Anonymous-Id": "no good"},
                )
            )

    if "multipart/form-data" in op.get("requestBody", {}).get("content", {}):
        probes += [
            Probe("no file", base_path, data={"other": "x"}),
            Probe("file as a text field", base_path, data={"file": "abc"}),
            Probe("JSON instead of a form", base_path, json={"file": "abc"}),
            Probe("not an image", base_path, files={"file": ("a.png", b"hello", "image/png")}),
            Probe("empty file", base_path, files={"file": ("a.png", b"", "image/png")}),
        ]

    if body_schema is not None:
        assert base_body is not None
        name = schemas.name(body_schema)
        resolved = schemas.resolve(body_schema)
        probes.append(Probe("malformed JSON", base_path, content=b'{"oops": '))
        for label, top in (("a list", []), ("a string", "text"), ("a number", 42)):
            probes.append(Probe(f"body is {label}", base_path, json=top))
        if resolved.get("required"):
            probes.append(Probe("empty body", base_path, json={}))
        for prop, prop_schema in resolved.get("properties", {}).items():
            ignored = prop in IGNORED_WHEN_OUT_OF_RANGE.get(name, set())
            other = EXCLUSIVE.get(name, {}).get(prop)
            body = {k: v for k, v in base_body.items() if k != other}
            for label, value in schemas.bad_values(prop_schema):
                probes.append(
                    Probe(
                        f"{prop}: {label}",
                        base_path,
                        json=body | {prop: value},
                        accepted=(ignored and label == "huge")
                        or ((method, path) in REPORTED_PER_ITEM and label == "empty item"),
                        names_field=None if label == "huge" else prop,
                    )
                )
            if prop not in NULL_ALLOWED.get(name, set()):
                probes.append(Probe(f"{prop}: null", base_path, json=body | {prop: None}))
    return probes


def send(client: TestClient, method: str, path: str, probe: Probe, world: World) -> Any:
    url = path.format(**probe.path_params)
    if path.startswith("/api/admin") and path not in ("/api/admin/login", "/api/admin/logout"):
        headers = dict(world.owner)
    elif path.startswith("/api/app") and path != "/api/app/login":
        headers = dict(world.shopper)
    else:
        headers = {}
    if path == "/api/app/orders" and method == "POST":
        headers["Idempotency-Key"] = str(uuid.uuid4())
    headers |= probe.headers
    if headers.get("Idempotency-Key") == "":
        del headers["Idempotency-Key"]
    kwargs: dict[str, Any] = {"params": probe.query, "headers": headers}
    if probe.content is not None:
        kwargs["content"] = probe.content
        headers["Content-Type"] = "application/json"
    elif probe.files is not None or probe.data is not None:
        kwargs["files"] = probe.files
        kwargs["data"] = probe.data
    elif probe.json is not None:
        kwargs["json"] = probe.json
    return client.request(method, url, **kwargs)


def test_every_route_refuses_bad_input_with_a_clear_4xx_and_writes_nothing(
    client: TestClient, ctx: Context
) -> None:
    # given a store with one of everything, and every route in the API description
    world = build_world(client, ctx)
    spec = client.app.openapi()  # type: ignore[attr-defined]
    schemas = Schemas(spec)
    before = snapshot(ctx)

    # when each route gets malformed JSON, wrong types, missing fields, huge and
    # out-of-range numbers, unknown ids and bad path values
    problems: list[str] = []
    exercised: set[tuple[str, str]] = set()
    sent = 0
    for path, operations in spec["paths"].items():
        for method_lower, op in operations.items():
            method = method_lower.upper()
            for probe in probes_for(method, path, op, schemas, world):
                exercised.add((method, path))
                sent += 1
                response = send(client, method, path, probe, world)
                where = f"{method} {path} [{probe.what}] -> {response.status_code}"
                if probe.accepted:
                    if response.status_code != 200:
                        problems.append(f"{where}: expected the value to be ignored")
                    continue
                if not 400 <= response.status_code < 500:
                    problems.append(f"{where}: {response.text[:160]}")
                    continue
                try:
                    assert_error_shape(response.json())
                except (AssertionError, KeyError, ValueError):
                    problems.append(f"{where}: not the error shape: {response.text[:160]}")
                    continue
                error = response.json()["error"]
                if probe.names_field and error["code"] == "invalid_input":
                    named = {key.split(".")[0] for key in error["fields"]}
                    if probe.names_field not in named:
                        problems.append(f"{where}: fields {error['fields']} miss the field")

    # then every answer was a 4xx in the error shape, and nothing was written
    assert problems == [], "\n".join(problems)
    all_routes = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert exercised == all_routes - NO_INPUT
    assert sent > 400
    assert snapshot(ctx) == before


# ---------------------------------------------------------------- targeted cases


def stock_of(ctx: Context, sku_id: int) -> int:
    with ctx.db.transaction() as session:
        sku = session.get(Sku, sku_id)
        assert sku is not None
        return sku.stock


def count(ctx: Context, model: type[Any]) -> int:
    with ctx.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_cart_refuses_unknown_skus_and_quantities_outside_1_to_99(
    client: TestClient, ctx: Context
) -> None:
    # given a coffee on sale and a shopper
    owner = operator_headers(client, ctx)
    sku_id = create_product(client, owner)["skus"][0]["id"]
    shopper = shopper_headers(client)

    # when the shopper adds an unknown SKU, zero bags, a hundred bags, minus one bag
    responses = [
        client.post("/api/app/cart/items", json={"sku_id": UNKNOWN_ID}, headers=shopper),
        client.post("/api/app/cart/items", json={"sku_id": sku_id, "quantity": 0}, headers=shopper),
        client.post(
            "/api/app/cart/items", json={"sku_id": sku_id, "quantity": 100}, headers=shopper
        ),
        client.post(
            "/api/app/cart/items", json={"sku_id": sku_id, "quantity": -1}, headers=shopper
        ),
    ]

    # then each is refused with the field named, and the cart is still empty
    assert [(r.status_code, r.json()["error"]["code"]) for r in responses] == [
        (404, "sku_unavailable"),
        (422, "invalid_input"),
        (422, "invalid_input"),
        (422, "invalid_input"),
    ]
    assert [list(r.json()["error"]["fields"]) for r in responses] == [
        ["sku_id"],
        ["quantity"],
        ["quantity"],
        ["quantity"],
    ]
    assert client.get("/api/app/cart", headers=shopper).json()["lines"] == []


@pytest.mark.parametrize(
    ("skus", "code", "fields"),
    [
        ([], "invalid_input", ["skus"]),
        (
            [
                {"spec": {"烘焙": "中度"}, "price_fen": 100},
                {"spec": {"烘焙": "中度"}, "price_fen": 200},
            ],
            "duplicate_spec",
            ["skus"],
        ),
        ([{"price_fen": -1}], "invalid_input", ["skus.0.price_fen"]),
        ([{"price_fen": 100, "stock": -5}], "invalid_input", ["skus.0.stock"]),
    ],
    ids=["no-skus", "duplicate-spec", "negative-price", "negative-stock"],
)
def test_a_product_with_bad_skus_is_refused_and_not_created(
    client: TestClient, ctx: Context, skus: list[dict[str, Any]], code: str, fields: list[str]
) -> None:
    # given an owner with a category
    owner = operator_headers(client, ctx)
    category_id = client.post("/api/admin/categories", json={"name": "咖啡"}, headers=owner).json()[
        "id"
    ]

    # when the owner creates a product with these SKUs
    response = client.post(
        "/api/admin/products",
        json={"category_id": category_id, "title": "咖啡豆", "role": "traffic", "skus": skus},
        headers=owner,
    )

    # then it is a 422 naming the problem, and there is no product, SKU or audit row
    assert response.status_code == 422
    assert (response.json()["error"]["code"], list(response.json()["error"]["fields"])) == (
        code,
        fields,
    )
    assert (count(ctx, Product), count(ctx, Sku), count(ctx, AuditLog)) == (0, 0, 1)


def test_an_order_with_both_items_and_cart_lines_is_refused(
    client: TestClient, ctx: Context
) -> None:
    # given a shopper with a coffee in the cart
    owner = operator_headers(client, ctx)
    sku_id = create_product(client, owner)["skus"][0]["id"]
    shopper = shopper_headers(client)
    cart = client.post("/api/app/cart/items", json={"sku_id": sku_id}, headers=shopper).json()

    # when the order names both sources
    response = client.post(
        "/api/app/orders",
        json={
            "items": [{"sku_id": sku_id, "quantity": 1}],
            "cart_item_ids": [cart["lines"][0]["item_id"]],
            "address": ADDRESS,
        },
        headers=shopper | {"Idempotency-Key": "both-1"},
    )

    # then it is refused and nothing was reserved
    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_input")
    assert "either items" in str(response.json()["error"]["fields"])
    assert (count(ctx, Order), stock_of(ctx, sku_id)) == (0, 10)


def test_an_order_whose_second_line_is_short_leaves_the_first_lines_stock_untouched(
    client: TestClient, ctx: Context
) -> None:
    # given beans with 10 in stock and a grinder with 1
    owner = operator_headers(client, ctx)
    skus = create_product(
        client,
        owner,
        skus=[
            {"spec": {"款式": "豆"}, "price_fen": 5900, "stock": 10},
            {"spec": {"款式": "磨豆机"}, "price_fen": 19900, "stock": 1},
        ],
    )["skus"]
    beans, grinder = skus[0]["id"], skus[1]["id"]
    shopper = shopper_headers(client)

    # when the shopper orders 2 bags of beans and 3 grinders
    response = client.post(
        "/api/app/orders",
        json={
            "items": [{"sku_id": beans, "quantity": 2}, {"sku_id": grinder, "quantity": 3}],
            "address": ADDRESS,
        },
        headers=shopper | {"Idempotency-Key": "order-1"},
    )

    # then it is refused and the beans' reservation was undone with everything else
    assert (response.status_code, response.json()["error"]["code"]) == (409, "insufficient_stock")
    assert (stock_of(ctx, beans), stock_of(ctx, grinder)) == (10, 1)
    assert count(ctx, Order) == 0
    with ctx.db.transaction() as session:
        placed = session.scalars(
            select(OutboxEvent.id).where(OutboxEvent.event_type == "order.placed")
        ).all()
    assert placed == []

    # and the same key may be used again for a corrected order
    retry = client.post(
        "/api/app/orders",
        json={
            "items": [{"sku_id": beans, "quantity": 2}, {"sku_id": grinder, "quantity": 1}],
            "address": ADDRESS,
        },
        headers=shopper | {"Idempotency-Key": "order-1"},
    )
    assert retry.status_code == 201, retry.text
    assert (stock_of(ctx, beans), stock_of(ctx, grinder)) == (8, 0)


def test_removing_more_stock_than_there_is_is_409_and_changes_nothing(
    client: TestClient, ctx: Context
) -> None:
    # given 10 bags on the shelf
    owner = operator_headers(client, ctx)
    sku_id = create_product(client, owner)["skus"][0]["id"]
    audit_rows = count(ctx, AuditLog)

    # when the owner writes off 11
    response = client.post(
        f"/api/admin/skus/{sku_id}/stock", json={"delta": -11, "reason": "盘点"}, headers=owner
    )

    # then it is refused, the stock is still 10 and nothing was audited
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "stock_too_low",
        "message": "库存不足，不能减少这么多 / Not enough stock to remove",
        "fields": {"delta": "too_low"},
    }
    assert stock_of(ctx, sku_id) == 10
    assert count(ctx, AuditLog) == audit_rows


@pytest.mark.parametrize(
    ("sort", "cursor"),
    [
        ("newest", "%%%garbage%%%"),
        ("newest", "bm90IGpzb24"),  # base64 of "not json"
        ("newest", "WyIyMDI2LTAxLTAxIiwgMV0"),  # ["2026-01-01", 1]: a time with no zone
        ("newest", "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgImFiYyJd"),  # id "abc"
        ("price_asc", "WzFd"),  # [1]: too few values for the sort
        ("price_asc", "WyJ4IiwgMV0"),  # ["x", 1]
    ],
    ids=["garbage", "not-json", "naive-time", "text-id", "short", "text-price"],
)
def test_a_garbage_page_cursor_is_422_bad_cursor(
    client: TestClient, ctx: Context, sort: str, cursor: str
) -> None:
    # given a store with a product on sale and an owner
    owner = operator_headers(client, ctx)
    create_product(client, owner)

    # when the shopper's and the console's listings get a cursor we never issued
    responses = [
        client.get("/api/app/products", params={"sort": sort, "cursor": cursor}),
        client.get("/api/admin/products", params={"sort": sort, "cursor": cursor}, headers=owner),
    ]

    # then both say the cursor is bad
    assert [(r.status_code, r.json()["error"]["code"]) for r in responses] == [
        (422, "bad_cursor")
    ] * 2
    assert [r.json()["error"]["fields"] for r in responses] == [{"cursor": "invalid"}] * 2


def test_ids_and_amounts_past_64_bits_are_refused_not_a_server_error(
    client: TestClient, ctx: Context
) -> None:
    # given a shopper and an owner
    owner = operator_headers(client, ctx)
    shopper = shopper_headers(client)

    # when they send numbers no database column can hold
    responses = [
        client.get(f"/api/app/products/{HUGE}"),
        client.get("/api/app/products", params={"min_price_fen": HUGE}),
        client.post("/api/app/cart/items", json={"sku_id": HUGE}, headers=shopper),
        client.get("/api/admin/orders", params={"before_id": HUGE}, headers=owner),
        client.patch(f"/api/admin/categories/{2**63}", json={"name": "x"}, headers=owner),
    ]

    # then each is a 422 in the error shape
    assert [(r.status_code, r.json()["error"]["code"]) for r in responses] == [
        (422, "value_out_of_range")
    ] * 5


def test_an_order_search_with_a_time_that_has_no_zone_is_422(
    client: TestClient, ctx: Context
) -> None:
    # given an owner
    owner = operator_headers(client, ctx)

    # when the search gives times with and without a zone
    naive = client.get(
        "/api/admin/orders", params={"placed_from": "2026-11-01T00:00:00"}, headers=owner
    )
    aware = client.get(
        "/api/admin/orders", params={"placed_from": "2026-11-01T00:00:00+08:00"}, headers=owner
    )

    # then the zoneless one is refused naming the field
    assert (naive.status_code, list(naive.json()["error"]["fields"])) == (422, ["placed_from"])
    assert (aware.status_code, aware.json()) == (200, [])


def test_a_null_for_a_field_that_cannot_be_empty_is_422_and_the_product_keeps_its_title(
    client: TestClient, ctx: Context
) -> None:
    # given a product
    owner = operator_headers(client, ctx)
    product = create_product(client, owner)

    # when the title is patched to null
    response = client.patch(
        f"/api/admin/products/{product['id']}", json={"title": None}, headers=owner
    )

    # then it is refused naming the field, and the title is unchanged
    assert (response.status_code, list(response.json()["error"]["fields"])) == (422, ["title"])
    detail = client.get(f"/api/admin/products/{product['id']}", headers=owner).json()
    assert detail["title"] == "云南小粒咖啡豆 500g"


def test_production_settings_refuse_the_sandbox_and_the_default_secrets() -> None:
    # when production starts with the development defaults
    with pytest.raises(ValueError) as refused:
        Settings(env="production")  # type: ignore[arg-type]

    # then every unsafe default is named
    message = str(refused.value)
    assert "SIYU_WECHAT_MODE=sandbox is for development only" in message
    assert "SIYU_PAYMENT_PROVIDER=sandbox is for development only" in message
    assert "SIYU_SECRET_KEY is the default; set a random secret" in message
    assert "SIYU_DATA_KEY is the default; set a random key" in message
