"""Store promotions: rules with conditions and benefits, scheduled and pausable."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from siyu.db import Base, IdPk, StrEnumType
from siyu.pricing.info import PromotionKind, Scope
from siyu.pricing.scopes import OfferScope, ScopedOffer, ScopeRole
from siyu.promotion.rules import PromotionStatus


class Promotion(ScopedOffer, Base):
    __tablename__ = "promotions"
    __table_args__ = (
        CheckConstraint("percent_off >= 0 AND percent_off < 100", name="percent_in_range"),
        CheckConstraint("amount_off_fen >= 0", name="amount_not_negative"),
        CheckConstraint("min_items >= 0", name="min_items_not_negative"),
    )

    id: Mapped[IdPk]
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[PromotionKind] = mapped_column(StrEnumType(PromotionKind, 24))
    scope_kind: Mapped[Scope] = mapped_column(StrEnumType(Scope, 16), default=Scope.all)
    tiers: Mapped[list[Any]] = mapped_column(default=list)  # [{threshold_fen, amount_fen}]
    min_items: Mapped[int] = mapped_column(default=0)
    percent_off: Mapped[int] = mapped_column(default=0)
    amount_off_fen: Mapped[int] = mapped_column(default=0)
    min_tier: Mapped[int] = mapped_column(default=0)
    exclusive: Mapped[bool] = mapped_column(default=False)
    stack_group: Mapped[str] = mapped_column(String(32), default="default")
    priority: Mapped[int] = mapped_column(default=0)
    status: Mapped[PromotionStatus] = mapped_column(
        StrEnumType(PromotionStatus, 16), default=PromotionStatus.active
    )
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    scopes: Mapped[list[OfferScope]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="OfferScope.position"
    )

    @property
    def bundle_product_ids(self) -> list[int]:
        """The products of a bundle promotion, in the order the operator gave them."""
        return self._targets(ScopeRole.bundle)

    @bundle_product_ids.setter
    def bundle_product_ids(self, ids: Iterable[int] | None) -> None:
        self._replace(ScopeRole.bundle, ids)
