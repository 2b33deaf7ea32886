"""Issue 12 on the analytics pages: numbers an operator can trust (no ``nan``, ``inf`` or
scientific notation, a degenerate CLV fit said in words, one-time buyers explained),
shoppers by name, goals flagging events the store never received, every tab opening
on a query with results, and the catalog's names instead of raw codes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from siyu.analytics.queries.clv import CLV_MIN_HISTORY_DAYS, CLV_MIN_REPEAT, ClvResult
from siyu.analytics.store import AnalyticsStore
from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.clock import SHANGHAI, FrozenClock
from siyu.identity.models import Shopper
from siyu.identity.rules import Role
from siyu.web.console.analytics import sales
from tests.conftest import make_settings
from tests.console.conftest import csrf_of, new_operator, sign_in
from tests.helpers import event_dict as event
from tests.helpers import insert_events

HISTORY = "date_from=2026-08-01&date_to=2026-11-01&horizon=30"
DAY = "date_from=2026-11-01&date_to=2026-11-01"
SPEND = [1200, 3800, 900, 2500, 6400, 1500, 800, 4200, 2000, 3100, 1000, 5200]
TABS = [
    "overview",
    "funnel",
    "retention",
    "sessions",
    "rfm",
    "repurchase",
    "clv",
    "channels",
    "paths",
    "portfolio",
    "loyalty",
    "goals",
]


def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def store_events() -> list[dict[str, object]]:
    """Twelve shoppers 201…212 buying since August (shopper 200 + i repeats i % 4
    times, so 204, 208 and 212 bought once), and on 1 Nov two visits on the store's
    pages through 好友分享 and 公众号 with cart adds, and shopper 7's orders."""
    rows = []
    order_id = 5000
    for i in range(1, 13):
        first = local(8, 1, 12) + timedelta(days=3 * i)
        for k in range(1 + i % 4):
            order_id += 1
            amount = SPEND[i - 1] + 400 * k * (1 if i % 2 else -1)
            rows.append(
                event(
                    "order.paid",
                    "",
                    first + timedelta(days=9 * k),
                    shopper=200 + i,
                    amount=amount,
                    order=order_id,
                )
            )
    for anon, channel, minute in (("d1", "share", 0), ("d2", "official_account", 30)):
        rows += [
            event("$pageview", anon, local(11, 1, 10, minute), channel=channel,
                  page="pages/index/index"),
            event("$pageview", anon, local(11, 1, 10, minute + 1), page="pages/product/detail"),
            event("add_to_cart", anon, local(11, 1, 10, minute + 2)),
            event("$pageview", anon, local(11, 1, 10, minute + 3), page="pages/cart/index"),
        ]  # fmt: skip
    rows += [  # shopper 7: three orders over two days, the two on 1 Nov one purchase
        event("order.paid", "d1", local(10, 31, 15), shopper=7, amount=1000, order=703),
        event("order.paid", "d1", local(11, 1, 12, 5), shopper=7, amount=3000, order=701),
        event("order.paid", "d1", local(11, 1, 15), shopper=7, amount=2000, order=702),
    ]
    return rows


@pytest.fixture
def wctx(
    sqlite_url: str, tmp_path: Path, clock: FrozenClock, analytics_store: AnalyticsStore
) -> Iterator[Context]:
    insert_events(analytics_store, store_events())
    context = build_context(
        make_settings(sqlite_url, tmp_path), clock=clock, analytics=analytics_store
    )
    yield context
    context.close()


@pytest.fixture
def wclient(wctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx=wctx, run_worker=False)) as test_client:
        yield test_client


def add_shopper(ctx: Context, shopper_id: int, nickname: str, phone: str | None) -> None:
    now = ctx.clock.now()
    with ctx.db.transaction() as session:
        session.add(
            Shopper(
                id=shopper_id,
                openid=f"openid-{shopper_id}",
                nickname=nickname,
                phone_encrypted=ctx.cipher.encrypt(phone) if phone else None,
                registered_at=now,
                last_login_at=now,
            )
        )


def visible(html: str) -> str:
    """The words an operator sees: no scripts, tags or attributes."""
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


# ------------------------------------------------------------------------ numbers


def test_plain_numbers_never_use_scientific_notation() -> None:
    from siyu.web.console.analytics.common import plain_number

    assert plain_number(47877.3) == "47,877"
    assert plain_number(9.038e5) == "903,800"
    assert plain_number(0.243) == "0.2430"
    assert plain_number(12.3456) == "12.35"
    assert plain_number(2.5e-9) == "0"
    assert plain_number(8.5, 2, trim=True) == "8.5"
    assert plain_number(1_000_000_000, 2, trim=True) == "1,000,000,000"
    for value in (float("nan"), float("inf"), -float("inf"), None):
        assert plain_number(value) == "—"


def test_durations_read_in_words_in_both_languages() -> None:
    from siyu.web.console.analytics.common import format_seconds

    assert format_seconds(42) == "42 秒"
    assert format_seconds(158) == "2 分 38 秒"
    assert format_seconds(3 * 3600 + 20 * 60) == "3 小时 20 分"
    assert format_seconds(42, "en") == "42 s"
    assert format_seconds(158, "en") == "2 min 38 s"
    assert format_seconds(None) == "—"


def test_a_degenerate_clv_fit_says_why_and_what_data_is_needed(
    wclient: TestClient, wctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a fit that cannot tell shoppers apart
    sign_in(wclient, new_operator(wctx, Role.analyst))
    degenerate = ClvResult(
        as_of=wctx.clock.now(),
        customers_seen=40,
        repeat_customers=12,
        history_days=45,
        problem="analytics.clv.degenerate",
        degenerate="rates",
    )
    monkeypatch.setattr(sales, "run_clv", lambda *_: degenerate)

    # when
    zh = wclient.get(f"/console/analytics/clv?{HISTORY}")
    wclient.get("/console/lang/en?next=/console/analytics/clv")
    en = wclient.get(f"/console/analytics/clv?{HISTORY}")

    # then the page says it in words, with what is needed and what there is
    assert zh.status_code == 200
    block = re.search(r'data-testid="clv-degenerate"[^>]*>([^<]+)<', zh.text)
    assert block, zh.text[-2000:]
    assert "无法区分常购和偶购的顾客" in block.group(1)
    assert f"至少 {CLV_MIN_REPEAT} 位" in block.group(1)
    assert f"{CLV_MIN_HISTORY_DAYS} 天" in block.group(1)
    assert "12 位和 45 天" in block.group(1)
    assert 'data-testid="clv-params"' not in zh.text
    assert "frequent shoppers from occasional ones" in en.text
    assert "analytics." not in visible(en.text)


def test_clv_explains_one_time_buyers_and_prints_plain_numbers(
    wclient: TestClient, wctx: Context
) -> None:
    # given
    sign_in(wclient, new_operator(wctx, Role.analyst))

    # when
    page = wclient.get(f"/console/analytics/clv?{HISTORY}")

    # then 204, 208 and 212 never bought again: "未复购", not 100.0 %
    assert page.status_code == 200, page.text[-2000:]
    assert 'data-testid="clv-params"' in page.text
    rows = re.findall(
        r'data-testid="clv-customer" data-shopper-id="(\d+)".*?</tr>', page.text, re.S
    )
    assert len(rows) == 13
    one_time = re.findall(
        r'data-shopper-id="(\d+)"[^>]*>(?:(?!</tr>).)*data-testid="clv-no-repeat"', page.text, re.S
    )
    assert sorted(one_time) == ["204", "208", "212"]
    assert "未复购" in page.text and "100.0%" not in page.text
    assert 'data-testid="clv-ranking" data-one-time="3"' in page.text
    assert "按未来期望价值从高到低排列" in page.text
    text = visible(page.text)
    for bad in ("nan", "inf", "e+", "e-0"):
        assert bad not in text.lower().replace("infinite", ""), bad


def test_no_analytics_tab_prints_nan_inf_or_scientific_notation(
    wclient: TestClient, wctx: Context
) -> None:
    sign_in(wclient, new_operator(wctx, Role.owner))
    for tab in TABS:
        page = wclient.get(f"/console/analytics/{tab}")
        assert page.status_code == 200, (tab, page.text[-1000:])
        words = visible(page.text)
        assert not re.search(r"\bnan\b|\binf\b|\d[eE][+-]\d", words), tab


# ---------------------------------------------------------------------- shoppers


def test_clv_and_rfm_name_shoppers_by_nickname_and_masked_phone(
    wclient: TestClient, wctx: Context
) -> None:
    # given
    add_shopper(wctx, 201, "张小明", "13800138000")
    add_shopper(wctx, 202, "", "13912345678")
    sign_in(wclient, new_operator(wctx, Role.analyst))

    # when
    clv = wclient.get(f"/console/analytics/clv?{HISTORY}")
    rfm = wclient.get("/console/analytics/rfm?date_from=2026-08-01&date_to=2026-11-01")

    # then
    for page in (clv, rfm):
        assert page.status_code == 200
        assert "张小明 · 138****8000" in page.text
        assert "139****5678" in page.text
        assert "13800138000" not in page.text
        assert not re.search(r">#\d+<", page.text)
        assert 'data-shopper-id="201"' in page.text
    assert "顾客 203" in clv.text  # no profile: named by id in words
    chart = re.search(r'id="clv-data">(.*?)</script>', clv.text, re.S)
    assert chart and "张小明 · 138****8000" in chart.group(1)
    assert '"#20' not in chart.group(1)


# ------------------------------------------------------------------------- goals


def test_a_goal_on_an_event_the_store_never_received_is_flagged(
    wclient: TestClient, wctx: Context
) -> None:
    # given the default goals: $pageview and order.paid, both received
    csrf = sign_in(wclient, new_operator(wctx, Role.operator))
    page = wclient.get("/console/analytics/goals")
    assert 'data-testid="goal-unseen-event"' not in page.text
    picker = re.search(r'<select id="activity_event".*?</select>', page.text, re.S)
    assert picker, "the activity event is a picker"
    assert '<option value="$pageview" selected>浏览页面</option>' in picker.group(0)
    assert '<option value="add_to_cart">加入购物车</option>' in picker.group(0)
    assert 'id="activity_event_custom"' in page.text

    # when a custom event the store has never received is chosen
    form = {
        "csrf_token": csrf or csrf_of(page.text),
        "dau": "5000",
        "retention_pct": "40",
        "shopper_growth_pct": "30",
        "conversion_pct": "8",
        "repurchase_pct": "35",
        "ltv_growth_pct": "50",
        "activity_event": "$pageview",
        "conversion_event": "order.paid",
        "conversion_event_custom": "checkout_done",
    }
    saved = wclient.post("/console/analytics/goals", data=form, follow_redirects=False)
    shown = wclient.get("/console/analytics/goals")

    # then it is kept, and flagged beside the field and the goal that counts it
    assert saved.status_code == 303
    flags = re.findall(r'data-testid="goal-unseen-event" data-event="([^"]+)">([^<]+)<', shown.text)
    assert [e for e, _ in flags] == ["checkout_done", "checkout_done"]
    assert "还没有收到过「checkout_done」事件" in flags[0][1]
    conversion_row = re.search(r'data-testid="goal-conversion_pct".*?</tr>', shown.text, re.S)
    assert conversion_row and 'data-testid="goal-unseen-event"' in conversion_row.group(0)
    assert '<option value="checkout_done" selected>checkout_done</option>' in shown.text


# ---------------------------------------------------------------------- defaults


def test_retention_opens_on_page_views_with_results(wclient: TestClient, wctx: Context) -> None:
    sign_in(wclient, new_operator(wctx, Role.analyst))
    first = wclient.get("/console/analytics/retention", follow_redirects=False)
    assert first.status_code == 303
    assert "target_event=%24pageview" in first.headers["location"]
    assert "returning_event=%24pageview" in first.headers["location"]
    page = wclient.get(first.headers["location"])
    assert page.status_code == 200
    assert 'data-testid="retention-row"' in page.text
    assert '<option value="$pageview" selected>浏览页面</option>' in page.text


def test_every_tab_opened_bare_shows_results(wclient: TestClient, wctx: Context) -> None:
    sign_in(wclient, new_operator(wctx, Role.owner))
    for tab in TABS:
        page = wclient.get(f"/console/analytics/{tab}")
        assert page.status_code == 200, tab
        assert 'data-testid="error-summary"' not in page.text, tab
        shown = r'<section class="panel"|data-testid="overview-cards"|data-testid="clv-summary"'
        assert re.search(shown, page.text), tab


# ------------------------------------------------------------------------- names


def test_pages_channels_and_events_show_the_catalog_names(
    wclient: TestClient, wctx: Context
) -> None:
    sign_in(wclient, new_operator(wctx, Role.analyst))
    sessions = wclient.get(f"/console/analytics/sessions?{DAY}&breakdown=channel")
    paths = wclient.get(f"/console/analytics/paths?{DAY}")
    channels = wclient.get(f"/console/analytics/channels?{DAY}")
    funnel = wclient.get(f"/console/analytics/funnel?{DAY}", follow_redirects=True)
    for name, page in {"sessions": sessions, "paths": paths, "channels": channels}.items():
        assert page.status_code == 200, name
    # pages by name (the path stays in data attributes)
    sessions_text = visible(sessions.text)
    assert "商品详情页" in sessions_text and "首页" in sessions_text
    assert "pages/product/detail" not in sessions_text
    assert 'data-page="pages/product/detail"' in sessions.text
    paths_text = visible(paths.text)
    assert "商品详情页" in paths_text and "pages/" not in paths_text
    sankey = re.search(r'id="paths-data">(.*?)</script>', paths.text, re.S)
    assert sankey and "1. 首页" in sankey.group(1)
    # channels by their group names
    assert "好友分享" in visible(sessions.text) and "公众号" in visible(sessions.text)
    channels_text = visible(channels.text)
    assert "好友分享" in channels_text
    assert not re.search(r"\b(share|official_account|direct)\b", channels_text)
    # events by name
    funnel_text = visible(funnel.text)
    assert "浏览页面" in funnel_text and "加入购物车" in funnel_text and "支付成功" in funnel_text
    assert not re.search(r"\$pageview|add_to_cart|order\.paid", funnel_text)
    # and the CSV keeps the codes
    export = wclient.get(f"/console/analytics/sessions/pages.csv?{DAY}")
    assert "pages/product/detail" in export.text
