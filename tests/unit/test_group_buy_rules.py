"""Group-buy rules: tiers an operator may set, the tier a group ends at, the ladder
difference each member gets back (to the fen), and how members are shown."""

from __future__ import annotations

import pytest

from siyu.group_buy.rules import (
    Tier,
    check_tiers,
    is_full,
    ladder_refund_fen,
    mask_name,
    reached_tier,
    virtual_fill,
)

LADDER = [Tier(2, 6900), Tier(5, 5900), Tier(10, 4900)]


@pytest.mark.parametrize(
    ("paid", "final", "back_per_unit"),
    [
        (1, None, None),  # not even the first tier: the group fails
        (2, 6900, 0),
        (4, 6900, 0),
        (5, 5900, 1000),
        (9, 5900, 1000),
        (10, 4900, 2000),
    ],
)
def test_a_ladder_group_ends_at_the_tier_its_paid_members_reached(
    paid: int, final: int | None, back_per_unit: int | None
) -> None:
    tier = reached_tier(LADDER, paid)
    assert (tier.price_fen if tier else None) == final
    if tier is not None:
        assert ladder_refund_fen(LADDER, tier, 1) == back_per_unit
        assert ladder_refund_fen(LADDER, tier, 3) == 3 * (back_per_unit or 0)


def test_only_the_biggest_tier_fills_a_group_and_simulated_members_reach_the_first() -> None:
    assert [is_full(n, LADDER) for n in (5, 9, 10)] == [False, False, True]
    assert [virtual_fill(n, LADDER) for n in (0, 1, 2, 7)] == [2, 1, 0, 0]


@pytest.mark.parametrize(
    ("tiers", "ok"),
    [
        ([Tier(2, 6900)], True),
        (LADDER, True),
        ([], False),
        ([Tier(1, 6900)], False),  # a group of one is not a group
        ([Tier(51, 6900)], False),
        ([Tier(2, 7900)], False),  # not below the shelf price
        ([Tier(2, 0)], False),
        ([Tier(2, 6900), Tier(2, 5900)], False),  # sizes must grow
        ([Tier(2, 5900), Tier(5, 6900)], False),  # prices must fall
    ],
)
def test_tiers_grow_in_size_and_fall_in_price_below_the_shelf(tiers: list[Tier], ok: bool) -> None:
    assert (check_tiers(tiers, 7900) is None) is ok


def test_members_are_shown_with_masked_names() -> None:
    assert [mask_name(n) for n in ("张三丰", "李四", "A", "", "  ")] == [
        "张**", "李*", "A*", "微**", "微**"
    ]  # fmt: skip
