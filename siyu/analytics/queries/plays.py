"""Play analytics (活动效果), computed from the store like the loyalty figures: orders,
their lines' discount allocations and the shoppers' share attribution live in the OLTP
database (SQLite or PostgreSQL), so these are SQL reads over a ``Session`` shaped in
Python. A range ``[date_from, date_to)`` (aware datetimes, Shanghai midnights from the
console) and ``now``: nothing after ``now`` is counted.

**Plays** are not a list kept here: every ``orders.source`` other than the checkout's
own (``cart``, ``buy_now``: :data:`CHECKOUT_SOURCES`) is a play — ``group_buy``,
``flash_sale`` and whatever a play package places orders as (``rising_price``,
``bargain`` …). An order's **campaign** is the ``source_id`` of its lines' ``activity``
allocations (the play's saving against the shelf price: a group-buy campaign, a
flash-sale item); an order of a play without one (no saving) counts under the play
only (campaign None).

Per play and per campaign:

- **orders placed 下单**: play orders placed in the range; **shoppers placed** the
  distinct shoppers who placed them.
- **paid orders 支付订单**: play orders paid in the range; **buyers** their distinct
  shoppers; **refunded orders** those of them with money back.
- **GMV** = Σ (``paid_fen`` − ``refunded_fen``) over the paid orders: what the play
  took, net of every refund (failed groups, ladder differences, after-sales).
- **cost 活动成本** = Σ of the ``activity`` allocations on the lines of the paid orders,
  for the units kept: ``amount × (quantity − refunded_quantity) ÷ quantity``, rounded
  down to the fen (a fully refunded line costs nothing — nothing was sold at that
  price). Free shipping is not an allocation and is not in the cost.
- **ROI** = GMV ÷ cost (None when the cost is 0).
- **new shoppers 新客**: shoppers whose first paid order ever is a play order paid in
  the range (each is one play's and one campaign's).
- **the share funnel 分享漏斗** — the store has no share *events* per play: the H5
  storefront's share button records none, and the mini-program SDK's ``$share`` events
  (analytics store) name a page, not a play or campaign. What the store does keep is
  the share attribution of a shopper's entry (``shoppers.first_sharer_id``: the sharer
  whose link brought them when they registered). So the funnel counts, per play:
  **sharers 分享者** — the distinct sharers who brought a shopper who placed a play
  order in the range; **shared visitors 分享进入** — the shoppers placing play orders in
  the range who registered through a share; **new shoppers** and **paid orders** as
  above. A group buy's own share credit (a member's seat records who shared the group)
  is read by ``group_buy.campaigns.campaign_stats`` (``new_via_share``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.clock import as_utc
from siyu.identity.models import Shopper
from siyu.order.models import Order, OrderLine, OrderLineAllocation

CHECKOUT_SOURCES = ("cart", "buy_now")
ACTIVITY = "activity"  # the allocation source of a play's saving (pricing.info.DiscountSource)


@dataclass
class PlayFigures:
    """One play (``campaign_id`` None: the whole play) or one of its campaigns."""

    play: str
    campaign_id: int | None
    orders_placed: int = 0
    paid_orders: int = 0
    refunded_orders: int = 0
    gmv_fen: int = 0
    refunded_fen: int = 0
    cost_fen: int = 0
    new_shoppers: int = 0
    shoppers_placed: set[int] = field(default_factory=set, repr=False)
    buyers_seen: set[int] = field(default_factory=set, repr=False)
    sharers_seen: set[int] = field(default_factory=set, repr=False)
    shared_seen: set[int] = field(default_factory=set, repr=False)

    @property
    def shoppers(self) -> int:
        return len(self.shoppers_placed)

    @property
    def buyers(self) -> int:
        return len(self.buyers_seen)

    @property
    def sharers(self) -> int:
        return len(self.sharers_seen)

    @property
    def shared_visitors(self) -> int:
        return len(self.shared_seen)

    @property
    def roi(self) -> float | None:
        return round(self.gmv_fen / self.cost_fen, 2) if self.cost_fen else None


@dataclass(frozen=True)
class PlaysReport:
    plays: list[PlayFigures]  # by GMV, largest first
    campaigns: list[PlayFigures]  # by play, then GMV
    total: PlayFigures  # every play together


@dataclass(frozen=True)
class _Order:
    id: int
    shopper_id: int
    play: str
    placed_at: datetime
    paid_at: datetime | None
    paid_fen: int
    refunded_fen: int


def _kept_cost(amount: int, quantity: int, refunded_quantity: int) -> int:
    if quantity <= 0:
        return 0
    return amount * max(quantity - refunded_quantity, 0) // quantity


def plays_report(
    session: Session, date_from: datetime, date_to: datetime, now: datetime
) -> PlaysReport:
    """Every play's and campaign's figures over the range (see the module)."""
    if date_from >= date_to:
        raise ValueError("date_from must be before date_to")
    end = min(date_to, now)
    is_play = Order.source.not_in(CHECKOUT_SOURCES)
    in_range = (Order.placed_at >= date_from) & (Order.placed_at < end)
    paid_in_range = (
        Order.paid_at.is_not(None) & (Order.paid_at >= date_from) & (Order.paid_at < end)
    )
    orders = [
        _Order(
            int(i),
            int(s),
            str(src),
            as_utc(placed),
            as_utc(paid) if paid else None,
            int(pf),
            int(rf),
        )  # fmt: skip
        for i, s, src, placed, paid, pf, rf in session.execute(
            select(
                Order.id,
                Order.shopper_id,
                Order.source,
                Order.placed_at,
                Order.paid_at,
                Order.paid_fen,
                Order.refunded_fen,
            )
            .where(is_play, in_range | paid_in_range)
            .order_by(Order.id)
        )  # fmt: skip
    ]
    wanted = select(Order.id).where(is_play, in_range | paid_in_range)
    campaign: dict[int, int] = {}
    cost: dict[int, int] = defaultdict(int)
    for order_id, source_id, amount, quantity, refunded in session.execute(
        select(OrderLineAllocation.order_id, OrderLineAllocation.source_id,
               OrderLineAllocation.amount_fen, OrderLine.quantity, OrderLine.refunded_quantity)
        .join(OrderLine, OrderLine.id == OrderLineAllocation.order_line_id)
        .where(OrderLineAllocation.source == ACTIVITY, OrderLineAllocation.order_id.in_(wanted))
        .order_by(OrderLineAllocation.id)
    ):  # fmt: skip
        campaign.setdefault(int(order_id), int(source_id))
        cost[int(order_id)] += _kept_cost(int(amount), int(quantity), int(refunded))
    shoppers = select(Order.shopper_id).where(is_play, in_range | paid_in_range)
    first_paid: dict[int, tuple[datetime, int]] = {}
    for shopper_id, order_id, paid_at in session.execute(
        select(Order.shopper_id, Order.id, Order.paid_at).where(
            Order.paid_at.is_not(None), Order.shopper_id.in_(shoppers)
        )
    ):
        if paid_at is None:
            continue
        key = (as_utc(paid_at), int(order_id))
        if int(shopper_id) not in first_paid or key < first_paid[int(shopper_id)]:
            first_paid[int(shopper_id)] = key
    sharer_of = {
        int(s): int(sharer)
        for s, sharer in session.execute(
            select(Shopper.id, Shopper.first_sharer_id).where(
                Shopper.id.in_(shoppers), Shopper.first_sharer_id.is_not(None)
            )
        )
        if sharer is not None
    }

    by_play: dict[str, PlayFigures] = {}
    by_campaign: dict[tuple[str, int | None], PlayFigures] = {}
    total = PlayFigures("", None)
    for order in orders:
        cid = campaign.get(order.id)
        rows = [
            total,
            by_play.setdefault(order.play, PlayFigures(order.play, None)),
            by_campaign.setdefault((order.play, cid), PlayFigures(order.play, cid)),
        ]
        placed = date_from <= order.placed_at < end
        paid = order.paid_at is not None and date_from <= order.paid_at < end
        first = first_paid.get(order.shopper_id, (None, 0))[1] == order.id
        for row in rows:
            if placed:
                row.orders_placed += 1
                row.shoppers_placed.add(order.shopper_id)
                if order.shopper_id in sharer_of:
                    row.shared_seen.add(order.shopper_id)
                    row.sharers_seen.add(sharer_of[order.shopper_id])
            if paid:
                row.paid_orders += 1
                row.buyers_seen.add(order.shopper_id)
                row.gmv_fen += order.paid_fen - order.refunded_fen
                row.refunded_fen += order.refunded_fen
                row.refunded_orders += 1 if order.refunded_fen > 0 else 0
                row.cost_fen += cost.get(order.id, 0)
                row.new_shoppers += 1 if first else 0
    plays = sorted(by_play.values(), key=lambda r: (-r.gmv_fen, r.play))
    campaigns = sorted(
        by_campaign.values(),
        key=lambda r: (r.play, -r.gmv_fen, r.campaign_id is None, r.campaign_id or 0),
    )
    return PlaysReport(plays, campaigns, total)
