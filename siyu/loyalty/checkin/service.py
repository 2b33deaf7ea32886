"""Check-in use cases: the store's rule (read, and an operator's validated change),
today's check-in, a make-up check-in and the shopper's status with the month calendar.

The unique (shopper, local date) key is what holds "once a day": a concurrent second
check-in fails on it inside a savepoint and is told "already checked in" (409); its
reward is keyed by the same date, so it could never be credited twice anyway."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.coupon import service as coupons
from siyu.coupon.models import CouponTemplate
from siyu.coupon.rules import IssueRefusal, IssueSource
from siyu.errors import Conflict, DomainError, InvalidInput
from siyu.identity.audit import record_audit
from siyu.loyalty import ledger
from siyu.loyalty.checkin import rules
from siyu.loyalty.checkin.models import Checkin, CheckinSettings
from siyu.loyalty.checkin.rules import CalendarDay, CheckinRefusal, CheckinRule, DayReward
from siyu.loyalty.ledger import Source
from siyu.loyalty.program import PointsProgram
from siyu.loyalty.rules import EntryKind, RewardEvent, expires_at
from siyu.loyalty.service import REWARD_REASONS

SETTINGS_ID = 1
_BAD_INPUT = {"makeup_not_past", "makeup_other_month"}


def _refused(refusal: CheckinRefusal) -> DomainError:
    kind = InvalidInput if refusal.code in _BAD_INPUT else Conflict
    return kind(refusal.code, f"{refusal.zh} / {refusal.en}")


def load_rule(session: Session) -> CheckinRule:
    row = session.get(CheckinSettings, SETTINGS_ID)
    if row is None:
        return CheckinRule()
    return CheckinRule(
        rewards=tuple(
            DayReward(
                points=int(r.get("points", 0)), coupon_template_id=r.get("coupon_template_id")
            )
            for r in row.rewards
        ),
        makeup_enabled=row.makeup_enabled,
        makeup_cost_points=row.makeup_cost_points,
        makeups_per_month=row.makeups_per_month,
    )


def save_rule(
    session: Session, rule: CheckinRule, now: datetime, *, actor_id: int | None = None
) -> CheckinRule:
    """Replace the store's rule; refused whole (422 with the fields) if any part is off.
    An operator's change (``actor_id``) is audited."""
    errors = rules.validate_rule(rule)
    for i, reward in enumerate(rule.rewards):
        template_id = reward.coupon_template_id
        if template_id is not None and session.get(CouponTemplate, template_id) is None:
            errors[f"rewards.{i}.coupon_template_id"] = "not found"
    if errors:
        raise InvalidInput(
            "bad_checkin_rule", "签到规则有误 / The check-in rule is not valid", errors
        )
    values = dict(
        rewards=[
            {"points": r.points, "coupon_template_id": r.coupon_template_id} for r in rule.rewards
        ],
        makeup_enabled=rule.makeup_enabled,
        makeup_cost_points=rule.makeup_cost_points,
        makeups_per_month=rule.makeups_per_month,
        updated_at=now,
    )
    row = session.get(CheckinSettings, SETTINGS_ID)
    if row is None:
        session.add(CheckinSettings(id=SETTINGS_ID, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.flush()
    if actor_id is not None:
        record_audit(
            session, operator_id=actor_id, action="checkin_rule.update",
            target_type="checkin_rule", target_id=SETTINGS_ID, before=None,
            after={"cycle_days": rule.cycle_days},
            now=now,
        )  # fmt: skip
    return load_rule(session)


def checked_dates(session: Session, shopper_id: int) -> list[date]:
    return list(session.scalars(select(Checkin.local_date).where(Checkin.shopper_id == shopper_id)))


def _key(shopper_id: int, day: date) -> str:
    return f"checkin:{shopper_id}:{day.isoformat()}"


@dataclass(frozen=True)
class CheckinResult:
    day: date
    streak: int
    cycle_day: int
    points: int
    coupon_id: int | None


def _grant_coupon(
    session: Session, template_id: int, shopper_id: int, key: str, now: datetime
) -> int | None:
    """The day's coupon, once per key; a template that cannot issue any more (sold
    out, ended) leaves the check-in with its points only."""
    template = session.get(CouponTemplate, template_id)
    if template is None:
        return None
    issued = coupons.issue(
        session, template, shopper_id, source=IssueSource.checkin, now=now, grant_key=key
    )
    return None if isinstance(issued, IssueRefusal) else issued.id


def check_in(
    session: Session, program: PointsProgram, *, shopper_id: int, now: datetime
) -> CheckinResult:
    """Today's (Asia/Shanghai) check-in and its reward; 409 if today is already taken."""
    rule = load_rule(session)
    try:
        outcome = rules.check_in(checked_dates(session, shopper_id), now, rule)
    except CheckinRefusal as refusal:
        raise _refused(refusal) from None
    row = Checkin(
        shopper_id=shopper_id,
        local_date=outcome.day,
        streak=outcome.streak,
        cycle_day=outcome.cycle_day,
        points=outcome.reward.points,
        created_at=now,
    )
    savepoint = session.begin_nested()
    try:
        session.add(row)
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        raise _refused(
            CheckinRefusal(
                "already_checked_in", "今天已经签到过了", "You have already checked in today"
            )
        ) from None
    savepoint.commit()
    key = _key(shopper_id, outcome.day)
    if outcome.reward.points > 0:
        ledger.credit(
            session,
            shopper_id=shopper_id,
            points=outcome.reward.points,
            kind=EntryKind.reward,
            key=key,
            expires_at=expires_at(now, program.rules(session).expiry),
            now=now,
            reason=REWARD_REASONS[RewardEvent.checkin],
            source=Source("checkin", outcome.day.isoformat()),
        )
    if outcome.reward.coupon_template_id is not None:
        row.coupon_id = _grant_coupon(
            session, outcome.reward.coupon_template_id, shopper_id, key, now
        )
        session.flush()
    return CheckinResult(
        outcome.day, outcome.streak, outcome.cycle_day, outcome.reward.points, row.coupon_id
    )


def _makeups_in_month(session: Session, shopper_id: int, today: date) -> int:
    first = today.replace(day=1)
    return int(
        session.scalar(
            select(func.count()).where(
                Checkin.shopper_id == shopper_id,
                Checkin.is_makeup.is_(True),
                Checkin.local_date >= first,
                Checkin.local_date <= today,
            )
        )
        or 0
    )


def make_up(session: Session, *, shopper_id: int, day: date, now: datetime) -> date:
    """Fill a missed date of this month for the rule's cost (no reward of its own)."""
    rule = load_rule(session)
    today = rules.local_date(now)
    try:
        # A cheap early answer; the authoritative check comes after the debit below.
        rules.check_makeup(
            checked_dates(session, shopper_id), day, now, rule,
            _makeups_in_month(session, shopper_id, today),
        )  # fmt: skip
        if rule.makeup_cost_points > 0:
            # The debit's guarded update holds the shopper's balance row until commit,
            # so two make-ups of one shopper queue here and the re-check below sees the
            # other's row: the monthly limit holds under concurrency.
            ledger.debit(
                session,
                shopper_id=shopper_id,
                points=rule.makeup_cost_points,
                kind=EntryKind.checkin_makeup,
                key=f"checkin-makeup:{shopper_id}:{day.isoformat()}",
                now=now,
                reason="补签 / Make-up check-in",
                source=Source("checkin", day.isoformat()),
            )
        rules.check_makeup(
            checked_dates(session, shopper_id), day, now, rule,
            _makeups_in_month(session, shopper_id, today),
        )  # fmt: skip
    except CheckinRefusal as refusal:
        raise _refused(refusal) from None
    savepoint = session.begin_nested()
    try:
        session.add(
            Checkin(
                shopper_id=shopper_id, local_date=day, is_makeup=True, streak=0, cycle_day=0,
                points=0, created_at=now,
            )
        )  # fmt: skip
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        raise _refused(
            CheckinRefusal(
                "makeup_already_checked", "该日期已签到", "That date is already checked in"
            )
        ) from None
    savepoint.commit()
    return day


@dataclass(frozen=True)
class CheckinStatus:
    today: date
    checked_today: bool
    streak: int  # the running streak (ending today, or yesterday if today is still open)
    next_reward: DayReward  # what the next check-in gives
    next_cycle_day: int
    makeup_enabled: bool
    makeups_left: int
    calendar: tuple[CalendarDay, ...]
    makeup_cost_points: int = 0  # what one make-up costs (when make-up is on)


def status_of(
    dates: Iterable[date], now: datetime, rule: CheckinRule, makeups: int
) -> CheckinStatus:
    checked = set(dates)
    today = rules.local_date(now)
    done = today in checked
    streak = rules.streak_ending(checked, today if done else today - timedelta(days=1))
    return CheckinStatus(
        today=today,
        checked_today=done,
        streak=streak,
        next_reward=rules.reward_for(streak + 1, rule),
        next_cycle_day=rules.cycle_day(streak + 1, rule),
        makeup_enabled=rule.makeup_enabled,
        makeups_left=max(rule.makeups_per_month - makeups, 0) if rule.makeup_enabled else 0,
        calendar=tuple(rules.month_calendar(checked, now, rule, makeups)),
        makeup_cost_points=rule.makeup_cost_points,
    )


def checkin_status(session: Session, *, shopper_id: int, now: datetime) -> CheckinStatus:
    today = rules.local_date(now)
    return status_of(
        checked_dates(session, shopper_id),
        now,
        load_rule(session),
        _makeups_in_month(session, shopper_id, today),
    )
