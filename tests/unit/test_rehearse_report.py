"""The rehearsal report built from Locust's output (its --json-file stats, failures and
history CSVs) and the database's counts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from siyu.rehearse.report import (
    build_report,
    format_table,
    list_reports,
    load_report,
    percentile,
    save_report,
)

START = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
STATS = [  # the shape of Locust's --json-file entries
    {"name": "browse", "method": "GET", "num_requests": 100, "num_failures": 0,
     "response_times": {"10": 50, "20": 45, "90": 4, "300": 1}},
    {"name": "place", "method": "POST", "num_requests": 40, "num_failures": 2,
     "response_times": {"50": 38, "400": 2}},
    {"name": "pay", "method": "POST", "num_requests": 38, "num_failures": 0,
     "response_times": {"60": 38}},
]  # fmt: skip
FAILURES = "Method,Name,Error,Occurrences\nPOST,place,409 insufficient_stock,2\n"
HISTORY = (
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s\n"
    "1796630108,5,,Aggregated,0.00,0.00\n"
    "1796630109,5,GET,browse,3.0,0\n"
    "1796630110,5,,Aggregated,12.50,0.50\n"
)


def report(database: dict[str, object]) -> dict[str, Any]:
    return build_report(
        run_id="20261207T080000Z-abc123", url="http://127.0.0.1:8000", started_at=START,
        ended_at=START, shoppers=5, ramp=5, duration_s=20, locust_stats=STATS,
        failures_csv=FAILURES, history_csv=HISTORY,
        shopper_side={"placed": [1, 2], "paid": [1], "products": 3, "promotions": [7]},
        database=database,
    )  # fmt: skip


AGREEING = {"shoppers": 0, "placed": 38, "paid": 38, "placed_ids": [1, 2], "paid_ids": [1],
            "skus_checked": 9, "negative": [], "oversold": [], "units_sold": 38}  # fmt: skip


def test_percentiles_of_a_histogram() -> None:
    hist = {"10": 50, "20": 45, "90": 4, "300": 1}
    assert percentile(hist, 50) == 10
    assert percentile(hist, 95) == 20
    assert percentile(hist, 99) == 90
    assert percentile(hist, 100) == 300
    assert percentile({}, 50) is None


def test_steps_counts_errors_and_a_passing_verdict() -> None:
    r = report(AGREEING)
    steps = {s["step"]: s for s in r["steps"]}
    assert [s["step"] for s in r["steps"]] == ["browse", "place", "pay"]
    assert steps["browse"]["rps"] == 5.0 and steps["browse"]["p99_ms"] == 90
    assert (
        steps["place"]["p95_ms"] == 50
        and steps["place"]["p99_ms"] == 400
        and steps["place"]["failures"] == 2
    )
    assert r["counts"] == {
        "shoppers": {"locust": 0, "database": 0},
        "placed": {"locust": 38, "database": 38},
        "paid": {"locust": 38, "database": 38},
    }
    assert r["errors"] == [
        {"step": "place", "kind": "409 insufficient_stock", "count": 2, "expected": True}
    ]
    assert r["timeline"] == [
        {"t": 1796630108, "users": 5, "rps": 0.0, "failures_per_s": 0.0},
        {"t": 1796630110, "users": 5, "rps": 12.5, "failures_per_s": 0.5},
    ]
    assert r["total"] == {"requests": 178, "failures": 2, "rps": 8.9}
    assert r["verdict"] == {"ok": True, "problems": []}
    table = format_table(r)
    assert "place" in table and "409 insufficient_stock × 2 (expected)" in table
    assert "通过 / PASS" in table


def test_a_mismatch_oversell_or_unexpected_error_fails() -> None:
    missing = {**AGREEING, "paid": 37, "paid_ids": [], "oversold": [{"sku_id": 4}]}
    r = report(missing)
    problems = r["verdict"]["problems"]
    assert r["verdict"]["ok"] is False
    assert "paid: locust 38 ≠ database 37" in problems
    assert any("missing or not paid" in p and "[1]" in p for p in problems)
    assert any("stock does not add up for 1" in p for p in problems)


def test_stored_reports_round_trip(tmp_path: Path) -> None:
    r = report(AGREEING)
    save_report(r, tmp_path)
    (tmp_path / "junk.json").write_text("[1, 2]", encoding="utf-8")
    assert [x["run_id"] for x in list_reports(tmp_path)] == ["20261207T080000Z-abc123"]
    assert load_report(tmp_path, "20261207T080000Z-abc123") == r
    assert load_report(tmp_path, "../etc/passwd") is None
    assert load_report(tmp_path, "nope") is None
    assert list_reports(tmp_path / "absent") == []


def test_a_database_that_is_not_the_targets_fails() -> None:
    """Shoppers logged in, none of them in the database the command reads."""
    stats = [*STATS, {"name": "login", "num_requests": 5, "num_failures": 0,
                      "response_times": {"30": 5}}]  # fmt: skip
    r = build_report(
        run_id="x", url="http://127.0.0.1:8000", started_at=START, ended_at=START,
        shoppers=5, ramp=5, duration_s=20, locust_stats=stats, failures_csv="",
        history_csv="", shopper_side={}, database={**AGREEING, "shoppers": 0},
    )  # fmt: skip
    assert r["steps"][0]["step"] == "login"
    assert r["counts"]["shoppers"] == {"locust": 5, "database": 0}
    assert r["verdict"]["ok"] is False
    assert "not in this database" in r["verdict"]["problems"][0]
