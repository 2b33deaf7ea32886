"""The order lifecycle seam: the moments an order is paid, cancelled (by the shopper,
an operator or the payment timeout), refunded or settled, and the named steps packages
subscribe to them.

``siyu.order.service`` owns the transitions (``mark_paid``, ``cancel_order``,
``apply_refund``): each applies one conditional update and, only when it applied,
runs the subscribed steps in registration order, in the same transaction. A step is a
plain function ``(session, event, now)``; one that touches the outside world appends
an outbox event instead of calling out. A step that raises rolls the whole transition
back (the edge owns the transaction); the exception carries a note naming the step.

Adding "points on payment" is one function and one line in its package's
``register_steps``::

    lifecycle.on_paid("loyalty.award_points", award_points)

**Settled** is the moment an order's money is final: its after-sales window
(completion + ``aftersale_window_days``) has closed, so whatever was earned on it
(points, commission, referral rewards) can be paid out. ``complete_order`` schedules a
durable timer (``order.settle``) in its own transaction; when it fires,
``siyu.order.service.settle_order`` decides:

- an order whose every unit was refunded never settles (nothing is left to reward);
- an order with an after-sales request still open (pending, or approved and refunding)
  waits: the timer is due again an hour later, until the request is resolved, so a
  refund in flight always lands before the moment and ``OrderSettled`` carries it;
- otherwise ``orders.settled_at`` is set by a conditional update (``IS NULL``) and
  only that winner runs the ``settled`` steps, so the moment happens once per order.

``OrderSettled`` lists every line with what was paid and what was refunded; a step
rewards ``net_fen`` (paid less refunded) of each line.

This module is core: it imports no domain package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class PaidLine:
    order_line_id: int
    sku_id: int
    product_id: int
    quantity: int
    payable_fen: int


@dataclass(frozen=True)
class OrderPaid:
    order_id: int
    order_no: str
    shopper_id: int
    paid_fen: int
    transaction_id: str | None
    provider: str
    lines: tuple[PaidLine, ...]
    source: str  # the order's source: "cart", "buy_now", or the play ("group_buy")


@dataclass(frozen=True)
class OrderCancelled:
    order_id: int
    shopper_id: int
    reason: str  # "shopper" | "operator" | "payment_timeout"
    lines: tuple[PaidLine, ...]
    source: str


@dataclass(frozen=True)
class RefundedLine:
    order_line_id: int
    sku_id: int
    quantity: int
    amount_fen: int


@dataclass(frozen=True)
class OrderRefunded:
    """A refund succeeded. ``lines`` is empty for a refund of money no order wanted
    (a stray payment); ``fully_refunded`` says every unit of every line came back."""

    order_id: int
    shopper_id: int
    out_refund_no: str
    amount_fen: int
    kind: str  # "aftersale" | "stray_payment" | a play's ("group_buy_failed", ...)
    restock: bool
    lines: tuple[RefundedLine, ...]
    fully_refunded: bool
    source: str  # the order's source


@dataclass(frozen=True)
class SettledLine:
    order_line_id: int
    sku_id: int
    product_id: int
    quantity: int
    payable_fen: int  # what the line was charged (after every discount)
    refunded_quantity: int
    refunded_fen: int

    @property
    def net_quantity(self) -> int:
        return self.quantity - self.refunded_quantity

    @property
    def net_fen(self) -> int:
        """What the shopper kept paying for this line."""
        return self.payable_fen - self.refunded_fen


@dataclass(frozen=True)
class OrderSettled:
    """The after-sales window closed with some of the order kept; no refund can follow."""

    order_id: int
    order_no: str
    shopper_id: int
    paid_fen: int
    refunded_fen: int
    completed_at: datetime
    lines: tuple[SettledLine, ...]


E = TypeVar("E")
Step = Callable[[Session, E, datetime], None]


class StepList(Generic[E]):
    """Named steps for one moment: the work steps in the order they were added, then
    the announcements (outbox events), so a subscriber hears of finished work whatever
    order the packages registered in."""

    def __init__(self, moment: str) -> None:
        self.moment = moment
        self._steps: list[tuple[str, Step[E]]] = []
        self._announcements: list[tuple[str, Step[E]]] = []

    def add(self, name: str, step: Step[E], *, announce: bool = False) -> None:
        if name in self.names:
            raise ValueError(f"{self.moment} step {name!r} is already registered")
        (self._announcements if announce else self._steps).append((name, step))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in (*self._steps, *self._announcements))

    def run(self, session: Session, event: E, now: datetime) -> None:
        for name, step in (*self._steps, *self._announcements):
            try:
                step(session, event, now)
            except Exception as exc:
                exc.add_note(f"in order lifecycle step {self.moment}/{name}")
                raise


class OrderLifecycle:
    """The registry built once by the composition root and handed to the services.
    ``announce=True`` marks a step that only tells the outside world (appends an outbox
    event); announcements run after every other step of the moment."""

    def __init__(self) -> None:
        self.paid: StepList[OrderPaid] = StepList("paid")
        self.cancelled: StepList[OrderCancelled] = StepList("cancelled")
        self.refunded: StepList[OrderRefunded] = StepList("refunded")
        self.settled: StepList[OrderSettled] = StepList("settled")

    def on_paid(self, name: str, step: Step[OrderPaid], *, announce: bool = False) -> None:
        self.paid.add(name, step, announce=announce)

    def on_cancelled(
        self, name: str, step: Step[OrderCancelled], *, announce: bool = False
    ) -> None:
        self.cancelled.add(name, step, announce=announce)

    def on_refunded(self, name: str, step: Step[OrderRefunded], *, announce: bool = False) -> None:
        self.refunded.add(name, step, announce=announce)

    def on_settled(self, name: str, step: Step[OrderSettled], *, announce: bool = False) -> None:
        self.settled.add(name, step, announce=announce)

    def describe(self) -> dict[str, Any]:
        """Which steps run at each moment, in order (docs and debugging)."""
        return {
            "paid": self.paid.names,
            "cancelled": self.cancelled.names,
            "refunded": self.refunded.names,
            "settled": self.settled.names,
        }
