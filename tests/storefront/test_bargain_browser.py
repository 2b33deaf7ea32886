"""Bargain and rising price in a real browser: the product page shows the rising price
and the bargain; a shopper starts a bargain and shares it, a friend opens the link and
cuts it to the floor, and the starter buys at that price."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select

from siyu.app import create_app
from siyu.bargain import service as bargain_service
from siyu.bootstrap import Context, build_context
from siyu.catalog.models import Product, Sku
from siyu.catalog.rules import ProductStatus
from siyu.devtools.demo import seed_demo
from siyu.models import metadata
from siyu.rising_price import service as rising_service
from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, require_chromium, serve
from tests.conftest import make_settings
from tests.helpers import ADDRESS

require_chromium()
pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

VIEWPORT = {"width": 375, "height": 812}


def _yuan(fen: int) -> str:
    return f"¥{fen // 100}.{fen % 100:02d}"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Context, int, int, int]]:
    folder: Path = tmp_path_factory.mktemp("bargain")
    url = f"sqlite:///{folder / 'siyu.db'}"
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    ctx = build_context(make_settings(url, folder))
    seed_demo(ctx, shoppers=2)
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        sku = session.scalars(
            select(Sku)
            .join(Product, Product.id == Sku.product_id)
            .where(Product.status == ProductStatus.on_sale, Sku.stock > 10, Sku.price_fen > 2000)
            .order_by(Sku.id)
        ).first()
        assert sku is not None
        window = {"starts_at": now - timedelta(minutes=90), "ends_at": now + timedelta(days=2),
                  "status": "active"}  # fmt: skip
        floor = sku.price_fen // 2
        bargain_service.save_campaign(
            session,
            {"name": "砍到5折", "sku_id": sku.id, "floor_price_fen": floor, "helpers_needed": 1,
             "duration_minutes": 60, "per_shopper_limit": 1, "helper_min_age_minutes": 0,
             **window},
            now=now,
        )  # fmt: skip
        base = sku.price_fen // 2
        rising_service.save_campaign(
            session,
            {"name": "前100名5折", "sku_id": sku.id, "base_price_fen": base, "base_units": 100,
             "step_percent": 10, "interval_minutes": 60, "cap_price_fen": sku.price_fen,
             "per_shopper_limit": 2, **window},
            now=now,
        )  # fmt: skip
        ids = (sku.product_id, sku.price_fen, floor)
    yield ctx, *ids
    ctx.close()


def _signed_in(base: str, code: str) -> str:
    login = httpx.post(f"{base}/api/app/login", json={"code": code},
                       headers={"X-Siyu-Anonymous-Id": f"browser-{code}-0001"})  # fmt: skip
    login.raise_for_status()
    token = str(login.json()["token"])
    saved = httpx.post(f"{base}/api/app/addresses", json={**ADDRESS, "is_default": True},
                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert saved.status_code == 201, saved.text
    return token


def _tab(browser: Browser, base: str, token: str, problems: list[str]) -> Page:
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")  # type: ignore[arg-type]
    context.set_default_timeout(30_000)
    context.set_default_navigation_timeout(60_000)
    context.add_init_script(f"window.localStorage.setItem('siyu.token', {token!r});")
    tab = context.new_page()
    tab.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort())
    tab.on("pageerror", lambda error: problems.append(str(error)))
    return tab


def _close_gift(tab: Page) -> None:
    expect(tab.get_by_test_id("gift-popup")).to_be_visible()
    tab.get_by_test_id("gift-close").click()
    expect(tab.get_by_test_id("gift-popup")).to_have_count(0)


def test_a_friend_cuts_a_shared_bargain_and_the_starter_buys_at_the_floor(
    shop: tuple[Context, int, int, int],
) -> None:
    ctx, product_id, shelf, floor = shop
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with serve(create_app(ctx=ctx, run_worker=False)) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        starter = _tab(browser, base, _signed_in(base, "bargain-starter"), problems)
        friend = _tab(browser, base, _signed_in(base, "bargain-friend"), problems)

        # the product page shows the rising price (an hour in: +10 % due once 100 are sold)
        starter.goto(f"{base}/shop#/product/{product_id}")
        _close_gift(starter)
        plays = starter.get_by_test_id("social-plays")
        expect(plays.get_by_test_id("rising-price")).to_have_text(_yuan(shelf // 2))
        expect(plays.get_by_test_id("rising-base-left")).to_be_visible()
        expect(
            starter.get_by_test_id("cues-panel").get_by_test_id("cue-countdown").first
        ).to_be_visible()
        starter.screenshot(path=str(ARTIFACTS / "bargain-01-product.png"))

        # the starter starts a bargain and gets its share link
        plays.get_by_test_id("bargain-start").click()
        expect(starter.get_by_test_id("bargain-price")).to_have_text(_yuan(shelf))
        link = starter.get_by_test_id("bargain-share-link").input_value()
        assert "#/bargain/" in link

        # the friend opens it and cuts: the price is at the floor
        friend.goto(link)
        _close_gift(friend)
        friend.get_by_test_id("bargain-cut").click()
        expect(friend.get_by_test_id("bargain-price")).to_have_text(_yuan(floor))
        expect(friend.get_by_test_id("bargain-helper")).to_have_count(1)
        expect(friend.get_by_test_id("bargain-cut")).to_have_count(0)
        friend.screenshot(path=str(ARTIFACTS / "bargain-02-cut.png"))

        # the starter buys at the floor price
        starter.reload()
        expect(starter.get_by_test_id("bargain-price")).to_have_text(_yuan(floor))
        starter.get_by_test_id("bargain-buy").click()
        starter.wait_for_url("**#/order/*")
        width = friend.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORT["width"]
        browser.close()
    assert problems == []
