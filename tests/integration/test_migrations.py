"""Alembic migrations build exactly the schema the models declare, on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, insert, inspect, text
from sqlalchemy.engine import make_url

from siyu.migrate import downgrade, upgrade
from siyu.models import metadata
from tests.conftest import POSTGRES_URL


def _diff(url: str) -> list[object]:
    engine = create_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, metadata)
    engine.dispose()
    return list(diff)


def test_migrations_match_the_models_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    upgrade(url)
    assert _diff(url) == []
    downgrade(url, "base")
    engine = create_engine(url)
    assert inspect(engine).get_table_names() == ["alembic_version"]
    engine.dispose()


def test_migrations_match_the_models_on_postgresql(postgres_database: str) -> None:
    name = f"siyu_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        assert _diff(url) == []
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _row(table: Any, **values: Any) -> dict[str, Any]:
    """``values`` plus a placeholder for every other required column."""
    filler = {int: 1, dict: {}, datetime: datetime(2026, 12, 1, tzinfo=UTC)}
    row = dict(values)
    for column in table.columns:
        if column.name in row or column.nullable or column.primary_key:
            continue
        try:
            python_type = column.type.python_type
        except NotImplementedError:
            python_type = dict
        unique = f"{table.name[:4]}-{values.get('id', 0)}"  # unique strings (openid, codes)
        row[column.name] = unique if python_type is str else filler.get(python_type, 1)
    return row


def test_0004_backfills_allocations_from_each_orders_stored_quote(tmp_path: Path) -> None:
    # given a database at 0003 with an order whose quote split ¥8 over two lines
    # (promotion 7 and coupon 3 on the first, coupon 5 on the second) and an order
    # from before quotes were stored, with a line discount of ¥2
    url = f"sqlite:///{tmp_path / 'backfill.db'}"
    upgrade(url, "0003")
    engine = create_engine(url)
    tables = MetaData()
    tables.reflect(engine)
    orders, lines = tables.tables["orders"], tables.tables["order_lines"]
    parents = [
        ("categories", {"id": 1, "parent_id": None}),
        ("shoppers", {"id": 1}),
        ("products", {"id": 1, "category_id": 1}),
        ("skus", {"id": 11, "product_id": 1}),
        ("skus", {"id": 12, "product_id": 1}),
    ]
    quote = {
        "lines": [
            {"line_id": 11, "allocations": [["promotion", 4, 700], ["coupon", 9, 300]]},
            {"line_id": 12, "allocations": [["coupon", 9, 500]]},
        ]
    }
    with engine.begin() as conn:
        for name, values in parents:
            conn.execute(insert(tables.tables[name]), [_row(tables.tables[name], **values)])
        conn.execute(insert(orders), [_row(orders, id=1, order_no="A", pricing=quote)])
        conn.execute(insert(orders), [_row(orders, id=2, order_no="B", pricing={})])
        conn.execute(
            insert(lines),
            [
                _row(lines, id=101, order_id=1, sku_id=11, discount_fen=1000),
                _row(lines, id=102, order_id=1, sku_id=12, discount_fen=500),
                _row(lines, id=201, order_id=2, sku_id=11, discount_fen=200),
                _row(lines, id=202, order_id=2, sku_id=12, discount_fen=0),
            ],
        )

    # when the migration runs
    upgrade(url)

    # then each line has its rows, the old orders one legacy row, and the column is gone
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT order_id, order_line_id, source, source_id, amount_fen "
                "FROM order_line_allocations ORDER BY id"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (1, 101, "promotion", 4, 700),
        (1, 101, "coupon", 9, 300),
        (1, 102, "coupon", 9, 500),
        (2, 201, "legacy", 0, 200),
    ]
    assert "discount_fen" not in {c["name"] for c in inspect(engine).get_columns("order_lines")}

    # and going back restores the line discounts from the rows
    downgrade(url, "0003")
    with engine.connect() as conn:
        restored = conn.execute(text("SELECT id, discount_fen FROM order_lines ORDER BY id")).all()
    assert [tuple(r) for r in restored] == [(101, 1000), (102, 500), (201, 200), (202, 0)]
    engine.dispose()
