"""Alembic migrations build exactly the schema the models declare, on both databases."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, insert, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

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


def test_0005_turns_offer_scope_lists_into_rows(tmp_path: Path) -> None:
    # given a database at 0004: a category coupon naming a category that exists and
    # one that was deleted long ago, an all-products coupon with a leftover category
    # list it never read, and a bundle promotion leaving one product out
    url = f"sqlite:///{tmp_path / 'scopes.db'}"
    upgrade(url, "0004_allocations")
    engine = create_engine(url)
    tables = MetaData()
    tables.reflect(engine)
    templates, promotions = tables.tables["coupon_templates"], tables.tables["promotions"]
    parents = [
        ("categories", {"id": 1, "parent_id": None}),
        ("categories", {"id": 2, "parent_id": None}),
        ("products", {"id": 7, "category_id": 1}),
        ("products", {"id": 8, "category_id": 1}),
        ("products", {"id": 9, "category_id": 2}),
    ]
    empty = {"category_ids": [], "product_ids": [], "excluded_product_ids": []}
    with engine.begin() as conn:
        for name, values in parents:
            conn.execute(insert(tables.tables[name]), [_row(tables.tables[name], **values)])
        conn.execute(
            insert(templates),
            [
                _row(
                    templates,
                    **empty | {"id": 1, "scope_kind": "categories", "category_ids": [2, 99, 2]},
                ),
                _row(templates, **empty | {"id": 2, "scope_kind": "all", "category_ids": [1]}),
            ],
        )
        conn.execute(
            insert(promotions),
            [
                _row(
                    promotions,
                    **empty
                    | {
                        "id": 5,
                        "scope_kind": "products",
                        "product_ids": [9, 7],
                        "excluded_product_ids": [8],
                        "bundle_product_ids": [8, 9],
                        "tiers": [],
                    },
                )
            ],
        )

    # when the migration runs
    upgrade(url)

    # then each list the offer reads is rows in order, dangling and unread ids are gone,
    # and so are the lists
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT coupon_template_id, promotion_id, role, category_id, product_id "
                "FROM offer_scopes ORDER BY id"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (1, None, "category", 2, None),
        (None, 5, "product", None, 9),
        (None, 5, "product", None, 7),
        (None, 5, "excluded", None, 8),
        (None, 5, "bundle", None, 8),
        (None, 5, "bundle", None, 9),
    ]
    assert "category_ids" not in {c["name"] for c in inspect(engine).get_columns("promotions")}
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("PRAGMA foreign_keys=ON"))
        conn.execute(text("DELETE FROM categories WHERE id = 2"))

    # and going back rebuilds the lists from the rows
    downgrade(url, "0004_allocations")
    with engine.connect() as conn:
        coupons = conn.execute(
            text("SELECT id, category_ids FROM coupon_templates ORDER BY id")
        ).all()
        promotion = conn.execute(
            text("SELECT product_ids, excluded_product_ids, bundle_product_ids FROM promotions")
        ).one()
    assert [(i, json.loads(ids)) for i, ids in coupons] == [(1, [2]), (2, [])]
    assert [json.loads(v) for v in promotion] == [[9, 7], [8], [8, 9]]
    engine.dispose()


def test_0006_adds_the_address_book_beside_existing_orders_and_removes_it_again(
    tmp_path: Path,
) -> None:
    # given a database at 0005 with a shopper and an order that keeps its address
    url = f"sqlite:///{tmp_path / 'addresses.db'}"
    upgrade(url, "0005_offer_scopes")
    engine = create_engine(url)
    tables = MetaData()
    tables.reflect(engine)
    shipped_to = {"name": "张三", "phone": "13800138000", "detail": "世纪大道 100 号"}
    with engine.begin() as conn:
        conn.execute(insert(tables.tables["shoppers"]), [_row(tables.tables["shoppers"], id=1)])
        orders = tables.tables["orders"]
        conn.execute(insert(orders), [_row(orders, id=1, order_no="A", address=shipped_to)])

    # when the migration runs
    upgrade(url, "0006_addresses")

    # then the shopper can keep addresses, at most one of them the default
    when = datetime(2026, 12, 8, tzinfo=UTC)
    entry = {
        "shopper_id": 1,
        "name": "李四",
        "phone": "13900139000",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "文三路 1 号",
        "created_at": when,
        "updated_at": when,
    }
    addresses = MetaData()
    addresses.reflect(engine, only=["addresses"])
    book = addresses.tables["addresses"]
    with engine.begin() as conn:
        conn.execute(insert(book), [{**entry, "is_default": True}, {**entry, "is_default": False}])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(book), [{**entry, "is_default": True}])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM addresses")).scalar() == 2
        order = conn.execute(text("SELECT order_no, address FROM orders")).one()
    assert order.order_no == "A"
    assert json.loads(order.address) == shipped_to

    # and going back drops the book and leaves the order as it was
    downgrade(url, "0005_offer_scopes")
    assert "addresses" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        order = conn.execute(text("SELECT order_no, address FROM orders")).one()
    assert json.loads(order.address) == shipped_to
    engine.dispose()
