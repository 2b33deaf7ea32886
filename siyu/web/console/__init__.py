"""The operations console (运营后台): server-rendered pages under /console.

Jinja2 templates, a little plain JavaScript (SKU add-row, confirmations) and plotly.js
served from the installed ``plotly`` package; no SPA toolchain, no CDN. Every action
calls the same service functions as /api/admin (which write the audit log); the
routes here only validate forms, own the transaction and render the result.

Stable selectors for browser tests (``#id`` or ``[data-testid=...]``):

- login (``/console/login``): ``form#login-form`` with ``#username``, ``#password``,
  ``button#login-submit``; a refusal shows ``#login-error``. Sign out: ``button#logout``.
- navigation: ``#nav-dashboard``, ``#nav-products``, ``#nav-categories``, ``#nav-orders``,
  ``#nav-aftersales``, ``#nav-operators``, ``#nav-audit`` (same names as ``data-testid``;
  only the entries the role may use). Language: ``#lang-en`` / ``#lang-zh-CN``. Flash
  message after an action: ``[data-testid=notice]``. Error pages: ``[data-testid=error-page]``
  (``data-status`` = HTTP status).
- categories (``/console/categories``): ``form#category-form`` with ``#name``,
  ``#parent_id``, ``#sort_order``, ``button#category-submit``.
- new product (``/console/products`` → ``a#new-product``): ``form#product-form`` with
  ``#title``, ``#subtitle``, ``#category_id`` (select), ``#role`` (traffic/profit/premium),
  ``#image_urls`` (one per line), ``#description``, ``#spec_name`` (e.g. 颜色). SKU rows are
  ``fieldset[data-testid=sku-row]``; row N (from 0; two rows are there at first) has
  ``#skus-N-spec`` (e.g. 红), ``#skus-N-price`` (yuan, e.g. 59.00), ``#skus-N-stock``,
  ``#skus-N-original_price``, ``#skus-N-sku_code``; ``button#add-sku-row`` appends row N+1.
  Submit: ``button#product-submit`` → the product page. A field's error is
  ``#err-<field name>`` (also ``[data-testid=error-<field name>]``).
- product page: ``[data-testid=product-status]`` (``data-status`` draft/on_sale/off_sale),
  ``button#put-on-sale``, ``button#take-off-sale``; SKU rows ``tr[data-testid=sku]``
  (``data-id``) with ``#sku-<id>-price`` + ``button#sku-<id>-price-save`` and
  ``#sku-<id>-delta`` + ``button#sku-<id>-stock-save``.
- orders: rows ``tr[data-testid=order-row]`` (``data-id``, ``data-status``) with the link
  ``a[data-testid=order-link]``; the order page has ``[data-testid=order-status]``
  (``data-status`` = raw status), ``form#ship-form`` with ``#carrier``, ``#tracking_no``,
  ``button#ship-submit`` (paid orders), ``button#cancel-order`` (unpaid orders), and the
  timeline ``[data-testid=timeline]`` (``li[data-event]``).
- after-sales (``/console/aftersales``, pending by default): rows
  ``tr[data-testid=aftersale-row]`` (``data-id``, ``data-status``), ``button#approve-<id>``,
  ``#reject-reason-<id>`` + ``button#reject-<id>``, ``[data-testid=aftersale-status]``.
- dashboard: ``[data-testid=metric-<key>-value]`` for visitors, new_shoppers, orders,
  gmv_fen, conversion, aov_fen, refund_rate; ``#trend-chart``.
- analytics (``/console/analytics/…``, see ``analytics/``): nav ``#nav-analytics_funnel``,
  ``#nav-analytics_retention``, ``#nav-analytics_rfm``, ``#nav-analytics_channels``,
  ``#nav-analytics_paths``, ``#nav-analytics_goals``. Funnel:
  ``form#funnel-form`` with ``#date_from``, ``#date_to``, ``#step-1``…``#step-6`` (selects),
  ``#window``, ``#window_unit``, ``#breakdown``, ``#prop_key``, ``#prop_value``,
  ``button#funnel-submit``; ``#funnel-chart``, ``tr[data-testid=funnel-step]`` (``data-step``,
  ``data-count``), ``a#dropoff-<k>`` → ``[data-testid=dropoff-persons]`` with
  ``li[data-testid=dropoff-person]`` and ``a#dropoff-csv-<k>``. Retention:
  ``form#retention-form`` (``#target_event``, ``#returning_event``, ``#retention_type``,
  ``#period``, ``#intervals``), ``[data-testid=retention-table]``, ``a#retention-csv``. RFM:
  ``form#rfm-form`` (``#as_of``, ``#segment``), ``[data-testid=rfm-segment-<segment>]``,
  ``tr[data-testid=rfm-customer]``, ``a#rfm-csv``. Channels: ``form#channels-form``
  (``#attribution``, ``#breakdown``), ``tr[data-testid=channel-row]`` (``data-channel``),
  ``a#channels-csv``. Paths: ``form#paths-form`` (``#start_page``, ``#end_page``,
  ``#step_limit``), ``#paths-chart`` (Sankey), ``tr[data-testid=path-link]``, ``a#paths-csv``.
  Goals: ``tr[data-testid=goal-<key>]``
  (``data-met``), ``form#goals-form`` with ``#<key>`` inputs and ``button#goals-submit``.
- channel codes (``/console/channels``, nav ``#nav-channels``): rows
  ``tr[data-testid=channel-item]`` (``data-id``, ``data-code``, ``data-active``) with the
  read-only ``#scene-<id>`` (``c=CODE``) and ``#url-<id>`` (storefront link); edit
  ``form#channel-edit-<id>`` with ``#ch-<id>-name``, ``#ch-<id>-group``, ``#ch-<id>-note``,
  ``button#ch-<id>-save``; ``button#ch-<id>-deactivate`` / ``#ch-<id>-activate``. New:
  ``form#channel-form`` with ``#code``, ``#name``, ``#group`` (select), ``#note``,
  ``button#channel-submit``. Spend: ``form#spend-form`` with ``#spend_channel_id``,
  ``#spend_day``, ``#spend_amount`` (yuan), ``button#spend-submit``; the last 14 days in
  ``[data-testid=spend-table]``: ``tr[data-testid=spend-row]`` (``data-code``),
  ``td[data-testid=spend-cell]`` (``data-day``, ``data-fen``), ``[data-testid=spend-total]``.
  ``a#channels-analytics`` links to the channel analytics.
- promotions (``/console/promotions``, nav ``#nav-promotions``) and coupons
  (``/console/coupons``, nav ``#nav-coupons``): see ``promotions.py`` and ``coupons.py``.
- group buys (``/console/group-buy``, nav ``#nav-group_buy``) and flash sales
  (``/console/flash-sales``, nav ``#nav-flash_sale``): see ``marketing/group_buy.py`` and
  ``marketing/flash_sale.py``; 活动效果 (``/console/analytics/plays``, nav
  ``#nav-analytics_plays``): see ``analytics/plays.py``.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from siyu.errors import DomainError, Unauthorized
from siyu.web.assets import asset_cache, asset_response
from siyu.web.console import (
    aftersales,
    analytics,
    auth,
    catalog,
    categories,
    channels,
    dashboard,
    marketing,
    orders,
    rehearsals,
    skus,
    staff,
)
from siyu.web.console.base import (
    PREFIX,
    STATIC_DIR,
    STATIC_FILES,
    ConsoleUser,
    error_text,
    is_console,
    redirect,
    render,
    request_locale,
)
from siyu.web.console.security import console_user
from siyu.web.deps import CONSOLE_COOKIE
from siyu.web.i18n import translator
from siyu.web.routing import include_grouped

log = logging.getLogger(__name__)


def plotly_path() -> Path:
    """plotly.js as shipped inside the ``plotly`` wheel: no CDN, no network."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


def install_console(app: FastAPI) -> None:
    """Mount the console's routes, static files and error handling on ``app``."""

    # compressed (br/gzip), ETag/304, a year's cache for ?v= URLs: see siyu.web.assets
    @app.get(f"{PREFIX}/static/plotly.min.js", include_in_schema=False)
    def plotly_asset(request: Request) -> Response:
        cache = asset_cache(request.app)
        return asset_response(request, cache.file(plotly_path()), cache)

    @app.get(f"{PREFIX}/static/plotly-finance.min.js", include_in_schema=False)
    def plotly_finance_asset(request: Request) -> Response:
        if not dashboard.FINANCE_BUNDLE.is_file():
            return Response(status_code=404)
        cache = asset_cache(request.app)
        return asset_response(request, cache.file(dashboard.FINANCE_BUNDLE), cache)

    @app.get(f"{PREFIX}/static/{{name}}", include_in_schema=False)
    def console_asset(name: str, request: Request) -> Response:
        if name not in STATIC_FILES:
            return Response(status_code=404)
        cache = asset_cache(request.app)
        return asset_response(request, cache.file(STATIC_DIR / name), cache)

    modules = (
        auth,
        dashboard,
        catalog,
        skus,
        categories,
        orders,
        aftersales,
        staff,
        channels,
        rehearsals,
    )
    include_grouped(
        app, (*(m.router for m in modules), *analytics.ROUTERS, *marketing.ROUTERS), depth=1
    )
    _install_error_pages(app)


async def _optional_user(request: Request) -> ConsoleUser | None:
    try:
        return await run_in_threadpool(console_user, request, request.app.state.ctx)
    except Exception:
        return None


async def _error_page(request: Request, status: int, message: str) -> Response:
    user = await _optional_user(request)
    return render(
        request, "error.html", user=user, status=status, status_code=status, message=message
    )


def _install_error_pages(app: FastAPI) -> None:
    """Console paths get friendly HTML pages; every other path keeps its JSON errors."""

    def wrap(exc_class: Any, console_handler: Any) -> None:
        previous = app.exception_handlers.get(exc_class)

        async def handler(request: Request, exc: Exception) -> Response:
            if is_console(request) or previous is None:
                return await console_handler(request, exc)
            result = previous(request, exc)
            return await result if hasattr(result, "__await__") else result

        app.add_exception_handler(exc_class, handler)

    async def on_domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        if isinstance(exc, Unauthorized):
            target = PREFIX
            if request.method == "GET":
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            response = redirect(f"{PREFIX}/login?next={quote(target, safe='/')}")
            if exc.code != "login_required":
                response.delete_cookie(CONSOLE_COOKIE)
            return response
        locale = request_locale(request)
        return await _error_page(
            request, exc.http_status, error_text(translator("console", locale), locale, exc)
        )

    async def on_validation(request: Request, exc: Exception) -> Response:
        t = translator("console", request_locale(request))
        return await _error_page(request, 404, t("error.page_not_found"))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        t = translator("console", request_locale(request))
        key = "error.page_not_found" if exc.status_code == 404 else "error.bad_request"
        return await _error_page(request, exc.status_code, t(key))

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        t = translator("console", request_locale(request))
        return await _error_page(request, 500, t("error.internal"))

    wrap(DomainError, on_domain)
    wrap(RequestValidationError, on_validation)
    wrap(StarletteHTTPException, on_http)
    wrap(Exception, on_unexpected)
