"""bargain and rising price

``bargain_campaigns``, ``bargains`` (the cuts drawn at start, a guarded cut counter),
``bargain_helps`` (one per helper per bargain, one per position, one per device) and
``bargain_shopper_counts`` (the limit); ``rising_price_campaigns`` (the units sold),
``rising_price_purchases`` and ``rising_price_shopper_counts``; ``cue_settings`` (the
store's urgency cues: the purchase feed's off switch, the low-stock threshold);
``shoppers.blocked_at`` (an operator's block: such a shopper's cuts do not count).

Revision ID: 0014_bargain_rising
Revises: 0013_flash_sale
Create Date: 2026-12-07 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_bargain_rising"
down_revision: str | None = "0013_flash_sale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cue_settings",
        sa.Column("id", BigId, autoincrement=False, nullable=False),
        sa.Column("social_proof_enabled", sa.Boolean(), nullable=False),
        sa.Column("low_stock_threshold", BigId, nullable=False),
        sa.Column("updated_by", BigId, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "low_stock_threshold >= 0", name=op.f("ck_cue_settings_threshold_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["operators.id"], name=op.f("fk_cue_settings_updated_by_operators")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cue_settings")),
    )
    op.create_table(
        "bargain_campaigns",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("sku_id", BigId, nullable=False),
        sa.Column("product_id", BigId, nullable=False),
        sa.Column("floor_price_fen", BigId, nullable=False),
        sa.Column("helpers_needed", BigId, nullable=False),
        sa.Column("duration_minutes", BigId, nullable=False),
        sa.Column("per_shopper_limit", BigId, nullable=False),
        sa.Column("helper_min_age_minutes", BigId, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_bargain_campaigns_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["skus.id"], name=op.f("fk_bargain_campaigns_sku_id_skus")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bargain_campaigns")),
    )
    with op.batch_alter_table("bargain_campaigns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bargain_campaigns_product_id"), ["product_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_bargain_campaigns_sku_id"), ["sku_id"], unique=False)

    op.create_table(
        "rising_price_campaigns",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("sku_id", BigId, nullable=False),
        sa.Column("product_id", BigId, nullable=False),
        sa.Column("base_price_fen", BigId, nullable=False),
        sa.Column("base_units", BigId, nullable=False),
        sa.Column("step_percent", BigId, nullable=False),
        sa.Column("interval_minutes", BigId, nullable=False),
        sa.Column("cap_price_fen", BigId, nullable=False),
        sa.Column("per_shopper_limit", BigId, nullable=False),
        sa.Column("units_sold", BigId, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "units_sold >= 0", name=op.f("ck_rising_price_campaigns_units_sold_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_rising_price_campaigns_product_id_products"),
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["skus.id"], name=op.f("fk_rising_price_campaigns_sku_id_skus")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rising_price_campaigns")),
    )
    with op.batch_alter_table("rising_price_campaigns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rising_price_campaigns_product_id"), ["product_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_rising_price_campaigns_sku_id"), ["sku_id"], unique=False
        )

    op.create_table(
        "bargain_shopper_counts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("campaign_id", BigId, nullable=False),
        sa.Column("shopper_id", BigId, nullable=False),
        sa.Column("count", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["bargain_campaigns.id"],
            name=op.f("fk_bargain_shopper_counts_campaign_id_bargain_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"],
            ["shoppers.id"],
            name=op.f("fk_bargain_shopper_counts_shopper_id_shoppers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bargain_shopper_counts")),
        sa.UniqueConstraint("campaign_id", "shopper_id", name="uq_bargain_shopper_counts"),
    )
    op.create_table(
        "bargains",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("campaign_id", BigId, nullable=False),
        sa.Column("starter_id", BigId, nullable=False),
        sa.Column("starter_device", sa.String(length=64), nullable=True),
        sa.Column("original_fen", BigId, nullable=False),
        sa.Column("floor_fen", BigId, nullable=False),
        sa.Column("helpers_needed", BigId, nullable=False),
        sa.Column("cuts", sa.JSON(), nullable=False),
        sa.Column("cuts_taken", BigId, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("order_id", BigId, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bought_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "cuts_taken <= helpers_needed", name=op.f("ck_bargains_cuts_within_helpers")
        ),
        sa.CheckConstraint("cuts_taken >= 0", name=op.f("ck_bargains_cuts_taken_not_negative")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["bargain_campaigns.id"],
            name=op.f("fk_bargains_campaign_id_bargain_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_bargains_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["starter_id"], ["shoppers.id"], name=op.f("fk_bargains_starter_id_shoppers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bargains")),
        sa.UniqueConstraint("order_id", name=op.f("uq_bargains_order_id")),
    )
    with op.batch_alter_table("bargains", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bargains_campaign_starter", ["campaign_id", "starter_id"], unique=False
        )

    op.create_table(
        "rising_price_purchases",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("campaign_id", BigId, nullable=False),
        sa.Column("shopper_id", BigId, nullable=False),
        sa.Column("order_id", BigId, nullable=False),
        sa.Column("quantity", BigId, nullable=False),
        sa.Column("unit_price_fen", BigId, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["rising_price_campaigns.id"],
            name=op.f("fk_rising_price_purchases_campaign_id_rising_price_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_rising_price_purchases_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"],
            ["shoppers.id"],
            name=op.f("fk_rising_price_purchases_shopper_id_shoppers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rising_price_purchases")),
        sa.UniqueConstraint("order_id", name=op.f("uq_rising_price_purchases_order_id")),
    )
    with op.batch_alter_table("rising_price_purchases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rising_price_purchases_campaign_id"), ["campaign_id"], unique=False
        )

    op.create_table(
        "rising_price_shopper_counts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("campaign_id", BigId, nullable=False),
        sa.Column("shopper_id", BigId, nullable=False),
        sa.Column("units", BigId, nullable=False),
        sa.CheckConstraint(
            "units >= 0", name=op.f("ck_rising_price_shopper_counts_units_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["rising_price_campaigns.id"],
            name=op.f("fk_rising_price_shopper_counts_campaign_id_rising_price_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"],
            ["shoppers.id"],
            name=op.f("fk_rising_price_shopper_counts_shopper_id_shoppers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rising_price_shopper_counts")),
        sa.UniqueConstraint("campaign_id", "shopper_id", name="uq_rising_price_shopper_counts"),
    )
    op.create_table(
        "bargain_helps",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("bargain_id", BigId, nullable=False),
        sa.Column("helper_id", BigId, nullable=False),
        sa.Column("device", sa.String(length=64), nullable=True),
        sa.Column("position", BigId, nullable=False),
        sa.Column("amount_fen", BigId, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["bargain_id"], ["bargains.id"], name=op.f("fk_bargain_helps_bargain_id_bargains")
        ),
        sa.ForeignKeyConstraint(
            ["helper_id"], ["shoppers.id"], name=op.f("fk_bargain_helps_helper_id_shoppers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bargain_helps")),
        sa.UniqueConstraint("bargain_id", "helper_id", name="uq_bargain_helps_helper"),
        sa.UniqueConstraint("bargain_id", "position", name="uq_bargain_helps_position"),
        sa.UniqueConstraint("bargain_id", "device", name="uq_bargain_helps_device"),
    )
    with op.batch_alter_table("bargain_helps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bargain_helps_helper_id"), ["helper_id"], unique=False)

    # A plain ADD COLUMN: a batch copy of ``shoppers`` would drop a table others refer to.
    op.add_column("shoppers", sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("shoppers", "blocked_at")  # SQLite ≥ 3.35 drops a column in place

    with op.batch_alter_table("bargain_helps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bargain_helps_helper_id"))

    op.drop_table("bargain_helps")
    op.drop_table("rising_price_shopper_counts")
    with op.batch_alter_table("rising_price_purchases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rising_price_purchases_campaign_id"))

    op.drop_table("rising_price_purchases")
    with op.batch_alter_table("bargains", schema=None) as batch_op:
        batch_op.drop_index("ix_bargains_campaign_starter")

    op.drop_table("bargains")
    op.drop_table("bargain_shopper_counts")
    with op.batch_alter_table("rising_price_campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rising_price_campaigns_sku_id"))
        batch_op.drop_index(batch_op.f("ix_rising_price_campaigns_product_id"))

    op.drop_table("rising_price_campaigns")
    with op.batch_alter_table("bargain_campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bargain_campaigns_sku_id"))
        batch_op.drop_index(batch_op.f("ix_bargain_campaigns_product_id"))

    op.drop_table("bargain_campaigns")
    op.drop_table("cue_settings")
