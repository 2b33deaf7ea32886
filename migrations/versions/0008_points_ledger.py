"""points ledger

Adds ``orders.settled_at`` (the settled moment: the after-sales window closed) and the
points tables: ``points_balances`` (available and pending, never negative),
``points_entries`` (the append-only ledger, one unique idempotency key each),
``points_lots`` (credits that expire together), ``points_lot_uses`` (which lots a
debit drew on) and ``points_order_lines`` (what each order line earned and spent).

Revision ID: 0008_points_ledger
Revises: 0007_content_versions
Create Date: 2026-12-07 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_points_ledger"
down_revision: str | None = "0007_content_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    # A plain ADD COLUMN: a batch rebuild of ``orders`` would drop a table that other
    # rows point to (SQLite checks foreign keys).
    op.add_column("orders", sa.Column("settled_at", When, nullable=True))
    op.create_table(
        "points_balances",
        sa.Column("shopper_id", BigId, autoincrement=False, nullable=False),
        sa.Column("available", BigId, nullable=False),
        sa.Column("pending", BigId, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.CheckConstraint(
            "available >= 0", name=op.f("ck_points_balances_available_not_negative")
        ),
        sa.CheckConstraint("pending >= 0", name=op.f("ck_points_balances_pending_not_negative")),
        sa.ForeignKeyConstraint(
            ["shopper_id"], ["shoppers.id"], name=op.f("fk_points_balances_shopper_id_shoppers")
        ),
        sa.PrimaryKeyConstraint("shopper_id", name=op.f("pk_points_balances")),
    )
    op.create_table(
        "points_entries",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("shopper_id", BigId, nullable=False),
        sa.Column("bucket", sa.String(16), nullable=False),
        sa.Column("delta", BigId, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("source_type", sa.String(24), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("operator_id", BigId, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.CheckConstraint("delta <> 0", name=op.f("ck_points_entries_delta_not_zero")),
        sa.ForeignKeyConstraint(
            ["shopper_id"], ["shoppers.id"], name=op.f("fk_points_entries_shopper_id_shoppers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_points_entries_idempotency_key")),
    )
    op.create_index("ix_points_entries_shopper", "points_entries", ["shopper_id", "id"])
    op.create_index("ix_points_entries_source", "points_entries", ["source_type", "source_id"])
    op.create_table(
        "points_lots",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("shopper_id", BigId, nullable=False),
        sa.Column("entry_id", BigId, nullable=False),
        sa.Column("points", BigId, nullable=False),
        sa.Column("remaining", BigId, nullable=False),
        sa.Column("expired", BigId, nullable=False),
        sa.Column("earned_at", When, nullable=False),
        sa.Column("expires_at", When, nullable=True),
        sa.CheckConstraint("remaining >= 0", name=op.f("ck_points_lots_remaining_not_negative")),
        sa.CheckConstraint(
            "remaining <= points", name=op.f("ck_points_lots_remaining_within_points")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["points_entries.id"], name=op.f("fk_points_lots_entry_id_points_entries")
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"], ["shoppers.id"], name=op.f("fk_points_lots_shopper_id_shoppers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_lots")),
    )
    op.create_index("ix_points_lots_shopper", "points_lots", ["shopper_id", "expires_at"])
    op.create_index("ix_points_lots_due", "points_lots", ["expires_at"])
    op.create_table(
        "points_lot_uses",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("entry_id", BigId, nullable=False),
        sa.Column("lot_id", BigId, nullable=False),
        sa.Column("points", BigId, nullable=False),
        sa.Column("returned", BigId, nullable=False),
        sa.CheckConstraint(
            "returned <= points", name=op.f("ck_points_lot_uses_returned_within_points")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["points_entries.id"],
            name=op.f("fk_points_lot_uses_entry_id_points_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["points_lots.id"], name=op.f("fk_points_lot_uses_lot_id_points_lots")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_lot_uses")),
    )
    op.create_index(
        op.f("ix_points_lot_uses_entry_id"), "points_lot_uses", ["entry_id"], unique=False
    )
    op.create_table(
        "points_order_lines",
        sa.Column("order_line_id", BigId, autoincrement=False, nullable=False),
        sa.Column("order_id", BigId, nullable=False),
        sa.Column("shopper_id", BigId, nullable=False),
        sa.Column("earned", BigId, nullable=False),
        sa.Column("earn_reversed", BigId, nullable=False),
        sa.Column("spent", BigId, nullable=False),
        sa.Column("spent_returned", BigId, nullable=False),
        sa.CheckConstraint(
            "earn_reversed <= earned", name=op.f("ck_points_order_lines_reversed_within_earned")
        ),
        sa.CheckConstraint(
            "spent_returned <= spent", name=op.f("ck_points_order_lines_returned_within_spent")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_points_order_lines_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_points_order_lines_order_line_id_order_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"], ["shoppers.id"], name=op.f("fk_points_order_lines_shopper_id_shoppers")
        ),
        sa.PrimaryKeyConstraint("order_line_id", name=op.f("pk_points_order_lines")),
    )
    op.create_index(
        op.f("ix_points_order_lines_order_id"), "points_order_lines", ["order_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_points_order_lines_order_id"), table_name="points_order_lines")
    op.drop_table("points_order_lines")
    op.drop_index(op.f("ix_points_lot_uses_entry_id"), table_name="points_lot_uses")
    op.drop_table("points_lot_uses")
    op.drop_index("ix_points_lots_due", table_name="points_lots")
    op.drop_index("ix_points_lots_shopper", table_name="points_lots")
    op.drop_table("points_lots")
    op.drop_index("ix_points_entries_source", table_name="points_entries")
    op.drop_index("ix_points_entries_shopper", table_name="points_entries")
    op.drop_table("points_entries")
    op.drop_table("points_balances")
    op.drop_column("orders", "settled_at")  # SQLite ≥ 3.35 drops a column in place
