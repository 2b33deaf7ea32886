"""The 大促压测 pages: the list of stored rehearsal reports (an empty state with the how-to
first), one report with its charts, tables and checks, in zh-CN and en."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html import unescape

import pytest
from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.identity.rules import Role
from siyu.rehearse.report import build_report, reports_dir, save_report
from tests.console.conftest import new_operator, sign_in
from tests.console_walk import en_findings, scrub, zh_findings

START = datetime(2026, 12, 7, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
STATS = [
    {"name": "browse", "num_requests": 120, "num_failures": 0,
     "response_times": {"12": 100, "40": 19, "200": 1}},
    {"name": "place", "num_requests": 30, "num_failures": 1,
     "response_times": {"45": 29, "380": 1}},
    {"name": "pay", "num_requests": 29, "num_failures": 0, "response_times": {"60": 29}},
]  # fmt: skip
FAILURES = "Method,Name,Error,Occurrences\nPOST,place,409 insufficient_stock,1\n"
HISTORY = (
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s\n"
    "1796630108,3,,Aggregated,4.00,0.00\n1796630109,5,,Aggregated,9.50,0.50\n"
)


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    return sqlite_url


def store_report(ctx: Context) -> dict[str, object]:
    report = build_report(
        run_id="20261207T003000Z-c0ffee", url="http://127.0.0.1:8000", started_at=START,
        ended_at=START, shoppers=5, ramp=5, duration_s=20, locust_stats=STATS,
        failures_csv=FAILURES, history_csv=HISTORY,
        shopper_side={"placed": [], "paid": [], "products": 12, "promotions": [1, 2]},
        database={"placed": 29, "paid": 29, "skus_checked": 40, "negative": [],
                  "oversold": [], "units_sold": 29},
    )  # fmt: skip
    save_report(report, reports_dir(ctx.settings.data_dir))
    return report


def test_empty_list_says_how_to_run_one(client: TestClient, ctx: Context) -> None:
    sign_in(client, new_operator(ctx, Role.analyst))
    page = client.get("/console/rehearsals")
    assert page.status_code == 200
    assert 'id="nav-rehearsals"' in page.text and 'aria-current="page"' in page.text
    assert 'data-testid="empty"' in page.text and "还没有压测报告" in page.text
    assert "只能对沙箱支付的商店压测" in page.text


def test_a_stored_report_is_listed_and_shown(client: TestClient, ctx: Context) -> None:
    store_report(ctx)
    sign_in(client, new_operator(ctx, Role.operator))
    listing = client.get("/console/rehearsals")
    assert listing.status_code == 200
    row = re.search(r'<tr data-testid="rehearsal-row"[^>]*>.*?</tr>', listing.text, re.S)
    assert row and 'data-id="20261207T003000Z-c0ffee"' in row.group()
    assert 'data-ok="yes"' in row.group() and "2026-12-07 08:30:00" in row.group()

    page = client.get("/console/rehearsals/20261207T003000Z-c0ffee")
    assert page.status_code == 200
    text = page.text
    assert 'data-testid="verdict" data-ok="yes"' in text
    steps = re.findall(r'data-testid="step-row" data-step="(\w+)"', text)
    assert steps == ["browse", "place", "pay"]
    assert "浏览列表" in text and "下单" in text and "完成支付" in text
    assert 'data-kind="placed" data-locust="29" data-database="29"' in text
    assert "负库存 0 个" in text
    assert "409 库存不足" in text and "insufficient_stock" not in text.split("<script")[0]
    latency = json.loads(re.search(r'id="latency-data">(.*?)</script>', text, re.S).group(1))  # type: ignore[union-attr]
    assert [tr["name"] for tr in latency["data"]] == ["p50", "p95", "p99"]
    assert latency["data"][2]["y"] == [40.0, 380.0, 60.0]  # p99 of each step
    throughput = json.loads(re.search(r'id="throughput-data">(.*?)</script>', text, re.S).group(1))  # type: ignore[union-attr]
    assert throughput["data"][0]["x"] == [0, 1] and throughput["data"][0]["y"] == [4.0, 9.5]
    assert "/console/static/plotly" in text

    client.cookies.set("siyu_lang", "en")
    english = client.get("/console/rehearsals/20261207T003000Z-c0ffee")
    assert "Browse the list" in english.text and "Sale rehearsal" in english.text


def test_unknown_or_bad_report_names_are_404(client: TestClient, ctx: Context) -> None:
    sign_in(client, new_operator(ctx, Role.analyst))
    for name in ("20990101T000000Z-ffffff", "..%2F..%2Fetc", "a" * 200):
        page = client.get(f"/console/rehearsals/{name}")
        assert page.status_code == 404, name
        assert 'data-testid="error-page"' in page.text


def test_support_staff_may_not_read_rehearsals(client: TestClient, ctx: Context) -> None:
    store_report(ctx)
    sign_in(client, new_operator(ctx, Role.support))
    assert client.get("/console/rehearsals").status_code == 403
    assert client.get("/console/rehearsals/20261207T003000Z-c0ffee").status_code == 403


def visible_text(html: str) -> str:
    """What the page shows: no scripts, no tags, the language switcher taken out."""
    html = re.sub(r"<script.*?</script>|<style.*?</style>", " ", html, flags=re.S)
    html = re.sub(r'<nav class="lang".*?</nav>', " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", "\n", html))


def test_the_pages_speak_one_language(client: TestClient, ctx: Context) -> None:
    """The console walk's checks (tests/console_walk.py) on both pages, with a report."""
    store_report(ctx)
    username = new_operator(ctx, Role.analyst)
    sign_in(client, username)
    data = [username, "analyst 同事", "http://127.0.0.1:8000"]
    for locale, findings in (("zh-CN", zh_findings), ("en", en_findings)):
        client.cookies.set("siyu_lang", locale)
        for path in ("/console/rehearsals", "/console/rehearsals/20261207T003000Z-c0ffee"):
            text = scrub(visible_text(client.get(path).text), data)
            assert findings(path, text) == [], (locale, path)
