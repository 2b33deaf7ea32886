"""Check-in (签到) rules.

- A shopper checks in at most once per **local date** in Asia/Shanghai: 23:59 and
  00:01 Beijing time are two days even though they are two minutes apart, and 15:59
  and 16:01 UTC are two days too. The date, not the instant, is what is unique.
- The **streak** is the number of consecutive local dates checked in, ending on the
  date checked in. A missed day starts the streak over at 1.
- Rewards follow a **cycle** (连续7天签到领积分 by default): day 1–6 of the cycle give
  the everyday reward, day 7 the big one; day 8 is day 1 of the next cycle while the
  streak keeps counting (8, 9, …), so the calendar shows how long the habit is.
- **Make-up check-in** (补签) is off by default. When the store switches it on, a shopper
  may fill a missed date of the current month, up to a number of times per month, for
  a cost in points; a make-up earns no reward of its own (the cost would then buy
  points) but it joins the dates on either side into one streak, so the next day's
  check-in may reach a bigger cycle day.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from siyu.clock import SHANGHAI


@dataclass(frozen=True)
class DayReward:
    """What a cycle day gives: points, and optionally a coupon template."""

    points: int = 0
    coupon_template_id: int | None = None


@dataclass(frozen=True)
class CheckinRule:
    # rewards[i] is cycle day i + 1; the cycle length is len(rewards)
    rewards: tuple[DayReward, ...] = field(
        default_factory=lambda: (*(DayReward(points=5) for _ in range(6)), DayReward(points=50))
    )
    makeup_enabled: bool = False
    makeup_cost_points: int = 20
    makeups_per_month: int = 2

    @property
    def cycle_days(self) -> int:
        return len(self.rewards)


class CheckinRefusal(Exception):
    """Why a check-in or make-up cannot happen; ``code`` is stable, the texts are shown."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(code)
        self.code, self.zh, self.en = code, zh, en


def local_date(now: datetime) -> date:
    """The shopper's calendar date: Beijing time, whatever the server's zone."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(SHANGHAI).date()


def streak_ending(dates: Iterable[date], day: date) -> int:
    """Consecutive checked-in dates ending on ``day`` (0 if ``day`` itself is not one)."""
    checked = set(dates)
    streak = 0
    while day - timedelta(days=streak) in checked:
        streak += 1
    return streak


def cycle_day(streak: int, rule: CheckinRule) -> int:
    """Which day of the reward cycle a streak of ``streak`` days lands on (1-based)."""
    if streak < 1:
        raise ValueError("a streak is at least one day")
    return (streak - 1) % rule.cycle_days + 1


def reward_for(streak: int, rule: CheckinRule) -> DayReward:
    return rule.rewards[cycle_day(streak, rule) - 1]


@dataclass(frozen=True)
class CheckinOutcome:
    day: date
    streak: int
    cycle_day: int
    reward: DayReward


def check_in(dates: Iterable[date], now: datetime, rule: CheckinRule) -> CheckinOutcome:
    """Today's check-in given the dates already checked in; refused if today is taken.
    The database's unique (shopper, date) key is what makes a race impossible; this
    answers the shopper who simply tapped twice."""
    checked = set(dates)
    today = local_date(now)
    if today in checked:
        raise CheckinRefusal(
            "already_checked_in", "今天已经签到过了", "You have already checked in today"
        )
    streak = streak_ending(checked | {today}, today)
    return CheckinOutcome(today, streak, cycle_day(streak, rule), reward_for(streak, rule))


def check_makeup(
    dates: Iterable[date], missed: date, now: datetime, rule: CheckinRule, makeups_this_month: int
) -> None:
    """Refuse a make-up of ``missed`` unless the rule allows it now."""
    today = local_date(now)
    if not rule.makeup_enabled:
        raise CheckinRefusal("makeup_disabled", "本店未开启补签", "Make-up check-in is not offered")
    if missed >= today:
        raise CheckinRefusal(
            "makeup_not_past", "只能补签今天之前的日期", "Only a past date can be made up"
        )
    if (missed.year, missed.month) != (today.year, today.month):
        raise CheckinRefusal(
            "makeup_other_month", "只能补签本月的日期", "Only a date of this month can be made up"
        )
    if missed in set(dates):
        raise CheckinRefusal(
            "makeup_already_checked", "该日期已签到", "That date is already checked in"
        )
    if makeups_this_month >= rule.makeups_per_month:
        raise CheckinRefusal(
            "makeup_limit",
            f"本月补签次数已用完（{rule.makeups_per_month} 次）",
            f"No make-ups left this month ({rule.makeups_per_month} a month)",
        )


@dataclass(frozen=True)
class CalendarDay:
    day: date
    checked: bool
    is_today: bool
    can_make_up: bool


def month_calendar(
    dates: Iterable[date], now: datetime, rule: CheckinRule, makeups_this_month: int
) -> list[CalendarDay]:
    """The days of the current local month, for the 签到日历."""
    checked = set(dates)
    today = local_date(now)
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    out = []
    for n in range(1, days_in_month + 1):
        day = today.replace(day=n)
        try:
            check_makeup(checked, day, now, rule, makeups_this_month)
            can = True
        except CheckinRefusal:
            can = False
        out.append(CalendarDay(day, day in checked, day == today, can))
    return out


def validate_rule(rule: CheckinRule) -> dict[str, str]:
    """Field errors of an operator's rule ({} when it is fine)."""
    errors: dict[str, str] = {}
    if not 1 <= rule.cycle_days <= 31:
        errors["rewards"] = "1–31 cycle days"
    for i, reward in enumerate(rule.rewards):
        if not 0 <= reward.points <= 100_000:
            errors[f"rewards.{i}.points"] = "0–100000"
        if reward.points == 0 and reward.coupon_template_id is None:
            errors[f"rewards.{i}"] = "a day gives points or a coupon"
    if not 0 <= rule.makeup_cost_points <= 100_000:
        errors["makeup_cost_points"] = "0–100000"
    if not 0 <= rule.makeups_per_month <= 31:
        errors["makeups_per_month"] = "0–31"
    return errors
