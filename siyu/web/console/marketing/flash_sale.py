"""Flash sales (秒杀): the session list, the create/edit form with its items
(``flash_sale_forms.py``), and the session board — for each item the units left as the
database and as the gate count them, reserved (placed, not paid), sold (paid),
released (cancelled or timed out before payment), buyers, and the gate's requests,
refusals (sold out, over the limit) and rate-limited requests — refreshed every few
seconds while the session is on, with the last reconciliation and a button to run one.

The waiting room (排队中) turns requests away before the gate counts them: those are
not counted. With the SQL gate (no Redis) the gate's figures are this process's since
it started, and the gate keeps no units of its own ("—").

Routes: ``GET /console/flash-sales``; ``GET|POST /console/flash-sales/new``;
``GET|POST /console/flash-sales/{id}``; ``GET /console/flash-sales/{id}/board``;
``POST /console/flash-sales/{id}/reconcile`` (``fix`` = 1: set the gate to the
database's counts).

Stable selectors: ``a#new-flash-sale``; rows ``tr[data-testid=flash-row]`` (``data-id``,
``data-phase``). Form ``form#flash-form``: ``#name``, ``#starts_at``, ``#ends_at``,
``#status``, ``#payment_timeout_minutes``, item row N ``#iN_sku`` (new rows),
``#iN_price`` (yuan), ``#iN_quantity``, ``#iN_limit``; ``button#flash-submit``. Board:
``tr[data-testid=board-item]`` (``data-id``) with ``td[data-testid=board-<key>]``
(``data-value``) for quantity, units_left, gate_units_left, reserved, sold, released,
buyers, gate_requests, refusals, rate_limited; ``[data-testid=reconciliation]``
(``data-clean``); ``button#reconcile``, ``button#reconcile-fix``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from siyu.fields import MAX_ID
from siyu.flash_sale import operator, service
from siyu.flash_sale.rules import Phase, SessionStatus, phase
from siyu.web.console.base import (
    ConsoleUser,
    Feedback,
    Refusal,
    redirect,
    render,
    request_locale,
    save,
)
from siyu.web.console.marketing.flash_sale_forms import (
    blank_values,
    checked_bodies,
    read_session_form,
    row_count,
    session_values,
)
from siyu.web.console.marketing.forms import PostWriter, Reader, Writer, marketing_text
from siyu.web.console.security import FormDep, text_field
from siyu.web.deps import CtxDep, NowDep, Session, SessionDep
from siyu.web.i18n import translator

router = APIRouter(prefix="/console/flash-sales", include_in_schema=False)
SessionId = Annotated[int, Path(ge=1, le=MAX_ID)]
BASE = "/console/flash-sales"
PHASE_CLASS = {"upcoming": "pending", "running": "on_sale", "ended": "cancelled",
               "disabled": "off_sale"}  # fmt: skip
REFRESH_SECONDS = 5
# The service's field → where the form shows it (an item's problem: under the items).
ALIASES = {"ends_at": "ends_at", "sale_price_fen": "items", "sku_id": "items"}


@router.get("")
def session_list(request: Request, user: Reader, session: SessionDep, now: NowDep) -> Response:
    with session.begin():
        rows = service.list_sessions(session)
        items = {fs.id: service.items_of(session, fs.id) for fs in rows}
        return render(
            request,
            "flash_sales.html",
            user=user,
            active="flash_sale",
            sessions=rows,
            items=items,
            phases={fs.id: phase(fs.status, fs.starts_at, fs.ends_at, now) for fs in rows},
            phase_class=PHASE_CLASS,
        )


def session_page(
    request: Request,
    user: ConsoleUser,
    session: Session,
    session_id: int | None,
    now: datetime,
    shown: Feedback | None = None,
) -> Response:
    with session.begin():
        fs = service.get_session(session, session_id) if session_id else None
        items = service.items_of(session, fs.id) if fs else []
        values = session_values(fs, items) if fs else blank_values(now)
        shown = shown or Feedback(values=values)
        return render(
            request,
            "flash_sale_edit.html",
            user=user,
            active="flash_sale",
            shown=shown,
            flash=fs,
            items={str(v.item.id): v for v in items},
            phase=phase(fs.status, fs.starts_at, fs.ends_at, now) if fs else None,
            phase_class=PHASE_CLASS,
            rows=range(1, row_count(dict(shown.values)) + 1),
            statuses=list(SessionStatus),
        )


def save_session_view(
    request: Request,
    form: FormData,
    user: ConsoleUser,
    session: Session,
    ctx: Any,
    now: datetime,
    session_id: int | None,
) -> Response:
    locale = request_locale(request)
    t = translator("console", locale)
    stored: dict[int, int] = {}
    if session_id is not None:
        with session.begin():
            stored = {v.item.id: v.item.sku_id for v in service.items_of(session, session_id)}
            service.get_session(session, session_id)
    values, ids, body, rows = read_session_form(form, stored)
    checked, errors = checked_bodies(t, locale, ids, body, rows)
    if checked is None:
        shown = Feedback(errors, values, 422)
        return session_page(request, user, session, session_id, now, shown)
    session_values_, items = checked
    outcome = save(
        request,
        session,
        lambda: operator.save_session(
            session, session_values_, items=items, now=now, actor_id=user.principal.id,
            session_id=session_id,
        ).id,
        aliases=ALIASES,
        explain=marketing_text,
    )  # fmt: skip
    if isinstance(outcome, Refusal):
        return session_page(request, user, session, session_id, now, outcome.shown(values))
    for item_id in stored:  # the window or the units changed: the gate loads them again
        ctx.flash_gate.forget(item_id)
    if session_id is None:
        return redirect(f"{BASE}/{outcome}?notice=flash_sale_created")
    return redirect(f"{BASE}/{session_id}?notice=saved")


@router.get("/new")
def new_session(request: Request, user: Writer, session: SessionDep, now: NowDep) -> Response:
    return session_page(request, user, session, None, now)


@router.post("/new")
def create_session(
    request: Request, form: FormDep, user: PostWriter, session: SessionDep, ctx: CtxDep,
    now: NowDep,
) -> Response:  # fmt: skip
    return save_session_view(request, form, user, session, ctx, now, None)


@router.get("/{session_id}")
def show_session(
    session_id: SessionId, request: Request, user: Reader, session: SessionDep, now: NowDep
) -> Response:
    return session_page(request, user, session, session_id, now)


@router.post("/{session_id}")
def update_session(
    session_id: SessionId, request: Request, form: FormDep, user: PostWriter,
    session: SessionDep, ctx: CtxDep, now: NowDep,
) -> Response:  # fmt: skip
    return save_session_view(request, form, user, session, ctx, now, session_id)


def board_page(
    request: Request,
    user: ConsoleUser,
    session: Session,
    ctx: Any,
    session_id: int,
    now: datetime,
    shown: Feedback | None = None,
) -> Response:
    with session.begin():
        fs = service.get_session(session, session_id)
        board = service.board(session, ctx.flash_gate, session_id, now)
        released = operator.released_units(session, session_id)
        gate_left = operator.gate_units_left(ctx.flash_gate, [r["item_id"] for r in board["items"]])
        for row in board["items"]:
            row["released"] = released.get(row["item_id"], 0)
            row["gate_units_left"] = gate_left[row["item_id"]]
        board["totals"]["released"] = sum(released.values())
        current = board["phase"]
        return render(
            request,
            "flash_sale_board.html",
            user=user,
            active="flash_sale",
            shown=shown,
            flash=fs,
            board=board,
            phase=current,
            phase_class=PHASE_CLASS,
            refresh=REFRESH_SECONDS if current in (Phase.running, Phase.upcoming) else None,
        )


@router.get("/{session_id}/board")
def session_board(
    session_id: SessionId, request: Request, user: Reader, session: SessionDep, ctx: CtxDep,
    now: NowDep,
) -> Response:  # fmt: skip
    return board_page(request, user, session, ctx, session_id, now)


@router.post("/{session_id}/reconcile")
def reconcile(
    session_id: SessionId, request: Request, form: FormDep, user: PostWriter,
    session: SessionDep, ctx: CtxDep, now: NowDep,
) -> Response:  # fmt: skip
    fix = text_field(form, "fix", 4) == "1"
    outcome = save(
        request,
        session,
        lambda: operator.reconcile(
            session, ctx.flash_gate, session_id, fix=fix, now=now, actor_id=user.principal.id
        ),
        explain=marketing_text,
    )
    if isinstance(outcome, Refusal):
        return board_page(request, user, session, ctx, session_id, now, outcome.shown())
    return redirect(f"{BASE}/{session_id}/board?notice=flash_sale_reconciled")
