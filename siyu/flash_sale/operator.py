"""What the console does with flash sales on top of ``service.py``: an operator's save
of a session with its items and a reconciliation, each audited; and the figures of the
session board the service's ``board`` leaves out — units released (orders cancelled or
timed out before payment) and the units the gate itself holds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.catalog.models import Product
from siyu.flash_sale import service
from siyu.flash_sale.gate import Gate
from siyu.flash_sale.models import FlashItem, FlashPurchase, FlashSession
from siyu.flash_sale.rules import PurchaseStatus
from siyu.identity.audit import record_audit


def _snapshot(fs: FlashSession) -> dict[str, Any]:
    return {
        "name": fs.name,
        "starts_at": fs.starts_at.astimezone(UTC).isoformat(),
        "ends_at": fs.ends_at.astimezone(UTC).isoformat(),
        "status": str(fs.status),
        "payment_timeout_minutes": fs.payment_timeout_minutes,
    }


def _item_snapshot(item: FlashItem) -> dict[str, Any]:
    return {
        "sku_id": item.sku_id,
        "sale_price_fen": item.sale_price_fen,
        "quantity": item.quantity,
        "per_shopper_limit": item.per_shopper_limit,
    }


def save_session(
    session: Session,
    values: dict[str, Any],
    *,
    items: list[dict[str, Any]],
    now: datetime,
    actor_id: int,
    session_id: int | None = None,
) -> FlashSession:
    """Create or edit a session and its items in one transaction (the edge's): each
    item with an ``id`` is edited, each without one is added. Every change is audited;
    a refused item rolls the whole save back."""
    before = None
    if session_id is not None:
        before = _snapshot(service.get_session(session, session_id))
    fs = service.save_session(session, values, now=now, session_id=session_id)
    record_audit(
        session, operator_id=actor_id, action="flash_sale.save", target_type="flash_sale",
        target_id=fs.id, before=before, after=_snapshot(fs), now=now,
    )  # fmt: skip
    for position, item in enumerate(items):
        item_id = item.get("id")
        old = None
        if item_id is not None:  # save_item refuses an item of another session
            old = _item_snapshot(service.get_item(session, item_id))
        saved = service.save_item(
            session, fs.id, {**item, "position": position}, now=now, item_id=item_id
        )
        record_audit(
            session, operator_id=actor_id, action="flash_sale.item", target_type="flash_sale",
            target_id=fs.id, before=old, after=_item_snapshot(saved), now=now,
        )  # fmt: skip
    return fs


def reconcile(
    session: Session, gate: Gate, session_id: int, *, fix: bool, now: datetime, actor_id: int
) -> dict[str, Any]:
    """The service's reconciliation, run by an operator (audited)."""
    report = service.reconcile(session, gate, session_id, fix=fix, now=now)
    record_audit(
        session, operator_id=actor_id, action="flash_sale.reconcile", target_type="flash_sale",
        target_id=session_id, before=None, after={"clean": report["clean"]}, now=now,
    )  # fmt: skip
    return report


def released_units(session: Session, session_id: int) -> dict[int, int]:
    """Units given back to the sale per item: purchases whose order was cancelled or
    timed out before payment."""
    return {
        int(item_id): int(units)
        for item_id, units in session.execute(
            select(FlashPurchase.item_id, func.sum(FlashPurchase.quantity))
            .where(
                FlashPurchase.session_id == session_id,
                FlashPurchase.status == PurchaseStatus.released,
            )
            .group_by(FlashPurchase.item_id)
        )
    }


def gate_units_left(gate: Gate, item_ids: list[int]) -> dict[int, int | None]:
    """What the gate says is left of each item (None: the gate keeps no count — the SQL
    gate, or Redis before the item is loaded)."""
    out: dict[int, int | None] = {}
    for item_id in item_ids:
        counts = gate.counts(item_id)
        out[item_id] = None if counts is None else counts.units_left
    return out


def item_names(session: Session, item_ids: list[int]) -> dict[int, tuple[str, str]]:
    """(session name, product title) of flash-sale items: how the play analytics name
    a flash sale's campaign (its item)."""
    if not item_ids:
        return {}
    return {
        int(item_id): (str(name), str(title))
        for item_id, name, title in session.execute(
            select(FlashItem.id, FlashSession.name, Product.title)
            .join(FlashSession, FlashSession.id == FlashItem.session_id)
            .join(Product, Product.id == FlashItem.product_id)
            .where(FlashItem.id.in_(item_ids))
        )
    }
