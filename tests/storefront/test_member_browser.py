"""A member's day in the H5 storefront, in a real Chromium at 375×812: check in (a
one-day streak, today marked on the calendar), draw the points lottery (the odds shown
as set, the wheel landing on the prize the server gave), exchange points in the mall,
buy a coffee at the Gold member price (on the product page and in the quote, to the
fen) with their points off, pay through the fake WeChat Pay gateway's notification and
find the order's pending and spent points on its page. A visitor then sees the tiers'
prices and member day on the home page.

The app runs under uvicorn on a temporary SQLite database with the WeChat Pay provider
pointed at the fake gateway on loopback; the browser is kept on loopback too.
Screenshots go to ``test-artifacts/storefront/member-*.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select

from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.clock import FrozenClock
from siyu.identity.operators import create_operator
from siyu.identity.rules import Role
from siyu.loyalty.lottery import service as lottery
from siyu.loyalty.lottery.models import LotteryDraw
from siyu.loyalty.mall import service as mall
from siyu.loyalty.models import PointsBalance
from siyu.loyalty.rules import RewardEvent
from siyu.loyalty.service import grant_reward
from siyu.loyalty.tiers.models import Member
from siyu.models import metadata
from siyu.order.models import Order
from siyu.order.rules import OrderStatus
from siyu.payment.wechatpay import WeChatPayProvider
from tests.browser import ARTIFACTS, launch_chromium, open_page, require_chromium, serve
from tests.conftest import make_settings
from tests.fakes.wechatpay import FakeWeChatPay

require_chromium()
pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, Page, expect  # noqa: E402

SHOTS = ARTIFACTS / "storefront"
PASSWORD = "member-browser-2026x"
TITLE = "会员 云南小粒咖啡豆"
SHELF_FEN = 6900
GOLD_FEN = 6555  # 黄金会员 pays 95 %: 6900 × 0.95
GIVEN_POINTS = 500
CHECKIN_POINTS = 5  # day 1 of the default cycle
COST_POINTS = 100
MALL_POINTS = 200


def earned(paid_goods_fen: int) -> int:
    """1 point per yuan paid for the goods, times Gold's ×1.2, rounded down once."""
    return paid_goods_fen * 120 // 10_000


@pytest.fixture
def shop(
    tmp_path: Path, wechatpay_provider: WeChatPayProvider, wechatpay_clock: FrozenClock
) -> Iterator[tuple[Context, str]]:
    url = f"sqlite:///{tmp_path / 'siyu.db'}"
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    settings = make_settings(url, tmp_path, payment_provider="wechatpay")
    ctx = build_context(settings, clock=wechatpay_clock, payments={"wechatpay": wechatpay_provider})
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


@pytest.fixture
def browser() -> Iterator[Any]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with launch_chromium() as chromium:
        yield chromium


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"member-{name}.png"), full_page=True)


def _fits_the_screen(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def _admin(http: httpx.Client) -> dict[str, str]:
    login = http.post("/api/admin/login", json={"username": "owner", "password": PASSWORD})
    assert login.status_code == 200, login.text
    http.cookies.clear()
    return {"Authorization": f"Bearer {login.json()['token']}"}


def _coffee(http: httpx.Client, admin: dict[str, str]) -> dict[str, Any]:
    category = http.post("/api/admin/categories", json={"name": "咖啡"}, headers=admin)
    assert category.status_code == 201, category.text
    product = http.post(
        "/api/admin/products",
        json={
            "category_id": category.json()["id"],
            "title": TITLE,
            "role": "traffic",
            "image_urls": [],
            "skus": [{"spec": {"烘焙": "深度"}, "price_fen": SHELF_FEN, "stock": 20}],
        },
        headers=admin,
    )
    assert product.status_code == 201, product.text
    on_sale = http.post(
        f"/api/admin/products/{product.json()['id']}/status",
        json={"status": "on_sale"},
        headers=admin,
    )
    assert on_sale.status_code == 200, on_sale.text
    return dict(on_sale.json())


def test_a_member_checks_in_draws_buys_at_the_member_price_and_sees_points_pending(
    shop: tuple[Context, str], browser: Browser, fake_wechatpay: FakeWeChatPay
) -> None:
    ctx, base = shop
    now = ctx.clock.now()
    http = httpx.Client(base_url=base, timeout=10)
    admin = _admin(http)
    product = _coffee(http, admin)
    # and a lottery of 100 points a draw: 88 points at 60 %, thanks at 40 %
    with ctx.db.transaction() as session:
        campaign = lottery.save_campaign(
            session,
            campaign_id=None,
            values={
                "name": "100积分抽好礼",
                "cost_points": COST_POINTS,
                "daily_limit": 3,
                "starts_at": now - timedelta(days=1),
                "ends_at": now + timedelta(days=30),
                "status": "active",
            },
            prizes=[
                {"name": "88积分", "kind": "points", "weight_ppm": 600_000, "points": 88},
                {"name": "谢谢参与", "kind": "thanks", "weight_ppm": 400_000},
            ],
            now=now,
        )
        campaign_id = campaign.id
        mall_item_id = mall.save_item(
            session,
            item_id=None,
            values={
                "name": "深度烘焙咖啡豆兑换装",
                "kind": "goods",
                "points_price": MALL_POINTS,
                "coupon_template_id": None,
                "sku_id": product["skus"][0]["id"],
                "per_shopper_limit": 1,
                "status": "active",
                "position": 0,
            },
            now=now,
        ).id
    errors: list[str] = []
    page = open_page(browser, base, width=375, height=812, errors=errors)

    # given a shopper who logs in, is a 黄金会员 (Gold: 95 %) and holds 500 points
    page.goto(f"{base}/shop#/login?next=%23%2Fmember")
    page.get_by_test_id("login-code").fill("member-shopper")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("tier-card")).to_be_visible()
    me = http.get("/api/app/me", headers={"Authorization": f"Bearer {_token(page)}"})
    shopper_id = me.json()["id"]
    with ctx.db.transaction() as session:
        member = session.get(Member, shopper_id)
        if member is None:
            session.add(Member(shopper_id=shopper_id, growth=2500, level=2, level_since=now))
        else:
            member.level, member.growth = 2, 2500
        grant_reward(
            session,
            ctx.points,
            shopper_id=shopper_id,
            event=RewardEvent.review,
            points=GIVEN_POINTS,
            ref="browser-gift",
            now=now,
        )
    page.reload()
    card = page.get_by_test_id("tier-card")
    expect(card).to_have_attribute("data-level", "2")
    expect(page.get_by_test_id("tier-name")).to_have_text("黄金会员")
    expect(page.get_by_test_id("benefits-current")).to_contain_text("会员价 9.5折")
    expect(page.get_by_test_id("benefits-next")).to_contain_text("会员价 9折")
    expect(page.get_by_test_id("points-available")).to_have_text(str(GIVEN_POINTS))
    expect(page.get_by_test_id("points-pending")).to_have_text("0")
    # and member day (the 15th) is counted down to, ticking
    countdown = page.get_by_test_id("member-day-countdown")
    expect(countdown).to_be_visible()
    first = int(countdown.get_attribute("data-seconds") or 0)
    assert first > 0
    expect(countdown).not_to_have_attribute("data-seconds", str(first), timeout=3000)
    _fits_the_screen(page)
    _shot(page, "01-centre")

    # when they check in
    page.get_by_test_id("member-checkin").click()
    expect(page.get_by_test_id("checkin-streak")).to_have_attribute("data-streak", "0")
    page.get_by_test_id("checkin-button").click()

    # then the streak is one day, today is marked on the calendar, tomorrow's reward shown
    expect(page.get_by_test_id("checkin-result")).to_contain_text(f"获得 {CHECKIN_POINTS} 积分")
    expect(page.get_by_test_id("checkin-streak")).to_have_attribute("data-streak", "1")
    expect(page.get_by_test_id("checkin-streak")).to_have_text("1 天")
    today = page.locator('[data-testid=cal-day][data-today="true"]')
    expect(today).to_have_attribute("data-checked", "true")
    expect(page.locator('[data-testid=cal-day][data-checked="true"]')).to_have_count(1)
    expect(page.get_by_test_id("checkin-button")).to_be_disabled()
    expect(page.get_by_test_id("checkin-next-reward")).to_have_attribute("data-cycle-day", "2")
    expect(page.get_by_test_id("checkin-makeup")).to_have_count(0)  # off by default
    _fits_the_screen(page)
    _shot(page, "02-checkin")

    # and when the store turns make-up on, each missed day of this month offers it
    rule = http.get("/api/admin/checkin/rule", headers=admin).json()
    rule["makeup_enabled"] = True
    assert http.put("/api/admin/checkin/rule", json=rule, headers=admin).status_code == 200
    page.reload()
    missed = (now + timedelta(hours=8)).day - 1  # the days of this Beijing month before today
    expect(page.get_by_test_id("checkin-makeup")).to_have_count(missed)
    expect(page.get_by_test_id("checkin-makeups-left")).to_have_text(
        f"本月还可补签 {rule['makeups_per_month']} 次，每次 {rule['makeup_cost_points']} 积分"
    )
    _shot(page, "02b-checkin-makeup-on")

    # when they open the lottery from the member centre
    page.get_by_test_id("tab-me").click()
    page.get_by_test_id("me-member").click()
    page.get_by_test_id("member-lottery").click()
    page.locator(f'[data-testid=lottery-link][data-campaign-id="{campaign_id}"]').click()

    # then the prizes show the odds exactly as set, the cost and three draws left
    expect(page.get_by_test_id("lottery-odds")).to_have_text(["60%", "40%"])
    expect(page.get_by_test_id("lottery-cost")).to_have_attribute("data-points", "100")
    expect(page.get_by_test_id("lottery-left")).to_have_attribute("data-left", "3")
    balance_before = GIVEN_POINTS + CHECKIN_POINTS
    expect(page.get_by_test_id("lottery-balance")).to_have_attribute(
        "data-points", str(balance_before)
    )
    _shot(page, "03-lottery")

    # when they draw
    page.get_by_test_id("lottery-draw").click()

    # then the wheel lands on the prize the server recorded, and the balance follows
    result = page.get_by_test_id("lottery-result")
    expect(result).to_have_attribute("data-prize-id", re.compile(r"^\d+$"))
    with ctx.db.transaction() as session:
        draw = session.scalars(
            select(LotteryDraw).where(LotteryDraw.shopper_id == shopper_id)
        ).one()
        given, won = draw.given_prize_id, draw.points_won
    prize_name = "88积分" if won else "谢谢参与"
    expect(result).to_have_attribute("data-prize-id", str(given))
    expect(result).to_contain_text(prize_name)
    expect(page.get_by_test_id("lottery-left")).to_have_attribute("data-left", "2")
    balance_after = balance_before - COST_POINTS + won
    expect(page.get_by_test_id("lottery-balance")).to_have_attribute(
        "data-points", str(balance_after)
    )
    expect(page.get_by_test_id("lottery-draw-row")).to_have_count(1)
    expect(page.get_by_test_id("lottery-draw-row")).to_contain_text(prize_name)
    _fits_the_screen(page)
    _shot(page, "04-lottery-drawn")

    # when they exchange 200 points for a bag in the points mall, confirming first
    page.goto(f"{base}/shop#/member/mall")
    item = page.locator(f'[data-testid=mall-item][data-item-id="{mall_item_id}"]')
    expect(page.get_by_test_id("mall-balance")).to_have_attribute("data-points", str(balance_after))
    item.get_by_test_id("mall-exchange").click()
    expect(item).to_contain_text(f"确定用 {MALL_POINTS} 积分兑换")
    _shot(page, "04b-mall-confirm")
    item.get_by_test_id("mall-exchange-confirm").click()

    # then the points are taken and the exchange is listed, waiting to be shipped
    balance_after -= MALL_POINTS
    expect(page.get_by_test_id("mall-balance")).to_have_attribute("data-points", str(balance_after))
    rows = page.get_by_test_id("mall-exchange-row")
    expect(rows).to_have_count(1)
    expect(rows).to_have_attribute("data-status", "to_ship")
    expect(rows).to_contain_text(f"-{MALL_POINTS} 积分 · 待发货")
    # and the item (one per shopper) cannot be exchanged again
    expect(item.get_by_test_id("mall-exchange")).to_be_disabled()
    expect(item.get_by_test_id("mall-exchange")).to_have_attribute("data-state", "limit")
    _fits_the_screen(page)
    _shot(page, "04c-mall-exchanged")

    # when they open the coffee: the shelf price, and their Gold price under it
    page.goto(f"{base}/shop#/product/{product['id']}")
    expect(page.get_by_test_id("price")).to_have_text("¥69.00")
    mine = page.get_by_test_id("member-price")
    expect(mine).to_have_attribute("data-kind", "mine")
    expect(mine).to_have_attribute("data-price-fen", str(GOLD_FEN))
    expect(page.get_by_test_id("member-price-mine")).to_have_text("¥65.55")
    expect(mine).to_contain_text("黄金会员")
    _fits_the_screen(page)
    _shot(page, "05-product-member-price")

    # and buy it: the quote names the member price, to the fen
    page.get_by_test_id("buy-now").click()
    for field, value in {
        "name": "李四",
        "phone": "13900139000",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "文三路 1 号",
    }.items():
        control = page.get_by_test_id(f"address-{field}")
        if field in ("province", "city", "district"):
            control.select_option(value)
        else:
            control.fill(value)
    member_row = page.get_by_test_id("quote-member-price")
    expect(member_row).to_have_attribute("data-amount-fen", str(GOLD_FEN))
    expect(member_row).to_have_attribute("data-saving-fen", str(SHELF_FEN - GOLD_FEN))
    expect(member_row).to_contain_text("¥65.55")
    tier_discount = page.locator('[data-testid=quote-discount][data-source="member_tier"]')
    expect(tier_discount).to_have_attribute("data-amount-fen", str(SHELF_FEN - GOLD_FEN))
    expect(tier_discount).to_contain_text("黄金会员价")
    expect(page.get_by_test_id("checkout-total")).to_have_text("¥65.55")
    _fits_the_screen(page)
    _shot(page, "06-checkout-quote")

    # when they use their points too (100 points = ¥1; they hold far less than half)
    expect(page.get_by_test_id("points-available-use")).to_have_attribute(
        "data-points", str(balance_after)
    )
    page.get_by_test_id("use-points").check()
    used = page.get_by_test_id("points-used")
    expect(used).to_have_attribute("data-points", str(balance_after))
    expect(used).to_have_attribute("data-amount-fen", str(balance_after))
    spent = balance_after
    paid_fen = GOLD_FEN - spent
    expect(page.get_by_test_id("checkout-total")).to_have_text(
        f"¥{paid_fen // 100}.{paid_fen % 100:02d}"
    )
    expect(member_row).to_have_attribute("data-amount-fen", str(GOLD_FEN))
    points_row = page.locator('[data-testid=quote-discount][data-source="points"]')
    expect(points_row).to_have_attribute("data-amount-fen", str(spent))
    _shot(page, "06b-checkout-points")
    page.get_by_test_id("submit-order").click()
    expect(page.get_by_test_id("cashier-amount")).to_be_visible()
    order_id = int(page.url.rsplit("/", 1)[1])
    with ctx.db.transaction() as session:
        order = session.get(Order, order_id)
        assert order is not None
        order_no, total_fen = order.order_no, order.total_fen
    assert total_fen == paid_fen

    # when WeChat Pay takes the money and notifies Siyu
    headers, body = fake_wechatpay.pay(order_no)
    notified = http.post("/api/payment/notify/wechatpay", content=body, headers=headers)
    assert notified.status_code == 204, notified.text

    # then the order page shows it paid, the points it earns pending and those it spent
    expected_pending = earned(paid_fen)  # ⌊(6555 − spent) × 1.2 / 100⌋: 75 or 76
    assert expected_pending in (75, 76)
    page.goto(f"{base}/shop#/order/{order_id}")
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "paid")
    pending = page.get_by_test_id("order-points-pending")
    expect(pending).to_have_attribute("data-points", str(expected_pending))
    expect(pending).to_have_text(f"+{expected_pending} 积分")
    expect(page.get_by_test_id("order-points-spent")).to_have_attribute("data-points", str(spent))
    expect(page.get_by_test_id("order-points-spent")).to_have_text(f"-{spent} 积分")
    _fits_the_screen(page)
    _shot(page, "07-order-points-pending")

    # and the member centre counts them as pending, in English too
    page.goto(f"{base}/shop#/member")
    balance_after -= spent
    expect(page.get_by_test_id("points-pending")).to_have_text(str(expected_pending))
    expect(page.get_by_test_id("points-available")).to_have_text(str(balance_after))
    # and the history lists every change, newest first
    page.get_by_test_id("points-history-link").click()
    entries = page.get_by_test_id("points-entry")
    deltas = [expected_pending, -spent, -MALL_POINTS] + ([won] if won else [])
    deltas += [-COST_POINTS, CHECKIN_POINTS, GIVEN_POINTS]
    expect(entries).to_have_count(len(deltas))
    assert [int(e.get_attribute("data-delta") or 0) for e in entries.all()] == deltas
    expect(entries.first).to_have_attribute("data-bucket", "pending")
    _shot(page, "07b-points-history")
    page.get_by_test_id("tab-me").click()
    page.locator('[data-testid=locale-switch][data-locale="en"]').click()
    page.goto(f"{base}/shop#/member")
    expect(page.get_by_test_id("tier-name")).to_have_text("Gold")
    expect(page.get_by_test_id("benefits-current")).to_contain_text("Member price: 5 % off")
    _shot(page, "08-centre-en")

    # and a failing server is a message on the page, never a broken one
    page.route("**/api/app/member/card", lambda route: route.fulfill(status=500, body="down"))
    page.route("**/api/app/points/orders/*", lambda route: route.fulfill(status=502, body=""))
    page.goto(f"{base}/shop#/order/{order_id}")
    expect(page.get_by_test_id("order-points-error")).to_be_visible()
    expect(page.get_by_test_id("order-status")).to_have_attribute("data-status", "paid")
    page.goto(f"{base}/shop#/member")
    expect(page.get_by_test_id("page-error")).to_be_visible()
    expect(page.get_by_test_id("error")).to_be_visible()
    _shot(page, "08b-centre-server-error")
    page.unroute("**/api/app/member/card")
    page.unroute("**/api/app/points/orders/*")

    # and the database agrees, with no script error on any page
    with ctx.db.transaction() as session:
        paid = session.get(Order, order_id)
        assert paid is not None
        assert (paid.status, paid.paid_fen) == (OrderStatus.paid, total_fen)
        balance = session.get(PointsBalance, shopper_id)
        assert balance is not None
        assert (balance.available, balance.pending) == (0, expected_pending)

    # and a visitor sees the tiers' prices ("会员价 ¥55.20 起": 钻石 pays 80 %) and the
    # countdown to member day on the home page
    visitor = open_page(browser, base, width=375, height=812, errors=errors)
    visitor.goto(f"{base}/shop#/product/{product['id']}")
    line = visitor.get_by_test_id("member-price")
    expect(line).to_have_attribute("data-kind", "from")
    expect(line).to_have_attribute("data-price-fen", "5520")
    expect(visitor.get_by_test_id("member-price-from")).to_have_text("¥55.20 起")
    expect(visitor.get_by_test_id("member-price-tiers")).to_contain_text("黄金会员 ¥65.55")
    _shot(visitor, "09-visitor-member-prices")
    visitor.goto(f"{base}/shop#/")
    expect(visitor.get_by_test_id("member-day")).to_have_attribute("data-state", "countdown")

    # when the store makes today (Beijing date) a member day, the banner says so
    program = http.get("/api/admin/member-tiers", headers=admin).json()
    program["member_day"]["days_of_month"] = [(now + timedelta(hours=8)).day]
    saved = http.put("/api/admin/member-tiers", json=program, headers=admin)
    assert saved.status_code == 200, saved.text
    visitor.reload()
    expect(visitor.get_by_test_id("member-day")).to_have_attribute("data-state", "today")
    expect(visitor.get_by_test_id("member-day-today")).to_have_text("会员日 · 双倍积分 · 包邮")
    _fits_the_screen(visitor)
    _shot(visitor, "10-home-member-day")
    http.close()
    assert errors == []


def _token(page: Page) -> str:
    token = page.evaluate("window.localStorage.getItem('siyu.token')")
    assert isinstance(token, str)
    return token
