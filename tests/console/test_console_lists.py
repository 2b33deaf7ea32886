"""Lists read in time order, newest first, with the sort shown and changeable; the audit
log speaks in words, not codes and JSON; the stacking group and carriers have names."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.clock import FrozenClock
from siyu.identity.audit import record_audit
from siyu.identity.rules import Role
from siyu.order.carriers import carrier_names
from tests.console.conftest import new_operator, open_shop, paid_order, sign_in, unpaid_order


def _order_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-testid="order-row" data-id="(\d+)"', html)]


def test_orders_list_newest_placed_first_and_the_sort_can_be_changed(
    client: TestClient, ctx: Context, clock: FrozenClock, api_admin: dict[str, str]
) -> None:
    # given an order placed now, then one with a higher id placed a day earlier
    shop = open_shop(client, api_admin)
    today = unpaid_order(client, shop)
    clock.advance(timedelta(days=-1))
    yesterday = unpaid_order(client, shop)
    clock.advance(timedelta(days=1))
    assert yesterday["id"] > today["id"]
    sign_in(client, new_operator(ctx, Role.owner))

    # when the list opens, and when the operator sorts oldest first
    default = client.get("/console/orders")
    oldest = client.get("/console/orders?sort=placed_asc")

    # then today's order comes first, the sort is shown, and it turns round
    assert _order_ids(default.text) == [today["id"], yesterday["id"]]
    assert '<option value="placed_desc" selected>下单时间 ↓' in default.text
    assert "下单时间 ↓</a>" in default.text
    assert _order_ids(oldest.text) == [yesterday["id"], today["id"]]
    assert "下单时间 ↑</a>" in oldest.text


def test_the_audit_log_is_newest_first_and_reads_as_sentences(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given a shipment now and a price change recorded later but dated a day earlier
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        for action, target, before, after, at in (
            (
                "order.ship",
                "order",
                {"status": "paid"},
                {"status": "shipped", "carrier": "顺丰速运", "tracking_no": "SF1234567890123"},
                now,
            ),
            (
                "sku.price",
                "sku",
                {"price_fen": 12900},
                {"price_fen": 11900},
                now - timedelta(days=1),
            ),
        ):
            record_audit(
                session,
                operator_id=1,
                action=action,
                target_type=target,
                target_id=7,
                before=before,
                after=after,
                now=at,
            )
    sign_in(client, new_operator(ctx, Role.owner))

    # when the owner opens the audit log
    page = client.get("/console/audit").text

    # then the newer entry is first, with the action's words and its change in a sentence
    actions = re.findall(r'data-testid="audit-action" data-action="([^"]+)">([^<]+)<', page)
    assert actions[:2] == [("order.ship", "发货"), ("sku.price", "调整价格")]
    assert "发货：顺丰速运 SF1234567890123" in page
    assert "价格：¥129.00 → ¥119.00" in page
    assert ">order.ship<" not in page
    older = client.get("/console/audit?sort=at_asc").text
    first = re.search(r'data-testid="audit-action" data-action="([^"]+)"', older)
    assert first is not None and first.group(1) == "sku.price"


def test_the_default_stacking_group_and_the_carriers_have_names(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    shop = open_shop(client, api_admin)
    order = paid_order(client, shop)
    sign_in(client, new_operator(ctx, Role.owner))

    new_promotion = client.get("/console/promotions/new").text
    shipping = client.get(f"/console/orders/{order['id']}").text

    assert 'value="default"' not in new_promotion
    assert "默认叠加组" in new_promotion
    for name in carrier_names():
        assert f'<option value="{name}"' in shipping or f"<option>{name}</option>" in shipping


def test_the_en_console_shows_audit_targets_scopes_and_specs_in_english(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given an order, a recorded shipment and a coupon scoped to two categories
    shop = open_shop(client, api_admin)
    order = paid_order(client, shop)
    with ctx.db.transaction() as session:
        record_audit(
            session,
            operator_id=1,
            action="order.ship",
            target_type="order",
            target_id=order["id"],
            before={"status": "paid"},
            after={"status": "shipped"},
            now=ctx.clock.now(),
        )
    other = client.post("/api/admin/categories", json={"name": "茶"}, headers=api_admin).json()
    made = client.post(
        "/api/admin/coupon-templates",
        json={
            "name": "两类券",
            "kind": "cash_off",
            "amount_fen": 500,
            "threshold_fen": 0,
            "valid_days": 7,
            "scope_kind": "categories",
            "category_ids": [shop.product["category_id"], other["id"]],
        },
        headers=api_admin,
    )
    assert made.status_code == 201, made.text
    sign_in(client, new_operator(ctx, Role.owner))
    client.cookies.set("siyu_lang", "en")

    # when the owner opens the audit log, the coupons, the order and the product
    audit = client.get("/console/audit").text
    coupons = client.get("/console/coupons").text
    order_page = client.get(f"/console/orders/{order['id']}").text
    product_page = client.get(f"/console/products/{shop.product['id']}").text

    # then targets and the filter read as words, lists and specs use English punctuation
    assert f'data-testid="audit-target">Order #{order["id"]}<' in audit
    assert '<option value="aftersale">After-sale</option>' in audit
    assert "product、sku" not in audit and "e.g. product" not in audit
    assert "、" not in coupons and f"#{other['id']} 茶" in coupons
    assert ", #" in coupons
    for page in (order_page, product_page):
        assert "烘焙: 中度" in page and "烘焙：" not in page
