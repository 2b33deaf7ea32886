"""Dashboard math: Shanghai-day windows, safe ratios, period-over-period change."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.dashboard.rules import (
    Activity,
    Payment,
    Period,
    Window,
    average_fen,
    build_trend,
    change_pct,
    collect_facts,
    compare,
    compute_metrics,
    period_windows,
    safe_ratio,
    trend_days,
)

# 2026-11-02 10:00 in Shanghai (02:00 UTC), a Monday.
NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_today_starts_at_shanghai_midnight_and_is_compared_with_yesterday_until_the_same_time() -> (
    None
):
    # when
    current, previous = period_windows(Period.today, NOW)

    # then: Shanghai midnight is 16:00 UTC the day before
    assert current == Window(utc(2026, 11, 1, 16, 0), NOW)
    assert previous == Window(utc(2026, 10, 31, 16, 0), utc(2026, 11, 1, 2, 0))


def test_last_seven_days_include_today_and_the_six_days_before() -> None:
    current, previous = period_windows(Period.last_7_days, NOW)

    assert current == Window(utc(2026, 10, 26, 16, 0), NOW)
    assert previous == Window(utc(2026, 10, 19, 16, 0), utc(2026, 10, 26, 2, 0))


def test_a_utc_evening_is_already_the_next_day_in_shanghai() -> None:
    # given 23:30 UTC on 1 Nov = 07:30 on 2 Nov in Shanghai
    now = utc(2026, 11, 1, 23, 30)

    current, _ = period_windows(Period.today, now)

    assert current.start == utc(2026, 11, 1, 16, 0)


def test_windows_include_both_ends() -> None:
    window = Window(utc(2026, 11, 1, 16, 0), NOW)

    assert window.contains(utc(2026, 11, 1, 16, 0))
    assert window.contains(NOW)
    assert not window.contains(utc(2026, 11, 1, 15, 59, 59))


def test_a_naive_sqlite_datetime_is_read_as_utc() -> None:
    window = Window(utc(2026, 11, 1, 16, 0), NOW)

    assert window.contains(datetime(2026, 11, 2, 1, 0))


def test_the_trend_shows_at_least_a_week_ending_today_in_shanghai() -> None:
    assert trend_days(Period.today, NOW) == [date(2026, 10, 27 + i) for i in range(5)] + [
        date(2026, 11, 1),
        date(2026, 11, 2),
    ]
    assert len(trend_days(Period.last_30_days, NOW)) == 30
    assert trend_days(Period.last_30_days, NOW)[-1] == date(2026, 11, 2)


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        (150, 100, 50.0),
        (50, 100, -50.0),
        (100, 100, 0.0),
        (0, 100, -100.0),
        (5, 0, None),
        (0, 0, None),
        (None, 10, None),
        (10, None, None),
        (0.25, 0.2, 25.0),
    ],
)
def test_change_is_in_percent_and_has_no_value_from_zero(
    current: float | None, previous: float | None, expected: float | None
) -> None:
    result = change_pct(current, previous)

    assert result == (pytest.approx(expected) if expected is not None else None)


def test_ratios_over_zero_have_no_value() -> None:
    assert safe_ratio(3, 0) is None
    assert safe_ratio(1, 4) == 0.25


@pytest.mark.parametrize(
    ("total", "count", "expected"),
    [(1000, 3, 333), (1001, 2, 501), (999, 2, 500), (0, 5, 0), (100, 0, None)],
)
def test_average_order_value_is_whole_fen_with_halves_rounded_up(
    total: int, count: int, expected: int | None
) -> None:
    assert average_fen(total, count) == expected


def test_metrics_count_login_based_visitors_and_payers_within_the_window() -> None:
    # given
    window = Window(utc(2026, 11, 1, 16, 0), NOW)
    inside, outside = utc(2026, 11, 1, 20, 0), utc(2026, 11, 1, 10, 0)
    logins = [Activity(1, inside), Activity(1, inside), Activity(2, inside), Activity(9, outside)]
    registrations = [Activity(2, inside), Activity(9, outside)]
    placements = [Activity(1, inside), Activity(3, inside), Activity(4, outside)]
    payments = [
        Payment(1, inside, 5900, 0),
        Payment(3, inside, 4100, 1000),
        Payment(3, inside, 2000, 0),
        Payment(4, outside, 9999, 0),
    ]

    # when
    facts = collect_facts(
        window,
        logins=logins,
        registrations=registrations,
        placements=placements,
        payments=payments,
    )
    metrics = compute_metrics(facts)

    # then: shopper 3 ordered without a login in the window and still counts as a visitor
    assert facts.visitors == 3
    assert facts.paying_shoppers == 2
    assert metrics.new_shoppers == 1
    assert metrics.orders == 2
    assert metrics.gmv_fen == 12000
    assert metrics.aov_fen == 4000
    assert metrics.conversion == pytest.approx(2 / 3)
    assert metrics.refund_rate == pytest.approx(1000 / 12000)


def test_tracked_visitors_replace_the_login_based_ones() -> None:
    # given a login, an order and a payment in the window, and tracking's count
    window = Window(utc(2026, 11, 1, 16, 0), NOW)
    inside = utc(2026, 11, 1, 20, 0)
    days = [date(2026, 11, 1), date(2026, 11, 2)]
    facts = collect_facts(
        window,
        logins=[Activity(1, inside)],
        registrations=[],
        placements=[Activity(1, inside)],
        payments=[Payment(1, inside, 5900, 0)],
        tracked_visitors=40,
    )
    trend = build_trend(
        days,
        logins=[Activity(1, inside)],
        placements=[Activity(1, inside)],
        payments=[Payment(1, inside, 5900, 0)],
        tracked_visitors={date(2026, 11, 2): 40, date(2026, 10, 1): 5},
    )

    # then visitors, conversion and the trend's visitors are tracking's
    assert facts.visitors == 40
    assert compute_metrics(facts).conversion == pytest.approx(1 / 40)
    assert trend.visitors == [0, 40]
    assert trend.orders == [0, 1]  # orders and GMV still come from the orders


def test_an_empty_period_has_zero_counts_and_no_ratios() -> None:
    window = Window(utc(2026, 11, 1, 16, 0), NOW)

    metrics = compute_metrics(
        collect_facts(window, logins=[], registrations=[], placements=[], payments=[])
    )

    assert (metrics.visitors, metrics.orders, metrics.gmv_fen) == (0, 0, 0)
    assert (metrics.conversion, metrics.aov_fen, metrics.refund_rate) == (None, None, None)


def test_compare_lists_every_metric_with_its_change() -> None:
    window = Window(utc(2026, 11, 1, 16, 0), NOW)
    empty = compute_metrics(
        collect_facts(window, logins=[], registrations=[], placements=[], payments=[])
    )
    busy = compute_metrics(
        collect_facts(
            window,
            logins=[Activity(1, NOW)],
            registrations=[],
            placements=[Activity(1, NOW)],
            payments=[Payment(1, NOW, 100, 0)],
        )
    )

    changes = {c.key: c for c in compare(busy, busy)}

    assert list(changes) == [
        "visitors",
        "new_shoppers",
        "orders",
        "gmv_fen",
        "conversion",
        "aov_fen",
        "refund_rate",
    ]
    assert changes["gmv_fen"].change_pct == 0.0
    assert {c.key: c.change_pct for c in compare(busy, empty)}["orders"] is None


def test_the_trend_buckets_by_shanghai_day() -> None:
    days = [date(2026, 11, 1), date(2026, 11, 2)]
    late_on_1st_utc = utc(2026, 11, 1, 17, 0)  # 01:00 on 2 Nov in Shanghai
    morning_1st = utc(2026, 11, 1, 1, 0)

    trend = build_trend(
        days,
        logins=[Activity(1, late_on_1st_utc), Activity(2, morning_1st), Activity(2, morning_1st)],
        placements=[Activity(3, late_on_1st_utc)],
        payments=[Payment(3, late_on_1st_utc, 700, 0), Payment(2, utc(2020, 1, 1), 5, 0)],
    )

    assert trend.visitors == [1, 2]
    assert trend.orders == [0, 1]
    assert trend.gmv_fen == [0, 700]


@given(
    st.lists(
        st.tuples(st.integers(1, 20), st.integers(0, 100_000), st.integers(0, 100)), max_size=30
    )
)
def test_conversion_and_refund_rate_stay_between_zero_and_one(
    rows: list[tuple[int, int, int]],
) -> None:
    window = Window(utc(2026, 11, 1, 16, 0), NOW)
    payments = [Payment(s, NOW, paid, paid * pct // 100) for s, paid, pct in rows]
    placements = [Activity(s, NOW) for s, _, _ in rows]

    metrics = compute_metrics(
        collect_facts(window, logins=[], registrations=[], placements=placements, payments=payments)
    )

    assert metrics.conversion is None or 0 <= metrics.conversion <= 1
    assert metrics.refund_rate is None or 0 <= metrics.refund_rate <= 1
