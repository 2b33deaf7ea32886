"""Event ingestion: ``POST /api/track`` over HTTP next to raw ``store.insert`` of the
same rows, on embedded chdb.

- **raw**: the rows the endpoint would write (validated beforehand, not timed), sent
  with ``AnalyticsStore.insert`` in batches of 200 with a dedup token — the floor
  the endpoint cannot beat.
- **http**: Siyu served by uvicorn in a thread of this process; a separate client
  process (N threads, one keep-alive ``httpx.Client`` each) posts pre-encoded
  batches of 200 events, each batch from its own device.

It prints events/s for both and their ratio (these machines are noisy: compare the
ratio between runs), and checks the count stored equals the count sent.

    .venv/bin/python bench/ingest_bench.py [--events 100000] [--concurrency 4] [--gzip]
"""

from __future__ import annotations

import argparse
import gzip
import json
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
    import httpx

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
    lock = threading.Lock()

    def worker(offset: int) -> None:
        nonlocal accepted, failures
        with httpx.Client(base_url=url, timeout=60) as client:
            for i in range(offset, batches, concurrency):
                response = client.post("/api/track", content=bodies[i], headers=headers)
                with lock:
                    if response.status_code == 200:
                        accepted += response.json()["accepted"]
                    else:
                        failures += 1

    with httpx.Client(base_url=url) as warm:  # not timed: first chdb open, schema
        warm.post("/api/track", content=bodies[0], headers=headers)
    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    print(json.dumps({"elapsed": elapsed, "accepted": accepted, "failures": failures}))


# ---------------------------------------------------------------- server side


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_raw(folder: Path, batches: int) -> float:
    from siyu.analytics.schema import ensure_schema
    from siyu.analytics.store import ChdbStore
    from siyu.tracking.rules import batch_dedup_token, validate_batch
    from siyu.tracking.service import EVENT_COLUMNS, event_row

    store = ChdbStore(folder / "raw")
    try:
        ensure_schema(store)
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
        started = time.perf_counter()
        for rows, token in prepared:
            store.insert("events", EVENT_COLUMNS, rows, dedup_token=token)
        elapsed = time.perf_counter() - started
        count = store.query(f"SELECT count() FROM {store.database}.events").scalar()
        assert count == batches * BATCH, f"raw stored {count}, sent {batches * BATCH}"
        return batches * BATCH / elapsed
    finally:
        store.close()


def bench_http(folder: Path, batches: int, concurrency: int, use_gzip: bool) -> float:
    import uvicorn

    from siyu.analytics.schema import EVENTS
    from siyu.app import create_app
    from siyu.config import Settings
    from siyu.context import build_context

    settings = Settings(
        env="test",
        data_dir=folder / "http",
        database_url=f"sqlite:///{folder / 'siyu.db'}",
        run_worker=False,
    )
    ctx = build_context(settings)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(ctx=ctx, run_worker=False),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
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
        server.should_exit = True
        thread.join(10)
    sent = batches * BATCH
    db = ctx.analytics.database
    count = ctx.analytics.query(f"SELECT count() FROM {EVENTS.format(db=db)}").scalar()
    ctx.close()
    assert result["failures"] == 0, f"{result['failures']} batches failed"
    assert result["accepted"] == sent, f"accepted {result['accepted']}, sent {sent}"
    assert count == sent, f"http stored {count}, sent {sent}"  # the warm-up batch is a retry
    return sent / float(result["elapsed"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=4)
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
        raw = bench_raw(folder, batches)
        http = bench_http(folder, batches, args.concurrency, args.gzip)
    sent = batches * BATCH
    print(f"events sent per path: {sent:,} in batches of {BATCH}")
    print(f"raw store.insert : {raw:>10,.0f} events/s")
    label = "HTTP /api/track" + (" (gzip)" if args.gzip else "")
    print(f"{label:<17}: {http:>10,.0f} events/s")
    print(f"ratio http/raw   : {http / raw:.2f}")
    print(f"stored == sent   : yes ({sent:,} each)")


if __name__ == "__main__":
    main()
