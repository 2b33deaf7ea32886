"""Member tiers, growth, member day and birthdays: the business rules, pure.

- **Growth** is what a shopper paid for goods, in whole yuan, net of every discount
  (member price, promotions, coupon, points: the allocation rows) and without
  shipping. What an order counts for is ``growth_for_fen`` of what is still kept of it,
  so a refund takes back exactly the growth the refunded money brought, and a full
  refund takes back all of it.
- **Tiers** are five levels (0 青铜 … 4 钻石) with strictly increasing thresholds, the
  lowest at 0. The growth of the last ``window_days`` days decides the tier.
- **Upgrade at once**: when that growth crosses a higher threshold, the shopper moves
  up in the same transaction as the payment. A refund never downgrades at once.
- **Yearly review with grace**: once a year the window growth is looked at again; a
  shopper can drop at most ``max_drop`` levels in one review (1 by default).
- **Member day**: local days (Asia/Shanghai) by day of month and/or weekday; every
  signed-in shopper is a member (青铜 starts at growth 0).
- **Birthday**: the local date matches; 29 February is celebrated on 28 February in
  years without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
LEVELS = 5
MAX_MULTIPLIER_PERCENT = 1000


@dataclass(frozen=True)
class TierRule:
    """One level and its benefits. ``discount_percent`` is what a member pays of the
    shelf price: 80 is 8折, 100 no discount."""

    level: int
    name_zh: str
    name_en: str
    threshold: int  # growth (yuan) from which this tier holds
    discount_percent: int = 100
    free_shipping_threshold_fen: int | None = None  # None: the store's threshold
    points_multiplier_percent: int = 100  # 150 = ×1.5 points
    birthday_coupon_template_id: int | None = None
    birthday_points: int = 0
    priority_aftersale: bool = False

    @property
    def percent_off(self) -> int:
        return 100 - self.discount_percent


@dataclass(frozen=True)
class MemberDayRule:
    """Local days that are member days: listed days of month, listed ISO weekdays
    (1 Monday … 7 Sunday), or both (either one makes the day)."""

    days_of_month: frozenset[int] = frozenset({15})
    weekdays: frozenset[int] = frozenset()
    points_multiplier_percent: int = 200
    free_shipping: bool = True


@dataclass(frozen=True)
class ReviewRule:
    window_days: int = 365
    max_drop: int = 1


@dataclass(frozen=True)
class Program:
    """The whole configuration: tiers lowest first, member day, review."""

    tiers: tuple[TierRule, ...]
    member_day: MemberDayRule = MemberDayRule()
    review: ReviewRule = ReviewRule()
    # Per-SKU member prices: (level, sku id) → unit price in fen.
    sku_prices: dict[tuple[int, int], int] = field(default_factory=dict)

    def tier(self, level: int) -> TierRule:
        return self.tiers[max(0, min(level, len(self.tiers) - 1))]


DEFAULT_TIERS = (
    TierRule(0, "青铜会员", "Bronze", 0),
    TierRule(1, "白银会员", "Silver", 500, 98, None, 110, None, 100),
    TierRule(2, "黄金会员", "Gold", 2000, 95, 6900, 120, None, 200),
    TierRule(3, "铂金会员", "Platinum", 5000, 90, 4900, 150, None, 500, True),
    TierRule(4, "钻石会员", "Diamond", 10000, 80, 0, 200, None, 1000, True),
)
DEFAULT_PROGRAM = Program(DEFAULT_TIERS)


# ---------------------------------------------------------------- growth and tiers


def growth_for_fen(kept_fen: int) -> int:
    """The growth an order's kept goods amount counts for: whole yuan, rounded down."""
    return max(kept_fen, 0) // 100


def tier_for_growth(tiers: Sequence[TierRule], growth: int) -> int:
    """The highest level whose threshold the growth reaches (0 at least)."""
    level = 0
    for tier in tiers:
        if growth >= tier.threshold:
            level = tier.level
    return level


def upgraded_level(tiers: Sequence[TierRule], current: int, growth: int) -> int | None:
    """The level to move up to at once, or None: never down outside the review."""
    reached = tier_for_growth(tiers, growth)
    return reached if reached > current else None


def reviewed_level(
    tiers: Sequence[TierRule], current: int, window_growth: int, max_drop: int
) -> int:
    """The yearly review: the window growth decides, dropping at most ``max_drop``."""
    reached = tier_for_growth(tiers, window_growth)
    return max(reached, current - max(max_drop, 0))


def progress(tiers: Sequence[TierRule], level: int, growth: int) -> tuple[int | None, int, int]:
    """(next level, growth still missing, percent of the way from this tier's threshold
    to the next one's); (None, 0, 100) at the top."""
    higher = [t for t in tiers if t.level > level]
    if not higher:
        return None, 0, 100
    nxt, here = higher[0], tiers[level].threshold if level < len(tiers) else 0
    span = nxt.threshold - here
    done = min(max(growth - here, 0), span)
    return nxt.level, max(nxt.threshold - growth, 0), done * 100 // span if span > 0 else 100


def member_unit_price(price_fen: int, percent_off: int, special_fen: int | None) -> int:
    """A tier's unit price for a SKU: its rate or its SKU price, whichever is lower
    (what the pricing engine charges)."""
    saving = price_fen * max(min(percent_off, 100), 0) // 100
    if special_fen is not None and price_fen - max(special_fen, 0) > saving:
        saving = price_fen - max(special_fen, 0)
    return price_fen - max(saving, 0)


def earning_multiplier(tier_percent: int, member_day_percent: int) -> int:
    """Tier × member day, as a percent (100 = ×1); the two multiply."""
    return max(tier_percent, 0) * max(member_day_percent, 0) // 100


def check_tiers(tiers: Sequence[TierRule]) -> dict[str, str]:
    """Why a tier table cannot be saved, by field (empty: it can)."""
    problems: dict[str, str] = {}
    if len(tiers) != LEVELS:
        problems["tiers"] = f"exactly {LEVELS} tiers"
        return problems
    for i, t in enumerate(tiers):
        where = f"tiers.{i}"
        if t.level != i:
            problems[f"{where}.level"] = f"must be {i}"
        if not t.name_zh.strip() or not t.name_en.strip():
            problems[f"{where}.name"] = "names are required"
        if i == 0 and t.threshold != 0:
            problems[f"{where}.threshold"] = "the first tier starts at 0"
        if i > 0 and t.threshold <= tiers[i - 1].threshold:
            problems[f"{where}.threshold"] = "thresholds must strictly increase"
        if not 1 <= t.discount_percent <= 100:
            problems[f"{where}.discount_percent"] = "between 1 and 100"
        if t.free_shipping_threshold_fen is not None and t.free_shipping_threshold_fen < 0:
            problems[f"{where}.free_shipping_threshold_fen"] = "not negative"
        if not 100 <= t.points_multiplier_percent <= MAX_MULTIPLIER_PERCENT:
            problems[f"{where}.points_multiplier_percent"] = "between 100 and 1000"
        if t.birthday_points < 0:
            problems[f"{where}.birthday_points"] = "not negative"
    return problems


def check_member_day(rule: MemberDayRule) -> dict[str, str]:
    problems: dict[str, str] = {}
    if any(not 1 <= d <= 31 for d in rule.days_of_month):
        problems["member_day.days_of_month"] = "days 1 to 31"
    if any(not 1 <= d <= 7 for d in rule.weekdays):
        problems["member_day.weekdays"] = "weekdays 1 (Monday) to 7 (Sunday)"
    if not 100 <= rule.points_multiplier_percent <= MAX_MULTIPLIER_PERCENT:
        problems["member_day.points_multiplier_percent"] = "between 100 and 1000"
    return problems


# ---------------------------------------------------------------- local dates


def local_date(now: datetime) -> date:
    return now.astimezone(SHANGHAI).date()


def day_start(day: date) -> datetime:
    """Local midnight of ``day``, in UTC."""
    return datetime.combine(day, time(0), SHANGHAI).astimezone(UTC)


def _is_member_date(rule: MemberDayRule, day: date) -> bool:
    return day.day in rule.days_of_month or day.isoweekday() in rule.weekdays


def is_member_day(rule: MemberDayRule, now: datetime) -> bool:
    return _is_member_date(rule, local_date(now))


def next_member_day(rule: MemberDayRule, now: datetime) -> datetime | None:
    """The start (local midnight, in UTC) of the first member day starting after
    ``now``; None when the rule names no day."""
    if not rule.days_of_month and not rule.weekdays:
        return None
    day = local_date(now)
    for _ in range(400):  # every listed day of month occurs within 13 months
        day += timedelta(days=1)
        if _is_member_date(rule, day):
            return day_start(day)
    return None


def birthday_in(birthday: date, year: int) -> date:
    """The date the birthday is kept in ``year`` (29 Feb → 28 Feb outside leap years)."""
    try:
        return birthday.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def is_birthday(birthday: date, now: datetime) -> bool:
    today = local_date(now)
    return birthday_in(birthday, today.year) == today


def next_review_at(now: datetime) -> datetime:
    """The next yearly review: 1 January, local midnight."""
    return day_start(date(local_date(now).year + 1, 1, 1))
