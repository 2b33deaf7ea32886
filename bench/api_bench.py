"""HTTP latency and throughput of two Siyu endpoints against a bare FastAPI baseline.

Measures, on SQLite and/or PostgreSQL, with the demo store seeded:

- ``GET /api/app/products?limit=20``   the product list a storefront opens with
- ``POST /api/app/orders``             buy-now of one unit, with an Idempotency-Key
- ``GET /bare``                        a trivial endpoint of a separate bare FastAPI app

Each app is served by uvicorn in a background thread on 127.0.0.1 and driven by N
client threads (one ``httpx.Client`` each, keep-alive). Server and clients share
one process and its GIL, so absolute figures are modest; the ratios against the
bare endpoint, measured in the same run, are what to compare between runs.

    .venv/bin/python bench/api_bench.py [--requests 2000] [--concurrency 8] [--db both]

PostgreSQL: ``SIYU_BENCH_POSTGRES_URL`` (default the local ``test`` database); a
temporary database is created for the run and dropped after. Unreachable → skipped.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.catalog.rules import ProductRole, ProductStatus
from siyu.catalog.service import SkuDraft, create_category, create_product, set_product_status
from siyu.config import Settings
from siyu.devtools.demo import seed_demo
from siyu.identity.models import Operator
from siyu.models import metadata

POSTGRES_URL = os.environ.get(
    "SIYU_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ADDRESS = {
    "name": "压测用户",
    "phone": "13800138000",
    "province": "上海市",
    "city": "上海市",
    "district": "浦东新区",
    "detail": "世纪大道 100 号",
}


@dataclass(frozen=True)
class Result:
    name: str
    latencies: list[float]  # seconds, one per successful request
    errors: int
    wall: float

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


# ---------------------------------------------------------------- serving


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yields its base URL."""
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say so.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.get("/bare")
    def bare() -> dict[str, Any]:
        return {"ok": True, "items": [1, 2, 3]}

    return app


# ---------------------------------------------------------------- driving

Request = Callable[[httpx.Client, int], httpx.Response]


def drive(name: str, base_url: str, request: Request, total: int, concurrency: int) -> Result:
    """``total`` requests split across ``concurrency`` threads; thread i passes i."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    barrier = threading.Barrier(concurrency + 1)

    def worker(i: int) -> None:
        share = total // concurrency + (1 if i < total % concurrency else 0)
        with httpx.Client(base_url=base_url, timeout=30.0) as client:
            request(client, i)  # open the connection before the clock starts
            barrier.wait()
            for _ in range(share):
                start = time.perf_counter()
                response = request(client, i)
                elapsed = time.perf_counter() - start
                if response.status_code < 400:
                    latencies[i].append(elapsed)
                else:
                    errors[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    barrier.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    return Result(name, [x for per in latencies for x in per], sum(errors), wall)


def measure(name: str, base_url: str, request: Request, args: argparse.Namespace) -> Result:
    drive(name, base_url, request, args.warmup, args.concurrency)
    return drive(name, base_url, request, args.requests, args.concurrency)


# ---------------------------------------------------------------- databases


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="siyu-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'siyu.db'}"
        engine = create_engine(url)
        metadata.create_all(engine)
        engine.dispose()
        yield url


@contextmanager
def postgres_database() -> Iterator[str]:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"siyu_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        engine = create_engine(url)
        metadata.create_all(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_problem() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:120]}"
    return None


def bench_skus(ctx: Context, count: int) -> list[int]:
    """One SKU per client thread with ample stock, so placements don't queue on a
    single hot row (that is a flash sale's problem, measured elsewhere)."""
    now = ctx.clock.now() - timedelta(days=1)
    with ctx.db.transaction() as session:
        actor = session.scalar(select(Operator.id).where(Operator.username == "admin"))
        assert actor is not None
        category = create_category(session, actor_id=actor, name="压测", parent_id=None, now=now)
        product = create_product(
            session,
            actor_id=actor,
            category_id=category.id,
            title="压测商品",
            role=ProductRole.profit,
            skus=[
                SkuDraft(spec={"批次": str(i)}, price_fen=1990, stock=10**7) for i in range(count)
            ],
            now=now,
        )
        set_product_status(
            session, actor_id=actor, product_id=product.id, status=ProductStatus.on_sale, now=now
        )
        return [sku.id for sku in product.skus]


def run_database(kind: str, url: str, args: argparse.Namespace) -> list[Result]:
    settings = Settings(
        env="test", database_url=url, data_dir=Path(tempfile.gettempdir()), run_worker=False
    )
    ctx = build_context(settings)
    try:
        began = time.perf_counter()
        seed_demo(ctx, shoppers=args.shoppers)
        sku_ids = bench_skus(ctx, args.concurrency)
        print(f"  seeded the demo store in {time.perf_counter() - began:.1f} s", flush=True)
        results = []
        with serve(bare_app()) as bare_url:
            results.append(
                measure("bare FastAPI  GET /bare", bare_url, lambda c, i: c.get("/bare"), args)
            )
        with serve(create_app(ctx=ctx, run_worker=False)) as url_:
            tokens = []
            with httpx.Client(base_url=url_) as client:
                for i in range(args.concurrency):
                    login = client.post("/api/app/login", json={"code": f"bench-{kind}-{i}"})
                    login.raise_for_status()
                    tokens.append(login.json()["token"])
            listing = httpx.get(url_ + "/api/app/products", params={"limit": 20}).json()
            assert len(listing["items"]) == 20, listing

            def list_products(client: httpx.Client, i: int) -> httpx.Response:
                return client.get("/api/app/products", params={"limit": 20})

            def place_order(client: httpx.Client, i: int) -> httpx.Response:
                return client.post(
                    "/api/app/orders",
                    json={"items": [{"sku_id": sku_ids[i], "quantity": 1}], "address": ADDRESS},
                    headers={
                        "Authorization": f"Bearer {tokens[i]}",
                        "Idempotency-Key": str(uuid.uuid4()),
                    },
                )

            results.append(measure("GET  /api/app/products?limit=20", url_, list_products, args))
            results.append(measure("POST /api/app/orders (buy now)", url_, place_order, args))
        return results
    finally:
        ctx.close()


# ---------------------------------------------------------------- report


def print_table(kind: str, results: list[Result]) -> None:
    print(f"\n  {'endpoint':<34}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}{'ok':>7}{'errors':>8}")
    for r in results:
        print(
            f"  {r.name:<34}{r.percentile(50) * 1000:>9.2f}{r.percentile(99) * 1000:>9.2f}"
            f"{r.throughput:>9.0f}{len(r.latencies):>7}{r.errors:>8}"
        )
    bare, listing, order = results
    for label, r in (("list/bare ", listing), ("order/bare", order)):
        print(
            f"  {label}  p50 ×{r.percentile(50) / bare.percentile(50):.1f}"
            f"   p99 ×{r.percentile(99) / bare.percentile(99):.1f}"
            f"   throughput ×{r.throughput / bare.throughput:.2f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per endpoint")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument("--warmup", type=int, default=200, help="requests before measuring")
    parser.add_argument("--shoppers", type=int, default=30, help="demo shoppers to seed")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    print(
        f"Siyu API bench: {args.requests} requests per endpoint, {args.concurrency} client "
        f"threads, {args.warmup} warm-up; Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs"
    )
    print("(server and clients share one process: compare the ratios, not the absolutes)")
    started = time.perf_counter()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    for kind in kinds:
        print(f"\n== {kind} ==")
        if kind == "sqlite":
            database = sqlite_database()
        else:
            problem = postgres_problem()
            if problem:
                print(f"  skipped: PostgreSQL not reachable at {POSTGRES_URL} ({problem})")
                continue
            database = postgres_database()
        with database as url:
            print_table(kind, run_database(kind, url, args))
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
