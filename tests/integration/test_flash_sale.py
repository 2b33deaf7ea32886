"""Flash sale on SQLite and PostgreSQL, with the Redis gate and the SQL gate, through
the HTTP API: concurrent buyers for a few units get exactly those units, none
oversold, nobody beyond the per-shopper limit; an unpaid order that times out gives
its unit back to the sale; the reconciliation is clean after a sale and finds (and
fixes) drift injected into Redis; the rate limits and the waiting room answer 429
with Retry-After; the session opens and closes on its Asia/Shanghai boundaries."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.bootstrap import Context
from siyu.catalog.models import Sku
from siyu.config import Settings
from siyu.flash_sale.gate import RedisGate
from siyu.flash_sale.models import FlashItem, FlashPurchase, FlashShopperCount
from siyu.order.models import Order
from siyu.worker import Worker
from tests.conftest import REDIS_URL, make_settings
from tests.helpers import ADDRESS, create_product, operator_headers, shopper_headers

SHELF = 9900
STOCK = 500


@pytest.fixture(params=["sql", "redis"])
def gate_mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(
    database_url: str, tmp_path: Path, gate_mode: str, request: pytest.FixtureRequest
) -> Settings:
    marker = request.node.get_closest_marker("flash_settings")
    extra: dict[str, Any] = {"flash_sale_max_in_flight": 200, "flash_sale_ip_burst": 10_000,
                             "flash_sale_ip_rate": 10_000.0}  # fmt: skip
    extra |= marker.kwargs if marker else {}
    if gate_mode == "redis":
        extra |= {
            "redis_url": REDIS_URL,
            "redis_key_prefix": request.getfixturevalue("redis_prefix"),
        }
    return make_settings(database_url, tmp_path, **extra)


@dataclass
class Sale:
    client: TestClient
    ctx: Context
    admin: dict[str, str]
    sku_id: int

    def session(
        self, *, quantity: int, limit: int = 1, minutes: int = 30, **extra: Any
    ) -> dict[str, Any]:
        now = self.ctx.clock.now()
        body = {
            "name": "10点秒杀", "starts_at": extra.pop("starts_at", (now - timedelta(minutes=1)).isoformat()),
            "ends_at": extra.pop("ends_at", (now + timedelta(minutes=minutes)).isoformat()),
            "items": [{"sku_id": self.sku_id, "sale_price_fen": 1990, "quantity": quantity,
                       "per_shopper_limit": limit}], **extra,
        }  # fmt: skip
        made = self.client.post("/api/admin/flash-sales", json=body, headers=self.admin)
        assert made.status_code == 201, made.text
        return dict(made.json())

    def shopper(self, code: str) -> dict[str, str]:
        return shopper_headers(self.client, f"fs-{code}")

    def buy(
        self, item_id: int, who: dict[str, str], key: str | None = None, quantity: int = 1
    ) -> Any:
        return self.client.post(
            f"/api/app/flash-sales/items/{item_id}/buy",
            json={"address": ADDRESS, "quantity": quantity},
            headers=who | {"Idempotency-Key": key or str(uuid.uuid4())},
        )

    def buy_patiently(self, item_id: int, who: dict[str, str]) -> Any:
        """A client that waits in the room: retries a 429 after a moment."""
        key = str(uuid.uuid4())
        for _ in range(50):
            answer = self.buy(item_id, who, key)
            if answer.status_code != 429:
                return answer
            time.sleep(0.02)
        return answer

    def pay(self, order_id: int, who: dict[str, str]) -> None:
        assert self.client.post(f"/api/app/orders/{order_id}/pay", headers=who).status_code == 200
        paid = self.client.post(f"/api/app/orders/{order_id}/sandbox-pay", headers=who)
        assert paid.json()["status"] == "paid", paid.text

    def board(self, session_id: int) -> dict[str, Any]:
        board = self.client.get(f"/api/admin/flash-sales/{session_id}/board", headers=self.admin)
        assert board.status_code == 200, board.text
        return dict(board.json())

    def reconcile(self, session_id: int, fix: bool = False) -> dict[str, Any]:
        report = self.client.post(f"/api/admin/flash-sales/{session_id}/reconcile",
                                  params={"fix": fix}, headers=self.admin)  # fmt: skip
        assert report.status_code == 200, report.text
        return dict(report.json())


def _sale(client: TestClient, ctx: Context) -> Sale:
    admin = operator_headers(client, ctx)
    product = create_product(
        client, admin, skus=[{"spec": {"规格": "500g"}, "price_fen": SHELF, "stock": STOCK}]
    )
    return Sale(client, ctx, admin, int(product["skus"][0]["id"]))


def _concurrently(n: int, work: Any) -> list[Any]:
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return [f.result() for f in [pool.submit(run, i) for i in range(n)]]


def _code(answer: Any) -> str:
    return "placed" if answer.status_code == 201 else str(answer.json()["error"]["code"])


def test_concurrent_buyers_for_few_units_get_exactly_those_units_and_nobody_two(
    client: TestClient, ctx: Context, gate_mode: str
) -> None:
    # given 5 units, one a shopper, and 24 shoppers who each press buy twice at once
    sale = _sale(client, ctx)
    made = sale.session(quantity=5, limit=1)
    item_id = made["items"][0]["id"]
    shoppers = [sale.shopper(f"racer{i}") for i in range(24)]

    # when the 48 requests race
    answers = _concurrently(48, lambda i: sale.buy_patiently(item_id, shoppers[i // 2]))

    # then exactly 5 orders were placed, for 5 different shoppers; the rest were told
    codes = Counter(_code(a) for a in answers)
    assert codes["placed"] == 5, codes
    assert set(codes) <= {"placed", "flash_sold_out", "flash_limit"}, codes
    buyers = [
        shoppers.index(shoppers[i // 2]) for i, a in enumerate(answers) if a.status_code == 201
    ]
    assert len(set(buyers)) == 5
    with ctx.db.transaction() as session:
        item = session.get(FlashItem, item_id)
        assert item is not None
        assert (item.sold, item.reserved) == (0, 5)
        orders = session.scalar(select(func.count()).where(Order.source == "flash_sale"))
        counts = session.scalars(select(FlashShopperCount.units)).all()
        left = session.scalar(select(Sku.stock).where(Sku.id == sale.sku_id))
    assert orders == 5 and sorted(counts) == [1] * 5
    assert left == STOCK - 5
    order = next(a for a in answers if a.status_code == 201).json()["order"]
    assert (order["total_fen"], order["source"]) == (1990, "flash_sale")

    # and once they pay, the board shows 5 sold, 0 left; the reconciliation is clean
    for i, a in enumerate(answers):
        if a.status_code == 201:
            sale.pay(a.json()["order"]["id"], shoppers[i // 2])
    board = sale.board(made["id"])
    assert board["gate_mode"] == gate_mode
    row = board["items"][0]
    assert (row["sold"], row["reserved"], row["units_left"], row["buyers"]) == (5, 0, 0, 5)
    assert row["gate_requests"] >= 48 and row["refusals"] >= 43 - 5
    report = sale.reconcile(made["id"])
    assert report["clean"] is True, report
    assert report["items"][0]["gate_units_left"] == (0 if gate_mode == "redis" else None)


@pytest.mark.flash_settings(flash_sale_shopper_burst=50, flash_sale_shopper_rate=50.0)
def test_a_shopper_gets_at_most_the_limit_even_pressing_many_times_at_once(
    client: TestClient, ctx: Context, gate_mode: str
) -> None:
    # given 50 units, 2 a shopper, and one shopper pressing buy 12 times at once
    sale = _sale(client, ctx)
    made = sale.session(quantity=50, limit=2)
    item_id = made["items"][0]["id"]
    eager = sale.shopper("eager")

    answers = _concurrently(12, lambda i: sale.buy_patiently(item_id, eager))

    # then two orders, the others refused at the limit; a retry of a placed request
    # replays its answer and takes nothing
    codes = Counter(_code(a) for a in answers)
    assert codes == {"placed": 2, "flash_limit": 10}, codes
    with ctx.db.transaction() as session:
        assert session.scalar(select(FlashShopperCount.units)) == 2
        assert session.scalar(select(func.count()).select_from(FlashPurchase)) == 2
    first = sale.buy(item_id, eager, key="retry-key-1")
    assert first.status_code == 409  # limit reached (a fresh key)
    other = sale.shopper("other")
    placed = sale.buy(item_id, other, key="same-key")
    again = sale.buy(item_id, other, key="same-key")
    assert placed.status_code == again.status_code == 201
    assert placed.json()["order"]["id"] == again.json()["order"]["id"]
    assert sale.reconcile(made["id"])["clean"] is True


def test_an_unpaid_order_that_times_out_gives_its_unit_back_to_the_sale(
    client: TestClient, ctx: Context, gate_mode: str
) -> None:
    # given one unit, 5 minutes to pay, taken by a shopper who does not pay
    sale = _sale(client, ctx)
    made = sale.session(quantity=1, payment_timeout_minutes=5)
    item_id = made["items"][0]["id"]
    slow, late = sale.shopper("slow"), sale.shopper("late")
    taken = sale.buy(item_id, slow)
    assert taken.status_code == 201, taken.text
    deadline = taken.json()["order"]["pay_deadline"]
    assert deadline.startswith((ctx.clock.now() + timedelta(minutes=5)).isoformat()[:16])
    assert _code(sale.buy(item_id, late)) == "flash_sold_out"

    # when the 5 minutes pass (the worker cancels the order and relays the release)
    ctx.clock.advance(timedelta(minutes=5, seconds=1))  # type: ignore[attr-defined]
    Worker(ctx).drain()

    # then the unit is back: the board shows it left, the next shopper gets it
    with ctx.db.transaction() as session:
        order = session.get(Order, taken.json()["order"]["id"])
        assert order is not None and order.status == "cancelled"
    row = sale.board(made["id"])["items"][0]
    assert (row["units_left"], row["reserved"], row["sold"]) == (1, 0, 0)
    assert sale.reconcile(made["id"])["clean"] is True
    second = sale.buy(item_id, late)
    assert second.status_code == 201, second.text
    # and the first shopper may try again too (their limit was given back), sold out now
    assert _code(sale.buy(item_id, slow)) == "flash_sold_out"


def test_reconciliation_is_clean_after_a_session_and_finds_and_fixes_injected_drift(
    client: TestClient, ctx: Context, gate_mode: str
) -> None:
    if gate_mode != "redis":
        pytest.skip("drift is between Redis and the database")
    # given a sale of 3 units with 2 paid and 1 never paid (it times out: 1 unit back)
    sale = _sale(client, ctx)
    made = sale.session(quantity=3, minutes=10)
    item_id = made["items"][0]["id"]
    for i in range(3):
        who = sale.shopper(f"b{i}")
        placed = sale.buy(item_id, who)
        assert placed.status_code == 201, placed.text
        if i < 2:
            sale.pay(placed.json()["order"]["id"], who)

    # when the session ends, the worker reconciles it
    ctx.clock.advance(timedelta(minutes=12))  # type: ignore[attr-defined]
    Worker(ctx).drain()
    stored = sale.board(made["id"])["reconciliation"]
    assert stored is not None and stored["clean"] is True, stored

    # and when someone changes Redis behind the database's back
    gate = ctx.flash_gate
    assert isinstance(gate, RedisGate)
    item_key, buyers_key, _, _ = gate.keys(item_id)
    gate.client.hincrby(item_key, "left", 4)
    gate.client.hset(buyers_key, "999", 1)
    report = sale.reconcile(made["id"])

    # then the drift is reported, and fixed on request to the database's counts
    assert report["clean"] is False
    row = report["items"][0]
    assert (row["db_units_left"], row["gate_units_left"], row["shoppers_differing"]) == (1, 5, 1)
    fixed = sale.reconcile(made["id"], fix=True)
    assert fixed["items"][0]["fixed"] is True
    assert sale.reconcile(made["id"])["clean"] is True
    assert gate.client.hget(item_key, "left") == "1"


@pytest.mark.flash_settings(flash_sale_shopper_burst=2, flash_sale_shopper_rate=0.5)
def test_the_rate_limit_per_shopper_rejects_with_a_retry_after(
    client: TestClient, ctx: Context, gate_mode: str
) -> None:
    # given a sale and a shopper whose bucket holds 2 requests, refilled one per 2 s
    sale = _sale(client, ctx)
    item_id = sale.session(quantity=10, limit=1)["items"][0]["id"]
    eager = sale.shopper("clicker")

    # when they press buy three times in a row
    answers = [sale.buy(item_id, eager) for _ in range(3)]

    # then the third is refused with 429 and told when to come back; nothing written
    assert [a.status_code for a in answers[:2]] == [201, 409]
    third = answers[2]
    assert third.status_code == 429, third.text
    assert third.json()["error"]["code"] == "rate_limited"
    assert "排队中" in third.json()["error"]["message"]
    assert int(third.headers["Retry-After"]) >= 1
    with ctx.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(FlashPurchase)) == 1
    # another shopper is not held back by this one
    assert sale.buy(item_id, sale.shopper("calm")).status_code == 201


@pytest.mark.flash_settings(flash_sale_ip_burst=3, flash_sale_ip_rate=0.1)
def test_the_rate_limit_per_ip_rejects_many_shoppers_from_one_address(
    client: TestClient, ctx: Context, gate_mode: str
) -> None:
    sale = _sale(client, ctx)
    item_id = sale.session(quantity=10, limit=1)["items"][0]["id"]
    answers = [sale.buy(item_id, sale.shopper(f"bot{i}")) for i in range(5)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429, 429]
    assert answers[3].json()["error"]["code"] == "rate_limited"


def test_a_saturated_gate_answers_the_waiting_room_and_keeps_the_unit(
    client: TestClient, ctx: Context, gate_mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a sale of one unit, and a gate whose placements are all taken
    sale = _sale(client, ctx)
    made = sale.session(quantity=1)
    item_id = made["items"][0]["id"]
    monkeypatch.setattr(ctx.flash_gate, "enter", lambda: False)

    # when a shopper presses buy
    answer = sale.buy(item_id, sale.shopper("queued"))

    # then they are told to wait (429 排队中 + Retry-After), and the unit is still there
    assert answer.status_code == 429
    assert answer.json()["error"] == {
        "code": "waiting_room",
        "message": answer.json()["error"]["message"],
        "fields": {"retry_after_seconds": "1"},
    }
    assert answer.json()["error"]["message"].startswith("排队中，请稍候")
    assert answer.headers["Retry-After"] == "1"
    monkeypatch.undo()
    assert sale.reconcile(made["id"])["clean"] is True
    assert sale.buy(item_id, sale.shopper("next")).status_code == 201


def test_a_session_opens_and_closes_on_its_shanghai_boundaries(
    client: TestClient, ctx: Context, gate_mode: str
) -> None:
    # given 每天10点 from 10:00 to 10:30 Shanghai, and the clock at 09:59:59 there
    sale = _sale(client, ctx)
    ctx.clock.advance(timedelta(seconds=-1))  # type: ignore[attr-defined]  # 01:59:59Z
    made = sale.session(quantity=5, starts_at="2026-11-02T10:00:00+08:00",
                        ends_at="2026-11-02T10:30:00+08:00")  # fmt: skip
    item_id = made["items"][0]["id"]
    assert made["starts_at"].startswith("2026-11-02T02:00:00")  # stored in UTC
    assert made["ends_at"].startswith("2026-11-02T02:30:00")
    channel = client.get("/api/app/flash-sales").json()
    shown = channel["sessions"][0]
    assert (shown["phase"], shown["starts_in_seconds"], shown["ends_in_seconds"]) == (
        "upcoming", 1, 1801,
    )  # fmt: skip
    assert shown["items"][0]["units_left"] == 5
    who = sale.shopper("early")
    assert _code(sale.buy(item_id, who)) == "flash_not_running"

    # when it is 10:00:00 it is on; at 10:30:00 it is over
    ctx.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    assert client.get("/api/app/flash-sales").json()["sessions"][0]["phase"] == "running"
    assert sale.buy(item_id, who).status_code == 201
    ctx.clock.advance(timedelta(minutes=30))  # type: ignore[attr-defined]
    late = sale.shopper("late")
    assert _code(sale.buy(item_id, late)) == "flash_not_running"
    assert client.get("/api/app/flash-sales").json()["sessions"] == []


def test_the_last_unit_s_buyer_retrying_after_the_sell_out_gets_their_order_again(
    client: TestClient, ctx: Context, gate_mode: str
) -> None:
    # given a sale of one unit, bought by a shopper whose answer was lost on the way
    sale = _sale(client, ctx)
    item_id = sale.session(quantity=1)["items"][0]["id"]
    lucky = sale.shopper("lucky")
    first = sale.buy(item_id, lucky, key="lost-answer")
    assert first.status_code == 201, first.text

    # when their client retries with the same key, the sale now sold out
    again = sale.buy(item_id, lucky, key="lost-answer")

    # then the retry replays the order, and a newcomer is told it is sold out
    assert again.status_code == 201, again.text
    assert again.json()["order"]["id"] == first.json()["order"]["id"]
    assert _code(sale.buy(item_id, sale.shopper("late"))) == "flash_sold_out"
