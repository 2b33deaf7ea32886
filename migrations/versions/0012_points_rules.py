"""points rules

``points_rules``: the store's points rules (points per yuan, expiry, sign-up reward),
one row saved by an operator; without it the settings (``SIYU_POINTS_*``) hold.
``mall_exchanges.shipped_at``: when an operator marked a goods exchange shipped.

Revision ID: 0012_points_rules
Revises: 0011_group_buy
Create Date: 2026-12-07 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_points_rules"
down_revision: str | None = "0011_group_buy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "points_rules",
        sa.Column("id", BigId, autoincrement=False, nullable=False),
        sa.Column("earn_per_yuan", BigId, nullable=False),
        sa.Column("expiry_years", BigId, nullable=True),
        sa.Column("signup_reward", BigId, nullable=False),
        sa.Column("updated_by", BigId, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "earn_per_yuan >= 0", name=op.f("ck_points_rules_earn_per_yuan_not_negative")
        ),
        sa.CheckConstraint(
            "signup_reward >= 0", name=op.f("ck_points_rules_signup_reward_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["operators.id"], name=op.f("fk_points_rules_updated_by_operators")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_rules")),
    )
    op.add_column(
        "mall_exchanges", sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("mall_exchanges") as batch:
        batch.drop_column("shipped_at")
    op.drop_table("points_rules")
