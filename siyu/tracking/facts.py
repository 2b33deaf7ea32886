"""Server-side facts: domain events from the outbox become ``events`` rows
(``source='server'``), so analytics reads registrations, orders, payments and refunds
from the same table as client events.

- ``event_id`` is the outbox event id and the insert's dedup token: a redelivered
  event (the outbox is at-least-once) is stored once.
- The person is the payload's shopper; the device is the payload's anonymous id, else
  the one the shopper registered on.
- Attribution is first touch: the shopper's first scene, channel code and sharer
  (registration and login carry their own scene).
- ``shopper.registered`` and ``shopper.logged_in`` with an anonymous id also link that
  device to the shopper (``person_links``), which stitches pre-login browsing.
- Amounts: ``order.paid`` and ``refund.succeeded`` carry ``amount_fen`` (both
  positive: net revenue = paid − refunded); ``order.placed`` and ``order.completed``
  carry the order total.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from siyu.analytics.store import AnalyticsStore
from siyu.clock import as_utc
from siyu.events import SERVER_EVENTS
from siyu.identity.models import Shopper
from siyu.outbox import DomainEvent, EventRelay
from siyu.tracking.ingest import ch_time, link_devices, store_fact
from siyu.tracking.rules import channel_for_scene

SUBSCRIBER = "tracking.facts"
FACT_EVENTS = SERVER_EVENTS  # every server event in the catalog (siyu/events.py)
LINKING_EVENTS = frozenset({"shopper.registered", "shopper.logged_in"})
# Payload keys that become columns rather than properties.
_PROMOTED = ("shopper_id", "anonymous_id", "amount_fen", "order_id", "scene", "channel_code")


@dataclass(frozen=True)
class Attribution:
    anonymous_id: str = ""
    scene: int = 0
    channel_code: str = ""
    sharer_id: int = 0


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def attribution_of(event: DomainEvent, shopper: Shopper | None) -> Attribution:
    """Registration and login carry their own launch; other facts get first touch."""
    payload = event.payload
    device = payload.get("anonymous_id") or (shopper.first_anonymous_id if shopper else "") or ""
    if event.event_type == "shopper.registered":
        return Attribution(
            device,
            _int(payload.get("scene")),
            payload.get("channel_code") or "",
            _int(payload.get("sharer_id")),
        )
    if event.event_type == "shopper.logged_in":
        return Attribution(device, _int(payload.get("scene")))
    if shopper is None:
        return Attribution(device)
    return Attribution(
        device,
        _int(shopper.first_scene),
        shopper.first_channel_code or "",
        _int(shopper.first_sharer_id),
    )


def fact_row(event: DomainEvent, attribution: Attribution) -> tuple[Any, ...]:
    payload = event.payload
    at = ch_time(as_utc(event.occurred_at))
    amount = payload.get("amount_fen", payload.get("total_fen", 0))
    properties = {k: v for k, v in payload.items() if k not in _PROMOTED}
    return (
        event.event_id,
        event.event_type,
        attribution.anonymous_id,
        _int(payload.get("shopper_id")),
        at,
        at,
        at,
        "",
        "",
        attribution.scene if attribution.scene <= 9999 else 0,
        channel_for_scene(attribution.scene),
        attribution.channel_code,
        attribution.sharer_id,
        1 if attribution.sharer_id else 0,
        json.dumps(properties, ensure_ascii=False, default=str, separators=(",", ":")),
        "server",
        amount if isinstance(amount, int) and not isinstance(amount, bool) else 0,
        _int(payload.get("order_id")),
    )


def record_fact(store: AnalyticsStore, session: Session, event: DomainEvent) -> None:
    shopper_id = _int(event.payload.get("shopper_id"))
    shopper = session.get(Shopper, shopper_id) if shopper_id else None
    attribution = attribution_of(event, shopper)
    store_fact(store, fact_row(event, attribution), event_id=event.event_id)
    device = event.payload.get("anonymous_id")
    if event.event_type in LINKING_EVENTS and shopper_id and isinstance(device, str) and device:
        link_devices(
            store,
            [(device, shopper_id)],
            as_utc(event.occurred_at),
            dedup_token=f"link-{event.event_id}",
        )


def subscribe_facts(relay: EventRelay, store: AnalyticsStore) -> None:
    """Register the facts subscriber (the context does this once)."""
    relay.subscribe(
        SUBSCRIBER, FACT_EVENTS, lambda session, event: record_fact(store, session, event)
    )
