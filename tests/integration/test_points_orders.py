"""Points on real orders through the HTTP API, on SQLite and PostgreSQL: spent at
placement, pending at payment, credited when the order settles, and a refund of one
line reverses exactly that line's share, to the point and to the fen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.loyalty import ledger
from siyu.loyalty.rules import EntryKind, RewardEvent
from siyu.loyalty.service import grant_reward
from siyu.worker import Worker
from tests.helpers import shopper_headers
from tests.integration.points_shop import Shop, open_shop

# 3 × ¥33.33 (A) and 1 × ¥19.99 (B) with 2000 points (¥20) redeemed: the points fen
# split 1667 / 333 over the lines, so A pays 9999 − 1667 = 8332 and B 1999 − 333 =
# 1666; the order earns ⌊9998 / 100⌋ = 99 points, split 83 / 16 by what each line paid.
GIVEN_POINTS = 2000


@pytest.fixture
def shop(client: TestClient, ctx: Context) -> Shop:
    shop = open_shop(client, ctx)
    shop.give(GIVEN_POINTS)
    return shop


def _order(shop: Shop) -> dict[str, object]:
    placed = shop.place({shop.sku_a: 3, shop.sku_b: 1})
    assert placed.status_code == 201, placed.text
    return dict(placed.json())


def _line(order: dict[str, object], sku_id: int) -> dict[str, int]:
    lines = order["lines"]
    assert isinstance(lines, list)
    return next(li for li in lines if li["sku_id"] == sku_id)


def test_the_quote_offers_the_real_balance_and_placement_debits_exactly_points_used(
    shop: Shop,
) -> None:
    # given a shopper holding 2000 points
    # when they ask for a quote with points
    quote = shop.quote(shop.sku_a, 3)

    # then the quote offers the balance, capped at half the goods (¥49.99 → 4999 fen)
    assert (quote["points_available"], quote["points_used"], quote["points_fen"]) == (
        2000,
        2000,
        2000,
    )
    # and placing the order takes exactly those points, no more
    order = _order(shop)
    assert order["total_fen"] == 9998
    assert shop.balance() == (0, 0)
    assert shop.entries()[-1] == ("order_spend", "available", -2000, f"order:{order['id']}:spend")


def test_points_are_pending_at_payment_and_credited_when_the_window_closes(shop: Shop) -> None:
    # given a paid order that spent 2000 points and earns 99
    order = _order(shop)
    shop.pay(int(order["id"]))  # type: ignore[call-overload]
    assert shop.balance() == (0, 99)

    # when it is received and the 7-day after-sales window passes
    shop.ship_and_confirm(int(order["id"]))  # type: ignore[call-overload]
    shop.pass_time(timedelta(days=7))
    assert shop.balance() == (0, 99)  # the window's last instant still takes requests
    shop.pass_time(timedelta(seconds=2))

    # then the 99 points are credited, once
    assert shop.balance() == (99, 0)
    shop.pass_time(timedelta(days=30))
    assert shop.balance() == (99, 0)
    kinds = [(kind, bucket, delta) for kind, bucket, delta, _ in shop.entries()]
    assert kinds == [
        ("reward", "available", 2000),
        ("order_spend", "available", -2000),
        ("order_earn", "pending", 99),
        ("order_settled", "pending", -99),
        ("order_settled", "available", 99),
    ]


@pytest.mark.parametrize(
    ("line", "units", "refund_fen", "after"),
    [
        # line A (8332 fen paid, 83 earned, 1667 spent), 1 of 3 units:
        # ⌊8332/3⌋ = 2777 fen; ⌊83 × 2777 / 8332⌋ = 27 earned back; ⌊1667/3⌋ = 555 spent back
        ("a", 1, 2777, (555, 99 - 27)),
        # 2 of 3 units: 5554 fen; ⌊83 × 5554 / 8332⌋ = 55; ⌊1667 × 2/3⌋ = 1111
        ("a", 2, 5554, (1111, 99 - 55)),
        # every unit of A: all it paid, earned and spent
        ("a", 3, 8332, (1667, 99 - 83)),
        # line B (1666 fen, 16 earned, 333 spent), its one unit
        ("b", 1, 1666, (333, 99 - 16)),
    ],
)
def test_a_refund_of_one_line_reverses_exactly_that_lines_share(
    shop: Shop, line: str, units: int, refund_fen: int, after: tuple[int, int]
) -> None:
    # given a paid order that spent 2000 points and earns 99 (pending)
    order = _order(shop)
    paid = shop.pay(int(order["id"]))  # type: ignore[call-overload]
    refunded_line = _line(paid, shop.sku_a if line == "a" else shop.sku_b)

    # when that line is refunded in part or whole
    shop.refund(int(order["id"]), [(refunded_line["id"], units)])  # type: ignore[call-overload]

    # then the money refunded is that line's share to the fen
    final = shop.client.get(f"/api/app/orders/{order['id']}", headers=shop.shopper).json()
    assert final["refunded_fen"] == refund_fen
    # and the points: spent points back to the balance, earned points off the pending
    assert shop.balance() == after


def test_refunds_line_by_line_add_up_to_everything_and_nothing_settles(shop: Shop) -> None:
    # given a paid, received order that spent 2000 points and earns 99
    order = _order(shop)
    shop.pay(int(order["id"]))  # type: ignore[call-overload]
    done = shop.ship_and_confirm(int(order["id"]))  # type: ignore[call-overload]
    a, b = _line(done, shop.sku_a)["id"], _line(done, shop.sku_b)["id"]

    # when A comes back one unit, then two, then B, all within the window
    shop.refund(int(order["id"]), [(a, 1)], "return_refund")  # type: ignore[call-overload]
    assert shop.balance() == (555, 72)
    shop.refund(int(order["id"]), [(a, 2)], "return_refund")  # type: ignore[call-overload]
    assert shop.balance() == (1667, 16)
    shop.refund(int(order["id"]), [(b, 1)], "return_refund")  # type: ignore[call-overload]

    # then every point spent is back, nothing is pending, and the window closing adds none
    assert shop.balance() == (2000, 0)
    shop.pass_time(timedelta(days=8))
    assert shop.balance() == (2000, 0)
    assert [k for k, *_ in shop.entries()].count("order_settled") == 0


def test_a_cancelled_order_gives_back_every_point_it_spent(shop: Shop) -> None:
    # given an unpaid order that spent 2000 points
    order = _order(shop)
    assert shop.balance() == (0, 0)

    # when the shopper cancels it, twice
    first = shop.client.post(f"/api/app/orders/{order['id']}/cancel", headers=shop.shopper)
    second = shop.client.post(f"/api/app/orders/{order['id']}/cancel", headers=shop.shopper)

    # then the points are back once, and spendable again
    assert (first.status_code, second.status_code) == (200, 409)
    assert shop.balance() == (2000, 0)
    assert shop.quote(shop.sku_a, 3)["points_available"] == 2000


def test_the_payment_timeout_gives_the_points_back(shop: Shop) -> None:
    # given an unpaid order that spent 2000 points
    _order(shop)

    # when the 30-minute payment timeout passes
    shop.pass_time(timedelta(minutes=31))

    # then the points are back
    assert shop.balance() == (2000, 0)


def test_a_registered_multiplier_raises_what_an_order_earns(
    client: TestClient, ctx: Context
) -> None:
    # given a bonus hooked in by its owner (a tier, the member day): ×2 for everyone
    ctx.points.add_multiplier("test.double", lambda session, shopper_id, now: 200)
    shop = open_shop(client, ctx)

    # when an order of ¥99.99 without points is paid
    placed = shop.place({shop.sku_a: 3}, use_points=False)
    shop.pay(int(placed.json()["id"]))

    # then it earns ⌊9999 / 100 × 2⌋ = 199 points, pending
    assert shop.balance() == (0, 199)


def test_unspent_points_expire_at_the_end_of_the_next_year_by_the_worker(
    client: TestClient, ctx: Context
) -> None:
    # given 300 points given on 2026-11-02, of which an order spends 100 of 200 more
    # given on 2027-01-05 (the older lot goes first)
    shop = open_shop(client, ctx)
    shop.give(300)
    ctx.clock.set(datetime(2027, 1, 5, 2, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    shop.shopper = shopper_headers(client, "points")
    shop.give(200)
    with ctx.db.transaction() as session:
        ledger.debit(
            session,
            shopper_id=shop.shopper_id,
            points=100,
            kind=EntryKind.order_spend,
            key="test:spend",
            now=ctx.clock.now(),
        )
    assert shop.balance() == (400, 0)

    # when the worker sweeps one second before and at the end of 2027 in Shanghai
    ctx.clock.set(datetime(2027, 12, 31, 15, 59, 59, tzinfo=UTC))  # type: ignore[attr-defined]
    Worker(ctx).tick()
    assert shop.balance() == (400, 0)
    ctx.clock.set(datetime(2027, 12, 31, 16, 0, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    Worker(ctx).tick()

    # then the 200 left of 2026's points expire, with an entry; 2027's 200 stay
    assert shop.balance() == (200, 0)
    assert shop.entries()[-1][:3] == ("expire", "available", -200)


def test_an_event_reward_is_granted_once_however_often_it_is_asked(
    client: TestClient, ctx: Context
) -> None:
    # given a shopper
    shop = open_shop(client, ctx)

    # when the sign-up reward is granted three times
    with ctx.db.transaction() as session:
        granted = [
            grant_reward(
                session,
                ctx.points,
                shopper_id=shop.shopper_id,
                event=RewardEvent.signup,
                points=50,
                ref="",
                now=ctx.clock.now(),
            )
            for _ in range(3)
        ]

    # then it applied once
    assert granted[0] is not None and granted[1:] == [None, None]
    assert shop.balance() == (50, 0)


def test_points_given_back_to_a_lot_past_its_expiry_expire_again_at_once(
    client: TestClient, ctx: Context
) -> None:
    # given 300 points of 2026, 100 of them spent on an unpaid order, and the rest
    # expired at the end of 2027
    shop = open_shop(client, ctx)
    shop.give(300)
    with ctx.db.transaction() as session:
        spend = ledger.debit(
            session,
            shopper_id=shop.shopper_id,
            points=100,
            kind=EntryKind.order_spend,
            key="test:spend",
            now=ctx.clock.now(),
        )
    assert spend is not None
    ctx.clock.set(datetime(2028, 1, 2, tzinfo=UTC))  # type: ignore[attr-defined]
    Worker(ctx).tick()
    assert shop.balance() == (0, 0)

    # when the 100 spent points come back (twice: a retried cancel)
    for _ in range(2):
        with ctx.db.transaction() as session:
            ledger.give_back(
                session,
                spend_entry_id=spend,
                points=100,
                kind=EntryKind.order_spend_returned,
                key="test:back",
                now=ctx.clock.now(),
            )

    # then they return to their lot, which expires them again at once, and only once
    assert shop.balance() == (0, 0)
    assert [e[:3] for e in shop.entries()[-3:]] == [
        ("expire", "available", -200),
        ("order_spend_returned", "available", 100),
        ("expire", "available", -100),
    ]


def test_the_shopper_sees_what_an_order_earns_and_when_it_is_credited(shop: Shop) -> None:
    # given a paid order that spent 2000 points and earns 99, one B refunded
    order = _order(shop)
    order_id = int(order["id"])  # type: ignore[call-overload]
    paid = shop.pay(order_id)
    shop.refund(order_id, [(_line(paid, shop.sku_b)["id"], 1)])
    path = f"/api/app/points/orders/{order_id}"

    # when the shopper looks before and after the window closes
    before = shop.client.get(path, headers=shop.shopper).json()
    shop.ship_and_confirm(order_id)
    shop.pass_time(timedelta(days=7, seconds=2))
    after = shop.client.get(path, headers=shop.shopper).json()

    # then the order earns 99 − 16 = 83 and spent 2000 − 333, credited once settled
    assert before == {"order_id": order_id, "earned": 83, "credited": False, "spent": 1667}
    assert after == {"order_id": order_id, "earned": 83, "credited": True, "spent": 1667}
    assert shop.balance() == (333 + 83, 0)
    # and another shopper's order is simply not found
    other = open_shop(shop.client, shop.ctx, code="someone-else")
    assert shop.client.get(path, headers=other.shopper).status_code == 404
