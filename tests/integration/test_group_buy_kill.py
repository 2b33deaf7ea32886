"""A worker SIGKILLed while it fails expired groups and refunds their members, on
PostgreSQL with real ``siyu worker`` processes: a second worker finishes the job, and
every paid member is refunded exactly once — no refund lost, none twice."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select

from siyu.app import create_app
from siyu.bootstrap import build_context
from siyu.catalog.models import Sku
from siyu.clock import FrozenClock
from siyu.config import Env, Settings
from siyu.group_buy.models import GroupBuyGroup, GroupBuySeat
from siyu.order.models import Order
from siyu.payment.models import Refund
from tests.helpers import create_product, operator_headers
from tests.integration.test_group_buy import STOCK, GroupShop
from tests.integration.test_multiprocess import Fleet, migrated_postgres

GROUPS = 12

__all__ = ["migrated_postgres"]  # the fixture, shared with the multiprocess test


def _counts(url: str) -> tuple[int, int, int]:
    """(failed groups, refunds, succeeded refunds)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            failed = conn.scalar(select(func.count()).where(GroupBuyGroup.status == "failed"))
            refunds = conn.scalar(select(func.count()).select_from(Refund))
            done = conn.scalar(select(func.count()).where(Refund.status == "succeeded"))
        return int(failed or 0), int(refunds or 0), int(done or 0)
    finally:
        engine.dispose()


def test_a_worker_killed_while_failing_groups_leaves_each_member_refunded_exactly_once(
    migrated_postgres: str, tmp_path: Path
) -> None:
    url = migrated_postgres
    settings = Settings(
        env=Env.test, database_url=url, data_dir=tmp_path / "data",
        analytics_url=f"chdb://{tmp_path / 'analytics-seed'}", run_worker=False,
    )  # fmt: skip
    # given twelve 3-person groups, opened two days ago with two paid members each:
    # their deadlines passed a day ago
    ctx = build_context(settings, clock=FrozenClock(datetime.now(UTC) - timedelta(days=2)))
    try:
        with TestClient(create_app(ctx=ctx, run_worker=False)) as client:
            admin = operator_headers(client, ctx)
            product = create_product(
                client, admin, skus=[{"spec": {"烘焙": "中度"}, "price_fen": 5900, "stock": STOCK}]
            )
            shop = GroupShop(client, ctx, admin, int(product["skus"][0]["id"]))
            campaign = shop.campaign([(3, 3900)])
            for g in range(GROUPS):
                group_id, _ = shop.opened_group(campaign["id"], f"kill-lead{g}")
                member = shop.shopper(f"kill-member{g}")
                shop.pay(shop.join(group_id, member).json()["order"]["id"], member)
            sku_id = shop.sku_id
    finally:
        ctx.close()

    env = {k: v for k, v in os.environ.items() if not k.startswith("SIYU_")} | {
        "SIYU_ENV": "test", "SIYU_DATABASE_URL": url, "SIYU_DATA_DIR": str(tmp_path / "data"),
        "SIYU_WORKER_INTERVAL_SECONDS": "0.05",
    }  # fmt: skip
    fleet = Fleet(env, tmp_path, [])
    try:
        # when a worker starts failing the groups and is killed as soon as the first
        # refunds are written
        first = fleet.start("worker-1", "worker", analytics=tmp_path / "analytics-1")
        deadline = time.monotonic() + 90
        while _counts(url)[1] == 0 and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        at_kill = _counts(url)
        assert at_kill[1] > 0, fleet.log("worker-1")

        # and another worker takes over
        second = fleet.start("worker-2", "worker", analytics=tmp_path / "analytics-2")
        deadline = time.monotonic() + 120
        while _counts(url) != (GROUPS, 2 * GROUPS, 2 * GROUPS) and time.monotonic() < deadline:
            time.sleep(0.3)
        fleet.stop(second)
    finally:
        for process in fleet.processes:
            fleet.stop(process)

    # then every group failed and each paid member got their money back once
    assert _counts(url) == (GROUPS, 2 * GROUPS, 2 * GROUPS), (at_kill, fleet.log("worker-2"))
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            per_order = conn.execute(
                select(Refund.order_id, func.count(), func.sum(Refund.amount_fen)).group_by(
                    Refund.order_id
                )
            ).all()
            orders = conn.execute(
                select(Order.paid_fen, Order.refunded_fen).where(Order.paid_fen > 0)
            ).all()
            seats = conn.scalars(select(GroupBuySeat.status)).all()
            stock = conn.scalar(select(Sku.stock).where(Sku.id == sku_id))
    finally:
        engine.dispose()
    assert len(per_order) == 2 * GROUPS
    assert all(n == 1 and amount == 3900 for _, n, amount in per_order)
    assert all(paid == refunded == 3900 for paid, refunded in orders)
    assert sorted(set(seats)) == ["refunded"]
    assert stock == STOCK
