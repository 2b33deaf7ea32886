"""``siyu rehearse``: check the target is a sandbox store, run Locust against it in its
own process, then check the database and write the report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from siyu.config import Settings
from siyu.db import Database
from siyu.rehearse import checks
from siyu.rehearse.report import build_report, reports_dir, save_report

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"


class RehearsalRefused(Exception):
    """The target cannot be rehearsed (unreachable, or its payments are live)."""


@dataclass(frozen=True)
class Plan:
    url: str
    shoppers: int
    ramp: float
    duration_s: int
    report_dir: Path


def check_target(url: str) -> dict[str, Any]:
    """The target's /api/health; refuses a store whose payment provider is not the sandbox."""
    try:
        health = httpx.get(f"{url}/api/health", timeout=10).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise RehearsalRefused(
            f"无法连接目标商店 / cannot reach the store at {url}: {exc}"
        ) from exc
    payment = health.get("payment") if isinstance(health, dict) else None
    if payment != "sandbox":
        raise RehearsalRefused(
            f"目标商店的支付不是沙箱（{payment or '未知'}），拒绝压测：压测会真实下单付款 / "
            f"the store at {url} takes live payments ({payment or 'unknown'}): a rehearsal "
            "places and pays real orders, so it runs only against a sandbox store"
        )
    return dict(health)


def run_locust(plan: Plan, run_id: str, work: Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "-u", str(plan.shoppers), "-r", str(plan.ramp), "-t", f"{plan.duration_s}s",
        "--host", plan.url, "--csv", str(work / "locust"), "--json-file", str(work / "stats"),
        "--only-summary", "--stop-timeout", "5", "--loglevel", "WARNING",
        "--exit-code-on-error", "0",
    ]  # fmt: skip
    env = {**os.environ, "SIYU_REHEARSE_RUN": run_id, "SIYU_REHEARSE_OUT": str(work / "out.json")}
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=plan.duration_s + 120
    )


def read(path: Path, default: str = "") -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else default


def rehearse(settings: Settings, plan: Plan) -> tuple[dict[str, Any], Path]:
    """Run the rehearsal; returns the report and where it was written."""
    check_target(plan.url)
    started = datetime.now(UTC)
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    db = Database(settings.sqlalchemy_url)
    try:
        with db.transaction() as session:
            before = checks.stock_snapshot(session)
        with tempfile.TemporaryDirectory(prefix="siyu-rehearse-") as tmp:
            work = Path(tmp)
            done = run_locust(plan, run_id, work)
            ended = datetime.now(UTC)
            stats_text = read(work / "stats.json") or read(work / "stats")
            if not stats_text:
                raise RehearsalRefused(
                    "Locust 未输出结果 / Locust wrote no results:\n" + done.stderr[-2000:]
                )
            stats = json.loads(stats_text)
            side = json.loads(read(work / "out.json", "{}"))
            failures = read(work / "locust_failures.csv")
            history = read(work / "locust_stats_history.csv")
        with db.transaction() as session:
            database = checks.run_orders(session, run_id)
            database |= checks.stock_check(session, before, started - timedelta(seconds=1))
    finally:
        db.dispose()
    report = build_report(
        run_id=run_id, url=plan.url, started_at=started, ended_at=ended,
        shoppers=plan.shoppers, ramp=plan.ramp, duration_s=plan.duration_s,
        locust_stats=stats, failures_csv=failures, history_csv=history,
        shopper_side=side, database=database,
    )  # fmt: skip
    return report, save_report(report, plan.report_dir)


def default_plan(
    settings: Settings,
    *,
    url: str | None,
    shoppers: int,
    ramp: float,
    duration: int,
    report_dir: Path | None,
) -> Plan:
    return Plan(
        url=(url or f"http://{settings.host}:{settings.port}").rstrip("/"),
        shoppers=shoppers,
        ramp=ramp,
        duration_s=duration,
        report_dir=report_dir or reports_dir(settings.data_dir),
    )
