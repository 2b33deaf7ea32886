from __future__ import annotations

import pytest

from siyu.order.rules import (
    TRANSITIONS,
    OrderAction,
    OrderStatus,
    merge_quantities,
    next_status,
    source_status,
)


@pytest.mark.parametrize(
    ("current", "action", "expected"),
    [
        (OrderStatus.pending_payment, OrderAction.pay, OrderStatus.paid),
        (OrderStatus.pending_payment, OrderAction.cancel, OrderStatus.cancelled),
        (OrderStatus.paid, OrderAction.ship, OrderStatus.shipped),
        (OrderStatus.shipped, OrderAction.confirm, OrderStatus.completed),
        (OrderStatus.paid, OrderAction.pay, None),
        (OrderStatus.shipped, OrderAction.pay, None),
        (OrderStatus.completed, OrderAction.pay, None),
        (OrderStatus.paid, OrderAction.cancel, None),
        (OrderStatus.cancelled, OrderAction.pay, None),
        (OrderStatus.pending_payment, OrderAction.ship, None),
        (OrderStatus.paid, OrderAction.confirm, None),
    ],
)
def test_the_transition_table_allows_only_the_forward_path(
    current: OrderStatus, action: OrderAction, expected: OrderStatus | None
) -> None:
    assert next_status(current, action) == expected


def test_every_action_starts_from_exactly_one_state() -> None:
    assert {a: source_status(a) for a in OrderAction} == {
        OrderAction.pay: OrderStatus.pending_payment,
        OrderAction.cancel: OrderStatus.pending_payment,
        OrderAction.ship: OrderStatus.paid,
        OrderAction.confirm: OrderStatus.shipped,
    }
    assert len(TRANSITIONS) == 4


def test_cancelled_and_completed_are_final() -> None:
    for action in OrderAction:
        assert next_status(OrderStatus.cancelled, action) is None
        assert next_status(OrderStatus.completed, action) is None


def test_the_same_sku_twice_becomes_one_line_in_first_seen_order() -> None:
    assert merge_quantities([(7, 1), (3, 2), (7, 4)]) == [(7, 5), (3, 2)]
