"""The shopper model behind ``siyu simulate``: who arrives, when, from where, and what a
visit looks like — pure, given a seed and the moment (no store, no HTTP, no clock).

Shoppers arrive over ``days`` days from the channels a mini-program store lives on
(WeChat scene values: 1001 direct, 1007/1008 shares carrying ``sharer_id`` and
``share_depth``, 1047 mini-program codes with ``qr_scene=c=<code>``, 1035/1058 the
official account, 1045 ads, 1005 search). A visit is what the tracking SDK would send:

1. anonymous browsing — ``$launch``, ``$pageview`` of the home, category and product
   pages (``product_view`` on a product page), ``$page_leave`` with its duration,
   ``add_to_cart`` clicks — with that moment's client times;
2. shares (``$share``) that bring later arrivals by scene 1007/1008, a deeper hop each
   time, and return visits — payers come back and buy again more often.

Every step can drop off, with rates that give a realistic funnel. :class:`ShopperModel`
owns the random source (``Random(seed)``) and makes every random choice of the
simulation — the journeys above, and the pauses, checkouts, coupon claims, payments,
shipments, receipts and refunds of what follows: the runner in
:mod:`siyu.devtools.simulate` asks it for each decision in turn, and draws nothing
itself, so the same seed gives the same history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from random import Random
from typing import Any, Literal
from urllib.parse import quote

from siyu.clock import SHANGHAI
from siyu.devtools import demo_data as data
from siyu.order.carriers import CARRIERS

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


@dataclass(frozen=True)
class Entry:
    """How a visit starts: the launch scene, its page query, the login attribution and,
    for a share card or an ad, the product it opens on."""

    scene: int
    query: dict[str, str]
    attribution: dict[str, Any]
    landing: CatalogProduct | None
    by_share: bool = False


@dataclass
class Browse:
    """The anonymous part of a visit: the events queued, the products seen, the moment
    the shopper got to, and how keen they are to buy."""

    events: list[dict[str, Any]]
    seen: list[CatalogProduct]
    t: datetime
    keen: float


@dataclass(frozen=True)
class CartChoice:
    """An ``add_to_cart`` click: what, how many, when, and the tracked event."""

    product: CatalogProduct
    sku_id: int
    quantity: int
    t: datetime
    click: dict[str, Any]


def day_start(when: datetime) -> datetime:
    """Midnight (Shanghai) of ``when``'s local day, as an aware datetime."""
    local = when.astimezone(SHANGHAI)
    return datetime.combine(local.date(), time(), SHANGHAI)


def client_event(
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
    """One event as the tracking SDK sends it from ``person``'s device at ``at``."""
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


class ShopperModel:
    """The shoppers of one simulation and the random source all their choices come from."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = Random(seed)
        self.people: list[Person] = []
        self.sharers: list[Person] = []
        self.products: list[CatalogProduct] = []
        self.categories: list[int] = []

    def set_catalog(self, products: list[CatalogProduct]) -> None:
        if not products:
            raise ValueError("the catalog has no product on sale with stock")
        self.products = products
        self.categories = sorted({p.category_id for p in products})

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

    def visits_of_day(self, d: int, day: datetime) -> list[tuple[datetime, int]]:
        """Who comes on day ``d`` (starting at ``day``) and when, in time order
        (``(moment, person index)``): everyone on their arrival day, earlier arrivals
        now and then (payers more often), fading."""
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
        return sorted(visits)

    def pick_product(self) -> CatalogProduct:
        return self.rng.choices(self.products, weights=[p.weight for p in self.products])[0]

    def entry_of(self, person: Person, first: bool) -> Entry:
        """Where ``person``'s visit starts; a share arrival takes its depth from the sharer."""
        rng = self.rng
        if not first:
            return Entry(rng.choice(RETURN_SCENES), {}, {}, None)
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
                return Entry(scene, query, {"sharer_id": sharer.shopper_id}, product, True)
        if scene == 1047:
            qr = f"c={rng.choice(data.QR_CHANNELS)}"
            return Entry(scene, {"scene": quote(qr, safe="")}, {"qr_scene": qr}, None)
        if scene == 1045:  # the ad's landing path carries its channel code
            code = rng.choice(data.AD_CHANNELS)
            query = {"utm_source": "moments_ads", "c": code}
            return Entry(scene, query, {"qr_scene": f"c={code}"}, self.pick_product())
        return Entry(scene, {}, {}, None)

    def browse(self, person: Person, entry: Entry, start: datetime) -> Browse:
        """The launch, the entry page, maybe a category, some products — each page a
        ``$pageview`` (and ``product_view``) and a ``$page_leave`` after the stay."""
        rng = self.rng
        t = start
        landing = entry.landing
        entry_page = PRODUCT if landing else HOME
        entry_query = {**entry.query, "id": str(landing.id)} if landing else entry.query
        queue = [
            client_event(
                person, "$launch", t, page=entry_page, scene=entry.scene, query=entry_query
            )
        ]
        keen = person.affinity + (0.25 if person.paid_orders else 0.0)

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
                client_event(
                    person, "$pageview", t, page=path, referrer=referrer, query=page_query,
                    properties=props,
                )
            )  # fmt: skip
            if shown:
                seen.append(shown)
                queue.append(
                    client_event(
                        person, "product_view", t, page=path, query=page_query,
                        properties={"product_id": shown.id, "price_fen": shown.price_fen},
                    )
                )  # fmt: skip
            stay = timedelta(seconds=rng.lognormvariate(3.2 if shown else 2.5, 0.8))
            t += stay
            queue.append(
                client_event(
                    person, "$page_leave", t, page=path, query=page_query,
                    properties={"duration_ms": int(stay.total_seconds() * 1000)},
                )
            )  # fmt: skip
            referrer = path
        return Browse(queue, seen, t, keen)

    def cart_choice(self, person: Person, browse: Browse) -> CartChoice | None:
        """Whether the shopper clicks "add to cart" on the last product seen, and with what."""
        rng = self.rng
        seen = browse.seen
        if not (seen and rng.random() < 0.22 + 0.45 * browse.keen):
            return None
        product = seen[-1]
        sku_id = rng.choice(product.skus)
        quantity = rng.choices([1, 2, 3], weights=[8, 3, 1])[0]
        t = browse.t + timedelta(seconds=rng.uniform(1, 8))
        click = {"product_id": product.id, "sku_id": sku_id, "quantity": quantity}
        event = client_event(person, "add_to_cart", t, page=PRODUCT, properties=click)
        return CartChoice(product, sku_id, quantity, t, event)

    def share(
        self, person: Person, t: datetime, seen: list[CatalogProduct]
    ) -> dict[str, Any] | None:
        """Logged-in shoppers who liked a product share it now and then: the ``$share``
        event, and the person becomes a sharer later arrivals can come from."""
        if not seen or person.shopper_id is None:
            return None
        if self.rng.random() >= 0.10 + 0.25 * person.affinity:
            return None
        product = seen[-1]
        depth = person.share_depth + 1
        path = f"{PRODUCT}?id={product.id}&sharer_id={person.shopper_id}&share_depth={depth}"
        event = client_event(
            person, "$share", t + SECOND, page=PRODUCT, query={"id": str(product.id)},
            properties={
                "sharer_id": str(person.shopper_id), "share_depth": depth,
                "share_path": path, "product_id": product.id,
                "share_method": self.rng.choice(["转发消息卡片", "朋友圈分享"]),
            },
        )  # fmt: skip
        if not person.shared:
            person.shared = True
            self.sharers.append(person)
        return event

    # ------------------------------------------------------------ the rest of a visit

    def seconds(self, low: float, high: float) -> timedelta:
        """A pause between two steps, ``low``–``high`` seconds."""
        return timedelta(seconds=self.rng.uniform(low, high))

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(low, high))

    def hours(self, low: float, high: float) -> timedelta:
        return timedelta(hours=self.rng.uniform(low, high))

    def nickname(self, person: Person) -> str | None:
        """What a shopper logging in for the first time calls themselves, if anything
        (drawn apart from the main random source, so it changes no other choice)."""
        return data.pick_nickname(Random(f"{self.seed}-nickname-{person.index}"))

    def closes_login_prompt(self) -> bool:
        return self.rng.random() < 0.12

    def checks_out(self, keen: float) -> bool:
        """Check out now, or leave the cart for later."""
        return self.rng.random() < 0.55 + 0.3 * keen

    def visits_coupon_center(self) -> bool:
        """A detour to the claim center before paying."""
        return self.rng.random() < 0.3

    def claims_coupon(self) -> bool:
        return self.rng.random() < 0.6

    def order_note(self) -> str:
        return self.rng.choice(data.ORDER_NOTES)

    def payment_outcome(self) -> Literal["unpaid", "cancel", "pay"]:
        """After placing: walk away from the cashier (the payment timeout closes the
        order), cancel it a few minutes later, or pay."""
        roll = self.rng.random()
        if roll < 0.10:
            return "unpaid"
        return "cancel" if roll < 0.18 else "pay"

    # ------------------------------------------------------------ after the purchase

    def shipment(self) -> dict[str, str]:
        """What the staff enter when they ship an order."""
        carrier = self.rng.choice(CARRIERS)
        return {"carrier": carrier.name, "tracking_no": carrier.sample_number(self.rng)}

    def confirms_receipt(self) -> bool:
        """A parcel that has arrived is confirmed this evening (else later, or by the timer)."""
        return self.rng.random() < 0.6

    def asks_refund(self) -> bool:
        """Not as hoped: a refund of the whole order."""
        return self.rng.random() < 0.05
