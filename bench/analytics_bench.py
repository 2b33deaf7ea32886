"""Analytics at scale: insight runners next to their bare ClickHouse query, and ingestion.

1. **Data**: ``siyu simulate --bulk`` into a temporary chdb folder (10 M events for
   500 k persons by default, a tenth of them ``order.paid`` facts for RFM); the
   generation time is printed on its own.
2. **Queries**, each through its runner (query model built and validated, SQL built,
   run, rows shaped into the typed result) and bare (the same ``build_sql()`` output
   executed with ``store.query``), interleaved, after one untimed warm-up each:
   a 4-step funnel (``$pageview → product_view → add_to_cart → order.paid``) with a
   7-day window over the 60 days, 30-day daily retention (``$pageview`` → ``$pageview``),
   and RFM over the ~1 M orders twice: what the console's RFM page needs (the eight
   segments and the first page of customers, ``RfmQuery.page``; bare: its
   ``build_page_sql()``), and the export of every customer (``customer_rows``; bare:
   ``build_sql()``, the full list). It prints the median seconds and runner/bare (goal
   ≤ 1.3).
3. **Ingestion**: ``POST /api/track`` over HTTP (uvicorn on loopback, batches of 200)
   next to raw ``store.insert`` of the same rows: bench/ingest_bench.py's two paths,
   which check that the count stored equals the count sent.

    .venv/bin/python bench/analytics_bench.py [--events 10000000] [--persons 500000]
        [--repeat 3] [--ingest-events 100000] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from siyu.analytics.queries import (  # noqa: E402
    EventFilter,
    FunnelQuery,
    FunnelRunner,
    RetentionQuery,
    RetentionRunner,
)
from siyu.analytics.rfm import RfmQuery  # noqa: E402
from siyu.analytics.store import AnalyticsStore, ChdbStore  # noqa: E402
from siyu.clock import SHANGHAI  # noqa: E402
from siyu.devtools.simulate_bulk import bulk_generate  # noqa: E402
from siyu.web.console.analytics import RFM_TABLE_LIMIT  # noqa: E402

END = datetime(2026, 11, 1, tzinfo=SHANGHAI)
DAYS = 60


def funnel_query() -> FunnelQuery:
    return FunnelQuery(
        date_from=END - timedelta(days=DAYS),
        date_to=END,
        steps=tuple(
            EventFilter(event=e) for e in ("$pageview", "product_view", "add_to_cart", "order.paid")
        ),
        window_interval=7,
        window_unit="day",
    )


def retention_query() -> RetentionQuery:
    return RetentionQuery(
        date_from=END - timedelta(days=30),
        date_to=END,
        target_event=EventFilter(event="$pageview"),
        returning_event=EventFilter(event="$pageview"),
        period="day",
        total_intervals=30,
    )


def rfm_query() -> RfmQuery:
    last = (END - timedelta(days=1)).date()
    return RfmQuery(date_from=(END - timedelta(days=DAYS)).date(), date_to=last, as_of=last)


def cases(store: AnalyticsStore) -> list[tuple[str, Callable[[], Any], Callable[[], Any]]]:
    """(name, through the runner, bare query) for each insight."""
    db = store.database
    funnel_sql = FunnelRunner(funnel_query(), database=db).build_sql()
    retention_sql = RetentionRunner(retention_query(), database=db).build_sql()
    rfm_page_sql = rfm_query().build_page_sql(db, limit=RFM_TABLE_LIMIT)
    rfm_sql = rfm_query().build_sql(db)
    return [
        (
            "funnel 4 steps, 7-day window",
            lambda: FunnelRunner(funnel_query(), database=db).run(store),
            lambda: store.query(*funnel_sql),
        ),
        (
            "retention 30 days (daily)",
            lambda: RetentionRunner(retention_query(), database=db).run(store),
            lambda: store.query(*retention_sql),
        ),
        (
            "RFM page: segments + 500",
            lambda: rfm_query().page(store, limit=RFM_TABLE_LIMIT),
            lambda: store.query(*rfm_page_sql),
        ),
        (
            "RFM export: every customer",
            lambda: list(rfm_query().customer_rows(store)),
            lambda: store.query(*rfm_sql),
        ),
    ]


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def bench_queries(store: AnalyticsStore, repeat: int) -> None:
    print(f"\n  {'query':<32}{'runner s':>10}{'bare s':>9}{'runner/bare':>13}   result")
    for name, runner, bare in cases(store):
        _, result = timed(runner)  # warm-up: caches, marks
        bare()
        runner_times, bare_times = [], []
        for _ in range(repeat):
            runner_times.append(timed(runner)[0])
            bare_times.append(timed(bare)[0])
        r, b = statistics.median(runner_times), statistics.median(bare_times)
        print(f"  {name:<32}{r:>10.3f}{b:>9.3f}{r / b:>13.2f}   {describe(result)}", flush=True)


def describe(result: Any) -> str:
    if hasattr(result, "series"):
        steps = result.series[0].steps
        return " → ".join(f"{s.count:,}" for s in steps) + " persons"
    if hasattr(result, "cohorts"):
        sizes = [c.size for c in result.cohorts]
        day1 = [c.values[1].percentage for c in result.cohorts if len(c.values) > 1]
        return f"{len(sizes)} cohorts, avg size {statistics.mean(sizes):,.0f}, " + (
            f"day-1 {statistics.mean(day1):.1f}%"
        )
    if hasattr(result, "segments"):  # RfmPage
        revenue = sum(s.revenue_fen for s in result.segments)
        return (
            f"{result.total:,} customers in 8 segments, revenue {revenue / 100:,.0f} yuan; "
            f"page of {len(result.customers)}"
        )
    if isinstance(result, list):  # RfmQuery.customer_rows
        orders = sum(row[3] for row in result)
        return f"{len(result):,} customers, {orders:,} orders"
    return type(result).__name__


def bench_ingest(events: int, concurrency: int) -> None:
    """bench/ingest_bench.py's paths; its return shapes have changed over time, so both
    the old (a rate) and the new (rates, stats) are read."""
    from ingest_bench import BATCH, bench_http, bench_raw

    batches = max(1, events // BATCH)
    with tempfile.TemporaryDirectory(prefix="siyu-analytics-ingest-") as tmp:
        folder = Path(tmp)
        raw_out: Any = bench_raw(folder, batches)
        http_out: Any = bench_http(folder, batches, concurrency, False)
    raws = raw_out if isinstance(raw_out, tuple) else (raw_out,)
    http = http_out[0] if isinstance(http_out, tuple) else http_out
    sent = batches * BATCH
    print(f"\n  ingestion: {sent:,} events per path, HTTP batches of {BATCH}")
    for label, rate in zip(
        ("raw store.insert, blocks of 200", "raw, blocks of 5000"), raws, strict=False
    ):
        print(f"  {label:<32}{rate:>12,.0f} events/s")
    print(f"  {'HTTP POST /api/track':<32}{http:>12,.0f} events/s  ({concurrency} client threads)")
    print(f"  {'ratio http/raw 200':<32}{http / raws[0]:>12.2f}")
    print(f"  {'stored == sent':<32}{'yes':>12} ({sent:,} each path, checked by ingest_bench)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--persons", type=int, default=500_000)
    parser.add_argument("--orders", type=int, default=None, help="default: events / 10")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per query and path")
    parser.add_argument("--ingest-events", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=32, help="HTTP client threads")
    parser.add_argument("--no-queries", action="store_true", help="ingestion only")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    started = time.perf_counter()
    print(
        f"Siyu analytics bench: {args.events:,} events / {args.persons:,} persons on chdb, "
        f"{args.repeat} timed runs each (median); Python {sys.version.split()[0]}"
    )
    if not args.no_queries:
        with tempfile.TemporaryDirectory(prefix="siyu-analytics-bench-") as tmp:
            store = ChdbStore(Path(tmp) / "chdb", database="bench")
            try:
                report = bulk_generate(
                    store,
                    events=args.events,
                    persons=args.persons,
                    orders=args.orders,
                    end=END,
                    days=DAYS,
                    seed=args.seed,
                )
                print(f"  data generation: {report.seconds:.1f} s — {report.summary()}", flush=True)
                bench_queries(store, args.repeat)
            finally:
                store.close()  # chdb: one folder per process; ingestion opens others
    bench_ingest(args.ingest_events, args.concurrency)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
