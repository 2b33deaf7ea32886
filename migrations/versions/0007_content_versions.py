"""content versions

Creates ``content_versions``: one row per kind of content (1 the catalog, 2 the offers)
whose ``version`` moves on in every transaction that changes it (``siyu.versions``), so
every API process can cache what it derives from that content and check it with one
primary-key read.

Revision ID: 0007_content_versions
Revises: 0006_addresses
Create Date: 2026-12-07 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_content_versions"
down_revision: str | None = "0006_addresses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    table = op.create_table(
        "content_versions",
        sa.Column("id", BigId, autoincrement=False, nullable=False),
        sa.Column("version", BigId, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_versions")),
    )
    op.bulk_insert(table, [{"id": 1, "version": 0}, {"id": 2, "version": 0}])


def downgrade() -> None:
    op.drop_table("content_versions")
