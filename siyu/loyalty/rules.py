"""Points rules, in plain words.

- **Earning.** An order earns points on what the shopper actually paid for the goods
  (each line's shelf subtotal less every discount allocated to it, shipping not
  counted): ``points_per_yuan`` points a yuan (消费1元=1积分 by default), times the
  earning multiplier (100 % unless a tier or member day raises it; several multipliers
  multiply), rounded down once for the whole order, then split over the lines in
  proportion to what each was paid (largest remainder), so the lines sum to the order.
- **Pending, then credited.** Points earned on an order are *pending* from payment
  until the order settles (its after-sales window closed); only then can they be spent.
- **Refunds.** A refund takes back earned points in proportion to the refunded part of
  each line: after a refund a line has given back ``earned × refunded_fen ÷ paid_fen``
  (rounded down; all of it once every unit is refunded). Points spent on a line come
  back the same way, by refunded units: ``spent × refunded_units ÷ units``. A cancel
  gives back every point spent. Running totals make each reversal exact to the point.
- **Expiry.** Credited points form a lot that expires at the end of the calendar year
  ``years_after`` years after the year it was earned (default 1: points of 2026 expire
  at 2027-12-31 24:00 Asia/Shanghai), or never. Spending takes the lots that expire
  first (FIFO); points given back return to the lots they came from.
- **Never negative.** A debit takes only what is available; the balance never goes
  below zero. Every change is a ledger entry with a unique idempotency key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from siyu.clock import SHANGHAI
from siyu.money import allocate_proportionally

SOON_DAYS = 30  # "soon to expire" in the shopper's points page
FULL_MULTIPLIER = 100  # percent


class Bucket(StrEnum):
    available = "available"
    pending = "pending"


class EntryKind(StrEnum):
    order_earn = "order_earn"  # pending, at payment
    order_earn_reversed = "order_earn_reversed"  # a refund took earned points back
    order_settled = "order_settled"  # pending → available at the settled moment
    order_spend = "order_spend"  # points paid part of an order
    order_spend_returned = "order_spend_returned"  # back on cancel or refund
    expire = "expire"
    adjust = "adjust"  # an operator's manual change
    reward = "reward"  # sign-up, first order, review, check-in
    checkin_makeup = "checkin_makeup"  # the cost of a make-up check-in (补签)
    lottery_draw = "lottery_draw"  # the cost of a draw
    lottery_prize = "lottery_prize"  # points won in a draw
    mall_exchange = "mall_exchange"  # points paid in the points mall


class RewardEvent(StrEnum):
    signup = "signup"
    first_order = "first_order"
    review = "review"
    checkin = "checkin"
    birthday = "birthday"


@dataclass(frozen=True)
class EarningRule:
    points_per_yuan: int = 1


@dataclass(frozen=True)
class ExpiryRule:
    years_after: int | None = 1  # None: points never expire


def earned_points(paid_fen: int, rule: EarningRule, multiplier_percent: int) -> int:
    """Points for ``paid_fen`` paid, rounded down; never negative."""
    if paid_fen <= 0 or rule.points_per_yuan <= 0 or multiplier_percent <= 0:
        return 0
    return paid_fen * rule.points_per_yuan * multiplier_percent // (100 * 100)


def combined_multiplier(percents: Iterable[int]) -> int:
    """Several multipliers (tier, member day) multiply: 150 % and 200 % give 300 %."""
    total = FULL_MULTIPLIER
    for percent in percents:
        total = total * max(percent, 0) // FULL_MULTIPLIER
    return total


def split_points(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` points over lines in proportion to ``weights``; the parts sum to it."""
    if sum(weights) <= 0:
        return [0] * len(weights)
    return allocate_proportionally(total, list(weights))


def share_back(total: int, part: int, whole: int) -> int:
    """How much of ``total`` has come back once ``part`` of ``whole`` is refunded."""
    if part <= 0:
        return 0
    if part >= whole:
        return total
    return total * part // whole


def expires_at(earned_at: datetime, rule: ExpiryRule) -> datetime | None:
    """The end of the calendar year ``years_after`` years after ``earned_at``'s year,
    in Asia/Shanghai (the first instant of the next year), in UTC."""
    if rule.years_after is None:
        return None
    year = earned_at.astimezone(SHANGHAI).year + rule.years_after + 1
    return datetime(year, 1, 1, tzinfo=SHANGHAI).astimezone(UTC)


def is_soon_to_expire(expires: datetime | None, now: datetime) -> bool:
    return expires is not None and now < expires <= now + timedelta(days=SOON_DAYS)


def take_fifo(lots: Sequence[tuple[int, int]], points: int) -> list[tuple[int, int]]:
    """(lot id, remaining), first-expiring first → (lot id, taken) covering ``points``;
    raises ValueError if the lots hold fewer."""
    taken = []
    left = points
    for lot_id, remaining in lots:
        if left <= 0:
            break
        n = min(remaining, left)
        if n > 0:
            taken.append((lot_id, n))
            left -= n
    if left > 0:
        raise ValueError(f"lots hold {points - left} points, {points} wanted")
    return taken
