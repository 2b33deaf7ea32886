"""Offer scopes as rows: which categories and products a coupon template or a
promotion names, each a foreign key the database protects.

One row per named target: its owner (a coupon template or a promotion, never both),
its role (an included category, an included product, an excluded product, or a
product of a bundle) and the category or product it names. Deleting the owner
deletes its rows; deleting a category or product that a row names is refused by
the database (``ON DELETE RESTRICT``), and ``catalog.service.delete_category``
names the offers that hold it.

Owners keep the list-shaped API the services, schemas and pricing use
(``template.category_ids = [3, 5]``) through :class:`ScopedOffer`, which reads and
writes these rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from siyu.db import Base, IdPk, StrEnumType
from siyu.pricing.info import Scope


class ScopeRole(StrEnum):
    category = "category"  # an included category (with its descendants)
    product = "product"  # an included product
    excluded = "excluded"  # a product left out of an otherwise matching scope
    bundle = "bundle"  # a product of a bundle promotion, in order

    @property
    def names_category(self) -> bool:
        return self is ScopeRole.category


class OfferScope(Base):
    __tablename__ = "offer_scopes"
    __table_args__ = (
        CheckConstraint("(coupon_template_id IS NULL) <> (promotion_id IS NULL)", name="one_owner"),
        CheckConstraint(
            "(role = 'category' AND category_id IS NOT NULL AND product_id IS NULL) OR "
            "(role <> 'category' AND product_id IS NOT NULL AND category_id IS NULL)",
            name="target_matches_role",
        ),
    )

    id: Mapped[IdPk]
    coupon_template_id: Mapped[int | None] = mapped_column(
        ForeignKey("coupon_templates.id", ondelete="CASCADE"), index=True
    )
    promotion_id: Mapped[int | None] = mapped_column(
        ForeignKey("promotions.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[ScopeRole] = mapped_column(StrEnumType(ScopeRole, 16))
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), index=True
    )
    product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)

    @property
    def target_id(self) -> int:
        target = self.category_id if self.role.names_category else self.product_id
        assert target is not None  # the check constraint holds it
        return target


class ScopedOffer:
    """The list-shaped view of an owner's :class:`OfferScope` rows. A mapped class
    using it declares ``scopes`` as a relationship to ``OfferScope``."""

    scopes: list[OfferScope]
    scope_kind: Scope

    def drop_unused_targets(self) -> None:
        """Keep only the rows the scope kind reads, so a category or product an offer
        no longer targets does not hold it (an excluded product applies to every kind)."""
        if self.scope_kind is not Scope.categories:
            self.category_ids = []
        if self.scope_kind is not Scope.products:
            self.product_ids = []

    def _targets(self, role: ScopeRole) -> list[int]:
        return [s.target_id for s in sorted(self.scopes, key=_order) if s.role is role]

    def _replace(self, role: ScopeRole, ids: Iterable[int] | None) -> None:
        if [*(ids or [])] == self._targets(role):
            return
        kept = [s for s in self.scopes if s.role is not role]
        added = [_row(role, target, n) for n, target in enumerate(dict.fromkeys(ids or []))]
        self.scopes = kept + added

    @property
    def category_ids(self) -> list[int]:
        return self._targets(ScopeRole.category)

    @category_ids.setter
    def category_ids(self, ids: Iterable[int] | None) -> None:
        self._replace(ScopeRole.category, ids)

    @property
    def product_ids(self) -> list[int]:
        return self._targets(ScopeRole.product)

    @product_ids.setter
    def product_ids(self, ids: Iterable[int] | None) -> None:
        self._replace(ScopeRole.product, ids)

    @property
    def excluded_product_ids(self) -> list[int]:
        return self._targets(ScopeRole.excluded)

    @excluded_product_ids.setter
    def excluded_product_ids(self, ids: Iterable[int] | None) -> None:
        self._replace(ScopeRole.excluded, ids)


def _order(scope: OfferScope) -> tuple[int, int]:
    return scope.position, scope.id or 0


def _row(role: ScopeRole, target: int, position: int) -> OfferScope:
    if role.names_category:
        return OfferScope(role=role, category_id=target, position=position)
    return OfferScope(role=role, product_id=target, position=position)


SCOPE_FIELDS: tuple[str, ...] = ("category_ids", "product_ids", "excluded_product_ids")
"""The list-shaped scope attributes every :class:`ScopedOffer` has."""
