"""Flash-sale use cases: an operator's sessions and items; a shopper's purchase (an
order placed through ``siyu.order.placement`` with the sale price and the units
claimed in the same transaction by guarded updates); the units following their orders
on the lifecycle seam — sold when paid, back to the sale when the order is cancelled
or times out; the gate's keys loaded at the start and reconciled after the end.

The database is the truth: ``flash_items`` holds ``sold + reserved <= quantity`` (a
CHECK, and the guarded update that reserves), ``flash_shopper_counts`` the units per
shopper (UNIQUE (item, shopper), a guarded upsert under the limit), one
``flash_purchases`` row per order. The gate in front (``siyu.flash_sale.gate``) only
decides who gets to try.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from siyu.catalog.models import Product, Sku
from siyu.db import get_or_raise, rowcount
from siyu.errors import Conflict, InvalidInput, NotFound
from siyu.flash_sale.gate import Gate, ItemLoad
from siyu.flash_sale.models import FlashItem, FlashPurchase, FlashSession, FlashShopperCount
from siyu.flash_sale.rules import (
    END_TIMER,
    RECONCILE_DELAY,
    SOURCE,
    START_TIMER,
    ItemCounts,
    Phase,
    PurchaseStatus,
    Refusal,
    SessionStatus,
    check_item,
    check_session,
    drift,
    phase,
    units_left,
)
from siyu.lifecycle import OrderCancelled, OrderLifecycle, OrderPaid
from siyu.order.models import Order
from siyu.order.placement import Activity, Address, place_order
from siyu.outbox import DomainEvent, OutboxEvent, append_event
from siyu.pricing.activity import ActivityPrice, activity_quote
from siyu.pricing.fetch import cart_lines
from siyu.pricing.info import PricingSettings, Quote
from siyu.timers import schedule_timer

RELEASED_EVENT = "flash_sale.unit_released"
GIVE_BACK_SUBSCRIBER = "flash_sale.give_back"
SESSION_FIELDS = ("name", "starts_at", "ends_at", "status", "payment_timeout_minutes")
ITEM_FIELDS = ("sale_price_fen", "quantity", "per_shopper_limit", "position")

SOLD_OUT = ("flash_sold_out", "已抢光 / Sold out")
LIMIT = ("flash_limit", "已达每人限购数量 / You have bought your limit")
NOT_RUNNING = ("flash_not_running", "秒杀未开始或已结束 / The flash sale is not on now")


def refusal_error(refusal: Refusal) -> Conflict:
    code, message = {Refusal.sold_out: SOLD_OUT, Refusal.limit: LIMIT}.get(refusal, NOT_RUNNING)
    return Conflict(code, message)


# ---------------------------------------------------------------- the operator


def _bad(code: str, message: str, field: str) -> InvalidInput:
    return InvalidInput(code, message, {field: "invalid"})


def save_session(
    session: Session,
    values: dict[str, Any],
    *,
    now: datetime,
    session_id: int | None = None,
    items: list[dict[str, Any]] | None = None,
) -> FlashSession:
    """Create (with its items) or edit a session; its timers preload the gate at the
    start and reconcile after the end."""
    problem = check_session(
        values["starts_at"], values["ends_at"], values["payment_timeout_minutes"]
    )
    if problem:
        raise _bad("bad_session", problem, "ends_at")
    row = session.get(FlashSession, session_id) if session_id is not None else None
    if session_id is not None and row is None:
        raise NotFound("flash_sale_not_found", "秒杀场次不存在 / No such flash sale")
    if row is None:
        row = FlashSession(created_at=now)
        session.add(row)
    for name in SESSION_FIELDS:
        value = values[name]
        setattr(row, name, value.astimezone(UTC) if isinstance(value, datetime) else value)
    row.updated_at = now
    session.flush()
    for position, item in enumerate(items or []):
        save_item(session, row.id, {"position": position, **item}, now=now)
    schedule_timer(session, START_TIMER, row.id, due_at=row.starts_at,
                   payload={"session_id": row.id}, now=now)  # fmt: skip
    schedule_timer(session, END_TIMER, row.id, due_at=row.ends_at + RECONCILE_DELAY,
                   payload={"session_id": row.id}, now=now)  # fmt: skip
    return row


def save_item(
    session: Session,
    session_id: int,
    values: dict[str, Any],
    *,
    now: datetime,
    item_id: int | None = None,
) -> FlashItem:
    """Add or edit an item. Its SKU is fixed once added; its quantity never goes below
    the units already sold or reserved."""
    get_session(session, session_id)
    row = session.get(FlashItem, item_id) if item_id is not None else None
    if item_id is not None and (row is None or row.session_id != session_id):
        raise NotFound("flash_item_not_found", "秒杀商品不存在 / No such flash-sale item")
    sku_id = row.sku_id if row is not None else values["sku_id"]
    sku = session.get(Sku, sku_id)
    if sku is None:
        raise InvalidInput("sku_not_found", "商品规格不存在 / No such SKU", {"sku_id": "not_found"})
    problem = check_item(values["sale_price_fen"], sku.price_fen, values["quantity"],
                         values["per_shopper_limit"])  # fmt: skip
    if problem:
        raise _bad("bad_item", problem, "sale_price_fen")
    if row is not None and values["quantity"] < row.sold + row.reserved:
        raise Conflict(
            "flash_quantity_below_taken",
            f"已售出或锁定 {row.sold + row.reserved} 件，数量不能更少 / "
            f"{row.sold + row.reserved} units are taken: the quantity cannot be lower",
        )
    if row is None:
        taken = session.scalar(
            select(FlashItem.id).where(
                FlashItem.session_id == session_id, FlashItem.sku_id == sku_id
            )
        )
        if taken is not None:  # mall-admin-web #68: the same item twice in a session
            raise Conflict(
                "flash_item_exists", "该商品已在本场秒杀中 / The item is in this session"
            )
        row = FlashItem(session_id=session_id, sku_id=sku.id, product_id=sku.product_id,
                        sold=0, reserved=0, created_at=now)  # fmt: skip
        session.add(row)
    for name in ITEM_FIELDS:
        if name in values:
            setattr(row, name, values[name])
    row.updated_at = now
    session.flush()
    return row


def get_session(session: Session, session_id: int) -> FlashSession:
    return get_or_raise(session, FlashSession, session_id,
                        NotFound("flash_sale_not_found", "秒杀场次不存在 / No such flash sale"))  # fmt: skip


def get_item(session: Session, item_id: int) -> FlashItem:
    return get_or_raise(session, FlashItem, item_id,
                        NotFound("flash_item_not_found", "秒杀商品不存在 / No such flash-sale item"))  # fmt: skip


def list_sessions(session: Session, limit: int = 100) -> list[FlashSession]:
    return list(
        session.scalars(select(FlashSession).order_by(FlashSession.starts_at.desc()).limit(limit))
    )


def shopper_sessions(session: Session, now: datetime, upcoming: int = 3) -> list[FlashSession]:
    """The sessions on now, then the next ones (the 秒杀 channel's tabs)."""
    on = session.scalars(
        select(FlashSession)
        .where(FlashSession.status == SessionStatus.active, FlashSession.starts_at <= now,
               FlashSession.ends_at > now)
        .order_by(FlashSession.starts_at)
    ).all()  # fmt: skip
    later = session.scalars(
        select(FlashSession)
        .where(FlashSession.status == SessionStatus.active, FlashSession.starts_at > now)
        .order_by(FlashSession.starts_at)
        .limit(upcoming)
    ).all()
    return [*on, *later]


@dataclass(frozen=True)
class ItemView:
    item: FlashItem
    title: str
    spec: dict[str, Any]
    image_url: str
    shelf_price_fen: int

    @property
    def units_left(self) -> int:
        return units_left(self.item.quantity, self.item.sold, self.item.reserved)


def items_of(session: Session, session_id: int) -> list[ItemView]:
    rows = session.execute(
        select(FlashItem, Sku, Product)
        .join(Sku, Sku.id == FlashItem.sku_id)
        .join(Product, Product.id == FlashItem.product_id)
        .where(FlashItem.session_id == session_id)
        .order_by(FlashItem.position, FlashItem.id)
    ).all()
    return [
        ItemView(
            item,
            product.title,
            dict(sku.spec),
            sku.image_url or (product.image_urls or [""])[0],
            sku.price_fen,
        )  # fmt: skip
        for item, sku, product in rows
    ]


# ---------------------------------------------------------------- buying


@dataclass(frozen=True)
class Checkout:
    address: Address | None
    address_id: int | None
    note: str
    pricing: PricingSettings


def precheck(
    session: Session, item_id: int, shopper_id: int, quantity: int, now: datetime
) -> Refusal | None:
    """A read, no write: why the placement would be refused (None: try it). The SQL
    gate's fast answer for the many who come after the last unit."""
    item = get_item(session, item_id)
    fs = get_session(session, item.session_id)
    if phase(fs.status, fs.starts_at, fs.ends_at, now) is not Phase.running:
        return Refusal.not_running
    mine = session.scalar(
        select(FlashShopperCount.units).where(
            FlashShopperCount.item_id == item_id, FlashShopperCount.shopper_id == shopper_id
        )
    )
    if (mine or 0) + quantity > item.per_shopper_limit:  # first: a retry may replay
        return Refusal.limit
    if units_left(item.quantity, item.sold, item.reserved) < quantity:
        return Refusal.sold_out
    return None


def buy(
    session: Session,
    *,
    item_id: int,
    shopper_id: int,
    quantity: int,
    checkout: Checkout,
    now: datetime,
) -> tuple[Order, FlashItem]:
    """The shopper's order at the sale price, with a short payment time limit; its
    units are claimed in the placement's transaction (the shopper's count under the
    limit, then the item's ``sold + reserved + q <= quantity``), or nothing is written."""
    item = get_item(session, item_id)
    fs = get_session(session, item.session_id)
    if phase(fs.status, fs.starts_at, fs.ends_at, now) is not Phase.running:
        raise refusal_error(Refusal.not_running)
    _check_quantity(item, quantity)

    def claim(s: Session, order: Order) -> None:
        _count_units(s, item, shopper_id, quantity)
        taken = s.execute(
            update(FlashItem)
            .where(FlashItem.id == item.id,
                   FlashItem.sold + FlashItem.reserved + quantity <= FlashItem.quantity)
            .values(reserved=FlashItem.reserved + quantity)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        if rowcount(taken) != 1:
            raise refusal_error(Refusal.sold_out)
        s.add(FlashPurchase(item_id=item.id, session_id=fs.id, shopper_id=shopper_id,
                            order_id=order.id, quantity=quantity,
                            status=PurchaseStatus.reserved, created_at=now))  # fmt: skip

    order = place_order(
        session,
        shopper_id=shopper_id,
        items=[(item.sku_id, quantity)],
        address=checkout.address,
        address_id=checkout.address_id,
        note=checkout.note,
        source=SOURCE,
        payment_timeout=timedelta(minutes=fs.payment_timeout_minutes),
        now=now,
        pricing=checkout.pricing,
        activity=Activity(price=_price(item), claim=claim),
    )
    session.refresh(item)
    return order, item


def _check_quantity(item: FlashItem, quantity: int) -> None:
    if not 1 <= quantity <= item.per_shopper_limit:
        limit = item.per_shopper_limit
        raise InvalidInput("bad_quantity", f"每人限购 {limit} 件 / At most {limit} a shopper",
                           {"quantity": "range"})  # fmt: skip


def _price(item: FlashItem) -> ActivityPrice:
    return ActivityPrice(campaign_id=item.id, kind=SOURCE, name_zh="限时秒杀", name_en="Flash sale",
                         unit_price_fen=item.sale_price_fen, free_shipping=True)  # fmt: skip


def quote(session: Session, item_id: int, quantity: int, pricing: PricingSettings) -> Quote:
    """What the shopper pays: the sale price through the order's own pricing."""
    item = get_item(session, item_id)
    _check_quantity(item, quantity)
    lines = cart_lines(session, [(item.sku_id, quantity)])
    if not lines:
        raise Conflict("sku_unavailable", "商品已下架 / The item is unavailable")
    return activity_quote(lines[0], _price(item), pricing)


def _count_units(session: Session, item: FlashItem, shopper_id: int, quantity: int) -> None:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    if quantity > item.per_shopper_limit:
        raise refusal_error(Refusal.limit)
    stmt = insert(FlashShopperCount).values(item_id=item.id, shopper_id=shopper_id, units=quantity)
    stmt = stmt.on_conflict_do_update(
        index_elements=["item_id", "shopper_id"],
        set_={"units": FlashShopperCount.units + quantity},
        where=FlashShopperCount.units + quantity <= item.per_shopper_limit,
    )
    if session.scalar(stmt.returning(FlashShopperCount.units)) is None:
        raise refusal_error(Refusal.limit)


# ---------------------------------------------------------------- the lifecycle


def purchase_of(session: Session, order_id: int) -> FlashPurchase | None:
    return session.scalar(select(FlashPurchase).where(FlashPurchase.order_id == order_id))


def purchase_paid(session: Session, event: OrderPaid, now: datetime) -> None:
    """Paid: the units move from reserved to sold."""
    if event.source != SOURCE:
        return
    purchase = purchase_of(session, event.order_id)
    if purchase is None:
        return
    moved = session.execute(
        update(FlashPurchase)
        .where(FlashPurchase.id == purchase.id, FlashPurchase.status == PurchaseStatus.reserved)
        .values(status=PurchaseStatus.paid, paid_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(moved) != 1:
        return
    q = purchase.quantity
    session.execute(
        update(FlashItem)
        .where(FlashItem.id == purchase.item_id, FlashItem.reserved >= q)
        .values(reserved=FlashItem.reserved - q, sold=FlashItem.sold + q)
        .execution_options(synchronize_session=False)
    )


def purchase_released(session: Session, event: OrderCancelled, now: datetime) -> None:
    """Cancelled before payment (the shopper, an operator, the short payment timeout):
    the units go back to the sale and to the shopper's limit, once; the gate gets them
    back through the outbox after commit."""
    if event.source != SOURCE:
        return
    purchase = purchase_of(session, event.order_id)
    if purchase is None:
        return
    moved = session.execute(
        update(FlashPurchase)
        .where(FlashPurchase.id == purchase.id, FlashPurchase.status == PurchaseStatus.reserved)
        .values(status=PurchaseStatus.released, released_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(moved) != 1:
        return
    q = purchase.quantity
    session.execute(
        update(FlashItem)
        .where(FlashItem.id == purchase.item_id, FlashItem.reserved >= q)
        .values(reserved=FlashItem.reserved - q)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(FlashShopperCount)
        .where(FlashShopperCount.item_id == purchase.item_id,
               FlashShopperCount.shopper_id == purchase.shopper_id, FlashShopperCount.units >= q)
        .values(units=FlashShopperCount.units - q)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    append_event(session, RELEASED_EVENT, aggregate_type="flash_item",
                 aggregate_id=purchase.item_id, now=now,
                 payload={"item_id": purchase.item_id, "shopper_id": purchase.shopper_id,
                          "quantity": q, "purchase_id": purchase.id})  # fmt: skip


def give_back_handler(gate: Gate) -> Any:
    def handle(session: Session, event: DomainEvent) -> None:
        p = event.payload
        gate.give_back(int(p["item_id"]), int(p["shopper_id"]), int(p["quantity"]),
                       token=f"p{p['purchase_id']}")  # fmt: skip

    return handle


def register_steps(lifecycle: OrderLifecycle) -> None:
    lifecycle.on_paid("flash_sale.purchase_paid", purchase_paid)
    lifecycle.on_cancelled("flash_sale.purchase_released", purchase_released)


# ---------------------------------------------------------------- the gate's keys


def item_load(session: Session, item: FlashItem) -> ItemLoad:
    fs = get_session(session, item.session_id)
    pending = _pending_releases(session, item.id)
    return ItemLoad(
        pending_releases=tuple(f"p{p['purchase_id']}" for p in pending),
        item_id=item.id,
        units_left=units_left(item.quantity, item.sold, item.reserved),
        per_shopper_limit=item.per_shopper_limit,
        starts_at=fs.starts_at,
        ends_at=fs.ends_at if fs.status is SessionStatus.active else fs.starts_at,
        per_shopper=_per_shopper(session, item.id),
    )


def _per_shopper(session: Session, item_id: int) -> dict[int, int]:
    return {
        shopper: units
        for shopper, units in session.execute(
            select(FlashShopperCount.shopper_id, FlashShopperCount.units).where(
                FlashShopperCount.item_id == item_id, FlashShopperCount.units > 0
            )
        )
    }


def _pending_releases(session: Session, item_id: int) -> list[dict[str, Any]]:
    """Units the database released whose give-back to the gate is still in the outbox."""
    return [
        dict(payload)
        for payload in session.scalars(
            select(OutboxEvent.payload).where(
                OutboxEvent.event_type == RELEASED_EVENT,
                OutboxEvent.aggregate_id == str(item_id),
                OutboxEvent.published_at.is_(None),
            )
        )
    ]


def load_gate(session: Session, gate: Gate, item_id: int) -> bool:
    """Load one item into the gate unless it is there (two loaders agree)."""
    return gate.load(item_load(session, get_item(session, item_id)))


def session_started(
    gate: Gate, session: Session, payload: dict[str, Any], now: datetime
) -> datetime | None:
    fs = session.get(FlashSession, int(payload["session_id"]))
    if fs is None:
        return None
    if now < fs.starts_at - timedelta(seconds=30):
        return fs.starts_at - timedelta(seconds=30)  # moved later: preload then
    for view in items_of(session, fs.id):
        gate.load(item_load(session, view.item))
    return None


def session_ended(
    gate: Gate, session: Session, payload: dict[str, Any], now: datetime
) -> datetime | None:
    fs = session.get(FlashSession, int(payload["session_id"]))
    if fs is None:
        return None
    if now < fs.ends_at + RECONCILE_DELAY:
        return fs.ends_at + RECONCILE_DELAY  # moved later
    reconcile(session, gate, fs.id, fix=True, now=now)
    return None


# ---------------------------------------------------------------- reconciliation


def reconcile(
    session: Session, gate: Gate, session_id: int, *, fix: bool, now: datetime
) -> dict[str, Any]:
    """Compare the gate's counts with the database's for every item of a session and,
    with ``fix``, set the gate to the database's. Also checks the database against
    itself: the items' counters equal the sum of their purchases, the shopper counts
    equal their purchases, nothing is oversold. The report is kept on the session."""
    fs = get_session(session, session_id)
    items = []
    clean = True
    for view in items_of(session, fs.id):
        item = view.item
        db = ItemCounts(item.id, view.units_left, _per_shopper(session, item.id))
        d = drift(db, _with_pending(gate.counts(item.id), _pending_releases(session, item.id)))
        sums = dict(
            session.execute(
                select(FlashPurchase.status, func.coalesce(func.sum(FlashPurchase.quantity), 0))
                .where(FlashPurchase.item_id == item.id)
                .group_by(FlashPurchase.status)
            ).all()
        )
        by_shopper = dict(
            session.execute(
                select(FlashPurchase.shopper_id, func.sum(FlashPurchase.quantity))
                .where(FlashPurchase.item_id == item.id,
                       FlashPurchase.status.in_([PurchaseStatus.reserved, PurchaseStatus.paid]))
                .group_by(FlashPurchase.shopper_id)
            ).all()
        )  # fmt: skip
        consistent = (
            int(sums.get(PurchaseStatus.paid, 0)) == item.sold
            and int(sums.get(PurchaseStatus.reserved, 0)) == item.reserved
            and item.sold + item.reserved <= item.quantity
            and {s: int(u) for s, u in by_shopper.items()} == db.per_shopper
            and all(u <= item.per_shopper_limit for u in db.per_shopper.values())
        )
        fixed = False
        if fix and not d.clean:
            fixed = gate.load(item_load(session, item), force=True)
        clean = clean and d.clean and consistent
        items.append({
            "item_id": item.id, "db_units_left": d.db_units_left,
            "gate_units_left": d.gate_units_left, "sold": item.sold, "reserved": item.reserved,
            "shoppers_differing": len(d.shoppers), "db_consistent": consistent,
            "clean": d.clean and consistent, "fixed": fixed,
        })  # fmt: skip
    report = {"session_id": fs.id, "mode": gate.mode, "clean": clean, "items": items,
              "checked_at": now.isoformat()}  # fmt: skip
    fs.reconciled_at = now
    fs.reconciliation = report
    session.flush()
    return report


def _with_pending(gate: ItemCounts | None, pending: list[dict[str, Any]]) -> ItemCounts | None:
    """The gate's counts once the give-backs still in the outbox have arrived."""
    if gate is None or not pending:
        return gate
    per = dict(gate.per_shopper)
    left = gate.units_left
    for p in pending:
        shopper, q = int(p["shopper_id"]), int(p["quantity"])
        left += q
        per[shopper] = per.get(shopper, 0) - q
    return ItemCounts(gate.item_id, left, {s: u for s, u in per.items() if u > 0})


# ---------------------------------------------------------------- the board


def board(session: Session, gate: Gate, session_id: int, now: datetime) -> dict[str, Any]:
    """The session board during the sale: per item units left, sold, reserved, buyers,
    and the gate's requests, refusals and rate-limited requests."""
    fs = get_session(session, session_id)
    buyers = dict(
        session.execute(
            select(FlashShopperCount.item_id, func.count())
            .join(FlashItem, FlashItem.id == FlashShopperCount.item_id)
            .where(FlashItem.session_id == fs.id, FlashShopperCount.units > 0)
            .group_by(FlashShopperCount.item_id)
        ).all()
    )
    rows: list[dict[str, Any]] = []
    for view in items_of(session, fs.id):
        stats = gate.stats(view.item.id)
        rows.append({
            "item_id": view.item.id, "title": view.title, "quantity": view.item.quantity,
            "units_left": view.units_left, "sold": view.item.sold,
            "reserved": view.item.reserved, "buyers": int(buyers.get(view.item.id, 0)),
            "gate_requests": stats["requests"], "refusals": stats["refusals"],
            "rate_limited": stats["rate_limited"],
        })  # fmt: skip
    totals = {k: sum(int(r[k]) for r in rows) for k in
              ("quantity", "units_left", "sold", "reserved", "buyers", "gate_requests",
               "refusals", "rate_limited")}  # fmt: skip
    return {"session_id": fs.id, "phase": phase(fs.status, fs.starts_at, fs.ends_at, now),
            "gate_mode": gate.mode, "items": rows, "totals": totals,
            "reconciliation": fs.reconciliation}  # fmt: skip
