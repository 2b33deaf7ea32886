"""The analytics pages: funnel with drop-off persons, retention heatmap, RFM grid and stage
goals render for analysts, refuse support, export exact CSV for a small hand-built event
set, and answer bad input with a friendly 4xx page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from siyu.analytics.store import AnalyticsStore
from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.clock import SHANGHAI, FrozenClock
from siyu.identity.rules import Role
from siyu.web.console.analytics import customers as console_analytics
from tests.conftest import make_settings
from tests.console.conftest import csrf_of, new_operator, sign_in
from tests.helpers import event_dict as row
from tests.helpers import insert_events

FUNNEL = "step=page_view&step=add_to_cart&step=checkout&date_from=2026-11-01&date_to=2026-11-01"
RFM = "date_from=2026-10-01&date_to=2026-11-01"
RETENTION = (
    "target_event=page_view&returning_event=page_view&period=day&intervals=2"
    "&date_from=2026-10-31&date_to=2026-11-01"
)
PAGES = ["funnel", "retention", "rfm", "channels", "paths", "goals"]
DAY = "date_from=2026-11-01&date_to=2026-11-01"


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def hand_built_events() -> list[dict[str, object]]:
    """Funnel page_view → add_to_cart → checkout on 1 Nov (Shanghai): d1 completes it,
    d2 and shopper 7 stop after add_to_cart, d3 and d4 after page_view; d1 also visited on
    31 Oct. d1 viewed /home → /product/1 → /cart, d2 /home → /product/1. Shopper 7 paid two orders (10.00 + 20.00), shopper 8 one (5.00)."""
    return [
        row("page_view", "d1", at(31, 9, month=10)),
        row("page_view", "d1", at(1, 10), channel="search"),
        row("add_to_cart", "d1", at(1, 10, 5)),
        row("checkout", "d1", at(1, 10, 20)),
        row("page_view", "d2", at(1, 11), channel="share"),
        row("add_to_cart", "d2", at(1, 11, 30)),
        row("page_view", "d3", at(1, 12), channel="share"),
        row("page_view", "d4", at(1, 13)),
        row("checkout", "d4", at(1, 13, 1)),  # out of order: checkout without a cart
        row("page_view", "d5", at(1, 14), shopper=7, channel="search"),
        row("add_to_cart", "d5", at(1, 15), shopper=7),
        row("$pageview", "d1", at(1, 10, 1), page="/home"),
        row("$pageview", "d1", at(1, 10, 4), page="/product/1"),
        row("$pageview", "d1", at(1, 10, 6), page="/cart"),
        row("$pageview", "d2", at(1, 11, 1), page="/home"),
        row("$pageview", "d2", at(1, 11, 2), page="/product/1"),
        row("order.paid", "", at(20, 12, month=10), shopper=7, amount=1000, order=101),
        row("order.paid", "", at(30, 12, month=10), shopper=7, amount=2000, order=102),
        row("order.paid", "", at(25, 12, month=10), shopper=8, amount=500, order=103),
    ]


@pytest.fixture
def actx(
    sqlite_url: str, tmp_path: Path, clock: FrozenClock, analytics_store: AnalyticsStore
) -> Iterator[Context]:
    insert_events(analytics_store, hand_built_events())
    context = build_context(
        make_settings(sqlite_url, tmp_path), clock=clock, analytics=analytics_store
    )
    yield context
    context.close()


@pytest.fixture
def aclient(actx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx=actx, run_worker=False)) as test_client:
        yield test_client


def test_an_analyst_sees_every_analytics_page(aclient: TestClient, actx: Context) -> None:
    # given
    sign_in(aclient, new_operator(actx, Role.analyst))

    # when
    responses = {page: aclient.get(f"/console/analytics/{page}") for page in PAGES}

    # then
    for page, response in responses.items():
        assert response.status_code == 200, (page, response.text[:500])
        assert f'id="nav-analytics_{page}"' in response.text
        assert 'data-testid="error-page"' not in response.text
    assert 'id="step-1"' in responses["funnel"].text
    assert '<option value="add_to_cart">' in responses["funnel"].text
    # an analyst may read the goals but not edit them
    assert 'id="goals-form"' not in responses["goals"].text


@pytest.mark.parametrize(
    "path",
    [
        "/console/analytics/funnel",
        f"/console/analytics/funnel/dropoff.csv?{FUNNEL}&dropoff=2",
        "/console/analytics/retention",
        f"/console/analytics/retention.csv?{RETENTION}",
        "/console/analytics/rfm",
        f"/console/analytics/rfm.csv?{RFM}",
        "/console/analytics/channels",
        f"/console/analytics/channels.csv?{DAY}",
        "/console/analytics/paths",
        f"/console/analytics/paths.csv?{DAY}",
        "/console/analytics/goals",
    ],
)
def test_support_is_refused_with_a_friendly_page(
    path: str, aclient: TestClient, actx: Context
) -> None:
    # given
    sign_in(aclient, new_operator(actx, Role.support))

    # when
    response = aclient.get(path)

    # then
    assert response.status_code == 403
    assert 'data-testid="error-page"' in response.text
    assert "nav-analytics" not in response.text


def test_the_funnel_counts_steps_and_lists_the_persons_who_dropped_off(
    aclient: TestClient, actx: Context
) -> None:
    # given
    sign_in(aclient, new_operator(actx, Role.analyst))

    # when
    page = aclient.get(f"/console/analytics/funnel?{FUNNEL}&dropoff=3")
    csv2 = aclient.get(f"/console/analytics/funnel/dropoff.csv?{FUNNEL}&dropoff=2")
    csv3 = aclient.get(f"/console/analytics/funnel/dropoff.csv?{FUNNEL}&dropoff=3")

    # then
    assert page.status_code == 200, page.text
    for step, count in ((1, 5), (2, 3), (3, 1)):
        assert f'data-step="{step}" data-count="{count}"' in page.text
    assert 'id="funnel-chart"' in page.text and '"type": "funnel"' in page.text
    assert 'data-testid="dropoff-2"' in page.text and 'data-testid="dropoff-csv-3"' in page.text
    assert page.text.count('data-testid="dropoff-person"') == 2
    assert csv2.status_code == 200
    assert csv2.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in csv2.headers["content-disposition"]
    assert csv2.text == "person_id\na:d3\na:d4\n"
    assert csv3.text == "person_id\n7\na:d2\n"


def test_the_funnel_page_opens_on_the_store_funnel_of_the_events_it_has(
    aclient: TestClient, actx: Context
) -> None:
    # given a store whose events include $pageview, add_to_cart and order.paid (no
    # product_view)
    sign_in(aclient, new_operator(actx, Role.analyst))

    # when the page is opened without a funnel
    first = aclient.get("/console/analytics/funnel?date_from=2026-10-01", follow_redirects=False)

    # then it goes to the store funnel made of the steps that exist, keeping the dates
    assert first.status_code == 303
    assert first.headers["location"] == (
        "/console/analytics/funnel?date_from=2026-10-01"
        "&step=%24pageview&step=add_to_cart&step=order.paid"
    )
    page = aclient.get(first.headers["location"])
    assert page.status_code == 200, page.text
    assert 'id="funnel-chart"' in page.text
    assert '<option value="$pageview" selected>浏览页面</option>' in page.text
    # steps and chart read as the catalog's names, not the raw event codes
    steps = re.findall(
        r'<tr data-testid="funnel-step"[^>]*>\s*<th scope="row">([^<]+)</th>', page.text
    )
    assert steps == ["1. 浏览页面", "2. 加入购物车", "3. 支付成功"]
    assert "1. $pageview" not in page.text
    aclient.cookies.set("siyu_lang", "en")
    english = aclient.get(first.headers["location"])
    assert '<option value="order.paid" selected>Order paid</option>' in english.text


def test_the_funnel_breaks_down_by_channel(aclient: TestClient, actx: Context) -> None:
    # given
    sign_in(aclient, new_operator(actx, Role.operator))

    # when
    page = aclient.get(f"/console/analytics/funnel?{FUNNEL}&breakdown=channel")

    # then
    assert page.status_code == 200, page.text
    assert 'data-testid="funnel-breakdown"' in page.text
    for value in ("search", "share", ""):
        assert f'data-testid="breakdown-row" data-value="{value}"' in page.text


def test_retention_shows_a_heatmap_and_exports_the_cohorts(
    aclient: TestClient, actx: Context
) -> None:
    # given
    sign_in(aclient, new_operator(actx, Role.analyst))

    # when
    page = aclient.get(f"/console/analytics/retention?{RETENTION}")
    csv = aclient.get(f"/console/analytics/retention.csv?{RETENTION}")

    # then
    assert page.status_code == 200, page.text
    assert page.text.count('data-testid="retention-cell"') == 3
    assert "background-color: rgba(7,193,96," in page.text
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.text == (
        "cohort_start,cohort_size,offset,persons,percentage\n"
        "2026-10-31,1,0,1,100.00\n"
        "2026-10-31,1,1,1,100.00\n"
        "2026-11-01,5,0,5,100.00\n"
    )


def test_rfm_grid_lists_eight_segments_and_exports_customers(
    aclient: TestClient, actx: Context
) -> None:
    # given
    sign_in(aclient, new_operator(actx, Role.analyst))

    # when
    page = aclient.get(f"/console/analytics/rfm?{RFM}")
    csv = aclient.get(f"/console/analytics/rfm.csv?{RFM}")
    only = aclient.get(f"/console/analytics/rfm.csv?{RFM}&segment=general_retain")

    # then
    assert page.status_code == 200, page.text
    assert page.text.count('data-testid="rfm-segment-') == 8
    assert (
        'data-testid="rfm-segment-important_value" data-customers="1" data-revenue="3000"'
        in page.text
    )
    assert page.text.count('data-testid="rfm-customer"') == 2
    assert csv.text == (
        "shopper_id,segment,recency_days,frequency,monetary_fen,r_score,f_score,m_score\n"
        "7,important_value,2,2,3000,2,2,2\n"
        "8,general_retain,7,1,500,1,1,1\n"
    )
    assert only.text.splitlines()[1:] == ["8,general_retain,7,1,500,1,1,1"]


def test_rfm_customers_come_in_pages_and_the_csv_streams_them_all(
    aclient: TestClient, actx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given pages of one customer and a CSV written one row at a time
    monkeypatch.setattr(console_analytics, "RFM_TABLE_LIMIT", 1)
    monkeypatch.setattr(console_analytics, "RFM_CSV_CHUNK", 1)
    sign_in(aclient, new_operator(actx, Role.analyst))

    # when the analyst opens the first page, follows its link to the next, and exports
    first = aclient.get(f"/console/analytics/rfm?{RFM}")
    second = aclient.get(f"/console/analytics/rfm?{RFM}&offset=1")
    csv = aclient.get(f"/console/analytics/rfm.csv?{RFM}&offset=1")

    # then each page holds one customer in shopper order, with the segments of everyone
    assert first.status_code == second.status_code == 200
    assert first.text.count('data-testid="rfm-customer"') == 1
    assert 'data-shopper-id="7"' in first.text
    next_link = f"/console/analytics/rfm?{RFM}&offset=1".replace("&", "&amp;")
    assert f'href="{next_link}"' in first.text
    assert 'data-testid="rfm-prev"' not in first.text
    assert second.text.count('data-testid="rfm-customer"') == 1
    assert 'data-shopper-id="8"' in second.text
    assert 'data-testid="rfm-next"' not in second.text
    assert 'data-testid="rfm-prev"' in second.text
    for page in (first, second):
        assert (
            'data-testid="rfm-segment-important_value" data-customers="1" data-revenue="3000"'
            in page.text
        )
    # and the export is the whole list, whatever page it was asked from
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.headers["content-disposition"].startswith('attachment; filename="rfm.csv"')
    assert csv.text == (
        "shopper_id,segment,recency_days,frequency,monetary_fen,r_score,f_score,m_score\n"
        "7,important_value,2,2,3000,2,2,2\n"
        "8,general_retain,7,1,500,1,1,1\n"
    )


def test_channels_and_paths_render_and_export(aclient: TestClient, actx: Context) -> None:
    # given
    sign_in(aclient, new_operator(actx, Role.analyst))

    # when
    channels = aclient.get(f"/console/analytics/channels?{DAY}")
    channels_csv = aclient.get(f"/console/analytics/channels.csv?{DAY}")
    paths = aclient.get(f"/console/analytics/paths?{DAY}")
    paths_csv = aclient.get(f"/console/analytics/paths.csv?{DAY}")

    # then
    assert channels.status_code == 200, channels.text
    assert 'data-testid="channel-row" data-channel="search" data-visitors="2"' in channels.text
    assert channels_csv.text == (
        "channel,visitors,new_shoppers,buyers,new_buyers,orders,gmv_fen,conversion_rate,"
        "spend_fen,cac_fen,roi\n"
        "search,2,0,0,0,0,0,0.00,0,,\n"
        "share,2,0,0,0,0,0,0.00,0,,\n"
        "direct,1,0,0,0,0,0,0.00,0,,\n"
    )
    assert paths.status_code == 200, paths.text
    assert 'id="paths-chart"' in paths.text and '"type": "sankey"' in paths.text
    assert paths_csv.text == (
        "step,source,target,sessions\n1,1_/home,2_/product/1,2\n2,2_/product/1,3_/cart,1\n"
    )


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/console/analytics/funnel?step=page_view&step=", "step"),
        (f"/console/analytics/funnel?{FUNNEL}&window=0", "window"),
        ("/console/analytics/funnel?step=page_view&step=nope", "step"),
        (f"/console/analytics/funnel?{FUNNEL}&date_from=2026-13-01", "date_from"),
        (f"/console/analytics/funnel?{FUNNEL}&date_from=2026-11-09", "date_to"),
        (f"/console/analytics/funnel?{FUNNEL}&dropoff=1", "dropoff"),
        (f"/console/analytics/funnel?{FUNNEL}&breakdown=city", "breakdown"),
        ("/console/analytics/funnel?" + FUNNEL.replace("2026-11-01", "2020-01-01", 1), "date_from"),
        (f"/console/analytics/retention?{RETENTION}&period=month", "period"),
        ("/console/analytics/retention?target_event=&returning_event=x", "target_event"),
        (f"/console/analytics/rfm?{RFM}&segment=vip", "segment"),
        (f"/console/analytics/rfm?{RFM}&as_of=2026-09-01", "as_of"),
        (f"/console/analytics/channels?{DAY}&attribution=linear", "attribution"),
        (f"/console/analytics/paths?{DAY}&start_page=/a&end_page=/b", "end_page"),
        (f"/console/analytics/paths?{DAY}&step_limit=99", "step_limit"),
    ],
)
def test_bad_input_gets_words_next_to_the_field_not_a_crash(
    path: str, field: str, aclient: TestClient, actx: Context
) -> None:
    # given
    sign_in(aclient, new_operator(actx, Role.analyst))

    # when
    response = aclient.get(path)

    # then
    assert response.status_code == 422, response.text[:300]
    assert 'data-testid="error-summary"' in response.text
    if field != "dropoff":
        assert f'id="err-{field}"' in response.text


@pytest.mark.parametrize(
    "path",
    [
        f"/console/analytics/funnel/dropoff.csv?{FUNNEL}&dropoff=9",
        f"/console/analytics/funnel/dropoff.csv?{FUNNEL}&dropoff=x",
        "/console/analytics/funnel/dropoff.csv?step=page_view&dropoff=2",
        "/console/analytics/retention.csv?target_event=page_view",
        "/console/analytics/rfm.csv?date_from=yesterday",
    ],
)
def test_a_bad_csv_request_gets_a_friendly_error_page(
    path: str, aclient: TestClient, actx: Context
) -> None:
    # given
    sign_in(aclient, new_operator(actx, Role.analyst))

    # when
    response = aclient.get(path)

    # then
    assert response.status_code == 422
    assert 'data-testid="error-page"' in response.text


def test_an_operator_edits_the_stage_goals(aclient: TestClient, actx: Context) -> None:
    # given
    csrf = sign_in(aclient, new_operator(actx, Role.operator))
    page = aclient.get("/console/analytics/goals")
    assert 'id="goals-form"' in page.text
    assert 'data-testid="goal-dau-target">5,000<' in page.text
    form = {
        "csrf_token": csrf_of(page.text),
        "dau": "6000",
        "retention_pct": "45",
        "shopper_growth_pct": "30",
        "conversion_pct": "8.5",
        "repurchase_pct": "35",
        "ltv_growth_pct": "50",
        "activity_event": "page_view",
        "conversion_event": "checkout",
    }
    assert csrf

    # when
    saved = aclient.post("/console/analytics/goals", data=form, follow_redirects=False)
    bad = aclient.post(
        "/console/analytics/goals", data={**form, "retention_pct": "140"}, follow_redirects=False
    )

    # then
    assert saved.status_code == 303
    assert saved.headers["location"] == "/console/analytics/goals?notice=goals_saved"
    stored = json.loads((actx.settings.data_dir / "goals.json").read_text(encoding="utf-8"))
    assert stored["dau"] == 6000 and stored["conversion_pct"] == 8.5
    shown = aclient.get(saved.headers["location"])
    assert 'data-testid="notice"' in shown.text
    assert 'data-testid="goal-dau-target">6,000<' in shown.text
    assert 'data-testid="goal-conversion_pct-target">8.5%<' in shown.text
    assert bad.status_code == 422
    assert 'id="err-retention_pct"' in bad.text
    assert json.loads((actx.settings.data_dir / "goals.json").read_text())["retention_pct"] == 45


def test_an_analyst_cannot_change_the_goals(aclient: TestClient, actx: Context) -> None:
    # given
    csrf = sign_in(aclient, new_operator(actx, Role.analyst))

    # when
    response = aclient.post(
        "/console/analytics/goals", data={"csrf_token": csrf, "dau": "1"}, follow_redirects=False
    )

    # then
    assert response.status_code == 403
    assert not (actx.settings.data_dir / "goals.json").exists()
