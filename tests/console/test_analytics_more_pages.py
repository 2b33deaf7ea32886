"""The overview, sessions, repurchase, portfolio and CLV pages: they show what the runners
return for a small hand-built data set, export it as CSV, refuse support, answer bad input
with a friendly 4xx page, and render in both languages."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.analytics.clv import (
    fit_bgnbd,
    fit_gamma_gamma,
    forecast_customers,
    summarise_orders,
)
from siyu.analytics.queries.overview import METRICS, OverviewQuery, OverviewRunner
from siyu.analytics.queries.repurchase import RepurchaseQuery, RepurchaseRunner
from siyu.analytics.queries.sessions import SessionsQuery, SessionsRunner
from siyu.analytics.store import AnalyticsStore
from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.catalog.models import Category, Product, Sku
from siyu.catalog.rules import ProductRole, ProductStatus
from siyu.clock import SHANGHAI, FrozenClock
from siyu.identity.models import Shopper
from siyu.identity.rules import Role
from siyu.order.models import Order, OrderLine
from siyu.order.rules import OrderStatus
from tests.conftest import make_settings
from tests.console.conftest import new_operator, sign_in
from tests.helpers import event_dict as event
from tests.helpers import insert_events

TWO_DAYS = "date_from=2026-10-31&date_to=2026-11-01"
HISTORY = "date_from=2026-08-01&date_to=2026-11-01"
PAGES = ["overview", "sessions", "repurchase", "portfolio", "clv"]
CSVS = {
    "overview": f"/console/analytics/overview.csv?{TWO_DAYS}",
    "sessions": f"/console/analytics/sessions.csv?{TWO_DAYS}",
    "sessions_daily": f"/console/analytics/sessions/daily.csv?{TWO_DAYS}",
    "sessions_pages": f"/console/analytics/sessions/pages.csv?{TWO_DAYS}",
    "repurchase": f"/console/analytics/repurchase.csv?{HISTORY}",
    "portfolio": f"/console/analytics/portfolio.csv?{TWO_DAYS}",
    "clv": f"/console/analytics/clv.csv?{HISTORY}",
}


def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


SPEND = [1200, 3800, 900, 2500, 6400, 1500, 800, 4200, 2000, 3100, 1000, 5200]


def paid_orders() -> list[tuple[int, datetime, int, int]]:
    """(shopper, paid at, amount, order id): twelve shoppers 201…212 who first bought
    between 4 Aug and 6 Sep; shopper 200 + i repeats i % 4 times, nine days apart, each
    time spending 4.00 more (odd i) or less (even i). Spend varies enough between
    shoppers for Gamma-Gamma to find an interior optimum quickly."""
    orders = []
    order_id = 5000
    for i in range(1, 13):
        first = local(8, 1, 12) + timedelta(days=3 * i)
        for k in range(1 + i % 4):
            order_id += 1
            amount = SPEND[i - 1] + 400 * k * (1 if i % 2 else -1)
            orders.append((200 + i, first + timedelta(days=9 * k), amount, order_id))
    return orders


def hand_built_events() -> list[dict[str, object]]:
    """Sessions: d3 on 31 Oct (two pages a minute apart, share); on 1 Nov d1 (two pages
    and a cart add over three minutes, search), d2 (one page: a bounce, share) and
    shopper 7 on d5 (one page, a bounce, no channel). Orders: the twelve CLV shoppers,
    plus shopper 7 paying 30.00 and 20.00 on 1 Nov and 10.00 on 31 Oct; shopper 8's
    order of 5.00 on 31 Oct was refunded in full."""
    rows = [
        event("$pageview", "d3", local(10, 31, 9), channel="share", page="/home"),
        event("$pageview", "d3", local(10, 31, 9, 1), page="/cart"),
        event("$pageview", "d1", local(11, 1, 10), channel="search", page="/home"),
        event("$pageview", "d1", local(11, 1, 10, 2), page="/product/1"),
        event("add_to_cart", "d1", local(11, 1, 10, 3)),
        event("$pageview", "d2", local(11, 1, 11), channel="share", page="/home"),
        event("$pageview", "d5", local(11, 1, 12), shopper=7, page="/home"),
        event("order.paid", "", local(11, 1, 12, 5), shopper=7, amount=3000, order=701),
        event("order.paid", "", local(11, 1, 15), shopper=7, amount=2000, order=702),
        event("order.paid", "", local(10, 31, 15), shopper=7, amount=1000, order=703),
        event("order.paid", "", local(10, 31, 16), shopper=8, amount=500, order=801),
        event("refund.succeeded", "", local(10, 31, 18), shopper=8, amount=500, order=801),
    ]
    rows += [
        event("order.paid", "", at, shopper=shopper, amount=amount, order=order_id)
        for shopper, at, amount, order_id in paid_orders()
    ]
    return rows


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


def analyst(aclient: TestClient, actx: Context) -> None:
    sign_in(aclient, new_operator(actx, Role.analyst))


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def attr(html: str, testid: str, name: str) -> str:
    match = re.search(rf'data-testid="{re.escape(testid)}"[^>]*?\b{name}="([^"]*)"', html)
    assert match, (testid, name)
    return match.group(1)


# --------------------------------------------------------------------------- tests


def test_an_analyst_sees_each_new_page_with_the_analytics_tabs(
    aclient: TestClient, actx: Context
) -> None:
    # given
    analyst(aclient, actx)

    # when
    responses = {page: aclient.get(f"/console/analytics/{page}") for page in PAGES}

    # then every page renders (with its default range) and links to all analytics pages
    for page, response in responses.items():
        assert response.status_code == 200, (page, response.text[:500])
        assert 'data-testid="error-page"' not in response.text
        assert f'id="{page}-form"' in response.text
        for tab in [*PAGES, "funnel", "retention", "rfm", "channels", "paths", "goals"]:
            assert f'id="tab-{tab}"' in response.text
        assert f'id="tab-{page}" data-testid="tab-{page}" aria-current="page"' in response.text
    # and the existing pages link to the new ones too
    assert 'id="tab-clv"' in aclient.get("/console/analytics/funnel").text


@pytest.mark.parametrize(
    "path",
    [*(f"/console/analytics/{page}" for page in PAGES), *CSVS.values()],
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


def test_the_overview_shows_the_runner_kpis_against_the_previous_period(
    aclient: TestClient, actx: Context, analytics_store: AnalyticsStore
) -> None:
    # given
    analyst(aclient, actx)
    query = OverviewQuery(date_from=local(11, 1, 0), date_to=local(11, 2, 0))
    expected = OverviewRunner(query, database=analytics_store.database).run(analytics_store)

    # when
    page = aclient.get("/console/analytics/overview?date_from=2026-11-01&date_to=2026-11-01")
    export = aclient.get("/console/analytics/overview.csv?date_from=2026-11-01&date_to=2026-11-01")

    # then the cards carry the runner's numbers: 1 Nov against 31 Oct
    assert page.status_code == 200, page.text
    previous = re.search(r'data-testid="overview-previous">(.*?)</p>', page.text, re.S)
    assert previous and "2026-10-31" in previous.group(1)
    for key in METRICS:
        metric = getattr(expected, key)
        assert float(attr(page.text, f"overview-{key}", "data-value")) == metric.value
        assert float(attr(page.text, f"overview-{key}", "data-previous")) == metric.previous
    # visitors: d1, d2 and shopper 7 on 1 Nov; d3 and the payers 7 and 8 on 31 Oct
    # (paying is a visit) → no change
    assert (expected.visitors.value, expected.visitors.previous) == (3, 3)
    assert expected.orders.value == 2 and expected.orders.change == 0.0
    assert attr(page.text, "overview-visitors", "data-change") == "0.0"
    # GMV: ¥50.00 against ¥10.00 (¥15.00 paid, ¥5.00 refunded) → +400 %, an up arrow
    assert attr(page.text, "overview-gmv_fen", "data-change") == "400.0"
    change = re.search(r'data-testid="overview-gmv_fen-change">(.*?)</p>', page.text, re.S)
    assert change and "▲" in change.group(1) and "+400.0%" in change.group(1)
    assert 'data-testid="overview-gmv_fen-value">¥50.00<' in page.text
    # and the CSV has one row per metric with the same values
    assert export.status_code == 200
    assert export.headers["content-type"] == "text/csv; charset=utf-8"
    rows = {r["metric"]: r for r in csv_rows(export.text)}
    assert list(rows) == list(METRICS)
    assert rows["visitors"] == {
        "metric": "visitors",
        "value": "3.0",
        "previous": "3.0",
        "change_pct": "0.00",
    }
    assert rows["gmv_fen"]["value"] == "5000.0" and rows["gmv_fen"]["change_pct"] == "400.00"


def test_sessions_show_dwell_bounce_and_a_daily_chart_by_channel(
    aclient: TestClient, actx: Context, analytics_store: AnalyticsStore
) -> None:
    # given
    analyst(aclient, actx)
    query = SessionsQuery(date_from=local(10, 31, 0), date_to=local(11, 2, 0))
    expected = SessionsRunner(query, database=analytics_store.database).run(analytics_store)

    # when
    page = aclient.get(f"/console/analytics/sessions?{TWO_DAYS}&breakdown=channel")
    export = aclient.get(f"/console/analytics/sessions.csv?{TWO_DAYS}&breakdown=channel")
    daily = aclient.get(f"/console/analytics/sessions/daily.csv?{TWO_DAYS}")

    # then four sessions: 60 s, 180 s and two one-page bounces of 0 s
    total = expected.series[0]
    assert (total.sessions, total.bounces, total.bounce_rate) == (4, 2, 50.0)
    assert (total.median_duration, total.average_duration) == (30.0, 60.0)
    assert page.status_code == 200, page.text
    assert attr(page.text, "sessions-total", "data-sessions") == "4"
    assert attr(page.text, "sessions-total", "data-bounce-rate") == "50.0"
    assert 'data-testid="sessions-median">30 秒<' in page.text
    assert 'data-testid="sessions-average">1 分 0 秒<' in page.text
    assert 'data-testid="sessions-bounce-rate">50.00%<' in page.text
    assert 'id="sessions-chart"' in page.text and '"type": "bar"' in page.text
    assert 'data-testid="sessions-row" data-channel="share" data-sessions="2"' in page.text
    assert 'data-testid="sessions-row" data-channel="search" data-sessions="1"' in page.text
    assert 'data-testid="sessions-day" data-day="2026-11-01" data-sessions="3"' in page.text
    # and the CSVs
    rows = csv_rows(export.text)
    assert [(r["scope"], r["channel"], r["sessions"]) for r in rows] == [
        ("total", "", "4"),
        ("channel", "share", "2"),
        ("channel", "", "1"),
        ("channel", "search", "1"),
    ]
    assert rows[0]["bounce_rate"] == "50.00" and rows[0]["median_duration_s"] == "30.000"
    assert daily.text == (
        "day,sessions,pageviews,bounces,bounce_rate,average_duration_s,median_duration_s,"
        "pages_per_session,average_dwell_per_page_s\n"
        "2026-10-31,1,2,0,0.00,60.000,60.000,2.000,\n"
        "2026-11-01,3,4,2,66.67,60.000,0.000,1.333,\n"
    )
    # and each page: every session landed on /home and two of the four bounced there;
    # d1 left from /product/1 and d3 from /cart (no page reported a dwell time)
    assert (
        'data-testid="page-row" data-page="/home" data-views="4" data-long-stay="" '
        'data-bounce="50.0"' in page.text
    )
    pages = aclient.get(f"/console/analytics/sessions/pages.csv?{TWO_DAYS}")
    assert pages.status_code == 200
    assert pages.text == (
        "page,views,visitors,average_dwell_s,median_dwell_s,long_stay_rate,entries,"
        "bounce_rate,exits,exit_rate\n"
        "/home,4,4,,,,4,50.00,2,50.00\n"
        "/cart,1,1,,,,0,,1,100.00\n"
        "/product/1,1,1,,,,0,,1,100.00\n"
    )


def test_repurchase_shows_the_rate_and_the_cohort_ltv_heatmap(
    aclient: TestClient, actx: Context, analytics_store: AnalyticsStore
) -> None:
    # given
    analyst(aclient, actx)
    query = RepurchaseQuery(date_from=local(8, 1, 0), date_to=local(11, 2, 0), months=4)
    expected = RepurchaseRunner(query, database=analytics_store.database).run(analytics_store)

    # when
    page = aclient.get(f"/console/analytics/repurchase?{HISTORY}&months=4")
    export = aclient.get(f"/console/analytics/repurchase.csv?{HISTORY}&months=4")

    # then 14 buyers (12 + shoppers 7 and 8); 9 of the twelve repeat, and shopper 7
    assert (expected.buyers, expected.repeat_buyers) == (14, 10)
    assert page.status_code == 200, page.text
    assert attr(page.text, "repurchase-rate", "data-value") == str(expected.repurchase_rate)
    assert f">{expected.repurchase_rate:.2f}%<" in page.text
    assert [c.month.isoformat() for c in expected.cohorts] == [
        "2026-08-01",
        "2026-09-01",
        "2026-10-01",
    ]
    for c in expected.cohorts:
        assert f'data-testid="ltv-row" data-cohort="{c.month.isoformat()}"' in page.text
    assert page.text.count('data-testid="ltv-cell"') == sum(
        len(c.ltv_fen) for c in expected.cohorts
    )
    assert "background-color: rgba(7,193,96," in page.text
    assert 'id="ltv-chart"' in page.text
    assert export.text.splitlines()[0] == "cohort_month,buyers,month_offset,ltv_fen"
    assert export.text.splitlines()[1:] == [
        f"{c.month.isoformat()},{c.buyers},{k},{v:.2f}"
        for c in expected.cohorts
        for k, v in enumerate(c.ltv_fen)
    ]


def _sku(session: Session, role: ProductRole, price: int, cost: int | None) -> Sku:
    now = local(10, 1, 0)
    category = Category(name=f"c-{role.value}")
    session.add(category)
    session.flush()
    product = Product(
        category_id=category.id,
        title=role.value,
        role=role,
        status=ProductStatus.on_sale,
        created_at=now,
        updated_at=now,
    )
    session.add(product)
    session.flush()
    sku = Sku(product_id=product.id, sku_code=f"sku-{role.value}", price_fen=price, cost_fen=cost)
    session.add(sku)
    session.flush()
    return sku


def test_the_portfolio_compares_role_shares_with_20_60_20(
    aclient: TestClient, actx: Context
) -> None:
    # given an order paid on 1 Nov: a traffic line of 10.00 (cost 9.00), two profit items
    # for 60.00 (cost 20.00 each), a premium line of 20.00 with no cost
    analyst(aclient, actx)
    paid_at = local(11, 1, 10)
    with actx.db.transaction() as session:
        shopper = Shopper(openid="o-portfolio", registered_at=paid_at, last_login_at=paid_at)
        session.add(shopper)
        session.flush()
        lines = [
            (_sku(session, ProductRole.traffic, 1000, 900), 1, 1000),
            (_sku(session, ProductRole.profit, 3000, 2000), 2, 6000),
            (_sku(session, ProductRole.premium, 2000, None), 1, 2000),
        ]
        order = Order(
            order_no="P1",
            shopper_id=shopper.id,
            status=OrderStatus.paid,
            source="cart",
            subtotal_fen=9000,
            total_fen=9000,
            address={},
            placed_at=paid_at,
            pay_deadline=paid_at + timedelta(minutes=30),
            paid_at=paid_at,
        )
        session.add(order)
        session.flush()
        for sku, quantity, payable in lines:
            session.add(
                OrderLine(
                    order_id=order.id,
                    sku_id=sku.id,
                    product_id=sku.product_id,
                    title="x",
                    spec={},
                    unit_price_fen=sku.price_fen,
                    quantity=quantity,
                    payable_fen=payable,
                    refunded_fen=0,
                    refunded_quantity=0,
                )
            )

    # when
    page = aclient.get(f"/console/analytics/portfolio?{TWO_DAYS}")
    export = aclient.get(f"/console/analytics/portfolio.csv?{TWO_DAYS}")
    empty = aclient.get("/console/analytics/portfolio?date_from=2026-10-01&date_to=2026-10-02")

    # then sales 90.00 (11.11 / 66.67 / 22.22 %), margin 1.00 + 20.00
    assert page.status_code == 200, page.text
    assert attr(page.text, "portfolio-sales", "data-fen") == "9000"
    assert attr(page.text, "portfolio-margin", "data-fen") == "2100"
    assert (
        'data-testid="portfolio-role" data-role="profit" data-sales="6000" '
        'data-sales-share="66.67" data-margin="2000" data-margin-share="95.24"' in page.text
    )
    assert 'id="portfolio-chart"' in page.text and '"barmode": "group"' in page.text
    assert export.text == (
        "role,sales_fen,sales_share,target_share,gap,margin_fen,margin_share,lines_without_cost\n"
        "traffic,1000,11.11,20.00,-8.89,100,4.76,0\n"
        "profit,6000,66.67,60.00,6.67,2000,95.24,0\n"
        "premium,2000,22.22,20.00,2.22,0,0.00,1\n"
    )
    assert empty.status_code == 200
    assert 'data-testid="portfolio-empty"' in empty.text
    assert 'id="portfolio-chart"' not in empty.text


def test_clv_fits_the_models_and_ranks_customers_by_expected_value(
    aclient: TestClient, actx: Context
) -> None:
    # given the same orders summarised and fitted directly (as of midnight after 1 Nov)
    analyst(aclient, actx)
    orders = [(s, at, amount) for s, at, amount, _ in paid_orders()]
    orders += [(7, local(10, 31, 15), 1000), (7, local(11, 1, 12, 5), 3000)]
    orders += [(7, local(11, 1, 15), 2000)]
    orders.sort(key=lambda o: (o[0], o[1]))
    summary = summarise_orders(orders, now=local(11, 2, 0))
    purchases = fit_bgnbd(summary.frequency, summary.recency, summary.age)
    spend = fit_gamma_gamma(summary.frequency, summary.monetary)
    expected = {
        int(f.customer_id): f.clv_fen  # type: ignore[call-overload]
        for f in forecast_customers(purchases, spend, summary, days=30)
    }
    best = max(expected, key=lambda k: expected[k])

    # when
    page = aclient.get(f"/console/analytics/clv?{HISTORY}&horizon=30")
    export = aclient.get(f"/console/analytics/clv.csv?{HISTORY}&horizon=30")

    # then 13 shoppers (shopper 8's only order was refunded), 10 of them repeat
    assert page.status_code == 200, page.text
    assert attr(page.text, "clv-summary", "data-customers") == "13"
    assert attr(page.text, "clv-summary", "data-repeat") == "10"
    assert math.isclose(float(attr(page.text, "clv-params", "data-r")), purchases.r, rel_tol=1e-6)
    assert math.isclose(float(attr(page.text, "clv-params", "data-q")), spend.q, rel_tol=1e-6)
    first = re.search(r'data-testid="clv-customer" data-shopper-id="(\d+)"', page.text)
    assert first and int(first.group(1)) == best
    assert page.text.count('data-testid="clv-customer"') == 13
    assert 'id="clv-chart"' in page.text
    # and the CSV lists every shopper, highest value first, with the same numbers
    assert export.status_code == 200
    assert "clv-30d.csv" in export.headers["content-disposition"]
    rows = csv_rows(export.text)
    assert len(rows) == 13 and int(rows[0]["shopper_id"]) == best
    for row in rows:
        assert math.isclose(
            float(row["clv_fen"]), expected[int(row["shopper_id"])], rel_tol=1e-4, abs_tol=0.01
        )
    values = [float(r["clv_fen"]) for r in rows]
    assert values == sorted(values, reverse=True)
    assert {r["shopper_id"]: r["frequency"] for r in rows}["7"] == "1"  # 1 Nov counts once


def test_clv_says_plainly_when_there_is_too_little_data(aclient: TestClient, actx: Context) -> None:
    # given
    analyst(aclient, actx)

    # when only 31 Oct – 1 Nov is used: shopper 7 alone
    page = aclient.get(f"/console/analytics/clv?{TWO_DAYS}")
    export = aclient.get(f"/console/analytics/clv.csv?{TWO_DAYS}")

    # then
    assert page.status_code == 200
    assert 'data-testid="clv-too-little"' in page.text
    assert "数据太少" in page.text
    assert 'data-testid="clv-customer"' not in page.text
    assert export.status_code == 422
    assert 'data-testid="error-page"' in export.text


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/console/analytics/overview?date_from=2026-02-30", "date_from"),
        ("/console/analytics/overview?date_from=2026-11-02&date_to=2026-11-01", "date_to"),
        ("/console/analytics/overview?prop_value=x", "prop_key"),
        ("/console/analytics/sessions?breakdown=city", "breakdown"),
        ("/console/analytics/sessions?idle_minutes=0", "idle_minutes"),
        ("/console/analytics/sessions?idle_minutes=abc", "idle_minutes"),
        ("/console/analytics/repurchase?months=99", "months"),
        ("/console/analytics/repurchase?date_from=2020-01-01", "date_from"),
        ("/console/analytics/portfolio?date_to=nope", "date_to"),
        ("/console/analytics/clv?horizon=0", "horizon"),
        ("/console/analytics/clv?horizon=9999", "horizon"),
    ],
)
def test_bad_input_gets_words_next_to_the_field_not_a_crash(
    path: str, field: str, aclient: TestClient, actx: Context
) -> None:
    # given
    analyst(aclient, actx)

    # when
    response = aclient.get(path)

    # then
    assert response.status_code == 422, response.text[:300]
    assert 'data-testid="error-summary"' in response.text
    assert f'id="err-{field}"' in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/console/analytics/overview.csv?date_from=yesterday",
        "/console/analytics/sessions.csv?breakdown=city",
        "/console/analytics/sessions/daily.csv?idle_minutes=-1",
        "/console/analytics/repurchase.csv?months=0",
        "/console/analytics/portfolio.csv?date_from=2026-11-09&date_to=2026-11-01",
        "/console/analytics/clv.csv?horizon=x",
    ],
)
def test_a_bad_csv_request_gets_a_friendly_error_page(
    path: str, aclient: TestClient, actx: Context
) -> None:
    # given
    analyst(aclient, actx)

    # when
    response = aclient.get(path)

    # then
    assert response.status_code == 422
    assert 'data-testid="error-page"' in response.text


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "zh-CN",
            {
                "overview": "访客数",
                "sessions": "跳出率",
                "repurchase": "复购率",
                "portfolio": "引流款",
                "clv": "模型参数",
            },
        ),
        (
            "en",
            {
                "overview": "Visitors",
                "sessions": "Bounce rate",
                "repurchase": "Repurchase rate",
                "portfolio": "Sales share",
                "clv": "Fitted parameters",
            },
        ),
    ],
)
def test_every_page_renders_in_both_languages(
    lang: str, words: dict[str, str], aclient: TestClient, actx: Context
) -> None:
    # given
    analyst(aclient, actx)
    aclient.get(f"/console/lang/{lang}?next=/console/analytics/overview")

    # when
    responses = {
        "overview": aclient.get(f"/console/analytics/overview?{TWO_DAYS}"),
        "sessions": aclient.get(f"/console/analytics/sessions?{TWO_DAYS}"),
        "repurchase": aclient.get(f"/console/analytics/repurchase?{HISTORY}"),
        "portfolio": aclient.get(f"/console/analytics/portfolio?{TWO_DAYS}"),
        "clv": aclient.get(f"/console/analytics/clv?{HISTORY}&horizon=30"),
    }

    # then
    for page, response in responses.items():
        assert response.status_code == 200, (page, response.text[:300])
        assert f'<html lang="{lang}">' in response.text
        assert words[page] in response.text, page
        assert "analytics." not in re.sub(r"<[^>]+>", "", response.text), page  # no raw ids
