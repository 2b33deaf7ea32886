"""Rising-price rules: the playbook's "前100名5折,之后每小时涨10%" to the fen, the next
rise and when it applies, an order's price, the settings an operator may save, and
the invariants — the price never falls with time or units sold, never tops the cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siyu.rising_price.rules import (
    RisingQuote,
    RisingRule,
    check_campaign,
    order_price,
    rising_quote,
    unit_price,
)

START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
END = START + timedelta(days=1)
# shelf ¥100: the first 100 units at 5折 (¥50), then +10 % of ¥50 an hour, capped at ¥100
PLAYBOOK = RisingRule(
    starts_at=START, base_price_fen=5000, base_units=100, step_percent=10,
    interval_minutes=60, cap_price_fen=10000,
)  # fmt: skip


@pytest.mark.parametrize(
    ("units_sold", "after", "price"),
    [
        (0, timedelta(0), 5000),
        (99, timedelta(hours=5), 5000),  # the 100th unit is still 5折, whenever
        (100, timedelta(0), 5000),  # past the quota, in the first hour: no step yet
        (100, timedelta(minutes=59, seconds=59), 5000),
        (100, timedelta(hours=1), 5500),
        (150, timedelta(hours=2, minutes=30), 6000),
        (150, timedelta(hours=3), 6500),
        (500, timedelta(hours=9, minutes=59), 9500),
        (500, timedelta(hours=10), 10000),  # the cap: the shelf price
        (500, timedelta(hours=20), 10000),
        (0, -timedelta(hours=1), 5000),  # before the start
    ],
)
def test_the_first_100_at_half_price_then_ten_percent_more_every_hour_capped_at_shelf(
    units_sold: int, after: timedelta, price: int
) -> None:
    assert unit_price(PLAYBOOK, units_sold, START + after) == price


@pytest.mark.parametrize(
    ("units_sold", "after", "quote"),
    [
        # in the first hour the next rise is at 11:00 (+1 h), ¥55
        (0, timedelta(minutes=10), RisingQuote(5000, 5500, START + timedelta(hours=1), 100)),
        # quota left after 3 h: the next price is what comes once the 100 are gone
        (40, timedelta(hours=3), RisingQuote(5000, 6500, None, 60)),
        (
            100,
            timedelta(hours=3, minutes=1),
            RisingQuote(6500, 7000, START + timedelta(hours=4), 0),
        ),
        (100, timedelta(hours=10), RisingQuote(10000, None, None, 0)),  # at the cap
        (100, timedelta(hours=23, minutes=30), RisingQuote(10000, None, None, 0)),
    ],
)
def test_the_quote_shows_the_next_price_and_when_it_applies(
    units_sold: int, after: timedelta, quote: RisingQuote
) -> None:
    assert rising_quote(PLAYBOOK, units_sold, START + after, END) == quote


def test_no_rise_is_announced_after_the_campaign_ends() -> None:
    # given a campaign ending an hour and a half after its start
    ends = START + timedelta(hours=1, minutes=30)

    # when a shopper looks 70 minutes in (¥55; the ¥60 step would be at +2 h)
    quote = rising_quote(PLAYBOOK, 100, START + timedelta(minutes=70), ends)

    # then there is no next price
    assert quote == RisingQuote(5500, None, None, 0)


def test_an_order_pays_the_price_of_its_last_unit() -> None:
    at = START + timedelta(hours=2)
    assert order_price(PLAYBOOK, 95, 5, at) == 5000  # units 96-100: all in the quota
    assert order_price(PLAYBOOK, 95, 6, at) == 6000  # the 101st unit is stepped
    assert order_price(PLAYBOOK, 100, 1, at) == 6000


def _check(**overrides: object) -> tuple[str, str] | None:
    values: dict[str, object] = {
        "base_price_fen": 5000, "base_units": 100, "step_percent": 10, "interval_minutes": 60,
        "cap_price_fen": 10000, "shelf_price_fen": 10000, "per_shopper_limit": 2,
        "starts_at": START, "ends_at": END,
    }  # fmt: skip
    return check_campaign(**(values | overrides))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({}, None),
        ({"cap_price_fen": 10001}, "cap_price_fen"),  # above the shelf price
        ({"cap_price_fen": 4999}, "cap_price_fen"),  # below the base price
        ({"base_price_fen": 10000}, "base_price_fen"),  # not below the shelf price
        ({"step_percent": 0}, "step_percent"),
        ({"base_price_fen": 5, "cap_price_fen": 10, "step_percent": 10}, "step_percent"),  # <1 fen
        ({"interval_minutes": 0}, "interval_minutes"),
        ({"ends_at": START}, "ends_at"),
        ({"per_shopper_limit": 0}, "per_shopper_limit"),
    ],
)
def test_an_operator_cannot_save_a_rule_that_breaks_the_cap_or_never_rises(
    overrides: dict[str, object], field: str | None
) -> None:
    problem = _check(**overrides)
    assert (problem[0] if problem else None) == field


@st.composite
def rules(draw: st.DrawFn) -> RisingRule:
    base = draw(st.integers(1, 1_000_000))
    step = draw(st.integers(1, 100).filter(lambda p: base * p // 100 >= 1))
    return RisingRule(
        starts_at=START,
        base_price_fen=base,
        base_units=draw(st.integers(0, 1000)),
        step_percent=step,
        interval_minutes=draw(st.integers(1, 7 * 24 * 60)),
        cap_price_fen=draw(st.integers(base, 2_000_000)),
    )


moments = st.integers(-(10**7), 10**8).map(lambda s: START + timedelta(seconds=s))


@settings(max_examples=500, deadline=None)
@given(rules(), st.integers(0, 5000), st.integers(0, 5000), moments, moments)
def test_the_price_never_falls_with_time_or_units_sold_and_never_tops_the_cap(
    rule: RisingRule, units_a: int, units_b: int, at_a: datetime, at_b: datetime
) -> None:
    fewer, more = sorted((units_a, units_b))
    earlier, later = sorted((at_a, at_b))
    price = unit_price(rule, fewer, earlier)
    assert rule.base_price_fen <= price <= rule.cap_price_fen
    assert unit_price(rule, more, earlier) >= price
    assert unit_price(rule, fewer, later) >= price
    assert unit_price(rule, more, later) <= rule.cap_price_fen


@settings(max_examples=300, deadline=None)
@given(rules(), st.integers(0, 5000), moments)
def test_the_announced_next_price_is_a_rise_within_the_cap(
    rule: RisingRule, units: int, at: datetime
) -> None:
    quote = rising_quote(rule, units, at, at + timedelta(days=30))
    if quote.next_price_fen is not None:
        assert quote.price_fen < quote.next_price_fen <= rule.cap_price_fen
    if quote.next_at is not None:
        assert quote.next_at > at
        assert unit_price(rule, max(units, rule.base_units), quote.next_at) == quote.next_price_fen
