"""Group buy on SQLite and PostgreSQL, through the HTTP API: a group completes when its
last member pays and its orders ship together; fifty shoppers racing for the last seat
of ten groups leave each group at exactly its size; a group that times out refunds each
member once, even when its timer fires twice; a ladder group that fills gets back the
tier difference to the fen."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.bootstrap import Context
from siyu.catalog.models import Sku
from siyu.group_buy import service
from siyu.group_buy.models import GroupBuyGroup, GroupBuySeat
from siyu.order.models import Order, OrderLineAllocation
from siyu.payment.models import Refund
from siyu.worker import Worker
from tests.helpers import ADDRESS, create_product, operator_headers, shopper_headers

SHELF = 5900
STOCK = 200


@dataclass
class GroupShop:
    client: TestClient
    ctx: Context
    admin: dict[str, str]
    sku_id: int

    def campaign(self, tiers: list[tuple[int, int]], **extra: Any) -> dict[str, Any]:
        now = self.ctx.clock.now()
        body = {
            "name": "咖啡豆拼团", "sku_id": self.sku_id,
            "tiers": [{"size": s, "price_fen": p} for s, p in tiers],
            "duration_minutes": 24 * 60, "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(days=7)).isoformat(), **extra,
        }  # fmt: skip
        made = self.client.post("/api/admin/group-buy", json=body, headers=self.admin)
        assert made.status_code == 201, made.text
        return dict(made.json())

    def shopper(self, code: str) -> dict[str, str]:
        return shopper_headers(self.client, f"gb-{code}")

    def open(self, campaign_id: int, who: dict[str, str]) -> Any:
        return self.client.post(
            f"/api/app/group-buy/{campaign_id}/groups",
            json={"address": ADDRESS},
            headers=who | {"Idempotency-Key": str(uuid.uuid4())},
        )

    def join(self, group_id: int, who: dict[str, str], sharer: int | None = None) -> Any:
        return self.client.post(
            f"/api/app/group-buy/groups/{group_id}/members",
            json={"address": ADDRESS, "sharer_id": sharer},
            headers=who | {"Idempotency-Key": str(uuid.uuid4())},
        )

    def pay(self, order_id: int, who: dict[str, str]) -> None:
        started = self.client.post(f"/api/app/orders/{order_id}/pay", headers=who)
        assert started.status_code == 200, started.text
        paid = self.client.post(f"/api/app/orders/{order_id}/sandbox-pay", headers=who)
        assert paid.json()["status"] == "paid", paid.text

    def opened_group(self, campaign_id: int, code: str) -> tuple[int, dict[str, str]]:
        leader = self.shopper(code)
        opened = self.open(campaign_id, leader)
        assert opened.status_code == 201, opened.text
        self.pay(opened.json()["order"]["id"], leader)
        return int(opened.json()["group"]["id"]), leader

    def group(self, group_id: int) -> GroupBuyGroup:
        with self.ctx.db.transaction() as session:
            group = session.get(GroupBuyGroup, group_id)
            assert group is not None
            session.expunge(group)
            return group

    def pass_time(self, delta: timedelta) -> None:
        self.ctx.clock.advance(delta)  # type: ignore[attr-defined]
        Worker(self.ctx).drain()


def _shop(client: TestClient, ctx: Context) -> GroupShop:
    admin = operator_headers(client, ctx)
    product = create_product(
        client, admin, skus=[{"spec": {"烘焙": "中度"}, "price_fen": SHELF, "stock": STOCK}]
    )
    return GroupShop(client, ctx, admin, int(product["skus"][0]["id"]))


def _concurrently(n: int, work: Any) -> list[Any]:
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return [f.result() for f in [pool.submit(run, i) for i in range(n)]]


def test_a_group_completes_when_its_last_member_pays_and_its_orders_ship_together(
    client: TestClient, ctx: Context
) -> None:
    # given a 3-person group at ¥39 (shelf ¥59), opened and paid by its leader
    shop = _shop(client, ctx)
    campaign = shop.campaign([(3, 3900)])
    group_id, leader = shop.opened_group(campaign["id"], "leader")
    leader_id = client.get("/api/app/me", headers=leader).json()["id"]
    progress = client.get(f"/api/app/group-buy/groups/{group_id}", headers=leader).json()
    assert (progress["status"], progress["seats_left"]) == ("open", 2)
    assert progress["share_path"] == f"/pages/group/index?id={group_id}&sharer={leader_id}"

    # when a friend joins from the share and pays: the group still waits, nothing ships
    friend = shop.shopper("friend")
    joined = shop.join(group_id, friend, sharer=leader_id)
    assert joined.status_code == 201, joined.text
    order = joined.json()["order"]
    assert (order["total_fen"], order["source"]) == (3900, "group_buy")
    shop.pay(order["id"], friend)
    held = client.post(f"/api/admin/orders/{order['id']}/ship",
                       json={"carrier": "顺丰", "tracking_no": "SF1234567890"}, headers=shop.admin)  # fmt: skip
    assert held.status_code == 409 and held.json()["error"]["code"] == "order_on_hold"
    assert shop.join(group_id, friend).json()["error"]["code"] == "already_in_group"

    # and the last member pays
    last = shop.shopper("last")
    third = shop.join(group_id, last, sharer=leader_id).json()["order"]
    shop.pay(third["id"], last)

    # then the group is complete, every order ships, the saving is an allocation
    group = shop.group(group_id)
    assert (group.status, group.seats_paid, group.seats_taken) == ("completed", 3, 3)
    shipped = client.post(f"/api/admin/orders/{order['id']}/ship",
                          json={"carrier": "顺丰", "tracking_no": "SF1234567891"}, headers=shop.admin)  # fmt: skip
    assert shipped.status_code == 200, shipped.text
    with ctx.db.transaction() as session:
        held_orders = session.scalar(select(func.count()).where(Order.hold.is_not(None)))
        saved = session.scalars(
            select(OrderLineAllocation.amount_fen).where(OrderLineAllocation.source == "activity")
        ).all()
        sharers = session.scalars(
            select(GroupBuySeat.sharer_id).where(GroupBuySeat.is_leader.is_(False))
        ).all()
    assert held_orders == 0
    assert saved == [2000, 2000, 2000]
    assert sharers == [leader_id, leader_id]
    stats = client.get(f"/api/admin/group-buy/{campaign['id']}/stats", headers=shop.admin).json()
    assert stats["groups_completed"] == 1 and stats["members_paid"] == 3
    assert stats["new_shoppers"] == 2 and stats["success_rate_percent"] == 100
    # a full group takes nobody else
    late = shop.join(group_id, shop.shopper("late"))
    assert late.status_code == 409 and late.json()["error"]["code"] == "group_closed"


def test_fifty_shoppers_racing_for_the_last_seat_of_ten_groups_fill_each_exactly(
    client: TestClient, ctx: Context
) -> None:
    # given ten 3-person groups with one seat left each (leader and one member paid)
    shop = _shop(client, ctx)
    campaign = shop.campaign([(3, 3900)])
    groups = []
    for g in range(10):
        group_id, _ = shop.opened_group(campaign["id"], f"lead{g}")
        member = shop.shopper(f"member{g}")
        shop.pay(shop.join(group_id, member).json()["order"]["id"], member)
        groups.append(group_id)
    racers = [shop.shopper(f"racer{i}") for i in range(50)]

    # when fifty shoppers race, five for each last seat
    answers = _concurrently(50, lambda i: shop.join(groups[i % 10], racers[i]))

    # then exactly one per group got the seat; the others were told it is full
    codes = Counter(
        "placed" if a.status_code == 201 else a.json()["error"]["code"] for a in answers
    )
    assert codes == {"placed": 10, "group_full": 40}, codes
    with ctx.db.transaction() as session:
        taken = session.execute(
            select(GroupBuyGroup.seats_taken, GroupBuyGroup.size).where(
                GroupBuyGroup.id.in_(groups)
            )
        ).all()
        seats = session.scalar(select(func.count()).select_from(GroupBuySeat))
        left = session.scalar(select(Sku.stock).where(Sku.id == shop.sku_id))
    assert all(t == s == 3 for t, s in taken)
    assert seats == 30
    assert left == STOCK - 30  # only the placed orders took stock


def test_a_group_that_times_out_refunds_each_member_once_even_when_the_timer_fires_twice(
    client: TestClient, ctx: Context
) -> None:
    # given a 3-person group with two paid members and one unpaid seat
    shop = _shop(client, ctx)
    campaign = shop.campaign([(3, 3900)])
    group_id, _ = shop.opened_group(campaign["id"], "leader")
    member = shop.shopper("member")
    shop.pay(shop.join(group_id, member).json()["order"]["id"], member)
    unpaid = shop.join(group_id, shop.shopper("unpaid")).json()["order"]

    # when the deadline passes (and the refund submissions run)
    shop.pass_time(timedelta(hours=24, minutes=1))
    shop.pass_time(timedelta(minutes=5))

    # then the group failed, each paid member got all their money back once, the unpaid
    # order was cancelled, and the stock is back
    assert shop.group(group_id).status == "failed"
    with ctx.db.transaction() as session:
        refunds = session.execute(
            select(Refund.order_id, Refund.amount_fen, Refund.status, Refund.kind)
        ).all()
        orders = {o.id: o for o in session.scalars(select(Order))}
        sku = session.get(Sku, shop.sku_id)
        assert sku is not None
        stock = sku.stock
    assert sorted((a, str(s), k) for _, a, s, k in refunds) == [
        (3900, "succeeded", "group_buy_failed"), (3900, "succeeded", "group_buy_failed")
    ]  # fmt: skip
    assert [(orders[o].refunded_fen, orders[o].paid_fen) for o, *_ in refunds] == [(3900, 3900)] * 2
    assert orders[unpaid["id"]].status == "cancelled"
    assert stock == STOCK

    # and the timer firing again refunds nobody twice
    with ctx.db.transaction() as session:
        again = service.deadline_reached(ctx.lifecycle, session, {"group_id": group_id},
                                         ctx.clock.now())  # fmt: skip
    with ctx.db.transaction() as session:
        count = session.scalar(select(func.count()).select_from(Refund))
    assert (again, count) == (None, 2)


def test_a_ladder_group_that_fills_refunds_each_member_the_tier_difference(
    client: TestClient, ctx: Context
) -> None:
    # given a ladder: 2 people ¥49, 4 people ¥39 (shelf ¥59); members pay ¥49
    shop = _shop(client, ctx)
    campaign = shop.campaign([(2, 4900), (4, 3900)])
    assert campaign["ladder"] and campaign["group_price_fen"] == 4900
    group_id, _ = shop.opened_group(campaign["id"], "leader")
    for i in range(3):
        member = shop.shopper(f"m{i}")
        placed = shop.join(group_id, member)
        assert placed.json()["order"]["total_fen"] == 4900
        shop.pay(placed.json()["order"]["id"], member)
    shop.pass_time(timedelta(minutes=1))

    # then the full group ended at ¥39 and each of the four got ¥10 back, stock kept
    group = shop.group(group_id)
    assert (group.status, group.final_price_fen) == ("completed", 3900)
    with ctx.db.transaction() as session:
        refunds = session.execute(select(Refund.amount_fen, Refund.kind, Refund.status)).all()
        paid = session.scalars(select(Order.paid_fen - Order.refunded_fen)).all()
        sku = session.get(Sku, shop.sku_id)
        assert sku is not None
        stock = sku.stock
    assert (
        sorted((a, k, str(s)) for a, k, s in refunds)
        == [(1000, "group_buy_ladder", "succeeded")] * 4
    )
    assert paid == [3900] * 4
    assert stock == STOCK - 4


def test_a_ladder_group_short_of_the_top_tier_ends_at_the_tier_it_reached(
    client: TestClient, ctx: Context
) -> None:
    shop = _shop(client, ctx)
    campaign = shop.campaign([(2, 4900), (3, 4400), (5, 3900)])
    group_id, _ = shop.opened_group(campaign["id"], "leader")
    for i in range(2):
        member = shop.shopper(f"m{i}")
        shop.pay(shop.join(group_id, member).json()["order"]["id"], member)
    shop.pass_time(timedelta(hours=24, minutes=1))
    shop.pass_time(timedelta(minutes=5))
    group = shop.group(group_id)
    assert (group.status, group.seats_paid, group.final_price_fen) == ("completed", 3, 4400)
    with ctx.db.transaction() as session:
        backs = session.scalars(select(Refund.amount_fen)).all()
    assert sorted(backs) == [500, 500, 500]
