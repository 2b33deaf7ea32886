"""The demo store works with the network cut: a real Chromium, every request to a host
other than the store's loopback recorded and aborted, through the storefront (home, a
product, search) and the console (dashboard, products, a product, orders, analytics).
Nothing may try to leave, and the product photos (drawn at seed time, served from
``/media/products/``) must actually be drawn.

Needs Debian's ``/usr/bin/chromium``; without it the test is skipped, unless CI=true.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, select

from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.catalog.models import Product
from siyu.catalog.rules import ProductStatus
from siyu.devtools.demo import seed_demo
from siyu.devtools.demo_data import DEMO_PASSWORD
from siyu.models import metadata
from tests.browser import ARTIFACTS, launch_chromium, require_chromium, serve
from tests.conftest import make_settings

require_chromium()
pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Page, Route, expect  # noqa: E402

SHOTS = ARTIFACTS / "offline"
LOOPBACK = {"127.0.0.1", "localhost"}
DRAWN = "img => img.complete && img.naturalWidth > 0"


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Context, str]]:
    folder: Path = tmp_path_factory.mktemp("offline-demo")
    url = f"sqlite:///{folder / 'siyu.db'}"
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    ctx = build_context(make_settings(url, folder))
    seed_demo(ctx, shoppers=6)
    with serve(create_app(ctx=ctx, run_worker=False)) as base_url:
        yield ctx, base_url
    ctx.close()


def _drawn(page: Page, selector: str) -> None:
    """Waits until the first image matching ``selector`` is loaded and has pixels."""
    image = page.locator(selector).first
    image.scroll_into_view_if_needed()
    page.wait_for_function(
        f"() => {{ const img = document.querySelector({selector!r}); return img && ({DRAWN})(img); }}"
    )
    assert image.evaluate(DRAWN)


def test_the_demo_store_and_console_work_with_the_network_cut(
    demo_store: tuple[Context, str],
) -> None:
    ctx, base = demo_store
    with ctx.db.transaction() as session:
        product_id = session.scalars(
            select(Product.id).where(Product.status == ProductStatus.on_sale).order_by(Product.id)
        ).first()
    assert product_id is not None
    SHOTS.mkdir(parents=True, exist_ok=True)
    outbound: list[str] = []
    errors: list[str] = []

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            outbound.append(route.request.url)
            route.abort("internetdisconnected")

    with launch_chromium() as chromium:
        context = chromium.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN")
        context.set_default_timeout(15_000)
        context.route("**/*", only_loopback)
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("websocket", lambda ws: outbound.append(ws.url))

        # the storefront home: the banner's and the first cards' photos are drawn
        page.goto(f"{base}/shop")
        expect(page.get_by_test_id("banner")).to_be_visible()
        _drawn(page, "[data-testid=banner] img")
        _drawn(page, ".grid [data-testid=product-card] img")
        page.screenshot(path=str(SHOTS / "01-home.png"))

        # a product page: its gallery
        page.goto(f"{base}/shop#/product/{product_id}")
        expect(page.get_by_test_id("price")).to_be_visible()
        _drawn(page, ".gallery img")
        page.screenshot(path=str(SHOTS / "02-product.png"))

        # search results
        page.goto(f"{base}/shop#/search?q=咖啡")
        expect(page.get_by_test_id("search-results")).to_have_attribute("data-state", "done")
        expect(page.get_by_test_id("search-result-card").first).to_contain_text("咖啡")
        _drawn(page, "[data-testid=search-result-card] img")
        page.screenshot(path=str(SHOTS / "03-search.png"))

        # the console, logged in as the demo's owner
        page.set_viewport_size({"width": 1366, "height": 768})
        page.goto(f"{base}/console/login")
        page.fill("#username", "admin")
        page.fill("#password", DEMO_PASSWORD)
        page.click("#login-submit")
        expect(page.locator("#nav-products")).to_be_visible()
        for path in (
            "/console/dashboard",
            "/console/products",
            f"/console/products/{product_id}",
            "/console/orders",
            "/console/analytics/overview",
        ):
            response = page.goto(f"{base}{path}", wait_until="load")
            assert response is not None and response.status == 200, path
            page.wait_for_load_state("networkidle")
        page.screenshot(path=str(SHOTS / "04-console-analytics.png"))
        context.close()

    # then nothing tried to leave the machine, and no script failed
    assert outbound == []
    assert errors == []
