"""Store promotions: full reduction, N-item discount, bundle, member price."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


def track_versions(factory: sessionmaker[Session]) -> None:
    """Edits of promotions and coupon templates (and their scopes) move the offers
    version on (``siyu.versions.OFFERS``): running promotions are cached against it."""
    from siyu import versions
    from siyu.coupon.models import CouponTemplate
    from siyu.pricing.scopes import OfferScope
    from siyu.promotion.models import Promotion

    versions.watch(factory, versions.OFFERS, (Promotion, OfferScope, CouponTemplate))
