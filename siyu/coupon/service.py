"""Coupon use cases: templates, issuing (claim center, bulk, gift pack) and reading
the shopper's coupons. A coupon's life on an order is in ``redemption.py``.

Every quota is one guarded statement whose result says whether this caller won;
nothing reads a count, adds one and writes it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from siyu.catalog.listing import category_names, product_titles
from siyu.coupon.models import CouponClaimCount, CouponTemplate, ShopperCoupon
from siyu.coupon.rules import (
    REFUSAL_MESSAGES,
    Audience,
    CouponStatus,
    GiftTrigger,
    IssueRefusal,
    IssueSource,
    TemplateStatus,
    ValidityKind,
    validity_for,
)
from siyu.db import rowcount
from siyu.errors import Conflict, InvalidInput, NotFound
from siyu.identity.audit import AuditTrail
from siyu.identity.models import Shopper
from siyu.order.models import Order
from siyu.outbox import DomainEvent, EventRelay
from siyu.pricing.info import Coupon, CouponKind, Scope, ScopeRule
from siyu.pricing.offers import OfferBook

GIFT_SOURCES = {
    GiftTrigger.register: IssueSource.gift_register,
    GiftTrigger.first_order: IssueSource.gift_first_order,
}
TEMPLATE_FIELDS = (
    "name",
    "description",
    "kind",
    "threshold_fen",
    "amount_fen",
    "percent_off",
    "cap_fen",
    "scope_kind",
    "category_ids",
    "product_ids",
    "excluded_product_ids",
    "validity_kind",
    "valid_from",
    "valid_until",
    "valid_days",
    "total_quantity",
    "per_shopper_limit",
    "audience",
    "min_tier",
    "stack_group",
    "exclusive",
    "claimable",
    "claim_starts_at",
    "claim_ends_at",
    "gift_trigger",
)


def _bad(field: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput("invalid_coupon_template", f"{zh} / {en}", {field: "invalid"})


def check_template(values: dict[str, Any]) -> None:
    """Refuse a template an operator could not mean (raises InvalidInput)."""
    kind = CouponKind(values["kind"])
    if kind is CouponKind.cash_off:
        if values.get("amount_fen", 0) <= 0:
            raise _bad("amount_fen", "请填写减免金额", "Enter the amount off")
        threshold = values.get("threshold_fen", 0)
        if threshold and values["amount_fen"] > threshold:
            raise _bad(
                "amount_fen", "减免金额不能超过使用门槛", "The amount off exceeds the threshold"
            )
    if kind is CouponKind.percent_off and not 1 <= values.get("percent_off", 0) <= 99:
        raise _bad("percent_off", "折扣须在 1% 到 99% 之间", "Percent off must be 1-99")
    if values["validity_kind"] == ValidityKind.fixed:
        start, end = values.get("valid_from"), values.get("valid_until")
        if start is None:
            raise _bad("valid_from", "请填写使用开始时间", "Enter when use starts")
        if end is None:
            raise _bad("valid_until", "请填写使用结束时间", "Enter when use ends")
        if end <= start:
            raise _bad(
                "valid_until", "使用结束时间须晚于开始时间", "The end of use must follow its start"
            )
    elif not values.get("valid_days") or values["valid_days"] <= 0:
        raise _bad("valid_days", "请填写领取后有效天数", "Enter the days of validity after claim")
    start, end = values.get("claim_starts_at"), values.get("claim_ends_at")
    if start is not None and end is not None and end <= start:
        raise _bad("claim_ends_at", "领取结束时间须晚于开始时间", "Claim end must follow its start")
    quantity = values.get("total_quantity")
    if quantity is not None and quantity < values.get("issued_count", 0):
        raise _bad(
            "total_quantity", "发放总量不能少于已发放数量", "Below the number already issued"
        )


_TEMPLATES = AuditTrail[CouponTemplate](
    "coupon_template", lambda t: {"name": t.name, "kind": str(t.kind)}
)
TEMPLATES = OfferBook[CouponTemplate](
    CouponTemplate,
    _TEMPLATES,
    TEMPLATE_FIELDS,
    ("product_ids", "excluded_product_ids"),
    "coupon_template_not_found",
    "优惠券不存在 / Coupon template not found",
)


def create_template(
    session: Session, *, actor_id: int, values: dict[str, Any], now: datetime
) -> CouponTemplate:
    check_template(values)
    return TEMPLATES.create(session, values, actor_id=actor_id, now=now)


def get_template(session: Session, template_id: int) -> CouponTemplate:
    return TEMPLATES.get(session, template_id)


# Coupons already out were promised their face value: only quantity, claim window,
# claimability and the description may change once one is issued.
FACE_FIELDS = frozenset({"kind", "threshold_fen", "amount_fen", "percent_off", "cap_fen"})


def update_template(
    session: Session, *, actor_id: int, template_id: int, changes: dict[str, Any], now: datetime
) -> CouponTemplate:
    template = get_template(session, template_id)
    current = TEMPLATES.current(template, extra=("issued_count",))
    if template.issued_count > 0:
        touched = {k for k in FACE_FIELDS if k in changes and changes[k] != current[k]}
        if touched:
            raise Conflict(
                "coupon_template_in_use",
                "已发放的优惠券不能修改面额与门槛 / Face value and threshold cannot change "
                "once coupons have been issued",
                dict.fromkeys(sorted(touched), "frozen"),
            )
    check_template({**current, **changes})
    return TEMPLATES.update(session, template, changes, actor_id=actor_id, now=now)


def set_template_status(
    session: Session, *, actor_id: int, template_id: int, status: TemplateStatus, now: datetime
) -> CouponTemplate:
    template = get_template(session, template_id)
    if template.status is TemplateStatus.ended and status is not TemplateStatus.ended:
        raise Conflict("coupon_template_ended", "已结束的优惠券不能恢复 / An ended coupon is final")
    return TEMPLATES.set_status(session, template, status, actor_id=actor_id, now=now)


def list_templates(session: Session, *, include_ended: bool = True) -> list[CouponTemplate]:
    stmt = select(CouponTemplate).order_by(CouponTemplate.id.desc())
    if not include_ended:
        stmt = stmt.where(CouponTemplate.status != TemplateStatus.ended)
    return list(session.scalars(stmt))


# ---------------------------------------------------------------- issuing


def is_new_shopper(session: Session, shopper_id: int) -> bool:
    """New = no paid order yet."""
    paid = session.scalar(
        select(func.count())
        .select_from(Order)
        .where(Order.shopper_id == shopper_id, Order.paid_at.is_not(None))
    )
    return not paid


def _bump_shopper_count(session: Session, template: CouponTemplate, shopper_id: int) -> bool:
    """Guarded upsert: the shopper's count grows only while below the limit."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(CouponClaimCount).values(template_id=template.id, shopper_id=shopper_id, count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[CouponClaimCount.template_id, CouponClaimCount.shopper_id],
        set_={"count": CouponClaimCount.count + 1},
        where=CouponClaimCount.count < template.per_shopper_limit,
    )
    # RETURNING says whether a row was written: psycopg reports no rowcount for an
    # upsert (-1), so rowcount cannot tell the winner here.
    return session.scalar(stmt.returning(CouponClaimCount.count)) is not None


def _take_quota(session: Session, template: CouponTemplate) -> bool:
    stmt = update(CouponTemplate).where(CouponTemplate.id == template.id)
    if template.total_quantity is not None:
        stmt = stmt.where(CouponTemplate.issued_count < CouponTemplate.total_quantity)
    result = session.execute(
        stmt.values(issued_count=CouponTemplate.issued_count + 1).execution_options(
            synchronize_session=False
        )
    )
    return rowcount(result) == 1


def _refusal(
    template: CouponTemplate, *, source: IssueSource, is_new: bool, now: datetime
) -> IssueRefusal | None:
    if template.status is not TemplateStatus.active:
        return IssueRefusal.not_active
    if (
        template.validity_kind is ValidityKind.fixed
        and template.valid_until is not None
        and template.valid_until <= now
    ):
        return IssueRefusal.expired_template
    if source is IssueSource.claim:
        if not template.claimable or template.gift_trigger is not GiftTrigger.none:
            return IssueRefusal.not_claimable
        if (template.claim_starts_at and now < template.claim_starts_at) or (
            template.claim_ends_at and now >= template.claim_ends_at
        ):
            return IssueRefusal.claim_window
    if template.audience is Audience.new_shoppers and not is_new and source is not IssueSource.bulk:
        return IssueRefusal.audience
    return None


def issue(
    session: Session,
    template: CouponTemplate,
    shopper_id: int,
    *,
    source: IssueSource,
    now: datetime,
    grant_key: str | None = None,
    is_new: bool | None = None,
) -> ShopperCoupon | IssueRefusal:
    """Issue one coupon of ``template`` to a shopper, or say why not. Runs in a
    savepoint: a refusal after a guard passed leaves nothing half-written."""
    if is_new is None and template.audience is Audience.new_shoppers:
        is_new = is_new_shopper(session, shopper_id)
    refusal = _refusal(template, source=source, is_new=bool(is_new), now=now)
    if refusal is not None:
        return refusal
    savepoint = session.begin_nested()
    try:
        if not _bump_shopper_count(session, template, shopper_id):
            savepoint.rollback()
            return IssueRefusal.limit_reached
        if not _take_quota(session, template):
            savepoint.rollback()
            return IssueRefusal.sold_out
        validity = validity_for(
            template.validity_kind,
            now=now,
            valid_from=template.valid_from,
            valid_until=template.valid_until,
            valid_days=template.valid_days,
        )
        coupon = ShopperCoupon(
            template_id=template.id,
            shopper_id=shopper_id,
            status=CouponStatus.issued,
            source=source,
            grant_key=grant_key,
            valid_from=validity.valid_from,
            valid_until=validity.valid_until,
            issued_at=now,
        )
        session.add(coupon)
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        return IssueRefusal.already_granted
    savepoint.commit()
    return coupon


def claim(session: Session, *, shopper_id: int, template_id: int, now: datetime) -> ShopperCoupon:
    """The claim center: a shopper takes one coupon."""
    template = get_template(session, template_id)
    result = issue(session, template, shopper_id, source=IssueSource.claim, now=now)
    if isinstance(result, IssueRefusal):
        status = NotFound if result is IssueRefusal.not_claimable else Conflict
        raise status(f"coupon_{result.value}", REFUSAL_MESSAGES[result])
    return result


@dataclass(frozen=True)
class BulkResult:
    issued: list[int]  # shopper ids
    refused: dict[int, IssueRefusal]  # shopper id -> why
    unknown: list[int]  # ids that are not shoppers


def bulk_issue(
    session: Session,
    *,
    actor_id: int,
    template_id: int,
    shopper_ids: Sequence[int],
    batch_key: str,
    now: datetime,
) -> BulkResult:
    """Issue one coupon to each shopper of a list. ``batch_key`` makes a retried batch
    a no-op for those already served."""
    template = get_template(session, template_id)
    wanted = list(dict.fromkeys(shopper_ids))
    known = set(session.scalars(select(Shopper.id).where(Shopper.id.in_(wanted))))
    issued: list[int] = []
    refused: dict[int, IssueRefusal] = {}
    for shopper_id in wanted:
        if shopper_id not in known:
            continue
        result = issue(
            session,
            template,
            shopper_id,
            source=IssueSource.bulk,
            now=now,
            grant_key=f"bulk:{template.id}:{batch_key}:{shopper_id}",
        )
        if isinstance(result, IssueRefusal):
            refused[shopper_id] = result
        else:
            issued.append(shopper_id)
    _TEMPLATES.record(
        session,
        template.id,
        "bulk_issue",
        operator_id=actor_id,
        before=None,
        after={"batch": batch_key, "issued": len(issued), "refused": len(refused)},
        now=now,
    )
    return BulkResult(issued, refused, [s for s in wanted if s not in known])


def grant_gifts(
    session: Session, shopper_id: int, trigger: GiftTrigger, *, now: datetime
) -> list[ShopperCoupon]:
    """Issue every active gift template of ``trigger`` to the shopper, at most once
    per template (the grant key), however often this is called."""
    templates = session.scalars(
        select(CouponTemplate)
        .where(
            CouponTemplate.gift_trigger == trigger,
            CouponTemplate.status == TemplateStatus.active,
        )
        .order_by(CouponTemplate.id)
    )
    granted = []
    for template in templates:
        result = issue(
            session,
            template,
            shopper_id,
            source=GIFT_SOURCES[trigger],
            now=now,
            grant_key=f"gift:{trigger.value}:{template.id}:{shopper_id}",
            is_new=True,
        )
        if isinstance(result, ShopperCoupon):
            granted.append(result)
    return granted


def gift_popup(
    session: Session, shopper_id: int, *, now: datetime
) -> list[tuple[ShopperCoupon, CouponTemplate]]:
    """The new-shopper gift pack the client should show once: register gifts not yet
    seen. Grants them first if the registration event has not been relayed yet."""
    shopper = session.get(Shopper, shopper_id)
    if shopper is None:
        return []
    grant_gifts(session, shopper_id, GiftTrigger.register, now=now)
    return list(
        session.execute(
            select(ShopperCoupon, CouponTemplate)
            .join(CouponTemplate, CouponTemplate.id == ShopperCoupon.template_id)
            .where(
                ShopperCoupon.shopper_id == shopper_id,
                ShopperCoupon.source == IssueSource.gift_register,
                ShopperCoupon.seen_at.is_(None),
            )
            .order_by(ShopperCoupon.id)
        ).all()
    )


def mark_gifts_seen(session: Session, shopper_id: int, *, now: datetime) -> int:
    result = session.execute(
        update(ShopperCoupon)
        .where(
            ShopperCoupon.shopper_id == shopper_id,
            ShopperCoupon.source == IssueSource.gift_register,
            ShopperCoupon.seen_at.is_(None),
        )
        .values(seen_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


# ---------------------------------------------------------------- reading


def shopper_coupons(
    session: Session, shopper_id: int, *, status: CouponStatus | None = None, limit: int = 100
) -> list[tuple[ShopperCoupon, CouponTemplate]]:
    stmt = (
        select(ShopperCoupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == ShopperCoupon.template_id)
        .where(ShopperCoupon.shopper_id == shopper_id)
    )
    if status is not None:
        stmt = stmt.where(ShopperCoupon.status == status)
    return list(
        session.execute(
            stmt.order_by(ShopperCoupon.valid_until, ShopperCoupon.id).limit(limit)
        ).all()
    )


def display_status(coupon: ShopperCoupon, now: datetime) -> CouponStatus:
    """An issued coupon past its validity is expired even before the sweep marks it."""
    if coupon.status is CouponStatus.issued and coupon.valid_until <= now:
        return CouponStatus.expired
    return coupon.status


def to_pricing(coupon: ShopperCoupon, template: CouponTemplate) -> Coupon:
    return Coupon(
        coupon_id=coupon.id,
        template_id=template.id,
        name=template.name,
        kind=template.kind,
        threshold_fen=template.threshold_fen,
        amount_fen=template.amount_fen,
        percent_off=template.percent_off,
        cap_fen=template.cap_fen,
        scope=ScopeRule(
            kind=template.scope_kind,
            category_ids=frozenset(template.category_ids),
            product_ids=frozenset(template.product_ids),
            excluded_product_ids=frozenset(template.excluded_product_ids),
        ),
        valid_from=coupon.valid_from,
        valid_until=coupon.valid_until,
        new_shoppers_only=template.audience is Audience.new_shoppers,
        min_tier=template.min_tier,
        exclusive=template.exclusive,
        stack_group=template.stack_group,
    )


def usable_coupons(session: Session, shopper_id: int, now: datetime) -> list[Coupon]:
    """The shopper's issued coupons still valid at ``now`` (the pricing engine decides
    which apply to a cart)."""
    rows = session.execute(
        select(ShopperCoupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == ShopperCoupon.template_id)
        .where(
            ShopperCoupon.shopper_id == shopper_id,
            ShopperCoupon.status == CouponStatus.issued,
            ShopperCoupon.valid_until > now,
        )
        .order_by(ShopperCoupon.id)
    ).all()
    return [to_pricing(c, t) for c, t in rows]


def claim_center(
    session: Session, shopper_id: int | None, now: datetime
) -> list[tuple[CouponTemplate, int]]:
    """Templates a shopper can claim now, with how many they already hold of each."""
    templates = list(
        session.scalars(
            select(CouponTemplate)
            .where(
                CouponTemplate.status == TemplateStatus.active,
                CouponTemplate.claimable.is_(True),
                CouponTemplate.gift_trigger == GiftTrigger.none,
                or_(
                    CouponTemplate.claim_starts_at.is_(None), CouponTemplate.claim_starts_at <= now
                ),
                or_(CouponTemplate.claim_ends_at.is_(None), CouponTemplate.claim_ends_at > now),
                or_(CouponTemplate.valid_until.is_(None), CouponTemplate.valid_until > now),
            )
            .order_by(CouponTemplate.id.desc())
        )
    )
    held: dict[int, int] = {}
    if shopper_id is not None and templates:
        held = dict(
            session.execute(
                select(CouponClaimCount.template_id, CouponClaimCount.count).where(
                    CouponClaimCount.shopper_id == shopper_id,
                    CouponClaimCount.template_id.in_([t.id for t in templates]),
                )
            ).all()
        )
    return [(t, held.get(t.id, 0)) for t in templates]


GIFT_SUBSCRIBER = "coupon.gifts"


def on_gift_event(session: Session, event: DomainEvent) -> None:
    """Registration → the new-shopper gift pack; the first paid order → its reward.
    Grant keys make a redelivered event harmless."""
    shopper_id = int(event.payload.get("shopper_id") or 0)
    if not shopper_id:
        return
    if event.event_type == "shopper.registered":
        grant_gifts(session, shopper_id, GiftTrigger.register, now=event.occurred_at)
    elif event.event_type == "order.paid":
        paid_orders = session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.shopper_id == shopper_id, Order.paid_at.is_not(None))
        )
        if paid_orders == 1:
            grant_gifts(session, shopper_id, GiftTrigger.first_order, now=event.occurred_at)


def subscribe_gifts(relay: EventRelay) -> None:
    relay.subscribe(GIFT_SUBSCRIBER, ["shopper.registered", "order.paid"], on_gift_event)


def scope_words(template: CouponTemplate) -> tuple[str, str]:
    """What a coupon face says it covers: 全场通用, or 限 口红、眼影 可用 (the names of
    its categories or products), noting excluded products."""
    session = object_session(template)
    if template.scope_kind is Scope.categories:
        names = category_names(session, template.category_ids) if session else {}
        found = [names[i] for i in template.category_ids if i in names]
    elif template.scope_kind is Scope.products:
        titles = product_titles(session, template.product_ids) if session else {}
        found = [titles[i] for i in template.product_ids if i in titles]
    else:
        found = []
    if template.scope_kind is Scope.all:
        zh, en = "全场通用", "Store-wide"
    elif found:
        zh, en = f"限 {'、'.join(found)} 可用", f"Only on {', '.join(found)}"
    else:
        zh, en = "限指定商品可用", "Only on selected products"
    if template.excluded_product_ids:
        zh, en = zh + "（部分商品除外）", en + " (some products excluded)"
    return zh, en


def scope_words_of(session: Session, template_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """:func:`scope_words` of each template, by id (the checkout's coupon list)."""
    found = session.scalars(select(CouponTemplate).where(CouponTemplate.id.in_(set(template_ids))))
    return {t.id: scope_words(t) for t in found}
