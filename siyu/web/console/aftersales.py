"""The after-sales queue: approve (refund) or reject with a reason."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response

from siyu.aftersale import service
from siyu.aftersale.rules import AfterSaleStatus
from siyu.aftersale.schemas import AfterSaleReject
from siyu.payment.provider import ProviderUnavailable
from siyu.payment.refunds import submit_refund
from siyu.web.console import base
from siyu.web.console.security import (
    AftersaleDecider,
    AftersaleReader,
    FormDep,
    PostAftersaleDecider,
    text_field,
)
from siyu.web.deps import CtxDep, NowDep, Session, SessionDep
from siyu.web.i18n import format_money, translator

log = logging.getLogger(__name__)

router = APIRouter(prefix=base.PREFIX, include_in_schema=False)

QUEUE_SIZE = 100


def _queue_page(
    request: Request,
    user: base.ConsoleUser,
    session: Session,
    *,
    status_filter: str,
    shown: base.Feedback = base.Feedback(),
) -> Response:
    chosen = AfterSaleStatus(status_filter) if status_filter in set(AfterSaleStatus) else None
    with session.begin():
        rows = service.list_aftersales(session, status=chosen, limit=QUEUE_SIZE)
        order_nos = service.order_numbers(session, sorted({a.order_id for a in rows}))
        return base.render(
            request,
            "aftersales.html",
            user=user,
            active="aftersales",
            shown=shown,
            rows=rows,
            order_nos=order_nos,
            status_filter=chosen.value if chosen else "",
            statuses=list(AfterSaleStatus),
        )


@router.get("/aftersales")
def queue(request: Request, user: AftersaleReader, session: SessionDep) -> Response:
    status_filter = request.query_params.get("status", AfterSaleStatus.pending.value)
    return _queue_page(request, user, session, status_filter=status_filter)


def _back(form_status: str, notice: str) -> Response:
    query = f"status={form_status}&" if form_status in set(AfterSaleStatus) else "status=&"
    return base.redirect(f"{base.PREFIX}/aftersales?{query}notice={notice}")


def _confirm_page(
    request: Request,
    user: base.ConsoleUser,
    ask: service.RefundAsk,
    back_status: str,
    shown: base.Feedback = base.Feedback(),
) -> Response:
    t = translator(base.DOMAIN, base.request_locale(request))
    a = ask.aftersale
    return base.render(
        request,
        "confirm.html",
        user=user,
        active="aftersales",
        shown=shown,
        title=t("aftersale.confirm_title"),
        sentence=t(
            "aftersale.confirm_text",
            amount=format_money(a.refund_fen),
            shopper=ask.shopper_name,
            order_no=ask.order_no,
        ),
        hint=t("aftersale.confirm_hint"),
        action=f"{base.PREFIX}/aftersales/{a.id}/approve",
        fields={"back_status": back_status},
        confirm_label=t("aftersale.confirm_submit", amount=format_money(a.refund_fen)),
        back_href=f"{base.PREFIX}/aftersales?status={back_status}",
    )


@router.get("/aftersales/{aftersale_id}/approve")
def approve_confirm(
    aftersale_id: int, request: Request, user: AftersaleDecider, session: SessionDep
) -> Response:
    """The confirm step: how much is refunded to whom, for which order."""
    back_to = request.query_params.get("back_status", "")[:16]
    with session.begin():
        ask = service.refund_ask(session, aftersale_id)
        if ask.approved:
            return _back(back_to, "already_approved")
        return _confirm_page(request, user, ask, back_to)


@router.post("/aftersales/{aftersale_id}/approve")
def approve(
    aftersale_id: int,
    request: Request,
    form: FormDep,
    user: PostAftersaleDecider,
    ctx: CtxDep,
    session: SessionDep,
    now: NowDep,
) -> Response:
    """Approve, commit, then submit the refund (the refund timer retries a failure).
    Without ``confirmed`` the confirm step is shown; a request approved already (the
    same form posted twice) is not refunded again: the list says it was."""
    back_to = text_field(form, "back_status", 16)
    if text_field(form, "confirmed", 4) != "1":
        with session.begin():
            ask = service.refund_ask(session, aftersale_id)
            if not ask.approved:
                return _confirm_page(request, user, ask, back_to)

    def approve_now() -> tuple[str, str]:
        refund = service.approve_aftersale(
            session,
            actor_id=user.principal.id,
            aftersale_id=aftersale_id,
            provider=ctx.payment.name,
            now=now,
        )
        return refund.out_refund_no, refund.provider

    outcome = base.save(request, session, approve_now)
    if isinstance(outcome, base.Refusal):
        if outcome.exc is not None and outcome.exc.code == "aftersale_decided":
            with session.begin():
                if service.refund_ask(session, aftersale_id).approved:
                    return _back(back_to, "already_approved")
        errors = {f"aftersale-{aftersale_id}": outcome.text}
        shown = base.Feedback(errors, status=outcome.status)
        return _queue_page(request, user, session, status_filter=back_to, shown=shown)
    out_refund_no, provider_name = outcome
    try:
        with session.begin():
            submit_refund(
                session,
                ctx.provider(provider_name),
                ctx.lifecycle,
                out_refund_no=out_refund_no,
                now=now,
            )
    except ProviderUnavailable as exc:
        log.warning("refund %s not submitted yet (%s); the timer will retry", out_refund_no, exc)
        return _back(back_to, "approved_retrying")
    return _back(back_to, "approved")


@router.post("/aftersales/{aftersale_id}/reject")
def reject(
    aftersale_id: int,
    request: Request,
    form: FormDep,
    user: PostAftersaleDecider,
    session: SessionDep,
    now: NowDep,
) -> Response:
    back_to = text_field(form, "back_status", 16)
    reason = text_field(form, "reason", 400)
    name = f"reject-reason-{aftersale_id}"
    outcome = base.submit(
        request,
        session,
        AfterSaleReject,
        {"reason": reason},
        lambda body: service.reject_aftersale(
            session,
            actor_id=user.principal.id,
            aftersale_id=aftersale_id,
            reason=body.reason,
            now=now,
        ),
        name_for=lambda loc: name,
    )
    if isinstance(outcome, base.Refusal):
        errors = outcome.errors
        if outcome.exc is not None:
            key = name if "reason" in outcome.exc.fields else f"aftersale-{aftersale_id}"
            errors = {key: outcome.text}
        shown = base.Feedback(errors, {name: reason}, outcome.status)
        return _queue_page(request, user, session, status_filter=back_to, shown=shown)
    return _back(back_to, "rejected")
