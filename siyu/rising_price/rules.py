"""Rising-price rules (阶梯涨价), pure.

A campaign sells one SKU from ``starts_at`` to ``ends_at``. The **first N units**
(``base_units``) sell at the **base price**, whenever they are bought: an early-bird
quota. Every unit after them pays the **stepped price**: the base price plus
``step_percent`` % of the base price for every full interval (``interval_minutes``)
since the campaign's start, never above the **cap** (itself never above the shelf
price). So "前100名5折,之后每小时涨10%" on a ¥100 item is base ¥50, 100 units,
+10 % (¥5) an hour, capped at ¥100: the 101st unit bought 2 h 30 min after the start
pays ¥60.

An order's units share one price: the price of its last unit. An order that fits in
what is left of the quota pays the base price (the claim checks the quota is still
there); one that goes past it pays the stepped price for every unit. Units come back
(an order cancelled or refunded) to the count, and with them to the quota.

The price never falls as time passes or units sell, and never exceeds the cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

SOURCE = "rising_price"  # the order's source
MAX_INTERVAL_MINUTES = 7 * 24 * 60
MAX_PER_SHOPPER = 99


class CampaignStatus(StrEnum):
    draft = "draft"
    active = "active"
    ended = "ended"


class PurchaseStatus(StrEnum):
    reserved = "reserved"  # order placed, not paid
    paid = "paid"
    released = "released"  # cancelled before payment, or refunded: units back


@dataclass(frozen=True)
class RisingRule:
    starts_at: datetime
    base_price_fen: int
    base_units: int  # the first N units at the base price
    step_percent: int  # of the base price, added every interval
    interval_minutes: int
    cap_price_fen: int  # ≤ the shelf price

    @property
    def step_fen(self) -> int:
        return self.base_price_fen * self.step_percent // 100


@dataclass(frozen=True)
class RisingQuote:
    price_fen: int  # what one unit costs now
    next_price_fen: int | None  # the next rise (None: at the cap, or the campaign ends first)
    next_at: datetime | None  # when it applies (None: once the base units are gone)
    base_units_left: int  # units still at the base price


def steps_at(rule: RisingRule, now: datetime) -> int:
    """Full intervals since the start (0 before it)."""
    if now <= rule.starts_at:
        return 0
    return (now - rule.starts_at) // timedelta(minutes=rule.interval_minutes)


def stepped_price(rule: RisingRule, steps: int) -> int:
    return min(rule.base_price_fen + max(steps, 0) * rule.step_fen, rule.cap_price_fen)


def unit_price(rule: RisingRule, units_sold: int, now: datetime) -> int:
    """The price of the next unit, with ``units_sold`` taken."""
    if units_sold < rule.base_units:
        return rule.base_price_fen
    return stepped_price(rule, steps_at(rule, now))


def order_price(rule: RisingRule, units_sold: int, quantity: int, now: datetime) -> int:
    """The unit price of an order of ``quantity`` units: its last unit's price."""
    return unit_price(rule, units_sold + max(quantity, 1) - 1, now)


def rising_quote(
    rule: RisingRule, units_sold: int, now: datetime, ends_at: datetime
) -> RisingQuote:
    """The price now, and the next rise: while base units are left it is the price
    once they are gone (``next_at`` None) if that is higher already, else the first
    interval's rise; after them, the next interval's, unless the cap or the
    campaign's end comes first."""
    k = steps_at(rule, now)
    left = max(rule.base_units - units_sold, 0)
    price = unit_price(rule, units_sold, now)
    if left and stepped_price(rule, k) > price:
        return RisingQuote(price, stepped_price(rule, k), None, left)
    boundary = rule.starts_at + (k + 1) * timedelta(minutes=rule.interval_minutes)
    following = stepped_price(rule, k + 1)
    if following > price and boundary < ends_at:
        return RisingQuote(price, following, boundary, left)
    return RisingQuote(price, None, None, left)


def check_campaign(
    *,
    base_price_fen: int,
    base_units: int,
    step_percent: int,
    interval_minutes: int,
    cap_price_fen: int,
    shelf_price_fen: int,
    per_shopper_limit: int,
    starts_at: datetime,
    ends_at: datetime,
) -> tuple[str, str] | None:
    """Why these settings cannot be a campaign's: (field, message), or None."""
    if ends_at <= starts_at:
        return "ends_at", "结束时间需晚于开始时间 / The end is after the start"
    if not 0 < base_price_fen < shelf_price_fen:
        return (
            "base_price_fen",
            "起始价需大于 0 且低于原价 / The base price is above 0 and below the price",
        )
    if not base_price_fen <= cap_price_fen <= shelf_price_fen:
        return (
            "cap_price_fen",
            "封顶价需在起始价与原价之间 / The cap is between the base price and the price",
        )
    if base_units < 0:
        return "base_units", "起始价件数不能为负 / Base units cannot be negative"
    if not 1 <= step_percent <= 100 or base_price_fen * step_percent // 100 < 1:
        return (
            "step_percent",
            "每次涨幅需在 1% 到 100% 之间且至少 1 分 / Each step is 1-100 % and at least 1 fen",
        )
    if not 1 <= interval_minutes <= MAX_INTERVAL_MINUTES:
        return (
            "interval_minutes",
            "涨价间隔需在 1 分钟到 7 天之间 / The interval is 1 minute to 7 days",
        )
    if not 1 <= per_shopper_limit <= MAX_PER_SHOPPER:
        return (
            "per_shopper_limit",
            f"每人限购需在 1 到 {MAX_PER_SHOPPER} 之间 / The limit is 1-{MAX_PER_SHOPPER}",
        )
    return None
