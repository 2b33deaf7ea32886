"""Catalog pages: the product list, the new-product form with its SKU rows, and the
product page (details, on/off sale, per-SKU price, stock and availability)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from siyu.catalog import service
from siyu.catalog.media import (
    UPLOAD_MAX_BYTES,
    ImageRefused,
    prepare_product_image,
    product_image_url,
    store_product_image,
)
from siyu.catalog.rules import MAX_PAGE_SIZE, ProductRole, ProductStatus
from siyu.catalog.schemas import ProductCreate, ProductUpdate, SkuIn
from siyu.web.console import base
from siyu.web.console.forms import (
    SKU_FIELDS,
    ProductForm,
    SkuRow,
    product_field_for,
    product_payload,
    read_product_form,
    sku_payload,
)
from siyu.web.console.security import (
    CatalogReader,
    FormDep,
    PostCatalogWriter,
    PostCatalogWriterUpload,
    PostProductCreator,
    PostProductCreatorUpload,
    ProductCreator,
    UploadFormDep,
    text_field,
)
from siyu.web.deps import CtxDep, NowDep, Session, SessionDep
from siyu.web.i18n import translator

router = APIRouter(prefix=base.PREFIX, include_in_schema=False)


PRODUCT_ALIASES = {"skus": "skus", "sku_code": "skus", "spec": "skus"}


def _sku_draft(s: SkuIn) -> service.SkuDraft:
    return service.SkuDraft(
        spec=s.spec,
        price_fen=s.price_fen,
        stock=s.stock,
        original_price_fen=s.original_price_fen,
        cost_fen=s.cost_fen,
        image_url=s.image_url,
        sku_code=s.sku_code,
    )


def category_options(session: Session) -> list[tuple[int, str]]:
    """The category tree flattened for a <select>, children indented under parents."""
    options: list[tuple[int, str]] = []

    def walk(nodes: list[service.CategoryNode], depth: int) -> None:
        for node in nodes:
            options.append((node.id, "\u3000" * depth + node.name))
            walk(node.children, depth + 1)

    walk(service.category_tree(session, include_inactive=True), 0)
    return options


def translate_ids(request: Request, ids: dict[str, str]) -> dict[str, str]:
    t = translator("console", base.request_locale(request))
    return {name: t(message_id) for name, message_id in ids.items()}


# ---------------------------------------------------------------- uploaded images

IMAGE_FIELD = "image_files"
REFUSAL_STATUS = {"too_big": 413, "not_image": 415}


@dataclass
class Uploads:
    """The images a product form carried, ready to keep, or why one was refused (a
    message id for the ``image_files`` field and the response status)."""

    images: list[bytes]
    refused: str | None = None
    status: int = 200

    @property
    def urls(self) -> list[str]:
        return [product_image_url(data) for data in self.images]

    def keep(self, media_dir: Path) -> None:
        for data in self.images:
            store_product_image(media_dir, data)


def read_uploads(form: FormData) -> Uploads:
    """Every file in ``image_files`` checked and resized in memory; the first bad one
    refuses them all, so nothing is kept from a form that is shown again."""
    images: list[bytes] = []
    for item in form.getlist(IMAGE_FIELD):
        if not isinstance(item, UploadFile) or not item.filename:
            continue  # an empty file input
        try:
            images.append(prepare_product_image(item.file.read(UPLOAD_MAX_BYTES + 1)))
        except ImageRefused as refusal:
            return Uploads(
                [], f"field.image_{refusal.reason}", REFUSAL_STATUS.get(refusal.reason, 422)
            )
    return Uploads(images)


# ---------------------------------------------------------------- list


@router.get("/products")
def product_list(request: Request, user: CatalogReader, session: SessionDep) -> Response:
    params = request.query_params
    status = params.get("status", "")
    role = params.get("role", "")
    q = params.get("q", "").strip()[:50]
    query = service.ProductQuery(
        q=q or None,
        role=ProductRole(role) if role in set(ProductRole) else None,
        cursor=params.get("cursor") or None,
        limit=MAX_PAGE_SIZE,
        statuses=(ProductStatus(status),) if status in set(ProductStatus) else tuple(ProductStatus),
    )
    with session.begin():
        page = service.list_products(session, query)
        return base.render(
            request,
            "products.html",
            user=user,
            active="products",
            page=page,
            filters={"status": status, "role": role, "q": q},
            statuses=list(ProductStatus),
            roles=list(ProductRole),
        )


# ---------------------------------------------------------------- create


def _newproduct_page_response(
    request: Request,
    user: base.ConsoleUser,
    session: Session,
    pf: ProductForm,
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    with session.begin():
        categories = category_options(session)
    return base.render(
        request,
        "product_new.html",
        user=user,
        active="products",
        status=status,
        form=pf,
        errors=errors,
        categories=categories,
        roles=list(ProductRole),
    )


@router.get("/products/new")
def new_product_form(request: Request, user: ProductCreator, session: SessionDep) -> Response:
    blank = ProductForm(
        {"role": ProductRole.profit.value, "spec_name": ""},
        [SkuRow(0, {}), SkuRow(1, {})],
    )
    return _newproduct_page_response(request, user, session, blank, {})


@router.post("/products/new")
def create_product(
    request: Request,
    form: UploadFormDep,
    user: PostProductCreatorUpload,
    ctx: CtxDep,
    session: SessionDep,
    now: NowDep,
) -> Response:
    locale = base.request_locale(request)
    t = translator("console", locale)
    pf = read_product_form(form)
    uploads = read_uploads(form)
    if uploads.refused:
        pf.errors[IMAGE_FIELD] = uploads.refused
    payload = product_payload(pf, with_skus=True)
    payload["image_urls"] = [*payload["image_urls"], *uploads.urls]
    errors = translate_ids(request, pf.errors)
    try:
        body = ProductCreate.model_validate(payload)
    except ValidationError as exc:
        more = base.pydantic_field_errors(
            t, locale, exc.errors(), lambda loc: product_field_for(pf, loc)
        )
        errors = more | errors
    if errors:
        status = uploads.status if set(errors) == {IMAGE_FIELD} else 422
        return _newproduct_page_response(request, user, session, pf, errors, status)
    uploads.keep(ctx.settings.media_dir)
    outcome = base.save(
        request,
        session,
        lambda: (
            service.create_product(
                session,
                actor_id=user.principal.id,
                category_id=body.category_id,
                title=body.title,
                role=body.role,
                skus=[_sku_draft(s) for s in body.skus],
                subtitle=body.subtitle,
                description=body.description,
                image_urls=body.image_urls,
                now=now,
            ).id
        ),
        aliases=PRODUCT_ALIASES,
    )
    if isinstance(outcome, base.Refusal):
        return _newproduct_page_response(request, user, session, pf, outcome.errors, outcome.status)
    product_id = outcome
    return base.redirect(f"{base.PREFIX}/products/{product_id}?notice=product_created")


# ---------------------------------------------------------------- product page


def product_page_response(
    request: Request,
    user: base.ConsoleUser,
    session: Session,
    product_id: int,
    shown: base.Feedback = base.Feedback(),
) -> Response:
    with session.begin():
        product = service.get_product(session, product_id, on_sale_only=False)
        return base.render(
            request,
            "product_edit.html",
            user=user,
            active="products",
            shown=shown,
            product=product,
            categories=category_options(session),
            roles=list(ProductRole),
            add_row=SkuRow(0, {k: shown.values.get(f"skus-0-{k}", "") for k in SKU_FIELDS}),
        )


@router.get("/products/{product_id}")
def product_page(
    product_id: int, request: Request, user: CatalogReader, session: SessionDep
) -> Response:
    return product_page_response(request, user, session, product_id)


def product_done(
    request: Request,
    user: base.ConsoleUser,
    session: Session,
    product_id: int,
    outcome: object,
    notice: str,
    values: dict[str, Any] | None = None,
) -> Response:
    """Back to the product page with ``notice``, or the page again with the refusal's
    words (and what was typed, ``values``)."""
    return base.settle(
        outcome,
        f"{base.PREFIX}/products/{product_id}?notice={notice}",
        lambda refusal: product_page_response(
            request, user, session, product_id, refusal.shown(values)
        ),
    )


def typed_again(
    request: Request,
    user: base.ConsoleUser,
    session: Session,
    product_id: int,
    ids: dict[str, str],
    values: dict[str, Any],
) -> Response:
    """The product page again: what could not be read (message ids) and what was typed."""
    shown = base.Feedback(translate_ids(request, ids), values, 422)
    return product_page_response(request, user, session, product_id, shown)


@router.post("/products/{product_id}")
def update_product(
    product_id: int,
    request: Request,
    form: UploadFormDep,
    user: PostCatalogWriterUpload,
    ctx: CtxDep,
    session: SessionDep,
    now: NowDep,
) -> Response:
    pf = read_product_form(form)
    uploads = read_uploads(form)
    if uploads.refused:
        pf.errors[IMAGE_FIELD] = uploads.refused
    payload = product_payload(pf, with_skus=False)
    payload["image_urls"] = [*payload["image_urls"], *uploads.urls]
    if pf.errors:
        status = uploads.status if set(pf.errors) == {IMAGE_FIELD} else 422
        shown = base.Feedback(translate_ids(request, pf.errors), pf.values, status)
        return product_page_response(request, user, session, product_id, shown)
    if uploads.images:
        uploads.keep(ctx.settings.media_dir)
        pf.values["image_urls"] = "\n".join(payload["image_urls"])
    outcome = base.submit(
        request,
        session,
        ProductUpdate,
        payload,
        lambda body: service.update_product(
            session,
            actor_id=user.principal.id,
            product_id=product_id,
            changes=body.model_dump(exclude_unset=True),
            now=now,
        ),
    )
    return product_done(request, user, session, product_id, outcome, "saved", pf.values)


@router.post("/products/{product_id}/status")
def change_status(
    product_id: int,
    request: Request,
    form: FormDep,
    user: PostCatalogWriter,
    session: SessionDep,
    now: NowDep,
) -> Response:
    raw = text_field(form, "status", 16)
    if raw not in (ProductStatus.on_sale.value, ProductStatus.off_sale.value):
        return product_page_response(request, user, session, product_id, base.Feedback(status=422))
    outcome = base.save(
        request,
        session,
        lambda: service.set_product_status(
            session,
            actor_id=user.principal.id,
            product_id=product_id,
            status=ProductStatus(raw),
            now=now,
        ),
        aliases=lambda name: "status",
    )
    return product_done(request, user, session, product_id, outcome, raw)


@router.post("/products/{product_id}/skus")
def add_sku(
    product_id: int,
    request: Request,
    form: FormDep,
    user: PostProductCreator,
    session: SessionDep,
    now: NowDep,
) -> Response:
    pf = read_product_form(form)
    row = pf.rows[0] if pf.rows else SkuRow(0, {})
    pf.rows = [row]
    payload = sku_payload(row, pf.values["spec_name"], pf.errors)
    values = {f"skus-0-{k}": v for k, v in row.values.items()} | pf.values
    if pf.errors:
        return typed_again(request, user, session, product_id, pf.errors, values)

    def field_for(loc: tuple[Any, ...]) -> str:
        return product_field_for(pf, ("skus", 0, *loc))

    outcome = base.submit(
        request,
        session,
        SkuIn,
        payload,
        lambda body: service.add_sku(
            session,
            actor_id=user.principal.id,
            product_id=product_id,
            draft=_sku_draft(body),
            now=now,
        ),
        name_for=field_for,
        aliases=lambda name: field_for((name,)),
    )
    return product_done(request, user, session, product_id, outcome, "sku_added", values)
