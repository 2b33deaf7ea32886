"""Bargain rules: the cuts drawn at start (each ≥ ¥0.01, summing exactly to
original − floor, biggest first), the price reached, and each anti-fraud rule of who
may help — the starter, a second cut, a blocked account, a new account, a shared
device — plus the settings an operator may save."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.bargain.rules import Helper, Refusal, check_campaign, draw_cuts, price_reached, refusal

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


@settings(max_examples=500, deadline=None)
@given(st.integers(1, 50), st.integers(0, 10**8), st.integers(0, 2**32))
def test_the_cuts_sum_exactly_to_original_less_floor_and_each_is_at_least_one_fen(
    helpers: int, extra: int, seed: int
) -> None:
    total = helpers + extra
    cuts = draw_cuts(total, helpers, random.Random(seed))
    assert len(cuts) == helpers
    assert sum(cuts) == total
    assert min(cuts) >= 1
    assert cuts == sorted(cuts, reverse=True)


def test_the_same_seed_draws_the_same_cuts_and_the_price_reaches_the_floor() -> None:
    # given ¥59 down to ¥9.90 with 5 helpers
    cuts = draw_cuts(5900 - 990, 5, random.Random(7))

    # then the draw is repeatable, and the price walks down to the floor
    assert cuts == draw_cuts(4910, 5, random.Random(7))
    prices = [price_reached(5900, cuts, k) for k in range(6)]
    assert prices[0] == 5900 and prices[-1] == 990
    assert prices == sorted(prices, reverse=True)


def test_a_cut_smaller_than_one_fen_each_cannot_be_drawn() -> None:
    with pytest.raises(ValueError):
        draw_cuts(4, 5, random.Random(1))


def _helper(**overrides: object) -> Helper:
    values: dict[str, object] = {
        "shopper_id": 3, "registered_at": NOW - timedelta(days=30), "blocked": False,
        "devices": frozenset({"dev-helper-0001"}),
    }  # fmt: skip
    return Helper(**(values | overrides))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("helper", "earlier", "devices", "expected"),
    [
        (_helper(), [2], {"dev-starter-01"}, None),
        (_helper(shopper_id=1), [], set(), Refusal.own),
        (_helper(), [2, 3], set(), Refusal.already_cut),
        (_helper(blocked=True), [], set(), Refusal.blocked),
        (_helper(registered_at=NOW - timedelta(minutes=59)), [], set(), Refusal.too_new),
        (_helper(registered_at=NOW - timedelta(minutes=60)), [], set(), None),
        (_helper(), [], {"dev-helper-0001"}, Refusal.same_device),
    ],
    ids=["counts", "own", "twice", "blocked", "new-account", "old-enough", "same-device"],
)
def test_only_a_distinct_real_shopper_counts_as_a_helper(
    helper: Helper, earlier: list[int], devices: set[str], expected: Refusal | None
) -> None:
    # given a bargain started by shopper 1, helpers must be 60 minutes old
    assert (
        refusal(helper, starter_id=1, earlier_helpers=earlier, taken_devices=devices,
                min_age_minutes=60, now=NOW)
        is expected
    )  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({}, None),
        ({"floor_price_fen": 5900}, "floor_price_fen"),
        ({"floor_price_fen": 0}, "floor_price_fen"),
        ({"floor_price_fen": 5897, "helpers_needed": 5}, "floor_price_fen"),  # < 1 fen a cut
        ({"helpers_needed": 0}, "helpers_needed"),
        ({"duration_minutes": 4}, "duration_minutes"),
        ({"ends_at": NOW}, "ends_at"),
    ],
)
def test_an_operator_cannot_save_a_floor_the_helpers_cannot_reach(
    overrides: dict[str, object], field: str | None
) -> None:
    values: dict[str, object] = {
        "floor_price_fen": 990, "shelf_price_fen": 5900, "helpers_needed": 5,
        "duration_minutes": 1440, "per_shopper_limit": 1, "helper_min_age_minutes": 60,
        "starts_at": NOW, "ends_at": NOW + timedelta(days=7),
    }  # fmt: skip
    problem = check_campaign(**(values | overrides))  # type: ignore[arg-type]
    assert (problem[0] if problem else None) == field
