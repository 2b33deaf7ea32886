"""Bargain use cases: an operator's campaigns; a shopper starting a bargain (the cuts
drawn there and stored, a deadline timer scheduled); friends cutting it (the
anti-fraud rules of ``rules.refusal``, then a guarded update of the cut counter and
one help row per helper — UNIQUE (bargain, helper) and (bargain, position) — in one
transaction); the starter buying once at the price reached (an order placed through
``siyu.order.placement``, the bargain claimed in its transaction); the bargain
following that order on the lifecycle seam (paid: bought; cancelled before payment:
buyable again until the deadline).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.bargain.models import Bargain, BargainCampaign, BargainHelp, BargainShopperCount
from siyu.bargain.rules import (
    DEADLINE_TIMER,
    REFUSALS,
    SOURCE,
    BargainStatus,
    CampaignStatus,
    Helper,
    Refusal,
    check_campaign,
    draw_cuts,
    price_reached,
    refusal,
)
from siyu.catalog.models import Sku
from siyu.db import get_or_raise, rowcount
from siyu.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from siyu.identity.models import Shopper, ShopperDevice
from siyu.lifecycle import OrderCancelled, OrderLifecycle, OrderPaid
from siyu.order.models import Order
from siyu.order.placement import Activity, Address, place_order
from siyu.pricing.activity import ActivityPrice
from siyu.pricing.info import PricingSettings
from siyu.timers import schedule_timer

CAMPAIGN_FIELDS = ("name", "floor_price_fen", "helpers_needed", "duration_minutes",
                   "per_shopper_limit", "helper_min_age_minutes", "starts_at", "ends_at",
                   "status")  # fmt: skip
CAMPAIGN_NOT_FOUND = NotFound("bargain_campaign_not_found", "砍价活动不存在 / No such bargain sale")
BARGAIN_NOT_FOUND = NotFound("bargain_not_found", "砍价不存在 / No such bargain")
EXPIRED = ("bargain_expired", "砍价已结束 / This bargain has ended")
CLOSED = ("bargain_closed", "该砍价已下单或已结束 / This bargain was ordered or has ended")
COMPLETE = ("bargain_complete", "已砍到底价，无需再砍 / This bargain is at its floor price")


# ---------------------------------------------------------------- the operator


def save_campaign(
    session: Session, values: dict[str, Any], *, now: datetime, campaign_id: int | None = None
) -> BargainCampaign:
    """Create or edit a campaign. Its SKU, floor and helpers are fixed once a bargain
    has started (the cuts were drawn from them)."""
    row = session.get(BargainCampaign, campaign_id) if campaign_id is not None else None
    if campaign_id is not None and row is None:
        raise CAMPAIGN_NOT_FOUND
    sku = session.get(Sku, values["sku_id"])
    if sku is None:
        raise InvalidInput("sku_not_found", "商品规格不存在 / No such SKU", {"sku_id": "not_found"})
    values = {k: v.astimezone(UTC) if isinstance(v, datetime) else v for k, v in values.items()}
    problem = check_campaign(
        floor_price_fen=values["floor_price_fen"], shelf_price_fen=sku.price_fen,
        helpers_needed=values["helpers_needed"], duration_minutes=values["duration_minutes"],
        per_shopper_limit=values["per_shopper_limit"],
        helper_min_age_minutes=values["helper_min_age_minutes"],
        starts_at=values["starts_at"], ends_at=values["ends_at"],
    )  # fmt: skip
    if problem:
        field, message = problem
        raise InvalidInput("bad_bargain", message, {field: "invalid"})
    fixed = row is not None and (
        (row.sku_id, row.floor_price_fen, row.helpers_needed)
        != (sku.id, values["floor_price_fen"], values["helpers_needed"])
    )
    if row is not None and fixed and _has_bargains(session, row.id):
        raise Conflict(
            "bargain_has_bargains",
            "已有人发起砍价，商品、底价和人数不能再改 / Bargains were started: the item, "
            "floor and helpers are fixed",
        )
    if row is None:
        row = BargainCampaign(created_at=now)
        session.add(row)
    for name in CAMPAIGN_FIELDS:
        setattr(row, name, values[name])
    row.sku_id = sku.id
    row.product_id = sku.product_id
    row.updated_at = now
    session.flush()
    return row


def _has_bargains(session: Session, campaign_id: int) -> bool:
    return session.scalar(select(Bargain.id).where(Bargain.campaign_id == campaign_id)) is not None


def get_campaign(session: Session, campaign_id: int) -> BargainCampaign:
    return get_or_raise(session, BargainCampaign, campaign_id, CAMPAIGN_NOT_FOUND)


def get_bargain(session: Session, bargain_id: int) -> Bargain:
    return get_or_raise(session, Bargain, bargain_id, BARGAIN_NOT_FOUND)


def list_campaigns(
    session: Session,
    *,
    now: datetime | None = None,
    product_id: int | None = None,
    sku_id: int | None = None,
) -> list[BargainCampaign]:
    """Every campaign (the console), or with ``now`` those running now."""
    stmt = select(BargainCampaign).order_by(BargainCampaign.id.desc())
    if now is not None:
        stmt = stmt.where(
            BargainCampaign.status == CampaignStatus.active,
            BargainCampaign.starts_at <= now,
            BargainCampaign.ends_at > now,
        )
    if product_id is not None:
        stmt = stmt.where(BargainCampaign.product_id == product_id)
    if sku_id is not None:
        stmt = stmt.where(BargainCampaign.sku_id == sku_id)
    return list(session.scalars(stmt.limit(200)))


def effective_status(bargain: Bargain, now: datetime) -> BargainStatus:
    """An active bargain past its deadline reads as expired before its timer runs."""
    if bargain.status is BargainStatus.active and bargain.expires_at <= now:
        return BargainStatus.expired
    return bargain.status


def current_price(bargain: Bargain) -> int:
    return price_reached(bargain.original_fen, [int(c) for c in bargain.cuts], bargain.cuts_taken)


# ---------------------------------------------------------------- starting and cutting


def start_bargain(
    session: Session,
    *,
    campaign_id: int,
    shopper_id: int,
    device: str | None,
    now: datetime,
    rng: random.Random | None = None,
) -> Bargain:
    """A bargain at the shelf price, its cuts drawn now (``rng``: tests seed it)."""
    campaign = get_campaign(session, campaign_id)
    if not (
        campaign.status is CampaignStatus.active and campaign.starts_at <= now < campaign.ends_at
    ):
        raise Conflict("bargain_not_running", "砍价活动未开始或已结束 / The bargain sale is not on")
    starter = session.get(Shopper, shopper_id)
    if starter is None or starter.blocked_at is not None:
        raise Forbidden("shopper_blocked", "该账号不能参与砍价 / This account cannot bargain")
    sku = session.get(Sku, campaign.sku_id)
    original = sku.price_fen if sku is not None and sku.is_active else 0
    if original - campaign.floor_price_fen < campaign.helpers_needed:
        raise Conflict("sku_unavailable", "商品已下架或价格已变 / The item is unavailable")
    _count_start(session, campaign, shopper_id)
    cuts = draw_cuts(
        original - campaign.floor_price_fen, campaign.helpers_needed, rng or random.SystemRandom()
    )
    bargain = Bargain(
        campaign_id=campaign.id, starter_id=shopper_id, starter_device=device,
        original_fen=original, floor_fen=campaign.floor_price_fen,
        helpers_needed=campaign.helpers_needed, cuts=cuts, cuts_taken=0,
        status=BargainStatus.active,
        expires_at=min(now + timedelta(minutes=campaign.duration_minutes), campaign.ends_at),
        created_at=now,
    )  # fmt: skip
    session.add(bargain)
    session.flush()
    schedule_timer(session, DEADLINE_TIMER, bargain.id, due_at=bargain.expires_at,
                   payload={"bargain_id": bargain.id}, now=now)  # fmt: skip
    return bargain


def _count_start(session: Session, campaign: BargainCampaign, shopper_id: int) -> None:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    limit = campaign.per_shopper_limit
    stmt = insert(BargainShopperCount).values(
        campaign_id=campaign.id, shopper_id=shopper_id, count=1
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["campaign_id", "shopper_id"],
        set_={"count": BargainShopperCount.count + 1},
        where=(BargainShopperCount.count < limit) if limit > 0 else None,
    )
    if session.scalar(stmt.returning(BargainShopperCount.count)) is None:
        raise Conflict(
            "bargain_limit", f"每人限发起 {limit} 次砍价 / At most {limit} bargains a shopper"
        )


def _devices(session: Session, shopper_ids: list[int]) -> set[str]:
    if not shopper_ids:
        return set()
    return set(
        session.scalars(
            select(ShopperDevice.anonymous_id).where(ShopperDevice.shopper_id.in_(shopper_ids))
        )
    )


def _refused(reason: Refusal) -> DomainError:
    kind = Conflict if reason in (Refusal.own, Refusal.already_cut) else Forbidden
    return kind(reason.value, REFUSALS[reason])


def cut_bargain(
    session: Session, *, bargain_id: int, helper_id: int, device: str | None, now: datetime
) -> tuple[Bargain, BargainHelp]:
    """The helper takes the next cut, or is refused with the rule's code and nothing
    is written. Exactly one cut per helper, also under concurrency: the counter moves
    by a guarded update and the help row is UNIQUE (bargain, helper)."""
    bargain = get_bargain(session, bargain_id)
    campaign = get_campaign(session, bargain.campaign_id)
    status = effective_status(bargain, now)
    if status is BargainStatus.expired:
        raise Conflict(*EXPIRED)
    if status is not BargainStatus.active:
        raise Conflict(*CLOSED)
    helper_row = session.get(Shopper, helper_id)
    if helper_row is None:
        raise BARGAIN_NOT_FOUND
    helps = list(session.scalars(select(BargainHelp).where(BargainHelp.bargain_id == bargain.id)))
    earlier = [h.helper_id for h in helps]
    mine = _devices(session, [helper_id]) | ({device} if device else set())
    helper = Helper(helper_row.id, helper_row.registered_at, helper_row.blocked_at is not None,
                    frozenset(mine))  # fmt: skip
    taken = _devices(session, [bargain.starter_id, *earlier])
    taken |= {d for d in (bargain.starter_device, *(h.device for h in helps)) if d}
    reason = refusal(helper, starter_id=bargain.starter_id, earlier_helpers=earlier,
                     taken_devices=taken, min_age_minutes=campaign.helper_min_age_minutes,
                     now=now)  # fmt: skip
    if reason is not None:
        raise _refused(reason)
    if bargain.cuts_taken >= bargain.helpers_needed:
        raise Conflict(*COMPLETE)
    moved = session.execute(
        update(Bargain)
        .where(Bargain.id == bargain.id, Bargain.status == BargainStatus.active,
               Bargain.expires_at > now, Bargain.cuts_taken < Bargain.helpers_needed)
        .values(cuts_taken=Bargain.cuts_taken + 1)
        .returning(Bargain.cuts_taken)
    ).first()  # fmt: skip
    if moved is None:
        raise Conflict(*COMPLETE)
    position = int(moved[0])
    help_row = BargainHelp(bargain_id=bargain.id, helper_id=helper_id, device=device,
                           position=position, amount_fen=int(bargain.cuts[position - 1]),
                           created_at=now)  # fmt: skip
    try:  # a concurrent request of the same helper (or device) committed first
        with session.begin_nested():
            session.add(help_row)
    except IntegrityError:
        again = session.scalar(
            select(BargainHelp.id).where(
                BargainHelp.bargain_id == bargain.id, BargainHelp.helper_id == helper_id
            )
        )
        raise _refused(Refusal.already_cut if again else Refusal.same_device) from None
    session.refresh(bargain)
    return bargain, help_row


def helps_of(session: Session, bargain_id: int) -> list[tuple[BargainHelp, Shopper]]:
    return [
        (h, s)
        for h, s in session.execute(
            select(BargainHelp, Shopper)
            .join(Shopper, Shopper.id == BargainHelp.helper_id)
            .where(BargainHelp.bargain_id == bargain_id)
            .order_by(BargainHelp.position)
        )
    ]


def bargains_of(session: Session, shopper_id: int, limit: int = 50) -> list[Bargain]:
    return list(
        session.scalars(
            select(Bargain)
            .where(Bargain.starter_id == shopper_id)
            .order_by(Bargain.id.desc())
            .limit(limit)
        )
    )


# ---------------------------------------------------------------- buying


@dataclass(frozen=True)
class Checkout:
    address: Address | None
    address_id: int | None
    note: str
    pricing: PricingSettings
    payment_timeout: timedelta


def buy(
    session: Session, *, bargain_id: int, shopper_id: int, checkout: Checkout, now: datetime
) -> tuple[Order, Bargain]:
    """The starter's order at the price reached, once per bargain (a cancelled unpaid
    order gives the bargain back until its deadline)."""
    bargain = get_bargain(session, bargain_id)
    if bargain.starter_id != shopper_id:
        raise Forbidden("bargain_not_yours", "只有发起人可以购买 / Only the starter can buy")
    status = effective_status(bargain, now)
    if status is BargainStatus.expired:
        raise Conflict(*EXPIRED)
    if status is not BargainStatus.active:
        raise Conflict(*CLOSED)
    campaign = get_campaign(session, bargain.campaign_id)

    def claim(s: Session, order: Order) -> None:
        taken = s.execute(
            update(Bargain)
            .where(Bargain.id == bargain.id, Bargain.status == BargainStatus.active,
                   Bargain.order_id.is_(None), Bargain.expires_at > now,
                   Bargain.cuts_taken == bargain.cuts_taken)
            .values(status=BargainStatus.ordered, order_id=order.id)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        if rowcount(taken) != 1:
            raise Conflict(*CLOSED)

    price = ActivityPrice(campaign_id=campaign.id, kind=SOURCE, name_zh="砍价",
                          name_en="Bargain", unit_price_fen=current_price(bargain))  # fmt: skip
    order = place_order(
        session,
        shopper_id=shopper_id,
        items=[(campaign.sku_id, 1)],
        address=checkout.address,
        address_id=checkout.address_id,
        note=checkout.note,
        source=SOURCE,
        payment_timeout=checkout.payment_timeout,
        now=now,
        pricing=checkout.pricing,
        activity=Activity(price=price, claim=claim),
    )
    session.refresh(bargain)
    return order, bargain


# ---------------------------------------------------------------- the lifecycle


def order_paid(session: Session, event: OrderPaid, now: datetime) -> None:
    if event.source != SOURCE:
        return
    session.execute(
        update(Bargain)
        .where(Bargain.order_id == event.order_id, Bargain.status == BargainStatus.ordered)
        .values(status=BargainStatus.bought, bought_at=now)
        .execution_options(synchronize_session=False)
    )


def order_released(session: Session, event: OrderCancelled, now: datetime) -> None:
    """The order was cancelled before payment: the bargain can be bought again until
    its deadline (after it, it has expired)."""
    if event.source != SOURCE:
        return
    bargain = session.scalar(select(Bargain).where(Bargain.order_id == event.order_id))
    if bargain is None:
        return
    back = BargainStatus.active if bargain.expires_at > now else BargainStatus.expired
    session.execute(
        update(Bargain)
        .where(Bargain.id == bargain.id, Bargain.status == BargainStatus.ordered)
        .values(status=back, order_id=None)
        .execution_options(synchronize_session=False)
    )


def register_steps(lifecycle: OrderLifecycle) -> None:
    lifecycle.on_paid("bargain.order_paid", order_paid)
    lifecycle.on_cancelled("bargain.order_released", order_released)


def deadline_reached(session: Session, payload: dict[str, Any], now: datetime) -> datetime | None:
    """The bargain's timer: an active bargain past its deadline expires (one with an
    order waiting for payment follows that order instead)."""
    bargain = session.get(Bargain, int(payload["bargain_id"]))
    if bargain is None:
        return None
    if now < bargain.expires_at:
        return bargain.expires_at
    session.execute(
        update(Bargain)
        .where(Bargain.id == bargain.id, Bargain.status == BargainStatus.active)
        .values(status=BargainStatus.expired)
        .execution_options(synchronize_session=False)
    )
    return None
