"""Member tier use cases: growth on payment and its reversal on refunds (order
lifecycle steps, same transaction), the upgrade at once, the shopper's benefits for
the pricing engine, the points multiplier for the ledger, the tier card."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.db import rowcount
from siyu.lifecycle import OrderLifecycle, OrderPaid, OrderRefunded
from siyu.loyalty.tiers.models import GrowthEntry, Member, TierChange
from siyu.loyalty.tiers.program import load_program, sku_prices_for
from siyu.loyalty.tiers.rules import (
    Program,
    TierRule,
    earning_multiplier,
    growth_for_fen,
    is_member_day,
    member_unit_price,
    next_member_day,
    progress,
    upgraded_level,
)
from siyu.order.models import OrderLine
from siyu.outbox import append_event
from siyu.pricing.info import MemberBenefits

TIER_CHANGED = "loyalty.tier_changed"


def member_level(session: Session, shopper_id: int) -> tuple[int, int]:
    """(level, growth total); (0, 0) before the first growth."""
    row = session.execute(
        select(Member.level, Member.growth).where(Member.shopper_id == shopper_id)
    ).first()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def _ensure_member(session: Session, shopper_id: int, now: datetime) -> None:
    if session.get(Member, shopper_id) is not None:
        return
    savepoint = session.begin_nested()
    try:
        session.add(Member(shopper_id=shopper_id, growth=0, level=0, level_since=now))
        session.flush()
    except IntegrityError:  # another transaction made it first
        savepoint.rollback()
        return
    savepoint.commit()


def _add_growth(
    session: Session,
    shopper_id: int,
    amount: int,
    *,
    reason: str,
    order_id: int | None,
    key: str,
    now: datetime,
) -> bool:
    """Append one growth entry and move the total by a guarded update, once per key."""
    if session.scalar(select(GrowthEntry.id).where(GrowthEntry.idempotency_key == key)):
        return False
    _ensure_member(session, shopper_id, now)
    session.add(
        GrowthEntry(
            shopper_id=shopper_id,
            amount=amount,
            reason=reason,
            order_id=order_id,
            idempotency_key=key,
            created_at=now,
        )
    )
    session.flush()  # the unique key refuses a second entry made concurrently
    moved = session.execute(
        update(Member)
        .where(Member.shopper_id == shopper_id, Member.growth + amount >= 0)
        .values(growth=Member.growth + amount)
        .execution_options(synchronize_session=False)
    )
    if rowcount(moved) != 1:
        raise RuntimeError(f"growth of shopper {shopper_id} would go below zero")
    return True


def window_growth(session: Session, shopper_id: int, now: datetime, days: int) -> int:
    """The growth of the last ``days`` days: what decides the tier."""
    total = session.scalar(
        select(func.coalesce(func.sum(GrowthEntry.amount), 0)).where(
            GrowthEntry.shopper_id == shopper_id,
            GrowthEntry.created_at > now - timedelta(days=days),
        )
    )
    return max(int(total or 0), 0)


def change_level(
    session: Session,
    shopper_id: int,
    *,
    old: int,
    new: int,
    reason: str,
    growth: int,
    program: Program,
    now: datetime,
) -> bool:
    """Move a shopper from ``old`` to ``new`` (conditional on ``old``), record it and
    tell the outside world (``loyalty.tier_changed``)."""
    moved = session.execute(
        update(Member)
        .where(Member.shopper_id == shopper_id, Member.level == old)
        .values(level=new, level_since=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(moved) != 1:
        return False
    session.add(
        TierChange(
            shopper_id=shopper_id,
            from_level=old,
            to_level=new,
            reason=reason,
            growth=growth,
            at=now,
        )
    )
    tier = program.tier(new)
    append_event(
        session,
        TIER_CHANGED,
        aggregate_type="shopper",
        aggregate_id=shopper_id,
        payload={
            "shopper_id": shopper_id,
            "from_level": old,
            "to_level": new,
            "name_zh": tier.name_zh,
            "name_en": tier.name_en,
            "reason": reason,
            "growth": growth,
        },
        now=now,
    )
    return True


def _upgrade(session: Session, shopper_id: int, now: datetime) -> None:
    program = load_program(session)
    level, _ = member_level(session, shopper_id)
    growth = window_growth(session, shopper_id, now, program.review.window_days)
    new = upgraded_level(program.tiers, level, growth)
    if new is not None:
        change_level(
            session, shopper_id, old=level, new=new, reason="upgrade", growth=growth,
            program=program, now=now,
        )  # fmt: skip


def earn_growth(session: Session, event: OrderPaid, now: datetime) -> None:
    """On payment: growth for what was paid for the goods, net of every discount
    (each line's payable is its shelf subtotal less its allocation rows; shipping
    does not count), then the upgrade if a threshold is crossed."""
    kept = sum(line.payable_fen for line in event.lines)
    amount = growth_for_fen(kept)
    if amount <= 0:
        return
    if _add_growth(
        session, event.shopper_id, amount, reason="order_paid", order_id=event.order_id,
        key=f"paid:{event.order_id}", now=now,
    ):  # fmt: skip
        _upgrade(session, event.shopper_id, now)


def reverse_growth(session: Session, event: OrderRefunded, now: datetime) -> None:
    """On a refund: the order now counts for the growth of what is still kept of its
    goods; the difference is taken back (never a downgrade at once)."""
    if not event.lines:
        return
    kept = session.scalar(
        select(func.coalesce(func.sum(OrderLine.payable_fen - OrderLine.refunded_fen), 0)).where(
            OrderLine.order_id == event.order_id
        )
    )
    counted = session.scalar(
        select(func.coalesce(func.sum(GrowthEntry.amount), 0)).where(
            GrowthEntry.order_id == event.order_id
        )
    )
    delta = growth_for_fen(int(kept or 0)) - int(counted or 0)
    if delta < 0:
        _add_growth(
            session, event.shopper_id, delta, reason="order_refunded", order_id=event.order_id,
            key=f"refund:{event.out_refund_no}", now=now,
        )  # fmt: skip


def register_steps(lifecycle: OrderLifecycle) -> None:
    """Nothing is granted before payment, so a cancelled order has nothing to undo."""
    lifecycle.on_paid("loyalty.earn_growth", earn_growth)
    lifecycle.on_refunded("loyalty.reverse_growth", reverse_growth)


# ---------------------------------------------------------------- benefits


def member_benefits(session: Session, shopper_id: int, now: datetime) -> MemberBenefits:
    """The signed-in shopper's tier benefits as the pricing engine applies them."""
    program = load_program(session)
    level, _ = member_level(session, shopper_id)
    tier = program.tier(level)
    own = tier.free_shipping_threshold_fen
    return MemberBenefits(
        level=tier.level,
        name_zh=tier.name_zh,
        name_en=tier.name_en,
        percent_off=tier.percent_off,
        sku_prices=sku_prices_for(program, tier.level),
        free_shipping_threshold_fen=own,
        member_day_free_shipping=program.member_day.free_shipping
        and is_member_day(program.member_day, now),
    )


def tier_prices(session: Session, prices: dict[int, int], shopper_id: int | None) -> dict[str, Any]:
    """A product page's member prices: per tier that saves anything (for "钻石会员价
    ¥X"), and the signed-in shopper's own (``mine``, None when not signed in)."""
    program = load_program(session)

    def of(tier: TierRule) -> dict[str, Any]:
        special = sku_prices_for(program, tier.level)
        skus = [
            {
                "sku_id": sku_id,
                "price_fen": member_unit_price(p, tier.percent_off, special.get(sku_id)),
            }
            for sku_id, p in prices.items()
        ]
        return {"level": tier.level, "name_zh": tier.name_zh, "name_en": tier.name_en, "skus": skus}

    tiers = [
        of(t) for t in program.tiers
        if any(s["price_fen"] < prices[s["sku_id"]] for s in of(t)["skus"])
    ]  # fmt: skip
    mine = None
    if shopper_id is not None:
        level, _ = member_level(session, shopper_id)
        mine = of(program.tier(level))
    return {"tiers": tiers, "mine": mine}


def earning_multiplier_percent(session: Session, shopper_id: int, now: datetime) -> int:
    """The points ledger's multiplier for this shopper at ``now``: the tier's times
    member day's, as a percent (100 = ×1, 400 = ×4)."""
    program = load_program(session)
    level, _ = member_level(session, shopper_id)
    day = program.member_day
    today = day.points_multiplier_percent if is_member_day(day, now) else 100
    return earning_multiplier(program.tier(level).points_multiplier_percent, today)


def is_priority_aftersale(session: Session, shopper_id: int) -> bool:
    level, _ = member_level(session, shopper_id)
    return load_program(session).tier(level).priority_aftersale


@dataclass(frozen=True)
class TierCard:
    level: int
    growth: int  # lifetime total
    window_growth: int  # what decides the tier
    next_level: int | None
    missing: int  # growth still needed for the next tier
    progress_percent: int
    tiers: tuple[TierRule, ...]


def tier_card(session: Session, shopper_id: int, now: datetime) -> TierCard:
    program = load_program(session)
    level, growth = member_level(session, shopper_id)
    counted = window_growth(session, shopper_id, now, program.review.window_days)
    nxt, missing, percent = progress(program.tiers, level, counted)
    return TierCard(level, growth, counted, nxt, missing, percent, program.tiers)


@dataclass(frozen=True)
class MemberDayInfo:
    is_today: bool
    next_starts_at: datetime | None
    countdown_seconds: int | None
    points_multiplier_percent: int
    free_shipping: bool


def member_day_info(session: Session, now: datetime) -> MemberDayInfo:
    rule = load_program(session).member_day
    nxt = next_member_day(rule, now)
    return MemberDayInfo(
        is_today=is_member_day(rule, now),
        next_starts_at=nxt,
        countdown_seconds=None if nxt is None else int((nxt - now).total_seconds()),
        points_multiplier_percent=rule.points_multiplier_percent,
        free_shipping=rule.free_shipping,
    )
