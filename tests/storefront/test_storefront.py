"""The H5 storefront is served by Siyu itself and speaks only the public /api/app."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.loyalty.rules import RewardEvent
from siyu.loyalty.service import grant_reward
from siyu.web.i18n import catalog
from siyu.web.storefront import STATIC_DIR, asset_version
from tests.conftest import make_settings
from tests.helpers import operator_headers, shopper_headers

JS_FILES = sorted(STATIC_DIR.glob("*.js"))
API_CALL = re.compile(r"""\bapi\(\s*"(GET|POST|PATCH|PUT|DELETE)",\s*(["'`])(.*?)\2""")
T_CALL = re.compile(r"""\bt\("([^"]+)"\)?""")


@pytest.fixture
def shop(sqlite_url: str, tmp_path: Path) -> Iterator[TestClient]:
    context = build_context(make_settings(sqlite_url, tmp_path))
    with TestClient(create_app(ctx=context, run_worker=False)) as test_client:
        yield test_client
    context.close()


def _inlined_catalogs(html: str) -> dict[str, dict[str, str]]:
    match = re.search(
        r'<script id="sy-catalogs" type="application/json">(.*?)</script>', html, re.S
    )
    assert match is not None
    data: dict[str, dict[str, str]] = json.loads(match.group(1))
    return data


def test_shop_serves_one_page_with_charset_viewport_and_versioned_assets(
    shop: TestClient,
) -> None:
    # when the storefront is opened, with and without the trailing slash
    page = shop.get("/shop")
    slash = shop.get("/shop/")

    # then it is one utf-8 HTML page for phones that loads every asset by version
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-cache"
    assert slash.text == page.text
    html = page.text
    assert html.startswith("<!doctype html>")
    assert '<meta charset="utf-8">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1' in html
    assert '<html lang="zh-CN" data-login-mode="sandbox">' in html
    version = asset_version()
    for name in (
        "shop.css",
        "core.js",
        "browse.js",
        "address.js",
        "buy.js",
        "account.js",
        "member.js",
        "group.js",
        "flash.js",
        "bargain.js",
        "app.js",
    ):
        assert f'/shop/static/{name}?v={version}"' in html
    assert "__" not in re.sub(r"<script id=\"sy-catalogs\".*?</script>", "", html, flags=re.S)


def test_static_assets_are_served_with_cache_headers(shop: TestClient) -> None:
    # given every file of the storefront's static folder
    names = sorted(p.name for p in STATIC_DIR.iterdir() if p.is_file())
    assert names == [
        "account.js",
        "address.js",
        "app.js",
        "bargain.js",
        "browse.js",
        "buy.js",
        "core.js",
        "flash.js",
        "group.js",
        "member.js",
        "shop.css",
    ]

    for name in names:
        # when it is fetched by its versioned and by its plain URL
        versioned = shop.get(f"/shop/static/{name}?v={asset_version()}")
        plain = shop.get(f"/shop/static/{name}")

        # then the versioned URL is cached for a year, the plain one for 5 minutes
        assert versioned.status_code == 200
        assert versioned.content == (STATIC_DIR / name).read_bytes()
        assert versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert plain.headers["cache-control"] == "public, max-age=300"
        assert versioned.headers["x-content-type-options"] == "nosniff"
        assert "etag" in versioned.headers
        expected_type = "text/css" if name.endswith(".css") else "text/javascript"
        assert versioned.headers["content-type"].startswith(expected_type)


def test_a_missing_asset_is_a_404_in_the_error_shape(shop: TestClient) -> None:
    response = shop.get("/shop/static/nope.js")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_both_catalogs_are_served_as_json_and_inlined_in_the_page(shop: TestClient) -> None:
    # when the catalogs are fetched
    zh = shop.get("/shop/i18n/zh-CN.json")
    en = shop.get("/shop/i18n/en.json")
    unknown = shop.get("/shop/i18n/fr.json")

    # then both locales have the same ids, and the page carries the same catalogs
    assert zh.status_code == en.status_code == 200
    assert zh.headers["content-type"] == "application/json"
    assert zh.json() == catalog("shop", "zh-CN")
    assert en.json() == catalog("shop", "en")
    assert set(zh.json()) == set(en.json())
    assert zh.json()["cart.empty"] == "购物车是空的，去逛逛"
    assert en.json()["cart.empty"] == "Your cart is empty. Go shopping"
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    assert _inlined_catalogs(shop.get("/shop").text) == {"zh-CN": zh.json(), "en": en.json()}


def test_every_message_id_used_by_the_js_is_in_both_catalogs() -> None:
    # given the ids the scripts pass to t("...")
    used = {m.group(1) for path in JS_FILES for m in T_CALL.finditer(path.read_text("utf-8"))}

    # then each one is translated in both locales, and no catalog entry is dead
    assert len(used) > 150
    for locale in ("zh-CN", "en"):
        messages = catalog("shop", locale)
        assert sorted(used - set(messages)) == []
        assert sorted(set(messages) - used) == []
        assert all(text.strip() for text in messages.values())


def test_the_js_talks_to_the_server_only_through_api_app(shop: TestClient) -> None:
    # given every script of the storefront
    sources = {path.name: path.read_text("utf-8") for path in JS_FILES}
    app_paths = [p for p in shop.get("/openapi.json").json()["paths"] if p.startswith("/api/app/")]

    # then fetch() is called in exactly one place, api(), which refuses other prefixes
    fetches = [
        (name, m.start()) for name, src in sources.items() for m in re.finditer(r"\bfetch\(", src)
    ]
    assert [name for name, _ in fetches] == ["core.js"]
    core = sources["core.js"]
    api_body = core[core.index("async function api(") : fetches[0][1]]
    assert 'if (path.indexOf("/api/app/") !== 0) throw' in api_body
    assert "XMLHttpRequest" not in "".join(sources.values())
    assert "sendBeacon" not in "".join(sources.values())
    assert "WebSocket" not in "".join(sources.values())

    # and every api() call names a literal /api/app path that the API really has
    calls = [m.group(3) for src in sources.values() for m in API_CALL.finditer(src)]
    all_calls = sum(len(re.findall(r"\bapi\(\s*\"", src)) for src in sources.values())
    assert len(calls) == all_calls > 20
    for path in calls:
        assert path.startswith("/api/app/"), path
        literal = path.split("?")[0].split("${")[0]
        assert any(p.startswith(literal) for p in app_paths), path


def test_the_page_has_no_third_party_code() -> None:
    # given the page template and every asset
    texts = [(STATIC_DIR.parent / "index.html").read_text("utf-8")]
    texts += [p.read_text("utf-8") for p in STATIC_DIR.iterdir()]

    # then nothing is loaded from another origin
    for text in texts:
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)
        assert "import(" not in text


def _lottery(client: TestClient, admin: dict[str, str], **overrides: object) -> dict[str, Any]:
    body = {
        "name": "100积分抽口红",
        "cost_points": 100,
        "daily_limit": 2,
        "starts_at": "2026-11-01T00:00:00Z",
        "ends_at": "2026-12-01T00:00:00Z",
        "prizes": [
            {"name": "口红", "kind": "thanks", "weight_ppm": 125_000},
            {"name": "谢谢参与", "kind": "thanks", "weight_ppm": 875_000},
        ],
    } | overrides
    created = client.post("/api/admin/lottery", json=body, headers=admin)
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_shoppers_list_the_open_lotteries_and_see_their_draws_left_today(
    client: TestClient, ctx: Context
) -> None:
    # given an open campaign of 2 draws a day, one not started, one ended, one draft
    admin = operator_headers(client, ctx)
    shopper = shopper_headers(client, "lottery-fan")
    open_now = _lottery(client, admin)
    unlimited = _lottery(client, admin, daily_limit=0, ends_at="2026-11-20T00:00:00Z")
    _lottery(client, admin, starts_at="2026-11-10T00:00:00Z")
    _lottery(client, admin, ends_at="2026-11-02T01:59:59Z")
    _lottery(client, admin, status="draft")
    shopper_id = client.get("/api/app/me", headers=shopper).json()["id"]
    with ctx.db.transaction() as session:
        grant_reward(session, ctx.points, shopper_id=shopper_id, event=RewardEvent.review,
                     points=500, ref="lottery-test", now=ctx.clock.now())  # fmt: skip

    # when anyone lists the lotteries, and the shopper draws once
    listed = client.get("/api/app/lottery")
    before = client.get(f"/api/app/lottery/{open_now['id']}/today", headers=shopper)
    drawn = client.post(
        f"/api/app/lottery/{open_now['id']}/draws",
        headers=shopper | {"Idempotency-Key": "draw-once-0001"},
    )
    after = client.get(f"/api/app/lottery/{open_now['id']}/today", headers=shopper)
    other = client.get(f"/api/app/lottery/{unlimited['id']}/today", headers=shopper)

    # then only the open ones are listed, soonest ending first, with their odds as set
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()] == [unlimited["id"], open_now["id"]]
    assert [p["odds_text"] for p in listed.json()[1]["prizes"]] == ["12.5%", "87.5%"]
    # and the day's count follows the Beijing date: 2 left, then 1; none is unlimited
    assert drawn.status_code == 201, drawn.text
    assert before.json() == {
        "campaign_id": open_now["id"], "day": "2026-11-02", "draws_today": 0, "draws_left": 2,
    }  # fmt: skip
    assert (after.json()["draws_today"], after.json()["draws_left"]) == (1, 1)
    assert (other.json()["draws_today"], other.json()["draws_left"]) == (0, None)
    # and the count is the shopper's own, an unknown campaign is a 404, a visitor a 401
    assert client.get(f"/api/app/lottery/{open_now['id']}/today").status_code == 401
    missing = client.get("/api/app/lottery/987654/today", headers=shopper)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "lottery_not_found")
    stranger = shopper_headers(client, "someone-else")
    theirs = client.get(f"/api/app/lottery/{open_now['id']}/today", headers=stranger)
    assert theirs.json()["draws_left"] == 2


def test_the_check_in_status_names_the_make_up_cost_for_the_calendar(
    client: TestClient, ctx: Context
) -> None:
    # given a store that turns make-up on at 30 points, twice a month
    admin = operator_headers(client, ctx)
    shopper = shopper_headers(client, "calendar-fan")
    rule = client.get("/api/admin/checkin/rule", headers=admin).json()
    off = client.get("/api/app/checkin", headers=shopper).json()
    rule |= {"makeup_enabled": True, "makeup_cost_points": 30, "makeups_per_month": 2}
    assert client.put("/api/admin/checkin/rule", json=rule, headers=admin).status_code == 200

    # when the shopper opens the calendar (2 November, Beijing: the 1st was missed)
    status = client.get("/api/app/checkin", headers=shopper).json()

    # then the status says what a make-up costs and which days can be made up
    assert (off["makeup_enabled"], off["makeups_left"]) == (False, 0)
    assert (status["makeup_enabled"], status["makeups_left"]) == (True, 2)
    assert status["makeup_cost_points"] == 30
    assert [d["day"] for d in status["calendar"] if d["can_make_up"]] == ["2026-11-01"]
    assert [d["day"] for d in status["calendar"] if d["is_today"]] == ["2026-11-02"]
