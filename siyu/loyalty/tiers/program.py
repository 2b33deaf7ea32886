"""The tier table and program settings: read (memoised against the offers version,
since tiers change prices) and replaced as a whole by an operator, validated first so
a bad table writes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from siyu import versions
from siyu.catalog.models import Sku
from siyu.coupon.models import CouponTemplate
from siyu.errors import InvalidInput
from siyu.identity.audit import record_audit
from siyu.loyalty.tiers.models import MemberProgram, MemberSkuPrice, MemberTier
from siyu.loyalty.tiers.rules import (
    DEFAULT_PROGRAM,
    MemberDayRule,
    Program,
    ReviewRule,
    TierRule,
    check_member_day,
    check_tiers,
)

PROGRAM_ID = 1


def _tier_rule(row: MemberTier) -> TierRule:
    return TierRule(
        level=row.level,
        name_zh=row.name_zh,
        name_en=row.name_en,
        threshold=row.threshold,
        discount_percent=row.discount_percent,
        free_shipping_threshold_fen=row.free_shipping_threshold_fen,
        points_multiplier_percent=row.points_multiplier_percent,
        birthday_coupon_template_id=row.birthday_coupon_template_id,
        birthday_points=row.birthday_points,
        priority_aftersale=row.priority_aftersale,
    )


def _read(session: Session) -> Program:
    rows = session.scalars(select(MemberTier).order_by(MemberTier.level)).all()
    tiers = tuple(_tier_rule(r) for r in rows) if rows else DEFAULT_PROGRAM.tiers
    settings = session.get(MemberProgram, PROGRAM_ID)
    member_day, review = DEFAULT_PROGRAM.member_day, DEFAULT_PROGRAM.review
    if settings is not None:
        member_day = MemberDayRule(
            days_of_month=frozenset(int(d) for d in settings.member_days_of_month),
            weekdays=frozenset(int(d) for d in settings.member_weekdays),
            points_multiplier_percent=settings.member_day_points_percent,
            free_shipping=settings.member_day_free_shipping,
        )
        review = ReviewRule(settings.review_window_days, settings.review_max_drop)
    prices = {
        (level, sku_id): price
        for level, sku_id, price in session.execute(
            select(MemberSkuPrice.level, MemberSkuPrice.sku_id, MemberSkuPrice.price_fen)
        )
    }
    return Program(tiers, member_day, review, prices)


def load_program(session: Session) -> Program:
    """The program in force; kept in the database's memo while the offers version
    stands (every quote asks)."""
    memo = versions.memo_of(session)
    if memo is None:
        return _read(session)
    return memo.get(session, "loyalty.program", (versions.OFFERS,), lambda: _read(session))


def sku_prices_for(program: Program, level: int) -> dict[int, int]:
    """The member price of each SKU for a shopper of ``level``: the lowest set for
    that level or a lower one."""
    found: dict[int, int] = {}
    for (at, sku_id), price in program.sku_prices.items():
        if at <= level and (sku_id not in found or price < found[sku_id]):
            found[sku_id] = price
    return found


def save_program(
    session: Session,
    *,
    actor_id: int,
    tiers: Sequence[TierRule],
    member_day: MemberDayRule,
    review: ReviewRule,
    sku_prices: dict[tuple[int, int], int],
    now: datetime,
) -> Program:
    """Replace the tier table, its SKU prices and the settings, or raise
    ``InvalidInput`` (422) with every problem and write nothing."""
    problems = check_tiers(tiers) | check_member_day(member_day)
    if not 30 <= review.window_days <= 3660:
        problems["review.window_days"] = "between 30 and 3660"
    if not 0 <= review.max_drop <= 4:
        problems["review.max_drop"] = "between 0 and 4"
    if any(price < 0 for price in sku_prices.values()):
        problems["sku_prices"] = "prices are not negative"
    if any(not 0 <= level < len(tiers) for level, _ in sku_prices):
        problems["sku_prices.level"] = "an existing level"
    wanted = {t.birthday_coupon_template_id for t in tiers} - {None}
    if wanted:
        known = set(session.scalars(select(CouponTemplate.id).where(CouponTemplate.id.in_(wanted))))
        for t in tiers:
            if (
                t.birthday_coupon_template_id is not None
                and t.birthday_coupon_template_id not in known
            ):
                problems[f"tiers.{t.level}.birthday_coupon_template_id"] = "no such coupon template"
    skus = {sku_id for _, sku_id in sku_prices}
    if skus:
        found = set(session.scalars(select(Sku.id).where(Sku.id.in_(skus))))
        if skus - found:
            problems["sku_prices.sku_id"] = f"no such SKU: {min(skus - found)}"
    if problems:
        raise InvalidInput(
            "bad_member_tiers",
            "会员等级配置有误 / The member tier settings are not valid",
            problems,
        )
    session.execute(delete(MemberSkuPrice))
    session.execute(delete(MemberTier))
    for t in tiers:
        session.add(MemberTier(**asdict(t), updated_at=now))
    for (level, sku_id), price in sorted(sku_prices.items()):
        session.add(MemberSkuPrice(level=level, sku_id=sku_id, price_fen=price))
    settings = session.get(MemberProgram, PROGRAM_ID)
    if settings is None:
        settings = MemberProgram(id=PROGRAM_ID, member_days_of_month=[], member_weekdays=[])
        session.add(settings)
    settings.member_days_of_month = sorted(member_day.days_of_month)
    settings.member_weekdays = sorted(member_day.weekdays)
    settings.member_day_points_percent = member_day.points_multiplier_percent
    settings.member_day_free_shipping = member_day.free_shipping
    settings.review_window_days = review.window_days
    settings.review_max_drop = review.max_drop
    settings.updated_at = now
    session.flush()
    record_audit(
        session, operator_id=actor_id, action="member_program.update",
        target_type="member_program", target_id=PROGRAM_ID, before=None,
        after={"tiers": [asdict(t) for t in tiers]}, now=now,
    )  # fmt: skip
    return _read(session)
