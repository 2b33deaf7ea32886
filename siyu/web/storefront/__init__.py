"""The H5 storefront (/shop): a mobile-first reference client of the public /api/app.

Plain HTML, CSS and JavaScript, no build step, no third-party code. The page is one
document (``/shop``) with hash routing (``#/product/12``); it talks to the server only
through ``/api/app/*`` (every call carries ``X-Siyu-Anonymous-Id``), which is the proof
that a mini-program can be built on the same API. Both string catalogs (domain
``shop``) are inlined into the page, so switching language needs no request; they are
also served as ``/shop/i18n/zh-CN.json`` and ``/shop/i18n/en.json``.

Routes: ``GET /shop`` (the page, ``no-cache``), ``GET /shop/static/<file>`` (assets;
``?v=<version>`` URLs are cached for a year, others for 5 minutes, ETag either way),
``GET /shop/static/track.js`` (the tracking SDK, served from ``clients/track/siyu-track.js``
without a copy), ``GET /shop/i18n/<locale>.json``.

Tracking: ``core.js`` creates a ``SiyuTrack`` tracker (H5 ``fetchTransport``, localStorage
queue, the storefront's own device id), ``identify``-s after login and ``reset``-s on
log-out (which also starts a new device id); ``app.js`` turns on ``$launch``/``$show``/
``$hide``, a ``$pageview`` per hash route and clicks on ``data-track`` elements
(``add_to_cart``, ``buy_now``, ``submit_order``, ``pay``). The page names the endpoint in
``<meta name="siyu-track-endpoint">`` only when the app
has a ``/api/track`` route; otherwise events just queue in the browser. Pages (hash routes): ``#/`` home, ``#/category[/<id>]``,
``#/search?q=&sort=``, ``#/product/<id>``, ``#/cart``, ``#/checkout?cart=<item ids>`` or
``?product=&sku=&qty=`` (buy now), ``#/cashier/<order id>``, ``#/orders?status=``,
``#/order/<id>``, ``#/aftersales``, ``#/me``, ``#/login?next=<hash>``, ``#/service`` (客服),
``#/coupons/center`` (领券中心), ``#/coupons?status=issued|used|expired`` (我的优惠券),
``#/flash?session=<id>`` (秒杀, countdowns on the server's clock; docs/social.md).

Prices: the cart and checkout show ``GET /api/app/checkout/quote`` for the chosen lines
(discounts with reasons, hints such as "再买 ¥12.00 可减 ¥30.00", shipping, total) and
re-quote on every change; an order is placed with exactly the coupons and the total on
screen (``coupon_ids``, ``expected_total_fen``), and a 409 ``quote_changed`` /
``coupon_unavailable`` shows the message and the new quote. The new-shopper gift pop-up
(``/api/app/coupons/gift``) opens after log-in and on start when logged in; closing it
posts ``/gift/seen``.

Stable selectors (``data-testid``) for browser tests:

``tab-home`` ``tab-category`` ``tab-cart`` ``tab-me``   bottom tab bar links
``service-link``           客服 entry (header, product action bar)
``cart-badge``             number of items on the cart tab
``login-code``             sandbox login code field; ``login-submit`` its button
                           (``#/login?next=<hash>``; any 401 comes here and goes back)
``search-input``           search field (header); ``search-submit`` its button
``category-link``          core-category links on home (``data-category-id``)
``category-chip``          category buttons on the category page
``banner``                 home focus banner (a traffic product)
``product-card``           a product on home or a category list (``data-product-id``)
``search-results``         the search results grid (``data-q``, ``data-sort``, ``data-state``:
                           loading/done); a new search takes the old results down first
``search-result-card``     a product in the search results (``data-product-id``)
``sort-tab``               sort buttons (``data-sort``: featured/price_asc/price_desc/sales/newest)
``load-more``              next page of a list (cursor)
``sku-chip``               one spec value (``data-dim``, ``data-value``, ``aria-pressed``)
``price``                  product price; ``stock-hint`` "仅剩 N 件" when low
``quantity``               quantity field on the product page
``add-to-cart`` ``buy-now``  product actions; ``action-cart`` the cart link beside them
``cart-line``              a cart line (``data-item-id``, ``data-available``)
``cart-qty``               its quantity field; ``cart-remove`` its remove button
``cart-problem``           why an unavailable cart line cannot be bought
``cart-select``            a cart line's tick box (ticked lines are quoted and checked out);
                           ``cart-select-all`` ticks all
``cart-total`` ``cart-checkout``  cart total payable (the quote's) and checkout button
``cart-quote``             the quote panel under the cart lines; ``cart-saving`` the saving
``quote-hint``             a hint (``data-missing-fen``, ``data-benefit-fen``)
``quote-discount``         one discount with its reason (``data-source``: promotion/coupon/…)
``quote-subtotal`` ``quote-shipping``  quote rows; ``cart-payable`` ``checkout-payable`` totals
``coupon-picker``          checkout coupon picker; ``coupon-status`` its summary
``coupon-option``          a coupon (``data-coupon-id``, ``data-usable``, ``data-applied``,
                           ``aria-pressed``; unusable ones are disabled and show why)
``coupon-none``            "不使用优惠券"
``home-coupon-center`` ``me-coupon-center`` ``me-coupons``  links to the coupon pages
``center-coupon``          a claim-center coupon (``data-template-id``, ``data-state``:
                           claimable/claimed/sold_out); ``coupon-claim`` its button,
                           ``coupon-message`` the API's refusal (sold out, limit)
``coupon-tab``             my-coupon tabs (``data-status`` issued/used/expired)
``my-coupon``              one of my coupons (``data-coupon-id``, ``data-status``)
``gift-popup``             the new-shopper gift modal; ``gift-coupon`` its coupons,
                           ``gift-accept`` / ``gift-close`` close it (both mark it seen)
``cart-empty`` ``cart-login`` ``orders-empty``  empty states (with a way onwards)
``address-name`` ``address-phone`` ``address-province`` ``address-city``
``address-district`` ``address-detail`` ``order-note``  checkout form fields
``address-chooser``        checkout: the saved addresses, ``address-option`` each (``data-address-id``,
                           the default checked), ``address-option-new`` types a new one,
                           ``address-manage`` links to the me page
``address-book``           me page address book; ``address-entry`` one address (``data-address-id``,
                           ``data-default``), ``address-default`` its badge, ``address-edit``
                           ``address-set-default`` ``address-delete`` its actions,
                           ``address-add`` opens ``address-form`` (``book-name`` ``book-phone``
                           ``book-province`` ``book-city`` ``book-district`` ``book-detail``
                           ``book-postal_code`` ``book-default``, ``address-save``
                           ``address-cancel``), ``address-empty`` when there is none
``order-address``          the address an order keeps (a copy), on the order detail
``submit-order``           place the order; ``checkout-total`` the summary total
``cashier-amount``         amount on the sandbox cashier; ``pay-button`` pays
``pay-result``             shown after a successful payment; ``view-order`` opens it
``order-tab``              status tabs on the order list (``data-status``)
``order-card``             an order in the list (``data-order-id``)
``order-status``           status badge (``data-status`` = API status)
``order-total``            amount paid on the order detail
``order-pay`` ``confirm-receipt``  order detail actions
``order-cancel``           asks to cancel; ``order-cancel-confirm`` cancels
``aftersale-request``      opens the after-sales form ``aftersale-form``
``aftersale-kind``         radio inputs (``value`` refund_only/return_refund)
``aftersale-reason``       reason field (required)
``aftersale-line``         per-line checkbox (none = whole order); ``aftersale-line-qty``
``aftersale-submit``       sends the request
``aftersale-card``         a request (order page, ``#/aftersales``); ``aftersale-status``
                           its state (``data-status`` = API status)
``aftersale-cancel``       withdraws a pending request
``me-login`` ``me-name``  me page: log-in link when logged out, name when logged in
``phone-code`` ``phone-submit``  phone binding (sandbox: the 11-digit number); ``phone-masked``
``locale-switch``          language buttons on the me page (``data-locale``)
``logout``                 log out
``home-flash``             the flash-sale entry on home; ``home-flash-countdown`` its clock
``flash-tab``              a session tab (``data-session-id``, ``data-phase``)
``flash-session-state``    the shown session's state (``data-phase``: upcoming/running/ended);
                           ``flash-countdown`` its clock (``data-seconds``, server time)
``flash-item``             an item (``data-item-id``, ``data-units-left``): ``flash-price``
                           ``flash-shelf-price`` ``flash-taken`` ``flash-left`` ``flash-limit``,
                           ``flash-buy`` its button (``data-state``: upcoming/on/sold_out/ended)
``flash-checkout``         the checkout's flash panel; ``flash-pay-limit`` the time to pay,
                           ``flash-queue`` 排队中 (``data-tries``)
``flash-pay``              the cashier's time left to pay (``data-state`` open/expired);
                           ``flash-pay-countdown`` its clock
``error``                  the error banner (``role=alert``)
"""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import Scope

from siyu.web.assets import SHORT_CACHE, AssetCache, asset_cache, asset_response
from siyu.web.i18n import DEFAULT_LOCALE, LOCALES, catalog

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TRACK_SDK = HERE.parents[2] / "clients" / "track" / "siyu-track.js"
TRACK_ENDPOINT = "/api/track"
INDEX_TEMPLATE = HERE / "index.html"


class StorefrontStatic(StaticFiles):
    """Static files, compressed as the client accepts, whose versioned URLs (``?v=``)
    may be cached for good (see ``siyu.web.assets``)."""

    def __init__(self, *, directory: Path, cache: AssetCache) -> None:
        super().__init__(directory=directory)
        self.cache = cache

    async def get_response(self, path: str, scope: Scope) -> Response:
        full_path, stat_result = await run_in_threadpool(self.lookup_path, path)
        if stat_result is None or not stat.S_ISREG(stat_result.st_mode):
            return await super().get_response(path, scope)  # 404 and friends, as before
        asset = await run_in_threadpool(self.cache.file, Path(full_path))
        return await run_in_threadpool(asset_response, Request(scope), asset, self.cache)


def asset_version() -> str:
    """A digest of every asset, so a changed file gets a new URL."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.iterdir()):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    if TRACK_SDK.is_file():
        digest.update(b"track.js")
        digest.update(TRACK_SDK.read_bytes())
    return digest.hexdigest()[:12]


def _script_json(value: object) -> str:
    """JSON safe to inline in a ``<script>`` element."""
    return (
        json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        .replace("</", "<\\/")
        .replace("<!--", "<\\!--")
    )


def render_index(*, version: str, login_mode: str, track_endpoint: str = "") -> str:
    catalogs = {locale: catalog("shop", locale) for locale in LOCALES}
    return (
        INDEX_TEMPLATE.read_text(encoding="utf-8")
        .replace("__VERSION__", version)
        .replace("__LOGIN_MODE__", login_mode)
        .replace("__TRACK_ENDPOINT__", track_endpoint)
        .replace("__DEFAULT_LOCALE__", DEFAULT_LOCALE)
        .replace("__TITLE__", catalogs[DEFAULT_LOCALE].get("app.title", "Siyu"))
        .replace("__CATALOGS__", _script_json(catalogs))
    )


def install_storefront(app: FastAPI) -> None:
    """Serve the storefront page and its static assets on ``app``."""
    settings = app.state.ctx.settings
    version = asset_version()
    login_mode = str(settings.wechat_mode.value)
    page_headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    rendered: dict[str, str] = {}

    def has_track_endpoint() -> bool:
        # the OpenAPI paths see routes inside included routers too (app.routes may not)
        return TRACK_ENDPOINT in app.openapi().get("paths", {})

    @app.get("/shop", response_class=HTMLResponse, include_in_schema=False)
    @app.get("/shop/", response_class=HTMLResponse, include_in_schema=False)
    def storefront_page() -> HTMLResponse:
        # rendered on first use: routers included after the storefront count too
        if "page" not in rendered:
            endpoint = TRACK_ENDPOINT if has_track_endpoint() else ""
            rendered["page"] = render_index(
                version=version, login_mode=login_mode, track_endpoint=endpoint
            )
        return HTMLResponse(rendered["page"], headers=page_headers)

    @app.get("/shop/static/track.js", include_in_schema=False)
    def storefront_track_sdk(request: Request) -> Response:
        if not TRACK_SDK.is_file():
            raise HTTPException(404, "the tracking SDK (clients/track) is not installed")
        cache = asset_cache(request.app)
        return asset_response(request, cache.file(TRACK_SDK), cache)

    @app.get("/shop/i18n/{locale}.json", include_in_schema=False)
    def storefront_catalog(locale: str) -> JSONResponse:
        if locale not in LOCALES:
            raise HTTPException(404, f"unknown locale {locale!r}; use one of {', '.join(LOCALES)}")
        return JSONResponse(catalog("shop", locale), headers={"Cache-Control": SHORT_CACHE})

    app.mount(
        "/shop/static",
        StorefrontStatic(directory=STATIC_DIR, cache=asset_cache(app)),
        name="shop-static",
    )
