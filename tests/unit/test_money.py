from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import siyu
from siyu.money import allocate_proportionally, format_yuan, short_yuan, zhe
from siyu.web.console.forms import parse_yuan, yuan_input


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "¥0.00"),
        (5, "¥0.05"),
        (12345, "¥123.45"),
        (100000000, "¥1,000,000.00"),
        (-990, "-¥9.90"),
    ],
)
def test_fen_format_as_yuan_with_two_decimals(fen: int, text: str) -> None:
    assert format_yuan(fen) == text


def test_a_discount_is_split_by_line_value_to_the_fen() -> None:
    assert allocate_proportionally(1000, [5900, 6900, 990]) == [428, 500, 72]


def test_ties_go_to_the_earlier_line() -> None:
    assert allocate_proportionally(1, [100, 100]) == [1, 0]


@given(
    total=st.integers(0, 10_000_000),
    weights=st.lists(st.integers(1, 1_000_000), min_size=1, max_size=20),
)
def test_allocation_sums_exactly_and_never_goes_negative(total: int, weights: list[int]) -> None:
    parts = allocate_proportionally(total, weights)
    assert sum(parts) == total
    assert all(p >= 0 for p in parts)
    # each part is within one fen of its exact share
    weight_sum = sum(weights)
    assert all(abs(p - total * w / weight_sum) < 1 for p, w in zip(parts, weights, strict=True))


def reference_allocation(total: int, weights: list[int]) -> list[int]:
    """The first implementation (a full sort on (-remainder, index)), kept as the oracle."""
    weight_sum = sum(weights)
    floors = [total * w // weight_sum for w in weights]
    remainders = [total * w % weight_sum for w in weights]
    short = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:short]:
        floors[i] += 1
    return floors


@given(
    total=st.one_of(st.integers(0, 50), st.integers(0, 10_000_000)),
    weights=st.lists(
        st.one_of(st.integers(0, 5), st.sampled_from([100, 990, 1000]), st.integers(0, 10**6)),
        min_size=1,
        max_size=25,
    ).filter(lambda ws: sum(ws) > 0),
)
def test_allocation_matches_the_reference_implementation(total: int, weights: list[int]) -> None:
    assert allocate_proportionally(total, weights) == reference_allocation(total, weights)


def test_allocation_ties_and_zero_weights_match_the_reference() -> None:
    for total, weights in [(3, [1, 1, 1, 1]), (2, [0, 5, 5, 5]), (5, [7, 7, 0, 7, 7, 7, 7])]:
        assert allocate_proportionally(total, weights) == reference_allocation(total, weights)
    assert allocate_proportionally(0, [0, 0]) == [0, 0]


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "0"), (5, "0.05"), (990, "9.9"), (1990, "19.9"), (19900, "199"), (123456, "1234.56")],
)
def test_rule_words_and_form_values_drop_trailing_zeros(fen: int, text: str) -> None:
    assert short_yuan(fen) == text


@given(st.integers(0, 100_000_000))
def test_a_form_value_reads_back_to_the_same_fen(fen: int) -> None:
    assert parse_yuan(yuan_input(fen)) == fen


@pytest.mark.parametrize(("percent_off", "text"), [(10, "9"), (15, "8.5"), (12, "8.8"), (50, "5")])
def test_percent_off_reads_as_zhe(percent_off: int, text: str) -> None:
    assert zhe(percent_off) == text


MONEY_BY_HAND = re.compile(r"¥\{[^}]*(/ ?100|:,?\.2f)")


def test_amounts_are_written_only_by_siyu_money() -> None:
    # an f-string that divides fen by 100 next to a ¥ is a second money formatter
    root = Path(siyu.__file__).parent
    by_hand = [
        f"{path.relative_to(root)}:{n}"
        for path in sorted(root.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if MONEY_BY_HAND.search(line)
    ]
    assert by_hand == []
