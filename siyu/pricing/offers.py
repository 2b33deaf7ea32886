"""The life a coupon template and a promotion share: create one from a body's values,
read it, apply checked changes or a new status — each write audited — keeping only the
scope targets its scope kind reads. Each domain checks its own rules first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.orm import Session

from siyu.catalog.service import check_catalog_refs
from siyu.db import get_or_raise
from siyu.errors import NotFound
from siyu.identity.audit import AuditTrail


class _OfferRow(Protocol):
    """What an offer's model is: a mapped :class:`ScopedOffer` with an id."""

    def __init__(self, **values: Any) -> None: ...

    @property
    def id(self) -> int: ...

    def drop_unused_targets(self) -> None: ...


OfferT = TypeVar("OfferT", bound=_OfferRow)


@dataclass(frozen=True)
class OfferBook(Generic[OfferT]):
    """One kind of offer: its model, audit trail, the fields a body may set, the
    product-id fields its scope names, and the error when one is missing."""

    model: type[OfferT]
    trail: AuditTrail[OfferT]
    fields: tuple[str, ...]
    product_fields: tuple[str, ...]
    missing_code: str
    missing_message: str

    def check_refs(self, session: Session, values: dict[str, Any]) -> None:
        check_catalog_refs(
            session,
            product_fields={k: values.get(k) or [] for k in self.product_fields},
            category_ids=values.get("category_ids") or [],
        )

    def create(
        self, session: Session, values: dict[str, Any], *, actor_id: int, now: datetime
    ) -> OfferT:
        """A new offer from ``values`` (already checked by its domain)."""
        self.check_refs(session, values)
        given = {k: values[k] for k in self.fields if k in values}
        offer = self.model(**given, created_at=now, updated_at=now)
        offer.drop_unused_targets()
        self.trail.add(session, offer, operator_id=actor_id, now=now)
        return offer

    def get(self, session: Session, offer_id: int) -> OfferT:
        missing = NotFound(self.missing_code, self.missing_message)
        return get_or_raise(session, self.model, offer_id, missing)

    def current(self, offer: OfferT, extra: Iterable[str] = ()) -> dict[str, Any]:
        """The offer's settable fields (and ``extra`` ones) as they stand."""
        return {k: getattr(offer, k) for k in (*self.fields, *extra)}

    def update(
        self,
        session: Session,
        offer: OfferT,
        changes: dict[str, Any],
        *,
        actor_id: int,
        now: datetime,
    ) -> OfferT:
        """Apply ``changes`` (already checked by its domain) and audit them."""
        self.check_refs(session, changes)
        self.trail.apply(session, offer, "update", changes, operator_id=actor_id, now=now)
        offer.drop_unused_targets()
        session.flush()
        return offer

    def set_status(
        self, session: Session, offer: OfferT, status: Any, *, actor_id: int, now: datetime
    ) -> OfferT:
        self.trail.apply(
            session, offer, "status", {"status": status}, operator_id=actor_id, now=now
        )
        return offer
