"""The 会员与积分 page in a real Chromium: an analyst opens it from the sidebar, both
plotly charts draw without a script error, and the tables carry the store's numbers.
Screenshots go to ``test-artifacts/analytics-loyalty/``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.clock import FrozenClock
from siyu.identity.operators import create_operator
from siyu.identity.rules import Role
from tests.analytics.test_loyalty_analytics import (
    local,
    seed_checkins,
    seed_points,
    seed_repurchase,
)
from tests.browser import ARTIFACTS, launch_chromium, open_page, require_chromium, serve
from tests.conftest import make_settings
from tests.helpers import PASSWORD

require_chromium()
pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect  # noqa: E402

SHOTS = ARTIFACTS / "analytics-loyalty"


@pytest.fixture
def shop(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[Context, str]]:
    clock = FrozenClock(local(11, 3, 12))
    ctx = build_context(make_settings(sqlite_url, tmp_path), clock=clock)
    with ctx.db.transaction() as session:
        seed_points(session)
        seed_repurchase(session, base=10)
        seed_checkins(session, base=20)
        create_operator(
            session, username="analyst", display_name="分析师", password=PASSWORD,
            role=Role.analyst, now=clock.now(),
        )  # fmt: skip
    with serve(create_app(ctx=ctx, run_worker=False)) as base_url:
        yield ctx, base_url
    ctx.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


def test_an_analyst_reads_the_loyalty_page_with_both_charts(
    shop: tuple[Context, str], browser: Any
) -> None:
    _, base = shop
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    page = open_page(browser, base, width=1366, height=900, errors=errors)

    # given an analyst signed in
    page.goto(f"{base}/console/login")
    page.fill("#username", "analyst")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")

    # when they open 会员与积分 from the sidebar and ask for 1–3 Nov
    page.click("#nav-analytics_loyalty")
    expect(page.locator("#loyalty-form")).to_be_visible()
    page.fill("#date_from", "2026-11-01")
    page.fill("#date_to", "2026-11-03")
    page.click("#loyalty-submit")

    # then both charts draw and the numbers are the store's
    expect(page.locator("#points-chart .main-svg").first).to_be_visible()
    expect(page.locator("#tiers-chart .main-svg").first).to_be_visible()
    expect(page.get_by_test_id("loyalty-outstanding")).to_have_attribute("data-points", "108")
    expect(page.locator('tr[data-testid=points-row][data-period="2026-11-03"]')).to_have_attribute(
        "data-expired", "50"
    )
    page.screenshot(path=str(SHOTS / "zh-loyalty.png"), full_page=True)
    assert errors == []
