"""Check-in rules: local dates, streaks, the reward cycle, make-ups."""

from datetime import UTC, date, datetime

import pytest

from siyu.loyalty.checkin.rules import (
    CheckinRefusal,
    CheckinRule,
    DayReward,
    check_in,
    check_makeup,
    cycle_day,
    local_date,
    month_calendar,
    streak_ending,
    validate_rule,
)

RULE = CheckinRule()


def test_the_local_date_turns_at_beijing_midnight_not_utc_midnight():
    assert local_date(datetime(2026, 12, 14, 15, 59, 59, tzinfo=UTC)) == date(2026, 12, 14)
    assert local_date(datetime(2026, 12, 14, 16, 0, 0, tzinfo=UTC)) == date(2026, 12, 15)


def test_two_check_ins_across_utc_midnight_but_one_beijing_day_are_one_day():
    # given a check-in at 08:30 Beijing time (00:30 UTC on the same day)
    first = check_in([], datetime(2026, 12, 15, 0, 30, tzinfo=UTC), RULE)
    # when the shopper taps again at 23:30 Beijing time (15:30 UTC)
    with pytest.raises(CheckinRefusal) as refused:
        check_in([first.day], datetime(2026, 12, 15, 15, 30, tzinfo=UTC), RULE)
    # then it is the same local date
    assert refused.value.code == "already_checked_in"


def test_a_check_in_at_16_00_utc_counts_for_the_next_beijing_day():
    first = check_in([], datetime(2026, 12, 14, 15, 59, 59, tzinfo=UTC), RULE)
    second = check_in([first.day], datetime(2026, 12, 14, 16, 0, 0, tzinfo=UTC), RULE)
    assert (first.day, second.day, second.streak) == (date(2026, 12, 14), date(2026, 12, 15), 2)


def test_the_streak_counts_consecutive_days_and_a_missed_day_starts_over():
    days = [date(2026, 12, d) for d in (1, 2, 3, 5, 6)]
    assert streak_ending(days, date(2026, 12, 3)) == 3
    assert streak_ending(days, date(2026, 12, 6)) == 2
    assert streak_ending(days, date(2026, 12, 4)) == 0


@pytest.mark.parametrize(
    ("streak", "day", "points"), [(1, 1, 5), (6, 6, 5), (7, 7, 50), (8, 1, 5), (14, 7, 50)]
)
def test_rewards_follow_a_seven_day_cycle_while_the_streak_keeps_counting(streak, day, points):
    assert cycle_day(streak, RULE) == day
    assert RULE.rewards[day - 1].points == points


def test_the_seventh_consecutive_day_gives_the_big_reward():
    days = [date(2026, 12, d) for d in range(1, 7)]
    outcome = check_in(days, datetime(2026, 12, 7, 2, tzinfo=UTC), RULE)
    assert (outcome.streak, outcome.cycle_day, outcome.reward) == (7, 7, DayReward(points=50))


def test_after_a_missed_day_the_check_in_is_day_one_again():
    days = [date(2026, 12, d) for d in range(1, 6)]
    outcome = check_in(days, datetime(2026, 12, 7, 2, tzinfo=UTC), RULE)
    assert (outcome.streak, outcome.reward.points) == (1, 5)


def test_make_up_is_off_by_default():
    with pytest.raises(CheckinRefusal) as refused:
        check_makeup([], date(2026, 12, 3), datetime(2026, 12, 7, tzinfo=UTC), RULE, 0)
    assert refused.value.code == "makeup_disabled"


@pytest.mark.parametrize(
    ("missed", "used", "code"),
    [
        (date(2026, 12, 7), 0, "makeup_not_past"),
        (date(2026, 11, 30), 0, "makeup_other_month"),
        (date(2026, 12, 2), 0, "makeup_already_checked"),
        (date(2026, 12, 3), 2, "makeup_limit"),
    ],
)
def test_make_up_refusals(missed, used, code):
    rule = CheckinRule(makeup_enabled=True)
    with pytest.raises(CheckinRefusal) as refused:
        check_makeup([date(2026, 12, 2)], missed, datetime(2026, 12, 7, 2, tzinfo=UTC), rule, used)
    assert refused.value.code == code


def test_a_make_up_joins_the_streak_so_the_next_day_reaches_day_seven():
    rule = CheckinRule(makeup_enabled=True)
    days = [date(2026, 12, d) for d in (1, 2, 4, 5, 6)]
    check_makeup(days, date(2026, 12, 3), datetime(2026, 12, 7, 2, tzinfo=UTC), rule, 0)
    outcome = check_in([*days, date(2026, 12, 3)], datetime(2026, 12, 7, 2, tzinfo=UTC), rule)
    assert (outcome.streak, outcome.reward.points) == (7, 50)


def test_the_month_calendar_marks_checked_days_today_and_make_up_candidates():
    rule = CheckinRule(makeup_enabled=True)
    cal = month_calendar([date(2026, 2, 2)], datetime(2026, 2, 4, 2, tzinfo=UTC), rule, 0)
    assert len(cal) == 28
    assert [d.day.day for d in cal if d.checked] == [2]
    assert [d.day.day for d in cal if d.is_today] == [4]
    assert [d.day.day for d in cal if d.can_make_up] == [1, 3]


def test_an_operator_rule_is_validated():
    assert validate_rule(RULE) == {}
    bad = CheckinRule(rewards=(DayReward(points=0),), makeups_per_month=40)
    assert validate_rule(bad) == {
        "rewards.0": "a day gives points or a coupon",
        "makeups_per_month": "0–31",
    }
