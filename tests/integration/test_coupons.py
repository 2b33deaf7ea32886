"""Coupons under concurrency and through an order's life, on SQLite and PostgreSQL:
never used twice, never over-issued, restored exactly when they should be
(commerce.md: mall #1003, litemall #581, oscar #2101)."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.bootstrap import Context
from siyu.clock import FrozenClock
from siyu.coupon.models import CouponClaimCount, CouponTemplate, ShopperCoupon
from siyu.order.models import Order, OrderDiscount
from siyu.outbox import OutboxEvent
from tests.helpers import ADDRESS, create_product, operator_headers, shopper_headers

T = TypeVar("T")


def concurrently(work: list[Callable[[], T]]) -> list[T]:
    barrier = threading.Barrier(len(work))

    def run(job: Callable[[], T]) -> T:
        barrier.wait()
        return job()

    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        return [f.result() for f in [pool.submit(run, job) for job in work]]


def template(client: TestClient, admin: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": "无门槛减5元", "kind": "cash_off", "amount_fen": 500, "valid_days": 7}
    response = client.post("/api/admin/coupon-templates", json=body | fields, headers=admin)
    assert response.status_code == 201, response.text
    return dict(response.json())


def claim(client: TestClient, shopper: dict[str, str], template_id: int) -> Any:
    return client.post(f"/api/app/coupons/center/{template_id}/claim", headers=shopper)


def order(
    client: TestClient, shopper: dict[str, str], items: list[tuple[int, int]], **extra: Any
) -> Any:
    return client.post(
        "/api/app/orders",
        json={
            "items": [{"sku_id": s, "quantity": q} for s, q in items],
            "address": ADDRESS,
            **extra,
        },
        headers=shopper | {"Idempotency-Key": str(uuid.uuid4())},
    )


def pay(client: TestClient, shopper: dict[str, str], order_id: int) -> dict[str, Any]:
    assert client.post(f"/api/app/orders/{order_id}/pay", headers=shopper).status_code == 200
    paid = client.post(f"/api/app/orders/{order_id}/sandbox-pay", headers=shopper)
    assert paid.json()["status"] == "paid", paid.text
    return dict(paid.json())


def coupon_row(ctx: Context, coupon_id: int) -> ShopperCoupon:
    with ctx.db.transaction() as session:
        row = session.get(ShopperCoupon, coupon_id)
        assert row is not None
        session.expunge(row)
        return row


def count(ctx: Context, model: type[Any], *where: Any) -> int:
    with ctx.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_twenty_concurrent_orders_with_one_coupon_use_it_exactly_once(
    client: TestClient, ctx: Context
) -> None:
    # given a shopper holding one ¥5 coupon, and plenty of stock
    admin = operator_headers(client, ctx)
    sku = create_product(client, admin, skus=[{"price_fen": 5900, "stock": 100}])["skus"][0]
    coupon_tpl = template(client, admin)
    shopper = shopper_headers(client, "one-coupon")
    coupon_id = claim(client, shopper, coupon_tpl["id"]).json()["id"]

    # when 20 orders naming that coupon are placed at the same moment
    responses = concurrently(
        [partial(order, client, shopper, [(sku["id"], 1)], coupon_ids=[coupon_id])] * 20
    )

    # then exactly one order carries the discount; the rest are refused, nothing kept
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 19}
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "coupon_unavailable"
    }
    (placed,) = [r.json() for r in responses if r.status_code == 201]
    assert (placed["discount_fen"], placed["total_fen"]) == (500, 5400)
    assert count(ctx, Order) == 1
    assert count(ctx, OrderDiscount) == 1
    row = coupon_row(ctx, coupon_id)
    assert (row.status.value, row.order_id) == ("locked", placed["id"])


def test_two_hundred_concurrent_claims_of_a_hundred_coupons_issue_exactly_a_hundred(
    client: TestClient, ctx: Context
) -> None:
    # given a batch of 100 coupons and 200 shoppers
    admin = operator_headers(client, ctx)
    batch = template(client, admin, total_quantity=100)
    shoppers = [shopper_headers(client, f"claimer{i:03d}") for i in range(200)]

    # when all of them claim at once
    responses = concurrently([partial(claim, client, s, batch["id"]) for s in shoppers])

    # then 100 get one and 100 are told the batch is gone
    assert Counter(r.status_code for r in responses) == {201: 100, 409: 100}
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "coupon_sold_out"
    }
    assert count(ctx, ShopperCoupon) == 100
    with ctx.db.transaction() as session:
        tpl = session.get(CouponTemplate, batch["id"])
        assert tpl is not None and tpl.issued_count == 100
        # the losers' per-shopper counts were rolled back with their claims
        assert session.scalar(select(func.sum(CouponClaimCount.count))) == 100


def test_a_per_shopper_limit_of_one_holds_under_twenty_concurrent_claims(
    client: TestClient, ctx: Context
) -> None:
    # given a coupon limited to one per shopper and a shopper tapping 20 times
    admin = operator_headers(client, ctx)
    limited = template(client, admin, per_shopper_limit=1, total_quantity=1000)
    shopper = shopper_headers(client, "tapper")

    # when the 20 claims arrive together
    responses = concurrently([partial(claim, client, shopper, limited["id"])] * 20)

    # then one coupon is issued and 19 hear about the limit
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 19}
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "coupon_limit_reached"
    }
    assert count(ctx, ShopperCoupon) == 1
    with ctx.db.transaction() as session:
        tpl = session.get(CouponTemplate, limited["id"])
        assert tpl is not None and tpl.issued_count == 1


def test_a_coupon_is_locked_used_released_and_restored_through_the_order_life(
    client: TestClient, ctx: Context, clock: FrozenClock
) -> None:
    # given a shopper with a 满100减20 coupon and a ¥59 coffee
    admin = operator_headers(client, ctx)
    sku = create_product(client, admin, skus=[{"price_fen": 5900, "stock": 50}])["skus"][0]
    tpl = template(client, admin, name="满100减20", threshold_fen=10000, amount_fen=2000)
    shopper = shopper_headers(client, "lifecycle")
    coupon_id = claim(client, shopper, tpl["id"]).json()["id"]

    # when an order of two bags picks the coupon automatically and is then cancelled
    first = order(client, shopper, [(sku["id"], 2)])
    assert first.status_code == 201, first.text
    assert (first.json()["total_fen"], coupon_row(ctx, coupon_id).status.value) == (9800, "locked")
    cancel = client.post(f"/api/app/orders/{first.json()['id']}/cancel", headers=shopper)
    assert cancel.status_code == 200

    # then the coupon is the shopper's again, and a new order uses it and pays
    assert coupon_row(ctx, coupon_id).status.value == "issued"
    second = order(client, shopper, [(sku["id"], 2)], expected_total_fen=9800)
    assert second.status_code == 201, second.text
    paid = pay(client, shopper, second.json()["id"])
    row = coupon_row(ctx, coupon_id)
    assert (row.status.value, row.discount_fen, row.order_id) == ("used", 2000, paid["id"])
    with ctx.db.transaction() as session:
        used = session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == "coupon.used")
        ).all()
        assert [(e.payload["coupon_id"], e.payload["amount_fen"]) for e in used] == [
            (coupon_id, 2000)
        ]

    # and a partial refund keeps it used, the refund of the rest gives it back
    line = paid["lines"][0]
    partial_refund = client.post(
        "/api/app/aftersales",
        json={
            "order_id": paid["id"],
            "kind": "refund_only",
            "reason": "少发了",
            "lines": [{"order_line_id": line["id"], "quantity": 1}],
        },
        headers=shopper,
    )
    assert partial_refund.status_code == 201, partial_refund.text
    approve = client.post(
        f"/api/admin/aftersales/{partial_refund.json()['id']}/approve", headers=admin
    )
    assert approve.json()["status"] == "refunded", approve.text
    assert coupon_row(ctx, coupon_id).status.value == "used"
    rest = client.post(
        "/api/app/aftersales",
        json={"order_id": paid["id"], "kind": "refund_only", "reason": "都不要了"},
        headers=shopper,
    )
    assert rest.status_code == 201, rest.text
    assert client.post(f"/api/admin/aftersales/{rest.json()['id']}/approve", headers=admin).json()[
        "status"
    ] == ("refunded")
    row = coupon_row(ctx, coupon_id)
    assert (row.status.value, row.order_id) == ("issued", None)

    # and a coupon whose validity passed while its order was open expires on cancel
    third = order(client, shopper, [(sku["id"], 2)])
    assert third.json()["discount_fen"] == 2000
    clock.advance(timedelta(days=8))
    client.post(f"/api/app/orders/{third.json()['id']}/cancel", headers=shopper)
    assert coupon_row(ctx, coupon_id).status.value == "expired"


def test_a_partial_refund_returns_the_line_allocated_amount_to_the_fen(
    client: TestClient, ctx: Context
) -> None:
    # given 满100减20 and a cart of a ¥59 coffee and three ¥19.90 filters
    admin = operator_headers(client, ctx)
    coffee = create_product(client, admin, skus=[{"price_fen": 5900, "stock": 50}])["skus"][0]
    filters = create_product(client, admin, title="滤纸", skus=[{"price_fen": 1990, "stock": 50}])[
        "skus"
    ][0]
    tpl = template(client, admin, name="满100减20", threshold_fen=10000, amount_fen=2000)
    shopper = shopper_headers(client, "refunder")
    claim(client, shopper, tpl["id"])
    placed = order(client, shopper, [(coffee["id"], 1), (filters["id"], 3)])
    assert placed.status_code == 201, placed.text
    paid = pay(client, shopper, placed.json()["id"])

    # the ¥20 is split 5900 : 5970 over the lines, in whole fen, summing exactly
    lines = {li["sku_id"]: li for li in paid["lines"]}
    assert [lines[coffee["id"]]["discount_fen"], lines[filters["id"]]["discount_fen"]] == [
        994,
        1006,
    ]
    assert sum(li["payable_fen"] for li in paid["lines"]) == paid["total_fen"] == 9870

    # when one filter is refunded
    request = client.post(
        "/api/app/aftersales",
        json={
            "order_id": paid["id"],
            "kind": "refund_only",
            "reason": "破损",
            "lines": [{"order_line_id": lines[filters["id"]]["id"], "quantity": 1}],
        },
        headers=shopper,
    )

    # then it is refunded at what the shopper paid for it: (5970 - 1006) / 3 = 1654 fen
    assert request.status_code == 201, request.text
    assert request.json()["refund_fen"] == (5970 - 1006) // 3 == 1654


def test_a_stale_quote_is_refused_and_nothing_is_written(client: TestClient, ctx: Context) -> None:
    # given a shopper who saw ¥59 for a coffee with no coupon
    admin = operator_headers(client, ctx)
    product = create_product(client, admin, skus=[{"price_fen": 5900, "stock": 5}])
    sku = product["skus"][0]
    shopper = shopper_headers(client, "stale")
    quote = client.get(f"/api/app/checkout/quote?sku_id={sku['id']}", headers=shopper).json()
    assert quote["total_fen"] == 5900

    # when the price rises before they press pay
    client.put(f"/api/admin/skus/{sku['id']}/price", json={"price_fen": 6900}, headers=admin)
    response = order(client, shopper, [(sku["id"], 1)], expected_total_fen=5900)

    # then the order is refused with the new total, and no stock was taken
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "quote_changed"
    assert response.json()["error"]["fields"] == {"expected_total_fen": "6900"}
    assert count(ctx, Order) == 0
    shelf = client.get(f"/api/app/products/{product['id']}").json()
    assert shelf["skus"][0]["stock"] == 5


def test_the_gift_pack_greets_a_new_shopper_once_and_the_first_order_earns_a_reward(
    client: TestClient, ctx: Context
) -> None:
    # given a ¥5 no-threshold gift on registration and a ¥10 coffee coupon after the
    # first paid order
    admin = operator_headers(client, ctx)
    product = create_product(client, admin, skus=[{"price_fen": 5900, "stock": 9}])
    template(client, admin, name="新人5元", gift_trigger="register", claimable=False)
    reward = template(
        client,
        admin,
        name="咖啡满50减10",
        threshold_fen=5000,
        amount_fen=1000,
        gift_trigger="first_order",
        claimable=False,
        scope_kind="categories",
        category_ids=[product["category_id"]],
    )

    # when a shopper registers and opens the app
    shopper = shopper_headers(client, "newbie")
    popup = client.get("/api/app/coupons/gift", headers=shopper).json()

    # then the pop-up shows the gift once
    assert popup["show"] is True
    assert [c["title_zh"] for c in popup["coupons"]] == ["无门槛减5"]
    assert client.post("/api/app/coupons/gift/seen", headers=shopper).status_code == 204
    assert client.get("/api/app/coupons/gift", headers=shopper).json() == {
        "show": False,
        "coupons": [],
    }
    ctx.relay.relay_batch(ctx.clock.now())  # the registration event: no second gift
    assert len(client.get("/api/app/coupons/mine", headers=shopper).json()) == 1

    # and paying the first order (with the gift applied) earns the coffee coupon
    placed = order(client, shopper, [(product["skus"][0]["id"], 1)])
    assert placed.json()["total_fen"] == 5400
    pay(client, shopper, placed.json()["id"])
    for _ in range(3):
        ctx.relay.relay_batch(ctx.clock.now())
    mine = client.get("/api/app/coupons/mine", headers=shopper).json()
    assert sorted((c["template_id"], c["status"]) for c in mine) == sorted(
        [(popup["coupons"][0]["template_id"], "used"), (reward["id"], "issued")]
    )

    # and the operator's stats show the gift used with its cost and GMV
    stats = {
        t["id"]: t["stats"] for t in client.get("/api/admin/coupon-templates", headers=admin).json()
    }
    gift_stats = stats[popup["coupons"][0]["template_id"]]
    assert (gift_stats["issued"], gift_stats["used"], gift_stats["discount_fen"]) == (1, 1, 500)
    assert gift_stats["gmv_fen"] == 5400
    assert stats[reward["id"]]["unused"] == 1
