"""The 活动效果 page: the plays and campaigns of the store with their funnel, GMV,
cost and ROI as the query computes them, a campaign named by its play, both CSV
exports, English, and a bad range answered 422 next to the field."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.identity.rules import Role
from tests.analytics.test_plays_analytics import seed
from tests.console.conftest import new_operator, sign_in

QUERY = "date_from=2026-11-01&date_to=2026-11-03"


def cell(html: str, row: str, key: str) -> str:
    match = re.search(rf'{row}.*?data-testid="play-{key}" data-value="([^"]*)"', html, re.S)
    assert match, (row, key)
    return match.group(1)


def test_the_plays_page_shows_each_play_and_campaign_and_exports_them(
    client: TestClient, ctx: Context
) -> None:
    # given the store of the query tests, at 12:00 on 3 November (Shanghai)
    with ctx.db.transaction() as session:
        seed(session)
    ctx.clock.advance(timedelta(hours=26))  # type: ignore[attr-defined]
    sign_in(client, new_operator(ctx, Role.analyst))

    # when
    page = client.get(f"/console/analytics/plays?{QUERY}")
    plays = client.get(f"/console/analytics/plays/plays.csv?{QUERY}")
    campaigns = client.get(f"/console/analytics/plays/campaigns.csv?{QUERY}")

    # then
    assert page.status_code == 200, page.text
    html = page.text
    assert re.findall(r'data-testid="play-row" data-play="(\w+)"', html) == [
        "group_buy", "rising_price", "flash_sale",
    ]  # fmt: skip
    group = 'data-testid="play-row" data-play="group_buy"'
    assert [cell(html, group, k) for k in ("sharers", "shared_visitors", "new_shoppers",
            "paid_orders", "gmv_fen", "cost_fen", "roi")] == [
        "1", "2", "2", "3", "11300", "6400", "1.77"]  # fmt: skip
    assert "涨价团" in html and "拼团" in html and "秒杀" in html
    assert 'data-testid="plays-gmv" data-fen="18290"' in html
    assert 'data-testid="plays-roi" data-value="1.63"' in html
    assert 'data-campaign="7"' in html and "#7" in html
    rows = list(csv.reader(io.StringIO(plays.text)))
    assert rows[0][:4] == ["play", "sharers", "shared_visitors", "new_shoppers"]
    assert rows[1] == ["group_buy", "1", "2", "2", "3", "3", "3", "3", "11300", "3500", "6400",
                       "1.77"]  # fmt: skip
    campaign_rows = list(csv.reader(io.StringIO(campaigns.text)))
    assert [(r[0], r[1]) for r in campaign_rows[1:]] == [
        ("flash_sale", "11"), ("group_buy", "7"), ("group_buy", "8"), ("rising_price", "3"),
    ]  # fmt: skip

    # and in English
    client.get("/console/lang/en?next=/console/analytics/plays")
    english = client.get(f"/console/analytics/plays?{QUERY}").text
    assert "Rising price" in english and "Play results" in english


def test_a_bad_range_is_422_next_to_the_field_and_an_export_400(
    client: TestClient, ctx: Context
) -> None:
    sign_in(client, new_operator(ctx, Role.analyst))
    page = client.get("/console/analytics/plays?date_from=2026-11-05&date_to=2026-11-01")
    export = client.get("/console/analytics/plays/plays.csv?date_from=nope")
    missing = client.get("/console/analytics/plays/other.csv")
    assert page.status_code == 422
    assert 'id="err-date_to"' in page.text
    assert export.status_code == 422
    assert missing.status_code == 404
