"""Check-in, points mall and lottery on SQLite and PostgreSQL, with real threads:
one reward for 20 concurrent check-ins, exactly 5 exchanges of an item with 5 left,
prize stock never below zero under 50 draws, Beijing dates at the UTC boundary,
daily limits and the campaign window refused with clear codes."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from siyu.bootstrap import Context
from siyu.catalog.models import Sku
from siyu.loyalty.checkin import service as checkin
from siyu.loyalty.checkin.models import Checkin
from siyu.loyalty.lottery.models import LotteryDraw, LotteryPrize
from siyu.loyalty.mall.models import MallExchange
from tests.helpers import create_product
from tests.integration.points_shop import open_shop

T = TypeVar("T")


def _concurrently(n: int, work: Callable[[int], T]) -> list[T]:
    barrier = threading.Barrier(n)

    def run(i: int) -> T:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return [f.result() for f in [pool.submit(run, i) for i in range(n)]]


def _key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def _count(ctx: Context, stmt: Any) -> int:
    with ctx.db.transaction() as session:
        return int(session.scalar(stmt) or 0)


def test_twenty_concurrent_check_ins_give_one_check_in_and_one_reward(
    client: TestClient, ctx: Context
) -> None:
    # given a shopper who has not checked in today
    shop = open_shop(client, ctx)

    # when the shopper checks in 20 times at the same moment
    responses = _concurrently(20, lambda i: client.post("/api/app/checkin", headers=shop.shopper))

    # then one check-in of day 1 (5 points) and 19 clear refusals
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 19}
    refused = {r.json()["error"]["code"] for r in responses if r.status_code == 409}
    assert refused == {"already_checked_in"}
    assert _count(ctx, select(func.count()).select_from(Checkin)) == 1
    assert shop.entries() == [("reward", "available", 5, f"checkin:{shop.shopper_id}:2026-11-02")]
    assert shop.balance() == (5, 0)


def test_check_ins_at_15_59_59_and_16_00_00_utc_are_two_beijing_dates(
    client: TestClient, ctx: Context
) -> None:
    # given a shopper
    shop = open_shop(client, ctx)
    before = datetime(2026, 11, 2, 15, 59, 59, tzinfo=UTC)  # 23:59:59 on 11-02 in Beijing

    # when they check in one second either side of Beijing midnight
    with ctx.db.transaction() as session:
        first = checkin.check_in(session, ctx.points, shopper_id=shop.shopper_id, now=before)
    with ctx.db.transaction() as session:
        second = checkin.check_in(
            session, ctx.points, shopper_id=shop.shopper_id, now=before + timedelta(seconds=1)
        )

    # then two dates, a streak of two, 5 + 5 points
    assert (first.day, first.streak) == (date(2026, 11, 2), 1)
    assert (second.day, second.streak) == (date(2026, 11, 3), 2)
    assert shop.balance() == (10, 0)


def test_fifty_concurrent_exchanges_of_an_item_with_five_left_make_exactly_five(
    client: TestClient, ctx: Context
) -> None:
    # given goods with 5 units left, priced 100 points, and a shopper with 10,000 points
    shop = open_shop(client, ctx)
    shop.give(10_000)
    product = create_product(
        client, shop.admin, skus=[{"spec": {"色": "红"}, "price_fen": 9900, "stock": 5}]
    )
    sku_id = int(product["skus"][0]["id"])
    item = client.post(
        "/api/admin/mall/items",
        json={"name": "口红", "kind": "goods", "points_price": 100, "sku_id": sku_id},
        headers=shop.admin,
    )
    assert item.status_code == 201, item.text

    # when the shopper asks for it 50 times at once
    responses = _concurrently(
        50,
        lambda i: client.post(
            f"/api/app/mall/items/{item.json()['id']}/exchanges",
            headers=shop.shopper | _key(),
        ),
    )

    # then 5 exchanges, stock 0, 45 told it is sold out, 5 debits of 100 points
    assert Counter(r.status_code for r in responses) == {201: 5, 409: 45}
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "mall_sold_out"
    }
    assert _count(ctx, select(func.count()).select_from(MallExchange)) == 5
    assert _count(ctx, select(Sku.stock).where(Sku.id == sku_id)) == 0
    spends = [e for e in shop.entries() if e[0] == "mall_exchange"]
    assert [e[2] for e in spends] == [-100] * 5
    assert shop.balance() == (10_000 - 500, 0)


def _campaign(client: TestClient, admin: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body = {
        "name": "100积分抽口红",
        "cost_points": 100,
        "daily_limit": 0,
        "starts_at": "2026-11-01T00:00:00Z",
        "ends_at": "2026-12-01T00:00:00Z",
        "prizes": [
            {"name": "50积分", "kind": "points", "weight_ppm": 1_000_000, "stock": 3,
             "points": 50},
            {"name": "谢谢参与", "kind": "thanks", "weight_ppm": 0},
        ],
    } | overrides  # fmt: skip
    created = client.post("/api/admin/lottery", json=body, headers=admin)
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_fifty_concurrent_draws_never_take_prize_stock_below_zero(
    client: TestClient, ctx: Context
) -> None:
    # given a prize that every ticket lands on, with 3 in stock, falling back to thanks
    shop = open_shop(client, ctx)
    shop.give(10_000)
    campaign = _campaign(client, shop.admin)
    prize_id, thanks_id = (p["id"] for p in campaign["prizes"])

    # when 50 draws happen at once
    responses = _concurrently(
        50,
        lambda i: client.post(
            f"/api/app/lottery/{campaign['id']}/draws", headers=shop.shopper | _key()
        ),
    )

    # then 3 give the prize, 47 the fallback, all recorded, 50 debits of 100
    assert Counter(r.status_code for r in responses) == {201: 50}
    given = Counter((r.json()["given_prize_id"], r.json()["fallback_reason"]) for r in responses)
    assert given == {(prize_id, ""): 3, (thanks_id, "prize_out_of_stock"): 47}
    assert _count(ctx, select(LotteryPrize.stock).where(LotteryPrize.id == prize_id)) == 0
    assert _count(ctx, select(func.count()).select_from(LotteryDraw)) == 50
    assert {r.json()["landed_prize_id"] for r in responses} == {prize_id}
    kinds = Counter((e[0], e[2]) for e in shop.entries())
    assert kinds[("lottery_draw", -100)] == 50
    assert kinds[("lottery_prize", 50)] == 3
    assert shop.balance() == (10_000 - 5000 + 150, 0)
    stats = client.get(f"/api/admin/lottery/{campaign['id']}/stats", headers=shop.admin).json()
    assert stats == {
        "draws": 50,
        "points_spent": 5000,
        "given_by_prize": {str(prize_id): 3, str(thanks_id): 47},
    }


def test_the_daily_limit_and_the_campaign_window_are_refused_with_clear_codes(
    client: TestClient, ctx: Context
) -> None:
    # given a campaign of 2 draws a day, and one that has not started
    shop = open_shop(client, ctx)
    shop.give(1000)
    limited = _campaign(client, shop.admin, daily_limit=2)
    later = _campaign(client, shop.admin, starts_at="2026-11-20T00:00:00Z")

    # when the shopper draws three times, and once in the later campaign
    draws = [
        client.post(f"/api/app/lottery/{limited['id']}/draws", headers=shop.shopper | _key())
        for _ in range(3)
    ]
    early = client.post(f"/api/app/lottery/{later['id']}/draws", headers=shop.shopper | _key())

    # then two draws, then 409 lottery_daily_limit; 409 lottery_not_started; 2 debits
    assert [r.status_code for r in draws] == [201, 201, 409]
    assert draws[2].json()["error"]["code"] == "lottery_daily_limit"
    assert (early.status_code, early.json()["error"]["code"]) == (409, "lottery_not_started")
    assert shop.balance() == (1000 - 200 + 100, 0)


def test_bad_lottery_and_check_in_rules_are_422_with_fields_and_write_nothing(
    client: TestClient, ctx: Context
) -> None:
    # given an operator
    shop = open_shop(client, ctx)

    # when the odds add up to 90% and a check-in day gives nothing
    lottery = client.post(
        "/api/admin/lottery",
        json={
            "name": "坏", "cost_points": 10, "daily_limit": 1,
            "starts_at": "2026-11-01T00:00:00Z", "ends_at": "2026-12-01T00:00:00Z",
            "prizes": [{"name": "谢谢参与", "kind": "thanks", "weight_ppm": 900_000}],
        },
        headers=shop.admin,
    )  # fmt: skip
    rule = client.put(
        "/api/admin/checkin/rule",
        json={"rewards": [{"points": 5}, {"points": 0}]},
        headers=shop.admin,
    )
    garbage = client.post("/api/admin/mall/items", json={"kind": "car"}, headers=shop.admin)

    # then 422s naming the fields, and the default rule still holds
    assert lottery.status_code == 422
    assert lottery.json()["error"]["fields"] == {"weights": "the odds add up to 90%, not 100%"}
    assert rule.status_code == 422
    assert rule.json()["error"]["fields"] == {"rewards.1": "a day gives points or a coupon"}
    assert garbage.status_code == 422
    current = client.get("/api/admin/checkin/rule", headers=shop.admin).json()
    assert [r["points"] for r in current["rewards"]] == [5, 5, 5, 5, 5, 5, 50]


def test_a_make_up_costs_its_points_joins_the_streak_and_is_off_by_default(
    client: TestClient, ctx: Context
) -> None:
    # given a shopper with 100 points who checked in on 11-02 and missed 11-03
    shop = open_shop(client, ctx)
    shop.give(100)
    day2 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    day4 = day2 + timedelta(days=2)
    with ctx.db.transaction() as session:
        checkin.check_in(session, ctx.points, shopper_id=shop.shopper_id, now=day2)
    off = client.post("/api/app/checkin/makeup", json={"day": "2026-11-03"}, headers=shop.shopper)

    # when the store turns make-ups on and the shopper fills 11-03 on 11-04, then checks in
    rule = client.put(
        "/api/admin/checkin/rule",
        json={"rewards": [{"points": 5}, {"points": 5}, {"points": 30}], "makeup_enabled": True},
        headers=shop.admin,
    )
    assert rule.status_code == 200, rule.text
    with ctx.db.transaction() as session:
        checkin.make_up(session, shopper_id=shop.shopper_id, day=date(2026, 11, 3), now=day4)
        done = checkin.check_in(session, ctx.points, shopper_id=shop.shopper_id, now=day4)
        status = checkin.checkin_status(session, shopper_id=shop.shopper_id, now=day4)

    # then off by default (409), 20 points for the make-up, day 3 of the cycle (30 points)
    assert (off.status_code, off.json()["error"]["code"]) == (409, "makeup_disabled")
    assert (done.streak, done.cycle_day, done.points) == (3, 3, 30)
    assert shop.balance() == (100 + 5 - 20 + 30, 0)
    assert (status.checked_today, status.streak, status.next_reward.points) == (True, 3, 5)
    assert status.makeups_left == 1
    assert [d.day.day for d in status.calendar if d.checked] == [2, 3, 4]


def test_a_coupon_item_keeps_its_per_shopper_limit_and_a_retry_exchanges_once(
    client: TestClient, ctx: Context
) -> None:
    # given a coupon item of 300 points, one per shopper, and a shopper with 1000 points
    shop = open_shop(client, ctx)
    shop.give(1000)
    template = client.post(
        "/api/admin/coupon-templates",
        json={"name": "无门槛5元", "kind": "cash_off", "amount_fen": 500, "valid_days": 7,
              "per_shopper_limit": 5},
        headers=shop.admin,
    )  # fmt: skip
    assert template.status_code == 201, template.text
    item = client.post(
        "/api/admin/mall/items",
        json={"name": "5元券", "kind": "coupon", "points_price": 300, "per_shopper_limit": 1,
              "coupon_template_id": template.json()["id"]},
        headers=shop.admin,
    ).json()  # fmt: skip
    url = f"/api/app/mall/items/{item['id']}/exchanges"

    # when the shopper exchanges, retries the same request, then asks for a second one
    key = _key()
    first = client.post(url, headers=shop.shopper | key)
    retry = client.post(url, headers=shop.shopper | key)
    second = client.post(url, headers=shop.shopper | _key())

    # then one exchange with a coupon, the retry is that exchange, the second is refused
    assert first.status_code == 201, first.text
    assert first.json()["coupon_id"] is not None
    assert retry.json()["id"] == first.json()["id"]
    assert (second.status_code, second.json()["error"]["code"]) == (409, "mall_limit_reached")
    assert shop.balance() == (700, 0)
    mine = client.get("/api/app/mall/exchanges", headers=shop.shopper).json()
    assert [(e["points"], e["status"]) for e in mine] == [(300, "done")]


def test_a_goods_prize_reserves_its_sku_and_falls_back_when_the_sku_runs_out(
    client: TestClient, ctx: Context
) -> None:
    # given a goods prize every ticket lands on (5 prizes) whose SKU has 1 unit left
    shop = open_shop(client, ctx)
    shop.give(1000)
    product = create_product(
        client, shop.admin, skus=[{"spec": {"色": "红"}, "price_fen": 9900, "stock": 1}]
    )
    sku_id = int(product["skus"][0]["id"])
    campaign = _campaign(
        client,
        shop.admin,
        prizes=[
            {"name": "口红", "kind": "goods", "weight_ppm": 1_000_000, "stock": 5,
             "sku_id": sku_id},
            {"name": "谢谢参与", "kind": "thanks", "weight_ppm": 0},
        ],
    )  # fmt: skip
    goods_id, thanks_id = (p["id"] for p in campaign["prizes"])

    # when the shopper draws twice
    url = f"/api/app/lottery/{campaign['id']}/draws"
    first, second = (client.post(url, headers=shop.shopper | _key()).json() for _ in range(2))

    # then the first wins the lipstick (one unit reserved to ship), the second falls back
    assert (first["given_prize_id"], first["sku_id"], first["fallback_reason"]) == (
        goods_id, sku_id, "",
    )  # fmt: skip
    assert (second["given_prize_id"], second["sku_id"], second["fallback_reason"]) == (
        thanks_id, None, "goods_out_of_stock",
    )  # fmt: skip
    assert _count(ctx, select(Sku.stock).where(Sku.id == sku_id)) == 0
    assert _count(ctx, select(LotteryPrize.stock).where(LotteryPrize.id == goods_id)) == 4
    mine = client.get("/api/app/lottery-draws", headers=shop.shopper).json()
    assert [d["id"] for d in mine] == [second["id"], first["id"]]
