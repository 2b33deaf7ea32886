"""``siyu demo`` seeds a believable store through the service layer, once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from siyu.aftersale.models import AfterSale
from siyu.catalog.models import Category, Product, Sku
from siyu.context import Context, build_context
from siyu.demo import seed_demo
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
