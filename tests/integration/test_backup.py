"""``siyu backup`` then ``siyu restore`` into an empty database gives the same store
(orders, stock, coupons, analytics), on SQLite and PostgreSQL; a backup taken while
orders are being placed restores to a consistent state; broken backups are refused."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from siyu.analytics.schema import EVENTS
from siyu.analytics.store import AnalyticsStore, ChdbStore
from siyu.app import create_app
from siyu.backup import BackupError, Server, create_backup, restore_backup
from siyu.backup.analytics import maintenance_token
from siyu.backup.sql import database_rows
from siyu.bootstrap import Context, build_context
from siyu.catalog.models import Sku
from siyu.cli import app as cli_app
from siyu.clock import FrozenClock
from siyu.config import Settings
from siyu.coupon.models import CouponTemplate, ShopperCoupon
from siyu.db import Database
from siyu.models import metadata
from siyu.order.models import Order, OrderLine
from tests.conftest import POSTGRES_URL, START, make_settings
from tests.helpers import (
    create_product,
    event_dict,
    insert_events,
    operator_headers,
    place_order,
    shopper_headers,
)


@pytest.fixture
def store_ctx(
    settings: Settings, clock: FrozenClock, analytics_store: AnalyticsStore
) -> Iterator[Context]:
    context = build_context(settings, clock=clock, analytics=analytics_store)
    yield context
    context.close()


@pytest.fixture
def shop(store_ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx=store_ctx, run_worker=False)) as test_client:
        yield test_client


@dataclass
class Target:
    settings: Settings
    analytics: AnalyticsStore


@pytest.fixture
def target(database_url: str, tmp_path: Path, chdb_folder: Path) -> Iterator[Target]:
    """An empty database of the same kind, a fresh analytics database, a new data folder."""
    data_dir = tmp_path / "restored"
    dropped: list[str] = []
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{data_dir / 'siyu.db'}"
    else:
        name = f"siyu_restore_{uuid.uuid4().hex[:10]}"
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        dropped.append(name)
    database = f"r_{uuid.uuid4().hex[:12]}"
    store = ChdbStore(chdb_folder, database=database)
    yield Target(make_settings(url, data_dir), store)
    store.command(f"DROP DATABASE IF EXISTS {database}")
    store.close()
    for name in dropped:
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _seed(shop: TestClient, ctx: Context) -> dict[str, Any]:
    admin = operator_headers(shop, ctx)
    product = create_product(shop, admin)
    skus = [int(s["id"]) for s in product["skus"]]
    tpl = shop.post(
        "/api/admin/coupon-templates",
        json={"name": "无门槛减5元", "kind": "cash_off", "amount_fen": 500, "valid_days": 7},
        headers=admin,
    )
    assert tpl.status_code == 201, tpl.text
    for code in ("alice", "bob", "carol"):
        shopper = shopper_headers(shop, code)
        claimed = shop.post(f"/api/app/coupons/center/{tpl.json()['id']}/claim", headers=shopper)
        assert claimed.status_code in (200, 201), claimed.text
        assert place_order(shop, shopper, skus[0], 2).status_code == 201
        assert place_order(shop, shopper, skus[1], 1).status_code == 201
    insert_events(
        ctx.analytics,
        [event_dict("page_view", f"dev-{i % 4}", START + timedelta(minutes=i)) for i in range(25)],
        links={"dev-0": 1, "dev-1": 2},
    )
    (ctx.settings.media_dir / "avatars").mkdir(parents=True, exist_ok=True)
    (ctx.settings.media_dir / "avatars" / "a.png").write_bytes(b"\x89PNG fake avatar")
    return {"skus": skus}


def _snapshot(url: str) -> dict[str, Any]:
    db = Database(url)
    try:
        with db.read_session() as session:
            orders = session.execute(
                select(Order.id, Order.order_no, Order.status, Order.total_fen).order_by(Order.id)
            ).all()
            lines = session.execute(
                select(OrderLine.order_id, OrderLine.sku_id, OrderLine.quantity).order_by(
                    OrderLine.id
                )
            ).all()
            stock = session.execute(select(Sku.id, Sku.stock).order_by(Sku.id)).all()
            templates = session.execute(
                select(CouponTemplate.id, CouponTemplate.name, CouponTemplate.issued_count)
            ).all()
            coupons = session.execute(
                select(ShopperCoupon.id, ShopperCoupon.shopper_id, ShopperCoupon.status).order_by(
                    ShopperCoupon.id
                )
            ).all()
    finally:
        db.dispose()
    return {
        "orders": [tuple(r) for r in orders],
        "lines": [tuple(r) for r in lines],
        "stock": [tuple(r) for r in stock],
        "templates": [tuple(r) for r in templates],
        "coupons": [tuple(r) for r in coupons],
    }


def _analytics_counts(store: AnalyticsStore) -> dict[str, int]:
    db = store.database
    return {
        "events": int(store.query(f"SELECT count() FROM {EVENTS.format(db=db)}").scalar()),
        "persons": int(store.query(f"SELECT uniqExact(anonymous_id) FROM {db}.events").scalar()),
        "links": int(store.query(f"SELECT count() FROM {db}.person_links").scalar()),
    }


def test_backup_then_restore_into_an_empty_store_gives_the_same_store(
    shop: TestClient, store_ctx: Context, target: Target, tmp_path: Path
) -> None:
    # given a store with orders, stock, coupons, analytics events and an avatar
    _seed(shop, store_ctx)
    before = _snapshot(store_ctx.settings.sqlalchemy_url)
    analytics_before = _analytics_counts(store_ctx.analytics)

    # when it is backed up and restored into an empty database and analytics store
    manifest = create_backup(
        store_ctx.settings, tmp_path / "backup", analytics_store=store_ctx.analytics
    )
    restore_backup(target.settings, tmp_path / "backup", analytics_store=target.analytics)

    # then the restored store has the same orders, stock, coupons and analytics counts
    assert len(before["orders"]) == 6 and len(before["coupons"]) == 3
    assert _snapshot(target.settings.sqlalchemy_url) == before
    assert _analytics_counts(target.analytics) == analytics_before == {
        "events": 25, "persons": 4, "links": 2,
    }  # fmt: skip
    assert manifest.sql_tables["orders"] == 6
    assert manifest.analytics_tables["events"] == 25
    assert (target.settings.media_dir / "avatars" / "a.png").read_bytes() == b"\x89PNG fake avatar"
    written = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert written["database_dialect"] == store_ctx.db.dialect
    assert all(len(f["sha256"]) == 64 for f in written["files"].values())
    assert not list(tmp_path.glob(".backup.partial-*"))


def test_restore_refuses_a_target_that_has_data(
    shop: TestClient, store_ctx: Context, target: Target, tmp_path: Path
) -> None:
    _seed(shop, store_ctx)
    create_backup(store_ctx.settings, tmp_path / "b", analytics_store=store_ctx.analytics)
    restore_backup(target.settings, tmp_path / "b", analytics_store=target.analytics)

    with pytest.raises(BackupError, match="not empty"):
        restore_backup(target.settings, tmp_path / "b", analytics_store=target.analytics)
    # --force replaces it with the same data
    restore_backup(target.settings, tmp_path / "b", analytics_store=target.analytics, force=True)
    assert _snapshot(target.settings.sqlalchemy_url) == _snapshot(store_ctx.settings.sqlalchemy_url)
    assert _analytics_counts(target.analytics)["events"] == 25


def test_restore_into_a_migrated_empty_database_replaces_its_empty_tables(
    shop: TestClient, store_ctx: Context, target: Target, tmp_path: Path
) -> None:
    # given a target where `siyu migrate` made the (empty) tables
    _seed(shop, store_ctx)
    create_backup(store_ctx.settings, tmp_path / "b", analytics_store=store_ctx.analytics)
    db = Database(target.settings.sqlalchemy_url)
    metadata.create_all(db.engine)
    db.dispose()

    # when the backup is restored there, then it holds the backed-up store
    restore_backup(target.settings, tmp_path / "b", analytics_store=target.analytics)
    assert _snapshot(target.settings.sqlalchemy_url) == _snapshot(store_ctx.settings.sqlalchemy_url)


def test_a_half_written_or_damaged_backup_is_refused(
    shop: TestClient, store_ctx: Context, target: Target, tmp_path: Path
) -> None:
    _seed(shop, store_ctx)
    folder = tmp_path / "b"
    create_backup(store_ctx.settings, folder, analytics_store=store_ctx.analytics)
    with pytest.raises(BackupError, match="exists and is not empty"):
        create_backup(store_ctx.settings, folder, analytics_store=store_ctx.analytics)

    manifest = json.loads((folder / "manifest.json").read_text())
    other = "postgresql" if manifest["database_dialect"] == "sqlite" else "sqlite"
    (folder / "manifest.json").write_text(json.dumps(manifest | {"database_dialect": other}))
    with pytest.raises(BackupError, match="restore into the same kind of database"):
        restore_backup(target.settings, folder, analytics_store=target.analytics)
    (folder / "manifest.json").write_text(json.dumps(manifest | {"alembic_revision": "f00"}))
    with pytest.raises(BackupError, match="unknown to this siyu"):
        restore_backup(target.settings, folder, analytics_store=target.analytics)

    events = folder / "analytics" / "events.parquet"
    events.write_bytes(events.read_bytes()[:-10])
    with pytest.raises(BackupError, match="Checksum mismatch for analytics/events.parquet"):
        restore_backup(target.settings, folder, analytics_store=target.analytics)
    (folder / "manifest.json").unlink()
    with pytest.raises(BackupError, match="not a complete backup"):
        restore_backup(target.settings, folder, analytics_store=target.analytics)
    # nothing was written into the target
    assert database_rows(target.settings.sqlalchemy_url) == {}


def test_cli_refuses_a_folder_that_is_not_a_backup_with_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIYU_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli_app, ["restore", str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert "not a complete backup" in result.output
    assert "Traceback" not in result.output


def test_backup_reads_analytics_from_the_running_server_when_it_holds_the_folder(
    shop: TestClient, store_ctx: Context, target: Target, tmp_path: Path
) -> None:
    # given a running server that holds the analytics store (chdb: one process a folder)
    _seed(shop, store_ctx)

    # when the backup asks the server for the analytics, with a maintenance token
    manifest = create_backup(
        store_ctx.settings, tmp_path / "b", server=Server("http://testserver", http=shop)
    )

    # then it has them all, and they restore
    assert manifest.analytics_source == "server"
    assert manifest.analytics_tables["events"] == 25
    restore_backup(target.settings, tmp_path / "b", analytics_store=target.analytics)
    assert _analytics_counts(target.analytics) == _analytics_counts(store_ctx.analytics)


def test_a_failed_backup_leaves_no_folder_behind(
    shop: TestClient, store_ctx: Context, tmp_path: Path
) -> None:
    # given the analytics held by a server that cannot be reached
    _seed(shop, store_ctx)
    with pytest.raises(BackupError, match="cannot be reached"):
        create_backup(store_ctx.settings, tmp_path / "b", server=Server("http://127.0.0.1:9"))
    # then neither the backup folder nor its partial copy remains
    assert not (tmp_path / "b").exists()
    assert not list(tmp_path.glob(".b.partial-*"))


def test_the_maintenance_endpoint_wants_a_maintenance_token_signed_with_the_secret(
    shop: TestClient, store_ctx: Context
) -> None:
    shopper = shopper_headers(shop, "mallory")
    assert shop.get("/api/maintenance/analytics").status_code == 401
    assert shop.get("/api/maintenance/analytics", headers=shopper).status_code == 401
    forged = maintenance_token("not-the-store-secret-0123456789abcdef", START)
    answer = shop.get("/api/maintenance/analytics", headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401
    good = maintenance_token(store_ctx.settings.secret_key.get_secret_value(), START)
    answer = shop.get("/api/maintenance/analytics", headers={"Authorization": f"Bearer {good}"})
    assert answer.status_code == 200
    assert {"events", "person_links"} <= {t["name"] for t in answer.json()["tables"]}


def test_a_backup_taken_while_fifty_orders_are_placed_restores_consistently(
    shop: TestClient, store_ctx: Context, target: Target, tmp_path: Path
) -> None:
    # given two SKUs with 500 units each and ten shoppers
    admin = operator_headers(shop, store_ctx)
    product = create_product(
        shop,
        admin,
        skus=[
            {"spec": {"规格": "A"}, "price_fen": 1000, "stock": 500},
            {"spec": {"规格": "B"}, "price_fen": 2000, "stock": 500},
        ],
    )
    skus = [int(s["id"]) for s in product["skus"]]
    shoppers = [shopper_headers(shop, f"rush{i}") for i in range(10)]
    started = threading.Event()

    def buy(n: int) -> int:
        started.set()
        answer = place_order(shop, shoppers[n % 10], skus[n % 2], 1 + n % 3)
        return answer.status_code

    # when 50 orders are placed while a backup is taken
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(buy, n) for n in range(50)]
        started.wait(10)
        create_backup(store_ctx.settings, tmp_path / "b", analytics_store=store_ctx.analytics)
        codes = [f.result() for f in futures]
    assert codes == [201] * 50

    # then the restore holds whole orders only: every order has its line and its stock
    restore_backup(target.settings, tmp_path / "b", analytics_store=target.analytics)
    restored = _snapshot(target.settings.sqlalchemy_url)
    order_ids = {o[0] for o in restored["orders"]}
    assert {line[0] for line in restored["lines"]} == order_ids
    sold = {sku: 0 for sku in skus}
    for _, sku_id, quantity in restored["lines"]:
        sold[sku_id] += quantity
    assert {sku: stock + sold[sku] for sku, stock in restored["stock"]} == {
        sku: 500 for sku in skus
    }
    db = Database(target.settings.sqlalchemy_url)
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == len(order_ids)
    db.dispose()
    assert len(_snapshot(store_ctx.settings.sqlalchemy_url)["orders"]) == 50


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _siyu(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "siyu.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_siyu_backup_while_siyu_serve_runs_then_siyu_restore(tmp_path: Path) -> None:
    # given `siyu serve` running on its own data folder (it holds the chdb folder's lock)
    port = _free_port()
    env = os.environ | {
        "SIYU_DATA_DIR": str(tmp_path / "live"),
        "SIYU_PORT": str(port),
        "SIYU_DATABASE_URL": "",
        "SIYU_ANALYTICS_URL": "",
    }
    assert _siyu(env, "migrate").returncode == 0
    server = subprocess.Popen(
        [sys.executable, "-m", "siyu.cli", "serve", "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
        now = datetime.now(UTC)
        batch = [
            {
                "event_id": f"evt-{n:08d}",
                "event": "$pageview",
                "anonymous_id": "device-0001-abcd",
                "client_time": (now - timedelta(seconds=n)).isoformat(),
                "page": "pages/index/index",
            }
            for n in range(10)
        ]
        tracked = httpx.post(f"{base}/api/track", json={"batch": batch}, timeout=10)
        assert tracked.json()["accepted"] == 10, tracked.text
        token = maintenance_token(Settings().secret_key.get_secret_value(), datetime.now(UTC))
        auth = {"Authorization": f"Bearer {token}"}
        while True:  # the ingest buffer writes within its flush interval
            answer = httpx.get(f"{base}/api/maintenance/analytics/events", headers=auth)
            if pq.read_metadata(io.BytesIO(answer.content)).num_rows == 10:
                break
            assert time.monotonic() < deadline + 30, "events were not written"
            time.sleep(0.2)

        # when `siyu backup` runs beside it
        done = _siyu(env, "backup", str(tmp_path / "b"))
        assert done.returncode == 0, done.stderr
    finally:
        server.terminate()
        server.wait(30)

    # then the analytics came through the server, and restore into a new folder works
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["analytics_source"] == "server"
    assert manifest["analytics_tables"]["events"] == 10
    assert manifest["alembic_revision"]
    restored_env = env | {"SIYU_DATA_DIR": str(tmp_path / "restored")}
    done = _siyu(restored_env, "restore", str(tmp_path / "b"))
    assert done.returncode == 0, done.stderr
    again = _siyu(restored_env, "restore", str(tmp_path / "b"))
    assert again.returncode == 2 and "not empty" in again.stderr
    assert "Traceback" not in again.stderr
    check = _siyu(restored_env, "backup", str(tmp_path / "b2"))
    assert check.returncode == 0, check.stderr
    second = json.loads((tmp_path / "b2" / "manifest.json").read_text())
    assert second["analytics_source"] == "local"
    assert second["analytics_tables"]["events"] == 10
    assert second["sql_tables"] == manifest["sql_tables"]
