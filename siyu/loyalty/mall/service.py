"""Points-mall use cases: an operator's items, the shopper's exchange and records.

An exchange, in one transaction: the item active; the per-shopper limit by a guarded
upsert of the (item, shopper) counter; the points debited (key ``mall:{request}``);
then the goods' SKU stock reserved through ``catalog/stock.py`` (a shortage: 409, and
the whole exchange rolls back, points included) or the coupon issued (once per
request key). Goods are points-only here: the exchange is the record the operator
ships from (status ``to_ship``); points + cash goods through the order flow are not
built yet (docs/loyalty.md says so)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from siyu.catalog import stock
from siyu.catalog.models import Sku
from siyu.coupon import service as coupons
from siyu.coupon.models import CouponTemplate
from siyu.coupon.rules import REFUSAL_MESSAGES, IssueRefusal, IssueSource
from siyu.db import rowcount
from siyu.errors import Conflict, InvalidInput, NotFound
from siyu.identity.audit import record_audit
from siyu.loyalty import ledger
from siyu.loyalty.ledger import Source
from siyu.loyalty.mall.models import (
    ExchangeStatus,
    ItemKind,
    ItemStatus,
    MallExchange,
    MallExchangeCount,
    MallItem,
)
from siyu.loyalty.rules import EntryKind

ITEM_FIELDS = ("name", "kind", "points_price", "coupon_template_id", "sku_id",
               "per_shopper_limit", "status", "position")  # fmt: skip


def check_item(session: Session, values: dict[str, Any]) -> None:
    errors: dict[str, str] = {}
    kind = ItemKind(values["kind"])
    if not 0 < int(values["points_price"]) <= 10_000_000:
        errors["points_price"] = "1–10000000"
    if int(values.get("per_shopper_limit", 0)) < 0:
        errors["per_shopper_limit"] = "≥ 0"
    if kind is ItemKind.coupon:
        template_id = values.get("coupon_template_id")
        if template_id is None or session.get(CouponTemplate, template_id) is None:
            errors["coupon_template_id"] = "required" if template_id is None else "not found"
    if kind is ItemKind.goods:
        sku_id = values.get("sku_id")
        if sku_id is None or session.get(Sku, sku_id) is None:
            errors["sku_id"] = "required" if sku_id is None else "not found"
    if errors:
        raise InvalidInput("bad_mall_item", "积分商品设置有误 / The item is not valid", errors)


def save_item(
    session: Session,
    *,
    item_id: int | None,
    values: dict[str, Any],
    now: datetime,
    actor_id: int | None = None,
) -> MallItem:
    """Create or change an item (422 ``bad_mall_item``, nothing written, if it is not
    valid); an operator's change (``actor_id``) is audited."""
    check_item(session, values)
    item = MallItem(created_at=now) if item_id is None else get_item(session, item_id)
    before = None if item_id is None else {"name": item.name, "status": str(item.status),
                                           "points": item.points_price}  # fmt: skip
    for name in ITEM_FIELDS:
        if name in values:
            setattr(item, name, values[name])
    item.updated_at = now
    session.add(item)
    session.flush()
    if actor_id is not None:
        record_audit(
            session, operator_id=actor_id,
            action="mall_item.create" if item_id is None else "mall_item.update",
            target_type="mall_item", target_id=item.id, before=before,
            after={"name": item.name, "status": str(item.status), "points": item.points_price},
            now=now,
        )  # fmt: skip
    return item


def get_item(session: Session, item_id: int) -> MallItem:
    item = session.get(MallItem, item_id)
    if item is None:
        raise NotFound("mall_item_not_found", "积分商品不存在 / Item not found")
    return item


def list_items(session: Session, *, active_only: bool = True) -> list[MallItem]:
    stmt = select(MallItem).order_by(MallItem.position, MallItem.id)
    if active_only:
        stmt = stmt.where(MallItem.status == ItemStatus.active)
    return list(session.scalars(stmt))


def _count(session: Session, item: MallItem, shopper_id: int) -> bool:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(MallExchangeCount).values(item_id=item.id, shopper_id=shopper_id, count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["item_id", "shopper_id"],
        set_={"count": MallExchangeCount.count + 1},
        where=(MallExchangeCount.count < item.per_shopper_limit)
        if item.per_shopper_limit > 0
        else None,
    )
    return session.scalar(stmt.returning(MallExchangeCount.count)) is not None


def exchange(
    session: Session, *, item_id: int, shopper_id: int, request_key: str, now: datetime
) -> MallExchange:
    """Exchange points for one item; a repeated ``request_key`` returns the first one."""
    key = f"mall:{shopper_id}:{request_key}"
    done = session.scalar(select(MallExchange).where(MallExchange.request_key == key))
    if done is not None:
        return done
    item = get_item(session, item_id)
    if item.status is not ItemStatus.active:
        raise Conflict("mall_item_inactive", "该商品已下架 / This item is not available")
    if not _count(session, item, shopper_id):
        raise Conflict(
            "mall_limit_reached",
            f"每人限兑 {item.per_shopper_limit} 件 / At most {item.per_shopper_limit} a shopper",
        )
    entry = ledger.debit(
        session, shopper_id=shopper_id, points=item.points_price, kind=EntryKind.mall_exchange,
        key=key, now=now, reason=f"积分兑换 {item.name} / Points mall",
        source=Source("mall_item", str(item.id)),
    )  # fmt: skip
    if entry is None:
        raise Conflict("mall_repeated", "该兑换已完成 / This exchange was already made")
    row = MallExchange(
        item_id=item.id, shopper_id=shopper_id, request_key=key, points=item.points_price,
        status=ExchangeStatus.done, created_at=now,
    )  # fmt: skip
    if item.kind is ItemKind.goods and item.sku_id is not None:
        if not stock.reserve(session, item.sku_id, 1):
            raise Conflict("mall_sold_out", "该商品已兑完 / This item is sold out")
        row.sku_id, row.status = item.sku_id, ExchangeStatus.to_ship
    if item.kind is ItemKind.coupon and item.coupon_template_id is not None:
        template = coupons.get_template(session, item.coupon_template_id)
        issued = coupons.issue(
            session, template, shopper_id, source=IssueSource.points_mall, now=now, grant_key=key
        )
        if isinstance(issued, IssueRefusal):
            raise Conflict(f"mall_coupon_{issued.value}", REFUSAL_MESSAGES[issued])
        row.coupon_id = issued.id
    session.add(row)
    session.flush()
    return row


def my_exchanges(session: Session, *, shopper_id: int, limit: int = 50) -> list[MallExchange]:
    return list(
        session.scalars(
            select(MallExchange)
            .where(MallExchange.shopper_id == shopper_id)
            .order_by(MallExchange.id.desc())
            .limit(limit)
        )
    )


def list_exchanges(
    session: Session, *, status: ExchangeStatus | None = None, limit: int = 100
) -> list[MallExchange]:
    """Every shopper's exchanges, newest first (an operator's view)."""
    stmt = select(MallExchange)
    if status is not None:
        stmt = stmt.where(MallExchange.status == status)
    return list(session.scalars(stmt.order_by(MallExchange.id.desc()).limit(min(limit, 500))))


def ship_exchange(
    session: Session, *, actor_id: int, exchange_id: int, now: datetime
) -> MallExchange:
    """Mark a goods exchange shipped: once, and only from ``to_ship`` (a conditional
    update; a second click is 409 ``mall_exchange_not_to_ship``). The unit was reserved
    at the exchange, so the stock does not move again. Audited."""
    row = session.get(MallExchange, exchange_id)
    if row is None:
        raise NotFound("mall_exchange_not_found", "兑换记录不存在 / Exchange not found")
    moved = session.execute(
        update(MallExchange)
        .where(MallExchange.id == exchange_id, MallExchange.status == ExchangeStatus.to_ship)
        .values(status=ExchangeStatus.shipped, shipped_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(moved) != 1:
        raise Conflict(
            "mall_exchange_not_to_ship",
            "该兑换不是待发货状态 / This exchange is not waiting to be shipped",
        )
    record_audit(
        session, operator_id=actor_id, action="mall_exchange.ship", target_type="mall_exchange",
        target_id=exchange_id, before={"status": ExchangeStatus.to_ship.value},
        after={"status": ExchangeStatus.shipped.value}, now=now,
    )  # fmt: skip
    session.refresh(row)
    return row
