"""A flash sale (秒杀) in a real Chromium at 375×812, on the real clock: a session
starts five seconds after the shopper opens the channel — whose phone runs an hour
slow — so the page counts down on the SERVER's clock with the buy button disabled;
the button turns on by itself when the countdown reaches zero (no reload); the
shopper buys, is queued once by the waiting room (429 排队中) and retried, reaches the
cashier with the payment countdown, pays through the fake WeChat Pay gateway's
notification and sees the order paid; the channel then shows one unit fewer.

The app runs under uvicorn on a temporary SQLite database with the WeChat Pay provider
pointed at the fake gateway on loopback; the browser is kept on loopback too.
Screenshots go to ``test-artifacts/storefront/flash-*.png``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine

from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.flash_sale.models import FlashItem
from siyu.flash_sale.rules import SHANGHAI
from siyu.identity.operators import create_operator
from siyu.identity.rules import Role
from siyu.models import metadata
from siyu.order.models import Order
from siyu.order.rules import OrderStatus
from siyu.payment.wechatpay import WeChatPayProvider
from tests.browser import ARTIFACTS, launch_chromium, open_page, require_chromium, serve
from tests.conftest import make_settings
from tests.fakes.wechatpay import FakeWeChatPay
from tests.helpers import ADDRESS

require_chromium()
pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, Page, Route, expect  # noqa: E402

SHOTS = ARTIFACTS / "storefront"
PASSWORD = "flash-browser-2026x"
SHELF_FEN = 5900
SALE_FEN = 1990
UNITS = 5
LEAD = timedelta(seconds=5)  # the session starts this long after the page is opened
SLOW_PHONE_MS = 3_600_000  # the shopper's phone clock runs an hour behind
WAITING = {
    "error": {
        "code": "waiting_room",
        "message": "排队中，请稍候 / You are in the queue: please try again in a moment",
        "fields": {"retry_after_seconds": "1"},
    }
}


@pytest.fixture
def shop(tmp_path: Path, wechatpay_provider: WeChatPayProvider) -> Iterator[tuple[Context, str]]:
    url = f"sqlite:///{tmp_path / 'siyu.db'}"
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    settings = make_settings(url, tmp_path, payment_provider="wechatpay")
    # the real clock: the session really starts while the page is open
    ctx = build_context(settings, payments={"wechatpay": wechatpay_provider})
    with ctx.db.transaction() as session:
        create_operator(session, username="owner", display_name="店主", password=PASSWORD,
                        role=Role.owner, now=ctx.clock.now())  # fmt: skip
    with serve(create_app(ctx=ctx, run_worker=False)) as base_url:
        yield ctx, base_url
    ctx.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with launch_chromium() as chromium:
        yield chromium


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"flash-{name}.png"), full_page=True)


def _fits_the_screen(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def _admin(http: httpx.Client) -> dict[str, str]:
    login = http.post("/api/admin/login", json={"username": "owner", "password": PASSWORD})
    assert login.status_code == 200, login.text
    http.cookies.clear()
    return {"Authorization": f"Bearer {login.json()['token']}"}


def _sku(http: httpx.Client, admin: dict[str, str]) -> int:
    category = http.post("/api/admin/categories", json={"name": "咖啡"}, headers=admin)
    assert category.status_code == 201, category.text
    product = http.post(
        "/api/admin/products",
        json={"category_id": category.json()["id"], "title": "秒杀 云南小粒咖啡豆",
              "role": "traffic", "image_urls": [],
              "skus": [{"spec": {"烘焙": "中度"}, "price_fen": SHELF_FEN, "stock": 50}]},
        headers=admin,
    )  # fmt: skip
    assert product.status_code == 201, product.text
    on_sale = http.post(f"/api/admin/products/{product.json()['id']}/status",
                        json={"status": "on_sale"}, headers=admin)  # fmt: skip
    assert on_sale.status_code == 200, on_sale.text
    return int(on_sale.json()["skus"][0]["id"])


def _shopper(http: httpx.Client) -> str:
    """A shopper's token, with a default address (the checkout picks it)."""
    login = http.post("/api/app/login", json={"code": "flash-shopper"},
                      headers={"X-Siyu-Anonymous-Id": "browser-flash-0001"})  # fmt: skip
    assert login.status_code == 200, login.text
    token = str(login.json()["token"])
    saved = http.post("/api/app/addresses", json={**ADDRESS, "is_default": True},
                      headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert saved.status_code == 201, saved.text
    return token


def test_the_sale_opens_on_the_server_clock_and_the_shopper_buys_queues_and_pays(
    shop: tuple[Context, str], browser: Browser, fake_wechatpay: FakeWeChatPay
) -> None:
    ctx, base = shop
    http = httpx.Client(base_url=base, timeout=10)
    admin = _admin(http)
    sku_id = _sku(http, admin)
    token = _shopper(http)
    errors: list[str] = []
    page = open_page(browser, base, width=375, height=812, errors=errors, timeout_ms=15_000)
    page.context.add_init_script(
        f"window.localStorage.setItem('siyu.token', {token!r});"
        f"(function () {{ var real = Date.now; Date.now = function () {{"
        f" return real.call(Date) - {SLOW_PHONE_MS}; }}; }})();"
    )

    # given a session of 5 units at ¥19.90 (shelf ¥59.00), one a shopper, starting in 5 s
    starts = datetime.now(UTC).replace(microsecond=0) + LEAD + timedelta(seconds=1)
    made = http.post(
        "/api/admin/flash-sales",
        json={"name": "整点秒杀", "starts_at": starts.isoformat(),
              "ends_at": (starts + timedelta(minutes=30)).isoformat(),
              "items": [{"sku_id": sku_id, "sale_price_fen": SALE_FEN, "quantity": UNITS,
                         "per_shopper_limit": 1}]},
        headers=admin,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    item_id = made.json()["items"][0]["id"]

    # when the shopper opens the channel (their phone an hour slow)
    page.goto(f"{base}/shop#/flash")

    # then the session's tab shows its Shanghai start, the state counts down on the
    # server's clock (seconds, not an hour), and the buy button is off
    state = page.get_by_test_id("flash-session-state")
    expect(state).to_have_attribute("data-phase", "upcoming")
    expect(state).to_contain_text("即将开始")
    expect(state).to_contain_text("距开始")
    countdown = page.get_by_test_id("flash-countdown")
    expect(countdown).to_have_text(re.compile(r"^00:00:0[1-6]$"))
    assert 1 <= int(countdown.get_attribute("data-seconds") or 0) <= 6
    expect(page.get_by_test_id("flash-tab")).to_contain_text(
        starts.astimezone(SHANGHAI).strftime("%H:%M")
    )
    button = page.get_by_test_id("flash-buy")
    expect(button).to_be_disabled()
    expect(button).to_have_text("即将开始")
    expect(button).to_have_attribute("data-state", "upcoming")
    expect(page.get_by_test_id("flash-price")).to_have_text("¥19.90")
    expect(page.get_by_test_id("flash-shelf-price")).to_contain_text("¥59.00")
    expect(page.get_by_test_id("flash-left")).to_have_text(f"仅剩 {UNITS} 件")
    expect(page.get_by_test_id("flash-taken")).to_have_text("已抢0%")
    expect(page.get_by_test_id("flash-limit")).to_have_text("每人限购 1 件")
    page.evaluate("window.__sameDocument = true")
    _fits_the_screen(page)
    _shot(page, "01-countdown")

    # when the countdown reaches zero, the button turns on by itself: same document
    expect(countdown).not_to_have_attribute(
        "data-seconds", countdown.get_attribute("data-seconds") or ""
    )
    expect(button).to_be_enabled(timeout=20_000)
    assert datetime.now(UTC) >= starts - timedelta(seconds=1)
    assert page.evaluate("window.__sameDocument === true")
    expect(button).to_have_text("马上抢")
    expect(button).to_have_attribute("data-state", "on")
    expect(state).to_have_attribute("data-phase", "running")
    expect(state).to_contain_text("距结束")
    expect(page.get_by_test_id("flash-countdown")).to_have_text(re.compile(r"^00:(29|30):\d\d$"))
    _shot(page, "02-on")

    # and the shopper grabs it; the waiting room answers the first try 429 排队中
    tries: list[str] = []

    def queue_once(route: Route) -> None:
        tries.append(route.request.headers.get("idempotency-key", ""))
        if len(tries) == 1:
            route.fulfill(status=429, headers={"Retry-After": "1"},
                          content_type="application/json", body=json.dumps(WAITING))  # fmt: skip
        else:
            route.continue_()

    page.route(f"**/api/app/flash-sales/items/{item_id}/buy", queue_once)
    button.click()
    expect(page.get_by_test_id("flash-checkout")).to_be_visible()
    expect(page.get_by_test_id("checkout-total")).to_have_text("¥19.90")
    expect(page.get_by_test_id("flash-pay-limit")).to_contain_text("5 分钟内支付")
    activity = page.locator('[data-testid=quote-discount][data-source="activity"]')
    expect(activity).to_have_attribute("data-amount-fen", str(SHELF_FEN - SALE_FEN))
    expect(page.get_by_test_id("coupon-option")).to_have_count(0)
    _shot(page, "03-checkout")
    page.get_by_test_id("submit-order").click()

    # then the queue is shown and the buy is tried again with the same key
    queue = page.get_by_test_id("flash-queue")
    expect(queue).to_be_visible()
    expect(queue).to_contain_text("排队中")
    expect(queue).to_have_attribute("data-tries", "1")
    _shot(page, "04-queue")
    # and the reservation goes to the cashier, with the time left to pay
    expect(page.get_by_test_id("cashier-amount")).to_have_text("¥19.90")
    assert len(tries) == 2 and tries[0] == tries[1] != ""
    expect(page.get_by_test_id("flash-pay-countdown")).to_have_text(re.compile(r"^00:0[45]:\d\d$"))
    expect(page.get_by_test_id("flash-pay")).to_have_attribute("data-state", "open")
    _fits_the_screen(page)
    _shot(page, "05-cashier")
    order_id = int(re.search(r"#/cashier/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    with ctx.db.transaction() as session:
        order = session.get(Order, order_id)
        assert order is not None
        assert (order.status, order.total_fen) == (OrderStatus.pending_payment, SALE_FEN)
        order_no = order.order_no

    # when WeChat Pay takes the money and notifies Siyu
    headers, body = fake_wechatpay.pay(order_no)
    notified = http.post("/api/payment/notify/wechatpay", content=body, headers=headers)
    assert notified.status_code == 204, notified.text

    # then the order page shows it paid
    page.goto(f"{base}/shop#/order/{order_id}")
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "paid")
    expect(page.get_by_test_id("order-total")).to_contain_text("¥19.90")
    _shot(page, "06-paid")

    # and the channel shows one unit fewer
    page.goto(f"{base}/shop#/flash")
    expect(page.get_by_test_id("flash-left")).to_have_text(f"仅剩 {UNITS - 1} 件")
    expect(page.get_by_test_id("flash-taken")).to_have_text("已抢20%")
    expect(page.get_by_test_id("flash-item")).to_have_attribute("data-units-left", str(UNITS - 1))
    _shot(page, "07-one-fewer")

    # and in English too, the home page's entry leading there
    page.goto(f"{base}/shop#/me")
    page.locator('[data-testid=locale-switch][data-locale="en"]').click()
    page.goto(f"{base}/shop#/")
    entry = page.get_by_test_id("home-flash")
    expect(entry).to_contain_text("Flash sale")
    expect(entry).to_contain_text("Ends in")
    entry.click()
    expect(page.get_by_test_id("flash-left")).to_have_text(f"Only {UNITS - 1} left")
    expect(page.get_by_test_id("flash-buy")).to_have_text("Grab it")
    _fits_the_screen(page)
    _shot(page, "08-en")

    with ctx.db.transaction() as session:
        item = session.get(FlashItem, item_id)
        assert item is not None
        assert (item.sold, item.reserved) == (1, 0)
    http.close()
    assert errors == []


def test_a_sold_out_item_says_so_and_cannot_be_bought(
    shop: tuple[Context, str], browser: Browser
) -> None:
    # given a running session whose one unit another shopper has just taken
    ctx, base = shop
    http = httpx.Client(base_url=base, timeout=10)
    admin = _admin(http)
    sku_id = _sku(http, admin)
    now = datetime.now(UTC)
    made = http.post(
        "/api/admin/flash-sales",
        json={"name": "午间秒杀", "starts_at": (now - timedelta(minutes=1)).isoformat(),
              "ends_at": (now + timedelta(minutes=30)).isoformat(),
              "items": [{"sku_id": sku_id, "sale_price_fen": SALE_FEN, "quantity": 1}]},
        headers=admin,
    )  # fmt: skip
    assert made.status_code == 201, made.text
    token = _shopper(http)
    taken = http.post(
        f"/api/app/flash-sales/items/{made.json()['items'][0]['id']}/buy",
        json={},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "flash-sold-out-1"},
    )
    assert taken.status_code == 201, taken.text
    errors: list[str] = []
    page = open_page(browser, base, width=375, height=812, errors=errors)

    # when a visitor opens the channel
    page.goto(f"{base}/shop#/flash")

    # then the item is 已抢光 at 100 %, its button off; the session runs on
    expect(page.get_by_test_id("flash-session-state")).to_have_attribute("data-phase", "running")
    button = page.get_by_test_id("flash-buy")
    expect(button).to_have_attribute("data-state", "sold_out")
    expect(button).to_have_text("已抢光")
    expect(button).to_be_disabled()
    expect(page.get_by_test_id("flash-taken")).to_have_text("已抢100%")
    expect(page.get_by_test_id("flash-left")).to_have_text("已抢光")
    expect(page.get_by_test_id("flash-item")).to_have_attribute("data-units-left", "0")
    _shot(page, "09-sold-out")
    http.close()
    assert errors == []
