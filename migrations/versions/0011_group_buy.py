"""group buy

``group_buy_campaigns`` (tiers of group size and price), ``group_buy_groups`` (seat
counters held by guarded updates and CHECKs), ``group_buy_seats`` (one per shopper per
group, one per order), ``group_buy_shopper_counts`` (the per-shopper limit), and
``orders.hold`` (fulfilment held back while a group is in progress).

Revision ID: 0011_group_buy
Revises: 0010_checkin_lottery_mall
Create Date: 2026-12-07 12:58:35.447577
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_group_buy"
down_revision: str | None = "0010_checkin_lottery_mall"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "group_buy_campaigns",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("tiers", sa.JSON(), nullable=False),
        sa.Column(
            "duration_minutes", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "max_quantity", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "per_shopper_limit",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("new_shoppers_only", sa.Boolean(), nullable=False),
        sa.Column("auto_fill", sa.Boolean(), nullable=False),
        sa.Column("free_shipping", sa.Boolean(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_group_buy_campaigns_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["skus.id"], name=op.f("fk_group_buy_campaigns_sku_id_skus")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_buy_campaigns")),
    )
    with op.batch_alter_table("group_buy_campaigns", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_group_buy_campaigns_product_id"), ["product_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_group_buy_campaigns_sku_id"), ["sku_id"], unique=False)

    op.create_table(
        "group_buy_groups",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "leader_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("size", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "seats_taken", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "seats_paid", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "virtual_seats", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "final_price_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "seats_paid <= seats_taken", name=op.f("ck_group_buy_groups_paid_within_taken")
        ),
        sa.CheckConstraint("seats_paid >= 0", name=op.f("ck_group_buy_groups_paid_not_negative")),
        sa.CheckConstraint(
            "seats_taken <= size", name=op.f("ck_group_buy_groups_seats_within_size")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["group_buy_campaigns.id"],
            name=op.f("fk_group_buy_groups_campaign_id_group_buy_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["leader_id"], ["shoppers.id"], name=op.f("fk_group_buy_groups_leader_id_shoppers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_buy_groups")),
    )
    with op.batch_alter_table("group_buy_groups", schema=None) as batch_op:
        batch_op.create_index(
            "ix_group_buy_groups_campaign_status", ["campaign_id", "status"], unique=False
        )

    op.create_table(
        "group_buy_shopper_counts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "shopper_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("count", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.CheckConstraint(
            "count >= 0", name=op.f("ck_group_buy_shopper_counts_count_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["group_buy_campaigns.id"],
            name=op.f("fk_group_buy_shopper_counts_campaign_id_group_buy_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"],
            ["shoppers.id"],
            name=op.f("fk_group_buy_shopper_counts_shopper_id_shoppers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_buy_shopper_counts")),
        sa.UniqueConstraint("campaign_id", "shopper_id", name="uq_group_buy_shopper_counts"),
    )
    op.create_table(
        "group_buy_seats",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "shopper_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sharer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("is_leader", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "unit_price_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("quantity", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("refund_no", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["group_buy_campaigns.id"],
            name=op.f("fk_group_buy_seats_campaign_id_group_buy_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["group_buy_groups.id"],
            name=op.f("fk_group_buy_seats_group_id_group_buy_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_group_buy_seats_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["sharer_id"], ["shoppers.id"], name=op.f("fk_group_buy_seats_sharer_id_shoppers")
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"], ["shoppers.id"], name=op.f("fk_group_buy_seats_shopper_id_shoppers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_buy_seats")),
        sa.UniqueConstraint("group_id", "shopper_id", name="uq_group_buy_seats_member"),
        sa.UniqueConstraint("order_id", name=op.f("uq_group_buy_seats_order_id")),
    )
    with op.batch_alter_table("group_buy_seats", schema=None) as batch_op:
        batch_op.create_index(
            "ix_group_buy_seats_campaign_shopper", ["campaign_id", "shopper_id"], unique=False
        )

    op.add_column("orders", sa.Column("hold", sa.String(length=24), nullable=True))


def downgrade() -> None:
    op.drop_column("orders", "hold")  # in place (SQLite ≥ 3.35): a rebuild breaks FKs

    with op.batch_alter_table("group_buy_seats", schema=None) as batch_op:
        batch_op.drop_index("ix_group_buy_seats_campaign_shopper")

    op.drop_table("group_buy_seats")
    op.drop_table("group_buy_shopper_counts")
    with op.batch_alter_table("group_buy_groups", schema=None) as batch_op:
        batch_op.drop_index("ix_group_buy_groups_campaign_status")

    op.drop_table("group_buy_groups")
    with op.batch_alter_table("group_buy_campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_buy_campaigns_sku_id"))
        batch_op.drop_index(batch_op.f("ix_group_buy_campaigns_product_id"))

    op.drop_table("group_buy_campaigns")
