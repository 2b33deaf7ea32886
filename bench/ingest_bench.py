"""Event ingestion: ``POST /api/track`` over HTTP next to raw ``store.insert`` of the
same rows, on embedded chdb.

- **raw 200**: the rows the endpoint would write (validated beforehand, not timed),
  sent with ``AnalyticsStore.insert`` in blocks of 200 with a dedup token — what one
  insert per request costs.
- **raw 5000**: the same rows in blocks of 5,000 — what the group commit aims at.
- **http**: Siyu served by uvicorn in a thread of this process (requests validate,
  then share inserts through ``siyu.tracking.buffer``); a separate client process
  (N threads, one raw keep-alive ``http.client`` connection each, so the load
  generator costs little CPU) posts pre-encoded batches of 200 events, each batch
  from its own device.

It prints events/s for each, the ratios (these machines are noisy: compare ratios
between runs), how many inserts the endpoint made, and checks the count stored
equals the count sent through the ``EVENTS`` view (and the raw row count). It also
prints the CPU time per event of the server process (all its threads: requests,
group commit, chdb) and of the client process while it sends: on a shared machine,
CPU per event moves far less than events/s, and the client's share shows it is not
the bottleneck. The server runs uvicorn's defaults, so httptools and uvloop when
installed (``uvicorn[standard]``), through ``siyu.server.build_server`` as ``siyu serve``
does (so the heap is settled after startup); the line "server" names what it used.

    .venv/bin/python bench/ingest_bench.py [--events 100000] [--concurrency 32] [--gzip]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BATCH = 200
START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def make_batch(index: int, *, sent_at: datetime) -> dict[str, Any]:
    device = f"bench-device-{index:08d}"
    events = []
    for n in range(BATCH):
        events.append(
            {
                "event_id": f"bench-{index:08d}-{n:04d}",
                "event": ("$pageview", "product_view", "add_to_cart")[n % 3],
                "anonymous_id": device,
                "client_time": int((sent_at - timedelta(seconds=BATCH - n)).timestamp() * 1000),
                "page": "pages/product/detail",
                "referrer": "pages/index/index",
                "scene": (1047, 1007, 1001, 1058)[index % 4],
                "query": {"id": str(n % 50), "sharer_id": "42", "share_depth": "2"},
                "properties": {"product_id": n % 50, "price_fen": 5900, "title": "云南小粒咖啡"},
            }
        )
    return {"sent_at": int(sent_at.timestamp() * 1000), "batch": events}


# ---------------------------------------------------------------- client process


def run_client(url: str, batches: int, concurrency: int, use_gzip: bool) -> None:
    import http.client
    from urllib.parse import urlparse

    target = urlparse(url)
    sent_at = datetime.now(UTC)
    headers = {"Content-Type": "application/json"}
    if use_gzip:
        headers["Content-Encoding"] = "gzip"
    bodies = []
    for i in range(batches):
        raw = json.dumps(make_batch(i, sent_at=sent_at)).encode()
        bodies.append(gzip.compress(raw, 5) if use_gzip else raw)
    accepted = 0
    failures = 0
    retries = 0
    lock = threading.Lock()

    def connect() -> http.client.HTTPConnection:
        return http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=60)

    def send(conn: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes, str]:
        conn.request("POST", "/api/track", body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("Retry-After") or "1"

    def worker(offset: int) -> None:
        nonlocal accepted, failures, retries
        conn = connect()
        try:
            for i in range(offset, batches, concurrency):
                for _attempt in range(5):  # a 503 (busy / failed write) is resent
                    status, data, retry_after = send(conn, bodies[i])
                    if status != 503:
                        break
                    with lock:
                        retries += 1
                    time.sleep(min(float(retry_after), 1.0) / 10)
                with lock:
                    if status == 200:
                        accepted += json.loads(data)["accepted"]
                    else:
                        failures += 1
        finally:
            conn.close()

    warm = connect()  # not timed: first chdb open, schema
    send(warm, bodies[0])
    warm.close()
    started = time.perf_counter()
    cpu_started = time.process_time()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - cpu_started
    print(
        json.dumps(
            {
                "elapsed": elapsed,
                "accepted": accepted,
                "failures": failures,
                "retries": retries,
                "client_cpu": client_cpu,
            }
        )
    )


# ---------------------------------------------------------------- server side


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_raw(folder: Path, batches: int) -> tuple[float, float]:
    """events/s of raw inserts in blocks of 200 (with dedup tokens) and of 5,000."""
    from siyu.analytics.schema import EVENTS, ensure_schema
    from siyu.analytics.store import ChdbStore
    from siyu.tracking.ingest import EVENT_COLUMNS, event_row
    from siyu.tracking.rules import batch_dedup_token, validate_batch

    now = datetime.now(UTC)
    prepared = []
    for i in range(batches):
        events, rejected = validate_batch(
            make_batch(i, sent_at=now)["batch"], sent_at=now, received_at=now
        )
        assert not rejected
        prepared.append(
            ([event_row(e) for e in events], batch_dedup_token(e.event_id for e in events))
        )
    all_rows = [row for rows, _ in prepared for row in rows]
    rates = []
    for database, blocks in (
        ("raw200", prepared),
        ("raw5000", [(all_rows[k : k + 5000], None) for k in range(0, len(all_rows), 5000)]),
    ):
        store = ChdbStore(folder / "raw", database=database)
        try:
            ensure_schema(store)
            started = time.perf_counter()
            for rows, token in blocks:
                store.insert("events", EVENT_COLUMNS, rows, dedup_token=token)
            elapsed = time.perf_counter() - started
            count = store.query(f"SELECT count() FROM {EVENTS.format(db=database)}").scalar()
            assert count == batches * BATCH, f"{database} stored {count}, sent {batches * BATCH}"
            rates.append(batches * BATCH / elapsed)
        finally:
            store.close()
    return rates[0], rates[1]


def bench_http(
    folder: Path, batches: int, concurrency: int, use_gzip: bool
) -> tuple[float, dict[str, Any]]:
    from siyu.analytics.schema import EVENTS
    from siyu.app import create_app
    from siyu.bootstrap import build_context
    from siyu.config import Env, Settings
    from siyu.server import build_server
    from siyu.tracking.ingest import ingest_buffer

    settings = Settings(
        env=Env.test,
        data_dir=folder / "http",
        database_url=f"sqlite:///{folder / 'siyu.db'}",
        run_worker=False,
    )
    ctx = build_context(settings)
    port = _free_port()
    server = build_server(  # what `siyu serve` runs
        create_app(ctx=ctx, run_worker=False),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    ingest_buffer(ctx.analytics)  # not timed: open chdb (schema) and start the group commit
    ctx.analytics.query("SELECT 1")
    cpu_before = os.times()
    try:
        command = [
            sys.executable,
            __file__,
            "--client",
            f"http://127.0.0.1:{port}",
            "--batches",
            str(batches),
            "--concurrency",
            str(concurrency),
        ]
        if use_gzip:
            command.append("--gzip")
        out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=900)
        result = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        cpu_after = os.times()
        server.should_exit = True
        thread.join(10)
    sent = batches * BATCH
    result["server_cpu"] = (cpu_after.user - cpu_before.user) + (
        cpu_after.system - cpu_before.system
    )
    result["server"] = _implementations(server)
    db = ctx.analytics.database
    count = ctx.analytics.query(f"SELECT count() FROM {EVENTS.format(db=db)}").scalar()
    physical = ctx.analytics.query(f"SELECT count() FROM {db}.events").scalar()
    buffer = ingest_buffer(ctx.analytics)
    assert buffer is not None
    result.update(flushes=buffer.flushes, rows_written=buffer.rows_written, physical=physical)
    ctx.close()
    assert result["failures"] == 0, f"{result['failures']} batches failed"
    assert result["accepted"] == sent, f"accepted {result['accepted']}, sent {sent}"
    assert count == sent, f"http stored {count}, sent {sent}"  # the warm-up batch is a retry
    return sent / float(result["elapsed"]), result


def _implementations(server: Any) -> str:
    """The event loop and HTTP parser uvicorn ran ("auto" picks uvloop and httptools
    when they are installed)."""
    from importlib.util import find_spec

    loop = server.config.loop
    if loop == "auto":
        loop = "uvloop" if find_spec("uvloop") else "asyncio"
    http = server.config.http_protocol_class
    parser = getattr(http, "__module__", str(http)).rsplit(".", 1)[-1].removesuffix("_impl")
    return f"loop {loop}, http {parser}, {server.frozen:,} objects frozen after startup"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--batches", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        run_client(args.client, args.batches, args.concurrency, args.gzip)
        return
    batches = max(1, args.events // BATCH)
    with tempfile.TemporaryDirectory(prefix="siyu-ingest-") as tmp:
        folder = Path(tmp)
        raw200, raw5000 = bench_raw(folder, batches)
        http, stats = bench_http(folder, batches, args.concurrency, args.gzip)
    sent = batches * BATCH
    print(f"events sent per path: {sent:,} in batches of {BATCH}; {args.concurrency} clients")
    print(f"raw store.insert, blocks of 200  : {raw200:>10,.0f} events/s")
    print(f"raw store.insert, blocks of 5000 : {raw5000:>10,.0f} events/s")
    label = "HTTP /api/track" + (" (gzip)" if args.gzip else "")
    print(f"{label:<33}: {http:>10,.0f} events/s")
    print(f"ratio http / raw 200             : {http / raw200:.2f}")
    print(f"ratio http / raw 5000            : {http / raw5000:.2f}")
    flushes = stats["flushes"]
    print(
        f"http inserts                     : {flushes:,} "
        f"(avg {stats['rows_written'] / max(1, flushes):,.0f} rows), "
        f"503 retries {stats['retries']}"
    )
    print(
        f"stored == sent                   : yes ({sent:,} via EVENTS; "
        f"{stats['physical']:,} physical rows)"
    )
    print(
        f"CPU per event                    : server {stats['server_cpu'] / sent * 1e6:.1f} µs "
        f"(all threads), client {stats['client_cpu'] / sent * 1e6:.1f} µs "
        f"({stats['client_cpu'] / float(stats['elapsed']):.0%} of a core while sending)"
    )
    print(f"server                           : uvicorn, {stats['server']}")


if __name__ == "__main__":
    main()
