"""Lottery (积分抽奖) rules.

- A campaign's prizes carry **weights in parts per million** that add up to exactly
  1,000,000, "thanks for playing" (谢谢参与) included. The odds shown to shoppers are
  those weights, printed exactly (``12.5%``), never rounded into something else, and a
  draw picks a prize with exactly that probability: a uniform integer in
  ``[0, 1,000,000)`` from :mod:`secrets` lands in the prize whose cumulative range holds
  it. Nothing else (stock left, the shopper's history) moves the odds.
- A prize may have limited **stock**. When a draw lands on a prize with none left, the
  shopper gets the prize's **fallback** (by default the campaign's unlimited prize,
  usually 谢谢参与). Fallback chains must end at a prize without a stock limit and have
  no cycle, so every draw ends at something that can be given. The stock itself is
  taken by a guarded update in the service; the fallback is then followed from the
  prize that was short.
- A draw costs the campaign's points, and a shopper may draw at most
  ``daily_limit`` times per local date (Asia/Shanghai).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

TOTAL_WEIGHT = 1_000_000


class PrizeKind(StrEnum):
    points = "points"
    coupon = "coupon"
    goods = "goods"
    thanks = "thanks"


@dataclass(frozen=True)
class Prize:
    id: int
    name: str
    kind: PrizeKind
    weight_ppm: int
    stock: int | None = None  # None: unlimited
    fallback_id: int | None = None  # where a draw goes when this prize has no stock
    points: int = 0  # kind points: how many
    coupon_template_id: int | None = None  # kind coupon
    sku_id: int | None = None  # kind goods


def odds_text(weight_ppm: int) -> str:
    """The probability as displayed: exact, trailing zeros dropped (``0.05%``)."""
    percent = Fraction(weight_ppm, TOTAL_WEIGHT) * 100
    whole, rest = divmod(percent.numerator, percent.denominator)
    if rest == 0:
        return f"{whole}%"
    digits = ""
    while rest and len(digits) < 4:  # ppm → at most 4 decimals of a percent
        rest *= 10
        d, rest = divmod(rest, percent.denominator)
        digits += str(d)
    return f"{whole}.{digits.rstrip('0')}%"


def validate_prizes(prizes: Sequence[Prize]) -> dict[str, str]:
    """Field errors of an operator's prize table ({} when it can be drawn from)."""
    errors: dict[str, str] = {}
    if not prizes:
        return {"prizes": "at least one prize"}
    by_id = {p.id: p for p in prizes}
    if len(by_id) != len(prizes):
        errors["prizes"] = "prize ids must be unique"
    for p in prizes:
        if not 0 <= p.weight_ppm <= TOTAL_WEIGHT:
            errors[f"prize.{p.id}.weight"] = f"0–{TOTAL_WEIGHT}"
        if p.stock is not None and p.stock < 0:
            errors[f"prize.{p.id}.stock"] = "≥ 0"
        if p.kind is PrizeKind.points and p.points <= 0:
            errors[f"prize.{p.id}.points"] = "> 0"
        if p.kind is PrizeKind.coupon and p.coupon_template_id is None:
            errors[f"prize.{p.id}.coupon"] = "required"
        if p.kind is PrizeKind.goods and p.sku_id is None:
            errors[f"prize.{p.id}.sku"] = "required"
    total = sum(p.weight_ppm for p in prizes)
    if total != TOTAL_WEIGHT:
        errors["weights"] = f"the odds add up to {odds_text(total)}, not 100%"
    for p in prizes:
        if p.stock is None:
            continue
        try:
            resolve_fallback(by_id, p.id)
        except ValueError as exc:
            errors[f"prize.{p.id}.fallback"] = str(exc)
    return errors


def _unlimited(by_id: dict[int, Prize]) -> Prize | None:
    return next((p for p in by_id.values() if p.stock is None), None)


def resolve_fallback(by_id: dict[int, Prize], prize_id: int) -> list[int]:
    """The chain a draw follows from ``prize_id`` when it is short: its fallback, that
    one's fallback, … ending at an unlimited prize. Raises ValueError on a cycle or a
    chain without an end."""
    chain: list[int] = []
    current = by_id[prize_id]
    while True:
        nxt_id = current.fallback_id
        nxt = by_id.get(nxt_id) if nxt_id is not None else _unlimited(by_id)
        if nxt is None:
            raise ValueError("no prize without a stock limit to fall back to")
        if nxt.id in chain or nxt.id == prize_id:
            raise ValueError("the fallbacks go round in a circle")
        chain.append(nxt.id)
        if nxt.stock is None:
            return chain
        current = nxt


def pick(prizes: Sequence[Prize], ticket: int) -> Prize:
    """The prize a uniform ``ticket`` in [0, TOTAL_WEIGHT) lands on, in table order."""
    if not 0 <= ticket < TOTAL_WEIGHT:
        raise ValueError("ticket out of range")
    upper = 0
    for prize in prizes:
        upper += prize.weight_ppm
        if ticket < upper:
            return prize
    raise ValueError("the weights do not add up to the whole range")


def can_draw(draws_today: int, daily_limit: int) -> bool:
    return daily_limit <= 0 or draws_today < daily_limit
