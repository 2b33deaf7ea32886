"""Points use cases outside the order lifecycle: what a shopper has (balance, pending,
soon to expire, history), an operator's audited adjustment, and event rewards that
any caller can grant once (sign-up, first order, review, check-in)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu import versions
from siyu.errors import InvalidInput, NotFound
from siyu.identity.audit import record_audit
from siyu.identity.models import Shopper
from siyu.loyalty import ledger
from siyu.loyalty.ledger import Source
from siyu.loyalty.models import (
    PointsBalance,
    PointsEntry,
    PointsLot,
    PointsOrderLine,
    PointsRules,
)
from siyu.loyalty.program import RULES_ID, PointsProgram, RuleSet
from siyu.loyalty.rules import SOON_DAYS, EntryKind, RewardEvent, expires_at
from siyu.order.models import Order

MAX_ADJUSTMENT = 1_000_000
# The bounds of the store's points rules (the same as the settings' own).
MAX_EARN_PER_YUAN = 1000
MAX_EXPIRY_YEARS = 10
MAX_SIGNUP_REWARD = 100_000


@dataclass(frozen=True)
class ExpiringLot:
    points: int
    expires_at: datetime


@dataclass(frozen=True)
class PointsSummary:
    shopper_id: int
    available: int  # spendable now
    pending: int  # earned on orders still inside their after-sales window
    expiring_soon: int  # of available, expiring within SOON_DAYS
    expiring: tuple[ExpiringLot, ...]


def points_summary(session: Session, shopper_id: int, now: datetime) -> PointsSummary:
    balance = session.get(PointsBalance, shopper_id)
    lots = session.execute(
        select(PointsLot.expires_at, func.sum(PointsLot.remaining))
        .where(
            PointsLot.shopper_id == shopper_id,
            PointsLot.remaining > 0,
            PointsLot.expires_at > now,
            PointsLot.expires_at <= now + timedelta(days=SOON_DAYS),
        )
        .group_by(PointsLot.expires_at)
        .order_by(PointsLot.expires_at)
    ).all()
    expiring = tuple(ExpiringLot(int(n), at) for at, n in lots if n and at is not None)
    return PointsSummary(
        shopper_id=shopper_id,
        available=ledger.spendable(session, shopper_id, now),
        pending=balance.pending if balance else 0,
        expiring_soon=sum(e.points for e in expiring),
        expiring=expiring,
    )


@dataclass(frozen=True)
class Holder:
    shopper_id: int
    available: int
    pending: int


def recent_holders(session: Session, *, limit: int = 20) -> list[Holder]:
    """The shoppers whose points moved last, newest first: an operator's starting list."""
    rows = session.execute(
        select(PointsBalance.shopper_id, PointsBalance.available, PointsBalance.pending)
        .order_by(PointsBalance.updated_at.desc(), PointsBalance.shopper_id.desc())
        .limit(min(max(limit, 1), 100))
    )
    return [Holder(int(s), int(a), int(p)) for s, a, p in rows]


def balances_of(session: Session, shopper_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(available, pending) of each shopper who has a balance."""
    if not shopper_ids:
        return {}
    rows = session.execute(
        select(PointsBalance.shopper_id, PointsBalance.available, PointsBalance.pending).where(
            PointsBalance.shopper_id.in_(shopper_ids)
        )
    )
    return {int(s): (int(a), int(p)) for s, a, p in rows}


def require_shopper(session: Session, shopper_id: int) -> None:
    """An operator asking about a shopper who does not exist gets 404, not an empty
    ledger."""
    if session.get(Shopper, shopper_id) is None:
        raise NotFound("shopper_not_found", "用户不存在 / Shopper not found")


def points_history(
    session: Session, shopper_id: int, *, limit: int = 20, before_id: int | None = None
) -> list[PointsEntry]:
    """Entries newest first; page on with ``before_id`` = the last id seen."""
    stmt = select(PointsEntry).where(PointsEntry.shopper_id == shopper_id)
    if before_id is not None:
        stmt = stmt.where(PointsEntry.id < before_id)
    return list(
        session.scalars(stmt.order_by(PointsEntry.id.desc()).limit(min(max(limit, 1), 100)))
    )


@dataclass(frozen=True)
class OrderPoints:
    order_id: int
    earned: int  # what the order earns now (earned less refunds)
    credited: bool  # the order settled: those points are spendable
    spent: int  # points that paid part of the order, less those given back


def order_points(session: Session, shopper_id: int, order_id: int) -> OrderPoints:
    """What one of the shopper's orders earns and spent (another's is not found)."""
    order = session.get(Order, order_id)
    if order is None or order.shopper_id != shopper_id:
        raise NotFound("order_not_found", "订单不存在 / Order not found")
    rows = list(
        session.scalars(select(PointsOrderLine).where(PointsOrderLine.order_id == order_id))
    )
    return OrderPoints(
        order_id=order_id,
        earned=sum(r.earned - r.earn_reversed for r in rows),
        credited=order.settled_at is not None,
        spent=sum(r.spent - r.spent_returned for r in rows),
    )


def adjust_points(
    session: Session,
    program: PointsProgram,
    *,
    operator_id: int,
    shopper_id: int,
    delta: int,
    reason: str,
    key: str,
    now: datetime,
) -> PointsEntry | None:
    """An operator adds (a new lot, expiring by the program's rule) or removes points
    (never below zero), with a reason, audited. A repeated ``key`` changes nothing and
    returns None."""
    require_shopper(session, shopper_id)
    if delta == 0 or abs(delta) > MAX_ADJUSTMENT:
        raise InvalidInput(
            "bad_points",
            f"调整积分需为非零且不超过 {MAX_ADJUSTMENT} / The change must be non-zero and at "
            f"most {MAX_ADJUSTMENT}",
            {"delta": "out_of_range"},
        )
    if not reason.strip():
        raise InvalidInput(
            "reason_required", "请填写调整原因 / Give a reason", {"reason": "required"}
        )
    before = ledger.spendable(session, shopper_id, now)
    common = dict(
        shopper_id=shopper_id, kind=EntryKind.adjust, key=f"adjust:{key}", now=now,
        reason=reason.strip(), source=Source("operator", str(operator_id)),
        operator_id=operator_id,
    )  # fmt: skip
    if delta > 0:
        entry_id = ledger.credit(
            session,
            points=delta,
            expires_at=expires_at(now, program.rules(session).expiry),
            **common,  # type: ignore[arg-type]
        )
    else:
        entry_id = ledger.debit(session, points=-delta, **common)  # type: ignore[arg-type]
    if entry_id is None:
        return None
    record_audit(
        session,
        operator_id=operator_id,
        action="points.adjust",
        target_type="shopper",
        target_id=shopper_id,
        before={"points": before},
        after={"points": before + delta, "delta": delta, "reason": reason.strip()},
        now=now,
    )
    return session.get(PointsEntry, entry_id)


def grant_reward(
    session: Session,
    program: PointsProgram,
    *,
    shopper_id: int,
    event: RewardEvent,
    points: int,
    ref: str,
    now: datetime,
) -> int | None:
    """Credit an event reward once per (shopper, event, ref): sign-up and first order
    use ref "" (once ever), a review its review id, a check-in its local date. The entry
    id, or None when it was granted before (or ``points`` is 0)."""
    if points <= 0:
        return None
    return ledger.credit(
        session,
        shopper_id=shopper_id,
        points=points,
        kind=EntryKind.reward,
        key=f"reward:{event.value}:{shopper_id}:{ref}",
        expires_at=expires_at(now, program.rules(session).expiry),
        now=now,
        reason=REWARD_REASONS[event],
        source=Source("reward", event.value),
    )


REWARD_REASONS = {
    RewardEvent.signup: "注册奖励 / Sign-up reward",
    RewardEvent.first_order: "首单奖励 / First order reward",
    RewardEvent.review: "评价奖励 / Review reward",
    RewardEvent.checkin: "签到奖励 / Check-in reward",
    RewardEvent.birthday: "生日礼积分 / Birthday points",
}


# ---------------------------------------------------------------- the store's rules


def check_points_rules(
    earn_per_yuan: int, expiry_years: int | None, signup_reward: int
) -> dict[str, str]:
    """Field problems of a points rule set ({} when it can be saved)."""
    problems: dict[str, str] = {}
    if not 0 <= earn_per_yuan <= MAX_EARN_PER_YUAN:
        problems["earn_per_yuan"] = f"between 0 and {MAX_EARN_PER_YUAN}"
    if expiry_years is not None and not 0 <= expiry_years <= MAX_EXPIRY_YEARS:
        problems["expiry_years"] = f"between 0 and {MAX_EXPIRY_YEARS}, or never"
    if not 0 <= signup_reward <= MAX_SIGNUP_REWARD:
        problems["signup_reward"] = f"between 0 and {MAX_SIGNUP_REWARD}"
    return problems


def save_points_rules(
    session: Session,
    program: PointsProgram,
    *,
    actor_id: int,
    earn_per_yuan: int,
    expiry_years: int | None,
    signup_reward: int,
    now: datetime,
) -> RuleSet:
    """Store the rules (422 ``bad_points_rules`` with every problem, nothing written);
    they apply to points earned from now on, never to entries already made. Audited,
    and the content version moves so every process reads them at the next earning."""
    problems = check_points_rules(earn_per_yuan, expiry_years, signup_reward)
    if problems:
        raise InvalidInput(
            "bad_points_rules", "积分规则有误 / The points rules are not valid", problems
        )
    before = program.rules(session)
    row = session.get(PointsRules, RULES_ID)
    if row is None:
        row = PointsRules(id=RULES_ID)
        session.add(row)
    row.earn_per_yuan = earn_per_yuan
    row.expiry_years = expiry_years
    row.signup_reward = signup_reward
    row.updated_by = actor_id
    row.updated_at = now
    session.flush()
    versions.bump(session, versions.POINTS_RULES)
    record_audit(
        session,
        operator_id=actor_id,
        action="points_rules.update",
        target_type="points_rules",
        target_id=RULES_ID,
        before=_rules_snapshot(before),
        after={
            "earn_per_yuan": earn_per_yuan,
            "expiry_years": expiry_years,
            "signup_reward": signup_reward,
        },
        now=now,
    )
    return program.rules(session)


def _rules_snapshot(rules: RuleSet) -> dict[str, int | None]:
    return {
        "earn_per_yuan": rules.earning.points_per_yuan,
        "expiry_years": rules.expiry.years_after,
        "signup_reward": rules.signup_reward,
    }
