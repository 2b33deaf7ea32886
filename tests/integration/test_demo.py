"""``siyu demo`` seeds a believable store through the service layer, once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from siyu.aftersale.models import AfterSale
from siyu.bootstrap import Context, build_context
from siyu.catalog.models import Category, Product, Sku
from siyu.devtools.demo import seed_demo
from siyu.identity.models import Operator, Shopper
from siyu.models import metadata
from siyu.order.models import Order
from siyu.order.rules import OrderStatus
from tests.conftest import make_settings


@pytest.fixture
def demo_ctx(database_url: str, tmp_path: Path) -> Iterator[Context]:
    context = build_context(make_settings(database_url, tmp_path))
    yield context
    context.close()


def _row_counts(ctx: Context) -> dict[str, int]:
    with ctx.db.transaction() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in metadata.sorted_tables
        }


def test_the_demo_seeds_a_whole_store_and_a_second_run_changes_nothing(
    demo_ctx: Context,
) -> None:
    # given a fresh database

    # when the demo is seeded
    report = seed_demo(demo_ctx, shoppers=24)

    # then the catalog, staff and shoppers are exactly the demo's
    with demo_ctx.db.transaction() as session:
        operators = sorted(session.scalars(select(Operator.username)))
        roles = Counter(str(r) for r in session.scalars(select(Product.role)))
        statuses = Counter(str(s) for s in session.scalars(select(Product.status)))
        skus = session.scalar(select(func.count()).select_from(Sku))
        categories = session.scalar(select(func.count()).select_from(Category))
        shoppers = session.scalar(select(func.count()).select_from(Shopper))
        orders = Counter(session.scalars(select(Order.status)))
        aftersales = Counter(str(s) for s in session.scalars(select(AfterSale.status)))
        pending = session.scalars(
            select(Order).where(Order.status == OrderStatus.pending_payment)
        ).all()
    assert operators == ["admin", "analyst", "operator", "support"]
    assert dict(roles) == {"traffic": 8, "profit": 24, "premium": 8}
    assert dict(statuses) == {"on_sale": 37, "draft": 2, "off_sale": 1}
    assert (skus, categories, shoppers) == (105, 21, 24)
    # and orders exist in every state, with one after-sales request of each outcome
    assert all(orders[status] >= 1 for status in OrderStatus), orders
    assert dict(aftersales) == {"pending": 1, "refunded": 1, "rejected": 1}
    # and the unpaid ones can still be paid
    now = demo_ctx.clock.now()
    assert all(order.pay_deadline > now for order in pending)
    assert "admin / siyu-demo-2026" in report
    assert "SKU: 105" in report

    # when it runs again
    before = _row_counts(demo_ctx)
    again = seed_demo(demo_ctx, shoppers=24)

    # then nothing changed
    assert "already seeded" in again
    assert _row_counts(demo_ctx) == before


def _siyu(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``siyu`` command in its own process (chdb holds one data folder per process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIYU_")} | {
        "SIYU_DATA_DIR": str(data_dir),
        "SIYU_ENV": "development",
    }
    return subprocess.run(
        [sys.executable, "-m", "siyu.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_demo_command_seeds_a_tracked_history_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert _siyu(data_dir, "migrate").returncode == 0
    first = _siyu(data_dir, "demo", "--shoppers", "4", "--history-days", "2",
                  "--history-shoppers", "6")  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "Simulated 2 days" in first.stdout
    assert "Warning" not in first.stderr  # no developer warnings for an operator

    def client_events() -> int:
        probe = (
            "import sys; from siyu.analytics.store import open_store; "
            "s = open_store(sys.argv[1]); "
            "print(s.query(\"SELECT count() FROM siyu.events WHERE source = 'client'\").scalar())"
        )
        out = subprocess.run(
            [sys.executable, "-c", probe, f"chdb://{data_dir / 'analytics'}"],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        return int(out.stdout.strip())

    tracked = client_events()
    assert tracked > 0

    again = _siyu(data_dir, "demo", "--history-days", "2", "--history-shoppers", "6")
    assert again.returncode == 0, again.stderr
    assert "not simulated again" in again.stdout
    assert client_events() == tracked

    refused = _siyu(data_dir, "demo", "--history-days", "-1")
    assert refused.returncode == 2
    assert "history days" in refused.stderr
