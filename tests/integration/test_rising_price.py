"""Rising price on SQLite and PostgreSQL, through the HTTP API: the first units sell at
the base price, the next at the stepped price of the hour, the shopper who was shown
an old price is told the new one and nothing is written, the limit holds, and units
come back to the count (and to the base quota) when an order is cancelled or
refunded."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.bootstrap import Context
from siyu.order.models import Order, OrderLineAllocation
from siyu.rising_price.models import RisingPriceCampaign
from tests.helpers import ADDRESS, create_product, operator_headers, shopper_headers

SHELF = 10000


def _campaign(client: TestClient, ctx: Context, admin: dict[str, str], sku_id: int) -> Any:
    now = ctx.clock.now()
    made = client.post(
        "/api/admin/rising-price",
        json={
            "name": "前2名5折,之后每小时涨10%", "sku_id": sku_id, "base_price_fen": 5000,
            "base_units": 2, "step_percent": 10, "interval_minutes": 60,
            "cap_price_fen": SHELF, "per_shopper_limit": 2, "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
        },
        headers=admin,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    return made.json()


def _buy(client: TestClient, who: dict[str, str], campaign_id: int, **body: Any) -> Any:
    return client.post(
        f"/api/app/rising-price/{campaign_id}/buy",
        json={"address": ADDRESS, **body},
        headers=who | {"Idempotency-Key": str(uuid.uuid4())},
    )


def _units_sold(ctx: Context, campaign_id: int) -> int:
    with ctx.db.transaction() as session:
        row = session.get(RisingPriceCampaign, campaign_id)
        assert row is not None
        return row.units_sold


def test_the_first_units_sell_at_the_base_price_and_the_next_at_the_hours_price(
    client: TestClient, ctx: Context
) -> None:
    # given ¥100 beans: the first 2 at ¥50, then +¥5 an hour
    admin = operator_headers(client, ctx)
    sku_id = create_product(client, admin, skus=[{"price_fen": SHELF, "stock": 20}])["skus"][0][
        "id"
    ]
    campaign = _campaign(client, ctx, admin, sku_id)
    assert (campaign["price_fen"], campaign["next_price_fen"], campaign["base_units_left"]) == (
        5000, 5500, 2,
    )  # fmt: skip

    # when one shopper buys 2 at ¥50, and 90 minutes later another buys 1
    first = _buy(client, shopper_headers(client, "rp-a"), campaign["id"], quantity=2,
                 expected_unit_price_fen=5000)  # fmt: skip
    ctx.clock.advance(timedelta(minutes=90))  # type: ignore[attr-defined]
    view = client.get(f"/api/app/rising-price/{campaign['id']}").json()
    second = _buy(client, shopper_headers(client, "rp-b"), campaign["id"],
                  expected_unit_price_fen=view["price_fen"])  # fmt: skip

    # then the first paid ¥100 for two, the second ¥55, and 3 units are counted
    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert (first.json()["order"]["total_fen"], second.json()["order"]["total_fen"]) == (
        10000,
        5500,
    )
    assert first.json()["order"]["source"] == "rising_price"
    assert (view["price_fen"], view["next_price_fen"], view["units_sold"]) == (5500, 6000, 2)
    assert view["next_at"].startswith(
        (ctx.clock.now() + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    )
    assert _units_sold(ctx, campaign["id"]) == 3
    with ctx.db.transaction() as session:
        saving = session.scalar(
            select(func.sum(OrderLineAllocation.amount_fen)).where(
                OrderLineAllocation.order_id == first.json()["order"]["id"],
                OrderLineAllocation.source == "activity",
            )
        )
    assert saving == 2 * (SHELF - 5000)


def test_a_shopper_shown_an_old_price_gets_the_new_one_and_nothing_is_written(
    client: TestClient, ctx: Context
) -> None:
    # given a campaign an hour in, past its 2 base units
    admin = operator_headers(client, ctx)
    sku_id = create_product(client, admin, skus=[{"price_fen": SHELF, "stock": 20}])["skus"][0][
        "id"
    ]
    campaign = _campaign(client, ctx, admin, sku_id)
    assert (
        _buy(client, shopper_headers(client, "rp-c"), campaign["id"], quantity=2).status_code == 201
    )
    ctx.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]

    # when a shopper who saw ¥50 buys, and one buys past the limit
    shopper = shopper_headers(client, "rp-d")
    stale = _buy(client, shopper, campaign["id"], expected_unit_price_fen=5000)
    too_many = _buy(client, shopper, campaign["id"], quantity=3)

    # then both are refused and no order or unit was written
    assert (stale.status_code, stale.json()["error"]["code"]) == (409, "rising_price_changed")
    assert stale.json()["error"]["fields"] == {"expected_unit_price_fen": "5500"}
    assert (too_many.status_code, too_many.json()["error"]["code"]) == (422, "bad_quantity")
    assert _units_sold(ctx, campaign["id"]) == 2
    with ctx.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1


def test_a_cancelled_order_and_a_refunded_one_give_their_units_back_to_the_base_quota(
    client: TestClient, ctx: Context
) -> None:
    # given both base units taken: one by an unpaid order, one by a paid order
    admin = operator_headers(client, ctx)
    sku_id = create_product(client, admin, skus=[{"price_fen": SHELF, "stock": 20}])["skus"][0][
        "id"
    ]
    campaign = _campaign(client, ctx, admin, sku_id)
    ctx.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]
    unpaid_shopper, paid_shopper = shopper_headers(client, "rp-e"), shopper_headers(client, "rp-f")
    unpaid = _buy(client, unpaid_shopper, campaign["id"]).json()["order"]
    paid = _buy(client, paid_shopper, campaign["id"]).json()["order"]
    client.post(f"/api/app/orders/{paid['id']}/pay", headers=paid_shopper)
    assert client.post(f"/api/app/orders/{paid['id']}/sandbox-pay",
                       headers=paid_shopper).json()["status"] == "paid"  # fmt: skip
    assert client.get(f"/api/app/rising-price/{campaign['id']}").json()["price_fen"] == 6000

    # when the unpaid order is cancelled and the paid one refunded in full
    cancelled = client.post(f"/api/app/orders/{unpaid['id']}/cancel", headers=unpaid_shopper)
    asked = client.post("/api/app/aftersales", json={"order_id": paid["id"],
                        "kind": "refund_only", "reason": "不要了"}, headers=paid_shopper)  # fmt: skip
    approved = client.post(f"/api/admin/aftersales/{asked.json()['id']}/approve", headers=admin)

    # then both units are back and the next shopper pays the base price again
    assert cancelled.status_code == 200, cancelled.text
    assert approved.json()["status"] == "refunded", approved.text
    assert _units_sold(ctx, campaign["id"]) == 0
    view = client.get(f"/api/app/rising-price/{campaign['id']}").json()
    assert (view["price_fen"], view["base_units_left"]) == (5000, 2)


def test_twelve_shoppers_racing_for_five_base_units_leave_exactly_five_at_the_base_price(
    client: TestClient, ctx: Context
) -> None:
    # given a campaign two hours in with 5 units at ¥50 (¥60 after them)
    admin = operator_headers(client, ctx)
    sku_id = create_product(client, admin, skus=[{"price_fen": SHELF, "stock": 50}])["skus"][0][
        "id"
    ]
    now = ctx.clock.now()
    made = client.post("/api/admin/rising-price", headers=admin, json={
        "name": "前5名5折", "sku_id": sku_id, "base_price_fen": 5000, "base_units": 5,
        "step_percent": 10, "interval_minutes": 60, "cap_price_fen": SHELF,
        "starts_at": (now - timedelta(hours=2)).isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
    })  # fmt: skip
    assert made.status_code == 201, made.text
    racers = [shopper_headers(client, f"rp-race-{i}") for i in range(12)]
    barrier = threading.Barrier(12)

    def race(i: int) -> Any:
        barrier.wait()
        return _buy(client, racers[i], made.json()["id"], expected_unit_price_fen=5000)

    # when twelve shoppers who were all shown ¥50 buy at once
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = [f.result() for f in [pool.submit(race, i) for i in range(12)]]

    # then five get ¥50, seven are told the price is now ¥60, and 5 units are counted
    codes = sorted((a.status_code, a.json().get("error", {}).get("code", "")) for a in answers)
    assert codes == [(201, "")] * 5 + [(409, "rising_price_changed")] * 7, codes
    assert {a.json()["order"]["total_fen"] for a in answers if a.status_code == 201} == {5000}
    assert all(
        a.json()["error"]["fields"] == {"expected_unit_price_fen": "6000"}
        for a in answers
        if a.status_code == 409
    )
    assert _units_sold(ctx, made.json()["id"]) == 5
