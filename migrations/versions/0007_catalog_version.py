"""catalog version

Creates ``catalog_versions``: one row whose ``version`` moves on in every transaction
that changes what shoppers see of the catalog (``siyu.catalog.version``), so every API
process can cache catalog reads and check them with one primary-key read.

Revision ID: 0007_catalog_version
Revises: 0006_addresses
Create Date: 2026-12-07 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_catalog_version"
down_revision: str | None = "0006_addresses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    table = op.create_table(
        "catalog_versions",
        sa.Column("id", BigId, autoincrement=False, nullable=False),
        sa.Column("version", BigId, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_versions")),
    )
    op.bulk_insert(table, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("catalog_versions")
