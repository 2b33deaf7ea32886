"""An operator finds where shoppers leave the funnel, in a real Chromium at 1366×768: picks
the steps on simulated traffic, sees the plotly chart, opens a drop-off step and
downloads the persons who dropped there as CSV.

Screenshots are saved to ``test-artifacts/e2e/``.
"""

from __future__ import annotations

import csv
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from siyu.analytics.store import AnalyticsStore
from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.clock import SHANGHAI
from siyu.identity.operators import create_operator
from siyu.identity.rules import Role
from siyu.models import metadata
from tests.browser import ARTIFACTS, open_page, require_chromium, serve
from tests.conftest import make_settings

require_chromium()
pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, Page, expect  # noqa: E402

SHOTS = ARTIFACTS / "e2e"
PASSWORD = "funnel-e2e-2026x"
STEPS = ["page_view", "product_view", "add_to_cart", "checkout"]
PERSONS = 36
COLUMNS = [
    "event_id",
    "event",
    "anonymous_id",
    "shopper_id",
    "timestamp",
    "client_time",
    "received_at",
    "channel",
    "properties",
]


def simulate(store: AnalyticsStore) -> dict[int, list[str]]:
    """A few hundred events for a few dozen persons, all yesterday (Shanghai). Person i
    reaches ``STEPS[: reach(i)]`` in order, with browsing noise around it; every fourth is a
    signed-in shopper. Returns, per drop-off step k (2..4), the person ids who reached step
    k−1 but not step k."""
    rng = random.Random(20261124)
    yesterday = datetime.now(SHANGHAI).date() - timedelta(days=1)
    start = datetime.combine(yesterday, time(8, 0), SHANGHAI)
    rows = []
    dropped: dict[int, list[str]] = {k: [] for k in range(2, len(STEPS) + 1)}
    for i in range(PERSONS):
        anon = f"dev-{i:02d}"
        shopper = 1000 + i if i % 4 == 0 else 0
        person = str(shopper) if shopper else f"a:{anon}"
        reach = [1, 2, 2, 3, 3, 4][i % 6]  # steps reached, in order
        if reach < len(STEPS):
            dropped[reach + 1].append(person)
        t = start + timedelta(minutes=10 * i)
        channel = rng.choice(["search", "share", "official_account", ""])
        events = []
        for step in STEPS[:reach]:
            t += timedelta(minutes=rng.randint(1, 20))
            events.append((step, t))
            # noise: browsing between steps, and repeat page views
            for _ in range(rng.randint(1, 3)):
                noise = t + timedelta(seconds=rng.randint(5, 50))
                events.append((rng.choice(["search", "page_view", "share"]), noise))
        # a last look around, which starts no step beyond the ones reached
        events.append(("page_view", t + timedelta(minutes=5)))
        for name, when in events:
            ts = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
            rows.append((uuid.uuid4().hex, name, anon, shopper, ts, ts, ts, channel, "{}"))
    assert 150 <= len(rows) <= 600
    store.insert("events", COLUMNS, rows)
    return {k: sorted(v) for k, v in dropped.items()}


@pytest.fixture
def shop(tmp_path: Path, analytics_store: AnalyticsStore) -> Iterator[tuple[Context, str]]:
    url = f"sqlite:///{tmp_path / 'siyu.db'}"
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    ctx = build_context(make_settings(url, tmp_path), analytics=analytics_store)
    with ctx.db.transaction() as session:
        create_operator(
            session,
            username="operator",
            display_name="运营",
            password=PASSWORD,
            role=Role.operator,
            now=ctx.clock.now(),
        )
    with serve(create_app(ctx=ctx, run_worker=False)) as base_url:
        yield ctx, base_url
    ctx.close()


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_an_operator_downloads_the_persons_who_left_the_funnel(
    shop: tuple[Context, str], browser: Browser, analytics_store: AnalyticsStore
) -> None:
    ctx, base = shop
    dropped = simulate(analytics_store)
    errors: list[str] = []
    page = open_page(
        browser,
        base,
        width=1366,
        height=768,
        errors=errors,
        accept_downloads=True,
        timeout_ms=15_000,
    )

    # given an operator who logs in and opens the funnel page
    page.goto(f"{base}/console/login")
    page.fill("#username", "operator")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.click("#nav-analytics_funnel")
    expect(page.locator("#funnel-form")).to_be_visible()

    # when they pick the four steps (the keyboard reaches every field) and run it
    for index, step in enumerate(STEPS, 1):
        page.select_option(f"#step-{index}", step)
    page.select_option("#window_unit", "day")
    page.focus("#prop_value")
    page.keyboard.press("Tab")
    expect(page.locator("#funnel-submit")).to_be_focused()
    _shot(page, "20-funnel-steps")
    page.keyboard.press("Enter")

    # then the plotly chart and the per-step counts are there
    expect(page.locator("#funnel-chart .main-svg").first).to_be_visible()
    counts = [PERSONS]
    for k in range(2, len(STEPS) + 1):
        counts.append(counts[-1] - len(dropped[k]))
    for k, count in enumerate(counts, 1):
        expect(page.locator(f'tr[data-testid=funnel-step][data-step="{k}"]')).to_have_attribute(
            "data-count", str(count)
        )
    _shot(page, "21-funnel-chart")

    # when they open the drop-off at "add to cart" and download its persons
    page.get_by_test_id("dropoff-3").click()
    expect(page.get_by_test_id("dropoff-person")).to_have_count(len(dropped[3]))
    expect(page.locator("#funnel-chart .main-svg").first).to_be_visible()
    _shot(page, "22-funnel-dropoff")
    with page.expect_download() as download_info:
        page.get_by_test_id("dropoff-csv-3").click()
    download = download_info.value

    # then the CSV holds exactly the persons who viewed a product but never added to cart
    path = download.path()
    assert path is not None
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["person_id"]
    assert [r[0] for r in rows[1:]] == dropped[3]
    assert download.suggested_filename == "funnel-dropoff-step-3.csv"

    # and the other analytics pages open from the tabs without script errors
    page.get_by_test_id("tab-retention").click()
    page.select_option("#target_event", "page_view")
    page.select_option("#returning_event", "page_view")
    page.click("#retention-submit")
    expect(page.get_by_test_id("retention-cell").first).to_be_visible()
    _shot(page, "23-retention")
    page.get_by_test_id("tab-rfm").click()
    expect(page.get_by_test_id("rfm-grid")).to_be_visible()
    _shot(page, "24-rfm")
    page.get_by_test_id("tab-goals").click()
    expect(page.locator("#goals-form")).to_be_visible()
    _shot(page, "25-goals")
    assert errors == []
