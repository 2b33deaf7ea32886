"""Event rewards in points from the outbox: 注册送积分 and the tier's birthday points,
each credited once however often its event is delivered."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.clock import FrozenClock
from siyu.loyalty import rewards
from siyu.loyalty.service import points_summary
from siyu.loyalty.tiers.jobs import BIRTHDAY_POINTS
from siyu.outbox import DomainEvent
from tests.conftest import make_settings
from tests.helpers import shopper_headers


@pytest.fixture
def rewarding_ctx(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[Context]:
    context = build_context(
        make_settings(database_url, tmp_path, points_signup_reward=50), clock=clock
    )
    yield context
    context.close()


def _shopper_id(client: TestClient, headers: dict[str, str]) -> int:
    return int(client.get("/api/app/me", headers=headers).json()["id"])


def _available(ctx: Context, shopper_id: int) -> tuple[int, int]:
    with ctx.db.transaction() as session:
        summary = points_summary(session, shopper_id, ctx.clock.now())
        return summary.available, summary.pending


def test_a_new_shopper_gets_the_signup_points_once(rewarding_ctx: Context) -> None:
    ctx = rewarding_ctx
    with TestClient(create_app(ctx=ctx, run_worker=False)) as client:
        # given a shopper who registers (and logs in again)
        headers = shopper_headers(client, "newcomer")
        shopper_headers(client, "newcomer")
        shopper_id = _shopper_id(client, headers)

        # when the outbox is relayed twice
        ctx.relay.relay_batch(ctx.clock.now())
        ctx.relay.relay_batch(ctx.clock.now())

        # then 50 points are spendable, once, and the API shows them
        assert _available(ctx, shopper_id) == (50, 0)
        assert client.get("/api/app/points", headers=headers).json()["available"] == 50


def test_no_signup_points_when_the_store_gives_none(client: TestClient, ctx: Context) -> None:
    shopper_id = _shopper_id(client, shopper_headers(client, "plain"))
    ctx.relay.relay_batch(ctx.clock.now())
    assert _available(ctx, shopper_id) == (0, 0)


def test_birthday_points_are_credited_once_per_year_however_often_delivered(
    client: TestClient, ctx: Context
) -> None:
    # given the tiers' birthday event for a shopper, delivered three times, and the
    # next year's once
    shopper_id = _shopper_id(client, shopper_headers(client, "birthday"))
    handler = rewards.reward_handler(ctx.points)

    def birthday(year: int) -> DomainEvent:
        return DomainEvent(
            event_id=str(uuid.uuid4()), event_type=BIRTHDAY_POINTS, aggregate_type="shopper",
            aggregate_id=str(shopper_id), occurred_at=ctx.clock.now(),
            payload={"shopper_id": shopper_id, "points": 100, "year": year, "level": 1},
        )  # fmt: skip

    # when they are handled
    for event in (birthday(2026), birthday(2026), birthday(2026), birthday(2027)):
        with ctx.db.transaction() as session:
            handler(session, event)

    # then 100 points for each year
    assert _available(ctx, shopper_id) == (200, 0)
