"""Server-side facts: domain events from the outbox land in ``events`` once, with the
shopper's first-touch channel, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update

from siyu.analytics.schema import LINKS
from siyu.analytics.store import AnalyticsStore
from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.clock import FrozenClock
from siyu.outbox import EventDelivery, OutboxEvent
from siyu.tracking.facts import SUBSCRIBER
from siyu.worker import Worker
from tests.conftest import make_settings
from tests.helpers import create_product, operator_headers, place_order
from tests.tracking.conftest import raw_count, stored


@pytest.fixture
def facts_ctx(
    database_url: str, tmp_path: Path, clock: FrozenClock, analytics_store: AnalyticsStore
) -> Iterator[Context]:
    context = build_context(
        make_settings(database_url, tmp_path), clock=clock, analytics=analytics_store
    )
    yield context
    context.close()


@pytest.fixture
def facts_client(facts_ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx=facts_ctx, run_worker=False)) as test_client:
        yield test_client


def _buy_one_coffee(client: TestClient, ctx: Context) -> tuple[int, int]:
    """A shopper who came from QR code AB12 buys and pays; returns (shopper, order)."""
    admin = operator_headers(client, ctx)
    sku_id = create_product(client, admin)["skus"][0]["id"]
    login = client.post(
        "/api/app/login",
        json={"code": "wx-bob", "scene": 1047, "qr_scene": "c=AB12"},
        headers={"X-Siyu-Anonymous-Id": "device-bob-0001"},
    )
    shopper = {"Authorization": f"Bearer {login.json()['token']}"}
    order = place_order(client, shopper, sku_id).json()
    assert client.post(f"/api/app/orders/{order['id']}/pay", headers=shopper).status_code == 200
    paid = client.post(f"/api/app/orders/{order['id']}/sandbox-pay", headers=shopper)
    assert paid.json()["status"] == "paid", paid.text
    return login.json()["shopper"]["id"], order["id"]


def test_a_paid_order_becomes_server_facts_with_the_first_touch_channel(
    facts_client: TestClient, facts_ctx: Context, analytics_store: AnalyticsStore
) -> None:
    # given a shopper from QR code AB12 who bought a 59-yuan coffee
    shopper_id, order_id = _buy_one_coffee(facts_client, facts_ctx)

    # when the outbox is relayed
    Worker(facts_ctx).drain()

    # then registration, login, placement and payment are facts of that shopper's device
    rows = stored(
        analytics_store,
        "event, shopper_id, anonymous_id, channel, channel_code, amount_fen, order_id",
        "source = 'server'",
    )
    assert sorted(rows) == [
        ("order.paid", shopper_id, "device-bob-0001", "qr", "AB12", 5900, order_id),
        ("order.placed", shopper_id, "device-bob-0001", "qr", "AB12", 5900, order_id),
        ("shopper.logged_in", shopper_id, "device-bob-0001", "qr", "", 0, 0),
        ("shopper.registered", shopper_id, "device-bob-0001", "qr", "AB12", 0, 0),
    ]
    # and each fact's event id is its outbox event id
    with facts_ctx.db.transaction() as session:
        outbox_ids = set(session.scalars(select(OutboxEvent.event_id)).all())
    assert {r[0] for r in stored(analytics_store, "event_id")} <= outbox_ids


def test_facts_relayed_twice_are_stored_once(
    facts_client: TestClient, facts_ctx: Context, analytics_store: AnalyticsStore
) -> None:
    # given facts already relayed to the analytics store
    shopper_id, _ = _buy_one_coffee(facts_client, facts_ctx)
    Worker(facts_ctx).drain()
    first = raw_count(analytics_store)

    # when a crash lost the deliveries' commits, so the outbox relays every event again
    with facts_ctx.db.transaction() as session:
        session.execute(delete(EventDelivery).where(EventDelivery.subscriber == SUBSCRIBER))
        session.execute(update(OutboxEvent).values(published_at=None, claimed_until=None))
    Worker(facts_ctx).drain()

    # then nothing is counted twice, even before background merges
    assert first == 4
    assert raw_count(analytics_store) == 4
    assert len(stored(analytics_store, "event_id")) == 4
    # and the device still belongs to that one shopper (repeated links collapse)
    links = analytics_store.query(
        f"SELECT anonymous_id, linked_shopper FROM {LINKS.format(db=analytics_store.database)}"
    ).rows
    assert links == [("device-bob-0001", shopper_id)]
