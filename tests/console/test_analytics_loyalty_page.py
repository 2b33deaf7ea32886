"""The 会员与积分 (Loyalty) analytics page: it shows what the loyalty queries compute from
the store, exports each table as CSV, refuses support, answers bad input next to the
field, and speaks both languages."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.clock import FrozenClock
from siyu.identity.rules import Role
from tests.analytics.test_loyalty_analytics import (
    local,
    seed_checkins,
    seed_points,
    seed_repurchase,
)
from tests.console.conftest import new_operator, sign_in

RANGE = "date_from=2026-11-01&date_to=2026-11-03"
PAGE = f"/console/analytics/loyalty?{RANGE}"
SECTIONS = ("points", "tiers", "checkins", "streaks", "repurchase")


@pytest.fixture
def seeded(ctx: Context, clock: FrozenClock) -> Context:
    """The points of the query tests (shoppers 1, 2), their repurchase shoppers as
    11…15 and check-in shoppers as 21…26; noon on 3 Nov."""
    with ctx.db.transaction() as session:
        seed_points(session)
        seed_repurchase(session, base=10)
        seed_checkins(session, base=20)
    clock.set(local(11, 3, 12))
    return ctx


def analyst(client: TestClient, ctx: Context) -> None:
    sign_in(client, new_operator(ctx, Role.analyst))


def attr(html: str, testid: str, name: str, extra: str = "") -> str:
    match = re.search(rf'data-testid="{re.escape(testid)}"{extra}[^>]*?\b{name}="([^"]*)"', html)
    assert match, (testid, name)
    return match.group(1)


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_the_loyalty_page_shows_points_tiers_checkins_and_member_repurchase(
    client: TestClient, seeded: Context
) -> None:
    # given
    analyst(client, seeded)

    # when
    page = client.get(PAGE)

    # then the liability now: 115 on the books, 7 past expiry, 108 live ≈ ¥1.08
    assert page.status_code == 200, page.text[:500]
    html = page.text
    assert attr(html, "loyalty-outstanding", "data-points") == "108"
    assert attr(html, "loyalty-outstanding", "data-fen") == "108"
    assert attr(html, "loyalty-overdue", "data-points") == "7"
    # the days of the query tests, the pending 30 of 23:59:59 on 1 Nov
    assert (
        'data-testid="points-row" data-period="2026-11-01" data-issued="38" data-reversed="0" '
        'data-spent="15" data-returned="0" data-expired="0" data-available="113" '
        'data-pending="30" data-outstanding="143"' in html
    )
    assert attr(html, "points-total-expired", "data-points") == "50"
    assert 'id="points-chart"' in html and 'id="tiers-chart"' in html
    assert '"barmode": "relative"' in html and '"barmode": "stack"' in html
    # tiers by name, 13 shoppers registered
    assert "白银会员" in html and "黄金会员" in html
    assert re.search(r'data-period="2026-11-01" data-total="13"', html)
    # check-ins: shoppers 22 and 23 start on 1 Nov
    assert 'data-testid="checkin-returned-row" data-cohort="2026-11-01" data-shoppers="2"' in html
    # members (白银+) 11 and 14: one repeats; non-members 12, 13, 15: two repeat
    assert (
        'data-testid="member-repurchase-row" data-group="members" data-buyers="2" '
        'data-repeat="1" data-orders="3" data-rate="50.0"' in html
    )
    assert 'data-group="non_members" data-buyers="3" data-repeat="2"' in html
    for section in SECTIONS:
        assert f'href="/console/analytics/loyalty/{section}.csv?date_from=2026-11-01&amp;' in html


def test_each_table_exports_as_csv(client: TestClient, seeded: Context) -> None:
    # given
    analyst(client, seeded)

    # when
    exports = {s: client.get(f"/console/analytics/loyalty/{s}.csv?{RANGE}") for s in SECTIONS}

    # then
    for section, response in exports.items():
        assert response.status_code == 200, (section, response.text[:300])
        assert f"loyalty-{section}.csv" in response.headers["content-disposition"]
    points = csv_rows(exports["points"].text)
    assert [
        (r["period_start"], r["issued"], r["outstanding"], r["outstanding_fen"]) for r in points
    ] == [
        ("2026-11-01", "38", "143", "143"),
        ("2026-11-02", "50", "158", "158"),
        ("2026-11-03", "12", "115", "115"),
    ]
    tiers = csv_rows(exports["tiers"].text)
    assert list(tiers[0]) == [
        "period_start", "as_of", "level_0", "level_1", "level_2", "level_3", "level_4", "total",
    ]  # fmt: skip
    # end of 1 Nov: 11 and 12 (lifted at noon) 白银, 14 黄金, of the 13 registered
    assert (tiers[0]["level_1"], tiers[0]["level_2"], tiers[0]["total"]) == ("2", "1", "13")
    repurchase = csv_rows(exports["repurchase"].text)
    assert repurchase[0] == {
        "group": "members", "level": ">=1", "buyers": "2", "repeat_buyers": "1",
        "orders": "3", "repurchase_rate": "50.00",
    }  # fmt: skip
    assert [r["group"] for r in repurchase[2:]] == ["Bronze", "Silver", "Gold"]
    streaks = csv_rows(exports["streaks"].text)
    assert streaks[-1] == {"days_from": "31", "days_to": "", "streaks": "1", "share": "20.00"}
    checkins = csv_rows(exports["checkins"].text)
    assert checkins[0]["cohort"] == "2026-11-01" and checkins[-1]["cohort"] == "all"
    assert (checkins[0]["day_1_reached"], checkins[0]["day_1_returned"]) == ("2", "1")


def test_the_page_opens_on_its_default_range_and_is_in_the_analytics_tabs(
    client: TestClient, seeded: Context
) -> None:
    # given
    analyst(client, seeded)

    # when
    page = client.get("/console/analytics/loyalty")
    other = client.get("/console/analytics/portfolio")

    # then
    assert page.status_code == 200
    assert 'id="tab-loyalty" data-testid="tab-loyalty" aria-current="page"' in page.text
    assert 'id="tab-loyalty"' in other.text
    assert 'href="/console/analytics/loyalty"' in other.text


@pytest.mark.parametrize("path", [PAGE, *(f"/console/analytics/loyalty/{s}.csv" for s in SECTIONS)])
def test_support_is_refused(path: str, client: TestClient, ctx: Context) -> None:
    # given
    sign_in(client, new_operator(ctx, Role.support))

    # when
    response = client.get(path)

    # then
    assert response.status_code == 403
    assert 'data-testid="error-page"' in response.text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("period=month", "period"),
        ("checkin_days=0", "checkin_days"),
        ("checkin_days=31", "checkin_days"),
        ("member_level=0", "member_level"),
        ("date_from=2026-11-05&date_to=2026-11-01", "date_to"),
    ],
)
def test_bad_input_gets_words_next_to_the_field(
    query: str, field: str, client: TestClient, ctx: Context
) -> None:
    # given
    analyst(client, ctx)

    # when
    page = client.get(f"/console/analytics/loyalty?{query}")
    export = client.get(f"/console/analytics/loyalty/points.csv?{query}")
    unknown = client.get(f"/console/analytics/loyalty/secrets.csv?{RANGE}")

    # then
    assert page.status_code == 422
    assert f'id="err-{field}"' in page.text
    assert export.status_code == 422 and 'data-testid="error-page"' in export.text
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh-CN", ["会员与积分", "未兑付积分", "签到留存", "会员与非会员复购", "白银会员"]),
        ("en", ["Loyalty", "Outstanding points", "Check-in retention", "Silver"]),
    ],
)
def test_the_page_renders_in_both_languages(
    lang: str, words: list[str], client: TestClient, seeded: Context
) -> None:
    # given
    analyst(client, seeded)
    client.get(f"/console/lang/{lang}?next=/console/analytics/loyalty")

    # when
    page = client.get(PAGE)

    # then
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in page.text
    for word in words:
        assert word in page.text, word
    assert "analytics." not in re.sub(r"<[^>]+>", "", page.text)  # no raw ids
