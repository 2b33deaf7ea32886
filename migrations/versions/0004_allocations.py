"""order line allocations: one row per line per discount source

Creates ``order_line_allocations``, backfills it from each order's stored quote
(``orders.pricing`` → ``lines[].allocations``; an order placed before quotes were
stored keeps its line discount as one ``legacy`` row) and drops the copy in
``order_lines.discount_fen``.

Revision ID: 0004_allocations
Revises: 0003
Create Date: 2026-12-06 13:40:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004_allocations"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_orders = sa.table("orders", sa.column("id", BigId), sa.column("pricing", sa.JSON()))
_lines = sa.table(
    "order_lines",
    sa.column("id", BigId),
    sa.column("order_id", BigId),
    sa.column("sku_id", BigId),
    sa.column("discount_fen", BigId),
)
_allocations = sa.table(
    "order_line_allocations",
    sa.column("order_id", BigId),
    sa.column("order_line_id", BigId),
    sa.column("source", sa.String(16)),
    sa.column("source_id", BigId),
    sa.column("amount_fen", BigId),
)


def _rows_for(order_id: int, pricing: Any, lines: list[Any]) -> list[dict[str, Any]]:
    by_sku = {line.sku_id: line for line in lines}
    rows: list[dict[str, Any]] = []
    quoted = (pricing or {}).get("lines") or []
    for quoted_line in quoted:
        line = by_sku.get(quoted_line.get("line_id"))
        if line is None:
            continue
        for source, source_id, amount in quoted_line.get("allocations") or []:
            if amount > 0:
                rows.append(
                    {
                        "order_id": order_id,
                        "order_line_id": line.id,
                        "source": source,
                        "source_id": source_id,
                        "amount_fen": amount,
                    }
                )
    if not quoted:
        rows.extend(
            {
                "order_id": order_id,
                "order_line_id": line.id,
                "source": "legacy",
                "source_id": 0,
                "amount_fen": line.discount_fen,
            }
            for line in lines
            if line.discount_fen > 0
        )
    return rows


def upgrade() -> None:
    # Read the line discounts before the column goes, and drop it before anything
    # references order_lines (SQLite's batch mode rebuilds the table).
    conn = op.get_bind()
    lines_by_order: dict[int, list[Any]] = {}
    for line in conn.execute(sa.select(_lines).order_by(_lines.c.id)):
        lines_by_order.setdefault(line.order_id, []).append(line)
    rows = [
        row
        for order in conn.execute(sa.select(_orders).order_by(_orders.c.id))
        for row in _rows_for(order.id, order.pricing, lines_by_order.get(order.id, []))
    ]
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_column("discount_fen")
    op.create_table(
        "order_line_allocations",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("order_id", BigId, nullable=False),
        sa.Column("order_line_id", BigId, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_id", BigId, nullable=False),
        sa.Column("amount_fen", BigId, nullable=False),
        sa.CheckConstraint(
            "amount_fen > 0", name=op.f("ck_order_line_allocations_allocation_positive")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_line_allocations_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_order_line_allocations_order_line_id_order_lines"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_line_allocations")),
    )
    op.create_index(
        "ix_order_line_allocations_source",
        "order_line_allocations",
        ["source", "source_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_order_line_allocations_order_id"),
        "order_line_allocations",
        ["order_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_order_line_allocations_order_line_id"),
        "order_line_allocations",
        ["order_line_id"],
        unique=False,
    )
    if rows:
        op.get_bind().execute(sa.insert(_allocations), rows)


def downgrade() -> None:
    conn = op.get_bind()
    totals: dict[int, int] = {}
    for line_id, amount in conn.execute(
        sa.select(_allocations.c.order_line_id, _allocations.c.amount_fen)
    ):
        totals[line_id] = totals.get(line_id, 0) + amount
    op.drop_index(
        op.f("ix_order_line_allocations_order_line_id"), table_name="order_line_allocations"
    )
    op.drop_index(op.f("ix_order_line_allocations_order_id"), table_name="order_line_allocations")
    op.drop_index("ix_order_line_allocations_source", table_name="order_line_allocations")
    op.drop_table("order_line_allocations")
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(sa.Column("discount_fen", BigId, nullable=False, server_default="0"))
    for line_id, amount in totals.items():
        conn.execute(sa.update(_lines).where(_lines.c.id == line_id).values(discount_fen=amount))
