"""member tiers

Creates the member tier tables (``siyu.loyalty.tiers``): the tier table seeded with
the five default levels 青铜→钻石, per-SKU member prices, the program settings,
memberships with their growth, the append-only growth entries, tier changes and
birthday gifts; adds ``shoppers.birthday`` and ``aftersales.priority``.

Revision ID: 0009_member_tiers
Revises: 0008_points_ledger
Create Date: 2026-12-07 11:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0009_member_tiers"
down_revision: str | None = "0008_points_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The defaults of siyu.loyalty.tiers.rules.DEFAULT_TIERS, written out (a migration
# does not follow later code changes).
DEFAULT_TIERS = [
    (0, "青铜会员", "Bronze", 0, 100, None, 100, 0, False),
    (1, "白银会员", "Silver", 500, 98, None, 110, 100, False),
    (2, "黄金会员", "Gold", 2000, 95, 6900, 120, 200, False),
    (3, "铂金会员", "Platinum", 5000, 90, 4900, 150, 500, True),
    (4, "钻石会员", "Diamond", 10000, 80, 0, 200, 1000, True),
]


def upgrade() -> None:
    op.create_table(
        "member_program",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("member_days_of_month", sa.JSON(), nullable=False),
        sa.Column("member_weekdays", sa.JSON(), nullable=False),
        sa.Column(
            "member_day_points_percent",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("member_day_free_shipping", sa.Boolean(), nullable=False),
        sa.Column(
            "review_window_days",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "review_max_drop", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_program")),
    )
    op.create_table(
        "birthday_gifts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "shopper_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("year", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("level", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("coupon_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("points", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shopper_id"], ["shoppers.id"], name=op.f("fk_birthday_gifts_shopper_id_shoppers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_birthday_gifts")),
        sa.UniqueConstraint("shopper_id", "year", name=op.f("uq_birthday_gifts_shopper_id")),
    )
    tiers = op.create_table(
        "member_tiers",
        sa.Column(
            "level",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("name_zh", sa.String(length=32), nullable=False),
        sa.Column("name_en", sa.String(length=32), nullable=False),
        sa.Column(
            "threshold", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "discount_percent", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "free_shipping_threshold_fen",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "points_multiplier_percent",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column(
            "birthday_coupon_template_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column(
            "birthday_points", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("priority_aftersale", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "discount_percent BETWEEN 1 AND 100",
            name=op.f("ck_member_tiers_discount_percent_range"),
        ),
        sa.CheckConstraint("threshold >= 0", name=op.f("ck_member_tiers_threshold_not_negative")),
        sa.ForeignKeyConstraint(
            ["birthday_coupon_template_id"],
            ["coupon_templates.id"],
            name=op.f("fk_member_tiers_birthday_coupon_template_id_coupon_templates"),
        ),
        sa.PrimaryKeyConstraint("level", name=op.f("pk_member_tiers")),
    )
    op.create_table(
        "members",
        sa.Column(
            "shopper_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("growth", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("level", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("level_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("growth >= 0", name=op.f("ck_members_growth_not_negative")),
        sa.ForeignKeyConstraint(
            ["shopper_id"], ["shoppers.id"], name=op.f("fk_members_shopper_id_shoppers")
        ),
        sa.PrimaryKeyConstraint("shopper_id", name=op.f("pk_members")),
    )
    op.create_table(
        "tier_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "shopper_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "from_level", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("to_level", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("growth", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shopper_id"], ["shoppers.id"], name=op.f("fk_tier_changes_shopper_id_shoppers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tier_changes")),
    )
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tier_changes_shopper_id"), ["shopper_id"], unique=False
        )

    op.create_table(
        "growth_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "shopper_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("amount", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("idempotency_key", sa.String(length=96), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_growth_entries_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"], ["shoppers.id"], name=op.f("fk_growth_entries_shopper_id_shoppers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_growth_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_growth_entries_idempotency_key")),
    )
    with op.batch_alter_table("growth_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_growth_entries_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            "ix_growth_entries_shopper_at", ["shopper_id", "created_at"], unique=False
        )

    op.create_table(
        "member_sku_prices",
        sa.Column(
            "level",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "price_fen", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.CheckConstraint("price_fen >= 0", name=op.f("ck_member_sku_prices_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["skus.id"], name=op.f("fk_member_sku_prices_sku_id_skus")
        ),
        sa.PrimaryKeyConstraint("level", "sku_id", name=op.f("pk_member_sku_prices")),
    )
    # Plain ADD COLUMNs: a batch rebuild would drop a table other rows point to (SQLite
    # checks foreign keys). The server default stays: SQLite cannot drop it in place.
    op.add_column(
        "aftersales",
        sa.Column("priority", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("shoppers", sa.Column("birthday", sa.Date(), nullable=True))

    now = datetime(2026, 12, 7, tzinfo=UTC)
    op.bulk_insert(
        tiers,
        [
            dict(
                level=level,
                name_zh=zh,
                name_en=en,
                threshold=threshold,
                discount_percent=rate,
                free_shipping_threshold_fen=shipping,
                points_multiplier_percent=points,
                birthday_coupon_template_id=None,
                birthday_points=gift,
                priority_aftersale=fast,
                updated_at=now,
            )
            for level, zh, en, threshold, rate, shipping, points, gift, fast in DEFAULT_TIERS
        ],
    )


def downgrade() -> None:
    op.drop_column("shoppers", "birthday")  # SQLite ≥ 3.35 drops a column in place
    op.drop_column("aftersales", "priority")

    op.drop_table("member_sku_prices")
    with op.batch_alter_table("growth_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_growth_entries_shopper_at")
        batch_op.drop_index(batch_op.f("ix_growth_entries_order_id"))

    op.drop_table("growth_entries")
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tier_changes_shopper_id"))

    op.drop_table("tier_changes")
    op.drop_table("members")
    op.drop_table("member_tiers")
    op.drop_table("birthday_gifts")
    op.drop_table("member_program")
