"""Per-SKU actions on the product page: price, stock and availability. Each has its
own permission (support may see prices but not change them)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from siyu.catalog import service
from siyu.catalog.models import Sku
from siyu.catalog.schemas import SkuPrice, StockAdjust
from siyu.web.console import base
from siyu.web.console.catalog import product_done, typed_again
from siyu.web.console.forms import money_error, parse_int, parse_yuan
from siyu.web.console.security import (
    FormDep,
    PostCatalogWriter,
    PostPriceWriter,
    PostStockWriter,
    text_field,
)
from siyu.web.deps import NowDep, Session, SessionDep
from siyu.web.i18n import Translator, format_money, translator

router = APIRouter(prefix=base.PREFIX, include_in_schema=False)


def _sku_product_id(session: Session, sku_id: int) -> int:
    with session.begin():
        return service.get_sku(session, sku_id).product_id


def sku_label(t: Translator, sku: Sku) -> str:
    """「商品名 · 颜色：红」: which SKU a confirm step is about."""
    spec = t("common.semicolon").join(f"{k}{t('common.colon')}{v}" for k, v in sku.spec.items())
    return f"{sku.product.title} · {spec}" if spec else sku.product.title


def _confirm(
    request: Request,
    user: base.ConsoleUser,
    session: Session,
    sku_id: int,
    kind: str,
    sentence: Callable[[Translator, Sku], str],
    fields: dict[str, str],
    changed: bool = False,
) -> Response:
    """The confirm step of a price or stock change, saying old → new; ``changed``: the
    value moved since the operator last confirmed, so they are asked again."""
    t = translator(base.DOMAIN, base.request_locale(request))
    with session.begin():
        sku = service.get_sku(session, sku_id)
        return base.render(
            request,
            "confirm.html",
            user=user,
            active="products",
            shown=base.Feedback(
                {"_form": t(f"sku.{kind}_changed")} if changed else {},
                status=409 if changed else 200,
            ),
            title=t(f"sku.confirm_{kind}_title"),
            sentence=sentence(t, sku),
            hint=t(f"sku.confirm_{kind}_hint"),
            action=f"{base.PREFIX}/skus/{sku_id}/{kind}",
            fields=fields,
            confirm_label=t(f"sku.confirm_{kind}_submit"),
            back_href=f"{base.PREFIX}/products/{sku.product_id}",
        )


def _current(session: Session, sku_id: int) -> Sku:
    with session.begin():
        sku = service.get_sku(session, sku_id)
        session.expunge(sku)
        return sku


@router.post("/skus/{sku_id}/price")
def set_price(
    sku_id: int,
    request: Request,
    form: FormDep,
    user: PostPriceWriter,
    session: SessionDep,
    now: NowDep,
) -> Response:
    product_id = _sku_product_id(session, sku_id)
    name = f"sku-{sku_id}-price"
    text = text_field(form, "price", 32)
    try:
        body = SkuPrice(price_fen=parse_yuan(text))
    except (ValueError, ValidationError) as exc:
        why = money_error(text, exc)
        return typed_again(request, user, session, product_id, {name: why}, {name: text})
    new_fen = body.price_fen
    expected = _maybe_int(text_field(form, "from_fen", 16))
    if text_field(form, "confirmed", 4) != "1" or expected is None:
        if _current(session, sku_id).price_fen == new_fen:
            return base.redirect(f"{base.PREFIX}/products/{product_id}?notice=price_unchanged")
        return _price_confirm(request, user, session, sku_id, text)
    outcome = base.save(
        request,
        session,
        lambda: service.set_sku_price(
            session,
            actor_id=user.principal.id,
            sku_id=sku_id,
            price_fen=new_fen,
            now=now,
            expected_fen=expected,
        ),
        aliases=lambda field: name,
    )
    if _refused(outcome, "price_changed"):
        if _current(session, sku_id).price_fen == new_fen:  # the same form posted again
            return base.redirect(f"{base.PREFIX}/products/{product_id}?notice=price_already")
        return _price_confirm(request, user, session, sku_id, text, changed=True)
    return product_done(request, user, session, product_id, outcome, "price_saved")


def _maybe_int(text: str) -> int | None:
    try:
        return parse_int(text)
    except ValueError:
        return None


def _refused(outcome: object, code: str) -> bool:
    return (
        isinstance(outcome, base.Refusal) and outcome.exc is not None and outcome.exc.code == code
    )


def _price_confirm(
    request: Request,
    user: base.ConsoleUser,
    session: Session,
    sku_id: int,
    text: str,
    changed: bool = False,
) -> Response:
    new_fen = parse_yuan(text)
    old_fen = _current(session, sku_id).price_fen
    return _confirm(
        request,
        user,
        session,
        sku_id,
        "price",
        lambda t, sku: t(
            "sku.confirm_price_text",
            sku=sku_label(t, sku),
            old=format_money(old_fen),
            new=format_money(new_fen),
        ),
        {"price": text, "from_fen": str(old_fen)},
        changed,
    )


def _stock_confirm(
    request: Request,
    user: base.ConsoleUser,
    session: Session,
    sku_id: int,
    delta: int,
    reason: str,
    changed: bool = False,
) -> Response:
    old = _current(session, sku_id).stock
    return _confirm(
        request,
        user,
        session,
        sku_id,
        "stock",
        lambda t, sku: t(
            "sku.confirm_stock_text",
            sku=sku_label(t, sku),
            old=old,
            new=old + delta,
            delta=f"{delta:+d}",
        ),
        {"delta": str(delta), "reason": reason, "from_stock": str(old)},
        changed,
    )


@router.post("/skus/{sku_id}/stock")
def adjust_stock(
    sku_id: int,
    request: Request,
    form: FormDep,
    user: PostStockWriter,
    session: SessionDep,
    now: NowDep,
) -> Response:
    product_id = _sku_product_id(session, sku_id)
    name = f"sku-{sku_id}-delta"
    text = text_field(form, "delta", 16)
    values = {name: text, f"sku-{sku_id}-reason": text_field(form, "reason", 100)}
    try:
        body = StockAdjust(delta=parse_int(text), reason=text_field(form, "reason", 200))
    except (ValueError, ValidationError) as exc:
        message_id = "field.int_parsing"
        if isinstance(exc, ValidationError):
            locs = {str(e["loc"][0]) for e in exc.errors() if e.get("loc")}
            message_id = "field.reason_too_long" if locs == {"reason"} else "field.delta"
        return typed_again(request, user, session, product_id, {name: message_id}, values)
    expected = _maybe_int(text_field(form, "from_stock", 16))
    if text_field(form, "confirmed", 4) != "1" or expected is None:
        if body.delta == 0:
            return base.redirect(f"{base.PREFIX}/products/{product_id}?notice=stock_unchanged")
        if _current(session, sku_id).stock + body.delta >= 0:
            return _stock_confirm(request, user, session, sku_id, body.delta, body.reason)
        expected = None  # removing more than there is: the refusal says so at once
    outcome = base.save(
        request,
        session,
        lambda: service.adjust_stock(
            session,
            actor_id=user.principal.id,
            sku_id=sku_id,
            delta=body.delta,
            reason=body.reason,
            now=now,
            expected=expected,
        ),
        aliases=lambda field: name,
    )
    if _refused(outcome, "stock_changed"):
        if expected is not None and _current(session, sku_id).stock == expected + body.delta:
            return base.redirect(f"{base.PREFIX}/products/{product_id}?notice=stock_already")
        return _stock_confirm(request, user, session, sku_id, body.delta, body.reason, changed=True)
    return product_done(request, user, session, product_id, outcome, "stock_saved", values)


@router.post("/skus/{sku_id}/active")
def set_sku_active(
    sku_id: int, form: FormDep, user: PostCatalogWriter, session: SessionDep, now: NowDep
) -> Response:
    active = text_field(form, "is_active", 4) == "1"
    with session.begin():
        sku = service.update_sku(
            session,
            actor_id=user.principal.id,
            sku_id=sku_id,
            changes={"is_active": active},
            now=now,
        )
        product_id = sku.product_id
    return base.redirect(f"{base.PREFIX}/products/{product_id}?notice=saved")
