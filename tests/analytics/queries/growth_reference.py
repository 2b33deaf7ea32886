"""Events with money and channels for the growth runners (channels, overview,
repurchase), and brute-force Python references computed from the same events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tests.analytics.queries.reference import person_key

SERVER_EVENTS = (
    "shopper.registered",
    "shopper.logged_in",
    "order.placed",
    "order.paid",
    "refund.succeeded",
)


@dataclass(frozen=True)
class Fact:
    event: str
    anonymous_id: str
    at: datetime
    shopper_id: int = 0
    channel: str = ""
    channel_code: str = ""
    amount_fen: int = 0

    @property
    def source(self) -> str:
        return "server" if self.event in SERVER_EVENTS else "client"


def is_visit(f: Fact) -> bool:
    """A visit: any client event, or a login, an order placed or an order paid."""
    return f.source == "client" or f.event in ("shopper.logged_in", "order.placed", "order.paid")


def person(f: Fact, links: dict[str, int]) -> str:
    return person_key(f.shopper_id, f.anonymous_id, links)


def reference_channels(
    facts: Sequence[Fact],
    links: dict[str, int],
    date_from: datetime,
    date_to: datetime,
    *,
    attribution: str,
    breakdown: str,
) -> dict[str, tuple[int, int, int, int, int, int]]:
    """channel → (visitors, new_shoppers, buyers, new_buyers, orders, gmv_fen)."""
    by_person: dict[str, list[Fact]] = defaultdict(list)
    first_paid: dict[str, datetime] = {}
    for f in facts:
        p = person(f, links)
        if f.event == "order.paid" and f.at < date_to:
            first_paid[p] = min(first_paid.get(p, f.at), f.at)
        if date_from <= f.at < date_to:
            by_person[p].append(f)
    table: dict[str, list[int]] = defaultdict(lambda: [0] * 6)
    for p, events in by_person.items():
        paid = [f for f in events if f.event == "order.paid"]
        converted = min((f.at for f in paid), default=None)

        def is_touch(f: Fact) -> bool:
            if f.source != "client":
                return False
            if breakdown == "group":
                return f.channel not in ("", "direct")
            return f.channel_code != ""

        touches = sorted(
            (f.at, f.channel if breakdown == "group" else f.channel_code)
            for f in events
            if is_touch(f) and (converted is None or f.at <= converted)
        )
        if touches:
            channel = touches[0][1] if attribution == "first_touch" else touches[-1][1]
        else:
            channel = "direct" if breakdown == "group" else ""
        row = table[channel]
        row[0] += any(is_visit(f) for f in events)
        row[1] += any(f.event == "shopper.registered" for f in events)
        row[2] += bool(paid)
        row[3] += bool(paid) and first_paid[p] >= date_from
        row[4] += len(paid)
        row[5] += sum(f.amount_fen for f in paid) - sum(
            f.amount_fen for f in events if f.event == "refund.succeeded"
        )
    return {k: (v[0], v[1], v[2], v[3], v[4], v[5]) for k, v in table.items()}
