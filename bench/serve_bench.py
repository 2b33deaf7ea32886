"""Serving speed of ``siyu serve`` against a bare FastAPI app, server and load generator
in separate processes.

For one server process and for ``--workers 2``: the demo store is seeded into a fresh
data folder (SQLite, or a temporary PostgreSQL database with ``--db postgres``), Siyu
(``siyu serve``) and the bare app (bench/bare_app.py, same server class, same worker
count) are started as processes, and wrk (``-t2 -c32`` by default; Locust headless
when wrk is missing) drives each route in turn. Printed per route: req/s, p50, p99
and the ratio of req/s to the bare app's in the same run.

Then order placement + payment under ``--in-flight`` concurrent shoppers (default
200) on PostgreSQL: a separate load process logs the shoppers in, then each places a
buy-now order and pays it (sandbox) as fast as it can; printed: placements and
payments per second, p50/p99 of each.

    .venv/bin/python bench/serve_bench.py [--duration 10] [--workers 1,2] [--db sqlite]
        [--orders-db postgres] [--in-flight 200] [--orders 2000]

PostgreSQL: ``SIYU_BENCH_POSTGRES_URL`` (default the local ``test`` database).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
POSTGRES_URL = os.environ.get(
    "SIYU_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ADMIN = {"username": "admin", "password": "siyu-demo-2026"}
ADDRESS = {
    "name": "压测用户",
    "phone": "13800138000",
    "province": "上海市",
    "city": "上海市",
    "district": "浦东新区",
    "detail": "世纪大道 100 号",
}


@dataclass(frozen=True)
class Figure:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int

    def row(self, bare: float | None) -> str:
        ratio = f"{self.rps / bare:5.2f}" if bare else "    –"
        errors = f"  ({self.errors} errors)" if self.errors else ""
        return (
            f"| {self.name:<34} | {self.rps:8,.0f} | {self.p50_ms:7.1f} | "
            f"{self.p99_ms:7.1f} | {ratio} |{errors}"
        )


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {url}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server did not start: {url}")


@contextmanager
def running(cmd: list[str], env: dict[str, str], probe: str) -> Iterator[None]:
    process = subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        wait_up(probe, process)
        yield
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def worker_process(env: dict[str, str], *, enabled: bool) -> Iterator[None]:
    """``siyu worker`` beside the API processes (PostgreSQL only)."""
    if not enabled:
        yield
        return
    process = subprocess.Popen(
        [PYTHON, "-m", "siyu.cli", "worker"], env=env, cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def siyu_env(data_dir: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIYU_")}
    env.update(SIYU_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    if database_url:
        env["SIYU_DATABASE_URL"] = database_url
    return env


def siyu(args: list[str], env: dict[str, str]) -> None:
    subprocess.run([PYTHON, "-m", "siyu.cli", *args], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


@contextmanager
def store(db: str) -> Iterator[tuple[Path, str]]:
    """A seeded demo store: (data folder, database URL — "" for the folder's SQLite)."""
    with tempfile.TemporaryDirectory(prefix="siyu-serve-bench-") as folder:
        url = ""
        admin = None
        if db == "postgres":
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
            name = f"siyu_bench_{uuid.uuid4().hex[:10]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(POSTGRES_URL).set(database=name).render_as_string(False)
        try:
            env = siyu_env(Path(folder), url)
            siyu(["migrate"], env)
            siyu(["demo", "--history-days", "0", "--shoppers", "10"], env)
            yield Path(folder), url
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


# ---------------------------------------------------------------- load


WRK_LATENCY = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(name: str, url: str, args: argparse.Namespace, headers: dict[str, str]) -> Figure:
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
           "--latency", "--timeout", "10s"]  # fmt: skip
    for key, value in headers.items():
        cmd += ["-H", f"{key}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    latency = {int(p): float(v) * UNITS[u] for p, v, u in WRK_LATENCY.findall(out)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    socket_errors = re.search(r"Socket errors:.*", out)
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(0)))
    return Figure(name, rps, latency.get(50, float("nan")), latency.get(99, float("nan")), errors)


def locust(name: str, url: str, args: argparse.Namespace, headers: dict[str, str]) -> Figure:
    """The fallback load generator when wrk is not installed."""
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "locustfile.py"
        script.write_text(
            "from locust import FastHttpUser, task\n"
            f"H = {headers!r}\n"
            "class U(FastHttpUser):\n"
            "    @task\n"
            f"    def get(self):\n        self.client.get({url!r}, headers=H)\n"
        )
        prefix = Path(folder) / "out"
        subprocess.run(
            [PYTHON, "-m", "locust", "-f", str(script), "--headless", "-u",
             str(args.connections), "-r", str(args.connections), "-t", f"{args.duration}s",
             "--csv", str(prefix), "--only-summary"],
            capture_output=True, check=True,
        )  # fmt: skip
        import csv

        with open(f"{prefix}_stats.csv") as f:
            row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
        return Figure(name, float(row["Requests/s"]), float(row["50%"]), float(row["99%"]),
                      int(row["Failure Count"]))  # fmt: skip


def drive(name: str, url: str, args: argparse.Namespace, headers: dict[str, str]) -> Figure:
    return (wrk if shutil.which("wrk") else locust)(name, url, args, headers)


# ---------------------------------------------------------------- the runs


def shopper_token(base: str, code: str) -> str:
    r = httpx.post(f"{base}/api/app/login", json={"code": code},
                   headers={"X-Siyu-Anonymous-Id": f"bench-{code}-0000"}, timeout=30)  # fmt: skip
    r.raise_for_status()
    return str(r.json()["token"])


def catalog_targets(base: str) -> tuple[int, int]:
    """A product on sale and one of its SKUs with stock."""
    for item in httpx.get(f"{base}/api/app/products?limit=50", timeout=30).json()["items"]:
        detail = httpx.get(f"{base}/api/app/products/{item['id']}", timeout=30).json()
        for sku in detail["skus"]:
            if sku["stock"] > 0:
                return int(item["id"]), int(sku["id"])
    raise RuntimeError("the demo store has nothing in stock")


def serving_run(args: argparse.Namespace, workers: int, data_dir: Path, url: str) -> list[str]:
    env = siyu_env(data_dir, url)
    siyu_port, bare_port = free_port(), free_port()
    serve = [PYTHON, "-m", "siyu.cli", "serve", "--no-worker", "--port", str(siyu_port)]
    if workers > 1:
        serve += ["--workers", str(workers)]
    bare = [PYTHON, "bench/bare_app.py", "--port", str(bare_port), "--workers", str(workers)]
    base, bare_base = f"http://127.0.0.1:{siyu_port}", f"http://127.0.0.1:{bare_port}"
    figures: list[Figure] = []
    with running(bare, env, f"{bare_base}/bare"):
        figures.append(drive("bare FastAPI (async, 20 items)", f"{bare_base}/bare", args, {}))
    with running(serve, env, f"{base}/api/health"):
        product_id, sku_id = catalog_targets(base)
        auth = {"Authorization": f"Bearer {shopper_token(base, 'bench-quote')}"}
        routes = [
            ("/api/health", "/api/health", {}),
            ("unknown path (404)", "/no/such/page", {}),
            ("/api/app/categories", "/api/app/categories", {}),
            ("/api/app/products?limit=20", "/api/app/products?limit=20", {}),
            ("/api/app/products/{id}", f"/api/app/products/{product_id}", {}),
            ("cart quote (buy-now, shopper)",
             f"/api/app/checkout/quote?sku_id={sku_id}&quantity=1", auth),
        ]  # fmt: skip
        for name, path, headers in routes:
            figure = drive(name, base + path, args, headers)
            if path.startswith("/no/such"):  # 404 is the answer here, not an error
                figure = replace(figure, errors=0)
            figures.append(figure)
    bare_rps = figures[0].rps
    title = (
        f"one process ({'SQLite' if not url else 'PostgreSQL'})"
        if workers == 1
        else (f"--workers {workers} ({'SQLite' if not url else 'PostgreSQL'})")
    )
    lines = [f"\n### {title}, wrk -t{args.threads} -c{args.connections} -d{args.duration}s",
             "| route                              |    req/s |  p50 ms |  p99 ms | vs bare |",
             "|---|---|---|---|---|"]  # fmt: skip
    lines += [f.row(bare_rps) for f in figures]
    print("\n".join(lines), flush=True)
    return lines


# ------------------------------------------------------- orders: a load process


async def _orders_load(base: str, sku_id: int, in_flight: int, total: int) -> dict[str, object]:
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

        async def login(i: int) -> dict[str, str]:
            r = await client.post("/api/app/login", json={"code": f"orders-{i}"},
                                  headers={"X-Siyu-Anonymous-Id": f"orders-{i}-00000"})  # fmt: skip
            r.raise_for_status()
            return {"Authorization": f"Bearer {r.json()['token']}"}

        shoppers = await asyncio.gather(*(login(i) for i in range(in_flight)))
        place: list[float] = []
        pay: list[float] = []
        errors: dict[str, int] = {}
        queue = iter(range(total))

        async def shopper(headers: dict[str, str]) -> None:
            for _ in queue:
                try:
                    await buy(headers)
                except httpx.HTTPError as exc:  # counted, not fatal: the server's answer
                    key = f"transport {type(exc).__name__}"
                    errors[key] = errors.get(key, 0) + 1

        async def buy(headers: dict[str, str]) -> None:
            t0 = time.perf_counter()
            r = await client.post(
                "/api/app/orders",
                json={"items": [{"sku_id": sku_id, "quantity": 1}], "address": ADDRESS},
                headers=headers | {"Idempotency-Key": str(uuid.uuid4())},
            )
            t1 = time.perf_counter()
            if r.status_code != 201:
                errors[f"place {r.status_code}"] = errors.get(f"place {r.status_code}", 0) + 1
                return
            place.append(t1 - t0)
            order_id = r.json()["id"]
            a = await client.post(f"/api/app/orders/{order_id}/pay", headers=headers)
            b = await client.post(f"/api/app/orders/{order_id}/sandbox-pay", headers=headers)
            if a.status_code != 200 or b.status_code != 200:
                key = f"pay {a.status_code}/{b.status_code}"
                errors[key] = errors.get(key, 0) + 1
                return
            pay.append(time.perf_counter() - t1)

        began = time.perf_counter()
        await asyncio.gather(*(shopper(h) for h in shoppers))
        wall = time.perf_counter() - began

    def pct(values: list[float], p: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if values else 0

    both = [a + b for a, b in zip(place, pay, strict=False)]
    return {"wall": wall, "placed": len(place), "paid": len(pay), "errors": errors,
            "place_p50": pct(place, 50), "place_p99": pct(place, 99),
            "pay_p50": pct(pay, 50), "pay_p99": pct(pay, 99),
            "both_p50": pct(both, 50), "both_p99": pct(both, 99),
            "mean_ms": statistics.fmean(both) * 1000 if both else 0}  # fmt: skip


def orders_run(args: argparse.Namespace, workers: int, data_dir: Path, url: str) -> list[str]:
    env = siyu_env(data_dir, url)
    port = free_port()
    serve = [PYTHON, "-m", "siyu.cli", "serve", "--port", str(port)]
    if workers > 1:
        serve += ["--workers", str(workers)]
    if url:  # PostgreSQL: production's shape, the worker as its own process (docs/deploy.md)
        serve.append("--no-worker")
    base = f"http://127.0.0.1:{port}"
    with running(serve, env, f"{base}/api/health"), worker_process(env, enabled=bool(url)):
        admin = httpx.post(f"{base}/api/admin/login", json=ADMIN, timeout=30).json()["token"]
        headers = {"Authorization": f"Bearer {admin}"}
        product_id, sku_id = catalog_targets(base)
        r = httpx.post(f"{base}/api/admin/skus/{sku_id}/stock", headers=headers, timeout=30,
                       json={"delta": args.orders + 10, "reason": "压测备货"})  # fmt: skip
        r.raise_for_status()
        load = subprocess.run(
            [PYTHON, __file__, "--orders-load", base, "--sku", str(sku_id),
             "--in-flight", str(args.in_flight), "--orders", str(args.orders)],
            capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip
        if load.returncode != 0:
            raise RuntimeError(f"the load process failed:\n{load.stderr[-3000:]}")
    result = json.loads(load.stdout.strip().splitlines()[-1])
    db = "SQLite" if not url else "PostgreSQL"
    lines = [
        f"\n### order placement + payment, {db}, {workers} process(es), "
        f"{args.in_flight} shoppers in flight, {args.orders} orders",
        f"placed {result['placed']}, paid {result['paid']} in {result['wall']:.1f} s "
        f"({result['paid'] / result['wall']:.0f} orders/s); errors {result['errors'] or 'none'}",
        f"place  p50 {result['place_p50']:7.1f} ms   p99 {result['place_p99']:7.1f} ms",
        f"pay    p50 {result['pay_p50']:7.1f} ms   p99 {result['pay_p99']:7.1f} ms",
        f"both   p50 {result['both_p50']:7.1f} ms   p99 {result['both_p99']:7.1f} ms",
    ]
    print("\n".join(lines), flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per route")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", default="1,2", help="server process counts to run")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--orders-db", choices=["sqlite", "postgres", "none"], default="postgres")
    parser.add_argument("--orders-workers", default="1,2", help="API processes for the orders")
    parser.add_argument("--in-flight", type=int, default=200)
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--orders-load", help=argparse.SUPPRESS)  # the load process
    parser.add_argument("--sku", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.orders_load:
        result = asyncio.run(_orders_load(args.orders_load, args.sku, args.in_flight, args.orders))
        print(json.dumps(result))
        return
    if not shutil.which("wrk"):
        print("wrk not found (apt-get install -y wrk): driving with Locust", flush=True)
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    with store(args.db) as (data_dir, url):
        for workers in counts:
            serving_run(args, workers, data_dir, url)
    if args.orders_db != "none":
        with store(args.orders_db) as (data_dir, url):
            for workers in [int(n) for n in args.orders_workers.split(",") if n.strip()]:
                orders_run(args, workers, data_dir, url)


if __name__ == "__main__":
    main()
