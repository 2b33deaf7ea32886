"""flash sale

``flash_sessions`` (a window in UTC, a short payment time limit, the last
reconciliation), ``flash_items`` (units held by guarded updates and CHECK
``sold + reserved <= quantity``), ``flash_purchases`` (one per order) and
``flash_shopper_counts`` (UNIQUE (item, shopper): the per-shopper limit).

Revision ID: 0013_flash_sale
Revises: 0012_points_rules
Create Date: 2026-12-07 13:17:57.385832
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_flash_sale"
down_revision: str | None = "0012_points_rules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flash_sessions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "payment_timeout_minutes",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("reconciled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reconciliation", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flash_sessions")),
    )
    with op.batch_alter_table("flash_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_flash_sessions_window", ["starts_at", "ends_at"], unique=False)

    op.create_table(
        "flash_items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "sale_price_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("quantity", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "per_shopper_limit",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("sold", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reserved", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_flash_items_reserved_not_negative")),
        sa.CheckConstraint("sold + reserved <= quantity", name=op.f("ck_flash_items_not_oversold")),
        sa.CheckConstraint("sold >= 0", name=op.f("ck_flash_items_sold_not_negative")),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_flash_items_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["flash_sessions.id"],
            name=op.f("fk_flash_items_session_id_flash_sessions"),
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_flash_items_sku_id_skus")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flash_items")),
        sa.UniqueConstraint("session_id", "sku_id", name="uq_flash_items_session_sku"),
    )
    with op.batch_alter_table("flash_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flash_items_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_flash_items_sku_id"), ["sku_id"], unique=False)

    op.create_table(
        "flash_purchases",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "shopper_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("quantity", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["flash_items.id"], name=op.f("fk_flash_purchases_item_id_flash_items")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_flash_purchases_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["flash_sessions.id"],
            name=op.f("fk_flash_purchases_session_id_flash_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"], ["shoppers.id"], name=op.f("fk_flash_purchases_shopper_id_shoppers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flash_purchases")),
        sa.UniqueConstraint("order_id", name=op.f("uq_flash_purchases_order_id")),
    )
    with op.batch_alter_table("flash_purchases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_flash_purchases_item_shopper", ["item_id", "shopper_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_flash_purchases_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "flash_shopper_counts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "shopper_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("units", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.CheckConstraint("units >= 0", name=op.f("ck_flash_shopper_counts_units_not_negative")),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["flash_items.id"],
            name=op.f("fk_flash_shopper_counts_item_id_flash_items"),
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"],
            ["shoppers.id"],
            name=op.f("fk_flash_shopper_counts_shopper_id_shoppers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flash_shopper_counts")),
        sa.UniqueConstraint("item_id", "shopper_id", name="uq_flash_shopper_counts"),
    )


def downgrade() -> None:
    op.drop_table("flash_shopper_counts")
    with op.batch_alter_table("flash_purchases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flash_purchases_session_id"))
        batch_op.drop_index("ix_flash_purchases_item_shopper")

    op.drop_table("flash_purchases")
    with op.batch_alter_table("flash_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flash_items_sku_id"))
        batch_op.drop_index(batch_op.f("ix_flash_items_session_id"))

    op.drop_table("flash_items")
    with op.batch_alter_table("flash_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_flash_sessions_window")

    op.drop_table("flash_sessions")
