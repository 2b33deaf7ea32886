"""Urgency cues for one item (a SKU, or a product and all its SKUs): recent real
purchases from paid, unrefunded orders with masked names, a low-stock hint from the
real stock, and the real end time of every play running on it. Reads only, except
the operator's settings (audited)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.bargain.models import BargainCampaign
from siyu.bargain.rules import CampaignStatus as BargainCampaignStatus
from siyu.catalog.models import Sku
from siyu.cues.models import CueSettings
from siyu.cues.rules import (
    FEED_SIZE,
    FEED_WINDOW,
    MAX_THRESHOLD,
    CueRules,
    Purchase,
    low_stock,
)
from siyu.errors import InvalidInput, NotFound
from siyu.flash_sale.models import FlashItem, FlashSession
from siyu.flash_sale.rules import SessionStatus
from siyu.group_buy.models import GroupBuyCampaign
from siyu.group_buy.rules import CampaignStatus as GroupCampaignStatus
from siyu.identity.audit import record_audit
from siyu.identity.models import Shopper
from siyu.identity.rules import mask_name
from siyu.order.models import Order, OrderLine
from siyu.order.rules import OrderStatus
from siyu.rising_price.models import RisingPriceCampaign
from siyu.rising_price.rules import CampaignStatus as RisingCampaignStatus

RULES_ID = 1
PAID_STATUSES = (OrderStatus.paid, OrderStatus.shipped, OrderStatus.completed)


def rules(session: Session, defaults: CueRules) -> CueRules:
    row = session.get(CueSettings, RULES_ID)
    if row is None:
        return defaults
    return CueRules(row.social_proof_enabled, row.low_stock_threshold)


def save_rules(
    session: Session,
    *,
    social_proof_enabled: bool,
    low_stock_threshold: int,
    defaults: CueRules,
    operator_id: int,
    now: datetime,
) -> CueRules:
    if not 0 <= low_stock_threshold <= MAX_THRESHOLD:
        raise InvalidInput(
            "bad_cue_settings",
            f"库存紧张阈值需在 0 到 {MAX_THRESHOLD} 之间 / The threshold is 0-{MAX_THRESHOLD}",
            {"low_stock_threshold": "range"},
        )
    before = rules(session, defaults)
    row = session.get(CueSettings, RULES_ID)
    if row is None:
        row = CueSettings(id=RULES_ID)
        session.add(row)
    row.social_proof_enabled = social_proof_enabled
    row.low_stock_threshold = low_stock_threshold
    row.updated_by = operator_id
    row.updated_at = now
    after = CueRules(social_proof_enabled, low_stock_threshold)
    record_audit(
        session, operator_id=operator_id, action="cue_settings.update",
        target_type="cue_settings", target_id=RULES_ID, before=_snapshot(before),
        after=_snapshot(after), now=now,
    )  # fmt: skip
    session.flush()
    return after


def _snapshot(r: CueRules) -> dict[str, Any]:
    return {
        "social_proof_enabled": r.social_proof_enabled,
        "low_stock_threshold": r.low_stock_threshold,
    }


@dataclass(frozen=True)
class Countdown:
    kind: str  # group_buy · flash_sale · rising_price · bargain
    campaign_id: int
    name: str
    ends_at: datetime


@dataclass(frozen=True)
class Cues:
    social_proof_enabled: bool
    purchases: list[Purchase]
    stock: int
    low_stock: tuple[str, str] | None
    countdowns: list[Countdown]


def item_cues(
    session: Session,
    *,
    sku_id: int | None,
    product_id: int | None,
    defaults: CueRules,
    now: datetime,
) -> Cues:
    if (sku_id is None) == (product_id is None):
        raise InvalidInput(
            "one_item", "请给出 sku_id 或 product_id 之一 / Give sku_id or product_id",
            {"sku_id": "one_of"},
        )  # fmt: skip
    if sku_id is not None:
        sku = session.get(Sku, sku_id)
        if sku is None:
            raise NotFound("sku_unavailable", f"商品 {sku_id} 不存在 / No such item")
        product, stock = sku.product_id, sku.stock if sku.is_active else 0
    else:
        assert product_id is not None
        product = product_id
        total = session.execute(
            select(func.count(), func.coalesce(func.sum(Sku.stock), 0)).where(
                Sku.product_id == product_id, Sku.is_active.is_(True)
            )
        ).one()
        if total[0] == 0:
            raise NotFound("product_not_found", f"商品 {product_id} 不存在 / No such product")
        stock = int(total[1])
    store = rules(session, defaults)
    purchases = recent_purchases(session, product, now) if store.social_proof_enabled else []
    return Cues(
        social_proof_enabled=store.social_proof_enabled,
        purchases=purchases,
        stock=stock,
        low_stock=low_stock(stock, store.low_stock_threshold),
        countdowns=countdowns(session, product_id=product, sku_id=sku_id, now=now),
    )


def recent_purchases(session: Session, product_id: int, now: datetime) -> list[Purchase]:
    """Orders of the product paid in the last days and not refunded at all, newest
    first, one entry per order."""
    rows = session.execute(
        select(Shopper.nickname, func.min(OrderLine.title), Order.paid_at)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Shopper, Shopper.id == Order.shopper_id)
        .where(
            OrderLine.product_id == product_id,
            Order.status.in_(PAID_STATUSES),
            Order.paid_at.is_not(None),
            Order.paid_at >= now - FEED_WINDOW,
            Order.paid_at <= now,
            Order.refunded_fen == 0,
        )
        .group_by(Order.id, Shopper.nickname, Order.paid_at)
        .order_by(Order.paid_at.desc(), Order.id.desc())
        .limit(FEED_SIZE)
    ).all()
    return [Purchase(mask_name(nick or ""), title, paid) for nick, title, paid in rows if paid]


def countdowns(
    session: Session, *, product_id: int, sku_id: int | None, now: datetime
) -> list[Countdown]:
    """The plays running on the item now, each with its real end, soonest first."""
    found: list[Countdown] = []
    group = select(GroupBuyCampaign).where(
        GroupBuyCampaign.status == GroupCampaignStatus.active,
        GroupBuyCampaign.starts_at <= now, GroupBuyCampaign.ends_at > now,
        GroupBuyCampaign.sku_id == sku_id if sku_id else GroupBuyCampaign.product_id == product_id,
    )  # fmt: skip
    found += [Countdown("group_buy", c.id, c.name, c.ends_at) for c in session.scalars(group)]
    flash = (
        select(FlashItem.id, FlashSession.name, FlashSession.ends_at)
        .join(FlashSession, FlashSession.id == FlashItem.session_id)
        .where(
            FlashSession.status == SessionStatus.active,
            FlashSession.starts_at <= now, FlashSession.ends_at > now,
            FlashItem.sku_id == sku_id if sku_id else FlashItem.product_id == product_id,
        )
    )  # fmt: skip
    found += [Countdown("flash_sale", i, n, e) for i, n, e in session.execute(flash)]
    rising = select(RisingPriceCampaign).where(
        RisingPriceCampaign.status == RisingCampaignStatus.active,
        RisingPriceCampaign.starts_at <= now, RisingPriceCampaign.ends_at > now,
        RisingPriceCampaign.sku_id == sku_id if sku_id
        else RisingPriceCampaign.product_id == product_id,
    )  # fmt: skip
    found += [Countdown("rising_price", c.id, c.name, c.ends_at) for c in session.scalars(rising)]
    bargain = select(BargainCampaign).where(
        BargainCampaign.status == BargainCampaignStatus.active,
        BargainCampaign.starts_at <= now, BargainCampaign.ends_at > now,
        BargainCampaign.sku_id == sku_id if sku_id else BargainCampaign.product_id == product_id,
    )  # fmt: skip
    found += [Countdown("bargain", c.id, c.name, c.ends_at) for c in session.scalars(bargain)]
    return sorted(found, key=lambda c: (c.ends_at, c.kind, c.campaign_id))[:20]
