"""shopper address book

Creates ``addresses``: at most one default per shopper, held by a partial unique index
(``WHERE is_default``, on SQLite and PostgreSQL alike). Orders already keep their
address as a JSON snapshot in ``orders.address`` (since 0001): placing an order with an
``address_id`` or the default address copies the entry there (now with
``postal_code``), never a reference, so no column is added to ``orders``.

Revision ID: 0006_addresses
Revises: 0005_offer_scopes
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_addresses"
down_revision: str | None = "0005_offer_scopes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "addresses",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("shopper_id", BigId, nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("phone", sa.String(length=11), nullable=False),
        sa.Column("province", sa.String(length=32), nullable=False),
        sa.Column("city", sa.String(length=32), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("postal_code", sa.String(length=6), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["shopper_id"], ["shoppers.id"], name=op.f("fk_addresses_shopper_id_shoppers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addresses")),
    )
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_addresses_shopper_created", ["shopper_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_addresses_one_default",
            ["shopper_id"],
            unique=True,
            sqlite_where=sa.text("is_default"),
            postgresql_where=sa.text("is_default"),
        )


def downgrade() -> None:
    with op.batch_alter_table("addresses", schema=None) as batch_op:
        batch_op.drop_index("uq_addresses_one_default")
        batch_op.drop_index("ix_addresses_shopper_created")
    op.drop_table("addresses")
