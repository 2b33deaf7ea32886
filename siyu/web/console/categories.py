"""The category page: the tree, a form to add a category, and inline edits."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from siyu.catalog import service
from siyu.catalog.schemas import CategoryCreate, CategoryUpdate
from siyu.web.console import base
from siyu.web.console.forms import parse_int
from siyu.web.console.security import (
    CatalogReader,
    FormDep,
    PostCatalogWriter,
    text_field,
)
from siyu.web.deps import NowDep, Session, SessionDep

router = APIRouter(prefix=base.PREFIX, include_in_schema=False)


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
    user: base.ConsoleUser,
    session: Session,
    shown: base.Feedback = base.Feedback(),
) -> Response:
    with session.begin():
        rows = _rows(service.category_tree(session, include_inactive=True))
    return base.render(
        request, "categories.html", user=user, active="categories", shown=shown, rows=rows
    )


@router.get("/categories")
def category_page(request: Request, user: CatalogReader, session: SessionDep) -> Response:
    return _page(request, user, session)


def _int_or_none(text: str) -> int | None:
    try:
        return parse_int(text) if text else None
    except ValueError:
        return -1  # never an id: the service answers "not found" next to the field


@router.post("/categories")
def create_category(
    request: Request, form: FormDep, user: PostCatalogWriter, session: SessionDep, now: NowDep
) -> Response:
    values = {k: text_field(form, k, 200) for k in ("name", "parent_id", "sort_order")}
    data = {
        "name": values["name"],
        "parent_id": _int_or_none(values["parent_id"]),
        "sort_order": values["sort_order"] or "0",
    }
    outcome = base.submit(
        request,
        session,
        CategoryCreate,
        data,
        lambda body: service.create_category(
            session,
            actor_id=user.principal.id,
            name=body.name,
            parent_id=body.parent_id,
            sort_order=body.sort_order,
            now=now,
        ),
    )
    return base.settle(
        outcome,
        f"{base.PREFIX}/categories?notice=category_created",
        lambda refusal: _page(request, user, session, refusal.shown(values)),
    )


@router.post("/categories/{category_id}")
def update_category(
    category_id: int,
    request: Request,
    form: FormDep,
    user: PostCatalogWriter,
    session: SessionDep,
    now: NowDep,
) -> Response:
    prefix = f"cat-{category_id}-"
    data = {
        "name": text_field(form, "name", 200),
        "sort_order": text_field(form, "sort_order", 16) or "0",
        "is_active": text_field(form, "is_active", 4) == "1",
    }
    outcome = base.submit(
        request,
        session,
        CategoryUpdate,
        data,
        lambda body: service.update_category(
            session,
            actor_id=user.principal.id,
            category_id=category_id,
            changes=body.model_dump(exclude_unset=True),
            now=now,
        ),
        name_for=lambda loc: prefix + str(loc[0]),
    )
    return _done(request, user, session, outcome, "saved")


@router.post("/categories/{category_id}/delete")
def delete_category(
    category_id: int, request: Request, user: PostCatalogWriter, session: SessionDep, now: NowDep
) -> Response:
    """Delete an unused category; one in use stays, and the page says what holds it."""
    outcome = base.save(
        request,
        session,
        lambda: service.delete_category(
            session, actor_id=user.principal.id, category_id=category_id, now=now
        ),
    )
    return _done(request, user, session, outcome, "category_deleted")


def _done(
    request: Request, user: base.ConsoleUser, session: Session, outcome: object, notice: str
) -> Response:
    """Back to the list with ``notice``, or the page again with the refusal's words."""
    return base.settle(
        outcome,
        f"{base.PREFIX}/categories?notice={notice}",
        lambda refusal: _page(request, user, session, refusal.shown()),
    )
