"""The owner walks every console page of a demo store in a real Chromium, in zh-CN and
then in en, and reads what is on the screen.

In zh-CN no page shows ``nan``/``inf``, scientific notation, a raw event, channel, page
or audit code, the ``default`` stacking group, a duration in Latin units (``42s``) or an
English word outside a short allow-list (tests/console_walk.py); in en no page shows
Chinese. What the store's users typed (product titles, nicknames, addresses, notes,
coupon/promotion/channel names…) is data and is taken out before checking: by value, as
read from the database (DATA_COLUMNS), and by a few selectors (DATA_SELECTORS).

The pages are the sidebar's, the analytics tabs, and one detail page of each kind linked
from them (a product, an order, a coupon, a promotion…), each opened with its default
query. Every finding is printed as (page, snippet); a screenshot of each page is saved to
``test-artifacts/console-walk/``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from sqlalchemy import create_engine, select

from siyu.aftersale.models import AfterSale
from siyu.analytics.store import AnalyticsStore
from siyu.app import create_app
from siyu.bootstrap import build_context
from siyu.catalog.models import Category, Product, Sku
from siyu.channel.models import Channel
from siyu.clock import SHANGHAI, FrozenClock
from siyu.coupon.models import CouponTemplate
from siyu.devtools.demo import seed_demo
from siyu.devtools.demo_data import DEMO_PASSWORD
from siyu.devtools.simulate import simulate
from siyu.identity.models import Operator, Shopper
from siyu.loyalty.lottery.models import LotteryCampaign, LotteryPrize
from siyu.loyalty.mall.models import MallItem
from siyu.loyalty.models import PointsEntry
from siyu.loyalty.tiers.models import MemberTier
from siyu.models import metadata
from siyu.order.models import Order, OrderLine
from siyu.promotion.models import Promotion
from siyu.worker import Worker
from tests.browser import ARTIFACTS, launch_chromium, open_page, require_chromium, serve
from tests.conftest import make_settings
from tests.console_walk import Finding, en_findings, report, scrub, zh_findings

require_chromium()
pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Page  # noqa: E402

SHOTS = ARTIFACTS / "console-walk"
DEMO_SHOPPERS, HISTORY_DAYS, HISTORY_SHOPPERS, SEED = 10, 2, 15, 12

# What the store's users typed, read from the database and taken out of the page text.
DATA_COLUMNS = (
    Category.name,
    Product.title,
    Product.subtitle,
    Sku.spec,
    Sku.sku_code,
    OrderLine.title,
    OrderLine.spec,
    Order.address,
    Order.note,
    Order.carrier,
    Shopper.nickname,
    Operator.username,
    Operator.display_name,
    CouponTemplate.name,
    CouponTemplate.description,
    Promotion.name,
    Promotion.description,
    Channel.code,
    Channel.name,
    Channel.note,
    AfterSale.reason,
    AfterSale.decision_reason,
    MemberTier.name_zh,
    MemberTier.name_en,
    MallItem.name,
    LotteryCampaign.name,
    LotteryPrize.name,
    PointsEntry.reason,
)
# Elements whose text is not the console's own: the language switcher names each
# language in itself.
DATA_SELECTORS = ("nav.lang",)
ERRORS: list[str] = []  # script errors of the walk's tab, in order
SKIPPED = re.compile(r"^/console/(?:lang/|logout|login)|\.csv$")


@dataclass
class Demo:
    base: str
    data: list[str]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if not re.fullmatch(r"[a-z_]+", key):  # a spec's 颜色, not an address's "detail"
                yield key
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


@pytest.fixture
def demo(tmp_path: Path, analytics_store: AnalyticsStore) -> Iterator[Demo]:
    """``make demo`` in small: a seeded store, then the last days of tracked visits and
    orders simulated up to today's midnight, served on the system clock."""
    url = f"sqlite:///{tmp_path / 'siyu.db'}"
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    settings = make_settings(url, tmp_path)
    seeding = build_context(settings, analytics=analytics_store)
    try:
        seed_demo(seeding, shoppers=DEMO_SHOPPERS)
    finally:
        seeding.close()
    today = datetime.now(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=HISTORY_DAYS)
    history = build_context(settings, clock=FrozenClock(start), analytics=analytics_store)
    try:
        simulate(
            history,
            days=HISTORY_DAYS,
            shoppers=HISTORY_SHOPPERS,
            seed=SEED,
            demo_shoppers=DEMO_SHOPPERS,
        )
        Worker(history).drain()
    finally:
        history.close()
    ctx = build_context(settings, analytics=analytics_store)
    with ctx.db.transaction() as session:
        data = [
            s
            for column in DATA_COLUMNS
            for v in session.scalars(select(column))
            for s in _strings(v)
        ]
    try:
        with serve(create_app(ctx=ctx, run_worker=False)) as base:
            yield Demo(base, data)
    finally:
        ctx.close()


def _open(page: Page, url: str) -> int:
    # Console pages are rendered on the server and draw their charts from inline
    # scripts: once "load" has fired, what the operator reads is there.
    response = page.goto(url, wait_until="load")
    return response.status if response is not None else 0


def _shot(page: Page, locale: str, path: str) -> None:
    name = path.removeprefix("/console/").replace("/", "-") or "home"
    page.screenshot(path=str(SHOTS / f"{locale}-{name}.png"), full_page=True)


HREFS = "links => links.map(a => a.href)"


def _links(page: Page) -> list[str]:
    hrefs: list[str] = page.eval_on_selector_all("a[href]", HREFS)
    return [urlsplit(h).path for h in hrefs]


def _shape(path: str) -> str:
    """A page's kind: its path with ids generalised (one detail page per kind)."""
    return re.sub(r"/\d+(?=/|$)", "/{id}", path)


VISIBLE_TEXT = """(selectors) => {
  const marked = [];
  for (const selector of selectors) {
    for (const el of document.querySelectorAll(selector)) {
      el.setAttribute("data-walk-data", "");
      marked.push(el);
    }
  }
  const style = document.createElement("style");
  style.textContent = "[data-walk-data] { display: none !important; }";
  document.head.appendChild(style);
  const parts = [document.body.innerText];
  // what a picker offers when opened, and chart labels drawn in SVG
  for (const el of document.querySelectorAll("select option, svg text")) {
    const owner = el.closest("select") || el;
    if (owner.checkVisibility() && !el.closest("[data-walk-data]")) parts.push(el.textContent);
  }
  for (const el of document.querySelectorAll("input[placeholder], textarea[placeholder]")) {
    if (el.checkVisibility()) parts.push(el.placeholder);
  }
  style.remove();
  for (const el of marked) el.removeAttribute("data-walk-data");
  return parts.join("\\n");
}"""


def read_page(page: Page, base: str, path: str, locale: str, data: Iterable[str]) -> list[Finding]:
    """Open ``path`` with its default query, save a screenshot and check what it shows
    (and that its scripts ran without an error)."""
    seen = len(ERRORS)
    status = _open(page, base + path)
    _shot(page, locale, path)
    if status != 200:
        return [Finding("page does not open", path, f"HTTP {status}", "")]
    text = scrub(page.evaluate(VISIBLE_TEXT, list(DATA_SELECTORS)), data)
    check = zh_findings if locale == "zh-CN" else en_findings
    errors = [Finding("script error", path, e, locale) for e in ERRORS[seen:]]
    return check(path, text) + errors


def walk_zh(page: Page, base: str, data: Iterable[str]) -> tuple[list[str], list[Finding]]:
    """Read the sidebar's pages, then the console pages linked from them (analytics
    tabs, new/edit forms, detail pages), one page per kind. Returns the pages read."""
    _open(page, f"{base}/console/dashboard")
    nav = [urlsplit(h).path for h in page.eval_on_selector_all("nav.sidenav a[href]", HREFS)]
    assert len(nav) >= 15, nav
    pages: list[str] = []
    shapes: set[str] = set()

    def take(path: str) -> bool:
        shape = _shape(path)
        if not path.startswith("/console/") or SKIPPED.search(path) or shape in shapes:
            return False
        shapes.add(shape)
        pages.append(path)
        return True

    findings: list[Finding] = []
    linked: list[str] = []
    for path in nav:
        take(path)
    for path in nav:
        findings += read_page(page, base, path, "zh-CN", data)
        linked += [link for link in _links(page) if take(link)]
    for path in linked:
        findings += read_page(page, base, path, "zh-CN", data)
    return pages, findings


def test_the_owner_reads_no_raw_code_or_broken_number_on_any_console_page(demo: Demo) -> None:
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    ERRORS.clear()
    with launch_chromium() as browser:
        page = open_page(
            browser, demo.base, width=1366, height=900, errors=ERRORS, timeout_ms=30_000
        )
        # given the owner signed in to the demo store's console, in zh-CN
        _open(page, f"{demo.base}/console/login")
        page.fill("#username", "admin")
        page.fill("#password", DEMO_PASSWORD)
        page.click("#login-submit")
        page.wait_for_url(re.compile(r"/console/(?!login)"))

        # when they read every page in zh-CN
        pages, findings = walk_zh(page, demo.base, demo.data)
        assert any("/analytics/" in p for p in pages), pages
        assert any(re.search(r"/\d+$", p) for p in pages), pages

        # and again after switching the console to English
        _open(page, f"{demo.base}/console/lang/en?next={quote('/console/dashboard')}")
        assert page.locator("html").get_attribute("lang") == "en"
        for path in pages:
            findings += read_page(page, demo.base, path, "en", demo.data)

    # then no page shows a raw code, a broken number or the other language
    print("\npages walked:", *pages, sep="\n  ")
    summary = report(findings)
    (SHOTS / "findings.txt").write_text(summary + "\n", encoding="utf-8")
    print(summary)
    assert not findings, summary


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("未来 90 天期望购买次数 nan", "non-finite number"),
        ("仍活跃概率 inf", "non-finite number"),
        ("a = 9.038e+05", "scientific notation"),
        ("事件 $pageview", "raw event code"),
        ("加购 add_to_cart", "raw event code"),
        ("支付 order.paid", "raw event code"),
        ("渠道 official_account", "raw channel code"),
        ("direct\t14\t4", "raw channel code"),
        ("页面 pages/product/detail", "raw page path"),
        ("操作 order.ship", "raw dotted code (audit action)"),
        ('详情 {"status": "paid"}', "raw JSON"),
        ("叠加组 default · 优先级 0", "raw stacking group"),
        ("平均停留 42s", "duration in Latin units"),
        ("平均停留 2m 38s", "duration in Latin units"),
        ("分组 group_share", "raw channel code"),
        ("属性 stack_group", "raw snake_case code"),
        ("暂无 data", "English word"),
    ],
)
def test_each_zh_check_catches_what_it_is_for(text: str, kind: str) -> None:
    assert [f.kind for f in zh_findings("/console/x", text)] == [kind]


def test_legitimate_zh_text_is_not_flagged() -> None:
    text = (
        "GMV ¥1,234.50 · UV 16 · PV 34 · ROI 1.2 · CAC · LTV · CLV · RFM R / F / M · "
        "BG/NBD 和 Gamma-Gamma · SKU · 导出 CSV · 订单 ID 2026120712345678 · Siyu · WeChat · "
        "H5 · API · URL · 小程序码 scene · 店主 Admin · 12px · 300 ms · 12 KB · 领取后 N 天 · "
        "42 秒 · 2 分 38 秒 · 2026-12-07 10:00 · 66.67% · +697.7%"
    )
    assert zh_findings("/console/x", text) == []


def test_data_is_taken_out_and_en_flags_chinese_only() -> None:
    text = scrub(
        "Product 红色口红 · Size M · Category 美妆、零食", ["红色口红", "M", "美妆", "零食"]
    )
    assert [f.text for f in en_findings("/console/x", text)] == ["、"]
    kinds = [f.kind for f in en_findings("/console/x", "10 means 10% off (九折) · 1.5e+03")]
    assert kinds == ["scientific notation"]
