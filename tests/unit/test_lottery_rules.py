"""Lottery rules: exact displayed odds, draws that match them, fallbacks."""

import secrets
from collections import Counter

import pytest
from scipy.stats import chisquare

from siyu.loyalty.lottery.rules import (
    TOTAL_WEIGHT,
    Prize,
    PrizeKind,
    can_draw,
    odds_text,
    pick,
    resolve_fallback,
    validate_prizes,
)

PRIZES = (
    Prize(1, "口红", PrizeKind.goods, 5_000, stock=3, sku_id=9),
    Prize(2, "¥10券", PrizeKind.coupon, 95_000, stock=100, coupon_template_id=4, fallback_id=3),
    Prize(3, "50积分", PrizeKind.points, 300_000, points=50),
    Prize(4, "谢谢参与", PrizeKind.thanks, 600_000),
)


@pytest.mark.parametrize(
    ("ppm", "text"),
    [(5_000, "0.5%"), (95_000, "9.5%"), (300_000, "30%"), (1, "0.0001%"), (125_000, "12.5%")],
)
def test_odds_are_displayed_exactly_as_configured(ppm, text):
    assert odds_text(ppm) == text


def test_100000_draws_match_the_displayed_odds():
    # given draws with the same randomness the service uses
    counts = Counter(pick(PRIZES, secrets.randbelow(TOTAL_WEIGHT)).id for _ in range(100_000))
    # then a chi-square test against the configured odds does not reject them
    observed = [counts[p.id] for p in PRIZES]
    expected = [100_000 * p.weight_ppm / TOTAL_WEIGHT for p in PRIZES]
    assert sum(observed) == 100_000
    assert chisquare(observed, expected).pvalue > 0.001


def test_tickets_land_in_cumulative_ranges_in_table_order():
    assert [pick(PRIZES, t).id for t in (0, 4_999, 5_000, 99_999, 100_000, 399_999, 400_000)] == [
        1, 1, 2, 2, 3, 3, 4,
    ]  # fmt: skip
    with pytest.raises(ValueError):
        pick(PRIZES, TOTAL_WEIGHT)


def test_a_prize_without_stock_falls_back_along_its_chain_to_an_unlimited_one():
    by_id = {p.id: p for p in PRIZES}
    assert resolve_fallback(by_id, 2) == [3]  # configured fallback
    assert resolve_fallback(by_id, 1) == [3]  # default: the first unlimited prize


def test_weights_must_add_up_to_exactly_one_hundred_percent():
    short = (*PRIZES[:3], Prize(4, "谢谢参与", PrizeKind.thanks, 599_999))
    assert validate_prizes(PRIZES) == {}
    assert validate_prizes(short) == {"weights": "the odds add up to 99.9999%, not 100%"}


def test_a_fallback_cycle_or_chain_without_an_end_is_refused():
    looped = (
        Prize(1, "A", PrizeKind.goods, 500_000, stock=1, sku_id=1, fallback_id=2),
        Prize(2, "B", PrizeKind.goods, 500_000, stock=1, sku_id=2, fallback_id=1),
    )
    errors = validate_prizes(looped)
    assert errors["prize.1.fallback"] == "the fallbacks go round in a circle"


def test_prize_fields_are_checked_by_kind():
    bad = (
        Prize(1, "券", PrizeKind.coupon, 500_000),
        Prize(2, "积分", PrizeKind.points, 500_000),
    )
    assert validate_prizes(bad) == {"prize.1.coupon": "required", "prize.2.points": "> 0"}


@pytest.mark.parametrize(("today", "limit", "ok"), [(0, 3, True), (3, 3, False), (9, 0, True)])
def test_the_daily_limit(today, limit, ok):
    assert can_draw(today, limit) is ok
