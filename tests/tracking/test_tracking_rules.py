from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siyu.tracking.rules import (
    MAX_FUTURE,
    MAX_PAST,
    SCENE_CHANNELS,
    Bucket,
    ChannelGroup,
    Rejection,
    ShareInfo,
    TrackedEvent,
    batch_dedup_token,
    channel_for_scene,
    correct_timestamp,
    parse_time,
    read_share,
    take_token,
    validate_batch,
    validate_event,
)

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def an_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": "evt-00000001",
        "event": "$pageview",
        "anonymous_id": "device-0001-abcd",
        "client_time": "2026-11-02T01:59:00+00:00",
    }
    event.update(overrides)
    return {k: v for k, v in event.items() if v is not ...}


@pytest.mark.parametrize(
    ("scene", "channel"),
    [
        (1001, "direct"),
        (1089, "direct"),
        (1005, "search"),
        (1106, "search"),
        (1007, "share"),
        (1008, "share"),
        (1044, "group_share"),
        (1011, "qr"),
        (1047, "qr"),
        (1049, "qr"),
        (1014, "push"),
        (1107, "push"),
        (1035, "official_account"),
        (1058, "official_account"),
        (1091, "official_account"),
        (1036, "app"),
        (1069, "app"),
        (1037, "mini_program"),
        (1038, "mini_program"),
        (1045, "ads"),
        (1095, "ads"),
        (1154, "timeline"),
        (1155, "timeline"),
        (1065, "web"),
        (1194, "web"),
        (1167, "web"),
        (1034, "pay"),
        (1060, "pay"),
        (1129, "crawler"),
        (1999, "other"),
        (None, ""),
        (0, ""),
    ],
)
def test_a_scene_value_maps_to_its_channel_group(scene: int | None, channel: str) -> None:
    assert channel_for_scene(scene) == channel


def test_every_channel_group_but_other_has_scenes() -> None:
    assert set(SCENE_CHANNELS.values()) == set(ChannelGroup) - {ChannelGroup.other}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ShareInfo("", 0, 0)),
        ({"c": "AB12"}, ShareInfo("AB12", 0, 0)),
        ({"scene": "c%3DAB12%26s%3D9"}, ShareInfo("AB12", 9, 1)),
        ({"scene": "SPRING2026"}, ShareInfo("SPRING2026", 0, 0)),
        ({"q": "https%3A%2F%2Fshop.example.com%2Fp%3Fc%3DQR7"}, ShareInfo("QR7", 0, 0)),
        ({"sharer_id": "42", "share_depth": "3"}, ShareInfo("", 42, 3)),
        ({"sharer_id": "42"}, ShareInfo("", 42, 1)),
        ({"sharer_id": "42", "share_depth": "999"}, ShareInfo("", 42, 255)),
        ({"sharer_id": "-1", "share_depth": "x"}, ShareInfo("", 0, 0)),
        ({"c": "bad code", "sharer_id": "９"}, ShareInfo("", 0, 0)),
        ({"c": "AB12", "scene": "c=ZZ&s=9", "sharer_id": "5"}, ShareInfo("AB12", 5, 1)),
    ],
)
def test_the_share_chain_and_channel_code_are_read_from_the_query(
    query: dict[str, str], expected: ShareInfo
) -> None:
    assert read_share(query) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-02T01:59:00+00:00", datetime(2026, 11, 2, 1, 59, tzinfo=UTC)),
        ("2026-11-02T09:59:00+08:00", datetime(2026, 11, 2, 1, 59, tzinfo=UTC)),
        ("2026-11-02T01:59:00Z", datetime(2026, 11, 2, 1, 59, tzinfo=UTC)),
        (1793584740000, datetime(2026, 11, 2, 1, 59, tzinfo=UTC)),
        (1793584740123.0, datetime(2026, 11, 2, 1, 59, 0, 123000, tzinfo=UTC)),
        ("2026-11-02T01:59:00", None),
        ("yesterday", None),
        (True, None),
        (1793584740, None),
        (None, None),
    ],
)
def test_times_are_iso_8601_with_an_offset_or_epoch_milliseconds(
    value: object, expected: datetime | None
) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"event_id": "short"}, "bad_event_id"),
        ({"event_id": "has space 0001"}, "bad_event_id"),
        ({"event_id": ...}, "bad_event_id"),
        ({"event": "PageView"}, "bad_event_name"),
        ({"event": "a" * 65}, "bad_event_name"),
        ({"event": "order.paid"}, "reserved_event_name"),
        ({"event": "shopper.registered"}, "reserved_event_name"),
        ({"anonymous_id": "dev"}, "bad_anonymous_id"),
        ({"shopper_id": 0}, "bad_shopper_id"),
        ({"shopper_id": "7"}, "bad_shopper_id"),
        ({"shopper_id": True}, "bad_shopper_id"),
        ({"shopper_id": 2**63}, "bad_shopper_id"),
        ({"client_time": "2026-11-02 01:59"}, "bad_client_time"),
        ({"page": "p" * 513}, "bad_page"),
        ({"page": 3}, "bad_page"),
        ({"referrer": ["x"]}, "bad_referrer"),
        ({"scene": 99}, "bad_scene"),
        ({"scene": "1047"}, "bad_scene"),
        ({"query": {"c": 1}}, "bad_query"),
        ({"query": {f"k{i}": "v" for i in range(33)}}, "bad_query"),
        ({"properties": [1, 2]}, "bad_properties"),
        ({"properties": {"blob": "x" * 8200}}, "properties_too_large"),
        ({"properties": {"blob": "字" * 2800}}, "properties_too_large"),
        ({"scene": 1129}, "crawler_excluded"),
    ],
)
def test_an_invalid_event_is_rejected_with_a_stable_code(
    overrides: dict[str, Any], code: str
) -> None:
    assert validate_event(an_event(**overrides), sent_at=None, received_at=NOW) == code


def test_a_valid_event_carries_its_channel_share_chain_and_properties() -> None:
    # given a page view opened from a share card in a 1:1 chat
    raw = an_event(
        shopper_id=7,
        page="pages/product/detail",
        referrer="pages/index/index",
        scene=1007,
        query={"id": "12", "sharer_id": "42", "share_depth": "2", "c": "AB12"},
        properties={"product_id": 12, "标题": "咖啡"},
    )

    # when it is validated
    event = validate_event(raw, sent_at=None, received_at=NOW)

    # then every column is filled
    client_time = datetime(2026, 11, 2, 1, 59, tzinfo=UTC)
    assert event == TrackedEvent(
        event_id="evt-00000001",
        event="$pageview",
        anonymous_id="device-0001-abcd",
        shopper_id=7,
        timestamp=client_time,
        client_time=client_time,
        received_at=NOW,
        page="pages/product/detail",
        referrer="pages/index/index",
        scene=1007,
        channel="share",
        channel_code="AB12",
        sharer_id=42,
        share_depth=2,
        properties='{"product_id":12,"标题":"咖啡"}',
    )


def test_a_logged_in_shopper_owns_the_batch_events() -> None:
    # given a batch sent with shopper 7's token: one event unnamed, one naming 7, one naming 8
    raw = [
        an_event(event_id="evt-00000001"),
        an_event(event_id="evt-00000002", shopper_id=7),
        an_event(event_id="evt-00000003", shopper_id=8),
    ]

    # when it is validated
    events, rejected = validate_batch(raw, sent_at=None, received_at=NOW, authenticated_shopper=7)

    # then the first two are shopper 7's and the third is refused
    assert [(e.event_id, e.shopper_id) for e in events] == [
        ("evt-00000001", 7),
        ("evt-00000002", 7),
    ]
    assert [(r.index, r.code) for r in rejected] == [(2, "shopper_mismatch")]


def test_a_batch_keeps_valid_events_and_reports_each_invalid_one() -> None:
    raw: list[object] = [
        an_event(event_id="evt-00000001"),
        "not an event",
        an_event(event_id="evt-00000002", event="Bad Name"),
        an_event(event_id="evt-00000001"),
        an_event(event_id="evt-00000003"),
    ]

    events, rejected = validate_batch(raw, sent_at=None, received_at=NOW)

    assert [e.event_id for e in events] == ["evt-00000001", "evt-00000003"]
    assert [(r.index, r.code) for r in rejected] == [
        (1, "not_an_object"),
        (2, "bad_event_name"),
        (3, "duplicate_event_id"),
    ]
    assert all(isinstance(r, Rejection) and " / " in r.message for r in rejected)


def test_a_clamped_event_is_marked_in_its_properties() -> None:
    raw = an_event(client_time="2020-01-01T00:00:00Z", properties={"a": 1})

    event = validate_event(raw, sent_at=None, received_at=NOW)

    assert isinstance(event, TrackedEvent)
    assert event.timestamp == NOW
    assert json.loads(event.properties) == {"a": 1, "$skew_clamped": True}


def test_the_dedup_token_ignores_the_order_of_events() -> None:
    assert batch_dedup_token(["b", "a", "c"]) == batch_dedup_token(["c", "b", "a"])
    assert batch_dedup_token(["a", "b"]) != batch_dedup_token(["a", "b", "c"])


# ---------------------------------------------------------------- clock skew

times = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
offsets = st.timedeltas(min_value=timedelta(days=-30), max_value=timedelta(days=30))
delays = st.timedeltas(min_value=timedelta(0), max_value=timedelta(minutes=10))
ages = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10))


@given(client_time=times, sent_at=st.none() | times, received_at=times)
def test_a_corrected_time_is_never_over_7_days_old_or_1_hour_ahead(
    client_time: datetime, sent_at: datetime | None, received_at: datetime
) -> None:
    timestamp, clamped = correct_timestamp(client_time, sent_at=sent_at, received_at=received_at)

    assert received_at - MAX_PAST <= timestamp <= received_at + MAX_FUTURE
    corrected = client_time if sent_at is None else client_time + (received_at - sent_at)
    assert timestamp == (received_at if clamped else corrected)
    assert clamped is not (received_at - MAX_PAST <= corrected <= received_at + MAX_FUTURE)


@given(received_at=times, clock_error=offsets, delay=delays, age=ages)
def test_the_phone_clock_error_cancels_out_when_the_batch_says_when_it_was_sent(
    received_at: datetime, clock_error: timedelta, delay: timedelta, age: timedelta
) -> None:
    # given an event that happened `age` before sending, on a phone whose clock is
    # off by `clock_error`, and a network taking `delay`
    sent_true = received_at - delay
    happened = sent_true - age

    # when the server corrects the phone's times
    timestamp, clamped = correct_timestamp(
        happened + clock_error, sent_at=sent_true + clock_error, received_at=received_at
    )

    # then it recovers the true time (less the network delay) unless that is absurd
    expected = happened + delay
    in_range = received_at - MAX_PAST <= expected <= received_at + MAX_FUTURE
    assert (timestamp, clamped) == ((expected, False) if in_range else (received_at, True))


# ---------------------------------------------------------------- rate limit


def test_a_device_gets_a_burst_of_20_batches_then_2_a_second() -> None:
    # given a device that sends 20 batches at once
    bucket: Bucket | None = None
    for _ in range(20):
        bucket, wait = take_token(bucket, NOW)
        assert wait == 0.0

    # when it sends a 21st
    assert bucket is not None
    refused, wait = take_token(bucket, NOW)

    # then it waits half a second, after which one more batch passes
    assert wait == pytest.approx(0.5)
    _, later = take_token(refused, NOW + timedelta(seconds=0.5))
    assert later == 0.0
