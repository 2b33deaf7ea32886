"""The address book: add, change, delete, pick the default, and copy an address for an
order. Every write first locks the shopper's book, so the cap and the one default hold
under concurrent requests (the partial unique index backs the default up)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.address.models import Address
from siyu.address.regions import region_problem
from siyu.address.rules import (
    CN_MOBILE_MESSAGE,
    MAX_ADDRESSES,
    can_add_address,
    is_cn_mobile,
    is_postal_code,
)
from siyu.db import get_or_raise
from siyu.errors import Conflict, InvalidInput, NotFound
from siyu.identity.models import Shopper

EDITABLE = ("name", "phone", "province", "city", "district", "detail", "postal_code")


@dataclass(frozen=True)
class AddressDetails:
    name: str
    phone: str
    province: str
    city: str
    district: str
    detail: str
    postal_code: str | None = None


def check_details(details: AddressDetails) -> None:
    if not is_cn_mobile(details.phone):
        raise InvalidInput(
            "bad_phone",
            CN_MOBILE_MESSAGE,
            {"phone": "invalid"},
        )
    problem = region_problem(details.province, details.city, details.district)
    if problem is not None:
        field, message = problem
        raise InvalidInput("bad_region", message, {field: "unknown"})
    if details.postal_code and not is_postal_code(details.postal_code):
        raise InvalidInput(
            "bad_postal_code",
            "邮编需为 6 位数字 / The postal code must be 6 digits",
            {"postal_code": "invalid"},
        )


def lock_address_book(session: Session, shopper_id: int) -> None:
    """Writers of one shopper's book queue here: PostgreSQL locks the shopper row,
    SQLite's writers already queue on the database (``BEGIN IMMEDIATE``)."""
    found = session.scalar(select(Shopper.id).where(Shopper.id == shopper_id).with_for_update())
    if found is None:
        raise NotFound("shopper_not_found", "用户不存在 / Shopper not found")


def list_addresses(session: Session, shopper_id: int) -> list[Address]:
    """The default first, then the most recently added."""
    return list(
        session.scalars(
            select(Address)
            .where(Address.shopper_id == shopper_id)
            .order_by(Address.is_default.desc(), Address.created_at.desc(), Address.id.desc())
        )
    )


def get_address(session: Session, shopper_id: int, address_id: int) -> Address:
    missing = NotFound(
        "address_not_found",
        "收货地址不存在 / Address not found",
        {"address_id": str(address_id)},
    )
    return get_or_raise(session, Address, address_id, missing, lambda a: a.shopper_id == shopper_id)


def default_address(session: Session, shopper_id: int) -> Address | None:
    return session.scalar(
        select(Address).where(Address.shopper_id == shopper_id, Address.is_default.is_(True))
    )


def _count(session: Session, shopper_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(Address).where(Address.shopper_id == shopper_id)
        )
        or 0
    )


def _unset_default(session: Session, shopper_id: int) -> None:
    session.execute(
        update(Address)
        .where(Address.shopper_id == shopper_id, Address.is_default.is_(True))
        .values(is_default=False)
    )


def add_address(
    session: Session,
    *,
    shopper_id: int,
    details: AddressDetails,
    is_default: bool,
    now: datetime,
) -> Address:
    check_details(details)
    lock_address_book(session, shopper_id)
    count = _count(session, shopper_id)
    if not can_add_address(count):
        raise Conflict(
            "address_book_full",
            f"最多保存 {MAX_ADDRESSES} 个收货地址，请先删除不用的地址 / "
            f"You can keep at most {MAX_ADDRESSES} addresses; delete one first",
        )
    make_default = is_default or count == 0
    if make_default:
        _unset_default(session, shopper_id)
    address = Address(
        shopper_id=shopper_id,
        **details.__dict__,
        is_default=make_default,
        created_at=now,
        updated_at=now,
    )
    session.add(address)
    session.flush()
    return address


def update_address(
    session: Session,
    *,
    shopper_id: int,
    address_id: int,
    changes: dict[str, Any],
    now: datetime,
) -> Address:
    """``changes`` holds only the fields the shopper sent; ``is_default=True`` makes this
    address the default (the old one is unset first)."""
    lock_address_book(session, shopper_id)
    address = get_address(session, shopper_id, address_id)
    if changes.get("is_default") is False and address.is_default:
        raise InvalidInput(
            "default_required",
            "默认地址不能取消，请把另一个地址设为默认 / Make another address the default instead",
            {"is_default": "required"},
        )
    values = {f: changes.get(f, getattr(address, f)) for f in EDITABLE}
    check_details(AddressDetails(**values))
    if changes.get("is_default") and not address.is_default:
        _unset_default(session, shopper_id)
        address.is_default = True
    for name, value in values.items():
        setattr(address, name, value)
    address.updated_at = now
    session.flush()
    return address


def delete_address(session: Session, *, shopper_id: int, address_id: int) -> None:
    """Deleting the default promotes the most recently added remaining address."""
    lock_address_book(session, shopper_id)
    address = get_address(session, shopper_id, address_id)
    was_default = address.is_default
    session.delete(address)
    session.flush()
    if not was_default:
        return
    successor = session.scalar(
        select(Address)
        .where(Address.shopper_id == shopper_id)
        .order_by(Address.created_at.desc(), Address.id.desc())
        .limit(1)
    )
    if successor is not None:
        successor.is_default = True
        session.flush()


def snapshot(address: Address) -> dict[str, Any]:
    """What an order keeps of the address: a copy, not a reference."""
    return {f: getattr(address, f) for f in EDITABLE}


def address_for_order(
    session: Session, shopper_id: int, address_id: int | None
) -> dict[str, Any] | None:
    """The snapshot of the shopper's own ``address_id``, or of their default when it is
    None; None when they have no default."""
    if address_id is not None:
        return snapshot(get_address(session, shopper_id, address_id))
    default = default_address(session, shopper_id)
    return None if default is None else snapshot(default)
