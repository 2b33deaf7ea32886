"""Flash sale (秒杀) under a rush: 2,000 buyers for 100 units against ``siyu serve``, in
Redis mode (the Lua gate) and in SQL mode (guarded updates), server and load in
separate processes.

For each mode: a demo store is seeded into a fresh data folder (SQLite by default,
``--db postgres`` for a temporary PostgreSQL database), ``siyu serve --no-worker`` is
started (Redis mode: ``SIYU_REDIS_URL`` with a key prefix of this run's own; no access
log, like the bare app), a session
on now is created with one item of 100 units, one a shopper. Then:

1. **the rush** — a separate load process (httpx, asyncio) logs 2,000 shoppers in and
   fires one buy each, all at once over ``--connections`` sockets; a 429 (waiting room
   or rate limit) is retried after its Retry-After, as the storefront does. The
   placed orders are paid (sandbox). Printed: the answers, units sold, oversold,
   shoppers beyond the limit (read from the database afterwards), the
   reconciliation, and the rush's wall time and p50/p99.
2. **the gate's rate** — wrk (a Lua script rotating the 2,000 shoppers' tokens, a
   fresh Idempotency-Key per request) drives the buy route for ``--duration``
   seconds, and the bare FastAPI endpoint of bench/bare_app.py the same way in the
   same run: requests/s, p50, p99 and the ratio to the bare endpoint (goal ≥ 0.5× in
   Redis mode). Every answer here is the gate's (sold out, or 429 when a shopper
   presses too often): what a sale's second minute looks like.

    .venv/bin/python bench/flash_sale_bench.py [--buyers 2000] [--units 100]
        [--modes redis,sql] [--db sqlite] [--duration 10] [--connections 64]

Redis: ``SIYU_BENCH_REDIS_URL`` (default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serve_bench import (
    ADDRESS,
    ADMIN,
    PYTHON,
    ROOT,
    UNITS,
    WRK_LATENCY,
    Figure,
    catalog_targets,
    free_port,
    running,
    siyu_env,
    store,
)

REDIS_URL = os.environ.get("SIYU_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
WRK_SCRIPT = """
local tokens = {}
for line in io.lines("%(tokens)s") do tokens[#tokens + 1] = line end
local counter = 0
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function request()
  counter = counter + 1
  local token = tokens[((counter * 7 + id * 1009) %% #tokens) + 1]
  return wrk.format("POST", "%(path)s", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "wrk-" .. id .. "-" .. counter,
  }, '%(body)s')
end
"""


# ---------------------------------------------------------------- the load process


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000 if values else 0.0


async def _rush(
    base: str, item_id: int, buyers: int, connections: int, tokens_file: str
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        logins = asyncio.Semaphore(32)

        async def login(i: int) -> str:
            async with logins:
                r = await client.post("/api/app/login", json={"code": f"flash-{i}"},
                                      headers={"X-Siyu-Anonymous-Id": f"flash-{i}-0000"})  # fmt: skip
                r.raise_for_status()
                return str(r.json()["token"])

        tokens = await asyncio.gather(*(login(i) for i in range(buyers)))
        Path(tokens_file).write_text("\n".join(tokens) + "\n")
        answers: Counter[str] = Counter()
        latencies: list[float] = []
        placed: list[tuple[str, int]] = []
        body = {"address": ADDRESS, "quantity": 1}

        async def buy(token: str) -> None:
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
            for _ in range(5):
                t0 = time.perf_counter()
                try:
                    r = await client.post(f"/api/app/flash-sales/items/{item_id}/buy",
                                          json=body, headers=headers)  # fmt: skip
                except httpx.HTTPError as exc:
                    answers[f"transport {type(exc).__name__}"] += 1
                    return
                latencies.append(time.perf_counter() - t0)
                if r.status_code == 201:
                    answers["201 placed"] += 1
                    placed.append((token, int(r.json()["order"]["id"])))
                    return
                code = r.json().get("error", {}).get("code", "?")
                answers[f"{r.status_code} {code}"] += 1
                if r.status_code != 429:
                    return
                await asyncio.sleep(float(r.headers.get("Retry-After", "1")))

        began = time.perf_counter()
        await asyncio.gather(*(buy(t) for t in tokens))
        wall = time.perf_counter() - began

        async def pay(token: str, order_id: int) -> bool:
            headers = {"Authorization": f"Bearer {token}"}
            a = await client.post(f"/api/app/orders/{order_id}/pay", headers=headers)
            b = await client.post(f"/api/app/orders/{order_id}/sandbox-pay", headers=headers)
            return a.status_code == 200 and b.status_code == 200

        paid = sum(await asyncio.gather(*(pay(t, o) for t, o in placed)))
    return {"wall": wall, "answers": dict(answers), "placed": len(placed), "paid": paid,
            "requests": len(latencies), "p50": _pct(latencies, 50), "p99": _pct(latencies, 99)}  # fmt: skip


# ---------------------------------------------------------------- the runs


def wrk_post(name: str, url: str, tokens_file: Path, args: argparse.Namespace) -> Figure:
    from urllib.parse import urlparse

    path = urlparse(url).path
    script = tokens_file.parent / "buy.lua"
    body = json.dumps({"address": ADDRESS, "quantity": 1}, ensure_ascii=False)
    script.write_text(WRK_SCRIPT % {"tokens": tokens_file, "path": path, "body": body})
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
           "--latency", "--timeout", "10s", "-s", str(script), url]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return _wrk_figure(name, out, answers_are_errors=False)


def wrk_get(name: str, url: str, args: argparse.Namespace) -> Figure:
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
           "--latency", "--timeout", "10s", url]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return _wrk_figure(name, out, answers_are_errors=True)


def _wrk_figure(name: str, out: str, *, answers_are_errors: bool) -> Figure:
    import re

    latency = {int(p): float(v) * UNITS[u] for p, v, u in WRK_LATENCY.findall(out)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = 0
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if bad and answers_are_errors:
        errors += int(bad.group(1))
    socket_errors = re.search(r"Socket errors:.*", out)
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(0)))
    return Figure(name, rps, latency.get(50, float("nan")), latency.get(99, float("nan")), errors)


def truth(data_dir: Path, url: str, item_id: int) -> dict[str, int]:
    """What the database holds after the rush (read directly, after the fact)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url or f"sqlite:///{data_dir / 'siyu.db'}")
    with engine.connect() as conn:
        quantity, sold, reserved, limit = conn.execute(
            text("SELECT quantity, sold, reserved, per_shopper_limit FROM flash_items WHERE id=:i"),
            {"i": item_id},
        ).one()
        orders = conn.execute(
            text("SELECT count(*) FROM orders WHERE source='flash_sale' AND status <> 'cancelled'")
        ).scalar_one()
        beyond = conn.execute(
            text("SELECT count(*) FROM (SELECT shopper_id FROM flash_purchases "
                 "WHERE item_id=:i AND status IN ('reserved','paid') GROUP BY shopper_id "
                 "HAVING sum(quantity) > :l) AS t"),
            {"i": item_id, "l": limit},
        ).scalar_one()  # fmt: skip
    engine.dispose()
    return {"quantity": quantity, "sold": sold, "reserved": reserved, "orders": orders,
            "oversold": max(sold + reserved - quantity, 0), "beyond_limit": beyond}  # fmt: skip


def mode_run(mode: str, args: argparse.Namespace, bare_rps: float) -> list[str]:
    prefix = f"siyu-bench-{uuid.uuid4().hex[:8]}:"
    with store(args.db) as (data_dir, url), tempfile.TemporaryDirectory() as scratch:
        env = siyu_env(data_dir, url)
        env.update(SIYU_FLASH_SALE_IP_RATE="1000000", SIYU_FLASH_SALE_IP_BURST="1000000")  # one IP
        env.update(SIYU_ACCESS_LOG="false")  # as the bare app, which logs warnings only
        if mode == "redis":
            env.update(SIYU_REDIS_URL=REDIS_URL, SIYU_REDIS_KEY_PREFIX=prefix)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        serve = [PYTHON, "-m", "siyu.cli", "serve", "--no-worker", "--port", str(port)]
        try:
            with running(serve, env, f"{base}/api/health"):
                admin = httpx.post(f"{base}/api/admin/login", json=ADMIN, timeout=30).json()
                headers = {"Authorization": f"Bearer {admin['token']}"}
                _, sku_id = catalog_targets(base)
                r = httpx.post(f"{base}/api/admin/skus/{sku_id}/stock", headers=headers,
                               json={"delta": args.units + 10, "reason": "秒杀备货"}, timeout=30)  # fmt: skip
                r.raise_for_status()
                now = datetime.now(UTC)
                made = httpx.post(f"{base}/api/admin/flash-sales", headers=headers, timeout=30, json={
                    "name": "压测秒杀", "starts_at": (now - timedelta(minutes=1)).isoformat(),
                    "ends_at": (now + timedelta(hours=1)).isoformat(),
                    "items": [{"sku_id": sku_id, "sale_price_fen": 1, "quantity": args.units,
                               "per_shopper_limit": 1}],
                })  # fmt: skip
                made.raise_for_status()
                session_id, item_id = made.json()["id"], made.json()["items"][0]["id"]
                tokens_file = Path(scratch) / "tokens.txt"
                load = subprocess.run(
                    [PYTHON, __file__, "--load", base, "--item", str(item_id), "--buyers",
                     str(args.buyers), "--connections", str(args.connections),
                     "--tokens", str(tokens_file)],
                    capture_output=True, text=True, cwd=ROOT,
                )  # fmt: skip
                if load.returncode != 0:
                    raise RuntimeError(f"the load process failed:\n{load.stderr[-3000:]}")
                rush = json.loads(load.stdout.strip().splitlines()[-1])
                report = httpx.post(f"{base}/api/admin/flash-sales/{session_id}/reconcile",
                                    headers=headers, timeout=30).json()  # fmt: skip
                db = truth(data_dir, url, item_id)
                gate = wrk_post(f"buy (gate, {mode})",
                                f"{base}/api/app/flash-sales/items/{item_id}/buy", tokens_file, args)  # fmt: skip
                board = httpx.get(f"{base}/api/admin/flash-sales/{session_id}/board",
                                  headers=headers, timeout=30).json()["totals"]  # fmt: skip
                after = httpx.post(f"{base}/api/admin/flash-sales/{session_id}/reconcile",
                                   headers=headers, timeout=30).json()  # fmt: skip
        finally:
            if mode == "redis":
                import redis

                client = redis.Redis.from_url(REDIS_URL)
                keys = list(client.scan_iter(match=prefix + "*", count=1000))
                if keys:
                    client.delete(*keys)
                client.close()
    answers = ", ".join(f"{k}: {v}" for k, v in sorted(rush["answers"].items()))
    ok = (db["sold"] == args.units and db["oversold"] == 0 and db["beyond_limit"] == 0
          and report["clean"] and after["clean"])  # fmt: skip
    db_kind = "SQLite" if not url else "PostgreSQL"
    lines = [
        f"\n### {mode} gate ({db_kind}), {args.buyers} buyers for {args.units} units, "
        f"{args.connections} connections",
        f"rush answers: {answers}",
        f"units sold {db['sold']} (paid {rush['paid']}, reserved {db['reserved']}), "
        f"orders {db['orders']}, oversold {db['oversold']}, shoppers beyond limit "
        f"{db['beyond_limit']}, reconciliation {'clean' if report['clean'] else 'DRIFT'} "
        f"(after wrk: {'clean' if after['clean'] else 'DRIFT'})",
        f"rush: {rush['requests']} requests in {rush['wall']:.2f} s "
        f"({rush['requests'] / rush['wall']:.0f} req/s), p50 {rush['p50']:.1f} ms, "
        f"p99 {rush['p99']:.1f} ms",
        f"board: gate requests {board['gate_requests']}, refusals {board['refusals']}, "
        f"rate limited {board['rate_limited']}, buyers {board['buyers']}",
        "| route                              |    req/s |  p50 ms |  p99 ms | vs bare |",
        "|---|---|---|---|---|",
        gate.row(bare_rps),
        f"verdict: {'OK' if ok else 'FAILED'}",
    ]
    print("\n".join(lines), flush=True)
    return lines


def bare_run(args: argparse.Namespace) -> Figure:
    port = free_port()
    bare = [PYTHON, "bench/bare_app.py", "--port", str(port)]
    with running(bare, dict(os.environ, PYTHONPATH=str(ROOT)), f"http://127.0.0.1:{port}/bare"):
        return wrk_get("bare FastAPI (async, 20 items)", f"http://127.0.0.1:{port}/bare", args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--buyers", type=int, default=2000)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--modes", default="redis,sql")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per route")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--load", help=argparse.SUPPRESS)  # the load process
    parser.add_argument("--item", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tokens", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        result = asyncio.run(
            _rush(args.load, args.item, args.buyers, args.connections, args.tokens)
        )
        print(json.dumps(result))
        return
    bare = bare_run(args)
    print(
        "| route                              |    req/s |  p50 ms |  p99 ms | vs bare |\n"
        "|---|---|---|---|---|\n" + bare.row(bare.rps),
        flush=True,
    )
    failed = False
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        lines = mode_run(mode, args, bare.rps)
        failed = failed or lines[-1].endswith("FAILED")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
