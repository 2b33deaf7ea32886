"""check-in, lottery and points mall

``checkin_settings`` (the store's check-in rule, one row) and ``checkins`` (unique per
shopper and Asia/Shanghai date); ``lottery_campaigns``, ``lottery_prizes`` (stock never
negative), ``lottery_daily_counts`` (the per-shopper daily limit) and ``lottery_draws``
(every draw, auditable); ``mall_items``, ``mall_exchange_counts`` (per-shopper limits)
and ``mall_exchanges``.

Revision ID: 0010_checkin_lottery_mall
Revises: 0009_member_tiers
Create Date: 2026-12-07 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_checkin_lottery_mall"
down_revision: str | None = "0009_member_tiers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "checkin_settings",
        sa.Column("id", BigId, nullable=False),
        sa.Column("rewards", sa.JSON(), nullable=False),
        sa.Column("makeup_enabled", sa.Boolean(), nullable=False),
        sa.Column("makeup_cost_points", BigId, nullable=False),
        sa.Column("makeups_per_month", BigId, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin_settings")),
    )
    op.create_table(
        "lottery_campaigns",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("cost_points", BigId, nullable=False),
        sa.Column("daily_limit", BigId, nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("cost_points >= 0", name=op.f("ck_lottery_campaigns_cost_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lottery_campaigns")),
    )
    op.create_table(
        "lottery_daily_counts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("campaign_id", BigId, nullable=False),
        sa.Column("shopper_id", BigId, nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("count", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["lottery_campaigns.id"],
            name=op.f("fk_lottery_daily_counts_campaign_id_lottery_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"],
            ["shoppers.id"],
            name=op.f("fk_lottery_daily_counts_shopper_id_shoppers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lottery_daily_counts")),
        sa.UniqueConstraint("campaign_id", "shopper_id", "local_date", name="uq_lottery_daily"),
    )
    op.create_table(
        "checkins",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("shopper_id", BigId, nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("is_makeup", sa.Boolean(), nullable=False),
        sa.Column("streak", BigId, nullable=False),
        sa.Column("cycle_day", BigId, nullable=False),
        sa.Column("points", BigId, nullable=False),
        sa.Column("coupon_id", BigId, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["coupon_id"],
            ["shopper_coupons.id"],
            name=op.f("fk_checkins_coupon_id_shopper_coupons"),
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"], ["shoppers.id"], name=op.f("fk_checkins_shopper_id_shoppers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
        sa.UniqueConstraint("shopper_id", "local_date", name="uq_checkins_day"),
    )
    op.create_table(
        "lottery_prizes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("campaign_id", BigId, nullable=False),
        sa.Column("position", BigId, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("weight_ppm", BigId, nullable=False),
        sa.Column("stock", BigId, nullable=True),
        sa.Column("fallback_position", BigId, nullable=True),
        sa.Column("points", BigId, nullable=False),
        sa.Column("coupon_template_id", BigId, nullable=True),
        sa.Column("sku_id", BigId, nullable=True),
        sa.Column("given_count", BigId, nullable=False),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_lottery_prizes_stock_not_negative")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["lottery_campaigns.id"],
            name=op.f("fk_lottery_prizes_campaign_id_lottery_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["coupon_template_id"],
            ["coupon_templates.id"],
            name=op.f("fk_lottery_prizes_coupon_template_id_coupon_templates"),
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["skus.id"], name=op.f("fk_lottery_prizes_sku_id_skus")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lottery_prizes")),
        sa.UniqueConstraint("campaign_id", "position", name="uq_lottery_prizes_position"),
    )
    op.create_table(
        "mall_items",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("points_price", BigId, nullable=False),
        sa.Column("coupon_template_id", BigId, nullable=True),
        sa.Column("sku_id", BigId, nullable=True),
        sa.Column("per_shopper_limit", BigId, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("position", BigId, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("points_price > 0", name=op.f("ck_mall_items_price_positive")),
        sa.ForeignKeyConstraint(
            ["coupon_template_id"],
            ["coupon_templates.id"],
            name=op.f("fk_mall_items_coupon_template_id_coupon_templates"),
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_mall_items_sku_id_skus")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mall_items")),
    )
    op.create_table(
        "lottery_draws",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("campaign_id", BigId, nullable=False),
        sa.Column("shopper_id", BigId, nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("ticket", BigId, nullable=False),
        sa.Column("landed_prize_id", BigId, nullable=False),
        sa.Column("given_prize_id", BigId, nullable=False),
        sa.Column("fallback_reason", sa.String(length=24), nullable=False),
        sa.Column("points_spent", BigId, nullable=False),
        sa.Column("points_won", BigId, nullable=False),
        sa.Column("coupon_id", BigId, nullable=True),
        sa.Column("sku_id", BigId, nullable=True),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["lottery_campaigns.id"],
            name=op.f("fk_lottery_draws_campaign_id_lottery_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["coupon_id"],
            ["shopper_coupons.id"],
            name=op.f("fk_lottery_draws_coupon_id_shopper_coupons"),
        ),
        sa.ForeignKeyConstraint(
            ["given_prize_id"],
            ["lottery_prizes.id"],
            name=op.f("fk_lottery_draws_given_prize_id_lottery_prizes"),
        ),
        sa.ForeignKeyConstraint(
            ["landed_prize_id"],
            ["lottery_prizes.id"],
            name=op.f("fk_lottery_draws_landed_prize_id_lottery_prizes"),
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"], ["shoppers.id"], name=op.f("fk_lottery_draws_shopper_id_shoppers")
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_lottery_draws_sku_id_skus")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lottery_draws")),
    )
    with op.batch_alter_table("lottery_draws", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lottery_draws_campaign", ["campaign_id", "given_prize_id"], unique=False
        )
        batch_op.create_index("ix_lottery_draws_shopper", ["shopper_id", "id"], unique=False)

    op.create_table(
        "mall_exchange_counts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("item_id", BigId, nullable=False),
        sa.Column("shopper_id", BigId, nullable=False),
        sa.Column("count", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["mall_items.id"], name=op.f("fk_mall_exchange_counts_item_id_mall_items")
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"],
            ["shoppers.id"],
            name=op.f("fk_mall_exchange_counts_shopper_id_shoppers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mall_exchange_counts")),
        sa.UniqueConstraint("item_id", "shopper_id", name="uq_mall_exchange_counts"),
    )
    op.create_table(
        "mall_exchanges",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("item_id", BigId, nullable=False),
        sa.Column("shopper_id", BigId, nullable=False),
        sa.Column("request_key", sa.String(length=96), nullable=False),
        sa.Column("points", BigId, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("coupon_id", BigId, nullable=True),
        sa.Column("sku_id", BigId, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["coupon_id"],
            ["shopper_coupons.id"],
            name=op.f("fk_mall_exchanges_coupon_id_shopper_coupons"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["mall_items.id"], name=op.f("fk_mall_exchanges_item_id_mall_items")
        ),
        sa.ForeignKeyConstraint(
            ["shopper_id"], ["shoppers.id"], name=op.f("fk_mall_exchanges_shopper_id_shoppers")
        ),
        sa.ForeignKeyConstraint(
            ["sku_id"], ["skus.id"], name=op.f("fk_mall_exchanges_sku_id_skus")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mall_exchanges")),
        sa.UniqueConstraint("request_key", name=op.f("uq_mall_exchanges_request_key")),
    )
    with op.batch_alter_table("mall_exchanges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mall_exchanges_item_id"), ["item_id"], unique=False)
        batch_op.create_index("ix_mall_exchanges_shopper", ["shopper_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mall_exchanges", schema=None) as batch_op:
        batch_op.drop_index("ix_mall_exchanges_shopper")
        batch_op.drop_index(batch_op.f("ix_mall_exchanges_item_id"))

    op.drop_table("mall_exchanges")
    op.drop_table("mall_exchange_counts")
    with op.batch_alter_table("lottery_draws", schema=None) as batch_op:
        batch_op.drop_index("ix_lottery_draws_shopper")
        batch_op.drop_index("ix_lottery_draws_campaign")

    op.drop_table("lottery_draws")
    op.drop_table("mall_items")
    op.drop_table("lottery_prizes")
    op.drop_table("checkins")
    op.drop_table("lottery_daily_counts")
    op.drop_table("lottery_campaigns")
    op.drop_table("checkin_settings")
