"""A shopper buys through the H5 storefront in a real Chromium at 375×812.

The app runs under uvicorn in a background thread on a temporary SQLite database
seeded with the demo store, whose product photos Siyu serves itself; the browser is
kept on loopback (other requests are aborted). Screenshots go to
``test-artifacts/storefront/``.

Needs Debian's ``/usr/bin/chromium``; without it the test is skipped, unless
CI=true, where it fails.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, select

from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.catalog.models import Product, Sku
from siyu.catalog.rules import ProductStatus
from siyu.devtools.demo import seed_demo
from siyu.models import metadata
from siyu.order.models import Order
from siyu.order.rules import OrderStatus
from tests.browser import ARTIFACTS as BROWSER_ARTIFACTS
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, serve
from tests.conftest import make_settings

ARTIFACTS = BROWSER_ARTIFACTS / "storefront"
ANONYMOUS_ID = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")

require_chromium()
pytest.importorskip("playwright.sync_api")
from playwright.sync_api import (  # noqa: E402
    Locator,
    Page,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)

VIEWPORT: ViewportSize = {"width": 375, "height": 812}


@pytest.fixture(scope="module")
def demo_ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    folder = tmp_path_factory.mktemp("storefront")
    url = f"sqlite:///{folder / 'siyu.db'}"
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    context = build_context(make_settings(url, folder))
    seed_demo(context, shoppers=12)
    yield context
    context.close()


@pytest.fixture(scope="module")
def base_url(demo_ctx: Context) -> Iterator[str]:
    with serve(create_app(ctx=demo_ctx, run_worker=False)) as url:
        yield url


@pytest.fixture
def page(base_url: str) -> Iterator[Page]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
        context.set_default_timeout(10_000)
        tab = context.new_page()
        tab.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(base_url) else route.abort()
            ),
        )
        problems: list[str] = []
        tab.on("pageerror", lambda error: problems.append(str(error)))
        yield tab
        browser.close()
        assert problems == []


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _fits_the_screen(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORT["width"]


def test_a_shopper_logs_in_searches_buys_and_pays_at_the_sandbox_cashier(
    page: Page, base_url: str, demo_ctx: Context
) -> None:
    p = page
    api_calls: list[tuple[str, str | None]] = []
    p.on(
        "request",
        lambda r: (
            api_calls.append((r.url, r.headers.get("x-siyu-anonymous-id")))
            if "/api/" in r.url
            else None
        ),
    )

    # given the home page: search, core categories, a traffic banner, the tab bar
    p.goto(f"{base_url}/shop")
    expect(p.get_by_test_id("banner")).to_be_visible()
    expect(p.get_by_test_id("search-input")).to_be_visible()
    assert p.get_by_test_id("category-link").count() >= 4
    expect(p.get_by_test_id("banner")).to_contain_text("包邮")
    for tab in ("tab-home", "tab-category", "tab-cart", "tab-me", "service-link"):
        expect(p.get_by_test_id(tab)).to_be_visible()
    _fits_the_screen(p)
    _shot(p, "01-home")

    # when a logged-out shopper opens their orders, they are sent to log in and back
    p.get_by_test_id("tab-me").click()
    expect(p.get_by_test_id("me-login")).to_be_visible()
    p.goto(f"{base_url}/shop#/orders")
    expect(p.get_by_test_id("login-code")).to_be_focused()
    _shot(p, "02-login")
    p.get_by_test_id("login-code").fill("browser-shopper")
    p.get_by_test_id("login-submit").click()
    expect(p.get_by_test_id("gift-popup")).to_contain_text("新人礼包")  # the demo's gift pack
    p.get_by_test_id("gift-close").click()
    expect(p.get_by_test_id("orders-empty")).to_be_visible()
    assert p.url.endswith("#/orders")

    # and searches for lipstick from home and opens the first result (the results view,
    # never a home card still on screen)
    p.get_by_test_id("tab-home").click()
    expect(p.get_by_test_id("banner")).to_be_visible()
    p.get_by_test_id("search-input").fill("口红")
    expect(p.get_by_test_id("search-input")).to_have_value("口红")
    p.get_by_test_id("search-input").press("Enter")
    _search_done(p, "口红")
    cards = p.get_by_test_id("search-result-card")
    expect(cards.first).to_contain_text("口红")
    expect(p.get_by_test_id("product-card")).to_have_count(0)
    _fits_the_screen(p)
    _shot(p, "03-search")
    cards.first.click()

    # and picks a SKU by its spec chips, two of them, and adds them to the cart
    # (起 only when its SKUs' prices differ: this lipstick's all cost the same)
    expect(p.get_by_test_id("price")).to_have_text(re.compile(r"^¥[\d,]+\.\d\d$"))
    # the running store-wide promotion and the coupons covering it, with their scope
    expect(p.get_by_test_id("product-promotion").first).to_contain_text("全场满199减30")
    expect(p.get_by_test_id("product-coupon").filter(has_text="9折")).to_contain_text(
        "限 口红、眼影、面膜、精华 可用"
    )
    for dim in p.eval_on_selector_all(
        "[data-testid=sku-chip]", "els => [...new Set(els.map(e => e.dataset.dim))]"
    ):
        p.locator(
            f'[data-testid=sku-chip][data-dim="{dim}"]:not([aria-disabled=true])'
        ).first.click()
    expect(p.get_by_test_id("price")).to_have_text(re.compile(r"^¥\d+\.\d\d$"))
    unit_price = p.get_by_test_id("price").inner_text()
    p.get_by_test_id("quantity").fill("2")
    _fits_the_screen(p)
    _shot(p, "04-product")
    p.get_by_test_id("add-to-cart").click()
    expect(p.get_by_test_id("cart-badge").first).to_have_text("2")

    # and checks out from the cart
    p.get_by_test_id("action-cart").click()
    expect(p.get_by_test_id("cart-line")).to_have_count(1)
    cents = int(unit_price.replace("¥", "").replace(",", "").replace(".", ""))
    subtotal = f"¥{cents * 2 // 100:,}.{cents * 2 % 100:02d}"
    expect(p.get_by_test_id("quote-subtotal")).to_have_text(subtotal)
    expect(p.get_by_test_id("cart-total")).to_have_text(re.compile(r"^¥[\d,]+\.\d\d$"))
    total = p.get_by_test_id("cart-total").inner_text()  # the quote: the demo's offers apply
    paid = int(total.replace("¥", "").replace(",", "").replace(".", ""))
    _fits_the_screen(p)
    _shot(p, "05-cart")
    p.get_by_test_id("cart-checkout").click()
    p.get_by_test_id("submit-order").click()
    expect(p.locator("#addr-name-error")).to_have_text("请填写此项")
    for field, value in {
        "name": "张三",
        "phone": "13800138000",
        "province": "上海市",
        "city": "上海市",
        "district": "浦东新区",
        "detail": "世纪大道 100 号",
    }.items():
        control = p.get_by_label(re.compile(_label(field)))
        if field in REGION_FIELDS:  # 省 → 市 → 区 are chosen, not typed
            control.select_option(value)
        else:
            control.fill(value)
        assert p.get_by_test_id(f"address-{field}").input_value() == value
    expect(p.get_by_test_id("checkout-total")).to_have_text(total)
    _fits_the_screen(p)
    _shot(p, "06-checkout")
    p.get_by_test_id("submit-order").click()

    # then the sandbox cashier asks for the order's amount, and paying marks it paid
    expect(p.get_by_test_id("cashier-amount")).to_have_text(total)
    _shot(p, "07-cashier")
    p.get_by_test_id("pay-button").click()
    expect(p.get_by_test_id("pay-result")).to_be_visible()
    expect(p.get_by_test_id("order-status")).to_have_attribute("data-status", "paid")
    _shot(p, "08-paid")
    p.get_by_test_id("view-order").click()
    expect(p.get_by_test_id("order-status")).to_have_text("待发货")
    expect(p.get_by_test_id("order-total")).to_have_text(total)
    _fits_the_screen(p)
    _shot(p, "09-order")
    order_id = int(p.url.rsplit("/", 1)[1])
    with demo_ctx.db.transaction() as session:
        order = session.scalars(select(Order).where(Order.id == order_id)).one()
        assert order.status is OrderStatus.paid
        assert order.paid_fen == paid
        assert order.subtotal_fen - order.discount_fen == paid
        assert order.address["detail"] == "世纪大道 100 号"
    assert p.get_by_test_id("cart-badge").first.is_hidden()

    # and an after-sales request for the whole paid order can be sent and withdrawn
    p.get_by_test_id("aftersale-request").click()
    expect(p.get_by_test_id("aftersale-form")).to_be_visible()
    assert p.locator("[data-testid=aftersale-kind][value=return_refund]").is_disabled()
    p.get_by_test_id("aftersale-reason").fill("不想要了")
    _shot(p, "10-aftersale-form")
    p.get_by_test_id("aftersale-submit").click()
    expect(p.get_by_test_id("aftersale-status")).to_have_attribute("data-status", "pending")
    expect(p.get_by_test_id("aftersale-card")).to_contain_text(f"退款金额：{total}")
    p.get_by_test_id("aftersale-cancel").click()
    expect(p.get_by_test_id("aftersale-status")).to_have_attribute("data-status", "cancelled")

    # and the shop used only the public API and the tracking endpoint, and every shop API
    # call carried the same anonymous device id
    assert len(api_calls) > 10
    assert all(
        url.startswith((f"{base_url}/api/app/", f"{base_url}/api/track")) for url, _ in api_calls
    )
    assert any(url.startswith(f"{base_url}/api/track") for url, _ in api_calls)
    ids = {device for url, device in api_calls if url.startswith(f"{base_url}/api/app/")}
    assert len(ids) == 1
    (device_id,) = ids
    assert device_id is not None and ANONYMOUS_ID.match(device_id)


def _search_done(page: Page, q: str) -> None:
    results = page.get_by_test_id("search-results")
    expect(results).to_have_attribute("data-q", q)
    expect(results).to_have_attribute("data-state", "done")


def test_a_new_search_takes_the_old_results_down_and_a_late_answer_is_ignored(
    page: Page, base_url: str
) -> None:
    p = page
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)  # answered later, from the test

    # given the results for lipstick
    p.goto(f"{base_url}/shop#/search?q=口红")
    _search_done(p, "口红")
    lipsticks = p.get_by_test_id("search-result-card").count()
    assert lipsticks >= 2
    for title in p.get_by_test_id("search-result-card").all_inner_texts():
        assert "口红" in title

    # when the shopper searches for coffee and the answer is slow
    p.route(re.compile(r"/api/app/products\?q=%E5%92%96%E5%95%A1"), hold)
    p.get_by_test_id("search-input").fill("咖啡")
    p.get_by_test_id("search-input").press("Enter")

    # then the lipstick cards are gone while coffee loads
    p.wait_for_function("() => location.hash.includes('q=%E5%92%96%E5%95%A1')")
    expect(p.get_by_test_id("search-result-card")).to_have_count(0)
    expect(p.locator("#main .loading")).to_be_visible()
    p.unroute(re.compile(r"/api/app/products\?q=%E5%92%96%E5%95%A1"), hold)

    # when the shopper, still waiting, searches for tea instead, and only then the
    # coffee answer arrives
    p.get_by_test_id("search-input").fill("茶")
    p.get_by_test_id("search-input").press("Enter")
    _search_done(p, "茶")
    expect(p.get_by_test_id("search-result-card").first).to_be_visible()
    tea = p.get_by_test_id("search-result-card").all_inner_texts()
    assert held, "the coffee search was sent"
    with p.expect_response(re.compile(r"q=%E5%92%96%E5%95%A1")):
        held[0].continue_()

    # then the page still shows the tea results, and nothing of coffee
    p.wait_for_timeout(300)  # let the late answer reach the page's script
    _search_done(p, "茶")
    assert p.get_by_test_id("search-result-card").all_inner_texts() == tea
    assert all("咖啡" not in text for text in tea)
    assert p.get_by_test_id("search-results").count() == 1
    _shot(p, "15-search-latest")


def test_typing_a_search_while_the_home_page_loads_keeps_the_focus_and_the_enter(
    page: Page, base_url: str
) -> None:
    p = page
    held: list[Route] = []
    home_lists = re.compile(r"/api/app/products\?sort=featured")

    # given a home page whose product lists are slow to come
    p.goto(f"{base_url}/shop#/me")
    expect(p.get_by_test_id("tab-me")).to_have_attribute("aria-current", "page")
    p.route(home_lists, lambda route: held.append(route))
    p.get_by_test_id("tab-home").click()
    p.wait_for_function("() => location.hash === '#/'")
    expect(p.locator("#main .loading")).to_be_visible()

    # when the shopper types in the search box and the home page finishes loading
    p.get_by_test_id("search-input").fill("咖啡")
    p.unroute(home_lists)
    for route in held:
        route.continue_()
    expect(p.get_by_test_id("product-card").first).to_be_visible()

    # then the box still has the focus, and Enter (no click, no refocus) searches
    assert p.evaluate("() => document.activeElement.id") == "search-input"
    p.keyboard.press("Enter")
    _search_done(p, "咖啡")
    expect(p.get_by_test_id("search-result-card").first).to_contain_text("咖啡")


def test_the_shopper_can_switch_to_english_and_keyboard_through_the_tab_bar(
    page: Page, base_url: str
) -> None:
    p = page

    # given the me page in Chinese
    p.goto(f"{base_url}/shop#/me")
    expect(p.get_by_test_id("tab-me")).to_have_attribute("aria-current", "page")

    # when English is chosen
    p.locator("[data-testid=locale-switch][data-locale=en]").click()

    # then the page, its tab bar and <html lang> switch, and the choice is kept
    expect(p.get_by_test_id("tab-cart")).to_contain_text("Cart")
    assert p.evaluate("document.documentElement.lang") == "en"
    p.reload()
    expect(p.get_by_test_id("me-login")).to_have_text("Log in / Sign up")
    _shot(p, "11-me-english")

    # and the cart is reachable with the keyboard alone, showing its empty state
    p.get_by_test_id("tab-cart").focus()
    p.keyboard.press("Enter")
    expect(p.get_by_test_id("cart-login")).to_contain_text("Log in to see your cart")
    p.locator("[data-testid=cart-login] a").focus()
    p.keyboard.press("Enter")
    p.get_by_test_id("login-code").fill("keyboard-shopper")
    p.keyboard.press("Enter")
    expect(p.get_by_test_id("gift-popup")).to_contain_text("Welcome gift")
    p.keyboard.press("Escape")
    expect(p.get_by_test_id("gift-popup")).to_have_count(0)
    expect(p.get_by_test_id("cart-empty")).to_contain_text("Your cart is empty")
    _fits_the_screen(p)
    _shot(p, "12-cart-empty-english")

    # and binds a phone in the sandbox, where the code is the 11-digit number
    p.get_by_test_id("tab-me").click()
    p.get_by_test_id("phone-code").fill("1380013")
    p.get_by_test_id("phone-submit").click()
    expect(p.locator("#phone-error")).to_have_text(
        "Enter an 11-digit mobile number starting with 1"
    )
    p.get_by_label("Phone code").fill("13800138000")
    p.get_by_test_id("phone-submit").click()
    expect(p.get_by_test_id("phone-masked")).to_have_text("Bound: 138****8000")
    _shot(p, "13-me-phone-english")

    # and names themselves: a blank name is refused on the page, a real one is saved,
    # shown at the top and still there after a reload
    p.get_by_label("Nickname (1–20 characters)").fill("   ")
    p.get_by_test_id("nickname-submit").click()
    expect(p.locator("#nickname-error")).to_have_text("Enter a nickname")
    p.get_by_label("Nickname (1–20 characters)").fill("  Keyboard  Kate ")
    p.get_by_test_id("nickname-submit").click()
    expect(p.get_by_test_id("me-name")).to_have_text("Keyboard Kate")
    p.reload()
    expect(p.get_by_test_id("me-name")).to_have_text("Keyboard Kate")
    expect(p.get_by_test_id("nickname-input")).to_have_value("Keyboard Kate")

    # and picks an avatar: a text file is refused, an image becomes the avatar
    p.get_by_label("Change avatar").set_input_files(
        {"name": "notes.png", "mimeType": "image/png", "buffer": b"not an image"}
    )
    expect(p.locator("#avatar-error")).to_contain_text("PNG, JPEG, WebP or GIF")
    p.get_by_label("Change avatar").set_input_files(
        {"name": "me.png", "mimeType": "image/png", "buffer": PIXEL_PNG}
    )
    expect(p.locator("[data-testid=me-avatar] img")).to_have_attribute(
        "src", re.compile(r"^/media/avatars/[0-9a-f]{64}\.png$")
    )
    p.reload()
    avatar = p.locator("[data-testid=me-avatar] img")
    expect(avatar).to_have_attribute("src", re.compile(r"^/media/avatars/"))
    p.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=me-avatar] img');"
        " return i && i.complete && i.naturalWidth === 1; }"
    )  # the browser drew it
    _shot(p, "14-me-profile-english")


def _png_pixel() -> bytes:
    """A real 1×1 PNG (the browser must be able to draw the avatar)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)  # 1×1, 8-bit RGBA
    pixel = zlib.compress(b"\x00\x07\xc1\x60\xff")  # filter 0, one green pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixel) + chunk(b"IEND", b"")
    )


PIXEL_PNG = _png_pixel()


REGION_FIELDS = ("province", "city", "district")


def _enter(control: Locator, field: str, value: str) -> None:
    """Type a field, or choose it where the form offers a list (省/市/区)."""
    if field in REGION_FIELDS:
        control.select_option(value)
    else:
        control.fill(value)


def _label(field: str) -> str:
    return {
        "name": "^收货人",
        "phone": "^手机号",
        "province": "^省份",
        "city": "^城市",
        "district": "^区县",
        "detail": "^详细地址",
    }[field]


def test_a_shopper_keeps_addresses_on_the_me_page_and_picks_one_at_checkout(
    page: Page, base_url: str, demo_ctx: Context
) -> None:
    p = page
    with demo_ctx.db.transaction() as session:
        sku = session.scalars(
            select(Sku)
            .join(Product, Product.id == Sku.product_id)
            .where(Product.status == ProductStatus.on_sale, Sku.is_active, Sku.stock > 5)
            .order_by(Sku.id)
        ).first()
        assert sku is not None
        product_id, sku_id = sku.product_id, sku.id

    # given a shopper who logs in and opens the me page
    p.goto(f"{base_url}/shop#/login?next=%23%2Fme")
    p.get_by_test_id("login-code").fill("address-shopper")
    p.get_by_test_id("login-submit").click()
    p.get_by_test_id("gift-close").click()
    expect(p.get_by_test_id("address-empty")).to_be_visible()

    # when they add their home, first with a phone number that is not a mobile
    p.get_by_test_id("address-add").click()
    for field, value in {
        "name": "王五",
        "phone": "12345",
        "province": "上海市",
        "city": "上海市",
        "district": "徐汇区",
        "detail": "漕溪北路 1 号",
        "postal_code": "200030",
    }.items():
        _enter(p.get_by_test_id(f"book-{field}"), field, value)
    p.get_by_test_id("address-save").click()
    expect(p.locator("#book-phone-error")).to_have_text("请输入 11 位手机号（1 开头）")
    p.get_by_test_id("book-phone").fill("13600136000")
    p.get_by_test_id("address-save").click()

    # then it is listed as the default
    entries = p.get_by_test_id("address-entry")
    expect(entries).to_have_count(1)
    expect(entries.first).to_have_attribute("data-default", "true")
    expect(entries.first).to_contain_text("漕溪北路 1 号")

    # when they add their office, edit it, and make it the default
    p.get_by_test_id("address-add").click()
    for field, value in {
        "name": "王五",
        "phone": "13700137000",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "文三路 1 号",
    }.items():
        _enter(p.get_by_test_id(f"book-{field}"), field, value)
    p.get_by_test_id("address-save").click()
    expect(entries).to_have_count(2)
    office = p.locator("[data-testid=address-entry][data-default=false]")
    office.get_by_test_id("address-edit").click()
    p.get_by_test_id("book-detail").fill("文三路 9 号")
    p.get_by_test_id("address-save").click()
    expect(office).to_contain_text("文三路 9 号")
    office.get_by_test_id("address-set-default").click()
    expect(entries.first).to_contain_text("文三路 9 号")
    expect(entries.first).to_have_attribute("data-default", "true")
    expect(p.locator("[data-testid=address-entry][data-default=true]")).to_have_count(1)
    _fits_the_screen(p)
    _shot(p, "20-address-book")

    # then checkout offers both, the default chosen, and the typed form hidden
    p.goto(f"{base_url}/shop#/checkout?product={product_id}&sku={sku_id}&qty=1")
    options = p.get_by_test_id("address-option")
    expect(options).to_have_count(2)
    expect(options.first).to_contain_text("文三路 9 号")
    expect(options.first.locator("input")).to_be_checked()
    expect(p.get_by_test_id("address-detail")).to_be_hidden()
    _fits_the_screen(p)
    _shot(p, "21-checkout-addresses")

    # when the shopper picks the home address and places the order
    options.nth(1).click()
    expect(options.nth(1).locator("input")).to_be_checked()
    expect(p.get_by_test_id("checkout-total")).to_have_text(re.compile(r"^¥[\d,]+\.\d\d$"))
    p.get_by_test_id("submit-order").click()
    expect(p.get_by_test_id("cashier-amount")).to_be_visible()

    # then the order ships to the home address, a copy kept on the order
    order_id = int(p.url.rsplit("/", 1)[1])
    with demo_ctx.db.transaction() as session:
        order = session.get(Order, order_id)
        assert order is not None
        assert order.address == {
            "name": "王五",
            "phone": "13600136000",
            "province": "上海市",
            "city": "上海市",
            "district": "徐汇区",
            "detail": "漕溪北路 1 号",
            "postal_code": "200030",
        }

    # and the order page still shows it after the address is deleted from the book
    p.goto(f"{base_url}/shop#/me")
    home = p.locator("[data-testid=address-entry][data-default=false]")
    home.get_by_test_id("address-delete").click()
    expect(entries).to_have_count(1)
    p.goto(f"{base_url}/shop#/order/{order_id}")
    expect(p.get_by_test_id("order-address")).to_contain_text("漕溪北路 1 号")


def test_the_sandbox_login_name_is_the_shoppers_name_and_the_avatar_fits_it(
    page: Page, base_url: str
) -> None:
    p = page
    # given a new shopper who logs in with a Chinese name
    p.goto(f"{base_url}/shop#/login?next=%23%2Fme")
    p.get_by_test_id("login-code").fill("张小明")
    p.get_by_test_id("login-submit").click()
    p.get_by_test_id("gift-close").click()
    # then the me page greets them by it, and the avatar shows its last two Han characters
    expect(p.get_by_test_id("me-name")).to_have_text("张小明")
    expect(p.get_by_test_id("me-avatar")).to_have_text("小明")
    # and the avatar rule holds for Latin names and no name at all (never an English "U")
    texts = p.evaluate(
        "() => [SY.avatarText('alice'), SY.avatarText('Ann 李'), SY.avatarText(''),"
        " SY.avatarText(null), SY.avatarText('欧阳娜娜')]"
    )
    assert texts == ["A", "李", "", "", "娜娜"]


def test_the_address_form_picks_province_city_and_district_from_lists(
    page: Page, base_url: str
) -> None:
    p = page
    # given a shopper adding an address on the me page
    p.goto(f"{base_url}/shop#/login?next=%23%2Fme")
    p.get_by_test_id("login-code").fill("region-shopper")
    p.get_by_test_id("login-submit").click()
    p.get_by_test_id("gift-close").click()
    p.get_by_test_id("address-add").click()
    province, city, district = (p.get_by_test_id(f"book-{f}") for f in REGION_FIELDS)

    # then 省 is a list of the provinces, and 市 waits for it
    expect(province.locator("option", has_text="浙江省")).to_have_count(1)
    expect(city).to_be_disabled()

    # when they choose a municipality, its only 市 is itself and 区 lists its districts
    province.select_option("上海市")
    assert city.locator("option").all_inner_texts()[1:] == ["上海市"]
    city.select_option("上海市")
    expect(district.locator("option", has_text="浦东新区")).to_have_count(1)

    # when they switch to 广东省, the city and district are cleared, and 东莞市 has no 区
    province.select_option("广东省")
    assert city.input_value() == "" and district.input_value() == ""
    city.select_option("东莞市")
    expect(district).to_be_disabled()
    for field, value in {"name": "李四", "phone": "13500135000", "detail": "鸿福路 1 号"}.items():
        p.get_by_test_id(f"book-{field}").fill(value)
    p.get_by_test_id("address-save").click()

    # then the address is saved as 广东省 东莞市, no district
    entry = p.get_by_test_id("address-entry")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("广东省 东莞市 鸿福路 1 号")

    # and editing it starts from the saved choices; a city with districts requires one
    p.get_by_test_id("address-edit").click()
    expect(city).to_have_value("东莞市")
    city.select_option("广州市")
    p.get_by_test_id("address-save").click()
    expect(p.locator("#book-district-error")).to_have_text("请填写此项")
    district.select_option("天河区")
    p.get_by_test_id("address-save").click()
    expect(entry).to_contain_text("广东省 广州市 天河区 鸿福路 1 号")
