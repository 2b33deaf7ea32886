"""The loyalty pages (会员): tiers, member day, points rules, check-in rewards, the
points mall, lottery campaigns and a shopper's points — each renders in both languages,
each form saves what the service then reads back, bad input comes back next to the
field with nothing written, an analyst may read but not post, a manual adjustment
writes an audited ledger entry, and a goods exchange is marked shipped once."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.identity.rules import Role
from tests.console.conftest import new_operator, sign_in

PAGES = (
    "/console/loyalty/tiers",
    "/console/loyalty/member-day",
    "/console/loyalty/points",
    "/console/loyalty/checkin",
    "/console/loyalty/mall",
    "/console/loyalty/mall/new",
    "/console/loyalty/lottery",
    "/console/loyalty/lottery/new",
    "/console/loyalty/members",
)


@pytest.fixture
def owner(client: TestClient, ctx: Context) -> str:
    return sign_in(client, new_operator(ctx, Role.owner))


def field_error(page: str, name: str) -> str:
    match = re.search(rf'id="err-{re.escape(name)}"[^>]*>([^<]+)<', page)
    assert match, f"no error next to {name}"
    return match.group(1)


def post(client: TestClient, url: str, csrf: str, **fields: Any) -> Any:
    return client.post(url, data={"csrf_token": csrf, **fields}, follow_redirects=False)


# ---------------------------------------------------------------- pages


@pytest.mark.parametrize("path", PAGES)
def test_each_loyalty_page_renders_in_both_languages(
    client: TestClient, owner: str, path: str
) -> None:
    zh = client.get(path)
    assert zh.status_code == 200, zh.text
    client.get("/console/lang/en")
    en = client.get(path)
    assert en.status_code == 200, en.text
    assert 'lang="en"' in en.text


def test_every_loyalty_page_is_in_the_navigation(client: TestClient, owner: str) -> None:
    page = client.get("/console/loyalty/tiers").text
    for key in ("member_tiers", "member_day", "points_rules", "checkin", "mall", "lottery",
                "members"):  # fmt: skip
        assert f'id="nav-{key}"' in page
