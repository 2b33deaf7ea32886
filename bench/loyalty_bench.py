"""Loyalty speed: check-ins per second through the service, and quotes per second of the
pure pricing engine with a member price and a points deduction added.

**Check-ins.** Shoppers of a fresh store (SQLite in a temporary folder, or PostgreSQL
with ``--db postgres``) check in, each in its own transaction as the route does: the
rule is read, the shopper's dates, the unique (shopper, date) row inserted and the
day's points credited through the ledger (a guarded balance update, an entry, a
lot). Baseline in the same run and database: a transaction that inserts one row
into a one-column table (the floor of a write).

**Quotes.** The cart of ``bench/pricing_bench.py`` (20 lines, 10 promotions, 10
coupons) priced for a 钻石 member (8折, three per-SKU member prices) spending points,
against the same cart for a shopper with neither, in the same run. The pricing goal
is ≥ 5,000 quotes/s on one core in CPU time.

    .venv/bin/python bench/loyalty_bench.py [--db sqlite|postgres] [--shoppers 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pricing_bench import GOAL, NOW, cart, coupons, promotions, rate

from siyu.bootstrap import build_context
from siyu.clock import FrozenClock
from siyu.config import Env, Settings
from siyu.identity.models import Shopper
from siyu.loyalty.checkin.service import check_in
from siyu.migrate import upgrade
from siyu.pricing.info import MemberBenefits, PricingInput, ShopperInfo
from siyu.pricing.quote import quote

POSTGRES_URL = os.environ.get(
    "SIYU_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def checkins(db: str, shoppers: int) -> None:
    with tempfile.TemporaryDirectory(prefix="siyu-loyalty-bench-") as folder:
        url, admin, name = f"sqlite:///{folder}/siyu.db", None, ""
        if db == "postgres":
            admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
            name = f"siyu_bench_{uuid.uuid4().hex[:10]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(POSTGRES_URL).set(database=name).render_as_string(False)
        try:
            _checkins(url, Path(folder), shoppers)
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


def _checkins(url: str, folder: Path, shoppers: int) -> None:
    upgrade(url)
    settings = Settings(env=Env.test, database_url=url, data_dir=folder, run_worker=False)
    clock = FrozenClock(datetime(2026, 12, 15, 2, 0, tzinfo=UTC))
    ctx = build_context(settings, clock=clock)
    try:
        with ctx.db.transaction() as session:
            for i in range(shoppers):
                session.add(
                    Shopper(
                        openid=f"bench-{i}", registered_at=clock.now(), last_login_at=clock.now()
                    )
                )
            session.flush()
            session.execute(text("CREATE TABLE bench_floor (n INTEGER)"))
        with ctx.db.transaction() as session:
            ids = [int(i) for i in session.execute(text("SELECT id FROM shoppers")).scalars()]

        began = time.perf_counter()
        for n in range(shoppers):
            with ctx.db.transaction() as session:
                session.execute(text("INSERT INTO bench_floor (n) VALUES (:n)"), {"n": n})
        floor = shoppers / (time.perf_counter() - began)

        began = time.perf_counter()
        for shopper_id in ids:
            with ctx.db.transaction() as session:
                check_in(session, ctx.points, shopper_id=shopper_id, now=clock.now())
        first_day = len(ids) / (time.perf_counter() - began)

        clock.advance(timedelta(days=1))  # day 2: a streak to extend, a second lot
        began = time.perf_counter()
        for shopper_id in ids:
            with ctx.db.transaction() as session:
                check_in(session, ctx.points, shopper_id=shopper_id, now=clock.now())
        second_day = len(ids) / (time.perf_counter() - began)
        with ctx.db.transaction() as session:
            total = session.execute(text("SELECT count(*) FROM checkins")).scalar()
            points = session.execute(text("SELECT sum(available) FROM points_balances")).scalar()
    finally:
        ctx.close()
    db = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"\n### check-ins, {db}, {len(ids)} shoppers × 2 days, one thread")
    print(f"  {'case':<44}{'per s':>10}{'× floor':>9}")
    print(f"  {'floor: a transaction inserting one row':<44}{floor:>10,.0f}{1:>9.2f}")
    print(
        f"  {'check-in, day 1 (reward credited)':<44}{first_day:>10,.0f}{first_day / floor:>9.2f}"
    )
    print(f"  {'check-in, day 2 (streak 2)':<44}{second_day:>10,.0f}{second_day / floor:>9.2f}")
    print(f"  stored: {total} check-ins, {points} points available")


def quotes(seconds: float, repeat: int) -> None:
    lines = cart()
    plain = ShopperInfo(shopper_id=1, tier=0, is_new=False)
    diamond = replace(
        plain,
        tier=4,
        points_balance=5000,
        member=MemberBenefits(
            level=4,
            name_zh="钻石会员",
            name_en="Diamond",
            percent_off=20,
            sku_prices={lines[0].line_id: 500, lines[3].line_id: 2000, lines[7].line_id: 3000},
        ),
    )
    base = PricingInput(lines, plain, promotions(), coupons(), NOW)
    member = PricingInput(lines, diamond, promotions(), coupons(), NOW, use_points=True)
    result = quote(member)
    print(
        f"\n### quotes, pure engine, one thread: member total {result.total_fen} fen, "
        f"points used {result.points_used}, discount {result.discount_fen} fen"
    )
    rows = [
        ("10 promotions + 10 coupons", *rate(lambda: quote(base), seconds, repeat)),
        ("… + 钻石 member price + points", *rate(lambda: quote(member), seconds, repeat)),
    ]
    print(f"  {'case':<36}{'per s (wall)':>14}{'per s (CPU)':>13}{'× base':>8}")
    for name, wall, cpu in rows:
        print(f"  {name:<36}{wall:>14,.0f}{cpu:>13,.0f}{cpu / rows[0][2]:>8.2f}")
    cpu = rows[-1][2]
    verdict = "met" if cpu >= GOAL else "NOT met"
    print(f"  goal ≥ {GOAL:,.0f} quotes/s (CPU): {verdict} ({cpu / GOAL:.2f} × the goal)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--shoppers", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"Siyu loyalty bench; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    checkins(args.db, args.shoppers)
    quotes(args.seconds, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
