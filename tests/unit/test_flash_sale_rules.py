"""Flash-sale rules: Asia/Shanghai session windows in UTC and their boundaries, the
countdown, the token bucket of the rate limits, the drift of the reconciliation."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.flash_sale.rules import (
    Bucket,
    ItemCounts,
    Phase,
    SessionStatus,
    check_item,
    check_session,
    countdown_seconds,
    daily_windows,
    drift,
    phase,
    shanghai_window,
    take_token,
    units_left,
)

T10 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def test_a_shanghai_session_is_stored_in_utc_and_crosses_midnight_when_it_must() -> None:
    assert shanghai_window(date(2026, 11, 2), time(10), time(10, 30)) == (
        T10, T10 + timedelta(minutes=30),
    )  # fmt: skip
    # 00:00-00:30 Shanghai is the evening before in UTC
    starts, ends = shanghai_window(date(2026, 11, 3), time(0), time(0, 30))
    assert (starts, ends) == (datetime(2026, 11, 2, 16, 0, tzinfo=UTC),
                              datetime(2026, 11, 2, 16, 30, tzinfo=UTC))  # fmt: skip
    # 23:30-00:30 ends the next day
    starts, ends = shanghai_window(date(2026, 11, 2), time(23, 30), time(0, 30))
    assert ends - starts == timedelta(hours=1)
    windows = daily_windows(date(2026, 11, 2), 3, time(10), time(10, 30))
    assert [w[0] for w in windows] == [T10 + timedelta(days=i) for i in range(3)]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (T10 - timedelta(seconds=1), Phase.upcoming),  # 09:59:59
        (T10, Phase.running),  # 10:00:00 on the dot
        (T10 + timedelta(minutes=30) - timedelta(microseconds=1), Phase.running),
        (T10 + timedelta(minutes=30), Phase.ended),  # 10:30:00 is over
    ],
)
def test_the_session_is_on_from_its_start_until_just_before_its_end(
    at: datetime, expected: Phase
) -> None:
    assert phase(SessionStatus.active, T10, T10 + timedelta(minutes=30), at) is expected
    assert phase(SessionStatus.disabled, T10, T10 + timedelta(minutes=30), at) is Phase.disabled


def test_the_countdown_shows_zero_only_when_the_moment_has_come() -> None:
    assert countdown_seconds(T10, T10 - timedelta(seconds=1)) == 1
    assert countdown_seconds(T10, T10 - timedelta(milliseconds=1)) == 1
    assert countdown_seconds(T10, T10) == 0
    assert countdown_seconds(T10, T10 + timedelta(hours=1)) == 0


def test_sessions_and_items_are_checked() -> None:
    assert check_session(T10, T10, 5) is not None
    assert check_session(T10, T10 + timedelta(minutes=30), 1) is not None
    assert check_session(T10, T10 + timedelta(minutes=30), 5) is None
    assert check_item(9900, 9900, 10, 1) is not None  # not below the shelf price
    assert check_item(1990, 9900, 10, 0) is not None
    assert check_item(1990, 9900, 10, 1) is None
    assert units_left(10, 7, 5) == 0


def test_the_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = Bucket(rate=2.0, burst=3)
    state = None
    allowed = []
    for _ in range(4):
        ok, state, wait = take_token(bucket, state, now=100.0)
        allowed.append(ok)
    assert allowed == [True, True, True, False]
    assert wait == pytest.approx(0.5)
    ok, state, _ = take_token(bucket, state, now=100.5)
    assert ok
    ok, _, _ = take_token(bucket, state, now=100.5)
    assert not ok


@given(st.lists(st.floats(min_value=0, max_value=10), min_size=1, max_size=60))
def test_a_bucket_never_allows_more_than_burst_plus_rate_times_time(gaps: list[float]) -> None:
    bucket = Bucket(rate=1.5, burst=4)
    state, now, allowed = None, 0.0, 0
    for gap in gaps:
        now += gap
        ok, state, _ = take_token(bucket, state, now)
        allowed += ok
    assert allowed <= bucket.burst + bucket.rate * now + 1e-9


def test_drift_names_the_units_and_the_shoppers_that_differ() -> None:
    db = ItemCounts(1, 3, {7: 1, 8: 2})
    assert drift(db, None).clean  # never loaded: nothing to differ
    assert drift(db, ItemCounts(1, 3, {7: 1, 8: 2})).clean
    found = drift(db, ItemCounts(1, 5, {7: 1, 9: 1}))
    assert not found.clean
    assert (found.db_units_left, found.gate_units_left) == (3, 5)
    assert found.shoppers == {8: (2, 0), 9: (0, 1)}
