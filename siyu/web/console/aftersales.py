"""The after-sales queue: approve (refund) or reject with a reason."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from siyu.aftersale import service
from siyu.aftersale.rules import AfterSaleStatus
from siyu.aftersale.schemas import AfterSaleReject
from siyu.errors import DomainError
from siyu.identity.rules import Permission
from siyu.payment.provider import ProviderUnavailable
from siyu.payment.refunds import submit_refund
from siyu.web.console.base import (
    PREFIX,
    ConsoleUser,
    domain_field_errors,
    pydantic_field_errors,
    redirect,
    render,
    request_locale,
)
from siyu.web.console.security import FormDep, may, may_post, text_field
from siyu.web.deps import CtxDep, NowDep, Session, SessionDep
from siyu.web.i18n import translator

log = logging.getLogger(__name__)

router = APIRouter(prefix=PREFIX, include_in_schema=False)

Reader = Annotated[ConsoleUser, Depends(may(Permission.aftersale_read))]
Decider = Annotated[ConsoleUser, Depends(may_post(Permission.aftersale_decide))]
QUEUE_SIZE = 100


def _queue_page(
    request: Request,
    user: ConsoleUser,
    session: Session,
    *,
    status_filter: str,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    chosen = AfterSaleStatus(status_filter) if status_filter in set(AfterSaleStatus) else None
    with session.begin():
        rows = service.list_aftersales(session, status=chosen, limit=QUEUE_SIZE)
        return render(
            request,
            "aftersales.html",
            user=user,
            active="aftersales",
            status=status,
            rows=rows,
            status_filter=chosen.value if chosen else "",
            statuses=list(AfterSaleStatus),
            errors=errors or {},
            values=values or {},
        )


@router.get("/aftersales")
def queue(request: Request, user: Reader, session: SessionDep) -> Response:
    status_filter = request.query_params.get("status", AfterSaleStatus.pending.value)
    return _queue_page(request, user, session, status_filter=status_filter)


def _back(form_status: str, notice: str) -> Response:
    query = f"status={form_status}&" if form_status in set(AfterSaleStatus) else "status=&"
    return redirect(f"{PREFIX}/aftersales?{query}notice={notice}")


@router.post("/aftersales/{aftersale_id}/approve")
def approve(
    aftersale_id: int,
    request: Request,
    form: FormDep,
    user: Decider,
    ctx: CtxDep,
    session: SessionDep,
    now: NowDep,
) -> Response:
    """Approve, commit, then submit the refund (the refund timer retries a failure)."""
    back_to = text_field(form, "back_status", 16)
    try:
        with session.begin():
            refund = service.approve_aftersale(
                session,
                actor_id=user.principal.id,
                aftersale_id=aftersale_id,
                provider=ctx.payment.name,
                now=now,
            )
            out_refund_no, provider_name = refund.out_refund_no, refund.provider
    except DomainError as exc:
        locale = request_locale(request)
        errors = domain_field_errors(translator("console", locale), locale, exc)
        errors = {f"aftersale-{aftersale_id}": errors.popitem()[1]}
        return _queue_page(
            request, user, session, status_filter=back_to, errors=errors, status=exc.http_status
        )
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
    user: Decider,
    session: SessionDep,
    now: NowDep,
) -> Response:
    locale = request_locale(request)
    t = translator("console", locale)
    back_to = text_field(form, "back_status", 16)
    reason = text_field(form, "reason", 400)
    name = f"reject-reason-{aftersale_id}"
    try:
        body = AfterSaleReject(reason=reason)
        with session.begin():
            service.reject_aftersale(
                session,
                actor_id=user.principal.id,
                aftersale_id=aftersale_id,
                reason=body.reason,
                now=now,
            )
    except ValidationError as exc:
        errors = pydantic_field_errors(t, locale, exc.errors(), lambda loc: name)
        return _queue_page(
            request,
            user,
            session,
            status_filter=back_to,
            errors=errors,
            values={name: reason},
            status=422,
        )
    except DomainError as exc:
        message = domain_field_errors(t, locale, exc).popitem()[1]
        key = name if "reason" in exc.fields else f"aftersale-{aftersale_id}"
        return _queue_page(
            request,
            user,
            session,
            status_filter=back_to,
            errors={key: message},
            values={name: reason},
            status=exc.http_status,
        )
    return _back(back_to, "rejected")
