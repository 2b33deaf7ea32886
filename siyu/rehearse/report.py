"""The rehearsal's report: Locust's output and the database's counts → one JSON
document (pure functions), and the stored reports under ``<data dir>/rehearsals``.

Locust's ``--json-file`` holds, per request name, ``num_requests``, ``num_failures``
and ``response_times`` (a histogram: rounded milliseconds → count); its
``_failures.csv`` the failures by kind; its ``_stats_history.csv`` the aggregated
throughput each second.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

STEPS = ("login", "browse", "product", "offers", "cart", "quote", "place", "pay_start", "pay")
# Refusals a sale expects (the stock ran out, a price moved): reported, not a defect.
EXPECTED_ERRORS = ("insufficient_stock", "quote_changed", "sku_unavailable")
REPORT_NAME = re.compile(r"^[0-9A-Za-z_-]{1,80}$")


def percentile(histogram: Mapping[str, int] | Mapping[int, int], p: float) -> float | None:
    """The ``p`` percentile (0–100) of a ``{milliseconds: count}`` histogram."""
    pairs = sorted((float(ms), int(n)) for ms, n in histogram.items())
    total = sum(n for _, n in pairs)
    if not total:
        return None
    rank = max(1, round(p / 100 * total + 0.4999))
    seen = 0
    for ms, n in pairs:
        seen += n
        if seen >= rank:
            return ms
    return pairs[-1][0]


def step_stats(stats: Iterable[Mapping[str, Any]], duration_s: float) -> list[dict[str, Any]]:
    """One row per step (the order of STEPS first, then any other name)."""
    by_name: dict[str, dict[str, Any]] = {}
    for entry in stats:
        name = str(entry["name"])
        row = by_name.setdefault(name, {"requests": 0, "failures": 0, "hist": {}})
        row["requests"] += int(entry.get("num_requests", 0))
        row["failures"] += int(entry.get("num_failures", 0))
        for ms, n in (entry.get("response_times") or {}).items():
            row["hist"][float(ms)] = row["hist"].get(float(ms), 0) + int(n)
    order = [s for s in STEPS if s in by_name] + sorted(set(by_name) - set(STEPS))
    rows = []
    for name in order:
        row = by_name[name]
        rows.append(
            {
                "step": name,
                "requests": row["requests"],
                "failures": row["failures"],
                "rps": round(row["requests"] / duration_s, 2) if duration_s else 0.0,
                "p50_ms": percentile(row["hist"], 50),
                "p95_ms": percentile(row["hist"], 95),
                "p99_ms": percentile(row["hist"], 99),
            }
        )
    return rows


def parse_failures(text: str) -> list[dict[str, Any]]:
    """Locust's ``_failures.csv`` → ``[{step, kind, count, expected}]``."""
    rows = []
    for line in csv.DictReader(io.StringIO(text)):
        kind = line.get("Error", "").strip()
        rows.append(
            {
                "step": line.get("Name", ""),
                "kind": kind,
                "count": int(line.get("Occurrences") or 0),
                "expected": any(code in kind for code in EXPECTED_ERRORS),
            }
        )
    return sorted(rows, key=lambda r: -r["count"])


def parse_history(text: str) -> list[dict[str, Any]]:
    """Locust's ``_stats_history.csv`` (aggregated rows) → throughput by second."""
    points = []
    for line in csv.DictReader(io.StringIO(text)):
        if line.get("Name") != "Aggregated":
            continue
        try:
            points.append(
                {
                    "t": int(line["Timestamp"]),
                    "users": int(line.get("User Count") or 0),
                    "rps": float(line.get("Requests/s") or 0),
                    "failures_per_s": float(line.get("Failures/s") or 0),
                }
            )
        except (KeyError, ValueError):
            continue
    return points


def build_report(
    *,
    run_id: str,
    url: str,
    started_at: datetime,
    ended_at: datetime,
    shoppers: int,
    ramp: float,
    duration_s: int,
    locust_stats: list[Mapping[str, Any]],
    failures_csv: str,
    history_csv: str,
    shopper_side: Mapping[str, Any],
    database: Mapping[str, Any],
) -> dict[str, Any]:
    """The report: steps, errors by kind, counts (Locust vs database) and the verdict."""
    steps = step_stats(locust_stats, float(duration_s))
    ok = {row["step"]: row["requests"] - row["failures"] for row in steps}
    errors = parse_failures(failures_csv)
    counts = {
        "shoppers": {"locust": ok.get("login", 0), "database": int(database.get("shoppers", 0))},
        "placed": {"locust": ok.get("place", 0), "database": int(database["placed"])},
        "paid": {"locust": ok.get("pay", 0), "database": int(database["paid"])},
    }
    placed_ids = {int(i) for i in shopper_side.get("placed", [])}
    paid_ids = {int(i) for i in shopper_side.get("paid", [])}
    problems = []
    if counts["shoppers"]["locust"] and not counts["shoppers"]["database"]:
        problems.append(
            "数据库里没有本次的模拟顾客：命令的数据库设置与目标商店不同 / the run's shoppers "
            "are not in this database: SIYU_DATABASE_URL / SIYU_DATA_DIR is not the target's"
        )
    for key, pair in counts.items():
        if pair["locust"] != pair["database"]:
            problems.append(f"{key}: locust {pair['locust']} ≠ database {pair['database']}")
    missing_paid = sorted(paid_ids - {int(i) for i in database.get("paid_ids", [])})
    if missing_paid:
        problems.append(f"paid orders missing or not paid in the database: {missing_paid[:10]}")
    missing_placed = sorted(placed_ids - {int(i) for i in database.get("placed_ids", [])})
    if missing_placed:
        problems.append(f"placed orders missing in the database: {missing_placed[:10]}")
    oversold = list(database.get("oversold", []))
    if oversold:
        problems.append(f"stock does not add up for {len(oversold)} SKU(s)")
    unexpected = sum(e["count"] for e in errors if not e["expected"])
    if unexpected:
        problems.append(f"{unexpected} unexpected failure(s)")
    return {
        "run_id": run_id,
        "url": url,
        "started_at": started_at.isoformat(),
        "ended_at": ended_at.isoformat(),
        "shoppers": shoppers,
        "ramp": ramp,
        "duration_s": duration_s,
        "store": {
            "products": int(shopper_side.get("products", 0)),
            "promotions": list(shopper_side.get("promotions", [])),
        },
        "steps": steps,
        "total": {
            "requests": sum(r["requests"] for r in steps),
            "failures": sum(r["failures"] for r in steps),
            "rps": round(sum(r["requests"] for r in steps) / duration_s, 2) if duration_s else 0,
        },
        "errors": errors,
        "timeline": parse_history(history_csv),
        "counts": counts,
        "stock": {
            "skus_checked": int(database.get("skus_checked", 0)),
            "negative": list(database.get("negative", [])),
            "oversold": oversold,
            "units_sold": int(database.get("units_sold", 0)),
        },
        "verdict": {"ok": not problems, "problems": problems},
    }


def format_table(report: Mapping[str, Any]) -> str:
    """The report as the command prints it."""
    ms = lambda v: "—" if v is None else f"{v:.0f}"  # noqa: E731
    lines = [
        f"大促压测 / Sale rehearsal {report['run_id']} — {report['url']}, "
        f"{report['shoppers']} shoppers, ramp {report['ramp']}/s, {report['duration_s']} s",
        f"{'step':<10}{'requests':>9}{'failures':>9}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}",
    ]
    for r in report["steps"]:
        lines.append(
            f"{r['step']:<10}{r['requests']:>9}{r['failures']:>9}{r['rps']:>8.2f}"
            f"{ms(r['p50_ms']):>8}{ms(r['p95_ms']):>8}{ms(r['p99_ms']):>8}"
        )
    total = report["total"]
    lines.append(f"{'total':<10}{total['requests']:>9}{total['failures']:>9}{total['rps']:>8.2f}")
    for e in report["errors"]:
        tag = "expected" if e["expected"] else "UNEXPECTED"
        lines.append(f"  error {e['step']}: {e['kind']} × {e['count']} ({tag})")
    for key, pair in report["counts"].items():
        lines.append(f"  {key}: locust {pair['locust']}, database {pair['database']}")
    stock = report["stock"]
    lines.append(
        f"  stock: {stock['skus_checked']} SKUs checked, {stock['units_sold']} units sold, "
        f"negative {len(stock['negative'])}, oversold {len(stock['oversold'])}"
    )
    verdict = report["verdict"]
    lines.append(
        "结论 / verdict: 通过 / PASS"
        if verdict["ok"]
        else "结论 / verdict: 未通过 / FAIL — " + "; ".join(verdict["problems"])
    )
    return "\n".join(lines)


# ---------------------------------------------------------------- stored reports


def reports_dir(data_dir: Path) -> Path:
    return data_dir / "rehearsals"


def save_report(report: Mapping[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{report['run_id']}.json"
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def list_reports(folder: Path) -> list[dict[str, Any]]:
    """The stored reports, newest first (a file that is not a report is skipped)."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.json"):
        report = load_report(folder, path.stem)
        if report is not None:
            found.append(report)
    return sorted(found, key=lambda r: str(r.get("started_at", "")), reverse=True)


def load_report(folder: Path, name: str) -> dict[str, Any] | None:
    """The report called ``name`` (its run id), or None (no such report, a bad name)."""
    if not REPORT_NAME.match(name):
        return None
    path = folder / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not {"run_id", "steps", "counts", "verdict"} <= set(data):
        return None
    return data
