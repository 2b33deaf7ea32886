"""Channel admin routes under /api/admin/channels: operators with catalog-write rights
manage codes and spend; analysts (analytics-read) read them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from siyu.channel import service
from siyu.channel.models import Channel, ChannelSpend
from siyu.channel.schemas import ChannelCreate, ChannelOut, ChannelUpdate, SpendIn, SpendOut
from siyu.errors import InvalidInput
from siyu.web.api.common import from_fields, transact_into, transact_no_content
from siyu.web.deps import (
    AnalyticsReader,
    AppContext,
    CatalogWriter,
    CtxDep,
    NowDep,
    ReadSessionDep,
    SessionDep,
)

router = APIRouter(prefix="/api/admin/channels", tags=["channels admin"])

# Channel figures are analytics: whoever may read the analytics may read them.
ChannelReader = AnalyticsReader
# Channels are store set-up like the catalog: whoever may edit the catalog may edit them.
ChannelWriter = CatalogWriter
MAX_SPEND_DAYS = 366


def _channel_out(ctx: AppContext) -> Callable[[Channel], ChannelOut]:
    """A channel as answered: its fields and the links to print for it."""
    base_url = ctx.settings.public_base_url
    return lambda c: from_fields(ChannelOut, c, **asdict(service.links_for(c, base_url)))


def _spend_out(spend: ChannelSpend, channel: Channel) -> SpendOut:
    return from_fields(SpendOut, spend, channel_id=channel.id, code=channel.code)


@router.get("/spend", response_model=list[SpendOut])
def list_spend(
    session: ReadSessionDep,
    _: ChannelReader,
    day_from: date,
    day_to: date,
    channel_id: Annotated[int | None, Query(ge=1)] = None,
) -> list[SpendOut]:
    """每日花费（day_from..day_to，含两端）/ Daily spend, both days inclusive."""
    if day_to < day_from or (day_to - day_from).days >= MAX_SPEND_DAYS:
        raise InvalidInput(
            "bad_day_range",
            "日期范围须在 1 到 366 天之间 / The day range must span 1 to 366 days",
            {"day_to": "invalid"},
        )
    with session.begin():
        rows = service.list_spend(session, day_from=day_from, day_to=day_to, channel_id=channel_id)
        return [_spend_out(s, c) for s, c in rows]


@router.get("", response_model=list[ChannelOut])
def list_channels(
    session: ReadSessionDep, ctx: CtxDep, _: ChannelReader, include_inactive: bool = True
) -> list[ChannelOut]:
    with session.begin():
        channels = service.list_channels(session, include_inactive=include_inactive)
        return list(map(_channel_out(ctx), channels))


@router.post("", response_model=ChannelOut, status_code=201)
def create_channel(
    body: ChannelCreate, session: SessionDep, ctx: CtxDep, now: NowDep, actor: ChannelWriter
) -> ChannelOut:
    return transact_into(
        session,
        _channel_out(ctx),
        service.create_channel,
        actor_id=actor.id,
        code=body.code,
        name=body.name,
        group=body.group,
        note=body.note,
        now=now,
    )


@router.get("/{channel_id}", response_model=ChannelOut)
def get_channel(
    channel_id: int, session: ReadSessionDep, ctx: CtxDep, _: ChannelReader
) -> ChannelOut:
    return transact_into(session, _channel_out(ctx), service.get_channel, channel_id)


@router.patch("/{channel_id}", response_model=ChannelOut)
def update_channel(
    channel_id: int,
    body: ChannelUpdate,
    session: SessionDep,
    ctx: CtxDep,
    now: NowDep,
    actor: ChannelWriter,
) -> ChannelOut:
    return transact_into(
        session,
        _channel_out(ctx),
        service.update_channel,
        actor_id=actor.id,
        channel_id=channel_id,
        changes=body.model_dump(exclude_unset=True),
        now=now,
    )


@router.delete("/{channel_id}", status_code=204)
def delete_channel(
    channel_id: int, session: SessionDep, now: NowDep, actor: ChannelWriter
) -> Response:
    return transact_no_content(
        session, service.delete_channel, actor_id=actor.id, channel_id=channel_id, now=now
    )


@router.put("/{channel_id}/spend/{day}", response_model=SpendOut)
def put_spend(
    channel_id: int,
    day: date,
    body: SpendIn,
    session: SessionDep,
    now: NowDep,
    actor: ChannelWriter,
) -> SpendOut:
    """设置某渠道某日的花费（覆盖）/ Set one channel's spend on one day (replaces)."""
    with session.begin():
        spend = service.upsert_spend(
            session,
            actor_id=actor.id,
            channel_id=channel_id,
            day=day,
            amount_fen=body.amount_fen,
            now=now,
        )
        return _spend_out(spend, service.get_channel(session, channel_id))
