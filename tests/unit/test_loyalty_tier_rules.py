"""Member tier rules (siyu.loyalty.tiers.rules): tier for growth, upgrade, review with
grace, member day at the Asia/Shanghai midnight boundary, birthdays."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from siyu.loyalty.tiers.rules import (
    DEFAULT_TIERS,
    MemberDayRule,
    check_tiers,
    earning_multiplier,
    growth_for_fen,
    is_birthday,
    is_member_day,
    next_member_day,
    progress,
    reviewed_level,
    tier_for_growth,
    upgraded_level,
)

FIFTEENTH = MemberDayRule()


@pytest.mark.parametrize(
    ("growth", "level"),
    [
        (0, 0),
        (499, 0),
        (500, 1),
        (1999, 1),
        (2000, 2),
        (4999, 2),
        (5000, 3),
        (10000, 4),
        (10**9, 4),
    ],
)
def test_the_tier_is_the_highest_threshold_reached(growth: int, level: int) -> None:
    assert tier_for_growth(DEFAULT_TIERS, growth) == level


def test_growth_is_whole_yuan_of_the_kept_amount() -> None:
    assert [growth_for_fen(f) for f in (0, 99, 100, 11300, 5649, -5)] == [0, 0, 1, 113, 56, 0]


def test_an_upgrade_happens_only_upwards() -> None:
    assert upgraded_level(DEFAULT_TIERS, 0, 2000) == 2
    assert upgraded_level(DEFAULT_TIERS, 2, 2000) is None
    assert upgraded_level(DEFAULT_TIERS, 3, 600) is None  # never down outside the review


@pytest.mark.parametrize(
    ("current", "window", "max_drop", "expected"),
    [
        (4, 0, 1, 3),  # no growth at all: one level down, not four
        (4, 9999, 1, 3),
        (4, 10000, 1, 4),  # kept
        (3, 600, 1, 2),
        (3, 600, 2, 1),
        (3, 600, 0, 3),  # no downgrade at all
        (1, 0, 1, 0),
        (0, 0, 1, 0),
        (1, 5000, 1, 3),  # a table edited since: the window growth lifts as well
    ],
)
def test_the_yearly_review_drops_at_most_max_drop_levels(
    current: int, window: int, max_drop: int, expected: int
) -> None:
    assert reviewed_level(DEFAULT_TIERS, current, window, max_drop) == expected


def test_progress_to_the_next_tier() -> None:
    assert progress(DEFAULT_TIERS, 1, 1250) == (2, 750, 50)
    assert progress(DEFAULT_TIERS, 0, 0) == (1, 500, 0)
    assert progress(DEFAULT_TIERS, 4, 20000) == (None, 0, 100)


def test_multipliers_multiply() -> None:
    assert earning_multiplier(200, 200) == 400
    assert earning_multiplier(150, 100) == 150
    assert earning_multiplier(110, 200) == 220


def test_a_tier_table_with_thresholds_not_increasing_or_bad_rates_is_refused() -> None:
    assert check_tiers(DEFAULT_TIERS) == {}
    bad = list(DEFAULT_TIERS)
    bad[2] = replace(bad[2], threshold=500, discount_percent=0)
    bad[4] = replace(bad[4], discount_percent=101)
    assert check_tiers(bad) == {
        "tiers.2.threshold": "thresholds must strictly increase",
        "tiers.2.discount_percent": "between 1 and 100",
        "tiers.4.discount_percent": "between 1 and 100",
    }
    assert check_tiers(DEFAULT_TIERS[:4]) == {"tiers": "exactly 5 tiers"}


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        (datetime(2026, 12, 14, 15, 59, 59, tzinfo=UTC), False),  # 23:59:59 on the 14th
        (datetime(2026, 12, 14, 16, 0, 0, tzinfo=UTC), True),  # 00:00:00 on the 15th
        (datetime(2026, 12, 15, 15, 59, 59, tzinfo=UTC), True),  # 23:59:59 on the 15th
        (datetime(2026, 12, 15, 16, 0, 0, tzinfo=UTC), False),  # 00:00:00 on the 16th
    ],
)
def test_member_day_follows_shanghai_midnight(utc: datetime, expected: bool) -> None:
    assert is_member_day(FIFTEENTH, utc) is expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 23:59:59 on the 14th: the 15th starts in one second
        (datetime(2026, 12, 14, 15, 59, 59, tzinfo=UTC), datetime(2026, 12, 14, 16, tzinfo=UTC)),
        # on the 15th itself: the next one, a month on
        (datetime(2026, 12, 14, 16, 0, 0, tzinfo=UTC), datetime(2027, 1, 14, 16, tzinfo=UTC)),
        # across the year's end
        (datetime(2026, 12, 20, 4, tzinfo=UTC), datetime(2027, 1, 14, 16, tzinfo=UTC)),
    ],
)
def test_next_member_day(now: datetime, expected: datetime) -> None:
    assert next_member_day(FIFTEENTH, now) == expected


def test_a_31st_member_day_skips_the_months_without_one() -> None:
    rule = MemberDayRule(days_of_month=frozenset({31}))
    now = datetime(2027, 1, 31, 16, tzinfo=UTC)  # 1 February in Shanghai
    assert next_member_day(rule, now) == datetime(2027, 3, 30, 16, tzinfo=UTC)  # 31 March


def test_weekdays_and_days_of_month_combine() -> None:
    rule = MemberDayRule(days_of_month=frozenset({15}), weekdays=frozenset({6}))
    friday = datetime(2026, 12, 4, 16, 30, tzinfo=UTC)  # Saturday 5 Dec, 00:30 local
    assert is_member_day(rule, friday) is True
    assert next_member_day(rule, friday) == datetime(2026, 12, 11, 16, tzinfo=UTC)
    assert next_member_day(MemberDayRule(frozenset(), frozenset()), friday) is None


def test_birthdays_follow_shanghai_and_29_february_is_kept_on_the_28th() -> None:
    assert is_birthday(date(1990, 12, 15), datetime(2026, 12, 14, 16, tzinfo=UTC)) is True
    assert is_birthday(date(1990, 12, 15), datetime(2026, 12, 14, 15, 59, 59, tzinfo=UTC)) is False
    assert is_birthday(date(2000, 2, 29), datetime(2027, 2, 27, 16, tzinfo=UTC)) is True
    assert is_birthday(date(2000, 2, 29), datetime(2028, 2, 27, 16, tzinfo=UTC)) is False
