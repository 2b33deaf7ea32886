"""A shopper's points (会员): search by id, phone or nickname; the shopper's tier card,
available, pending and soon-to-expire points, the ledger; and a manual adjustment
(points + or −, a reason required), made by the same service as
``POST /api/admin/shoppers/{id}/points/adjustments`` (``loyalty.service.adjust_points``:
never below zero, once per request id, audited as ``points.adjust``).

Reading needs ``marketing.read`` and ``shopper.read``; adjusting also
``marketing.write``.

Routes: ``GET /console/loyalty/members`` (``?q=``); ``GET /console/loyalty/members/{id}``
(``?before_id=`` pages the ledger); ``POST /console/loyalty/members/{id}/adjust``.

Stable selectors: ``form#member-search`` with ``#q``; result rows
``tr[data-testid=member-row]`` (``data-id``). Shopper page: ``[data-testid=tier-card]``
(``data-level``), ``[data-testid=points-available]`` / ``points-pending`` /
``points-expiring`` (``data-value``), ledger rows ``tr[data-testid=ledger-row]``
(``data-id``, ``data-delta``, ``data-kind``); ``form#adjust-form`` with ``#delta``,
``#reason``, ``button#adjust-submit``.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from siyu.errors import DomainError
from siyu.identity.rules import Permission
from siyu.identity.service import get_shopper, search_shoppers, shopper_labels
from siyu.loyalty import service as points
from siyu.loyalty.schemas import PointsAdjustment
from siyu.loyalty.tiers import program as tier_program
from siyu.loyalty.tiers import service as tier_service
from siyu.web.console.base import ConsoleUser, Feedback, redirect, render, request_locale
from siyu.web.console.marketing.loyalty_forms import problem_errors, schema_errors
from siyu.web.console.security import FormDep, may, may_post, text_field
from siyu.web.deps import CtxDep, NowDep, Session, SessionDep
from siyu.web.i18n import translator

router = APIRouter(prefix="/console/loyalty", include_in_schema=False)

MemberReader = Annotated[
    ConsoleUser, Depends(may(Permission.marketing_read, Permission.shopper_read))
]
PostAdjuster = Annotated[
    ConsoleUser,
    Depends(
        may_post(Permission.marketing_read, Permission.shopper_read, Permission.marketing_write)
    ),
]
LEDGER_PAGE = 50
HALVES = re.compile(r"\s*/\s+")  # "中文 / English", also "…（…）/ English"


def reason_words(reason: str, locale: str) -> str:
    """The operator's half of a bilingual ledger reason; a typed reason as it is."""
    parts = HALVES.split(reason, maxsplit=1)
    if len(parts) != 2:
        return reason
    return parts[0] if locale == "zh-CN" else parts[1]


HINTS = {
    "delta": "loyalty.members.err_delta",
    "reason": "loyalty.members.err_reason",
}
# points_insufficient names "points": the amount typed in the delta box
FIELD_OF = {"points": "delta"}


@router.get("/members")
def member_search(
    request: Request,
    user: MemberReader,
    session: SessionDep,
    ctx: CtxDep,
    q: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    with session.begin():
        if q.strip():
            ids = [s.id for s in search_shoppers(session, ctx.cipher, q)]
        else:
            ids = [h.shopper_id for h in points.recent_holders(session)]
        balances = points.balances_of(session, ids)
        levels = {i: tier_service.member_level(session, i)[0] for i in ids}
        program = tier_program.load_program(session)
        return render(
            request,
            "loyalty_members.html",
            user=user,
            active="members",
            q=q.strip(),
            ids=ids,
            labels=shopper_labels(session, ctx.cipher, ids),
            balances=balances,
            levels=levels,
            tiers=program.tiers,
        )


def member_page(
    request: Request,
    user: ConsoleUser,
    session: Session,
    ctx: CtxDep,
    shopper_id: int,
    now: datetime,
    before_id: int | None = None,
    shown: Feedback | None = None,
) -> Response:
    locale = request_locale(request)
    with session.begin():
        shopper = get_shopper(session, shopper_id)
        entries = points.points_history(session, shopper_id, limit=LEDGER_PAGE, before_id=before_id)
        card = tier_service.tier_card(session, shopper_id, now)
        return render(
            request,
            "loyalty_member.html",
            user=user,
            active="members",
            shown=shown or Feedback(values={"request_id": uuid.uuid4().hex}),
            shopper=shopper,
            label=shopper_labels(session, ctx.cipher, [shopper_id]).get(shopper_id, ""),
            summary=points.points_summary(session, shopper_id, now),
            card=card,
            tier=card.tiers[card.level],
            next_tier=card.tiers[card.next_level] if card.next_level is not None else None,
            entries=entries,
            reasons={e.id: reason_words(e.reason, locale) for e in entries},
            next_before_id=entries[-1].id if len(entries) == LEDGER_PAGE else None,
        )


@router.get("/members/{shopper_id}")
def member_ledger(
    shopper_id: int,
    request: Request,
    user: MemberReader,
    session: SessionDep,
    ctx: CtxDep,
    now: NowDep,
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    return member_page(request, user, session, ctx, shopper_id, now, before_id)


@router.post("/members/{shopper_id}/adjust")
def adjust(
    shopper_id: int,
    request: Request,
    form: FormDep,
    user: PostAdjuster,
    session: SessionDep,
    ctx: CtxDep,
    now: NowDep,
) -> Response:
    """A manual adjustment; a repeated form (same request id) changes nothing more."""
    locale = request_locale(request)
    t = translator("console", locale)
    values = {
        "delta": text_field(form, "delta", 16),
        "reason": text_field(form, "reason", 200),
        "request_id": text_field(form, "request_id", 64) or uuid.uuid4().hex,
    }
    errors: dict[str, str] = {}
    body: PointsAdjustment | None = None
    delta = values["delta"].replace("＋", "+").replace("－", "-").replace("−", "-")
    if not delta.lstrip("+-").isdigit() or len(delta) > 8:
        errors["delta"] = t("loyalty.members.err_delta")
    if not values["reason"]:
        errors["reason"] = t("loyalty.members.err_reason")
    if not errors:
        try:
            body = PointsAdjustment.model_validate(
                {
                    "delta": int(delta),
                    "reason": values["reason"],
                    "request_id": values["request_id"],
                }
            )
        except ValidationError as exc:
            errors = schema_errors(t, locale, list(exc.errors()), lambda loc: str(loc[0]))
    if body is None:
        shown = Feedback(errors, values, 422)
        return member_page(request, user, session, ctx, shopper_id, now, shown=shown)
    try:
        with session.begin():
            entry = points.adjust_points(
                session,
                ctx.points,
                operator_id=user.principal.id,
                shopper_id=shopper_id,
                delta=body.delta,
                reason=body.reason,
                key=f"{user.principal.id}:{body.request_id}",
                now=now,
            )
    except DomainError as exc:
        hints = HINTS | {"delta": HINTS["delta"] if exc.code == "bad_points" else ""}
        found = problem_errors(t, locale, exc, lambda name: FIELD_OF.get(name, name), hints)
        shown = Feedback(found, values, exc.http_status)
        return member_page(request, user, session, ctx, shopper_id, now, shown=shown)
    notice = "points_adjusted" if entry is not None else "points_adjust_repeated"
    return redirect(f"/console/loyalty/members/{shopper_id}?notice={notice}")
