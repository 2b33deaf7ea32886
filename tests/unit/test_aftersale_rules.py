from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.aftersale.rules import LineState, is_within_window, line_refund_fen, refunds_everything

COMPLETED = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("after", "inside"),
    [
        (timedelta(0), True),
        (timedelta(days=6, hours=23), True),
        (timedelta(days=7), True),
        (timedelta(days=7, seconds=1), False),
        (timedelta(days=30), False),
    ],
)
def test_the_seven_day_window_runs_from_receipt(after: timedelta, inside: bool) -> None:
    assert is_within_window(COMPLETED, COMPLETED + after, 7) is inside


def test_before_receipt_there_is_no_deadline_yet() -> None:
    assert is_within_window(None, COMPLETED + timedelta(days=365), 7) is True


def test_one_of_three_units_refunds_a_third_rounded_down() -> None:
    line = LineState(1, quantity=3, payable_fen=1000, refunded_quantity=0, refunded_fen=0)
    assert line_refund_fen(line, 1) == 333


def test_the_last_units_refund_the_remainder() -> None:
    line = LineState(1, quantity=3, payable_fen=1000, refunded_quantity=2, refunded_fen=666)
    assert line_refund_fen(line, 1) == 334


@pytest.mark.parametrize("units", [0, -1, 3])
def test_units_outside_what_remains_are_refused(units: int) -> None:
    line = LineState(1, quantity=3, payable_fen=1000, refunded_quantity=1, refunded_fen=333)
    with pytest.raises(ValueError):
        line_refund_fen(line, units)


@given(
    quantity=st.integers(1, 30),
    payable=st.integers(0, 10_000_000),
    data=st.data(),
)
def test_partial_refunds_of_a_line_always_sum_to_what_was_paid(
    quantity: int, payable: int, data: st.DataObject
) -> None:
    # given a line refunded in arbitrary chunks until nothing remains
    line = LineState(1, quantity=quantity, payable_fen=payable, refunded_quantity=0, refunded_fen=0)
    total = 0
    while line.refunded_quantity < quantity:
        units = data.draw(st.integers(1, quantity - line.refunded_quantity))
        amount = line_refund_fen(line, units)
        # then no chunk is negative and none exceeds what is left
        assert 0 <= amount <= payable - line.refunded_fen
        total += amount
        line = LineState(
            1, quantity, payable, line.refunded_quantity + units, line.refunded_fen + amount
        )
    # and the chunks add up to the fen
    assert total == payable


def test_refunds_everything_compares_remaining_units() -> None:
    lines = [LineState(1, 2, 200, 1, 100), LineState(2, 1, 50, 0, 0)]
    assert refunds_everything(lines, {1: 1, 2: 1}) is True
    assert refunds_everything(lines, {1: 1}) is False
