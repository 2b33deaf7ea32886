"""Points rules: earning on what was paid, multipliers, per-line splits, refund
shares, year-end expiry in Asia/Shanghai and first-expiring-first spending."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.loyalty.rules import (
    EarningRule,
    ExpiryRule,
    combined_multiplier,
    earned_points,
    expires_at,
    is_soon_to_expire,
    share_back,
    split_points,
    take_fifo,
)


@pytest.mark.parametrize(
    ("paid_fen", "per_yuan", "multiplier", "points"),
    [
        (9998, 1, 100, 99),  # ¥99.98 → 99 points, rounded down
        (9999, 1, 200, 199),  # member day ×2 on ¥99.99
        (100, 1, 100, 1),
        (99, 1, 100, 0),  # less than a yuan earns nothing
        (10000, 2, 150, 300),
        (0, 1, 100, 0),
        (10000, 0, 100, 0),  # earning switched off
    ],
)
def test_points_are_earned_per_yuan_paid_times_the_multiplier(
    paid_fen: int, per_yuan: int, multiplier: int, points: int
) -> None:
    assert earned_points(paid_fen, EarningRule(per_yuan), multiplier) == points


def test_multipliers_multiply_and_none_means_one() -> None:
    assert combined_multiplier([]) == 100
    assert combined_multiplier([150, 200]) == 300
    assert combined_multiplier([120]) == 120


def test_earned_points_split_over_lines_by_what_each_paid() -> None:
    assert split_points(99, [8332, 1666]) == [83, 16]
    assert split_points(5, [0, 0]) == [0, 0]


@pytest.mark.parametrize(
    ("total", "part", "whole", "back"),
    [
        (83, 2777, 8332, 27),  # a third of the fen: rounded down
        (83, 5554, 8332, 55),
        (83, 8332, 8332, 83),  # all of it once all is refunded
        (1667, 1, 3, 555),
        (1667, 3, 3, 1667),
        (10, 0, 3, 0),
        (0, 5, 5, 0),
    ],
)
def test_a_refund_takes_back_its_share(total: int, part: int, whole: int, back: int) -> None:
    assert share_back(total, part, whole) == back


@given(total=st.integers(0, 10_000), whole=st.integers(1, 10_000), data=st.data())
def test_shares_grow_with_the_refund_and_never_pass_the_total(
    total: int, whole: int, data: st.DataObject
) -> None:
    a = data.draw(st.integers(0, whole))
    b = data.draw(st.integers(a, whole))
    assert 0 <= share_back(total, a, whole) <= share_back(total, b, whole) <= total
    assert share_back(total, whole, whole) == total


@pytest.mark.parametrize(
    ("earned_at", "rule", "expires"),
    [
        # 2026-12-31 23:59:59 in Shanghai is still 2026: expires at the end of 2027
        (datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC), ExpiryRule(1), datetime(2027, 12, 31, 16, 0, tzinfo=UTC)),
        # one second later it is 2027 in Shanghai: the end of 2028
        (datetime(2026, 12, 31, 16, 0, 0, tzinfo=UTC), ExpiryRule(1), datetime(2028, 12, 31, 16, 0, tzinfo=UTC)),
        (datetime(2026, 6, 1, tzinfo=UTC), ExpiryRule(0), datetime(2026, 12, 31, 16, 0, tzinfo=UTC)),
        (datetime(2026, 6, 1, tzinfo=UTC), ExpiryRule(None), None),
    ],
)  # fmt: skip
def test_points_expire_at_the_end_of_the_year_after_in_shanghai(
    earned_at: datetime, rule: ExpiryRule, expires: datetime | None
) -> None:
    assert expires_at(earned_at, rule) == expires


def test_soon_to_expire_means_within_thirty_days() -> None:
    now = datetime(2027, 12, 1, 16, 0, tzinfo=UTC)
    assert is_soon_to_expire(datetime(2027, 12, 31, 16, 0, tzinfo=UTC), now)
    assert not is_soon_to_expire(datetime(2028, 1, 1, 16, 0, tzinfo=UTC), now)
    assert not is_soon_to_expire(now, now)
    assert not is_soon_to_expire(None, now)


def test_spending_takes_the_first_expiring_lots_first() -> None:
    assert take_fifo([(1, 30), (2, 50), (3, 100)], 60) == [(1, 30), (2, 30)]
    assert take_fifo([(1, 0), (2, 50)], 50) == [(2, 50)]
    with pytest.raises(ValueError, match="lots hold 80 points, 81 wanted"):
        take_fifo([(1, 30), (2, 50)], 81)
