"""The channel page: channel codes with the mini-program ``scene`` and storefront link
to print, a form to add one, inline edits and deactivation, and daily spend entry
with the last 14 days of spend per channel.

Reading needs analytics-read (like the channel analytics it feeds); every change
needs catalog-write, as on /api/admin/channels, and goes through the same service
functions (which write the audit log).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from siyu.channel import service
from siyu.channel.models import Channel
from siyu.channel.rules import GROUPS, SHANGHAI
from siyu.channel.schemas import ChannelCreate, ChannelUpdate
from siyu.web.console import base
from siyu.web.console.forms import money_error, parse_int, parse_yuan
from siyu.web.console.security import Analyst, FormDep, PostChannelWriter, text_field
from siyu.web.deps import AppContext, CtxDep, NowDep, Session, SessionDep
from siyu.web.i18n import translator

router = APIRouter(prefix=base.PREFIX, include_in_schema=False)

SPEND_DAYS = 14


@dataclass(frozen=True)
class ChannelItem:
    channel: Channel
    scene: str
    storefront_url: str


@dataclass(frozen=True)
class SpendRow:
    channel: Channel
    by_day: dict[date, int]
    total_fen: int


def _today(now: datetime) -> date:
    return now.astimezone(SHANGHAI).date()


def _page(
    request: Request,
    user: base.ConsoleUser,
    session: Session,
    ctx: AppContext,
    now: datetime,
    shown: base.Feedback = base.Feedback(),
) -> Response:
    base_url = ctx.settings.public_base_url
    today = _today(now)
    days = [today - timedelta(days=n) for n in range(SPEND_DAYS - 1, -1, -1)]
    with session.begin():
        channels = service.list_channels(session, include_inactive=True)
        items = [
            ChannelItem(c, links.mini_program_scene, links.storefront_url)
            for c in channels
            for links in (service.links_for(c, base_url),)
        ]
        spend = service.list_spend(session, day_from=days[0], day_to=days[-1])
        totals = service.spend_totals(session, day_from=days[0], day_to=days[-1], by="code")
    by_channel: dict[int, dict[date, int]] = {}
    for row, channel in spend:
        by_channel.setdefault(channel.id, {})[row.day] = row.amount_fen
    spend_rows = [
        SpendRow(c, by_channel.get(c.id, {}), totals.get(c.code, 0))
        for c in channels
        if c.is_active or c.id in by_channel
    ]
    form_values = {"spend_day": today.isoformat(), **shown.values}
    return base.render(
        request,
        "channels.html",
        user=user,
        active="channels",
        shown=shown,
        items=items,
        groups=GROUPS,
        days=days,
        spend_rows=spend_rows,
        values=form_values,
    )


@router.get("/channels")
def channel_page(
    request: Request, user: Analyst, session: SessionDep, ctx: CtxDep, now: NowDep
) -> Response:
    return _page(request, user, session, ctx, now)


@router.post("/channels")
def create_channel(
    request: Request,
    form: FormDep,
    user: PostChannelWriter,
    session: SessionDep,
    ctx: CtxDep,
    now: NowDep,
) -> Response:
    values = {
        "code": text_field(form, "code", 40),
        "name": text_field(form, "name", 200),
        "group": text_field(form, "group", 40),
        "note": text_field(form, "note", 1000),
    }
    outcome = base.submit(
        request,
        session,
        ChannelCreate,
        values,
        lambda body: service.create_channel(
            session,
            actor_id=user.principal.id,
            code=body.code,
            name=body.name,
            group=body.group,
            note=body.note,
            now=now,
        ),
    )
    if isinstance(outcome, base.Refusal):
        errors = outcome.errors
        if outcome.exc is not None and outcome.exc.code == "channel_code_taken":
            errors = {"code": outcome.text}
        shown = base.Feedback(errors, values, outcome.status)
        return _page(request, user, session, ctx, now, shown)
    return base.redirect(f"{base.PREFIX}/channels?notice=channel_created")


# Declared before /channels/{channel_id} so that "spend" is never read as an id.
@router.post("/channels/spend")
def enter_spend(
    request: Request,
    form: FormDep,
    user: PostChannelWriter,
    session: SessionDep,
    ctx: CtxDep,
    now: NowDep,
) -> Response:
    t = translator("console", base.request_locale(request))
    values = {
        "spend_channel_id": text_field(form, "spend_channel_id", 16),
        "spend_day": text_field(form, "spend_day", 16),
        "spend_amount": text_field(form, "spend_amount", 32),
    }
    errors: dict[str, str] = {}
    channel_id = day = amount_fen = None
    try:
        channel_id = parse_int(values["spend_channel_id"])
    except ValueError:
        errors["spend_channel_id"] = t("field.missing")
    try:
        day = date.fromisoformat(values["spend_day"])
    except ValueError:
        errors["spend_day"] = t("field.date")
    try:
        amount_fen = parse_yuan(values["spend_amount"])
    except ValueError as exc:
        errors["spend_amount"] = t(money_error(values["spend_amount"], exc))
    status = 422
    if not errors and channel_id is not None and day is not None and amount_fen is not None:
        outcome = base.save(
            request,
            session,
            lambda: service.upsert_spend(
                session,
                actor_id=user.principal.id,
                channel_id=channel_id,
                day=day,
                amount_fen=amount_fen,
                now=now,
            ),
            aliases={"amount_fen": "spend_amount"},
        )
        if not isinstance(outcome, base.Refusal):
            return base.redirect(f"{base.PREFIX}/channels?notice=spend_saved#spend")
        errors, status = outcome.errors, outcome.status
        if outcome.exc is not None and outcome.exc.code == "channel_not_found":
            errors = {"spend_channel_id": errors.pop("_form", outcome.text)}
    return _page(request, user, session, ctx, now, base.Feedback(errors, values, status))


Changes = dict[str, object]


def _edits(form: FormData) -> tuple[Changes, str]:
    """The inline edit form: name, group and note."""
    changes: Changes = {
        "name": text_field(form, "name", 200),
        "group": text_field(form, "group", 40),
        "note": text_field(form, "note", 1000),
    }
    return changes, "saved"


def _activation(form: FormData) -> tuple[Changes, str]:
    """The activate / deactivate button."""
    active = text_field(form, "is_active", 4) == "1"
    return {"is_active": active}, "channel_activated" if active else "channel_deactivated"


def _change_route(path: str, read: Callable[[FormData], tuple[Changes, str]]) -> None:
    """``POST path``: a form that changes one channel; ``read`` gives the changes and
    the notice to show after saving them."""

    def change(
        channel_id: int,
        request: Request,
        form: FormDep,
        user: PostChannelWriter,
        session: SessionDep,
        ctx: CtxDep,
        now: NowDep,
    ) -> Response:
        changes, notice = read(form)
        prefix = f"ch-{channel_id}-"
        outcome = base.submit(
            request,
            session,
            ChannelUpdate,
            changes,
            lambda body: service.update_channel(
                session,
                actor_id=user.principal.id,
                channel_id=channel_id,
                changes=body.model_dump(exclude_unset=True),
                now=now,
            ),
            name_for=lambda loc: prefix + str(loc[0]),
            aliases={"group": prefix + "group"},
        )
        return base.settle(
            outcome,
            f"{base.PREFIX}/channels?notice={notice}",
            lambda refusal: _page(request, user, session, ctx, now, refusal.shown()),
        )

    router.add_api_route(path, change, methods=["POST"], name=read.__name__.strip("_"))


_change_route("/channels/{channel_id}", _edits)
_change_route("/channels/{channel_id}/active", _activation)
