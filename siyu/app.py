"""The application factory: ``create_app(settings)`` builds everything; nothing
happens at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from siyu import __version__
from siyu.bootstrap import Context, build_context
from siyu.config import Settings
from siyu.web.api import address as address_api
from siyu.web.api import aftersale as aftersale_api
from siyu.web.api import bargain as bargain_api
from siyu.web.api import cart as cart_api
from siyu.web.api import catalog as catalog_api
from siyu.web.api import channel as channel_api
from siyu.web.api import coupon as coupon_api
from siyu.web.api import cues as cues_api
from siyu.web.api import flash_sale as flash_sale_api
from siyu.web.api import group_buy as group_buy_api
from siyu.web.api import identity as identity_api
from siyu.web.api import loyalty as loyalty_api
from siyu.web.api import loyalty_games as loyalty_games_api
from siyu.web.api import maintenance as maintenance_api
from siyu.web.api import member_tiers as member_tiers_api
from siyu.web.api import order as order_api
from siyu.web.api import payment as payment_api
from siyu.web.api import promotion as promotion_api
from siyu.web.api import rising_price as rising_price_api
from siyu.web.api import tracking as tracking_api
from siyu.web.api.flash_front import install_flash_front
from siyu.web.assets import install_assets
from siyu.web.catalog_cache import CatalogCache
from siyu.web.console import install_console
from siyu.web.console.security import MAX_UPLOAD_BODY
from siyu.web.errors import install_error_handlers
from siyu.web.health import install_health
from siyu.web.routing import include_grouped
from siyu.web.storefront import install_storefront
from siyu.worker import Worker

MAX_BODY_BYTES = 4 * 1024 * 1024

LANDING = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>私域 Siyu</title>
<style>body{font-family:system-ui,"WenQuanYi Micro Hei",sans-serif;max-width:40rem;margin:3rem auto;
padding:0 1rem;line-height:1.6;color:#222}a{color:#07c160}</style></head>
<body><h1>私域 Siyu</h1>
<p>微信小程序商城增长引擎 · A growth engine for WeChat mini-program stores.</p>
<ul>
<li><a href="/docs">API 文档 / API docs (OpenAPI)</a></li>
<li><a href="/api/app/products">商品列表 JSON / Product list</a></li>
<li><a href="/api/health">健康检查 / Health</a></li>
</ul></body></html>"""


def create_app(
    settings: Settings | None = None, *, ctx: Context | None = None, run_worker: bool | None = None
) -> FastAPI:
    settings = settings or (ctx.settings if ctx else Settings())
    context = ctx or build_context(settings)
    worker = Worker(context)
    start_worker = settings.run_worker if run_worker is None else run_worker

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if start_worker:
            worker.start()
        try:
            yield
        finally:
            worker.stop()
            catalog_cache.close()
            if ctx is None:
                context.close()

    app = FastAPI(
        title="Siyu 私域",
        version=__version__,
        lifespan=lifespan,
        # FastAPI asks OpenTelemetry for a provider on every request unless told not to
        telemetry={} if settings.telemetry else {"tracing": False, "metrics": False, "logs": False},
        description="微信小程序商城后端与增长引擎 · WeChat mini-program store back end. "
        "Money is in integer fen (分); times are UTC.",
    )
    app.state.ctx = context
    app.state.catalog_cache = catalog_cache = CatalogCache(context.db)
    app.state.worker = worker
    # No request needs more (a track batch is ≤ 1 MB, an avatar ≤ 2 MB): larger bodies
    # are refused with 413 before they are read or spooled to disk. The console's
    # product forms carry up to five uploaded images of 5 MB each.
    install_error_handlers(
        app, max_body_size=MAX_BODY_BYTES, larger={"/console/products": MAX_UPLOAD_BODY}
    )
    install_flash_front(app, context)  # outermost: a sale's refusals answered at the door
    install_health(
        app, context.db, payment=settings.payment_provider.value
    )  # first: polled often, matched before all others
    include_grouped(
        app,
        (
            # in each path group the hot shopper routes come first: one request walks
            # the routes of its group in this order
            tracking_api.router,
            flash_sale_api.app_router,  # a sale's rush: its gate is the hottest route
            identity_api.app_router,
            identity_api.admin_router,
            identity_api.media_router,
            catalog_api.admin_router,
            catalog_api.media_router,
            channel_api.router,
            cart_api.router,
            address_api.router,
            order_api.app_router,
            order_api.admin_router,
            coupon_api.app_router,
            coupon_api.admin_router,
            loyalty_api.app_router,
            loyalty_api.admin_router,
            group_buy_api.app_router,
            group_buy_api.admin_router,
            flash_sale_api.admin_router,
            rising_price_api.app_router,
            rising_price_api.admin_router,
            bargain_api.app_router,
            bargain_api.admin_router,
            cues_api.app_router,
            cues_api.admin_router,
            loyalty_api.rules_router,
            loyalty_games_api.app_router,
            loyalty_games_api.admin_router,
            promotion_api.router,
            member_tiers_api.app_router,
            member_tiers_api.admin_router,
            payment_api.app_router,
            payment_api.notify_router,
            aftersale_api.app_router,
            aftersale_api.admin_router,
            maintenance_api.router,
        ),
        direct=(catalog_api.app_router, order_api.checkout_router),  # browse and quote
    )

    install_assets(app)
    install_console(app)
    install_storefront(app)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def landing() -> str:
        return LANDING

    return app
