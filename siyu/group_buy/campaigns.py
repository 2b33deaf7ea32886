"""Group-buy campaigns: an operator's campaigns and what they read back — groups to
join, a group's seats, and the live figures of a campaign."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.catalog.models import Sku
from siyu.db import get_or_raise, rowcount
from siyu.errors import Conflict, InvalidInput, NotFound
from siyu.group_buy.models import GroupBuyCampaign, GroupBuyGroup, GroupBuySeat
from siyu.group_buy.rules import CampaignStatus, GroupStatus, Tier, can_move, check_tiers
from siyu.identity.audit import record_audit
from siyu.identity.models import Shopper
from siyu.order.models import Order

CAMPAIGN_FIELDS = ("name", "sku_id", "tiers", "duration_minutes", "max_quantity",
                   "per_shopper_limit", "new_shoppers_only", "auto_fill", "free_shipping",
                   "starts_at", "ends_at", "status")  # fmt: skip

# ---------------------------------------------------------------- campaigns


def save_campaign(
    session: Session,
    values: dict[str, Any],
    *,
    now: datetime,
    campaign_id: int | None = None,
    actor_id: int | None = None,
) -> GroupBuyCampaign:
    """Create or edit a campaign. The SKU and tiers of a campaign with groups are fixed
    (members paid that price). An operator's change (``actor_id``) is audited."""
    sku = session.get(Sku, values["sku_id"])
    if sku is None:
        raise InvalidInput("sku_not_found", "商品规格不存在 / No such SKU", {"sku_id": "not_found"})
    tiers = [Tier(int(size), int(price)) for size, price in values["tiers"]]
    problem = check_tiers(tiers, sku.price_fen)
    if problem:
        raise InvalidInput("bad_tiers", problem, {"tiers": "invalid"})
    if not 5 <= values["duration_minutes"] <= 7 * 24 * 60:
        raise InvalidInput(
            "bad_duration",
            "成团时限需在 5 分钟到 7 天之间 / The time limit is 5 minutes to 7 days",
            {"duration_minutes": "range"},
        )
    if values["ends_at"] <= values["starts_at"]:
        raise InvalidInput(
            "bad_period",
            "结束时间需晚于开始时间 / The end is after the start",
            {"ends_at": "order"},
        )
    if not 1 <= values["max_quantity"] <= 99 or not 0 <= values["per_shopper_limit"] <= 99:
        raise InvalidInput(
            "bad_limit", "限购数量需在 0 到 99 之间 / Limits are 0-99", {"max_quantity": "range"}
        )
    row = session.get(GroupBuyCampaign, campaign_id) if campaign_id is not None else None
    if campaign_id is not None and row is None:
        raise NotFound("group_buy_not_found", "拼团活动不存在 / No such group buy")
    fixed = row is not None and (
        row.sku_id != values["sku_id"] or row.tiers != [[t.size, t.price_fen] for t in tiers]
    )
    if row is not None and fixed and has_groups(session, row.id):
        raise Conflict(
            "group_buy_has_groups",
            "已有人开团，商品和价格不能再改 / Groups were opened: the item and prices are fixed",
        )
    before = None if row is None else _audited(row)
    if row is None:
        row = GroupBuyCampaign(created_at=now)
        session.add(row)
    for name in CAMPAIGN_FIELDS:
        setattr(row, name, values[name])
    row.tiers = [[t.size, t.price_fen] for t in tiers]
    row.product_id = sku.product_id
    row.updated_at = now
    session.flush()
    if actor_id is not None:
        record_audit(
            session, operator_id=actor_id, action="group_buy.save", target_type="group_buy",
            target_id=row.id, before=before, after=_audited(row), now=now,
        )  # fmt: skip
    return row


def _audited(row: GroupBuyCampaign) -> dict[str, Any]:
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name in CAMPAIGN_FIELDS
        for value in [getattr(row, name)]
    } | {"status": str(row.status)}


def set_campaign_status(
    session: Session, *, campaign_id: int, status: CampaignStatus, now: datetime,
    actor_id: int | None = None,
) -> GroupBuyCampaign:  # fmt: skip
    """Start, pause, resume or end a campaign (``rules.STATUS_MOVES``). Pausing or ending
    stops new groups and members; groups already open run to their deadline, their
    members paid. Conditional on the status read, so two operators cannot both move it;
    an operator's change (``actor_id``) is audited."""
    campaign = get_campaign(session, campaign_id)
    before = campaign.status
    if not can_move(before, status):
        raise Conflict(
            "group_buy_bad_status",
            f"拼团活动不能从「{before}」改为「{status}」 / A {before} group buy cannot be {status}",
            {"status": "invalid"},
        )
    moved = session.execute(
        update(GroupBuyCampaign)
        .where(GroupBuyCampaign.id == campaign.id, GroupBuyCampaign.status == before)
        .values(status=status, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(moved) != 1:
        raise Conflict("group_buy_status_changed", "活动状态已被修改，请刷新 / The status changed")
    session.refresh(campaign)
    if actor_id is not None:
        record_audit(
            session, operator_id=actor_id, action="group_buy.status", target_type="group_buy",
            target_id=campaign.id, before={"status": str(before)}, after={"status": str(status)},
            now=now,
        )  # fmt: skip
    return campaign


def has_groups(session: Session, campaign_id: int) -> bool:
    return (
        session.scalar(select(GroupBuyGroup.id).where(GroupBuyGroup.campaign_id == campaign_id))
        is not None
    )


def get_campaign(session: Session, campaign_id: int) -> GroupBuyCampaign:
    return get_or_raise(
        session,
        GroupBuyCampaign,
        campaign_id,
        NotFound("group_buy_not_found", "拼团活动不存在 / No such group buy"),
    )


def list_campaigns(
    session: Session, *, now: datetime | None = None, product_id: int | None = None
) -> list[GroupBuyCampaign]:
    """Every campaign (the console), or with ``now`` those a shopper can join now."""
    stmt = select(GroupBuyCampaign).order_by(GroupBuyCampaign.id.desc())
    if now is not None:
        stmt = stmt.where(
            GroupBuyCampaign.status == CampaignStatus.active,
            GroupBuyCampaign.starts_at <= now,
            GroupBuyCampaign.ends_at > now,
        )
    if product_id is not None:
        stmt = stmt.where(GroupBuyCampaign.product_id == product_id)
    return list(session.scalars(stmt))


def get_group(session: Session, group_id: int) -> GroupBuyGroup:
    return get_or_raise(
        session, GroupBuyGroup, group_id, NotFound("group_not_found", "拼团不存在 / No such group")
    )


def open_groups(
    session: Session, campaign_id: int, now: datetime, limit: int = 10
) -> list[GroupBuyGroup]:
    """Groups a shopper can still join, the closest to completing first."""
    return list(
        session.scalars(
            select(GroupBuyGroup)
            .where(
                GroupBuyGroup.campaign_id == campaign_id,
                GroupBuyGroup.status == GroupStatus.open,
                GroupBuyGroup.deadline_at > now,
                GroupBuyGroup.seats_taken < GroupBuyGroup.size,
            )
            .order_by((GroupBuyGroup.size - GroupBuyGroup.seats_taken), GroupBuyGroup.deadline_at)
            .limit(limit)
        )
    )


def seats(session: Session, group_id: int) -> list[tuple[GroupBuySeat, Shopper]]:
    return [
        (seat, shopper)
        for seat, shopper in session.execute(
            select(GroupBuySeat, Shopper)
            .join(Shopper, Shopper.id == GroupBuySeat.shopper_id)
            .where(GroupBuySeat.group_id == group_id)
            .order_by(GroupBuySeat.id)
        )
    ]


def seat_of_order(session: Session, order_id: int) -> GroupBuySeat | None:
    return session.scalar(select(GroupBuySeat).where(GroupBuySeat.order_id == order_id))


# ---------------------------------------------------------------- figures


def campaign_stats(session: Session, campaign_id: int) -> dict[str, int]:
    """Groups by status, members paid, units sold, refunds issued (the group buy's own:
    failure and ladder refunds) and money refunded on the campaign's orders for any
    reason (after-sales too), and new shoppers brought in: members (not the leader)
    whose first paid order is their group order, and of them those who joined through
    a share (their seat carries the sharer)."""
    by_status: dict[GroupStatus, int] = {
        status: count
        for status, count in session.execute(
            select(GroupBuyGroup.status, func.count())
            .where(GroupBuyGroup.campaign_id == campaign_id)
            .group_by(GroupBuyGroup.status)
        )
    }
    paid_seats = (
        select(GroupBuySeat)
        .where(GroupBuySeat.campaign_id == campaign_id, GroupBuySeat.paid_at.is_not(None))
        .subquery()
    )
    members, units = session.execute(
        select(func.count(), func.coalesce(func.sum(paid_seats.c.quantity), 0)).select_from(
            paid_seats
        )
    ).one()
    refunds = session.scalar(
        select(func.count())
        .select_from(GroupBuySeat)
        .where(GroupBuySeat.campaign_id == campaign_id, GroupBuySeat.refund_no.is_not(None))
    )
    refunded_orders, refunded_fen = session.execute(
        select(func.count(), func.coalesce(func.sum(Order.refunded_fen), 0))
        .select_from(GroupBuySeat)
        .join(Order, Order.id == GroupBuySeat.order_id)
        .where(GroupBuySeat.campaign_id == campaign_id, Order.refunded_fen > 0)
    ).one()
    first_paid = (
        select(Order.shopper_id, func.min(Order.paid_at).label("first"))
        .where(Order.paid_at.is_not(None))
        .group_by(Order.shopper_id)
        .subquery()
    )
    new, new_via_share = session.execute(
        select(func.count(), func.count(GroupBuySeat.sharer_id))
        .select_from(GroupBuySeat)
        .join(Order, Order.id == GroupBuySeat.order_id)
        .join(first_paid, first_paid.c.shopper_id == GroupBuySeat.shopper_id)
        .where(
            GroupBuySeat.campaign_id == campaign_id,
            GroupBuySeat.is_leader.is_(False),
            Order.paid_at == first_paid.c.first,
        )
    ).one()
    ended = sum(by_status.get(s, 0) for s in (GroupStatus.completed, GroupStatus.failed))
    return {
        "groups_opened": sum(
            by_status.get(s, 0) for s in GroupStatus if s is not GroupStatus.pending
        ),
        "groups_open": by_status.get(GroupStatus.open, 0),
        "groups_completed": by_status.get(GroupStatus.completed, 0),
        "groups_failed": by_status.get(GroupStatus.failed, 0),
        "success_rate_percent": round(100 * by_status.get(GroupStatus.completed, 0) / ended)
        if ended
        else 0,
        "members_paid": int(members),
        "units_sold": int(units),
        "refunds": int(refunds or 0),
        "refunded_orders": int(refunded_orders),
        "refunded_fen": int(refunded_fen),
        "new_shoppers": int(new or 0),
        "new_via_share": int(new_via_share or 0),
    }


def campaign_groups(session: Session, campaign_id: int, limit: int = 200) -> list[GroupBuyGroup]:
    return list(
        session.scalars(
            select(GroupBuyGroup)
            .where(GroupBuyGroup.campaign_id == campaign_id)
            .order_by(GroupBuyGroup.id.desc())
            .limit(limit)
        )
    )


def campaign_members(
    session: Session, campaign_id: int
) -> dict[int, list[tuple[GroupBuySeat, Shopper]]]:
    """Every seat of a campaign with its shopper, by group (the console's groups page):
    one read instead of one per group."""
    by_group: dict[int, list[tuple[GroupBuySeat, Shopper]]] = {}
    for seat, shopper in session.execute(
        select(GroupBuySeat, Shopper)
        .join(Shopper, Shopper.id == GroupBuySeat.shopper_id)
        .where(GroupBuySeat.campaign_id == campaign_id)
        .order_by(GroupBuySeat.id)
    ):
        by_group.setdefault(seat.group_id, []).append((seat, shopper))
    return by_group
