"""``siyu simulate``: a believable store history, generated through the public APIs.

The shoppers, their arrivals and the shape of their visits come from the model in
:mod:`siyu.devtools.simulation`; this module plays them against the store, in process,
through the same calls the mini-program and its tracking SDK make:

1. the browsing events posted to ``/api/track`` in batches (the ingestion path,
   :mod:`siyu.tracking.ingest`) with that moment's client times;
2. login (sandbox WeChat login with the launch scene, QR code and sharer) and
   ``$identify``; later events carry the bearer token, which links the device;
3. the cart, an order (``Idempotency-Key``), the payment started and completed at the
   sandbox cashier; some orders are cancelled or left to time out;
4. the coupon center now and then before checkout, the new-shopper gift pop-up, the
   checkout quote whose total the order must match (``expected_total_fen``), and a
   few refunds of received orders approved by the staff.

The staff ship paid orders each evening; shoppers confirm receipt (or the auto-confirm
timer does).

The clock is a :class:`~siyu.clock.FrozenClock` set to each action's time, so the
OLTP rows, the outbox facts and the client events share one timeline; the worker is
drained after every visit (timers and the outbox relay into the analytics store). The
random choices come from ``seed``: the same seed on a fresh store gives the same
history. The demo catalog is seeded first when the store is empty.

The bulk mode (:mod:`siyu.devtools.simulate_bulk`) writes millions of events straight into the
analytics store instead, for benchmarks.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from siyu.analytics.queries import EventFilter, FunnelQuery, FunnelResult, FunnelRunner
from siyu.analytics.store import AnalyticsStore
from siyu.bootstrap import Context
from siyu.clock import SHANGHAI, FrozenClock
from siyu.config import Settings
from siyu.devtools.demo import seed_demo
from siyu.devtools.demo_data import DEMO_PASSWORD
from siyu.devtools.simulation import (
    CART,
    CHECKOUT,
    COUPONS,
    DAY,
    ORDER,
    PRODUCT,
    SECOND,
    CatalogProduct,
    Person,
    ShopperModel,
    client_event,
    day_start,
)
from siyu.events import STORE_FUNNEL
from siyu.identity.models import Operator
from siyu.money import format_yuan
from siyu.worker import Worker

with warnings.catch_warnings():
    # Starlette's TestClient (the in-process client the simulation drives the app with)
    # warns once that it would rather have the ``httpx2`` fork; plain httpx works the
    # same, and an operator running ``siyu simulate`` should not see a developer warning.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

DEFAULT_SEED = 2026
FUNNEL_STEPS = STORE_FUNNEL


@dataclass
class SimulationReport:
    start: datetime
    end: datetime
    seed: int
    days: int
    counts: Counter[str] = field(default_factory=Counter)
    funnel: list[tuple[str, int]] = field(default_factory=list)

    def summary(self) -> str:
        c = self.counts
        lines = [
            f"模拟完成 / Simulated {self.days} days "
            f"({self.start.astimezone(SHANGHAI):%Y-%m-%d} → "
            f"{self.end.astimezone(SHANGHAI):%Y-%m-%d}, seed {self.seed})",
            f"  到访 / arrivals: {c['arrivals']}, visits: {c['visits']} "
            f"(returning {c['return_visits']})",
            f"  浏览商品 / product viewers: {c['product_visits']}, "
            f"加购 / add-to-cart visits: {c['cart_visits']}",
            f"  登录 / logins: {c['logins']} (new shoppers {c['registrations']})",
            f"  订单 / orders: placed {c['orders_placed']}, paid {c['orders_paid']} "
            f"(repurchases {c['repurchases']}), cancelled {c['orders_cancelled']}, "
            f"left unpaid {c['orders_unpaid']}",
            f"  发货 / shipped {c['shipped']}, 确认收货 / confirmed {c['confirmed']}, "
            f"退款 / refunds {c['refunds']}",
            f"  优惠 / gift packs {c['gift_packs']}, coupons claimed {c['coupons_claimed']}, "
            f"orders with a coupon {c['orders_with_coupon']}, "
            f"discounts {format_yuan(c['discount_fen'])}",
            f"  分享 / shares: {c['shares']}, arrivals by share: {c['share_arrivals']}",
            f"  埋点 / events sent {c['events_sent']}, accepted {c['events_accepted']}"
            + (f", API errors {c['api_errors']}" if c["api_errors"] else ""),
        ]
        if self.funnel:
            first = self.funnel[0][1] or 1
            steps = " → ".join(f"{name} {n} ({100 * n / first:.1f}%)" for name, n in self.funnel)
            lines.append(f"  漏斗 / funnel (7-day window): {steps}")
        return "\n".join(lines)


class Simulation:
    """The model's shoppers played against the store through ``client``."""

    def __init__(self, ctx: Context, client: TestClient, *, seed: int, start: datetime) -> None:
        if not isinstance(ctx.clock, FrozenClock):
            raise ValueError("the simulation moves time: build the context with a FrozenClock")
        self.ctx = ctx
        self.clock: FrozenClock = ctx.clock
        self.client = client
        self.seed = seed
        self.model = ShopperModel(seed)
        self.start = start
        self.worker = Worker(ctx)
        self.counts: Counter[str] = Counter()
        self.to_ship: list[tuple[int, Person, datetime]] = []  # paid orders, when paid
        self.shipped: list[tuple[int, Person, datetime]] = []
        self.keys = 0

    # ------------------------------------------------------------ HTTP helpers

    def at(self, when: datetime) -> None:
        self.clock.set(when)

    def call(
        self,
        method: str,
        url: str,
        *,
        person: Person | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """One API call; a non-2xx answer counts as an API error and returns None."""
        sent = dict(headers or {})
        if person is not None and person.token:
            sent["Authorization"] = f"Bearer {person.token}"
        response = self.client.request(method, url, json=json_body, headers=sent, params=params)
        if response.status_code >= 300:
            self.counts["api_errors"] += 1
            self.counts[f"api_error_{response.status_code}"] += 1
            return None
        return response.json() if response.content else {}

    def send(self, person: Person, events: list[dict[str, Any]], sent_at: datetime) -> None:
        """Post the device's queued events (≤ 500) to /api/track at ``sent_at``."""
        if not events:
            return
        self.at(sent_at)
        body = {"sent_at": int(sent_at.timestamp() * 1000), "batch": events}
        result = self.call("POST", "/api/track", person=person, json_body=body)
        self.counts["events_sent"] += len(events)
        if result is not None:
            self.counts["events_accepted"] += int(result["accepted"])
        events.clear()

    # ------------------------------------------------------------ setup

    def load_catalog(self) -> None:
        cursor: str | None = None
        products: list[CatalogProduct] = []
        summaries: list[dict[str, Any]] = []
        while True:
            params: dict[str, Any] = {"limit": 50}
            if cursor:
                params["cursor"] = cursor
            page = self.call("GET", "/api/app/products", params=params)
            summaries += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        weight = {"traffic": 5, "profit": 3, "premium": 1}
        for summary in sorted(summaries, key=lambda s: s["id"]):
            detail = self.call("GET", f"/api/app/products/{summary['id']}")
            skus = tuple(s["id"] for s in detail["skus"] if s["is_active"] and s["stock"] >= 20)
            if skus:
                products.append(
                    CatalogProduct(
                        summary["id"],
                        summary["category_id"],
                        summary["min_price_fen"],
                        skus,
                        weight.get(summary["role"], 1),
                    )
                )
        self.model.set_catalog(products)

    def staff_token(self) -> str | None:
        with self.ctx.db.transaction() as session:
            exists = session.scalar(select(Operator.id).where(Operator.username == "support"))
        if exists is None:
            return None
        body = {"username": "support", "password": DEMO_PASSWORD}
        result = self.call("POST", "/api/admin/login", json_body=body)
        return None if result is None else str(result["token"])

    # ------------------------------------------------------------ one visit

    def login(self, person: Person, scene: int, attribution: dict[str, Any], at: datetime) -> bool:
        self.at(at)
        body = {"code": person.code, "scene": scene, **attribution}
        if person.shopper_id is None and (nickname := self.model.nickname(person)):
            body["nickname"] = nickname
        result = self.call(
            "POST", "/api/app/login", json_body=body, headers={"X-Siyu-Anonymous-Id": person.device}
        )
        if result is None:
            return False
        person.shopper_id = int(result["shopper"]["id"])
        person.token = str(result["token"])
        self.counts["logins"] += 1
        self.counts["registrations"] += bool(result["is_new"])
        if result["is_new"]:  # the gift pop-up, shown once
            gift = self.call("GET", "/api/app/coupons/gift", person=person)
            if gift and gift["show"]:
                self.counts["gift_packs"] += 1
                self.call("POST", "/api/app/coupons/gift/seen", person=person)
        return True

    def visit(self, person: Person, start: datetime) -> None:
        model, counts = self.model, self.counts
        first = person.visits == 0
        person.visits += 1
        counts["visits"] += 1
        counts["arrivals" if first else "return_visits"] += 1
        entry = self.model.entry_of(person, first)
        if entry.by_share:
            counts["share_arrivals"] += 1
        scene, attribution = entry.scene, entry.attribution
        browse = self.model.browse(person, entry, start)
        queue, seen, t, keen = browse.events, browse.seen, browse.t, browse.keen
        if seen:
            counts["product_visits"] += 1

        # Add to cart: the click is tracked; the cart needs a login.
        choice = self.model.cart_choice(person, browse)
        if choice is None:
            self.maybe_share(person, queue, t, seen)
            self.send(person, queue, t + SECOND)
            return
        sku_id, quantity, t = choice.sku_id, choice.quantity, choice.t
        queue.append(choice.click)
        if person.token is None or first:
            if model.closes_login_prompt():
                self.send(person, queue, t + SECOND)
                return
            self.send(person, queue, t)  # the SDK flushes before identify
            t += model.seconds(2, 10)
            if not self.login(person, scene, attribution, t):
                return
            queue.append(
                client_event(person, "$identify", t, page=PRODUCT, properties={"method": "wechat"})
            )
        counts["cart_visits"] += 1
        self.at(t)
        cart = self.call(
            "POST", "/api/app/cart/items", person=person,
            json_body={"sku_id": sku_id, "quantity": quantity},
        )  # fmt: skip
        if cart is None:
            self.send(person, queue, t + SECOND)
            return

        # Check out, or leave the cart for later.
        if not model.checks_out(keen):
            self.maybe_share(person, queue, t, seen)
            self.send(person, queue, t + SECOND)
            return
        t += model.seconds(10, 90)
        queue.append(client_event(person, "$pageview", t, page=CART, referrer=PRODUCT))
        wanted = [line["item_id"] for line in cart["lines"] if line["available"]]
        t += model.seconds(5, 40)
        queue.append(client_event(person, "$pageview", t, page=CHECKOUT, referrer=CART))
        self.order(person, wanted, queue, t)
        self.maybe_share(person, queue, self.clock.now(), seen)
        self.send(person, queue, self.clock.now() + SECOND)

    def order(
        self, person: Person, cart_item_ids: list[int], queue: list[dict[str, Any]], t: datetime
    ) -> None:
        model, counts = self.model, self.counts
        if not cart_item_ids:
            return
        t += model.seconds(5, 60)
        queue.append(
            client_event(
                person, "submit_order", t, page=CHECKOUT,
                properties={"source": "cart", "lines": len(cart_item_ids)},
            )
        )  # fmt: skip
        self.at(t)
        if model.visits_coupon_center():
            queue.append(client_event(person, "$pageview", t, page=COUPONS))
            for coupon in self.call("GET", "/api/app/coupons/center", person=person) or []:
                if coupon["can_claim"] and model.claims_coupon():
                    path = f"/api/app/coupons/center/{coupon['template_id']}/claim"
                    if self.call("POST", path, person=person) is not None:
                        counts["coupons_claimed"] += 1
        quote = self.call(
            "GET", "/api/app/checkout/quote", person=person,
            params={"cart_item_ids": cart_item_ids},
        )  # fmt: skip
        if quote is None:
            return
        self.keys += 1
        placed = self.call(
            "POST", "/api/app/orders", person=person,
            json_body={
                "cart_item_ids": cart_item_ids,
                "address": person.address,
                "note": model.order_note(),
                "coupon_ids": quote["quote"]["applied_coupon_ids"],
                "expected_total_fen": quote["total_fen"],
            },
            headers={"Idempotency-Key": f"sim-{self.seed}-{person.index}-{self.keys}"},
        )  # fmt: skip
        if placed is None:
            return
        order_id = int(placed["id"])
        counts["orders_placed"] += 1
        counts["orders_with_coupon"] += bool(quote["quote"]["applied_coupon_ids"])
        counts["discount_fen"] += int(placed["discount_fen"])
        outcome = model.payment_outcome()
        if outcome == "unpaid":  # the payment timeout closes it
            counts["orders_unpaid"] += 1
            return
        if outcome == "cancel":
            t += model.minutes(1, 10)
            self.at(t)
            if self.call("POST", f"/api/app/orders/{order_id}/cancel", person=person) is not None:
                counts["orders_cancelled"] += 1
            return
        t += model.seconds(5, 120)
        queue.append(client_event(person, "pay", t, page=ORDER, properties={"order_id": order_id}))
        self.at(t)
        if self.call("POST", f"/api/app/orders/{order_id}/pay", person=person) is None:
            return
        t += model.seconds(3, 30)
        self.at(t)
        if self.call("POST", f"/api/app/orders/{order_id}/sandbox-pay", person=person) is None:
            return
        counts["orders_paid"] += 1
        counts["repurchases"] += person.paid_orders > 0
        person.paid_orders += 1
        self.to_ship.append((order_id, person, t))

    def maybe_share(
        self, person: Person, queue: list[dict[str, Any]], t: datetime, seen: list[CatalogProduct]
    ) -> None:
        event = self.model.share(person, t, seen)
        if event is not None:
            queue.append(event)
            self.counts["shares"] += 1

    # ------------------------------------------------------------ the store's evening

    def evening(self, day: datetime, token: str | None) -> None:
        """Staff ship the orders paid before the evening round; shoppers confirm parcels
        that arrived. An order paid later that night waits for tomorrow's round."""
        model = self.model
        at = day + timedelta(hours=20)
        if token:
            ready = [(o, p) for o, p, paid in self.to_ship if paid < at]
            self.to_ship = [item for item in self.to_ship if item[2] >= at]
            for order_id, person in ready:
                at += model.seconds(20, 120)
                self.at(at)
                body = model.shipment()
                result = self.call(
                    "POST", f"/api/admin/orders/{order_id}/ship",
                    json_body=body, headers={"Authorization": f"Bearer {token}"},
                )  # fmt: skip
                if result is not None:
                    self.counts["shipped"] += 1
                    self.shipped.append((order_id, person, at))
        waiting = []
        for order_id, person, shipped_at in self.shipped:
            if at - shipped_at >= 2 * DAY and model.confirms_receipt():
                at += model.seconds(20, 120)
                self.at(at)
                path = f"/api/app/orders/{order_id}/confirm"
                if self.call("POST", path, person=person) is not None:
                    self.counts["confirmed"] += 1
                    if token and model.asks_refund():
                        at += model.minutes(5, 60)
                        self.refund(order_id, person, token, at)
            elif at - shipped_at < 5 * DAY:
                waiting.append((order_id, person, shipped_at))
        self.shipped = waiting  # the auto-confirm timer takes the rest

    def refund(self, order_id: int, person: Person, token: str, at: datetime) -> None:
        """The shopper asks for a refund of the whole order; the staff approve it."""
        self.at(at)
        body = {"order_id": order_id, "kind": "refund_only", "reason": "不想要了"}
        request = self.call("POST", "/api/app/aftersales", person=person, json_body=body)
        if request is None:
            return
        self.at(at + self.model.hours(0.5, 3))
        approved = self.call(
            "POST", f"/api/admin/aftersales/{request['id']}/approve",
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
        if approved is not None:
            self.counts["refunds"] += 1

    def drain(self) -> None:
        while self.worker.tick() != (0, 0):
            pass

    def run(self, days: int) -> None:
        self.load_catalog()
        for d in range(days):
            day = self.start + d * DAY
            evening = day + timedelta(hours=20)
            visits = self.model.visits_of_day(d, day)
            # The day in time order: the visits before the evening round, the round,
            # then the night's visits (the clock never goes back).
            for at, index in [v for v in visits if v[0] < evening]:
                self.visit(self.model.people[index], at)
                self.drain()
            self.at(evening)
            token = self.staff_token() if self.to_ship else None
            self.evening(day, token)
            for at, index in [v for v in visits if v[0] >= evening]:
                self.visit(self.model.people[index], max(at, self.clock.now()))
                self.drain()
            self.at(day + DAY - SECOND)
            self.drain()


def simulation_funnel(
    store: AnalyticsStore, start: datetime, end: datetime
) -> list[tuple[str, int]]:
    """Persons at each step of the simulated funnel (7-day window), through its runner."""
    query = FunnelQuery(
        date_from=start,
        date_to=end,
        steps=tuple(EventFilter(event=name) for name in FUNNEL_STEPS),
        window_interval=7,
    )
    result: FunnelResult = FunnelRunner(query, database=store.database).run(store)
    steps = result.series[0].steps if result.series else []
    return [(step.event, step.count) for step in steps] or [(n, 0) for n in FUNNEL_STEPS]


def simulate(
    ctx: Context,
    *,
    days: int = 30,
    shoppers: int = 300,
    seed: int = DEFAULT_SEED,
    demo_shoppers: int = 12,
) -> SimulationReport:
    """Simulate ``days`` days of the store from the clock's current (Shanghai) day on.

    ``ctx.clock`` must be a :class:`FrozenClock`; it ends at the last simulated second.
    The demo store (catalog, staff) is seeded first if the store is empty.
    """
    from siyu.app import create_app

    if days < 1 or shoppers < 1:
        raise ValueError("days and shoppers must be at least 1")
    if not isinstance(ctx.clock, FrozenClock):
        raise ValueError("the simulation moves time: build the context with a FrozenClock")
    start = day_start(ctx.clock.now())
    seed_demo(ctx, shoppers=demo_shoppers)  # does nothing on a seeded store
    report = SimulationReport(start=start, end=start + days * DAY, seed=seed, days=days)
    with TestClient(create_app(ctx=ctx, run_worker=False)) as client:
        client.headers["User-Agent"] = "siyu-simulate"
        sim = Simulation(ctx, client, seed=seed, start=start)
        sim.drain()  # whatever the demo left in the outbox
        sim.model.plan_arrivals(shoppers, days)
        sim.run(days)
        report.counts = sim.counts
    report.funnel = simulation_funnel(ctx.analytics, start, report.end)
    return report


def report_json(report: SimulationReport) -> str:
    return json.dumps({"counts": dict(report.counts), "funnel": report.funnel}, indent=2)


def run_cli(
    settings: Settings,
    *,
    days: int,
    shoppers: int,
    seed: int,
    bulk: bool,
    events: int,
    persons: int,
) -> str:
    """``siyu simulate``: the ``days`` Shanghai days before today (the history ends at
    today's midnight); with ``bulk``, analytics rows for the same days."""
    from siyu.analytics.store import open_store
    from siyu.bootstrap import build_context
    from siyu.devtools.simulate_bulk import bulk_generate

    today = day_start(datetime.now(SHANGHAI))
    if bulk:
        store = open_store(settings.analytics_store_url)
        try:
            report = bulk_generate(
                store, events=events, persons=persons, end=today, days=days, seed=seed
            )
        finally:
            store.close()
        return report.summary()
    ctx = build_context(settings, clock=FrozenClock(today - days * DAY))
    try:
        return simulate(ctx, days=days, shoppers=shoppers, seed=seed).summary()
    finally:
        ctx.close()


def seed_history(settings: Settings, *, days: int, shoppers: int, seed: int = DEFAULT_SEED) -> str:
    """``siyu demo``'s history: the simulation of the ``days`` days before today, once.
    A store whose analytics already hold client events keeps what it has (so the demo
    stays idempotent); the message says which happened."""
    from siyu.analytics.store import open_store

    store = open_store(settings.analytics_store_url)
    try:
        seen = has_client_events(store)
    finally:
        store.close()
    if seen:
        return "历史数据已存在，未再模拟 / The store has a tracked history already: not simulated again"
    return run_cli(
        settings, days=days, shoppers=shoppers, seed=seed, bulk=False, events=0, persons=0
    )


def has_client_events(store: AnalyticsStore) -> bool:
    """Whether the analytics store holds any event a client tracked."""
    from siyu.analytics.schema import ensure_schema

    ensure_schema(store)
    found = store.query(
        f"SELECT count() > 0 FROM {store.database}.events WHERE source = 'client'"
    ).scalar()
    return bool(found)
