"""The tiers' scheduled work, as durable timers (one per local day, member day or
year; ``(kind, key)`` makes each one fire once): birthday gifts, member-day
reminders, the yearly review. ``schedule_jobs`` (called by the worker) keeps the
next ones scheduled."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import extract, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.coupon.models import CouponTemplate
from siyu.coupon.rules import IssueRefusal, IssueSource
from siyu.coupon.service import issue
from siyu.errors import Conflict
from siyu.identity.models import Shopper
from siyu.loyalty.tiers.models import BirthdayGift, Member
from siyu.loyalty.tiers.program import load_program
from siyu.loyalty.tiers.rules import (
    day_start,
    is_birthday,
    is_member_day,
    local_date,
    next_member_day,
    next_review_at,
    reviewed_level,
)
from siyu.loyalty.tiers.service import change_level, member_level, window_growth
from siyu.outbox import append_event
from siyu.timers import TimerRunner, schedule_timer

BIRTHDAY_TIMER = "loyalty.birthdays"
MEMBER_DAY_TIMER = "loyalty.member_day_reminder"
REVIEW_TIMER = "loyalty.tier_review"
BIRTHDAY_POINTS = "loyalty.birthday_points"
MEMBER_DAY_REMINDER = "loyalty.member_day_reminder"
REMIND_AT = timedelta(hours=10)  # 10:00 local on the member day


def schedule_jobs(session: Session, now: datetime) -> None:
    """Today's birthday run, the coming member day's reminder, the next review."""
    today = local_date(now)
    schedule_timer(
        session, BIRTHDAY_TIMER, today.isoformat(), due_at=day_start(today),
        payload={"date": today.isoformat()}, now=now,
    )  # fmt: skip
    rule = load_program(session).member_day
    days = [today] if is_member_day(rule, now) else []
    nxt = next_member_day(rule, now)
    if nxt is not None:
        days.append(local_date(nxt))
    for day in days:
        schedule_timer(
            session, MEMBER_DAY_TIMER, day.isoformat(), due_at=day_start(day) + REMIND_AT,
            payload={"date": day.isoformat()}, now=now,
        )  # fmt: skip
    review_at = next_review_at(now)
    schedule_timer(
        session, REVIEW_TIMER, str(local_date(review_at).year), due_at=review_at,
        payload={"year": local_date(review_at).year}, now=now,
    )  # fmt: skip


def set_birthday(session: Session, shopper_id: int, birthday: date) -> None:
    """A shopper sets their birthday once (a second change would farm gifts)."""
    shopper = session.get(Shopper, shopper_id, with_for_update=True)
    if shopper is None or shopper.birthday is not None:
        raise Conflict("birthday_already_set", "生日只能设置一次 / The birthday can be set once")
    shopper.birthday = birthday


def grant_birthday_gift(session: Session, shopper_id: int, now: datetime) -> BirthdayGift | None:
    """The tier's birthday gift, once per shopper per local year: a coupon through the
    coupon service, points as an outbox event for the ledger."""
    shopper = session.get(Shopper, shopper_id)
    if shopper is None or shopper.birthday is None or not is_birthday(shopper.birthday, now):
        return None
    year = local_date(now).year
    level, _ = member_level(session, shopper_id)
    tier = load_program(session).tier(level)
    if tier.birthday_coupon_template_id is None and tier.birthday_points <= 0:
        return None
    savepoint = session.begin_nested()
    try:
        gift = BirthdayGift(
            shopper_id=shopper_id, year=year, level=level, points=tier.birthday_points,
            granted_at=now,
        )  # fmt: skip
        session.add(gift)
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        return None
    savepoint.commit()
    if tier.birthday_coupon_template_id is not None:
        template = session.get(CouponTemplate, tier.birthday_coupon_template_id)
        if template is not None:
            coupon = issue(
                session, template, shopper_id, source=IssueSource.gift_birthday, now=now,
                grant_key=f"birthday:{year}:{shopper_id}", is_new=False,
            )  # fmt: skip
            if not isinstance(coupon, IssueRefusal):
                gift.coupon_id = coupon.id
    if tier.birthday_points > 0:
        append_event(
            session,
            BIRTHDAY_POINTS,
            aggregate_type="shopper",
            aggregate_id=shopper_id,
            payload={
                "shopper_id": shopper_id,
                "points": tier.birthday_points,
                "year": year,
                "level": level,
                "idempotency_key": f"birthday:{year}:{shopper_id}",
            },
            now=now,
        )
    return gift


def run_birthdays(session: Session, payload: dict[str, Any], now: datetime) -> None:
    today = local_date(now)
    days = [today.day]
    if today.month == 2 and today.day == 28:
        days.append(29)  # kept on the 28th outside leap years; is_birthday decides
    ids = session.scalars(
        select(Shopper.id).where(
            Shopper.birthday.is_not(None),
            extract("month", Shopper.birthday) == today.month,
            or_(*[extract("day", Shopper.birthday) == d for d in days]),
        )
    ).all()
    for shopper_id in ids:
        grant_birthday_gift(session, shopper_id, now)


def remind_member_day(session: Session, payload: dict[str, Any], now: datetime) -> None:
    """Record the intent: the messaging channel sends it when it arrives."""
    rule = load_program(session).member_day
    append_event(
        session,
        MEMBER_DAY_REMINDER,
        aggregate_type="member_day",
        aggregate_id=str(payload["date"]),
        payload={
            "date": payload["date"],
            "points_multiplier_percent": rule.points_multiplier_percent,
            "free_shipping": rule.free_shipping,
        },
        now=now,
    )


def review_tiers(session: Session, payload: dict[str, Any], now: datetime) -> int:
    """The yearly review: each member's window growth decides, with the grace rule.
    Returns how many changed level."""
    program = load_program(session)
    changed = 0
    for member in session.scalars(select(Member).order_by(Member.shopper_id)).all():
        growth = window_growth(session, member.shopper_id, now, program.review.window_days)
        new = reviewed_level(program.tiers, member.level, growth, program.review.max_drop)
        if new != member.level and change_level(
            session, member.shopper_id, old=member.level, new=new, reason="review",
            growth=growth, program=program, now=now,
        ):  # fmt: skip
            changed += 1
        member.reviewed_at = now
    return changed


def _review(session: Session, payload: dict[str, Any], now: datetime) -> None:
    review_tiers(session, payload, now)


def register_timers(timers: TimerRunner) -> None:
    timers.register(BIRTHDAY_TIMER, run_birthdays)
    timers.register(MEMBER_DAY_TIMER, remind_member_day)
    timers.register(REVIEW_TIMER, _review)
