"""Production serving with several processes on PostgreSQL: 2 API processes
(``siyu serve --no-worker``) and 2 workers (``siyu worker``), started as real
processes, and 500 shoppers racing for 50 units across both API ports.

Exactly 50 are sold, every outbox event is delivered once to each subscriber (the
tracking facts land in the two workers' own chdb folders, so a double delivery would
show as one fact too many), and every payment-timeout timer fires once in one of
the workers (each cancelled order gives its unit back exactly once)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.engine import make_url

from siyu.app import create_app
from siyu.bootstrap import build_context
from siyu.catalog.models import Sku
from siyu.config import Env, Settings
from siyu.migrate import upgrade
from siyu.order.models import Order
from siyu.order.rules import PAYMENT_TIMEOUT_TIMER, OrderStatus
from siyu.outbox import EventDelivery, OutboxEvent
from siyu.timers import Timer, TimerStatus
from siyu.tracking.facts import FACT_EVENTS
from tests.conftest import IN_CI, POSTGRES_URL, _postgres_unavailable
from tests.helpers import ADDRESS, create_product, operator_headers

SHOPPERS = 500
STOCK = 50
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def migrated_postgres() -> Iterator[str]:
    """A temporary PostgreSQL database migrated to head, dropped afterwards."""
    problem = _postgres_unavailable()
    if problem:
        if IN_CI:
            pytest.fail(problem + " (CI=true: PostgreSQL is required)")
        pytest.skip(problem)
    name = f"siyu_mp_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Fleet:
    """The processes a test starts, stopped (SIGTERM, then kill) whatever happens."""

    env: dict[str, str]
    logs: Path
    processes: list[subprocess.Popen[bytes]]

    def start(self, name: str, *args: str, analytics: Path) -> subprocess.Popen[bytes]:
        env = self.env | {"SIYU_ANALYTICS_URL": f"chdb://{analytics}"}
        with (self.logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "siyu.cli", *args],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes], timeout: float = 20) -> int:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(5)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]


def _wait_healthy(base: str, fleet: Fleet, name: str, timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"{name} did not become healthy:\n{fleet.log(name)}")


def _analytics_facts(folder: Path) -> int:
    """Server facts in one worker's chdb folder, read in a fresh process (chdb: one
    folder per process)."""
    script = (
        "import sys\n"
        "from siyu.tracking.holder import LazyAnalyticsStore\n"
        "s = LazyAnalyticsStore(sys.argv[1])\n"
        "sql = f\"SELECT count() FROM {s.database}.events WHERE source = 'server'\"\n"
        "print(s.query(sql).scalar())\n"
        "s.close()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, f"chdb://{folder}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return int(out.stdout.strip().splitlines()[-1])


def test_two_api_processes_and_two_workers_sell_exactly_the_stock_and_do_each_effect_once(
    migrated_postgres: str, tmp_path: Path
) -> None:
    url = migrated_postgres
    settings = Settings(
        env=Env.test,
        database_url=url,
        data_dir=tmp_path / "data",
        analytics_url=f"chdb://{tmp_path / 'analytics-seed'}",
        run_worker=False,
    )
    # given one SKU with 50 units, seeded through the admin API in this process
    ctx = build_context(settings)
    try:
        with TestClient(create_app(ctx=ctx, run_worker=False)) as client:
            admin = operator_headers(client, ctx)
            product = create_product(
                client, admin, skus=[{"spec": {"规格": "限量"}, "price_fen": 9900, "stock": STOCK}]
            )
        sku_id = int(product["skus"][0]["id"])
        subscribers = list(ctx.relay.subscribers)
    finally:
        ctx.close()

    # and 2 API processes and 2 workers on that database
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIYU_")} | {
        "SIYU_ENV": "test",
        "SIYU_DATABASE_URL": url,
        "SIYU_DATA_DIR": str(tmp_path / "data"),
        "SIYU_WORKER_INTERVAL_SECONDS": "0.2",
    }
    fleet = Fleet(env, tmp_path, [])
    try:
        ports = [_free_port(), _free_port()]
        for n, port in enumerate(ports):
            fleet.start(
                f"api-{n}",
                "serve",
                "--no-worker",
                "--port",
                str(port),
                analytics=tmp_path / f"analytics-api-{n}",
            )
        workers = [
            fleet.start(f"worker-{n}", "worker", analytics=tmp_path / f"analytics-worker-{n}")
            for n in range(2)
        ]
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for n, base in enumerate(bases):
            _wait_healthy(base, fleet, f"api-{n}")

        # when 500 shoppers log in and buy one unit each across both ports; two in
        # three of those who get one pay, the others walk away
        limits = httpx.Limits(max_connections=30, max_keepalive_connections=30)
        clients = [httpx.Client(base_url=b, timeout=60, limits=limits) for b in bases]

        def shop(i: int) -> tuple[int, str, int | None, bool]:
            http = clients[i % 2]
            login = http.post("/api/app/login", json={"code": f"mp-shopper-{i:03d}"})
            assert login.status_code == 200, login.text
            auth = {"Authorization": f"Bearer {login.json()['token']}"}
            placed = http.post(
                "/api/app/orders",
                json={"items": [{"sku_id": sku_id, "quantity": 1}], "address": ADDRESS},
                headers=auth | {"Idempotency-Key": str(uuid.uuid4())},
            )
            if placed.status_code != 201:
                return placed.status_code, placed.json()["error"]["code"], None, False
            order_id = int(placed.json()["id"])
            if i % 3 == 0:
                return 201, "placed", order_id, False
            started = http.post(f"/api/app/orders/{order_id}/pay", headers=auth)
            assert started.status_code == 200, started.text
            paid = http.post(f"/api/app/orders/{order_id}/sandbox-pay", headers=auth)
            assert paid.status_code == 200, paid.text
            assert paid.json()["status"] == "paid"
            return 201, "paid", order_id, True

        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(shop, range(SHOPPERS)))
        shopping_seconds = time.monotonic() - began
        print(f"shopping: {shopping_seconds:.1f} s")
        for http in clients:
            http.close()

        # then exactly the 50 units are sold and the other 450 are refused as sold out
        assert Counter(status for status, *_ in results) == {201: STOCK, 409: SHOPPERS - STOCK}
        assert {code for status, code, *_ in results if status == 409} == {"insufficient_stock"}
        paid_ids = {oid for _, _, oid, paid in results if paid and oid is not None}
        unpaid_ids = {oid for _, _, oid, paid in results if not paid and oid is not None}
        assert len(paid_ids) + len(unpaid_ids) == STOCK and paid_ids and unpaid_ids

        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                assert conn.scalar(select(Sku.stock).where(Sku.id == sku_id)) == 0
                # when the unpaid orders' payment time is up (moved forward: the shortest
                # timeout a store may set is 2 minutes)
                moved = conn.execute(
                    update(Timer)
                    .where(
                        Timer.kind == PAYMENT_TIMEOUT_TIMER,
                        Timer.status == TimerStatus.pending,
                    )
                    .values(due_at=datetime.now(UTC) - timedelta(seconds=1))
                )
                assert moved.rowcount == len(unpaid_ids)

            # then the workers fire every timer that is due (the loyalty jobs' timers for
            # coming days wait, as they should) and drain the outbox
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline:
                with engine.connect() as conn:
                    pending_timers = conn.scalar(
                        select(func.count())
                        .select_from(Timer)
                        .where(
                            Timer.status == TimerStatus.pending,
                            Timer.due_at <= datetime.now(UTC),
                        )
                    )
                    pending_events = conn.scalar(
                        select(func.count())
                        .select_from(OutboxEvent)
                        .where(OutboxEvent.published_at.is_(None))
                    )
                if pending_timers == 0 and pending_events == 0:
                    break
                time.sleep(0.3)
            else:
                pytest.fail(
                    f"not drained: {pending_timers} timers, {pending_events} events\n"
                    + fleet.log("worker-0")
                )

            print(f"drained: {time.monotonic() - began:.1f} s")
            # and the workers stop cleanly on SIGTERM
            assert [fleet.stop(w) for w in workers] == [0, 0], fleet.log("worker-0")

            with engine.connect() as conn:
                orders = dict(conn.execute(select(Order.id, Order.status)).all())
                assert set(orders) == paid_ids | unpaid_ids
                assert {orders[i] for i in paid_ids} == {OrderStatus.paid.value}
                assert {orders[i] for i in unpaid_ids} == {OrderStatus.cancelled.value}
                # each cancelled order gave its unit back exactly once
                assert conn.scalar(select(Sku.stock).where(Sku.id == sku_id)) == len(unpaid_ids)
                timers = conn.execute(
                    select(Timer.key, Timer.status, Timer.attempts).where(
                        Timer.kind == PAYMENT_TIMEOUT_TIMER
                    )
                ).all()
                fired = {int(key) for key, status, _ in timers if status == "done"}
                assert fired == unpaid_ids
                assert {attempts for _, status, attempts in timers if status == "done"} == {1}
                assert {int(k) for k, s, _ in timers if s == "cancelled"} == paid_ids

                events = conn.execute(select(OutboxEvent.event_id, OutboxEvent.event_type)).all()
                deliveries = conn.execute(
                    select(EventDelivery.subscriber, EventDelivery.event_id)
                ).all()
            expected = {
                (s.name, event_id)
                for event_id, kind in events
                for s in subscribers
                if s.wants(kind)
            }
            assert len(deliveries) == len(set(deliveries)) == len(expected)
            assert set(deliveries) == expected
        finally:
            engine.dispose()

        # and every fact reached analytics once, across the two workers' folders
        facts = [_analytics_facts(tmp_path / f"analytics-worker-{n}") for n in range(2)]
        assert sum(facts) == sum(1 for _, kind in events if kind in FACT_EVENTS)
    finally:
        for process in fleet.processes:
            fleet.stop(process)
