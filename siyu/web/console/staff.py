"""Staff pages for owners: operator accounts and roles, and the audit log."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from siyu.identity import audit, audit_text
from siyu.identity import operators as operator_service
from siyu.identity.rules import ROLE_PERMISSIONS, Role
from siyu.identity.schemas import OperatorCreate
from siyu.web.console import base
from siyu.web.console.forms import parse_int
from siyu.web.console.security import (
    AuditReader,
    FormDep,
    OperatorManager,
    PostOperatorManager,
    text_field,
)
from siyu.web.deps import NowDep, Session, SessionDep
from siyu.web.i18n import translator

router = APIRouter(prefix=base.PREFIX, include_in_schema=False)

AUDIT_PAGE = 50


def _operators_page(
    request: Request,
    user: base.ConsoleUser,
    session: Session,
    shown: base.Feedback = base.Feedback(),
) -> Response:
    with session.begin():
        operators = operator_service.list_operators(session)
        return base.render(
            request,
            "operators.html",
            user=user,
            active="operators",
            shown=shown,
            operators=operators,
            roles=list(Role),
            role_permissions={r: sorted(p.value for p in ROLE_PERMISSIONS[r]) for r in Role},
        )


@router.get("/operators")
def operators_page(request: Request, user: OperatorManager, session: SessionDep) -> Response:
    return _operators_page(request, user, session)


@router.post("/operators")
def create_operator(
    request: Request, form: FormDep, user: PostOperatorManager, session: SessionDep, now: NowDep
) -> Response:
    values = {k: text_field(form, k, 200) for k in ("username", "display_name", "role")}
    password = form.get("password")
    outcome = base.submit(
        request,
        session,
        OperatorCreate,
        values | {"password": password if isinstance(password, str) else ""},
        lambda body: operator_service.create_operator(
            session,
            username=body.username,
            display_name=body.display_name,
            password=body.password,
            role=body.role,
            now=now,
            actor_id=user.principal.id,
        ),
    )
    return base.settle(
        outcome,
        f"{base.PREFIX}/operators?notice=operator_created",
        lambda refusal: _operators_page(request, user, session, refusal.shown(values)),
    )


@router.post("/operators/{operator_id}")
def update_operator(
    operator_id: int,
    request: Request,
    form: FormDep,
    user: PostOperatorManager,
    session: SessionDep,
    now: NowDep,
) -> Response:
    raw_role = text_field(form, "role", 16)
    outcome = base.save(
        request,
        session,
        lambda: operator_service.update_operator(
            session,
            actor_id=user.principal.id,
            operator_id=operator_id,
            role=Role(raw_role) if raw_role in set(Role) else None,
            is_active=text_field(form, "is_active", 4) == "1",
            display_name=None,
            now=now,
        ),
    )
    if isinstance(outcome, base.Refusal):
        errors = {f"operator-{operator_id}": outcome.text}
        return _operators_page(request, user, session, base.Feedback(errors, status=outcome.status))
    return base.redirect(f"{base.PREFIX}/operators?notice=saved")


@router.get("/audit")
def audit_page(request: Request, user: AuditReader, session: SessionDep) -> Response:
    params = request.query_params
    filters = {
        k: params.get(k, "").strip()[:64] for k in ("target_type", "target_id", "operator_id")
    }

    def number(text: str) -> int | None:
        try:
            return parse_int(text) if text else None
        except ValueError:
            return None

    operator_id = number(filters["operator_id"])
    sort = "at_asc" if params.get("sort") == "at_asc" else "at_desc"
    page = max(number(params.get("page", "")) or 1, 1)
    with session.begin():
        rows = audit.list_audit_logs(
            session,
            target_type=filters["target_type"] or None,
            target_id=filters["target_id"] or None,
            operator_id=operator_id,
            limit=AUDIT_PAGE + 1,
            oldest_first=sort == "at_asc",
            offset=(page - 1) * AUDIT_PAGE,
        )
        names = {o.id: o.display_name for o in operator_service.list_operators(session)}
    more = len(rows) > AUDIT_PAGE
    rows = rows[:AUDIT_PAGE]
    locale = base.request_locale(request)
    t = translator("console", locale)
    errors = {}
    if filters["operator_id"] and operator_id is None:
        errors["operator_id"] = t("field.filter_ignored")
    return base.render(
        request,
        "audit.html",
        user=user,
        active="audit",
        rows=rows,
        names=names,
        filters=filters,
        errors=errors,
        sort=sort,
        query=urlencode({k: v for k, v in filters.items() if v}),
        next_page=page + 1 if more else None,
        action_label=lambda action: audit_text.action_label(action, locale),
        target_label=lambda target_type: audit_text.target_label(target_type, locale),
        target_choices=audit_text.target_choices(locale),
        describe=lambda r: audit_text.describe(r.action, r.before, r.after, locale),
    )
