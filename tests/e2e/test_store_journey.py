"""Both faces of Siyu in one real Chromium: an operator in the console (1366×768) and a
shopper in the H5 storefront (375×812) take one product from creation to refund.

Screenshots of each step are saved to ``test-artifacts/e2e/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from siyu.aftersale.models import AfterSale
from siyu.aftersale.rules import AfterSaleStatus
from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.identity.operators import create_operator
from siyu.identity.rules import Role
from siyu.models import metadata
from siyu.order.models import Order
from siyu.order.rules import OrderStatus
from tests.browser import ARTIFACTS, open_page, require_chromium, serve
from tests.conftest import make_settings

require_chromium()
pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, Page, expect  # noqa: E402

SHOTS = ARTIFACTS / "e2e"
PASSWORD = "console-e2e-2026x"
TITLE = "端到端 云南小粒咖啡豆"


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[Context, str]]:
    url = f"sqlite:///{tmp_path / 'siyu.db'}"
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    ctx = build_context(make_settings(url, tmp_path))
    with ctx.db.transaction() as session:
        create_operator(
            session,
            username="owner",
            display_name="店主",
            password=PASSWORD,
            role=Role.owner,
            now=ctx.clock.now(),
        )
    with serve(create_app(ctx=ctx, run_worker=False)) as base_url:
        yield ctx, base_url
    ctx.close()


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_product_goes_from_console_to_shopper_and_back_through_a_refund(
    shop: tuple[Context, str], browser: Browser
) -> None:
    ctx, base = shop
    errors: list[str] = []
    operator = open_page(browser, base, width=1366, height=768, errors=errors)
    shopper = open_page(browser, base, width=375, height=812, errors=errors)

    # given an operator who logs in to the console
    operator.goto(f"{base}/console/login")
    operator.fill("#username", "owner")
    operator.fill("#password", PASSWORD)
    operator.click("#login-submit")
    expect(operator.locator("#nav-products")).to_be_visible()
    _shot(operator, "01-console-dashboard")

    # and creates a category and a product with two SKUs, then puts it on sale
    operator.goto(f"{base}/console/categories")
    operator.fill("#name", "咖啡")
    operator.click("#category-submit")
    operator.goto(f"{base}/console/products")
    operator.click("#new-product")
    operator.fill("#title", TITLE)
    operator.select_option("#category_id", label="咖啡")
    operator.select_option("#role", "traffic")
    operator.fill("#spec_name", "烘焙")
    for row, (spec, price) in enumerate([("中度", "59.00"), ("深度", "69.00")]):
        operator.fill(f"#skus-{row}-spec", spec)
        operator.fill(f"#skus-{row}-price", price)
        operator.fill(f"#skus-{row}-stock", "20")
    _shot(operator, "02-console-new-product")
    operator.click("#product-submit")
    operator.click("#put-on-sale")
    expect(operator.get_by_test_id("product-status")).to_have_attribute("data-status", "on_sale")
    _shot(operator, "03-console-on-sale")

    # when a shopper finds it by search and buys the dark roast at the sandbox cashier
    shopper.goto(f"{base}/shop#/login")
    shopper.get_by_test_id("login-code").fill("e2e-shopper")
    shopper.get_by_test_id("login-submit").click()
    expect(shopper.get_by_test_id("me-name")).to_be_visible()
    shopper.get_by_test_id("tab-home").click()
    shopper.get_by_test_id("search-input").fill("咖啡豆")
    shopper.get_by_test_id("search-input").press("Enter")
    results = shopper.get_by_test_id("search-results")
    expect(results).to_have_attribute("data-q", "咖啡豆")
    expect(results).to_have_attribute("data-state", "done")
    expect(shopper.get_by_test_id("search-result-card")).to_have_count(1)
    expect(shopper.get_by_test_id("search-result-card")).to_contain_text(TITLE)
    _shot(shopper, "04-shop-search")
    shopper.get_by_test_id("search-result-card").first.click()
    shopper.locator('[data-testid=sku-chip][data-value="深度"]').click()
    expect(shopper.get_by_test_id("price")).to_have_text("¥69.00")
    _shot(shopper, "05-shop-product")
    shopper.get_by_test_id("buy-now").click()
    for field, value in {
        "name": "李四",
        "phone": "13900139000",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "文三路 1 号",
    }.items():
        control = shopper.get_by_test_id(f"address-{field}")
        if field in ("province", "city", "district"):  # 省 → 市 → 区 are chosen, not typed
            control.select_option(value)
        else:
            control.fill(value)
    expect(shopper.get_by_test_id("checkout-total")).to_have_text("¥69.00")
    _shot(shopper, "06-shop-checkout")
    shopper.get_by_test_id("submit-order").click()
    expect(shopper.get_by_test_id("cashier-amount")).to_have_text("¥69.00")
    shopper.get_by_test_id("pay-button").click()
    expect(shopper.get_by_test_id("pay-result")).to_be_visible()
    _shot(shopper, "07-shop-paid")
    shopper.get_by_test_id("view-order").click()
    expect(shopper.get_by_test_id("order-status")).to_have_attribute("data-status", "paid")
    order_id = int(shopper.url.rsplit("/", 1)[1])

    # then the operator sees the paid order and ships it
    operator.goto(f"{base}/console/orders")
    expect(operator.locator(f'tr[data-testid=order-row][data-id="{order_id}"]')).to_have_attribute(
        "data-status", "paid"
    )
    operator.goto(f"{base}/console/orders/{order_id}")
    operator.fill("#carrier", "顺丰速运")
    operator.fill("#tracking_no", "SF1234567890")
    operator.click("#ship-submit")
    expect(operator.get_by_test_id("order-status")).to_have_attribute("data-status", "shipped")
    _shot(operator, "08-console-shipped")

    # and the shopper confirms receipt and asks for a refund
    shopper.reload()
    expect(shopper.get_by_test_id("order-status")).to_have_attribute("data-status", "shipped")
    shopper.get_by_test_id("confirm-receipt").click()
    expect(shopper.get_by_test_id("order-status")).to_have_attribute("data-status", "completed")
    shopper.get_by_test_id("aftersale-request").click()
    shopper.locator("[data-testid=aftersale-kind][value=refund_only]").check()
    shopper.get_by_test_id("aftersale-reason").fill("口味不合适")
    _shot(shopper, "09-shop-aftersale-form")
    shopper.get_by_test_id("aftersale-submit").click()
    expect(shopper.get_by_test_id("aftersale-status")).to_have_attribute("data-status", "pending")

    # and the operator approves it from the after-sales queue
    operator.goto(f"{base}/console/aftersales")
    row = operator.locator("tr[data-testid=aftersale-row]").first
    aftersale_id = row.get_attribute("data-id")
    _shot(operator, "10-console-aftersale-queue")
    operator.click(f"#approve-{aftersale_id}")
    # which asks first, naming the amount, and refunds on confirmation
    expect(operator.get_by_test_id("confirm-text")).to_contain_text("¥")
    _shot(operator, "10b-console-refund-confirm")
    operator.get_by_test_id("confirm-submit").click()
    expect(operator.get_by_test_id("notice")).to_be_visible()

    # then both sides see the refund
    shopper.reload()
    expect(shopper.get_by_test_id("aftersale-status")).to_have_attribute("data-status", "refunded")
    expect(shopper.get_by_test_id("order-status")).to_have_attribute("data-status", "completed")
    _shot(shopper, "11-shop-refunded")
    operator.goto(f"{base}/console/orders/{order_id}")
    expect(operator.get_by_test_id("order-status")).to_have_attribute("data-status", "completed")
    expect(operator.locator("body")).to_contain_text(re.compile(r"¥69\.00"))
    expect(
        operator.get_by_test_id("timeline").locator('li[data-event="refund.succeeded"]')
    ).to_have_count(1)
    _shot(operator, "12-console-refunded")

    # and the database agrees, with no script error on any page
    with ctx.db.transaction() as session:
        order = session.get(Order, order_id)
        assert order is not None
        assert (order.status, order.paid_fen, order.refunded_fen) == (
            OrderStatus.completed,
            6900,
            6900,
        )
        request = session.scalars(select(AfterSale).where(AfterSale.order_id == order_id)).one()
        assert request.status is AfterSaleStatus.refunded
    assert errors == []
