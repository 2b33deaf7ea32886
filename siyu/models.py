"""Imports every table module so ``Base.metadata`` is complete (Alembic, tests)."""

from siyu import idempotency, outbox, timers, versions
from siyu.address import models as address_models
from siyu.aftersale import models as aftersale_models
from siyu.bargain import models as bargain_models
from siyu.cart import models as cart_models
from siyu.catalog import models as catalog_models
from siyu.channel import models as channel_models
from siyu.coupon import models as coupon_models
from siyu.cues import models as cue_models
from siyu.db import Base
from siyu.flash_sale import models as flash_sale_models
from siyu.group_buy import models as group_buy_models
from siyu.identity import models as identity_models
from siyu.loyalty import models as loyalty_models
from siyu.loyalty.checkin import models as checkin_models
from siyu.loyalty.lottery import models as lottery_models
from siyu.loyalty.mall import models as mall_models
from siyu.loyalty.tiers import models as loyalty_tier_models
from siyu.order import models as order_models
from siyu.payment import models as payment_models
from siyu.pricing import scopes as pricing_scopes
from siyu.promotion import models as promotion_models
from siyu.rising_price import models as rising_price_models

__all__ = [
    "Base",
    "address_models",
    "aftersale_models",
    "bargain_models",
    "cart_models",
    "catalog_models",
    "channel_models",
    "checkin_models",
    "coupon_models",
    "cue_models",
    "flash_sale_models",
    "group_buy_models",
    "identity_models",
    "idempotency",
    "loyalty_models",
    "loyalty_tier_models",
    "lottery_models",
    "mall_models",
    "order_models",
    "outbox",
    "payment_models",
    "pricing_scopes",
    "promotion_models",
    "rising_price_models",
    "timers",
    "versions",
]

metadata = Base.metadata
