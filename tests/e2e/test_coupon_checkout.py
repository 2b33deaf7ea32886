"""A new shopper in the H5 storefront (375×812, real Chromium): the new-shopper gift
pop-up, the claim center, the cart's "再买 ¥X 可减 ¥30.00" hint, a full reduction and
a coupon applied, the checkout coupon picker, a price change caught at submit, and an
order paid at exactly the quoted total.

The store is set up through the admin API: one product at ¥129.00, a promotion
满199减30, a claimable coupon 满100减20 and a register gift 无门槛减5 (not claimable).
Screenshots go to the test's tmp dir.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select

from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.coupon.models import ShopperCoupon
from siyu.identity.operators import create_operator
from siyu.identity.rules import Role
from siyu.models import metadata
from siyu.order.models import Order
from siyu.order.rules import OrderStatus
from tests.browser import open_page, require_chromium, serve
from tests.conftest import make_settings

require_chromium()
pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, Page, expect  # noqa: E402

PASSWORD = "coupon-e2e-2026x"
PRICE_FEN = 12900


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Context, str, dict[str, Any]]]:
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
    with (
        serve(create_app(ctx=ctx, run_worker=False)) as base_url,
        httpx.Client(base_url=base_url, timeout=10) as admin,
    ):
        yield ctx, base_url, _set_up_store(ctx, admin)
    ctx.close()


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def _set_up_store(ctx: Context, admin: httpx.Client) -> dict[str, Any]:
    login = _post(admin, "/api/admin/login", {"username": "owner", "password": PASSWORD})
    admin.cookies.clear()
    admin.headers["Authorization"] = f"Bearer {login['token']}"
    category = _post(admin, "/api/admin/categories", {"name": "茶叶"})
    product = _post(
        admin,
        "/api/admin/products",
        {
            "category_id": category["id"],
            "title": "明前龙井 250g",
            "role": "profit",
            "image_urls": ["https://img.example.com/tea.jpg"],
            "skus": [{"spec": {"规格": "250g"}, "price_fen": PRICE_FEN, "stock": 20}],
        },
    )
    _post(admin, f"/api/admin/products/{product['id']}/status", {"status": "on_sale"})
    now = ctx.clock.now()
    promotion = _post(
        admin,
        "/api/admin/promotions",
        {
            "name": "满199减30",
            "kind": "full_reduction",
            "tiers": [{"threshold_fen": 19900, "amount_fen": 3000}],
            "starts_at": (now - timedelta(hours=1)).isoformat(),
            "ends_at": (now + timedelta(days=7)).isoformat(),
        },
    )
    claimable = _post(
        admin,
        "/api/admin/coupon-templates",
        {
            "name": "领券中心 满100减20",
            "kind": "cash_off",
            "threshold_fen": 10000,
            "amount_fen": 2000,
            "valid_days": 7,
        },
    )
    gift = _post(
        admin,
        "/api/admin/coupon-templates",
        {
            "name": "新人礼包 无门槛5元",
            "kind": "cash_off",
            "amount_fen": 500,
            "valid_days": 7,
            "gift_trigger": "register",
            "claimable": False,
        },
    )
    return {
        "admin": admin,
        "product": product,
        "promotion": promotion,
        "claimable": claimable,
        "gift": gift,
    }


def _shopper_api(page: Page, base_url: str) -> httpx.Client:
    token = page.evaluate("localStorage.getItem('siyu.token')")
    assert token
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def test_a_new_shopper_claims_a_coupon_fills_the_cart_to_the_hint_and_pays_the_quote(
    store: tuple[Context, str, dict[str, Any]], browser: Browser, tmp_path: Path
) -> None:
    ctx, base, setup = store
    admin: httpx.Client = setup["admin"]
    errors: list[str] = []
    p = open_page(browser, base, width=375, height=812, errors=errors)

    # given a new shopper who logs in: the new-shopper gift pops up once
    p.goto(f"{base}/shop#/login?next=%23%2F")
    p.get_by_test_id("login-code").fill("coupon-shopper")
    p.get_by_test_id("login-submit").click()
    popup = p.get_by_test_id("gift-popup")
    expect(popup).to_be_visible()
    expect(popup).to_contain_text("新人礼包")
    expect(popup.get_by_test_id("gift-coupon")).to_have_count(1)
    expect(popup.get_by_test_id("gift-coupon")).to_contain_text("无门槛减5")
    p.screenshot(path=str(tmp_path / "01-gift.png"))
    with p.expect_response(lambda r: r.url.endswith("/api/app/coupons/gift/seen")) as seen:
        p.get_by_test_id("gift-close").click()
    assert seen.value.status == 204
    expect(popup).to_have_count(0)
    shopper = _shopper_api(p, base)
    assert shopper.get("/api/app/coupons/gift").json() == {"show": False, "coupons": []}

    # when they claim the 满100减20 coupon in the claim center (linked from home)
    p.get_by_test_id("home-coupon-center").click()
    card = p.locator(f'[data-testid=center-coupon][data-template-id="{setup["claimable"]["id"]}"]')
    expect(card).to_contain_text("满100减20")
    expect(card).to_contain_text("领取后 7 天内有效")
    card.get_by_test_id("coupon-claim").click()
    claimed = card.get_by_test_id("coupon-claim")
    expect(claimed).to_have_attribute("data-state", "claimed")
    expect(claimed).to_have_text("已领取")
    expect(claimed).to_be_disabled()
    p.screenshot(path=str(tmp_path / "02-center.png"))
    mine = shopper.get("/api/app/coupons/mine").json()
    assert sorted(c["name"] for c in mine) == ["新人礼包 无门槛5元", "领券中心 满100减20"]
    coupon_id = next(c["id"] for c in mine if c["template_id"] == setup["claimable"]["id"])
    gift_id = next(c["id"] for c in mine if c["template_id"] == setup["gift"]["id"])

    # and their coupons show under 未使用 in the account area
    p.get_by_test_id("tab-me").click()
    p.get_by_test_id("me-coupons").click()
    expect(p.get_by_test_id("my-coupon")).to_have_count(2)
    p.locator("[data-testid=coupon-tab][data-status=used]").click()
    expect(p.get_by_test_id("coupons-empty")).to_be_visible()

    # and put one ¥129.00 item in the cart: the cart hints at the full reduction
    p.goto(f"{base}/shop#/product/{setup['product']['id']}")
    p.get_by_test_id("add-to-cart").click()
    expect(p.get_by_test_id("cart-badge").first).to_have_text("1")
    p.get_by_test_id("action-cart").click()
    gap = 19900 - PRICE_FEN
    hint = p.get_by_test_id("quote-hint")
    expect(hint).to_have_count(1)
    expect(hint).to_contain_text(f"再买 ¥{gap // 100}.{gap % 100:02d} 可减 ¥30.00")
    assert hint.get_attribute("data-missing-fen") == str(gap)
    # (the best coupon already applies: 满100减20 on ¥129.00)
    expect(p.get_by_test_id("cart-total")).to_have_text("¥109.00")
    p.screenshot(path=str(tmp_path / "03-cart-hint.png"), full_page=True)
    assert p.evaluate("document.documentElement.scrollWidth") <= 375

    # when they raise the quantity to 2 (¥258.00)
    p.get_by_test_id("cart-qty").fill("2")
    p.get_by_test_id("cart-qty").press("Tab")

    # then 满199减30 and the coupon both apply and the hint is gone
    discounts = p.get_by_test_id("quote-discount")
    expect(discounts).to_have_count(2)
    expect(p.locator("[data-testid=quote-discount][data-source=promotion]")).to_contain_text(
        "满199减30"
    )
    expect(p.locator("[data-testid=quote-discount][data-source=promotion]")).to_contain_text(
        "-¥30.00"
    )
    expect(p.locator("[data-testid=quote-discount][data-source=coupon]")).to_contain_text(
        "满100减20"
    )
    expect(p.get_by_test_id("quote-hint")).to_have_count(0)
    expect(p.get_by_test_id("cart-total")).to_have_text("¥208.00")
    expect(p.get_by_test_id("cart-saving")).to_have_text("已优惠 ¥50.00")
    p.screenshot(path=str(tmp_path / "04-cart-discounts.png"), full_page=True)

    # and at checkout the picker shows the coupon applied and the gift usable
    p.get_by_test_id("cart-checkout").click()
    for field, value in {
        "name": "王五",
        "phone": "13700137000",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "龙井路 1 号",
    }.items():
        control = p.get_by_test_id(f"address-{field}")
        if field in ("province", "city", "district"):  # 省 → 市 → 区 are chosen, not typed
            control.select_option(value)
        else:
            control.fill(value)
    expect(p.get_by_test_id("checkout-total")).to_have_text("¥208.00")
    chosen = p.locator(f'[data-testid=coupon-option][data-coupon-id="{coupon_id}"]')
    other = p.locator(f'[data-testid=coupon-option][data-coupon-id="{gift_id}"]')
    expect(chosen).to_have_attribute("aria-pressed", "true")
    expect(chosen).to_contain_text("本券抵 ¥20.00")
    expect(other).to_have_attribute("aria-pressed", "false")
    expect(other).to_contain_text("用此券共省 ¥35.00")
    expect(p.get_by_test_id("coupon-status")).to_have_text("已选 1 张，抵 ¥20.00")

    # and choosing no coupon, then the gift, then the claimed coupon re-quotes each time
    p.get_by_test_id("coupon-none").click()
    expect(p.get_by_test_id("checkout-total")).to_have_text("¥228.00")
    expect(p.get_by_test_id("coupon-none")).to_have_attribute("aria-pressed", "true")
    other.click()
    expect(p.get_by_test_id("checkout-total")).to_have_text("¥223.00")
    chosen.click()
    expect(p.get_by_test_id("checkout-total")).to_have_text("¥208.00")
    expect(chosen).to_have_attribute("aria-pressed", "true")
    p.screenshot(path=str(tmp_path / "05-checkout.png"), full_page=True)
    assert p.evaluate("document.documentElement.scrollWidth") <= 375

    # when the promotion is paused behind the shopper's back, submitting is refused and
    # the new price is shown; once it is back, the next submit is refused again
    promotion_id = setup["promotion"]["id"]
    status_path = f"/api/admin/promotions/{promotion_id}/status"
    assert admin.post(status_path, json={"status": "paused"}).status_code == 200
    p.get_by_test_id("submit-order").click()
    expect(p.get_by_test_id("error")).to_contain_text("价格已变化")
    expect(p.get_by_test_id("checkout-total")).to_have_text("¥238.00")
    assert admin.post(status_path, json={"status": "active"}).status_code == 200
    p.get_by_test_id("submit-order").click()
    expect(p.get_by_test_id("error")).to_contain_text("¥208.00")
    expect(p.get_by_test_id("checkout-total")).to_have_text("¥208.00")
    expect(chosen).to_have_attribute("aria-pressed", "true")

    # then the order is placed and paid at the quoted total
    p.get_by_test_id("submit-order").click()
    expect(p.get_by_test_id("cashier-amount")).to_have_text("¥208.00")
    p.get_by_test_id("pay-button").click()
    expect(p.get_by_test_id("pay-result")).to_be_visible()
    p.get_by_test_id("view-order").click()
    expect(p.get_by_test_id("order-status")).to_have_attribute("data-status", "paid")
    expect(p.get_by_test_id("order-total")).to_have_text("¥208.00")
    order_id = int(p.url.rsplit("/", 1)[1])

    # and the API and the database agree: one order, both discounts, the coupon used
    order = shopper.get(f"/api/app/orders/{order_id}").json()
    assert (order["status"], order["total_fen"], order["paid_fen"]) == ("paid", 20800, 20800)
    assert (order["subtotal_fen"], order["discount_fen"]) == (25800, 5000)
    used = shopper.get("/api/app/coupons/mine", params={"status": "used"}).json()
    assert [c["id"] for c in used] == [coupon_id]
    p.get_by_test_id("tab-me").click()
    p.get_by_test_id("me-coupons").click()
    p.locator("[data-testid=coupon-tab][data-status=used]").click()
    expect(p.locator(f'[data-testid=my-coupon][data-coupon-id="{coupon_id}"]')).to_have_attribute(
        "data-status", "used"
    )
    with ctx.db.transaction() as session:
        assert session.scalars(select(Order)).one().status is OrderStatus.paid
        row = session.get(ShopperCoupon, coupon_id)
        assert row is not None and row.order_id == order_id
    shopper.close()
    assert errors == []
