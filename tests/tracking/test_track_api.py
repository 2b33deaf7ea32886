"""POST /api/track against chdb: mixes of valid and invalid events, gzip, limits,
retries counted once, clock skew, channels, and device stitching at login."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from siyu.analytics.schema import PERSON_ID, events_with_persons
from siyu.analytics.store import AnalyticsStore
from siyu.bootstrap import Context
from siyu.clock import FrozenClock
from siyu.worker import Worker
from tests.conftest import START
from tests.tracking.conftest import raw_count, stored

DEVICE = "device-0001-abcd"


def an_event(n: int, **overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": f"evt-{n:08d}",
        "event": "$pageview",
        "anonymous_id": DEVICE,
        "client_time": (START - timedelta(seconds=60 - n)).isoformat(),
        "page": "pages/index/index",
    }
    event.update(overrides)
    return event


def post(client: TestClient, body: Any, **headers: str) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(
        "/api/track", content=data, headers={"Content-Type": "application/json", **headers}
    )


def test_valid_events_are_stored_with_their_channel_and_share_chain(
    track_client: TestClient, analytics_store: AnalyticsStore
) -> None:
    # given a launch from a mini-program code and a page opened from a share card
    batch = [
        an_event(1, event="$launch", scene=1047, query={"scene": "c%3DAB12%26s%3D9"}),
        an_event(2, scene=1007, query={"sharer_id": "42", "share_depth": "3"}),
        an_event(3, scene=1058, properties={"article": "双十一"}),
    ]

    # when the mini-program sends them
    response = post(track_client, {"batch": batch})

    # then all are accepted and stored with their attribution
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 3, "rejected": []}
    assert stored(
        analytics_store,
        "event, scene, channel, channel_code, sharer_id, share_depth, properties, source",
    ) == [
        ("$launch", 1047, "qr", "AB12", 9, 1, "{}", "client"),
        ("$pageview", 1007, "share", "", 42, 3, "{}", "client"),
        ("$pageview", 1058, "official_account", "", 0, 0, '{"article":"双十一"}', "client"),
    ]


def test_invalid_events_are_reported_one_by_one_and_the_valid_ones_are_stored(
    track_client: TestClient, analytics_store: AnalyticsStore
) -> None:
    # given a batch with two good events among bad ones
    batch: list[Any] = [
        an_event(1),
        an_event(2, event="Bad Event"),
        42,
        an_event(3, event="order.paid"),
        an_event(4, scene=1129),
        an_event(5, properties={"blob": "x" * 9000}),
        an_event(6),
    ]

    # when it is sent
    response = post(track_client, {"batch": batch})

    # then the response lists each rejected event by index and code
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [
        (1, "bad_event_name"),
        (2, "not_an_object"),
        (3, "reserved_event_name"),
        (4, "crawler_excluded"),
        (5, "properties_too_large"),
    ]
    assert stored(analytics_store, "event_id") == [("evt-00000001",), ("evt-00000006",)]


def test_a_gzipped_batch_is_accepted(
    track_client: TestClient, analytics_store: AnalyticsStore
) -> None:
    body = gzip.compress(json.dumps({"batch": [an_event(n) for n in range(1, 201)]}).encode())

    response = post(track_client, body, **{"Content-Encoding": "gzip"})

    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 200
    assert raw_count(analytics_store) == 200


def test_a_body_over_1_mb_is_refused_with_413_even_when_gzipped(
    track_client: TestClient, analytics_store: AnalyticsStore
) -> None:
    # given a plain body of 1.1 MB and a 1 KB gzip that inflates to 2 MB
    plain = json.dumps({"batch": [an_event(1, page="p" * 1_100_000)]}).encode()
    bomb = gzip.compress(b'{"batch": [' + b" " * 2_000_000 + b"]}")

    # when each is sent
    responses = [
        post(track_client, plain),
        post(track_client, bomb, **{"Content-Encoding": "gzip"}),
    ]

    # then both are refused before anything is stored
    assert [r.status_code for r in responses] == [413, 413]
    assert [r.json()["error"]["code"] for r in responses] == ["payload_too_large"] * 2
    assert raw_count(analytics_store) == 0


def test_more_than_500_events_in_a_batch_is_refused_with_413(track_client: TestClient) -> None:
    response = post(track_client, {"batch": [an_event(n) for n in range(501)]})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_events"


def test_bodies_that_are_not_json_batches_are_refused_with_clear_codes(
    track_client: TestClient,
) -> None:
    # when: XML, brotli, broken JSON, broken gzip, a JSON list, a bad sent_at
    cases = [
        track_client.post("/api/track", content=b"<batch/>", headers={"Content-Type": "text/xml"}),
        post(track_client, {"batch": []}, **{"Content-Encoding": "br"}),
        post(track_client, b'{"batch": [}'),
        post(track_client, b"not gzip", **{"Content-Encoding": "gzip"}),
        post(track_client, [an_event(1)]),
        post(track_client, {"sent_at": "yesterday", "batch": [an_event(1)]}),
    ]

    # then each gets its status and code in the error shape
    assert [(r.status_code, r.json()["error"]["code"]) for r in cases] == [
        (415, "unsupported_media_type"),
        (415, "unsupported_encoding"),
        (400, "malformed_json"),
        (400, "bad_gzip"),
        (422, "invalid_input"),
        (422, "bad_sent_at"),
    ]
    assert all(" / " in r.json()["error"]["message"] for r in cases)


def test_a_device_sending_too_fast_gets_429_with_retry_after(
    track_client: TestClient, clock: FrozenClock, analytics_store: AnalyticsStore
) -> None:
    # given a device that sent 20 batches at once
    for n in range(20):
        assert post(track_client, {"batch": [an_event(n)]}).status_code == 200

    # when it sends a 21st, while another device sends its first
    refused = post(track_client, {"batch": [an_event(20)]})
    other = post(track_client, {"batch": [an_event(21, anonymous_id="device-0002-abcd")]})

    # then only the busy device is told to wait a second
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert other.status_code == 200
    # and a second later it may send again
    clock.advance(timedelta(seconds=1))
    assert post(track_client, {"batch": [an_event(20)]}).status_code == 200
    assert raw_count(analytics_store) == 22


def test_a_batch_sent_three_times_is_counted_once(
    track_client: TestClient, analytics_store: AnalyticsStore, clock: FrozenClock
) -> None:
    # given a batch of 50 events whose responses were lost, so the SDK resends it
    body = {"sent_at": START.isoformat(), "batch": [an_event(n) for n in range(50)]}

    # when it arrives three times, a few seconds apart
    statuses = []
    for _ in range(3):
        statuses.append(post(track_client, body).status_code)
        clock.advance(timedelta(seconds=3))

    # then every response says accepted and each event is stored once
    assert statuses == [200, 200, 200]
    assert len(stored(analytics_store, "event_id")) == 50
    assert raw_count(analytics_store) == 50


def test_the_phone_clock_error_is_corrected_with_sent_at(
    track_client: TestClient, analytics_store: AnalyticsStore
) -> None:
    # given a phone whose clock is 2 hours slow: an event 30 s before sending, and one
    # whose time is absurd (a reset clock)
    slow = START - timedelta(hours=2)
    body = {
        "sent_at": int(slow.timestamp() * 1000),
        "batch": [
            an_event(1, client_time=int((slow - timedelta(seconds=30)).timestamp() * 1000)),
            an_event(2, client_time="2001-01-01T00:00:00+08:00"),
        ],
    }

    # when the batch arrives
    assert post(track_client, body).json()["accepted"] == 2

    # then the first is placed 30 s before receipt, the second at receipt and marked
    rows = stored(analytics_store, "toString(timestamp), toString(client_time), properties")
    assert rows == [
        ("2026-11-02 01:59:30.000", "2026-11-01 23:59:30.000", "{}"),
        ("2026-11-02 02:00:00.000", "2000-12-31 16:00:00.000", '{"$skew_clamped":true}'),
    ]


def test_anonymous_browsing_and_the_purchases_after_login_are_one_person(
    track_client: TestClient, track_ctx: Context, analytics_store: AnalyticsStore
) -> None:
    # given a device that browsed before logging in
    post(track_client, {"batch": [an_event(1), an_event(2, event="add_to_cart")]})

    # when the shopper logs in on that device and the outbox is relayed
    login = track_client.post(
        "/api/app/login",
        json={"code": "wx-alice", "scene": 1047, "qr_scene": "c=AB12"},
        headers={"X-Siyu-Anonymous-Id": DEVICE},
    )
    assert login.status_code == 200, login.text
    shopper_id = login.json()["shopper"]["id"]
    Worker(track_ctx).drain()

    # and browses again while logged in
    token = {"Authorization": f"Bearer {login.json()['token']}"}
    assert post(track_client, {"batch": [an_event(3)]}, **token).json()["accepted"] == 1

    # then every event, client and server, belongs to the one shopper
    db = analytics_store.database
    persons = analytics_store.query(
        f"SELECT e.event, e.source, {PERSON_ID} AS person FROM {events_with_persons(db)} "
        "ORDER BY e.timestamp, e.event"
    ).rows
    me = str(shopper_id)
    assert persons == [
        ("$pageview", "client", me),
        ("add_to_cart", "client", me),
        ("$pageview", "client", me),
        ("shopper.logged_in", "server", me),
        ("shopper.registered", "server", me),
    ]
    facts = stored(analytics_store, "event, channel, channel_code", "source = 'server'")
    assert sorted(facts) == [("shopper.logged_in", "qr", ""), ("shopper.registered", "qr", "AB12")]


def test_a_logged_in_shopper_cannot_send_events_for_another_shopper(
    track_client: TestClient, analytics_store: AnalyticsStore
) -> None:
    # given alice logged in
    login = track_client.post(
        "/api/app/login", json={"code": "wx-alice"}, headers={"X-Siyu-Anonymous-Id": DEVICE}
    )
    alice = login.json()["shopper"]["id"]
    token = {"Authorization": f"Bearer {login.json()['token']}"}

    # when her client sends one event naming her and one naming someone else
    response = post(
        track_client,
        {"batch": [an_event(1, shopper_id=alice), an_event(2, shopper_id=alice + 1)]},
        **token,
    )

    # then only her event is stored, and her device is linked to her
    assert [(r["index"], r["code"]) for r in response.json()["rejected"]] == [
        (1, "shopper_mismatch")
    ]
    assert stored(analytics_store, "shopper_id") == [(alice,)]
    links = analytics_store.query(
        f"SELECT anonymous_id, shopper_id FROM {analytics_store.database}.person_links"
    ).rows
    assert links == [(DEVICE, alice)]
