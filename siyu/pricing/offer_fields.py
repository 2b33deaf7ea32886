"""What a coupon template's and a promotion's create bodies share: a category (product)
scope must name its categories (products), and the body's values are its given fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator

from siyu.pricing.info import Scope


class OfferChanges(BaseModel):
    """An offer's PATCH body: every field optional, none set to null unless it is among
    ``nullable`` (where null means something: no end, no limit)."""

    model_config = ConfigDict(extra="forbid")
    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        nulled = [
            k for k in self.model_fields_set if getattr(self, k) is None and k not in self.nullable
        ]
        if nulled:
            raise ValueError(f"{', '.join(sorted(nulled))} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ScopedOfferCreate(BaseModel):
    """Put first among the bases (``class XCreate(ScopedOfferCreate, XFields)``) so that
    the fields' own validators run before this one, as they did when each had its own."""

    offer_noun: ClassVar[str]  # "coupon" or "promotion", for the messages

    if TYPE_CHECKING:  # fields of the offer's model, not declared here
        scope_kind: Scope | None
        category_ids: list[int] | None
        product_ids: list[int] | None

    @model_validator(mode="after")
    def _scope_targets(self) -> Self:
        if self.scope_kind is Scope.categories and not self.category_ids:
            raise ValueError(f"category_ids is required for a category {self.offer_noun}")
        if self.scope_kind is Scope.products and not self.product_ids:
            raise ValueError(f"product_ids is required for a product {self.offer_noun}")
        return self

    def values(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)
