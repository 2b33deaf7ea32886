"""Group-buy use cases: an operator's campaigns; a shopper opening or joining a group
(an order placed through ``siyu.order.placement`` with the group's price and a seat
claimed in the same transaction); and the group following its members' orders on the
lifecycle seam — seat paid, released on cancel, given up on refund — to completion or
failure at the deadline (a durable timer), where every paid member is refunded once
through the refund path.

Exactly once, everywhere: seats by guarded updates (``seats_taken < size``), one seat
per shopper per group (unique), the group's end by a guarded status update (only the
winner refunds), and each refund keyed by its seat (``GBF{seat}``, ``GBL{seat}``: a
second attempt finds the first). A worker killed mid-refund rolls the whole end back;
the timer fires again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.coupon.service import is_new_shopper
from siyu.db import rowcount
from siyu.errors import Conflict, InvalidInput
from siyu.group_buy.campaigns import (
    get_campaign,
    get_group,
    seat_of_order,
)
from siyu.group_buy.models import (
    GroupBuyCampaign,
    GroupBuyGroup,
    GroupBuySeat,
    GroupBuyShopperCount,
)
from siyu.group_buy.rules import (
    DEADLINE_TIMER,
    HOLD,
    CampaignStatus,
    GroupStatus,
    SeatStatus,
    Tier,
    is_full,
    ladder_refund_fen,
    reached_tier,
    virtual_fill,
)
from siyu.lifecycle import OrderCancelled, OrderLifecycle, OrderPaid, OrderRefunded
from siyu.order.models import Order
from siyu.order.placement import Activity, Address, place_order
from siyu.order.rules import OrderStatus
from siyu.order.service import cancel_order
from siyu.payment.refunds import create_refund, get_refund
from siyu.pricing.activity import ActivityPrice, activity_quote
from siyu.pricing.fetch import cart_lines
from siyu.pricing.info import PricingSettings, Quote
from siyu.timers import schedule_timer

SOURCE = "group_buy"


# ---------------------------------------------------------------- joining


@dataclass(frozen=True)
class Checkout:
    """How the member's order is placed (the route's settings and the form)."""

    address: Address | None
    address_id: int | None
    note: str
    pricing: PricingSettings
    payment_timeout: timedelta


def _joinable(campaign: GroupBuyCampaign, now: datetime) -> None:
    if not (
        campaign.status is CampaignStatus.active and campaign.starts_at <= now < campaign.ends_at
    ):
        raise Conflict(
            "group_buy_not_running", "拼团活动未开始或已结束 / The group buy is not running"
        )


def _price(campaign: GroupBuyCampaign) -> ActivityPrice:
    first = campaign.tier_list[0]
    return ActivityPrice(
        campaign_id=campaign.id,
        kind=SOURCE,
        name_zh=f"{first.size}人拼团",
        name_en=f"{first.size}-person group buy",
        unit_price_fen=first.price_fen,
        free_shipping=campaign.free_shipping,
    )


def open_group(
    session: Session,
    *,
    campaign_id: int,
    shopper_id: int,
    quantity: int,
    checkout: Checkout,
    now: datetime,
) -> tuple[Order, GroupBuyGroup]:
    """The leader's order and its group (``pending`` until the order is paid)."""
    campaign = get_campaign(session, campaign_id)
    _joinable(campaign, now)
    _check_quantity(campaign, quantity)
    made: list[GroupBuyGroup] = []

    def claim(s: Session, order: Order) -> None:
        _count_seat(s, campaign, shopper_id)
        group = GroupBuyGroup(
            campaign_id=campaign.id, leader_id=shopper_id, size=campaign.tier_list[-1].size,
            status=GroupStatus.pending, seats_taken=1, seats_paid=0, created_at=now,
        )  # fmt: skip
        s.add(group)
        s.flush()
        s.add(_seat(group, campaign, shopper_id, order, None, True, quantity, now))
        made.append(group)

    order = _place(session, campaign, shopper_id, quantity, checkout, claim, now)
    return order, made[0]


def join_group(
    session: Session,
    *,
    group_id: int,
    shopper_id: int,
    quantity: int,
    sharer_id: int | None,
    checkout: Checkout,
    now: datetime,
) -> tuple[Order, GroupBuyGroup]:
    """A member's order and seat in an open group (the share carries ``sharer_id``)."""
    group = get_group(session, group_id)
    campaign = get_campaign(session, group.campaign_id)
    _joinable(campaign, now)
    _check_quantity(campaign, quantity)
    if (
        group.status is not GroupStatus.open
        or group.deadline_at is None
        or group.deadline_at <= now
    ):
        raise Conflict("group_closed", "该团已结束或尚未开团 / This group is not open")
    mine = session.scalar(
        select(GroupBuySeat).where(
            GroupBuySeat.group_id == group.id, GroupBuySeat.shopper_id == shopper_id
        )
    )
    if mine is not None and mine.status is not SeatStatus.released:
        raise Conflict("already_in_group", "你已在这个团里 / You are already in this group")
    if campaign.new_shoppers_only and not is_new_shopper(session, shopper_id):
        raise Conflict(
            "new_shoppers_only", "该团仅限新用户参与 / This group is for new shoppers only"
        )
    if sharer_id == shopper_id:
        sharer_id = None

    def claim(s: Session, order: Order) -> None:
        taken = s.execute(
            update(GroupBuyGroup)
            .where(
                GroupBuyGroup.id == group.id,
                GroupBuyGroup.status == GroupStatus.open,
                GroupBuyGroup.deadline_at > now,
                GroupBuyGroup.seats_taken < GroupBuyGroup.size,
            )
            .values(seats_taken=GroupBuyGroup.seats_taken + 1)
            .execution_options(synchronize_session=False)
        )
        if rowcount(taken) != 1:
            raise Conflict(
                "group_full", "该团已满，去开个新团吧 / This group is full: open a new one"
            )
        _count_seat(s, campaign, shopper_id)
        if mine is not None:  # a seat released by an unpaid order, taken again
            reused = s.execute(
                update(GroupBuySeat)
                .where(GroupBuySeat.id == mine.id, GroupBuySeat.status == SeatStatus.released)
                .values(status=SeatStatus.reserved, order_id=order.id, quantity=quantity,
                        sharer_id=sharer_id, created_at=now)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
            if rowcount(reused) != 1:
                raise Conflict("already_in_group", "你已在这个团里 / You are already in this group")
        else:
            try:  # the unique (group, shopper) seat refuses a concurrent second one
                with s.begin_nested():
                    s.add(
                        _seat(group, campaign, shopper_id, order, sharer_id, False, quantity, now)
                    )
            except IntegrityError:
                raise Conflict(
                    "already_in_group", "你已在这个团里 / You are already in this group"
                ) from None

    order = _place(session, campaign, shopper_id, quantity, checkout, claim, now)
    session.refresh(group)
    return order, group


def _check_quantity(campaign: GroupBuyCampaign, quantity: int) -> None:
    if not 1 <= quantity <= campaign.max_quantity:
        raise InvalidInput(
            "bad_quantity",
            f"每人每团限购 {campaign.max_quantity} 件 / At most {campaign.max_quantity} a member",
            {"quantity": "range"},
        )


def _count_seat(session: Session, campaign: GroupBuyCampaign, shopper_id: int) -> None:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    limit = campaign.per_shopper_limit
    stmt = insert(GroupBuyShopperCount).values(
        campaign_id=campaign.id, shopper_id=shopper_id, count=1
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["campaign_id", "shopper_id"],
        set_={"count": GroupBuyShopperCount.count + 1},
        where=(GroupBuyShopperCount.count < limit) if limit > 0 else None,
    )
    if session.scalar(stmt.returning(GroupBuyShopperCount.count)) is None:
        raise Conflict(
            "group_buy_limit", f"每人限参与 {limit} 次 / At most {limit} groups a shopper"
        )


def _uncount_seat(session: Session, seat: GroupBuySeat) -> None:
    session.execute(
        update(GroupBuyShopperCount)
        .where(
            GroupBuyShopperCount.campaign_id == seat.campaign_id,
            GroupBuyShopperCount.shopper_id == seat.shopper_id,
            GroupBuyShopperCount.count > 0,
        )
        .values(count=GroupBuyShopperCount.count - 1)
        .execution_options(synchronize_session=False)
    )


def _seat(
    group: GroupBuyGroup, campaign: GroupBuyCampaign, shopper_id: int, order: Order,
    sharer_id: int | None, leader: bool, quantity: int, now: datetime,
) -> GroupBuySeat:  # fmt: skip
    return GroupBuySeat(
        group_id=group.id, campaign_id=campaign.id, shopper_id=shopper_id, order_id=order.id,
        sharer_id=sharer_id, is_leader=leader, status=SeatStatus.reserved,
        unit_price_fen=campaign.tier_list[0].price_fen, quantity=quantity, created_at=now,
    )  # fmt: skip


def _place(
    session: Session,
    campaign: GroupBuyCampaign,
    shopper_id: int,
    quantity: int,
    checkout: Checkout,
    claim: Callable[[Session, Order], None],
    now: datetime,
) -> Order:
    return place_order(
        session,
        shopper_id=shopper_id,
        items=[(campaign.sku_id, quantity)],
        address=checkout.address,
        address_id=checkout.address_id,
        note=checkout.note,
        source=SOURCE,
        payment_timeout=checkout.payment_timeout,
        now=now,
        pricing=checkout.pricing,
        activity=Activity(price=_price(campaign), claim=claim),
    )


def quote(session: Session, campaign_id: int, quantity: int, pricing: PricingSettings) -> Quote:
    """What a member pays now: the campaign's price through the same pricing as the
    order (``siyu.pricing.activity``), so the checkout shows the amount charged."""
    campaign = get_campaign(session, campaign_id)
    _check_quantity(campaign, quantity)
    lines = cart_lines(session, [(campaign.sku_id, quantity)])
    if not lines:
        raise Conflict("sku_unavailable", "商品已下架 / The item is unavailable")
    return activity_quote(lines[0], _price(campaign), pricing)


# ---------------------------------------------------------------- the lifecycle


def seat_paid(session: Session, event: OrderPaid, now: datetime) -> None:
    """The member's order is paid: the seat is paid and the order waits for the group
    (``hold``); the leader's payment opens the group and starts its clock; the paid
    seat that fills the biggest tier completes it. A payment that arrives after the
    group ended (it failed, or completed without this seat) is refunded at once."""
    if event.source != SOURCE:
        return
    seat = seat_of_order(session, event.order_id)
    if seat is None:
        return
    moved = session.execute(
        update(GroupBuySeat)
        .where(GroupBuySeat.id == seat.id, GroupBuySeat.status == SeatStatus.reserved)
        .values(status=SeatStatus.paid, paid_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(moved) != 1:
        return
    group = get_group(session, seat.group_id)
    campaign = get_campaign(session, group.campaign_id)
    if seat.is_leader:
        deadline = now + timedelta(minutes=campaign.duration_minutes)
        opened = session.execute(
            update(GroupBuyGroup)
            .where(GroupBuyGroup.id == group.id, GroupBuyGroup.status == GroupStatus.pending)
            .values(status=GroupStatus.open, seats_paid=1, opened_at=now, deadline_at=deadline)
            .returning(GroupBuyGroup.seats_paid)
        ).first()
        if opened is None:
            _refund_seat(session, seat, "group_buy_closed", "拼团已结束，自动退款", "GBC", now)
            return
        schedule_timer(session, DEADLINE_TIMER, group.id, due_at=deadline,
                       payload={"group_id": group.id}, now=now)  # fmt: skip
        paid = 1
    else:
        row = session.execute(
            update(GroupBuyGroup)
            .where(GroupBuyGroup.id == group.id, GroupBuyGroup.status == GroupStatus.open)
            .values(seats_paid=GroupBuyGroup.seats_paid + 1)
            .returning(GroupBuyGroup.seats_paid)
        ).first()
        if row is None:
            _refund_seat(session, seat, "group_buy_closed", "拼团已结束，自动退款", "GBC", now)
            return
        paid = int(row[0])
    _hold(session, [seat.order_id])
    tiers = campaign.tier_list
    if is_full(paid, tiers):
        _complete(session, group, campaign, tiers[-1], now)


def seat_released(session: Session, event: OrderCancelled, now: datetime) -> None:
    """An unpaid member order was cancelled (timeout, shopper): the seat is free again;
    a leader who never paid abandons the group."""
    if event.source != SOURCE:
        return
    seat = seat_of_order(session, event.order_id)
    if seat is None:
        return
    moved = session.execute(
        update(GroupBuySeat)
        .where(GroupBuySeat.id == seat.id, GroupBuySeat.status == SeatStatus.reserved)
        .values(status=SeatStatus.released)
        .execution_options(synchronize_session=False)
    )
    if rowcount(moved) != 1:
        return
    _uncount_seat(session, seat)
    values: dict[str, Any] = {"seats_taken": GroupBuyGroup.seats_taken - 1}
    if seat.is_leader:
        values.update(status=GroupStatus.abandoned, ended_at=now)
    session.execute(
        update(GroupBuyGroup)
        .where(GroupBuyGroup.id == seat.group_id, GroupBuyGroup.seats_taken > 0)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def seat_refunded(session: Session, event: OrderRefunded, now: datetime) -> None:
    """A member got all their money back through after-sales while the group was open:
    the seat is given up (another shopper can take it). In a completed group the seat
    stays counted and shows as refunded, never as a member who paid (CRMEB #27)."""
    if event.source != SOURCE or not event.fully_refunded or event.kind.startswith("group_buy"):
        return
    seat = seat_of_order(session, event.order_id)
    if seat is None:
        return
    moved = session.execute(
        update(GroupBuySeat)
        .where(GroupBuySeat.id == seat.id, GroupBuySeat.status == SeatStatus.paid)
        .values(status=SeatStatus.refunded)
        .execution_options(synchronize_session=False)
    )
    if rowcount(moved) != 1:
        return
    _uncount_seat(session, seat)
    session.execute(
        update(GroupBuyGroup)
        .where(GroupBuyGroup.id == seat.group_id, GroupBuyGroup.status == GroupStatus.open)
        .values(seats_paid=GroupBuyGroup.seats_paid - 1, seats_taken=GroupBuyGroup.seats_taken - 1)
        .execution_options(synchronize_session=False)
    )


def register_steps(lifecycle: OrderLifecycle) -> None:
    lifecycle.on_paid("group_buy.seat_paid", seat_paid)
    lifecycle.on_cancelled("group_buy.seat_released", seat_released)
    lifecycle.on_refunded("group_buy.seat_refunded", seat_refunded)


# ---------------------------------------------------------------- the end of a group


def deadline_reached(
    lifecycle: OrderLifecycle, session: Session, payload: dict[str, Any], now: datetime
) -> datetime | None:
    """The group's timer: at the deadline the group completes at the tier its paid
    members reached (or, with 模拟成团 on, at the first tier with simulated members),
    else fails and every paid member is refunded. A group already ended: nothing."""
    group = session.get(GroupBuyGroup, int(payload["group_id"]))
    if group is None or group.status is not GroupStatus.open:
        return None
    if group.deadline_at is not None and now < group.deadline_at:
        return group.deadline_at
    campaign = get_campaign(session, group.campaign_id)
    tiers = campaign.tier_list
    final = reached_tier(tiers, group.seats_paid)
    if final is None and campaign.auto_fill and group.seats_paid > 0:
        group.virtual_seats = virtual_fill(group.seats_paid, tiers)
        final = tiers[0]
    if final is not None:
        _complete(session, group, campaign, final, now)
    else:
        _fail(session, group, now)
    _cancel_unpaid(session, lifecycle, group.id, now)
    return None


def _complete(
    session: Session, group: GroupBuyGroup, campaign: GroupBuyCampaign, final: Tier, now: datetime
) -> None:
    ended = session.execute(
        update(GroupBuyGroup)
        .where(GroupBuyGroup.id == group.id, GroupBuyGroup.status == GroupStatus.open)
        .values(status=GroupStatus.completed, ended_at=now, final_price_fen=final.price_fen,
                virtual_seats=group.virtual_seats or 0)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if rowcount(ended) != 1:
        return
    paid = _paid_seats(session, group.id)
    _hold(session, [s.order_id for s in paid], None)
    tiers = campaign.tier_list
    for seat in paid:
        back = ladder_refund_fen(tiers, final, seat.quantity)
        if back > 0:
            _refund_seat(session, seat, "group_buy_ladder", "阶梯拼团差价退款", "GBL", now,
                         amount_fen=back)  # fmt: skip
    session.refresh(group)


def _fail(session: Session, group: GroupBuyGroup, now: datetime) -> None:
    ended = session.execute(
        update(GroupBuyGroup)
        .where(GroupBuyGroup.id == group.id, GroupBuyGroup.status == GroupStatus.open)
        .values(status=GroupStatus.failed, ended_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(ended) != 1:
        return
    for seat in _paid_seats(session, group.id):
        _refund_seat(session, seat, "group_buy_failed", "拼团未成团，自动退款", "GBF", now)
    session.refresh(group)


def _cancel_unpaid(
    session: Session, lifecycle: OrderLifecycle, group_id: int, now: datetime
) -> None:
    """Orders still waiting for payment when the group ended are cancelled (their
    stock comes back through the ``cancelled`` steps)."""
    for seat in session.scalars(
        select(GroupBuySeat).where(
            GroupBuySeat.group_id == group_id, GroupBuySeat.status == SeatStatus.reserved
        )
    ):
        order = session.get(Order, seat.order_id)
        if order is not None and order.status is OrderStatus.pending_payment:
            cancel_order(session, lifecycle, order, reason="group_ended", now=now)


def _paid_seats(session: Session, group_id: int) -> list[GroupBuySeat]:
    return list(
        session.scalars(
            select(GroupBuySeat)
            .where(GroupBuySeat.group_id == group_id, GroupBuySeat.status == SeatStatus.paid)
            .order_by(GroupBuySeat.id)
        )
    )


def _refund_seat(
    session: Session,
    seat: GroupBuySeat,
    kind: str,
    reason: str,
    prefix: str,
    now: datetime,
    *,
    amount_fen: int | None = None,
) -> None:
    """Refund a member once: the whole order (``amount_fen`` None, stock back) or a
    ladder difference. Keyed by the seat: a second call finds the first refund."""
    out_refund_no = f"{prefix}{seat.id}"
    if get_refund(session, out_refund_no) is not None:
        return
    order = session.get(Order, seat.order_id)
    if order is None or order.paid_fen <= 0:
        return
    whole = amount_fen is None
    line = order.lines[0]
    if whole:
        amount = order.paid_fen - order.refunded_fen
        parts = [{"order_line_id": line.id, "quantity": line.quantity - line.refunded_quantity,
                  "amount_fen": line.payable_fen - line.refunded_fen}]  # fmt: skip
    else:
        amount = min(amount_fen or 0, order.paid_fen - order.refunded_fen)
        parts = [{"order_line_id": line.id, "quantity": 0, "amount_fen": amount}]
    if amount <= 0:
        return
    create_refund(
        session, order=order, provider=order.payment_provider or "sandbox", amount_fen=amount,
        reason=reason, kind=kind, lines=parts, restock=whole, aftersale_id=None, now=now,
        out_refund_no=out_refund_no, submit_now=True,
    )  # fmt: skip
    if whole:
        session.execute(
            update(GroupBuySeat)
            .where(GroupBuySeat.id == seat.id)
            .values(status=SeatStatus.refunded, refund_no=out_refund_no)
            .execution_options(synchronize_session=False)
        )
        _uncount_seat(session, seat)
        _hold(session, [seat.order_id], None)
    else:
        session.execute(
            update(GroupBuySeat)
            .where(GroupBuySeat.id == seat.id)
            .values(refund_no=out_refund_no)
            .execution_options(synchronize_session=False)
        )


def _hold(session: Session, order_ids: list[int], hold: str | None = HOLD) -> None:
    if order_ids:
        session.execute(
            update(Order).where(Order.id.in_(order_ids)).values(hold=hold)
        )  # synchronized: the paid order in this session answers with its hold
