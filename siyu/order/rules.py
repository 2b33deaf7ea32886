"""Order rules.

An order moves through a fixed table of states:

    pending_payment --pay--> paid --ship--> shipped --confirm--> completed
    pending_payment --cancel--> cancelled   (by the shopper or the payment timeout)

Every write is conditional on the state it expects, so two actors racing (a late
payment notification and the timeout, a double click) cannot both win. Stock is
reserved at placement and released exactly once, by the single winning cancel.
Refunds never change the state; they accumulate on the order and its lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_ORDER_LINES = 50


class OrderStatus(StrEnum):
    pending_payment = "pending_payment"
    paid = "paid"
    shipped = "shipped"
    completed = "completed"
    cancelled = "cancelled"


class OrderAction(StrEnum):
    pay = "pay"
    ship = "ship"
    confirm = "confirm"
    cancel = "cancel"


TRANSITIONS: dict[tuple[OrderStatus, OrderAction], OrderStatus] = {
    (OrderStatus.pending_payment, OrderAction.pay): OrderStatus.paid,
    (OrderStatus.pending_payment, OrderAction.cancel): OrderStatus.cancelled,
    (OrderStatus.paid, OrderAction.ship): OrderStatus.shipped,
    (OrderStatus.shipped, OrderAction.confirm): OrderStatus.completed,
}

# Why a paid order may not ship yet (``orders.hold``), as a shopper or operator reads it.
HOLD_WORDS = {"group_buy": "拼团进行中，成团后发货"}

POST_PAYMENT = frozenset({OrderStatus.paid, OrderStatus.shipped, OrderStatus.completed})


def next_status(current: OrderStatus, action: OrderAction) -> OrderStatus | None:
    return TRANSITIONS.get((current, action))


def source_status(action: OrderAction) -> OrderStatus:
    """The one state an action may start from (each action has exactly one)."""
    (source,) = [s for (s, a) in TRANSITIONS if a is action]
    return source


@dataclass(frozen=True)
class LineInput:
    sku_id: int
    unit_price_fen: int
    quantity: int


def merge_quantities(items: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Same SKU twice in one request becomes one line; order of first appearance kept."""
    merged: dict[int, int] = {}
    for sku_id, quantity in items:
        merged[sku_id] = merged.get(sku_id, 0) + quantity
    return list(merged.items())


PAYMENT_TIMEOUT_TIMER = "order.payment_timeout"
AUTO_CONFIRM_TIMER = "order.auto_confirm"
SETTLE_TIMER = "order.settle"


def is_fully_refunded(lines: list[tuple[int, int]]) -> bool:
    """(quantity, refunded quantity) of every line: every unit came back."""
    return bool(lines) and all(refunded >= quantity for quantity, refunded in lines)
