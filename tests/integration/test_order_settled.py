"""The settled moment, on SQLite and PostgreSQL: it fires once when the after-sales
window closes, never for a fully refunded order, and waits while a request is open."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.bootstrap import Context
from siyu.lifecycle import OrderSettled, SettledLine
from siyu.order.rules import SETTLE_TIMER
from siyu.outbox import OutboxEvent
from siyu.timers import Timer, TimerStatus
from tests.integration.points_shop import A_PRICE, B_PRICE, Shop, open_shop

WINDOW = timedelta(days=7)


def _listen(ctx: Context) -> list[OrderSettled]:
    heard: list[OrderSettled] = []

    def remember(session: Session, event: OrderSettled, now: datetime) -> None:
        heard.append(event)

    ctx.lifecycle.on_settled("test.remember", remember)
    return heard


def _completed_order(shop: Shop) -> dict[str, object]:
    placed = shop.place({shop.sku_a: 2, shop.sku_b: 1}, use_points=False)
    assert placed.status_code == 201, placed.text
    order_id = int(placed.json()["id"])
    shop.pay(order_id)
    return shop.ship_and_confirm(order_id)


def _lines(order: dict[str, object]) -> dict[int, int]:
    lines = order["lines"]
    assert isinstance(lines, list)
    return {li["sku_id"]: li["id"] for li in lines}


def _timer(ctx: Context, order_id: int) -> tuple[str, datetime]:
    with ctx.db.transaction() as session:
        timer = session.scalar(
            select(Timer).where(Timer.kind == SETTLE_TIMER, Timer.key == str(order_id))
        )
        assert timer is not None
        return str(timer.status), timer.due_at


def test_an_order_settles_once_when_its_window_closes(client: TestClient, ctx: Context) -> None:
    # given a listener on the settled moment and an order received just now
    heard = _listen(ctx)
    shop = open_shop(client, ctx)
    order = _completed_order(shop)
    received = ctx.clock.now()

    # when the window has all but closed, nothing settles
    shop.pass_time(WINDOW)
    assert heard == []

    # and when it has closed, the order settles, once, however long the worker runs
    shop.pass_time(timedelta(seconds=2))
    shop.pass_time(timedelta(days=30))
    lines = _lines(order)
    assert heard == [
        OrderSettled(
            order_id=int(order["id"]),  # type: ignore[call-overload]
            order_no=str(order["order_no"]),
            shopper_id=shop.shopper_id,
            paid_fen=2 * A_PRICE + B_PRICE,
            refunded_fen=0,
            completed_at=received,
            lines=(
                SettledLine(lines[shop.sku_a], shop.sku_a, heard[0].lines[0].product_id,
                            2, 2 * A_PRICE, 0, 0),
                SettledLine(lines[shop.sku_b], shop.sku_b, heard[0].lines[1].product_id,
                            1, B_PRICE, 0, 0),
            ),
        )
    ]  # fmt: skip
    assert _timer(ctx, int(order["id"]))[0] == TimerStatus.done  # type: ignore[call-overload]
    with ctx.db.transaction() as session:
        settled = session.scalars(
            select(OutboxEvent.event_type).where(
                OutboxEvent.aggregate_id == str(order["id"]),
                OutboxEvent.event_type == "order.settled",
            )
        ).all()
    assert list(settled) == ["order.settled"]


def test_a_fully_refunded_order_never_settles(client: TestClient, ctx: Context) -> None:
    # given a received order whose every unit is returned within the window
    heard = _listen(ctx)
    shop = open_shop(client, ctx)
    order = _completed_order(shop)
    lines = _lines(order)
    shop.refund(
        int(order["id"]),  # type: ignore[call-overload]
        [(lines[shop.sku_a], 2), (lines[shop.sku_b], 1)],
        "return_refund",
    )

    # when the window closes
    shop.pass_time(WINDOW + timedelta(seconds=2))

    # then there is nothing to settle, and the timer is done with it
    assert heard == []
    assert _timer(ctx, int(order["id"]))[0] == TimerStatus.done  # type: ignore[call-overload]


def test_an_open_request_holds_the_moment_back_until_it_is_resolved(
    client: TestClient, ctx: Context
) -> None:
    # given a received order, and on its sixth day a request to return one A
    heard = _listen(ctx)
    shop = open_shop(client, ctx)
    order = _completed_order(shop)
    order_id = int(order["id"])  # type: ignore[call-overload]
    shop.pass_time(timedelta(days=6))
    request = shop.ask_refund(order_id, [(_lines(order)[shop.sku_a], 1)], "return_refund")

    # when the window closes with the request still open
    shop.pass_time(timedelta(days=1, seconds=2))

    # then the order waits, looked at again an hour later
    assert heard == []
    status, due = _timer(ctx, order_id)
    assert (status, due) == (TimerStatus.pending, ctx.clock.now() + timedelta(hours=1))
    shop.pass_time(timedelta(hours=1))
    assert heard == []

    # and once the operator approves the return, it settles with the refund in it
    shop.approve(request)
    shop.pass_time(timedelta(hours=1))
    assert [(e.order_id, e.refunded_fen) for e in heard] == [(order_id, A_PRICE)]
    a_line = next(li for li in heard[0].lines if li.sku_id == shop.sku_a)
    assert (a_line.net_quantity, a_line.net_fen) == (1, A_PRICE)
