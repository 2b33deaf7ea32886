"""``siyu demo``: seed a believable demo store through the service layer.

Every step is a use case in its own transaction, exactly as the API would run it:
staff accounts, the catalog, shoppers logging in from various channels over the
last 30 days, and their orders in every state (paid at the sandbox cashier,
shipped, received, cancelled, after-sales refunded or rejected). The random
choices come from a fixed seed, so two fresh databases get the same store;
running it again on a seeded database does nothing.

Times lie in the past. Timers scheduled relative to them (payment timeout,
auto-confirmation) fire when the worker next runs, as they would have; so orders
left pending are placed in the last few minutes and shipped ones in the last five
days.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from random import Random
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.aftersale.models import AfterSale
from siyu.aftersale.rules import AfterSaleKind
from siyu.aftersale.service import approve_aftersale, reject_aftersale, request_aftersale
from siyu.bootstrap import Context
from siyu.cart.service import add_to_cart, checkout_items, view_cart
from siyu.catalog import service as catalog
from siyu.catalog.media import store_product_image
from siyu.catalog.models import Category, Product, Sku
from siyu.catalog.rules import ProductStatus
from siyu.coupon import service as coupons
from siyu.devtools import demo_data as data
from siyu.devtools.demo_data import DEMO_PASSWORD, STAFF
from siyu.devtools.demo_images import product_photo
from siyu.devtools.demo_loyalty import seed_loyalty
from siyu.devtools.demo_marketing import seed_channels, seed_marketing
from siyu.errors import DomainError
from siyu.identity.models import Operator, Shopper
from siyu.identity.operators import create_operator
from siyu.identity.rules import parse_entry
from siyu.identity.service import bind_phone, login_shopper
from siyu.money import format_yuan
from siyu.order.carriers import CARRIERS
from siyu.order.models import Order
from siyu.order.rules import OrderStatus
from siyu.order.service import Address, cancel_by_shopper, confirm_receipt, get_order
from siyu.order.service import place_order as place
from siyu.order.service import ship_order as ship
from siyu.payment.refunds import submit_refund
from siyu.payment.sandbox import SandboxProvider
from siyu.payment.service import expire_unpaid_order, handle_notification, start_payment

SEED = 2026
HISTORY_DAYS = 180  # how long the demo store has been open
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
ROLE_WEIGHT = {"traffic": 5, "profit": 3, "premium": 1}  # how often each role is bought
S = TypeVar("S")


@dataclass(frozen=True)
class DemoShopper:
    id: int
    code: str  # the sandbox login code (its openid is ``sandbox-<code>``)
    registered_at: datetime
    address: Address


@dataclass
class Seeder:
    ctx: Context
    sandbox: SandboxProvider
    rng: Random
    now: datetime
    staff: dict[str, int]
    skus: list[tuple[int, str]]  # (sku id, product role) of what shoppers may buy
    coupon_center: list[int] = field(default_factory=list)  # claimable template ids

    def step(self, work: Callable[[Session], S]) -> S:
        with self.ctx.db.transaction() as session:
            return work(session)

    def call(self, use_case: Callable[..., S], /, **kwargs: Any) -> S:
        """Run one use case in its own transaction, as a route would."""
        with self.ctx.db.transaction() as session:
            return use_case(session, **kwargs)


def seed_demo(ctx: Context, *, shoppers: int = 60) -> str:
    with ctx.db.transaction() as session:
        if session.scalar(select(Operator.id).where(Operator.username == "admin")) is not None:
            return (
                "演示数据已存在，未做任何更改 / The demo store is already seeded; nothing changed.\n"
                f"控制台登录 / Console login: admin / {DEMO_PASSWORD}"
            )
    sandbox = ctx.sandbox_payment
    if sandbox is None:
        raise ValueError("the demo needs the sandbox payment provider (SIYU_PAYMENT_PROVIDER)")
    now = ctx.clock.now()
    seeder = Seeder(ctx, sandbox, Random(SEED), now, {}, [])
    opened = now - timedelta(days=HISTORY_DAYS)
    seed_staff(seeder, opened - 2 * DAY)
    seed_catalog(seeder, opened - DAY)
    seed_marketing(seeder, opened)
    seed_channels(seeder, opened)
    people = seed_shoppers(seeder, shoppers)
    seed_orders(seeder, people)
    seed_aftersales(seeder, people)
    seed_carts(seeder, people)
    seed_loyalty(seeder, people, opened)
    return demo_report(ctx)


# ---------------------------------------------------------------- staff and catalog


def seed_staff(seeder: Seeder, at: datetime) -> None:
    for username, display_name, role in STAFF:
        operator = seeder.call(
            create_operator,
            username=username,
            display_name=display_name,
            password=DEMO_PASSWORD,
            role=role,
            now=at,
        )
        seeder.staff[username] = operator.id


def seed_catalog(seeder: Seeder, at: datetime) -> None:
    actor = seeder.staff["operator"]
    leaves: dict[str, int] = {}
    for i, (top, children) in enumerate(data.CATEGORIES.items()):
        parent = seeder.call(
            catalog.create_category, actor_id=actor, name=top, parent_id=None, sort_order=i, now=at
        )
        for j, child in enumerate(children):
            leaf = seeder.call(
                catalog.create_category,
                actor_id=actor,
                name=child,
                parent_id=parent.id,
                sort_order=j,
                now=at,
            )
            leaves[child] = leaf.id
    tops = {leaf: top for top, children in data.CATEGORIES.items() for leaf in children}
    media_dir = seeder.ctx.settings.media_dir

    def photo(n: int, product: data.DemoProduct, variant: int) -> str:
        """Drawn here, kept in the store's media folder: the demo needs no network."""
        jpeg = product_photo(tops[product.category], product.category, n, variant)
        return store_product_image(media_dir, jpeg)

    for n, product in enumerate(data.PRODUCTS, start=1):
        created = at + timedelta(hours=n * 7)  # listed over two weeks, newest last
        skus = data.sku_drafts(n, product, seeder.rng)
        skus = [replace(sku, image_url=photo(n, product, k)) for k, sku in enumerate(skus)]
        row = seeder.call(
            catalog.create_product,
            actor_id=actor,
            category_id=leaves[product.category],
            title=product.title,
            subtitle=product.subtitle,
            description=f"{product.title}：{product.subtitle}。",
            role=product.role,
            skus=skus,
            image_urls=[photo(n, product, 0), photo(n, product, 1)],
            now=created,
        )
        sku_ids = [sku.id for sku in row.skus]
        statuses = {
            ProductStatus.draft: [],
            ProductStatus.on_sale: [ProductStatus.on_sale],
            ProductStatus.off_sale: [ProductStatus.on_sale, ProductStatus.off_sale],
        }[product.status]
        for status in statuses:
            seeder.call(
                catalog.set_product_status,
                actor_id=actor,
                product_id=row.id,
                status=status,
                now=created + timedelta(hours=len(statuses)),
            )
        if product.status is not ProductStatus.on_sale:
            continue
        first = 1 if product.low_stock else 0  # nearly sold-out SKUs are not ordered
        seeder.skus.extend((sku_id, product.role.value) for sku_id in sku_ids[first:])


# ---------------------------------------------------------------- marketing


def claim_some(seeder: Seeder, shopper: DemoShopper, at: datetime) -> None:
    """Now and then a shopper visits the claim center before buying."""
    for template_id in seeder.coupon_center:
        if seeder.rng.random() < 0.35:
            # Already holding one, or the batch ran out: as in the real store.
            with suppress(DomainError):
                seeder.call(coupons.claim, shopper_id=shopper.id, template_id=template_id, now=at)


# ---------------------------------------------------------------- shoppers


def seed_shoppers(seeder: Seeder, count: int) -> list[DemoShopper]:
    rng, now, identity = seeder.rng, seeder.now, seeder.ctx.wechat_identity
    # The first shopper has been around since the store opened; the rest arrive since,
    # a third of them in the last month.
    ages = sorted(
        (
            rng.uniform(0.05, 30.0 if rng.random() < 1 / 3 else HISTORY_DAYS)
            for _ in range(count - 1)
        ),
        reverse=True,
    )
    people: list[DemoShopper] = []
    for i, age in enumerate([float(HISTORY_DAYS), *ages][:count]):
        registered = now - timedelta(days=age)
        scene = rng.choices(list(data.SCENE_WEIGHTS), weights=list(data.SCENE_WEIGHTS.values()))[0]
        qr = f"c={rng.choice(data.QR_CHANNELS)}" if scene == 1047 else None
        sharer = rng.choice(people).id if scene == 1007 and people else None
        entry = parse_entry(scene, qr, sharer)
        device = f"demo-device-{i:04d}-{rng.getrandbits(32):08x}"
        code = f"demo-{i:04d}"
        login = seeder.call(
            login_shopper,
            gateway=identity,
            code=code,
            entry=entry,
            anonymous_id=device,
            now=registered,
            nickname=data.pick_nickname(Random(f"{SEED}-nickname-{i}")),
        )
        shopper_id = login.shopper.id
        if rng.random() < 0.5:  # half share their phone number right after signing up
            seeder.call(
                bind_phone,
                gateway=identity,
                cipher=seeder.ctx.cipher,
                shopper_id=shopper_id,
                code=f"1{rng.choice('3578')}{rng.randrange(1000, 10000)}{i:05d}",
                now=registered + 2 * MINUTE,
            )
        address = dict(rng.choice(data.ADDRESSES))
        address["phone"] = f"1{rng.choice('3589')}{rng.randrange(10**8, 10**9)}"
        people.append(DemoShopper(shopper_id, code, registered, Address(**address)))
    return people


# ---------------------------------------------------------------- orders


def _pick_items(seeder: Seeder) -> list[tuple[int, int]]:
    rng = seeder.rng
    weights = [ROLE_WEIGHT[role] for _, role in seeder.skus]
    lines = rng.choices([1, 1, 1, 2, 2, 3])[0]
    chosen = {rng.choices(seeder.skus, weights=weights)[0][0] for _ in range(lines)}
    return [(sku_id, rng.choices([1, 2, 3], weights=[8, 3, 1])[0]) for sku_id in sorted(chosen)]


def buy(
    seeder: Seeder, shopper: DemoShopper, placed: datetime, target: OrderStatus
) -> tuple[int, datetime]:
    """Place an order at ``placed`` and walk it to ``target``; returns the order id and
    the time of its last step."""
    ctx, rng = seeder.ctx, seeder.rng
    if placed - shopper.registered_at > timedelta(hours=1):  # a returning visit
        scene = rng.choice([1001, 1089, 1035])
        seeder.call(
            login_shopper,
            gateway=ctx.wechat_identity,
            code=shopper.code,
            entry=parse_entry(scene, None, None),
            anonymous_id=None,
            now=placed - rng.randint(3, 30) * MINUTE,
        )
    claim_some(seeder, shopper, placed - 5 * MINUTE)
    items, source = _pick_items(seeder), "buy_now"
    if rng.random() < 0.3:
        for sku_id, quantity in items:
            seeder.call(
                add_to_cart,
                shopper_id=shopper.id,
                sku_id=sku_id,
                quantity=quantity,
                now=placed - 3 * MINUTE,
            )
        source = "cart"

    def place_one(s: Session) -> int:
        chosen = items
        if source == "cart":
            wanted = {sku_id for sku_id, _ in items}
            lines = view_cart(s, shopper.id).lines
            ids = [line.item_id for line in lines if line.sku_id in wanted]
            chosen = checkout_items(s, shopper.id, ids)
        return place(
            s,
            shopper_id=shopper.id,
            items=chosen,
            address=shopper.address,
            note=rng.choice(data.ORDER_NOTES),
            source=source,
            payment_timeout=timedelta(minutes=ctx.settings.payment_timeout_minutes),
            now=placed,
        ).id

    order_id = seeder.step(place_one)
    if target is OrderStatus.pending_payment:
        return order_id, placed
    if target is OrderStatus.cancelled:
        cancel: Callable[..., Any]
        if rng.random() < 0.5:
            at = placed + rng.randint(2, 20) * MINUTE
            cancel = partial(cancel_by_shopper, shopper_id=shopper.id, order_id=order_id)
        else:  # never paid: the payment timeout closes it
            at = placed + timedelta(minutes=ctx.settings.payment_timeout_minutes)
            cancel = partial(
                expire_unpaid_order, provider=seeder.sandbox, payload={"order_id": order_id}
            )
        seeder.call(cancel, lifecycle=ctx.lifecycle, now=at)
        return order_id, at
    paid = placed + timedelta(minutes=rng.uniform(0.5, 15))
    pay(seeder, shopper.id, order_id, paid)
    if target is OrderStatus.paid:
        return order_id, paid
    shipped = min(paid + timedelta(hours=rng.uniform(3, 30)), seeder.now - 2 * MINUTE)
    carrier = rng.choice(CARRIERS)
    seeder.call(
        ship,
        actor_id=seeder.staff["support"],
        order_id=order_id,
        carrier=carrier.name,
        tracking_no=carrier.sample_number(rng),
        auto_confirm_after=timedelta(days=ctx.settings.auto_confirm_days),
        now=shipped,
    )
    if target is OrderStatus.shipped:
        return order_id, shipped
    received = min(shipped + timedelta(days=rng.uniform(1.5, 4)), seeder.now - MINUTE)
    seeder.call(
        confirm_receipt,
        shopper_id=shopper.id,
        order_id=order_id,
        settle_after=timedelta(days=ctx.settings.aftersale_window_days),
        now=received,
    )
    return order_id, received


def pay(seeder: Seeder, shopper_id: int, order_id: int, at: datetime) -> None:
    """The sandbox cashier: start the payment, then deliver its signed notification."""
    sandbox = seeder.sandbox

    def notification(s: Session) -> tuple[dict[str, str], bytes]:
        start_payment(s, sandbox, shopper_id=shopper_id, order_id=order_id, now=at)
        order = get_order(s, order_id)
        return sandbox.build_notification(
            out_trade_no=order.order_no, amount_fen=order.total_fen, now=at
        )

    headers, body = seeder.step(notification)
    seeder.call(
        handle_notification,
        provider=sandbox,
        lifecycle=seeder.ctx.lifecycle,
        headers=headers,
        body=body,
        now=at,
    )


def status_for_age(rng: Random, age: timedelta) -> OrderStatus:
    """What an order placed ``age`` ago has become by now in a healthy store."""
    if rng.random() < 0.15:
        return OrderStatus.cancelled
    if age < DAY:
        return OrderStatus.paid
    if age < 5 * DAY:  # shipped ones auto-confirm 7 days after shipping
        return OrderStatus.shipped if rng.random() < 0.85 else OrderStatus.paid
    return OrderStatus.completed


# How shoppers buy again (the story BG/NBD tells, so the CLV page has a history its
# model can be fitted on): each shopper buys at their own rate, spread across shoppers
# as Gamma(shape, 1/scale); after each purchase they may stop for good, with their own
# chance drawn from Beta(a, b). Most buy within days of arriving.
RATE_SHAPE, RATE_SCALE_DAYS = 0.9, 20.0  # a mean shopper buys every 3 weeks while active
DROPOUT_A, DROPOUT_B = 0.5, 2.0
FIRST_ORDER_SHARE = 0.85
MAX_ORDERS = 12


def purchase_times(rng: Random, registered: datetime, until: datetime) -> list[datetime]:
    """When one shopper registered at ``registered`` buys before ``until``."""
    if until <= registered or rng.random() >= FIRST_ORDER_SHARE:
        return []
    rate_per_day = rng.gammavariate(RATE_SHAPE, 1.0 / RATE_SCALE_DAYS)
    dropout = rng.betavariate(DROPOUT_A, DROPOUT_B)
    at = registered + timedelta(hours=rng.uniform(0.2, 72))
    times: list[datetime] = []
    while at < until and len(times) < MAX_ORDERS:
        times.append(at)
        if rng.random() < dropout:
            break
        at += timedelta(days=rng.expovariate(rate_per_day))
    return times


def seed_orders(seeder: Seeder, people: list[DemoShopper]) -> None:
    rng, now = seeder.rng, seeder.now
    plans: list[tuple[datetime, DemoShopper, OrderStatus]] = []
    for person in people:
        for placed in purchase_times(rng, person.registered_at, now - timedelta(hours=1)):
            plans.append((placed, person, status_for_age(rng, now - placed)))
    # Whatever the head count, show every state at least once.
    veteran = people[0]
    for days, status in ((20, OrderStatus.completed), (3, OrderStatus.shipped),
                         (1, OrderStatus.paid), (9, OrderStatus.cancelled)):  # fmt: skip
        if all(plan[2] is not status for plan in plans):
            plans.append((now - timedelta(days=days, minutes=rng.randint(0, 600)), veteran, status))
    for placed, person, status in sorted(plans, key=lambda p: p[0]):
        buy(seeder, person, placed, status)
    # A few orders placed minutes ago, still waiting at the cashier.
    for person in rng.sample(people, k=min(4, len(people))):
        buy(seeder, person, now - timedelta(minutes=rng.uniform(1, 5)), OrderStatus.pending_payment)


def seed_aftersales(seeder: Seeder, people: list[DemoShopper]) -> None:
    """One request refunded, one rejected, one waiting for the support desk."""
    rng, now, ctx = seeder.rng, seeder.now, seeder.ctx
    support = seeder.staff["support"]
    veterans = [p for p in people if now - p.registered_at > 14 * DAY] or people[:1]
    window = ctx.settings.aftersale_window_days

    def request(person: DemoShopper, order_id: int, kind: AfterSaleKind, at: datetime) -> int:
        aftersale = seeder.call(
            request_aftersale,
            shopper_id=person.id,
            order_id=order_id,
            kind=kind,
            reason=rng.choice(data.REFUND_REASONS),
            lines=None,
            window_days=window,
            now=at,
        )
        return int(aftersale.id)

    # Returned after receipt and refunded through the sandbox.
    person = veterans[0]
    order_id, received = buy(seeder, person, now - 12 * DAY, OrderStatus.completed)
    asked = received + DAY
    aftersale_id = request(person, order_id, AfterSaleKind.return_refund, asked)
    refund = seeder.call(
        approve_aftersale,
        actor_id=support,
        aftersale_id=aftersale_id,
        provider="sandbox",
        now=asked + DAY,
    )
    seeder.call(
        submit_refund,
        provider=ctx.provider(refund.provider),
        lifecycle=ctx.lifecycle,
        out_refund_no=refund.out_refund_no,
        now=asked + DAY,
    )
    # Rejected: the goods were used.
    person = veterans[1 % len(veterans)]
    order_id, received = buy(seeder, person, now - 10 * DAY, OrderStatus.completed)
    asked = received + 2 * DAY
    aftersale_id = request(person, order_id, AfterSaleKind.return_refund, asked)
    seeder.call(
        reject_aftersale,
        actor_id=support,
        aftersale_id=aftersale_id,
        reason="商品已拆封使用，不符合七天无理由退货条件",
        now=asked + timedelta(hours=6),
    )
    # Pending: asked for a refund while the parcel is on its way.
    person = veterans[2 % len(veterans)]
    order_id, shipped = buy(seeder, person, now - 3 * DAY, OrderStatus.shipped)
    request(person, order_id, AfterSaleKind.refund_only, min(shipped + DAY, now - MINUTE))


def seed_carts(seeder: Seeder, people: list[DemoShopper]) -> None:
    """Abandoned carts: things shoppers added and left (the 加购未支付 audience)."""
    rng = seeder.rng
    for person in rng.sample(people, k=max(1, len(people) // 6)):
        for sku_id, quantity in _pick_items(seeder):
            at = seeder.now - timedelta(hours=rng.uniform(1, 72))
            seeder.call(add_to_cart, shopper_id=person.id, sku_id=sku_id, quantity=quantity, now=at)


# ---------------------------------------------------------------- report


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def demo_report(ctx: Context) -> str:
    with ctx.db.transaction() as session:
        products = Counter(str(status) for status in session.scalars(select(Product.status)))
        orders = Counter(str(status) for status in session.scalars(select(Order.status)))
        aftersales = Counter(str(status) for status in session.scalars(select(AfterSale.status)))
        counts = {m.__name__: _count(session, m) for m in (Operator, Category, Sku, Shopper)}
        net = select(func.coalesce(func.sum(Order.paid_fen - Order.refunded_fen), 0))
        sales = session.scalar(net) or 0
    by_status = ", ".join(f"{s} {orders.get(s.value, 0)}" for s in OrderStatus)
    by_outcome = ", ".join(f"{k} {v}" for k, v in sorted(aftersales.items()))
    return "\n".join(
        [
            "演示店铺已生成 / Demo store seeded",
            f"  运营账号 / operators: {counts['Operator']} "
            f"({', '.join(username for username, _, _ in STAFF)})",
            f"  分类 / categories: {counts['Category']}",
            f"  商品 / products: {sum(products.values())} (on_sale {products['on_sale']}, "
            f"draft {products['draft']}, off_sale {products['off_sale']}), "
            f"SKU: {counts['Sku']}",
            f"  用户 / shoppers: {counts['Shopper']}",
            f"  订单 / orders: {sum(orders.values())} ({by_status})",
            f"  实收（扣除退款）/ paid, net of refunds: {format_yuan(int(sales))}",
            f"  售后 / after-sales: {sum(aftersales.values())} ({by_outcome})",
            f"控制台登录 / Console login: admin / {DEMO_PASSWORD}"
            f" (operator, analyst, support: 同密码 / same password)",
            f"启动 / Start: siyu serve → {ctx.settings.public_base_url}",
        ]
    )
