"""A group buy in a real browser: a shopper opens a group from the product page, pays
and shares the link; a second shopper opens the link, joins and pays; both see the
group complete."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select

from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.catalog.models import Product, Sku
from siyu.catalog.rules import ProductStatus
from siyu.devtools.demo import seed_demo
from siyu.group_buy import campaigns
from siyu.models import metadata
from tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, require_chromium, serve
from tests.conftest import make_settings
from tests.helpers import ADDRESS

require_chromium()
pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

VIEWPORT = {"width": 375, "height": 812}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Context, int, int, int]]:
    folder: Path = tmp_path_factory.mktemp("group-buy")
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
        price = sku.price_fen * 7 // 10
        campaign = campaigns.save_campaign(
            session,
            {"name": "2人成团享7折", "sku_id": sku.id, "tiers": [[2, price]],
             "duration_minutes": 24 * 60, "max_quantity": 1, "per_shopper_limit": 0,
             "new_shoppers_only": False, "auto_fill": False, "free_shipping": True,
             "starts_at": now - timedelta(hours=1), "ends_at": now + timedelta(days=3),
             "status": "active"},
            now=now,
        )  # fmt: skip
        ids = (sku.product_id, campaign.id, price)
    yield ctx, *ids
    ctx.close()


def _signed_in(base: str, code: str) -> str:
    """A shopper's token, with a default address (checkout picks it)."""
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
    """The demo's new-shopper gift pack greets each new shopper once."""
    expect(tab.get_by_test_id("gift-popup")).to_be_visible()
    tab.get_by_test_id("gift-close").click()
    expect(tab.get_by_test_id("gift-popup")).to_have_count(0)


def _pay(tab: Page, total: str) -> None:
    expect(tab.get_by_test_id("checkout-total")).to_have_text(total)
    tab.get_by_test_id("submit-order").click()
    expect(tab.get_by_test_id("cashier-amount")).to_have_text(total)
    tab.get_by_test_id("pay-button").click()
    expect(tab.get_by_test_id("pay-result")).to_be_visible()
    expect(tab.get_by_test_id("order-hold")).to_be_visible()
    tab.get_by_test_id("view-group").click()


def test_a_shopper_opens_a_group_shares_it_and_a_friend_joins_from_the_link(
    shop: tuple[Context, int, int, int],
) -> None:
    ctx, product_id, campaign_id, price = shop
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    total = f"¥{price // 100}.{price % 100:02d}"
    problems: list[str] = []
    with serve(create_app(ctx=ctx, run_worker=False)) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        leader = _tab(browser, base, _signed_in(base, "group-leader"), problems)
        friend = _tab(browser, base, _signed_in(base, "group-friend"), problems)

        # the leader sees the group price on the product page and opens a group
        leader.goto(f"{base}/shop#/product/{product_id}")
        _close_gift(leader)
        panel = leader.get_by_test_id("group-buy-panel")
        expect(panel.get_by_test_id("group-price")).to_have_text(total)
        leader.screenshot(path=str(ARTIFACTS / "group-01-product.png"))
        panel.get_by_test_id("open-group").click()
        expect(leader.get_by_test_id("group-checkout")).to_be_visible()
        _pay(leader, total)

        # the group page shows one member, one seat left and the share link
        expect(leader.get_by_test_id("group-status")).to_have_attribute("data-status", "open")
        expect(leader.get_by_test_id("group-member")).to_have_count(1)
        expect(leader.get_by_test_id("group-empty-seat")).to_have_count(1)
        expect(leader.get_by_test_id("group-countdown")).to_have_text("23:59:59")
        link = leader.get_by_test_id("group-share-link").input_value()
        assert "sharer_id=" in link and "#/group/" in link
        leader.screenshot(path=str(ARTIFACTS / "group-02-shared.png"))

        # the friend opens the link, joins and pays: the group is complete
        friend.goto(link)
        _close_gift(friend)
        expect(friend.get_by_test_id("group-status")).to_have_attribute("data-status", "open")
        friend.get_by_test_id("group-join").click()
        expect(friend.get_by_test_id("group-checkout")).to_be_visible()
        expect(friend.get_by_test_id("checkout-total")).to_have_text(total)
        friend.get_by_test_id("submit-order").click()
        expect(friend.get_by_test_id("cashier-amount")).to_have_text(total)
        friend.get_by_test_id("pay-button").click()
        expect(friend.get_by_test_id("pay-result")).to_be_visible()
        friend.get_by_test_id("view-group").click()
        expect(friend.get_by_test_id("group-status")).to_have_attribute("data-status", "completed")
        expect(friend.get_by_test_id("group-member")).to_have_count(2)
        friend.screenshot(path=str(ARTIFACTS / "group-03-complete.png"))
        leader.reload()
        expect(leader.get_by_test_id("group-status")).to_have_attribute("data-status", "completed")
        width = friend.evaluate("document.documentElement.scrollWidth")
        assert width <= VIEWPORT["width"]
        browser.close()
    assert problems == []
    with ctx.db.transaction() as session:
        group = campaigns.campaign_stats(session, campaign_id)
    assert (group["groups_completed"], group["members_paid"]) == (1, 2)
