"""``siyu demo`` seeds a believable store through the service layer, once."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from siyu.aftersale.models import AfterSale
from siyu.app import create_app
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


# Any http(s) URL; the store's own origin (loopback, as the demo serves it) is allowed.
URL = re.compile(r"https?://[^\s\"'<>)\]]+", re.IGNORECASE)
OWN_HOSTS = {"127.0.0.1", "localhost"}


def _outside_urls(value: object) -> list[str]:
    if isinstance(value, str):
        found = URL.findall(value)
        return [url for url in found if urlsplit(url).hostname not in OWN_HOSTS]
    if isinstance(value, dict):
        return [url for item in value.values() for url in _outside_urls(item)]
    if isinstance(value, list | tuple):
        return [url for item in value for url in _outside_urls(item)]
    return []


def test_the_demo_needs_no_network_its_product_photos_are_served_by_the_store(
    sqlite_url: str, tmp_path: Path
) -> None:
    # given a demo store seeded on a fresh database
    context = build_context(make_settings(sqlite_url, tmp_path))
    try:
        seed_demo(context, shoppers=6)

        # then no value anywhere in the database (text, JSON lists and objects such as
        # image_urls and audit snapshots) points at another site
        outside: dict[str, list[str]] = {}
        scanned = 0
        with context.db.transaction() as session:
            for table in metadata.sorted_tables:
                for row in session.execute(select(table)):
                    scanned += 1
                    for column, value in zip(table.columns, row, strict=True):
                        if urls := _outside_urls(value):
                            outside.setdefault(f"{table.name}.{column.name}", []).extend(urls)
        assert scanned > 0
        assert outside == {}

        # and every product photo is a store-relative URL the store serves as an image
        with context.db.transaction() as session:
            products = session.scalars(select(Product)).all()
            urls = [url for p in products for url in p.image_urls]
            urls += [s.image_url for s in session.scalars(select(Sku))]
        assert urls and all(url.startswith("/media/products/") for url in urls)
        with TestClient(create_app(ctx=context, run_worker=False)) as client:
            for url in sorted(set(urls))[:5]:
                response = client.get(url)
                assert response.status_code == 200, url
                assert response.headers["content-type"] in ("image/jpeg", "image/webp")
                assert len(response.content) < 60_000
                with Image.open(io.BytesIO(response.content)) as image:
                    assert image.size == (600, 600)
            # and nothing outside the media folder can be reached through the route
            for probe in ("/media/products/..%2Fsiyu.db", "/media/products/%2e%2e",
                          "/media/products/" + "0" * 64 + ".jpg"):  # fmt: skip
                assert client.get(probe).status_code == 404, probe
    finally:
        context.close()
