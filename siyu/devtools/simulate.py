"""``siyu simulate``: a believable store history, generated through the public APIs.

Shoppers arrive over ``days`` days from the channels a mini-program store lives on
(WeChat scene values: 1001 direct, 1007/1008 shares carrying ``sharer_id`` and
``share_depth``, 1047 mini-program codes with ``qr_scene=c=<code>``, 1035/1058 the
official account, 1045 ads, 1005 search). Each visit is what the tracking SDK and the
mini-program would send and call:

1. anonymous browsing — ``$launch``, ``$pageview`` of the home, category and product
   pages (``product_view`` on a product page), ``$page_leave`` with its duration,
   ``add_to_cart`` clicks — posted to ``/api/track`` in batches with that moment's
   client times;
2. login (sandbox WeChat login with the launch scene, QR code and sharer) and
   ``$identify``; later events carry the bearer token, which links the device;
3. the cart, an order (``Idempotency-Key``), the payment started and completed at the
   sandbox cashier; some orders are cancelled or left to time out;
4. the coupon center now and then before checkout, the new-shopper gift pop-up, the
   checkout quote whose total the order must match (``expected_total_fen``), and a
   few refunds of received orders approved by the staff;
5. shares (``$share``) that bring later arrivals by scene 1007/1008, a deeper hop each
   time, and return visits — payers come back and buy again more often.

Every step can drop off, with rates that give a realistic funnel. The staff ship paid
orders each evening; shoppers confirm receipt (or the auto-confirm timer does).

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
from datetime import datetime, time, timedelta
from random import Random
from typing import Any
from urllib.parse import quote

from sqlalchemy import select

from siyu.analytics.queries import EventFilter, FunnelQuery, FunnelResult, FunnelRunner
from siyu.analytics.store import AnalyticsStore
from siyu.bootstrap import Context
from siyu.clock import SHANGHAI, FrozenClock
from siyu.config import Settings
from siyu.devtools import demo_data as data
from siyu.devtools.demo import seed_demo
from siyu.devtools.demo_data import DEMO_PASSWORD
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
MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)

# Where first visits come from (weights); shares need an earlier sharer, else direct.
ARRIVAL_SCENES: dict[int, int] = {
    1001: 14,  # 最近使用 / direct
    1007: 14,  # a friend's share card
    1008: 6,  # a share card in a group chat
    1047: 18,  # offline mini-program code (channel-coded)
    1035: 7,  # official-account menu
    1058: 9,  # official-account article
    1045: 20,  # Moments / WeChat ads
    1005: 12,  # WeChat search
}
RETURN_SCENES = [1001, 1001, 1001, 1089, 1035, 1058]
HOURS = [1, 1, 0, 0, 0, 1, 2, 4, 6, 7, 7, 7, 9, 8, 6, 6, 6, 7, 8, 10, 12, 12, 9, 0]
HOME = "pages/index/index"
CATEGORY = "pages/category/index"
PRODUCT = "pages/product/detail"
CART = "pages/cart/index"
CHECKOUT = "pages/order/confirm"
ORDER = "pages/order/detail"
COUPONS = "pages/coupon/center"
FUNNEL_STEPS = STORE_FUNNEL


@dataclass(frozen=True)
class CatalogProduct:
    id: int
    category_id: int
    price_fen: int
    skus: tuple[int, ...]
    weight: int


@dataclass
class Person:
    index: int
    device: str
    code: str
    arrival_day: int
    address: dict[str, str]
    affinity: float  # how likely this person is to come back and buy
    shopper_id: int | None = None
    token: str | None = None
    visits: int = 0
    paid_orders: int = 0
    shared: bool = False
    share_depth: int = 0  # hops from the first sharer, for the person's own shares
    seq: int = 0  # the device's event counter

    def next_event_id(self) -> str:
        self.seq += 1
        return f"{self.device}-{self.seq:05d}"


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


def day_start(when: datetime) -> datetime:
    """Midnight (Shanghai) of ``when``'s local day, as an aware datetime."""
    local = when.astimezone(SHANGHAI)
    return datetime.combine(local.date(), time(), SHANGHAI)


class Simulation:
    def __init__(self, ctx: Context, client: TestClient, *, seed: int, start: datetime) -> None:
        if not isinstance(ctx.clock, FrozenClock):
            raise ValueError("the simulation moves time: build the context with a FrozenClock")
        self.ctx = ctx
        self.clock: FrozenClock = ctx.clock
        self.client = client
        self.seed = seed
        self.rng = Random(seed)
        self.start = start
        self.worker = Worker(ctx)
        self.counts: Counter[str] = Counter()
        self.people: list[Person] = []
        self.sharers: list[Person] = []
        self.products: list[CatalogProduct] = []
        self.categories: list[int] = []
        self.to_ship: list[tuple[int, Person]] = []  # paid orders awaiting shipment
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

    def event(
        self,
        person: Person,
        name: str,
        at: datetime,
        *,
        page: str = "",
        referrer: str = "",
        scene: int | None = None,
        query: dict[str, str] | None = None,
        properties: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "event_id": person.next_event_id(),
            "event": name,
            "anonymous_id": person.device,
            "client_time": at.astimezone(SHANGHAI).isoformat(timespec="milliseconds"),
            "page": page,
            "referrer": referrer,
            "properties": properties or {},
        }
        if person.shopper_id is not None and person.token:
            out["shopper_id"] = person.shopper_id
        if scene is not None:
            out["scene"] = scene
        if query:
            out["query"] = query
        return out

    # ------------------------------------------------------------ setup

    def load_catalog(self) -> None:
        cursor: str | None = None
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
                self.products.append(
                    CatalogProduct(
                        summary["id"],
                        summary["category_id"],
                        summary["min_price_fen"],
                        skus,
                        weight.get(summary["role"], 1),
                    )
                )
        self.categories = sorted({p.category_id for p in self.products})
        if not self.products:
            raise ValueError("the catalog has no product on sale with stock")

    def plan_arrivals(self, shoppers: int, days: int) -> None:
        # Arrivals grow slowly over the period (campaigns, word of mouth).
        weights = [1.0 + 0.6 * d / max(1, days - 1) for d in range(days)]
        arrival_days = sorted(self.rng.choices(range(days), weights=weights, k=shoppers))
        for i, arrival in enumerate(arrival_days):
            address = dict(self.rng.choice(data.ADDRESSES))
            address["phone"] = f"1{self.rng.choice('3589')}{self.rng.randrange(10**8, 10**9)}"
            device = f"sim{self.seed}-dev-{i:06d}-{self.rng.getrandbits(24):06x}"
            self.people.append(
                Person(
                    index=i,
                    device=device,
                    code=f"sim{self.seed}-{i:06d}",
                    arrival_day=arrival,
                    address=address,
                    affinity=self.rng.betavariate(1.3, 4.0),
                )
            )

    def staff_token(self) -> str | None:
        with self.ctx.db.transaction() as session:
            exists = session.scalar(select(Operator.id).where(Operator.username == "support"))
        if exists is None:
            return None
        body = {"username": "support", "password": DEMO_PASSWORD}
        result = self.call("POST", "/api/admin/login", json_body=body)
        return None if result is None else str(result["token"])

    # ------------------------------------------------------------ one visit

    def pick_product(self) -> CatalogProduct:
        return self.rng.choices(self.products, weights=[p.weight for p in self.products])[0]

    def entry_of(
        self, person: Person, first: bool
    ) -> tuple[int, dict[str, str], dict[str, Any], CatalogProduct | None]:
        """The launch scene, its page query, the login attribution and, for a share
        card or an ad, the product it opens on."""
        rng = self.rng
        if not first:
            return rng.choice(RETURN_SCENES), {}, {}, None
        scene = rng.choices(list(ARRIVAL_SCENES), weights=list(ARRIVAL_SCENES.values()))[0]
        if scene in (1007, 1008):
            if not self.sharers:
                scene = 1001
            else:
                sharer = rng.choice(self.sharers)
                assert sharer.shopper_id is not None
                person.share_depth = sharer.share_depth + 1
                product = self.pick_product()
                query = {
                    "id": str(product.id),
                    "sharer_id": str(sharer.shopper_id),
                    "share_depth": str(person.share_depth),
                }
                self.counts["share_arrivals"] += 1
                return scene, query, {"sharer_id": sharer.shopper_id}, product
        if scene == 1047:
            qr = f"c={rng.choice(data.QR_CHANNELS)}"
            return scene, {"scene": quote(qr, safe="")}, {"qr_scene": qr}, None
        if scene == 1045:
            return scene, {"utm_source": "moments_ads"}, {}, self.pick_product()
        return scene, {}, {}, None

    def login(self, person: Person, scene: int, attribution: dict[str, Any], at: datetime) -> bool:
        self.at(at)
        body = {"code": person.code, "scene": scene, **attribution}
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
        rng, counts = self.rng, self.counts
        first = person.visits == 0
        person.visits += 1
        counts["visits"] += 1
        counts["arrivals" if first else "return_visits"] += 1
        scene, query, attribution, landing = self.entry_of(person, first)
        queue: list[dict[str, Any]] = []
        t = start
        entry_page = PRODUCT if landing else HOME
        entry_query = {**query, "id": str(landing.id)} if landing else query
        queue.append(
            self.event(person, "$launch", t, page=entry_page, scene=scene, query=entry_query)
        )
        keen = person.affinity + (0.25 if person.paid_orders else 0.0)

        # Browse: the entry page, maybe a category, some products.
        pages: list[tuple[str, dict[str, str], CatalogProduct | None]] = []
        if landing:
            pages.append((PRODUCT, {"id": str(landing.id)}, landing))
        else:
            pages.append((HOME, {}, None))
            if rng.random() < 0.55:
                pages.append((CATEGORY, {"id": str(rng.choice(self.categories))}, None))
            if rng.random() < 0.35 + 0.4 * keen:
                for _ in range(rng.choices([1, 2, 3, 4], weights=[5, 3, 2, 1])[0]):
                    viewed = self.pick_product()
                    pages.append((PRODUCT, {"id": str(viewed.id)}, viewed))
        referrer = ""
        seen: list[CatalogProduct] = []
        for path, page_query, shown in pages:
            t += timedelta(seconds=rng.uniform(0.3, 2.0))
            props: dict[str, Any] = {"page_type": path.split("/")[1]}
            if shown:
                props["product_id"] = shown.id
            queue.append(
                self.event(
                    person, "$pageview", t, page=path, referrer=referrer, query=page_query,
                    properties=props,
                )
            )  # fmt: skip
            if shown:
                seen.append(shown)
                queue.append(
                    self.event(
                        person, "product_view", t, page=path, query=page_query,
                        properties={"product_id": shown.id, "price_fen": shown.price_fen},
                    )
                )  # fmt: skip
            stay = timedelta(seconds=rng.lognormvariate(3.2 if shown else 2.5, 0.8))
            t += stay
            queue.append(
                self.event(
                    person, "$page_leave", t, page=path, query=page_query,
                    properties={"duration_ms": int(stay.total_seconds() * 1000)},
                )
            )  # fmt: skip
            referrer = path
        if seen:
            counts["product_visits"] += 1

        # Add to cart: the click is tracked; the cart needs a login.
        wants = seen and rng.random() < 0.22 + 0.45 * keen
        if not wants or not seen:
            self.maybe_share(person, queue, t, seen)
            self.send(person, queue, t + SECOND)
            return
        product = seen[-1]
        sku_id = rng.choice(product.skus)
        quantity = rng.choices([1, 2, 3], weights=[8, 3, 1])[0]
        t += timedelta(seconds=rng.uniform(1, 8))
        click = {"product_id": product.id, "sku_id": sku_id, "quantity": quantity}
        queue.append(self.event(person, "add_to_cart", t, page=PRODUCT, properties=click))
        if person.token is None or first:
            if rng.random() < 0.12:  # closed the login prompt
                self.send(person, queue, t + SECOND)
                return
            self.send(person, queue, t)  # the SDK flushes before identify
            t += timedelta(seconds=rng.uniform(2, 10))
            if not self.login(person, scene, attribution, t):
                return
            queue.append(
                self.event(person, "$identify", t, page=PRODUCT, properties={"method": "wechat"})
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
        if rng.random() >= 0.55 + 0.3 * keen:
            self.maybe_share(person, queue, t, seen)
            self.send(person, queue, t + SECOND)
            return
        t += timedelta(seconds=rng.uniform(10, 90))
        queue.append(self.event(person, "$pageview", t, page=CART, referrer=PRODUCT))
        wanted = [line["item_id"] for line in cart["lines"] if line["available"]]
        t += timedelta(seconds=rng.uniform(5, 40))
        queue.append(self.event(person, "$pageview", t, page=CHECKOUT, referrer=CART))
        self.order(person, wanted, queue, t)
        self.maybe_share(person, queue, self.clock.now(), seen)
        self.send(person, queue, self.clock.now() + SECOND)

    def order(
        self, person: Person, cart_item_ids: list[int], queue: list[dict[str, Any]], t: datetime
    ) -> None:
        rng, counts = self.rng, self.counts
        if not cart_item_ids:
            return
        t += timedelta(seconds=rng.uniform(5, 60))
        queue.append(
            self.event(
                person, "submit_order", t, page=CHECKOUT,
                properties={"source": "cart", "lines": len(cart_item_ids)},
            )
        )  # fmt: skip
        self.at(t)
        if rng.random() < 0.3:  # a detour to the claim center first
            queue.append(self.event(person, "$pageview", t, page=COUPONS))
            for coupon in self.call("GET", "/api/app/coupons/center", person=person) or []:
                if coupon["can_claim"] and rng.random() < 0.6:
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
                "note": rng.choice(data.ORDER_NOTES),
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
        roll = rng.random()
        if roll < 0.10:  # walked away from the cashier: the payment timeout closes it
            counts["orders_unpaid"] += 1
            return
        if roll < 0.18:
            t += timedelta(minutes=rng.uniform(1, 10))
            self.at(t)
            if self.call("POST", f"/api/app/orders/{order_id}/cancel", person=person) is not None:
                counts["orders_cancelled"] += 1
            return
        t += timedelta(seconds=rng.uniform(5, 120))
        queue.append(self.event(person, "pay", t, page=ORDER, properties={"order_id": order_id}))
        self.at(t)
        if self.call("POST", f"/api/app/orders/{order_id}/pay", person=person) is None:
            return
        t += timedelta(seconds=rng.uniform(3, 30))
        self.at(t)
        if self.call("POST", f"/api/app/orders/{order_id}/sandbox-pay", person=person) is None:
            return
        counts["orders_paid"] += 1
        counts["repurchases"] += person.paid_orders > 0
        person.paid_orders += 1
        self.to_ship.append((order_id, person))

    def maybe_share(
        self, person: Person, queue: list[dict[str, Any]], t: datetime, seen: list[CatalogProduct]
    ) -> None:
        """Logged-in shoppers who liked a product share it now and then."""
        if not seen or person.shopper_id is None:
            return
        if self.rng.random() >= 0.10 + 0.25 * person.affinity:
            return
        product = seen[-1]
        depth = person.share_depth + 1
        path = f"{PRODUCT}?id={product.id}&sharer_id={person.shopper_id}&share_depth={depth}"
        queue.append(
            self.event(
                person, "$share", t + SECOND, page=PRODUCT, query={"id": str(product.id)},
                properties={
                    "sharer_id": str(person.shopper_id), "share_depth": depth,
                    "share_path": path, "product_id": product.id,
                    "share_method": self.rng.choice(["转发消息卡片", "朋友圈分享"]),
                },
            )
        )  # fmt: skip
        self.counts["shares"] += 1
        if not person.shared:
            person.shared = True
            self.sharers.append(person)

    # ------------------------------------------------------------ the store's evening

    def evening(self, day: datetime, token: str | None) -> None:
        """Staff ship the day's paid orders; shoppers confirm parcels that arrived."""
        rng = self.rng
        at = day + timedelta(hours=20)
        if token:
            for order_id, person in self.to_ship:
                at += timedelta(seconds=rng.uniform(20, 120))
                self.at(at)
                body = {
                    "carrier": rng.choice(data.CARRIERS),
                    "tracking_no": f"SF{rng.randrange(10**11, 10**12)}",
                }
                result = self.call(
                    "POST", f"/api/admin/orders/{order_id}/ship",
                    json_body=body, headers={"Authorization": f"Bearer {token}"},
                )  # fmt: skip
                if result is not None:
                    self.counts["shipped"] += 1
                    self.shipped.append((order_id, person, at))
            self.to_ship.clear()
        waiting = []
        for order_id, person, shipped_at in self.shipped:
            if at - shipped_at >= 2 * DAY and rng.random() < 0.6:
                at += timedelta(seconds=rng.uniform(20, 120))
                self.at(at)
                path = f"/api/app/orders/{order_id}/confirm"
                if self.call("POST", path, person=person) is not None:
                    self.counts["confirmed"] += 1
                    if token and rng.random() < 0.05:  # not as hoped: a refund
                        at += timedelta(minutes=rng.uniform(5, 60))
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
        self.at(at + timedelta(hours=self.rng.uniform(0.5, 3)))
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
            visits: list[tuple[datetime, int]] = []
            for person in self.people:
                if person.arrival_day == d:
                    chance = 1.0
                elif person.arrival_day < d:
                    fade = 0.92 ** (d - person.arrival_day)
                    chance = (0.05 + 0.35 * person.affinity) * fade
                    if person.paid_orders:
                        chance += 0.06
                else:
                    continue
                if self.rng.random() < chance:
                    hour = self.rng.choices(range(24), weights=HOURS)[0]
                    offset = timedelta(hours=hour, seconds=self.rng.uniform(0, 3300))
                    visits.append((day + offset, person.index))
            for at, index in sorted(visits):
                self.visit(self.people[index], at)
                self.drain()
            self.at(day + timedelta(hours=20))
            token = self.staff_token() if self.to_ship else None
            self.evening(day, token)
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
        sim.plan_arrivals(shoppers, days)
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
