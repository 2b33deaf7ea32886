"""Rising-price use cases: an operator's campaigns; a shopper's purchase (an order
placed through ``siyu.order.placement`` at the price the rule gives for the units
sold and ``now``, the units claimed in the same transaction); the units following
their orders on the lifecycle seam — paid, back to the count when the order is
cancelled before payment or refunded in full.

The count is ``rising_price_campaigns.units_sold`` (placed units), raised by a guarded
update: an order priced at the base price claims only while the quota lasts
(``units_sold + q <= base_units``), else nothing is written and the shopper gets
the new price (409 ``rising_price_changed``). The per-shopper limit is a guarded
upsert on UNIQUE (campaign, shopper).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from siyu.catalog.models import Sku
from siyu.db import get_or_raise, rowcount
from siyu.errors import Conflict, InvalidInput, NotFound
from siyu.lifecycle import OrderCancelled, OrderLifecycle, OrderPaid, OrderRefunded
from siyu.money import format_yuan
from siyu.order.models import Order
from siyu.order.placement import Activity, Address, place_order
from siyu.pricing.activity import ActivityPrice
from siyu.pricing.info import PricingSettings
from siyu.rising_price.models import (
    RisingPriceCampaign,
    RisingPricePurchase,
    RisingPriceShopperCount,
)
from siyu.rising_price.rules import (
    SOURCE,
    CampaignStatus,
    PurchaseStatus,
    RisingQuote,
    RisingRule,
    check_campaign,
    order_price,
    rising_quote,
)

CAMPAIGN_FIELDS = ("name", "base_price_fen", "base_units", "step_percent", "interval_minutes",
                   "cap_price_fen", "per_shopper_limit", "starts_at", "ends_at", "status")  # fmt: skip
NOT_FOUND = NotFound("rising_price_not_found", "阶梯涨价活动不存在 / No such rising-price sale")


def rule_of(campaign: RisingPriceCampaign) -> RisingRule:
    return RisingRule(
        starts_at=campaign.starts_at,
        base_price_fen=campaign.base_price_fen,
        base_units=campaign.base_units,
        step_percent=campaign.step_percent,
        interval_minutes=campaign.interval_minutes,
        cap_price_fen=campaign.cap_price_fen,
    )


def quote_of(campaign: RisingPriceCampaign, now: datetime) -> RisingQuote:
    return rising_quote(rule_of(campaign), campaign.units_sold, now, campaign.ends_at)


def is_running(campaign: RisingPriceCampaign, now: datetime) -> bool:
    return campaign.status is CampaignStatus.active and campaign.starts_at <= now < campaign.ends_at


# ---------------------------------------------------------------- the operator


def save_campaign(
    session: Session, values: dict[str, Any], *, now: datetime, campaign_id: int | None = None
) -> RisingPriceCampaign:
    """Create or edit a campaign. Its SKU is fixed once units are sold."""
    row = session.get(RisingPriceCampaign, campaign_id) if campaign_id is not None else None
    if campaign_id is not None and row is None:
        raise NOT_FOUND
    sku = session.get(Sku, values["sku_id"])
    if sku is None:
        raise InvalidInput("sku_not_found", "商品规格不存在 / No such SKU", {"sku_id": "not_found"})
    if row is not None and row.sku_id != sku.id and row.units_sold > 0:
        raise Conflict(
            "rising_price_has_sales", "已有售出，商品不能再改 / Units were sold: the item is fixed"
        )
    values = {k: v.astimezone(UTC) if isinstance(v, datetime) else v for k, v in values.items()}
    problem = check_campaign(
        base_price_fen=values["base_price_fen"], base_units=values["base_units"],
        step_percent=values["step_percent"], interval_minutes=values["interval_minutes"],
        cap_price_fen=values["cap_price_fen"], shelf_price_fen=sku.price_fen,
        per_shopper_limit=values["per_shopper_limit"], starts_at=values["starts_at"],
        ends_at=values["ends_at"],
    )  # fmt: skip
    if problem:
        field, message = problem
        raise InvalidInput("bad_rising_price", message, {field: "invalid"})
    if row is None:
        row = RisingPriceCampaign(created_at=now, units_sold=0)
        session.add(row)
    for name in CAMPAIGN_FIELDS:
        setattr(row, name, values[name])
    row.sku_id = sku.id
    row.product_id = sku.product_id
    row.updated_at = now
    session.flush()
    return row


def get_campaign(session: Session, campaign_id: int) -> RisingPriceCampaign:
    return get_or_raise(session, RisingPriceCampaign, campaign_id, NOT_FOUND)


def list_campaigns(
    session: Session,
    *,
    now: datetime | None = None,
    product_id: int | None = None,
    sku_id: int | None = None,
) -> list[RisingPriceCampaign]:
    """Every campaign (the console), or with ``now`` those running now."""
    stmt = select(RisingPriceCampaign).order_by(RisingPriceCampaign.id.desc())
    if now is not None:
        stmt = stmt.where(
            RisingPriceCampaign.status == CampaignStatus.active,
            RisingPriceCampaign.starts_at <= now,
            RisingPriceCampaign.ends_at > now,
        )
    if product_id is not None:
        stmt = stmt.where(RisingPriceCampaign.product_id == product_id)
    if sku_id is not None:
        stmt = stmt.where(RisingPriceCampaign.sku_id == sku_id)
    return list(session.scalars(stmt.limit(200)))


# ---------------------------------------------------------------- buying


@dataclass(frozen=True)
class Checkout:
    address: Address | None
    address_id: int | None
    note: str
    pricing: PricingSettings
    payment_timeout: timedelta


def buy(
    session: Session,
    *,
    campaign_id: int,
    shopper_id: int,
    quantity: int,
    expected_unit_price_fen: int | None,
    checkout: Checkout,
    now: datetime,
) -> tuple[Order, RisingPriceCampaign]:
    """The shopper's order at the price of now. ``expected_unit_price_fen`` is the
    price the shopper was shown: if it rose since, nothing is written (409
    ``rising_price_changed``)."""
    campaign = get_campaign(session, campaign_id)
    if not is_running(campaign, now):
        raise Conflict("rising_price_not_running", "活动未开始或已结束 / The sale is not running")
    if not 1 <= quantity <= campaign.per_shopper_limit:
        raise InvalidInput(
            "bad_quantity",
            f"每人限购 {campaign.per_shopper_limit} 件 / At most {campaign.per_shopper_limit} "
            "a shopper",
            {"quantity": "range"},
        )
    rule = rule_of(campaign)
    unit = order_price(rule, campaign.units_sold, quantity, now)
    if expected_unit_price_fen is not None and expected_unit_price_fen != unit:
        raise _changed(unit)
    at_base = campaign.units_sold + quantity <= campaign.base_units

    def claim(s: Session, order: Order) -> None:
        _count_units(s, campaign, shopper_id, quantity)
        stmt = update(RisingPriceCampaign).where(RisingPriceCampaign.id == campaign.id)
        if at_base:  # the quota may have gone since the price was read
            stmt = stmt.where(RisingPriceCampaign.units_sold + quantity <= campaign.base_units)
        taken = s.execute(
            stmt.values(units_sold=RisingPriceCampaign.units_sold + quantity)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        if rowcount(taken) != 1:
            s.expire(campaign)
            raise _changed(order_price(rule, campaign.units_sold, quantity, now))
        s.add(RisingPricePurchase(campaign_id=campaign.id, shopper_id=shopper_id,
                                  order_id=order.id, quantity=quantity, unit_price_fen=unit,
                                  status=PurchaseStatus.reserved, created_at=now))  # fmt: skip

    price = ActivityPrice(campaign_id=campaign.id, kind=SOURCE, name_zh="阶梯涨价",
                          name_en="Rising price", unit_price_fen=unit)  # fmt: skip
    order = place_order(
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
        activity=Activity(price=price, claim=claim),
    )
    session.refresh(campaign)
    return order, campaign


def _changed(unit: int) -> Conflict:
    return Conflict(
        "rising_price_changed",
        f"价格已变为 {format_yuan(unit)}，请确认后再下单 / The price is now {format_yuan(unit)}: "
        "please review",
        {"expected_unit_price_fen": str(unit)},
    )


def _count_units(
    session: Session, campaign: RisingPriceCampaign, shopper_id: int, quantity: int
) -> None:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    limit = campaign.per_shopper_limit
    stmt = insert(RisingPriceShopperCount).values(
        campaign_id=campaign.id, shopper_id=shopper_id, units=quantity
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["campaign_id", "shopper_id"],
        set_={"units": RisingPriceShopperCount.units + quantity},
        where=RisingPriceShopperCount.units + quantity <= limit,
    )
    if session.scalar(stmt.returning(RisingPriceShopperCount.units)) is None:
        raise Conflict(
            "rising_price_limit", f"每人限购 {limit} 件 / At most {limit} units a shopper"
        )


# ---------------------------------------------------------------- the lifecycle


def purchase_of(session: Session, order_id: int) -> RisingPricePurchase | None:
    return session.scalar(
        select(RisingPricePurchase).where(RisingPricePurchase.order_id == order_id)
    )


def purchase_paid(session: Session, event: OrderPaid, now: datetime) -> None:
    if event.source != SOURCE:
        return
    purchase = purchase_of(session, event.order_id)
    if purchase is None:
        return
    session.execute(
        update(RisingPricePurchase)
        .where(RisingPricePurchase.id == purchase.id,
               RisingPricePurchase.status == PurchaseStatus.reserved)
        .values(status=PurchaseStatus.paid, paid_at=now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip


def purchase_released(session: Session, event: OrderCancelled, now: datetime) -> None:
    """Cancelled before payment: the units go back to the count and the limit, once."""
    if event.source == SOURCE:
        _release(session, event.order_id, PurchaseStatus.reserved, now)


def purchase_refunded(session: Session, event: OrderRefunded, now: datetime) -> None:
    """Refunded in full: the units go back, once."""
    if event.source == SOURCE and event.fully_refunded:
        _release(session, event.order_id, PurchaseStatus.paid, now)


def _release(session: Session, order_id: int, expected: PurchaseStatus, now: datetime) -> None:
    purchase = purchase_of(session, order_id)
    if purchase is None:
        return
    moved = session.execute(
        update(RisingPricePurchase)
        .where(RisingPricePurchase.id == purchase.id, RisingPricePurchase.status == expected)
        .values(status=PurchaseStatus.released, released_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(moved) != 1:
        return
    q = purchase.quantity
    session.execute(
        update(RisingPriceCampaign)
        .where(RisingPriceCampaign.id == purchase.campaign_id, RisingPriceCampaign.units_sold >= q)
        .values(units_sold=RisingPriceCampaign.units_sold - q)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(RisingPriceShopperCount)
        .where(RisingPriceShopperCount.campaign_id == purchase.campaign_id,
               RisingPriceShopperCount.shopper_id == purchase.shopper_id,
               RisingPriceShopperCount.units >= q)
        .values(units=RisingPriceShopperCount.units - q)
        .execution_options(synchronize_session=False)
    )  # fmt: skip


def register_steps(lifecycle: OrderLifecycle) -> None:
    lifecycle.on_paid("rising_price.purchase_paid", purchase_paid)
    lifecycle.on_cancelled("rising_price.purchase_released", purchase_released)
    lifecycle.on_refunded("rising_price.purchase_refunded", purchase_refunded)
