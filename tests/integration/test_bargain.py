"""Bargain on SQLite and PostgreSQL, through the HTTP API: friends cut a bargain down to
its floor exactly and the starter buys once at the price reached; twenty concurrent
cuts by one helper count once; each anti-fraud rule refuses with its own code and
writes nothing; a bargain past its deadline can be neither cut nor bought."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.bargain.models import Bargain, BargainHelp
from siyu.bootstrap import Context
from siyu.identity.models import AuditLog
from siyu.worker import Worker
from tests.helpers import ADDRESS, create_product, operator_headers

SHELF = 5900
FLOOR = 990


@dataclass
class BargainShop:
    client: TestClient
    ctx: Context
    admin: dict[str, str]
    sku_id: int

    def shopper(
        self, code: str, device: str | None = None, nickname: str = "顾客"
    ) -> dict[str, str]:
        login = self.client.post(
            "/api/app/login",
            json={"code": f"bg-{code}", "nickname": nickname},
            headers={"X-Siyu-Anonymous-Id": device or f"dev-bg-{code}-0000"},
        )
        assert login.status_code == 200, login.text
        return {"Authorization": f"Bearer {login.json()['token']}"}

    def shopper_id(self, who: dict[str, str]) -> int:
        return int(self.client.get("/api/app/me", headers=who).json()["id"])

    def campaign(self, helpers: int = 3, **extra: Any) -> dict[str, Any]:
        now = self.ctx.clock.now()
        made = self.client.post(
            "/api/admin/bargains",
            json={
                "name": "砍到9.9元", "sku_id": self.sku_id, "floor_price_fen": FLOOR,
                "helpers_needed": helpers, "duration_minutes": 24 * 60,
                "helper_min_age_minutes": 60, "starts_at": (now - timedelta(hours=1)).isoformat(),
                "ends_at": (now + timedelta(days=7)).isoformat(), **extra,
            },
            headers=self.admin,
        )  # fmt: skip
        assert made.status_code == 201, made.text
        return dict(made.json())

    def start(self, campaign_id: int, who: dict[str, str]) -> dict[str, Any]:
        started = self.client.post(f"/api/app/bargains/campaigns/{campaign_id}/start", headers=who)
        assert started.status_code == 201, started.text
        return dict(started.json())

    def cut(self, bargain_id: int, who: dict[str, str], device: str | None = None) -> Any:
        headers = who | ({"X-Siyu-Anonymous-Id": device} if device else {})
        return self.client.post(f"/api/app/bargains/{bargain_id}/cuts", headers=headers)

    def buy(self, bargain_id: int, who: dict[str, str]) -> Any:
        return self.client.post(
            f"/api/app/bargains/{bargain_id}/buy", json={"address": ADDRESS},
            headers=who | {"Idempotency-Key": str(uuid.uuid4())},
        )  # fmt: skip

    def age(self, delta: timedelta = timedelta(hours=2)) -> None:
        self.ctx.clock.advance(delta)  # type: ignore[attr-defined]
        self.admin = operator_headers(self.client, self.ctx)

    def helps(self, bargain_id: int) -> int:
        with self.ctx.db.transaction() as session:
            return session.scalar(
                select(func.count()).select_from(BargainHelp).where(
                    BargainHelp.bargain_id == bargain_id
                )
            ) or 0  # fmt: skip


def _shop(client: TestClient, ctx: Context) -> BargainShop:
    admin = operator_headers(client, ctx)
    product = create_product(client, admin, skus=[{"price_fen": SHELF, "stock": 50}])
    return BargainShop(client, ctx, admin, int(product["skus"][0]["id"]))


def test_friends_cut_a_bargain_to_its_floor_and_the_starter_buys_once_at_that_price(
    client: TestClient, ctx: Context
) -> None:
    # given a starter and three friends whose accounts are two hours old
    shop = _shop(client, ctx)
    starter = shop.shopper("starter")
    friends = [
        shop.shopper(code, nickname=name)
        for code, name in (("zhang", "张三丰"), ("li", "李四"), ("wang", "王五"))
    ]
    fourth = shop.shopper("zhao", nickname="赵六")
    shop.age()
    campaign = shop.campaign(helpers=3)
    bargain = shop.start(campaign["id"], starter)
    assert (bargain["price_fen"], bargain["helpers_left"], bargain["status"]) == (
        SHELF,
        3,
        "active",
    )

    # when each friend cuts once
    cuts = [shop.cut(bargain["id"], friend) for friend in friends]

    # then the price walks down to the floor exactly, helpers shown masked with their cuts
    assert [c.status_code for c in cuts] == [201, 201, 201], [c.text for c in cuts]
    view = client.get(f"/api/app/bargains/{bargain['id']}", headers=starter).json()
    amounts = [h["amount_fen"] for h in view["helpers"]]
    assert (view["price_fen"], view["cut_fen"], view["helpers_left"]) == (FLOOR, SHELF - FLOOR, 0)
    assert sum(amounts) == SHELF - FLOOR and min(amounts) >= 1
    assert [h["name"] for h in view["helpers"]] == ["张**", "李*", "王*"]
    assert [c.json()["price_fen"] for c in cuts] == [
        SHELF - sum(amounts[: i + 1]) for i in range(3)
    ]
    more = shop.cut(bargain["id"], fourth)
    assert (more.status_code, more.json()["error"]["code"]) == (409, "bargain_complete")

    # and the starter buys at ¥9.90, once
    bought = shop.buy(bargain["id"], starter)
    again = shop.buy(bargain["id"], starter)
    assert bought.status_code == 201, bought.text
    order = bought.json()["order"]
    assert (order["total_fen"], order["source"]) == (FLOOR, "bargain")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "bargain_closed")
    client.post(f"/api/app/orders/{order['id']}/pay", headers=starter)
    paid = client.post(f"/api/app/orders/{order['id']}/sandbox-pay", headers=starter)
    assert paid.json()["status"] == "paid"
    assert client.get(f"/api/app/bargains/{bargain['id']}").json()["status"] == "bought"


def _concurrently(n: int, work: Any) -> list[Any]:
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return [f.result() for f in [pool.submit(run, i) for i in range(n)]]


def test_twenty_concurrent_cuts_by_one_helper_count_exactly_once(
    client: TestClient, ctx: Context
) -> None:
    # given a bargain that needs five helpers, and one friend
    shop = _shop(client, ctx)
    starter, friend = shop.shopper("racer-starter"), shop.shopper("racer")
    shop.age()
    bargain = shop.start(shop.campaign(helpers=5)["id"], starter)

    # when the friend sends twenty cuts at once
    answers = _concurrently(20, lambda i: shop.cut(bargain["id"], friend))

    # then exactly one counts, the others are told they cut already
    codes = sorted((a.status_code, a.json().get("error", {}).get("code", "")) for a in answers)
    assert codes == [(201, "")] + [(409, "bargain_already_cut")] * 19, codes
    assert shop.helps(bargain["id"]) == 1
    with ctx.db.transaction() as session:
        row = session.get(Bargain, bargain["id"])
        assert row is not None and row.cuts_taken == 1


def test_each_anti_fraud_rule_refuses_a_cut_with_its_own_reason_and_writes_nothing(
    client: TestClient, ctx: Context
) -> None:
    # given a starter, an old friend, a friend on the starter's phone, one the store
    # blocked, and (later) a brand-new account
    shop = _shop(client, ctx)
    starter = shop.shopper("fraud-starter", device="dev-shared-phone-1")
    friend = shop.shopper("fraud-friend")
    same_phone = shop.shopper("fraud-phone", device="dev-shared-phone-1")
    blocked = shop.shopper("fraud-blocked")
    second_device = shop.shopper("fraud-second")
    shop.age()
    newcomer = shop.shopper("fraud-new")
    block = client.post(f"/api/admin/shoppers/{shop.shopper_id(blocked)}/block", headers=shop.admin)
    assert (block.status_code, block.json()["blocked"]) == (200, True)
    bargain = shop.start(shop.campaign(helpers=5)["id"], starter)
    assert shop.cut(bargain["id"], friend).status_code == 201

    # when each of them tries to cut
    answers = {
        "own": shop.cut(bargain["id"], starter),
        "twice": shop.cut(bargain["id"], friend),
        "same device as the starter": shop.cut(bargain["id"], same_phone),
        "same device as a helper": shop.cut(
            bargain["id"], second_device, "dev-bg-fraud-friend-0000"
        ),
        "blocked": shop.cut(bargain["id"], blocked),
        "new account": shop.cut(bargain["id"], newcomer),
    }

    # then each is refused with its reason, and only the first friend's cut exists
    assert {k: (a.status_code, a.json()["error"]["code"]) for k, a in answers.items()} == {
        "own": (409, "bargain_own"),
        "twice": (409, "bargain_already_cut"),
        "same device as the starter": (403, "bargain_same_device"),
        "same device as a helper": (403, "bargain_same_device"),
        "blocked": (403, "bargain_helper_blocked"),
        "new account": (403, "bargain_helper_too_new"),
    }
    assert shop.helps(bargain["id"]) == 1

    # and once unblocked (audited both ways) that shopper's cut counts
    unblock = client.post(
        f"/api/admin/shoppers/{shop.shopper_id(blocked)}/unblock", headers=shop.admin
    )
    assert unblock.json()["blocked"] is False
    assert shop.cut(bargain["id"], blocked).status_code == 201
    with ctx.db.transaction() as session:
        actions = session.scalars(
            select(AuditLog.action).where(AuditLog.target_type == "shopper").order_by(AuditLog.id)
        ).all()
    assert actions == ["shopper.block", "shopper.unblock"]


def test_a_bargain_past_its_deadline_can_be_neither_cut_nor_bought(
    client: TestClient, ctx: Context
) -> None:
    # given a bargain with a one-hour limit, cut once
    shop = _shop(client, ctx)
    starter, friend, late = shop.shopper("dl-starter"), shop.shopper("dl-a"), shop.shopper("dl-b")
    shop.age()
    bargain = shop.start(shop.campaign(helpers=3, duration_minutes=60)["id"], starter)
    assert shop.cut(bargain["id"], friend).status_code == 201

    # when the hour passes (and the worker runs the deadline timer)
    shop.ctx.clock.advance(timedelta(minutes=61))  # type: ignore[attr-defined]
    read_before_timer = client.get(f"/api/app/bargains/{bargain['id']}").json()["status"]
    Worker(ctx).drain()

    # then it reads as expired before and after the timer, and refuses cuts and the buy
    cut = shop.cut(bargain["id"], late)
    bought = shop.buy(bargain["id"], starter)
    assert read_before_timer == "expired"
    assert (cut.status_code, cut.json()["error"]["code"]) == (409, "bargain_expired")
    assert (bought.status_code, bought.json()["error"]["code"]) == (409, "bargain_expired")
    with ctx.db.transaction() as session:
        row = session.get(Bargain, bargain["id"])
        assert row is not None and row.status == "expired" and row.order_id is None
