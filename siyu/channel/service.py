"""Channel use cases: operators manage channel codes and enter daily spend (audited);
analytics reads spend totals to compute CAC and ROI."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from siyu.channel.models import Channel, ChannelSpend
from siyu.channel.rules import (
    is_valid_code,
    is_valid_group,
    is_valid_spend,
    mini_program_scene,
    storefront_link,
)
from siyu.db import get_or_raise
from siyu.errors import Conflict, InvalidInput, NotFound
from siyu.identity.audit import AuditTrail, assign

UPDATABLE = ("name", "group", "note", "is_active")


@dataclass(frozen=True)
class ChannelLinks:
    mini_program_scene: str
    storefront_url: str


def links_for(channel: Channel, public_base_url: str) -> ChannelLinks:
    return ChannelLinks(
        mini_program_scene=mini_program_scene(channel.code),
        storefront_url=storefront_link(public_base_url, channel.code),
    )


def _snapshot(c: Channel) -> dict[str, Any]:
    return {
        "code": c.code,
        "name": c.name,
        "group": c.group,
        "note": c.note,
        "is_active": c.is_active,
    }


_CHANNELS = AuditTrail("channel", _snapshot)


def _check_group(group: str) -> None:
    if not is_valid_group(group):
        raise InvalidInput(
            "bad_channel_group",
            "渠道分组无效 / Unknown channel group",
            {"group": "invalid"},
        )


def get_channel(session: Session, channel_id: int) -> Channel:
    missing = NotFound("channel_not_found", "渠道不存在 / Channel not found")
    return get_or_raise(session, Channel, channel_id, missing)


def list_channels(session: Session, *, include_inactive: bool = True) -> list[Channel]:
    stmt = select(Channel).order_by(Channel.code)
    if not include_inactive:
        stmt = stmt.where(Channel.is_active.is_(True))
    return list(session.scalars(stmt))


def create_channel(
    session: Session,
    *,
    actor_id: int,
    code: str,
    name: str,
    group: str,
    note: str = "",
    now: datetime,
) -> Channel:
    if not is_valid_code(code):
        raise InvalidInput(
            "bad_channel_code",
            "渠道码须为 1 到 20 位字母、数字、_ 或 - / "
            "A channel code is 1-20 letters, digits, _ or -",
            {"code": "invalid"},
        )
    _check_group(group)
    if session.scalar(select(Channel.id).where(Channel.code == code)) is not None:
        raise Conflict("channel_code_taken", "渠道码已被使用 / This channel code is already in use")
    channel = Channel(
        code=code,
        name=name,
        group=group,
        note=note,
        is_active=True,
        created_at=now,
        updated_at=now,
    )
    _CHANNELS.add(session, channel, operator_id=actor_id, now=now)
    return channel


def update_channel(
    session: Session, *, actor_id: int, channel_id: int, changes: dict[str, Any], now: datetime
) -> Channel:
    """Name, group, note and active flag change; the code never does (it is printed)."""
    channel = get_channel(session, channel_id)
    if "group" in changes:
        _check_group(changes["group"])
    with _CHANNELS.change(session, channel, "update", operator_id=actor_id, now=now):
        assign(channel, changes, UPDATABLE)
        channel.updated_at = now
        session.flush()
    return channel


def delete_channel(session: Session, *, actor_id: int, channel_id: int, now: datetime) -> None:
    """Only a channel without spend may be deleted; others are deactivated instead, so
    their history keeps its name."""
    channel = get_channel(session, channel_id)
    has_spend = session.scalar(
        select(ChannelSpend.id).where(ChannelSpend.channel_id == channel_id).limit(1)
    )
    if has_spend is not None:
        raise Conflict(
            "channel_has_spend",
            "渠道已有花费记录，请停用而非删除 / The channel has spend; deactivate it instead",
        )
    _CHANNELS.delete(session, channel, operator_id=actor_id, now=now)


def upsert_spend(
    session: Session,
    *,
    actor_id: int,
    channel_id: int,
    day: date,
    amount_fen: int,
    now: datetime,
) -> ChannelSpend:
    """Set the spend of one channel on one day (replacing what was entered before).

    One ``INSERT … ON CONFLICT DO UPDATE`` (SQLite and PostgreSQL both speak it), so two
    operators entering the same day at once leave one row, the later value."""
    if not is_valid_spend(amount_fen):
        raise InvalidInput(
            "bad_spend",
            "花费须为不小于 0 的整数（分） / Spend must be a non-negative amount in fen",
            {"amount_fen": "invalid"},
        )
    get_channel(session, channel_id)
    before = session.scalar(
        select(ChannelSpend.amount_fen).where(
            ChannelSpend.channel_id == channel_id, ChannelSpend.day == day
        )
    )
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(ChannelSpend).values(
        channel_id=channel_id, day=day, amount_fen=amount_fen, updated_at=now
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[ChannelSpend.channel_id, ChannelSpend.day],
        set_={"amount_fen": stmt.excluded.amount_fen, "updated_at": stmt.excluded.updated_at},
    )
    session.execute(stmt)
    spend = session.scalars(
        select(ChannelSpend)
        .where(ChannelSpend.channel_id == channel_id, ChannelSpend.day == day)
        .execution_options(populate_existing=True)
    ).one()
    _CHANNELS.record(
        session,
        channel_id,
        "spend",
        operator_id=actor_id,
        before=None if before is None else {"day": day.isoformat(), "amount_fen": before},
        after={"day": day.isoformat(), "amount_fen": amount_fen},
        now=now,
    )
    return spend


def list_spend(
    session: Session, *, day_from: date, day_to: date, channel_id: int | None = None
) -> list[tuple[ChannelSpend, Channel]]:
    """Spend rows of the days ``day_from``..``day_to`` (both inclusive)."""
    stmt = (
        select(ChannelSpend, Channel)
        .join(Channel, Channel.id == ChannelSpend.channel_id)
        .where(ChannelSpend.day >= day_from, ChannelSpend.day <= day_to)
        .order_by(ChannelSpend.day, Channel.code)
    )
    if channel_id is not None:
        stmt = stmt.where(ChannelSpend.channel_id == channel_id)
    return [(s, c) for s, c in session.execute(stmt)]


def spend_totals(
    session: Session, *, day_from: date, day_to: date, by: Literal["code", "group"]
) -> dict[str, int]:
    """Total spend per channel code (or group) over ``day_from``..``day_to`` inclusive:
    the spend input of the channel ROI insight."""
    key = Channel.code if by == "code" else Channel.group
    rows = session.execute(
        select(key, func.sum(ChannelSpend.amount_fen))
        .join(Channel, Channel.id == ChannelSpend.channel_id)
        .where(ChannelSpend.day >= day_from, ChannelSpend.day <= day_to)
        .group_by(key)
    )
    totals: dict[str, int] = defaultdict(int)
    for name, amount in rows:
        totals[str(name)] += int(amount or 0)
    return dict(sorted(totals.items()))
