"""Stored allocations (``order_line_allocations``): written once from the quote at
placement, they account for every fen of an order's discount, and refunds read them,
on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from siyu.bootstrap import Context
from siyu.errors import Conflict
from siyu.lifecycle import OrderRefunded, RefundedLine
from siyu.order.models import OrderDiscount, OrderLineAllocation
from siyu.order.placement import Address, place_order
from siyu.pricing.fetch import pricing_settings
from tests.helpers import ADDRESS, create_product, operator_headers, shopper_headers

PRICES = (5900, 12900, 3300, 19900)


def _setup_offers(client: TestClient, ctx: Context) -> dict[str, Any]:
    """Four SKUs, a full reduction, an n-item discount and two coupons held."""
    admin = operator_headers(client, ctx)
    now = ctx.clock.now()
    window = {
        "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=7)).isoformat(),
    }
    skus = [
        create_product(client, admin, skus=[{"price_fen": price, "stock": 10_000}])["skus"][0]["id"]
        for price in PRICES
    ]
    promotions = [
        {
            "name": "满199减30",
            "kind": "full_reduction",
            "tiers": [{"threshold_fen": 19900, "amount_fen": 3000}],
        },
        {"name": "两件九折", "kind": "n_item_discount", "min_items": 2, "percent_off": 10},
    ]
    for body in promotions:
        made = client.post("/api/admin/promotions", json=body | window, headers=admin)
        assert made.status_code == 201, made.text
    shopper = shopper_headers(client, "allocations")
    coupons = []
    for body in (
        {"name": "满100减20", "kind": "cash_off", "threshold_fen": 10000, "amount_fen": 2000},
        {"name": "八五折", "kind": "percent_off", "percent_off": 15, "cap_fen": 5000},
    ):
        template = client.post(
            "/api/admin/coupon-templates", json=body | {"valid_days": 7}, headers=admin
        )
        assert template.status_code == 201, template.text
        claimed = client.post(
            f"/api/app/coupons/center/{template.json()['id']}/claim", headers=shopper
        )
        assert claimed.status_code == 201, claimed.text
        coupons.append(claimed.json()["id"])
    shopper_id = client.get("/api/app/me", headers=shopper).json()["id"]
    return {"skus": skus, "coupons": coupons, "shopper": shopper, "shopper_id": shopper_id}


carts = st.dictionaries(st.integers(0, len(PRICES) - 1), st.integers(1, 4), min_size=1)
coupon_choices = st.sampled_from(["best", "none", "first", "second"])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cart=carts, choice=coupon_choices, use_points=st.booleans())
def test_allocation_rows_sum_to_each_orders_discount_to_the_fen(
    client: TestClient, ctx: Context, cart: dict[int, int], choice: str, use_points: bool
) -> None:
    # given a store with promotions and a shopper holding two coupons (set up once)
    shop = getattr(ctx, "_allocation_shop", None) or _setup_offers(client, ctx)
    ctx._allocation_shop = shop  # type: ignore[attr-defined]
    coupon_ids = {
        "best": None,
        "none": [],
        "first": shop["coupons"][:1],
        "second": shop["coupons"][1:],
    }[choice]

    # when the cart is placed through the real placement path (then rolled back)
    session = ctx.db.session()
    try:
        with session.begin():
            try:
                order = place_order(
                    session,
                    shopper_id=shop["shopper_id"],
                    items=[(shop["skus"][i], q) for i, q in cart.items()],
                    address=Address(**ADDRESS),
                    note="",
                    source="buy_now",
                    payment_timeout=timedelta(minutes=30),
                    now=ctx.clock.now(),
                    pricing=pricing_settings(ctx.settings),
                    coupon_ids=coupon_ids,
                    use_points=use_points,
                )
            except Conflict as exc:  # a chosen coupon this cart cannot use
                assert exc.code == "coupon_unavailable"
                return
            rows = session.scalars(
                select(OrderLineAllocation).where(OrderLineAllocation.order_id == order.id)
            ).all()
            by_source = {
                (d.source, d.source_id): d.amount_fen
                for d in session.scalars(
                    select(OrderDiscount).where(OrderDiscount.order_id == order.id)
                )
                if d.source != "shipping"
            }

            # then the rows account for the order's discount, each line's, and each source's
            assert sum(r.amount_fen for r in rows) == order.discount_fen
            for line in order.lines:
                assert line.unit_price_fen * line.quantity - line.payable_fen == sum(
                    r.amount_fen for r in rows if r.order_line_id == line.id
                )
            per_source: dict[tuple[str, int], int] = {}
            for r in rows:
                per_source[(r.source, r.source_id)] = (
                    per_source.get((r.source, r.source_id), 0) + r.amount_fen
                )
            assert per_source == by_source
            assert all(r.amount_fen > 0 for r in rows)
            session.rollback()
    finally:
        session.close()


def test_a_partial_refund_is_what_the_allocations_left_on_the_refunded_units(
    client: TestClient, ctx: Context
) -> None:
    # given a paid order of 3 × ¥129 and 2 × ¥59 with the full reduction, the 10 % off
    # for two items and the best coupon
    shop = _setup_offers(client, ctx)
    admin = operator_headers(client, ctx)
    shopper = shop["shopper"]
    refunded: list[OrderRefunded] = []
    ctx.lifecycle.on_refunded("test.remember", lambda s, event, now: refunded.append(event))
    big, small = shop["skus"][1], shop["skus"][0]
    placed = client.post(
        "/api/app/orders",
        json={
            "items": [{"sku_id": big, "quantity": 3}, {"sku_id": small, "quantity": 2}],
            "address": ADDRESS,
        },
        headers=shopper | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert client.post(f"/api/app/orders/{order['id']}/pay", headers=shopper).status_code == 200
    paid = client.post(f"/api/app/orders/{order['id']}/sandbox-pay", headers=shopper)
    assert paid.json()["status"] == "paid", paid.text
    line = next(li for li in order["lines"] if li["sku_id"] == big)

    # ... whose allocation rows for that line say what it was paid
    with ctx.db.transaction() as session:
        allocated = session.scalar(
            select(func.sum(OrderLineAllocation.amount_fen)).where(
                OrderLineAllocation.order_line_id == line["id"]
            )
        )
        sources = set(
            session.scalars(
                select(OrderLineAllocation.source).where(
                    OrderLineAllocation.order_line_id == line["id"]
                )
            )
        )
    assert sources == {"promotion", "coupon"}
    paid_for_line = 3 * 12900 - int(allocated or 0)

    # when the shopper asks back one of the three units and the operator approves
    asked = client.post(
        "/api/app/aftersales",
        json={
            "order_id": order["id"],
            "kind": "refund_only",
            "reason": "买多了",
            "lines": [{"order_line_id": line["id"], "quantity": 1}],
        },
        headers=shopper,
    )
    assert asked.status_code == 201, asked.text
    approved = client.post(f"/api/admin/aftersales/{asked.json()['id']}/approve", headers=admin)
    assert approved.status_code == 200, approved.text

    # then one third of what the line was paid (rounded down) came back, to the fen
    assert asked.json()["refund_fen"] == paid_for_line // 3
    after = client.get(f"/api/admin/orders/{order['id']}", headers=admin).json()
    assert after["refunded_fen"] == paid_for_line // 3
    refunded_line = next(li for li in after["lines"] if li["id"] == line["id"])
    assert (refunded_line["refunded_quantity"], refunded_line["refunded_fen"]) == (
        1,
        paid_for_line // 3,
    )
    # and the refunded seam heard of exactly that, once
    assert [(e.order_id, e.amount_fen, e.kind, e.fully_refunded) for e in refunded] == [
        (order["id"], paid_for_line // 3, "aftersale", False)
    ]
    assert refunded[0].lines == (
        RefundedLine(
            order_line_id=line["id"], sku_id=big, quantity=1, amount_fen=paid_for_line // 3
        ),
    )


def test_the_line_discount_shown_is_the_sum_of_its_allocations(
    client: TestClient, ctx: Context
) -> None:
    # given an order of 2 × ¥59 with the best ¥20-off-100 coupon
    shop = _setup_offers(client, ctx)
    placed = client.post(
        "/api/app/orders",
        json={"items": [{"sku_id": shop["skus"][0], "quantity": 2}], "address": ADDRESS},
        headers=shop["shopper"] | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert placed.status_code == 201, placed.text

    # then the line's discount is its rows (¥59 × 2: 10 % off two items, then the coupon)
    (line,) = placed.json()["lines"]
    with ctx.db.transaction() as session:
        rows = session.execute(
            select(OrderLineAllocation.source, OrderLineAllocation.amount_fen)
            .where(OrderLineAllocation.order_line_id == line["id"])
            .order_by(OrderLineAllocation.id)
        ).all()
    assert sum(amount for _, amount in rows) == line["discount_fen"]
    assert line["discount_fen"] == placed.json()["discount_fen"]
    assert {source for source, _ in rows} <= {"promotion", "coupon"}
