"""offer scopes as rows: one foreign-keyed row per category or product an offer names

Creates ``offer_scopes`` and converts the JSON id lists of ``coupon_templates`` and
``promotions`` (``category_ids``, ``product_ids``, ``excluded_product_ids`` and the
promotions' ``bundle_product_ids``) into rows, then drops the lists. Only the lists
the offer's scope kind reads are kept (a category list on an all-products coupon
was never used), and an id whose category or product no longer exists is dropped:
nothing protected those lists before. Going back rebuilds the lists from the rows.

Revision ID: 0005_offer_scopes
Revises: 0004_allocations
Create Date: 2026-12-06 22:50:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005_offer_scopes"
down_revision: str | None = "0004_allocations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# (owner table, owner column in offer_scopes, the lists it holds)
OWNERS = (
    (
        "coupon_templates",
        "coupon_template_id",
        ("category_ids", "product_ids", "excluded_product_ids"),
    ),
    (
        "promotions",
        "promotion_id",
        ("category_ids", "product_ids", "excluded_product_ids", "bundle_product_ids"),
    ),
)
ROLES = {
    "category_ids": "category",
    "product_ids": "product",
    "excluded_product_ids": "excluded",
    "bundle_product_ids": "bundle",
}
# which list each scope kind reads; the excluded and bundle lists apply to every kind
READ_BY_KIND = {"all": set(), "categories": {"category_ids"}, "products": {"product_ids"}}

_scopes = sa.table(
    "offer_scopes",
    sa.column("coupon_template_id", BigId),
    sa.column("promotion_id", BigId),
    sa.column("role", sa.String(16)),
    sa.column("category_id", BigId),
    sa.column("product_id", BigId),
    sa.column("position", BigId),
)


def _owner_table(name: str, lists: Sequence[str]) -> Any:
    return sa.table(
        name,
        sa.column("id", BigId),
        sa.column("scope_kind", sa.String(16)),
        *(sa.column(field, sa.JSON()) for field in lists),
    )


def _ids(conn: Any, table: str) -> set[int]:
    return set(conn.execute(sa.text(f"SELECT id FROM {table}")).scalars())


def _rows(conn: Any) -> list[dict[str, Any]]:
    categories, products = _ids(conn, "categories"), _ids(conn, "products")
    rows: list[dict[str, Any]] = []
    for table, owner_column, lists in OWNERS:
        owners = _owner_table(table, lists)
        for owner in conn.execute(sa.select(owners).order_by(owners.c.id)):
            read = READ_BY_KIND.get(owner.scope_kind, set()) | {
                "excluded_product_ids",
                "bundle_product_ids",
            }
            for field in lists:
                if field not in read:
                    continue
                role = ROLES[field]
                known = categories if role == "category" else products
                ids = [i for i in dict.fromkeys(getattr(owner, field) or []) if i in known]
                for position, target in enumerate(ids):
                    rows.append(
                        {
                            "coupon_template_id": None,
                            "promotion_id": None,
                            owner_column: owner.id,
                            "role": role,
                            "category_id": target if role == "category" else None,
                            "product_id": None if role == "category" else target,
                            "position": position,
                        }
                    )
    return rows


def upgrade() -> None:
    conn = op.get_bind()
    rows = _rows(conn)
    op.create_table(
        "offer_scopes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("coupon_template_id", BigId, nullable=True),
        sa.Column("promotion_id", BigId, nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("category_id", BigId, nullable=True),
        sa.Column("product_id", BigId, nullable=True),
        sa.Column("position", BigId, nullable=False),
        sa.CheckConstraint(
            "(coupon_template_id IS NULL) <> (promotion_id IS NULL)",
            name=op.f("ck_offer_scopes_one_owner"),
        ),
        sa.CheckConstraint(
            "(role = 'category' AND category_id IS NOT NULL AND product_id IS NULL) OR "
            "(role <> 'category' AND product_id IS NOT NULL AND category_id IS NULL)",
            name=op.f("ck_offer_scopes_target_matches_role"),
        ),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_offer_scopes_category_id_categories"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["coupon_template_id"],
            ["coupon_templates.id"],
            name=op.f("fk_offer_scopes_coupon_template_id_coupon_templates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_offer_scopes_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotions.id"],
            name=op.f("fk_offer_scopes_promotion_id_promotions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offer_scopes")),
    )
    for column in ("category_id", "coupon_template_id", "product_id", "promotion_id"):
        op.create_index(op.f(f"ix_offer_scopes_{column}"), "offer_scopes", [column], unique=False)
    if rows:
        conn.execute(sa.insert(_scopes), rows)
    # Plain ALTER TABLE (SQLite >= 3.35 drops a column in place): a batch rebuild
    # would drop and re-create tables other rows reference.
    for table, _owner_column, lists in OWNERS:
        for field in lists:
            op.drop_column(table, field)


def downgrade() -> None:
    conn = op.get_bind()
    lists_by_owner: dict[tuple[str, int], dict[str, list[int]]] = {}
    fields = {role: field for field, role in ROLES.items()}
    for row in conn.execute(sa.select(_scopes).order_by(_scopes.c.position)):
        owner = (
            ("coupon_templates", row.coupon_template_id)
            if row.coupon_template_id is not None
            else ("promotions", row.promotion_id)
        )
        target = row.category_id if row.role == "category" else row.product_id
        lists_by_owner.setdefault(owner, {}).setdefault(fields[row.role], []).append(target)
    for table, _owner_column, lists in OWNERS:
        for field in lists:
            op.add_column(
                table, sa.Column(field, sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
            )
    for column in ("category_id", "coupon_template_id", "product_id", "promotion_id"):
        op.drop_index(op.f(f"ix_offer_scopes_{column}"), table_name="offer_scopes")
    op.drop_table("offer_scopes")
    for (table, owner_id), values in lists_by_owner.items():
        owners = _owner_table(table, [*values])
        conn.execute(sa.update(owners).where(owners.c.id == owner_id).values(**values))
