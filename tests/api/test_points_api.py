"""The points API: a shopper's balance, pending and soon-to-expire points and history;
an operator's view of a shopper's ledger and audited manual adjustments."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.identity.rules import Role
from tests.helpers import operator_headers, shopper_headers
from tests.integration.points_shop import open_shop


def _adjust(
    client: TestClient, admin: dict[str, str], shopper_id: int, delta: int, rid: str = ""
) -> object:
    return client.post(
        f"/api/admin/shoppers/{shopper_id}/points/adjustments",
        json={"delta": delta, "reason": "客服补偿", "request_id": rid or uuid.uuid4().hex},
        headers=admin,
    )


def test_a_shopper_sees_available_pending_and_soon_to_expire_points(
    client: TestClient, ctx: Context
) -> None:
    # given 300 points given on 2026-11-02 (they expire at the end of 2027) and an order
    # paid that earns 99 (pending)
    shop = open_shop(client, ctx)
    shop.give(300)
    placed = shop.place({shop.sku_a: 3}, use_points=False)
    shop.pay(int(placed.json()["id"]))

    # when the shopper opens their points
    now = client.get("/api/app/points", headers=shop.shopper).json()

    # then they see 300 available, 99 pending, nothing expiring within 30 days
    assert (now["available"], now["pending"], now["expiring_soon"], now["expiring"]) == (
        300,
        99,
        0,
        [],
    )
    # and thirteen months later the 300 are about to expire at 2027-12-31 24:00 Shanghai
    ctx.clock.set(datetime(2027, 12, 10, tzinfo=UTC))  # type: ignore[attr-defined]
    shop.shopper = shopper_headers(client, "points")  # the old session has expired
    later = client.get("/api/app/points", headers=shop.shopper).json()
    assert later["expiring_soon"] == 300
    assert later["expiring"] == [{"points": 300, "expires_at": "2027-12-31T16:00:00Z"}]


def test_the_history_pages_newest_first(client: TestClient, ctx: Context) -> None:
    # given five rewards
    shop = open_shop(client, ctx)
    for points in (10, 20, 30, 40, 50):
        shop.give(points)

    # when the shopper pages two at a time
    first = client.get("/api/app/points/history", params={"limit": 2}, headers=shop.shopper)
    page = first.json()
    second = client.get(
        "/api/app/points/history",
        params={"limit": 2, "before_id": page["next_before_id"]},
        headers=shop.shopper,
    ).json()
    third = client.get(
        "/api/app/points/history",
        params={"limit": 2, "before_id": second["next_before_id"]},
        headers=shop.shopper,
    ).json()

    # then every entry comes once, newest first, and the last page says so
    deltas = [e["delta"] for p in (page, second, third) for e in p["items"]]
    assert deltas == [50, 40, 30, 20, 10]
    assert third["next_before_id"] is None
    assert page["items"][0]["kind"] == "reward"


def test_an_operator_adjusts_points_once_per_request_and_never_below_zero(
    client: TestClient, ctx: Context
) -> None:
    # given a shopper with 100 points and an operator
    shop = open_shop(client, ctx)
    shop.give(100)
    admin = operator_headers(client, ctx)

    # when the operator adds 50, retries the same request, then tries to take 500
    added = _adjust(client, admin, shop.shopper_id, 50, rid="req-add-0001")
    again = _adjust(client, admin, shop.shopper_id, 50, rid="req-add-0001")
    too_much = _adjust(client, admin, shop.shopper_id, -500)

    # then 50 were added once and the overdraft is refused with the balance unchanged
    assert (added.status_code, added.json()["applied"], added.json()["summary"]["available"]) == (  # type: ignore[attr-defined]
        200,
        True,
        150,
    )
    assert (again.json()["applied"], again.json()["summary"]["available"]) == (False, 150)  # type: ignore[attr-defined]
    assert too_much.status_code == 409  # type: ignore[attr-defined]
    assert too_much.json()["error"]["code"] == "points_insufficient"  # type: ignore[attr-defined]
    ledger = client.get(f"/api/admin/shoppers/{shop.shopper_id}/points/ledger", headers=admin)
    assert [(e["kind"], e["delta"], e["reason"]) for e in ledger.json()["items"]] == [
        ("adjust", 50, "客服补偿"),
        ("reward", 100, "评价奖励 / Review reward"),
    ]
    # and the adjustment is in the audit log
    audit = client.get(
        "/api/admin/audit-logs",
        params={"target_type": "shopper", "target_id": str(shop.shopper_id)},
        headers=admin,
    )
    assert [(a["action"], a["after"]["delta"]) for a in audit.json()] == [("points.adjust", 50)]


def test_only_operators_with_the_right_permission_adjust_points(
    client: TestClient, ctx: Context
) -> None:
    # given a shopper and an analyst (reads shoppers, writes no marketing)
    shop = open_shop(client, ctx)
    analyst = operator_headers(client, ctx, Role.analyst)

    # when the analyst reads, then tries to adjust
    read = client.get(f"/api/admin/shoppers/{shop.shopper_id}/points", headers=analyst)
    write = _adjust(client, analyst, shop.shopper_id, 10)

    # then reading is allowed and adjusting is forbidden
    assert read.status_code == 200
    assert write.status_code == 403  # type: ignore[attr-defined]
    assert shop.balance() == (0, 0)


def test_an_adjustment_needs_a_reason_and_a_non_zero_change(
    client: TestClient, ctx: Context
) -> None:
    shop = open_shop(client, ctx)
    admin = operator_headers(client, ctx)
    zero = _adjust(client, admin, shop.shopper_id, 0)
    blank = client.post(
        f"/api/admin/shoppers/{shop.shopper_id}/points/adjustments",
        json={"delta": 5, "reason": "  ", "request_id": uuid.uuid4().hex},
        headers=admin,
    )
    assert (zero.status_code, zero.json()["error"]["code"]) == (422, "bad_points")  # type: ignore[attr-defined]
    assert (blank.status_code, blank.json()["error"]["code"]) == (422, "reason_required")
    assert shop.balance() == (0, 0)
