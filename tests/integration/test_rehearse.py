"""``siyu rehearse`` against a real ``siyu serve`` of the demo store: 20 seconds, 5
shoppers; the report's counts must equal the database's, nothing oversold."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from siyu.catalog.models import Sku
from siyu.identity.models import Shopper
from siyu.order.models import Order
from siyu.order.rules import OrderStatus

pytestmark = pytest.mark.slow
SIYU = [sys.executable, "-m", "siyu.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    data = tmp_path_factory.mktemp("rehearse")
    port = free_port()
    env = {**os.environ, "SIYU_DATA_DIR": str(data), "SIYU_PORT": str(port), "SIYU_ENV": "test"}
    for key in ("SIYU_DATABASE_URL", "SIYU_ANALYTICS_URL", "SIYU_PAYMENT_PROVIDER"):
        env.pop(key, None)
    subprocess.run([*SIYU, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*SIYU, "demo", "--history-days", "0", "--shoppers", "5"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    server = subprocess.Popen(
        [*SIYU, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "siyu serve did not start"
            assert server.poll() is None, "siyu serve exited"
            time.sleep(0.3)
        yield url, env
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_rehearsal_counts_agree_with_the_database(store: tuple[str, dict[str, str]]) -> None:
    url, env = store
    data = Path(env["SIYU_DATA_DIR"])
    done = subprocess.run(
        [*SIYU, "rehearse", "--url", url, "--duration", "20", "--shoppers", "5", "--ramp", "5"],
        env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "通过 / PASS" in done.stdout
    [path] = list((data / "rehearsals").glob("*.json"))
    report = json.loads(path.read_text(encoding="utf-8"))
    steps = {row["step"]: row for row in report["steps"]}
    assert {"login", "browse", "product", "cart", "quote", "place", "pay"} <= set(steps)
    assert steps["login"]["requests"] == 5
    assert steps["place"]["requests"] > 10  # 20 s of 5 shoppers buy more than a few times
    assert all(row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"] for row in report["steps"])
    assert report["store"]["products"] > 0 and report["store"]["promotions"]

    engine = create_engine(f"sqlite:///{data / 'siyu.db'}")
    prefix = f"sandbox-rehearse-{report['run_id']}-"
    with engine.connect() as conn:
        shoppers = conn.scalar(
            select(func.count()).select_from(Shopper).where(Shopper.openid.startswith(prefix))
        )
        placed = conn.scalar(
            select(func.count())
            .select_from(Order)
            .join(Shopper, Shopper.id == Order.shopper_id)
            .where(Shopper.openid.startswith(prefix))
        )
        paid = conn.scalar(
            select(func.count())
            .select_from(Order)
            .join(Shopper, Shopper.id == Order.shopper_id)
            .where(Shopper.openid.startswith(prefix), Order.status == OrderStatus.paid)
        )
        negative = conn.scalar(select(func.count()).select_from(Sku).where(Sku.stock < 0))
    engine.dispose()
    assert shoppers == 5
    assert report["counts"]["shoppers"] == {"locust": 5, "database": 5}
    ok = {name: row["requests"] - row["failures"] for name, row in steps.items()}
    assert report["counts"]["placed"] == {"locust": placed, "database": placed}
    assert report["counts"]["paid"] == {"locust": paid, "database": paid}
    assert ok["place"] == placed and ok["pay"] == paid
    assert negative == 0 and report["stock"]["oversold"] == [] and report["stock"]["negative"] == []
    assert report["stock"]["units_sold"] == placed  # one unit per order
    unexpected = [e for e in report["errors"] if not e["expected"]]
    assert unexpected == [], unexpected
    assert report["verdict"] == {"ok": True, "problems": []}


def test_a_live_store_is_refused(tmp_path: Path) -> None:
    """A target whose health does not say ``payment: sandbox`` is never rehearsed."""
    from siyu.rehearse.runner import RehearsalRefused, check_target

    port = free_port()
    with pytest.raises(RehearsalRefused, match="cannot reach"):
        check_target(f"http://127.0.0.1:{port}")


def test_the_command_refuses_a_live_store(store: tuple[str, dict[str, str]]) -> None:
    """A fake health saying wechatpay: the command exits 2 with a bilingual message."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Live(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"status": "ok", "payment": "wechatpay"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Live)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _, env = store
    try:
        done = subprocess.run(
            [*SIYU, "rehearse", "--url", f"http://127.0.0.1:{server.server_port}",
             "--duration", "5"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        server.shutdown()
    assert done.returncode == 2
    assert "拒绝压测" in done.stderr and "live payments (wechatpay)" in done.stderr
