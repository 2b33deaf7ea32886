"""The category page: the tree, a form to add a category, and inline edits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError

from siyu.catalog import service
from siyu.catalog.schemas import CategoryCreate, CategoryUpdate
from siyu.errors import DomainError
from siyu.identity.rules import Permission
from siyu.web.console.base import (
    PREFIX,
    ConsoleUser,
    domain_field_errors,
    pydantic_field_errors,
    redirect,
    render,
    request_locale,
)
from siyu.web.console.forms import parse_int
from siyu.web.console.security import FormDep, may, may_post, text_field
from siyu.web.deps import NowDep, Session, SessionDep
from siyu.web.i18n import translator

router = APIRouter(prefix=PREFIX, include_in_schema=False)

Reader = Annotated[ConsoleUser, Depends(may(Permission.catalog_read))]
PostWriter = Annotated[ConsoleUser, Depends(may_post(Permission.catalog_write))]


def _rows(
    nodes: list[service.CategoryNode], depth: int = 0
) -> list[tuple[int, service.CategoryNode]]:
    rows: list[tuple[int, service.CategoryNode]] = []
    for node in nodes:
        rows.append((depth, node))
        rows.extend(_rows(node.children, depth + 1))
    return rows


def _page(
    request: Request,
    user: ConsoleUser,
    session: Session,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    with session.begin():
        rows = _rows(service.category_tree(session, include_inactive=True))
    return render(
        request,
        "categories.html",
        user=user,
        active="categories",
        status=status,
        rows=rows,
        errors=errors or {},
        values=values or {},
    )


@router.get("/categories")
def category_page(request: Request, user: Reader, session: SessionDep) -> Response:
    return _page(request, user, session)


def _int_or_none(text: str) -> int | None:
    try:
        return parse_int(text) if text else None
    except ValueError:
        return -1  # never an id: the service answers "not found" next to the field


@router.post("/categories")
def create_category(
    request: Request, form: FormDep, user: PostWriter, session: SessionDep, now: NowDep
) -> Response:
    locale = request_locale(request)
    t = translator("console", locale)
    values = {k: text_field(form, k, 200) for k in ("name", "parent_id", "sort_order")}
    try:
        body = CategoryCreate.model_validate(
            {
                "name": values["name"],
                "parent_id": _int_or_none(values["parent_id"]),
                "sort_order": values["sort_order"] or "0",
            }
        )
        with session.begin():
            service.create_category(
                session,
                actor_id=user.principal.id,
                name=body.name,
                parent_id=body.parent_id,
                sort_order=body.sort_order,
                now=now,
            )
    except ValidationError as exc:
        errors = pydantic_field_errors(t, locale, exc.errors(), lambda loc: str(loc[0]))
        return _page(request, user, session, errors=errors, values=values, status=422)
    except DomainError as exc:
        errors = domain_field_errors(t, locale, exc)
        return _page(request, user, session, errors=errors, values=values, status=exc.http_status)
    return redirect(f"{PREFIX}/categories?notice=category_created")


@router.post("/categories/{category_id}")
def update_category(
    category_id: int,
    request: Request,
    form: FormDep,
    user: PostWriter,
    session: SessionDep,
    now: NowDep,
) -> Response:
    locale = request_locale(request)
    t = translator("console", locale)
    prefix = f"cat-{category_id}-"
    try:
        body = CategoryUpdate.model_validate(
            {
                "name": text_field(form, "name", 200),
                "sort_order": text_field(form, "sort_order", 16) or "0",
                "is_active": text_field(form, "is_active", 4) == "1",
            }
        )
        with session.begin():
            service.update_category(
                session,
                actor_id=user.principal.id,
                category_id=category_id,
                changes=body.model_dump(exclude_unset=True),
                now=now,
            )
    except ValidationError as exc:
        errors = pydantic_field_errors(t, locale, exc.errors(), lambda loc: prefix + str(loc[0]))
        return _page(request, user, session, errors=errors, status=422)
    except DomainError as exc:
        errors = domain_field_errors(t, locale, exc)
        return _page(request, user, session, errors=errors, status=exc.http_status)
    return redirect(f"{PREFIX}/categories?notice=saved")


@router.post("/categories/{category_id}/delete")
def delete_category(
    category_id: int, request: Request, user: PostWriter, session: SessionDep, now: NowDep
) -> Response:
    """Delete an unused category; one in use stays, and the page says what holds it."""
    locale = request_locale(request)
    t = translator("console", locale)
    try:
        with session.begin():
            service.delete_category(
                session, actor_id=user.principal.id, category_id=category_id, now=now
            )
    except DomainError as exc:
        errors = domain_field_errors(t, locale, exc)
        return _page(request, user, session, errors=errors, status=exc.http_status)
    return redirect(f"{PREFIX}/categories?notice=category_deleted")
