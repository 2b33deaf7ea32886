"""The channel-code page: codes with the scene and link to print, edits, deactivation
and daily spend, through the same service and audit as /api/admin/channels
(SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.channel.rules import SHANGHAI
from siyu.identity.rules import Role
from tests.console.conftest import new_operator, sign_in


def channels_json(client: TestClient, admin: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get("/api/admin/channels", headers=admin)
    assert response.status_code == 200, response.text
    return list(response.json())


def audit_actions(client: TestClient, admin: dict[str, str]) -> list[str]:
    rows = client.get("/api/admin/audit-logs", params={"target_type": "channel"}, headers=admin)
    return [r["action"] for r in rows.json()]


def create(client: TestClient, csrf: str, **fields: str) -> Any:
    data = {"csrf_token": csrf, "code": "POSTER1", "name": "地铁海报", "group": "qr", "note": ""}
    data.update(fields)
    return client.post("/console/channels", data=data, follow_redirects=False)


def input_value(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*value="([^"]*)"', html)
    assert match, f"no #{element_id}"
    return match.group(1).replace("&amp;", "&")


def test_a_created_channel_is_listed_with_its_scene_and_storefront_link(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given
    csrf = sign_in(client, new_operator(ctx, Role.operator))

    # when
    created = create(client, csrf, code="Sub-01_a", name="地铁海报", note="国贸站")

    # then the page lists it with the scene and the link to print
    assert created.status_code == 303
    assert created.headers["location"] == "/console/channels?notice=channel_created"
    page = client.get(created.headers["location"])
    assert page.status_code == 200
    assert 'data-testid="notice"' in page.text
    [channel] = channels_json(client, api_admin)
    assert (channel["code"], channel["group"], channel["note"]) == ("Sub-01_a", "qr", "国贸站")
    cid = channel["id"]
    assert f'data-testid="channel-item" data-id="{cid}" data-code="Sub-01_a"' in page.text
    base = ctx.settings.public_base_url.rstrip("/")
    assert input_value(page.text, f"scene-{cid}") == "c=Sub-01_a"
    assert input_value(page.text, f"url-{cid}") == (f"{base}/shop?qr_scene=c%3DSub-01_a&scene=1047")
    assert input_value(page.text, f"url-{cid}") == channel["storefront_url"]
    assert 'href="/console/analytics/channels"' in page.text
    assert audit_actions(client, api_admin) == ["channel.create"]


def test_a_duplicate_code_is_reported_next_to_the_field_and_nothing_is_written(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given
    csrf = sign_in(client, new_operator(ctx, Role.owner))
    assert create(client, csrf).status_code == 303

    # when the same code is used again
    again = create(client, csrf, name="另一张海报")

    # then the error sits next to the code and the form keeps what was typed
    assert again.status_code == 409
    assert 'id="err-code"' in again.text
    assert "该渠道码已被使用" in again.text
    assert 'value="另一张海报"' in again.text
    assert [c["name"] for c in channels_json(client, api_admin)] == ["地铁海报"]
    assert audit_actions(client, api_admin) == ["channel.create"]


def test_invalid_fields_are_reported_next_to_them(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    csrf = sign_in(client, new_operator(ctx, Role.owner))

    bad = create(client, csrf, code="有中文", name="", group="crawler")

    assert bad.status_code == 422
    assert 'id="err-code"' in bad.text
    assert 'id="err-name"' in bad.text
    assert channels_json(client, api_admin) == []


def test_edit_and_deactivate_a_channel(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given
    csrf = sign_in(client, new_operator(ctx, Role.operator))
    create(client, csrf)
    cid = channels_json(client, api_admin)[0]["id"]

    # when it is renamed, regrouped and then deactivated
    edited = client.post(
        f"/console/channels/{cid}",
        data={"csrf_token": csrf, "name": "地铁海报 B", "group": "ads", "note": "换版"},
        follow_redirects=False,
    )
    off = client.post(
        f"/console/channels/{cid}/active",
        data={"csrf_token": csrf, "is_active": "0"},
        follow_redirects=False,
    )

    # then both are saved and audited; the code stays
    assert (edited.status_code, off.status_code) == (303, 303)
    [channel] = channels_json(client, api_admin)
    assert (channel["code"], channel["name"], channel["group"], channel["note"]) == (
        "POSTER1",
        "地铁海报 B",
        "ads",
        "换版",
    )
    assert channel["is_active"] is False
    page = client.get(off.headers["location"])
    assert f'data-id="{cid}" data-code="POSTER1" data-active="false"' in page.text
    assert f'id="ch-{cid}-activate"' in page.text
    assert audit_actions(client, api_admin).count("channel.update") == 2

    # and a blank name is refused next to the row's field
    blank = client.post(
        f"/console/channels/{cid}", data={"csrf_token": csrf, "name": "", "group": "ads"}
    )
    assert blank.status_code == 422
    assert f'id="err-ch-{cid}-name"' in blank.text


def test_spend_entered_twice_for_a_day_replaces_it(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given a channel
    csrf = sign_in(client, new_operator(ctx, Role.operator))
    create(client, csrf)
    cid = channels_json(client, api_admin)[0]["id"]
    today = ctx.clock.now().astimezone(SHANGHAI).date()
    yesterday = today - timedelta(days=1)

    # when yesterday's spend is entered, then corrected, and today's added
    posts = [
        client.post(
            "/console/channels/spend",
            data={
                "csrf_token": csrf,
                "spend_channel_id": str(cid),
                "spend_day": day.isoformat(),
                "spend_amount": amount,
            },
            follow_redirects=False,
        )
        for day, amount in ((yesterday, "12.5"), (yesterday, "300"), (today, "¥0.99"))
    ]

    # then one row per day holds the last amount, in fen
    assert [p.status_code for p in posts] == [303, 303, 303]
    rows = client.get(
        "/api/admin/channels/spend",
        params={"day_from": yesterday.isoformat(), "day_to": today.isoformat()},
        headers=api_admin,
    ).json()
    assert [(r["day"], r["amount_fen"]) for r in rows] == [
        (yesterday.isoformat(), 30000),
        (today.isoformat(), 99),
    ]
    page = client.get("/console/channels")
    assert f'data-day="{yesterday.isoformat()}" data-fen="30000"' in page.text
    assert 'data-testid="spend-total" data-fen="30099"' in page.text
    assert page.text.count('data-testid="spend-cell"') == 14
    assert audit_actions(client, api_admin).count("channel.spend") == 3

    # and a malformed amount or day is reported next to its field, nothing written
    bad = client.post(
        "/console/channels/spend",
        data={
            "csrf_token": csrf,
            "spend_channel_id": str(cid),
            "spend_day": "yesterday",
            "spend_amount": "1.234",
        },
    )
    assert bad.status_code == 422
    assert 'id="err-spend_amount"' in bad.text and 'id="err-spend_day"' in bad.text
    assert audit_actions(client, api_admin).count("channel.spend") == 3


def test_an_analyst_sees_the_page_but_cannot_change_anything(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given a channel and an analyst
    owner_csrf = sign_in(client, new_operator(ctx, Role.owner))
    create(client, owner_csrf)
    cid = channels_json(client, api_admin)[0]["id"]
    client.cookies.clear()
    csrf = sign_in(client, new_operator(ctx, Role.analyst))

    # then the page shows the codes and links but no forms
    page = client.get("/console/channels")
    assert page.status_code == 200
    assert input_value(page.text, f"scene-{cid}") == "c=POSTER1"
    for form in ('id="channel-form"', 'id="spend-form"', f'id="channel-edit-{cid}"'):
        assert form not in page.text

    # and posting the forms anyway is refused
    refused = [
        create(client, csrf, code="SNEAKY"),
        client.post(
            f"/console/channels/{cid}", data={"csrf_token": csrf, "name": "x", "group": "qr"}
        ),
        client.post(f"/console/channels/{cid}/active", data={"csrf_token": csrf, "is_active": "0"}),
        client.post(
            "/console/channels/spend",
            data={
                "csrf_token": csrf,
                "spend_channel_id": str(cid),
                "spend_day": "2026-11-01",
                "spend_amount": "10",
            },
        ),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    [channel] = channels_json(client, api_admin)
    assert (channel["code"], channel["name"], channel["is_active"]) == ("POSTER1", "地铁海报", True)
    assert audit_actions(client, api_admin) == ["channel.create"]


def test_support_may_neither_see_nor_change_channels(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    csrf = sign_in(client, new_operator(ctx, Role.support))

    page = client.get("/console/channels")
    posted = create(client, csrf)

    assert page.status_code == posted.status_code == 403
    assert 'data-testid="error-page"' in page.text
    assert 'data-testid="nav-channels"' not in page.text
    assert channels_json(client, api_admin) == []


def test_a_post_without_the_form_token_is_refused(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given an owner, who may write
    csrf = sign_in(client, new_operator(ctx, Role.owner))
    create(client, csrf)
    cid = channels_json(client, api_admin)[0]["id"]

    # when forms arrive without (or with a wrong) CSRF token
    refused = [
        client.post("/console/channels", data={"code": "X1", "name": "x", "group": "qr"}),
        client.post(
            "/console/channels",
            data={"csrf_token": "forged", "code": "X2", "name": "x", "group": "qr"},
        ),
        client.post(f"/console/channels/{cid}/active", data={"is_active": "0"}),
        client.post(
            "/console/channels/spend",
            data={"spend_channel_id": str(cid), "spend_day": "2026-11-01", "spend_amount": "9"},
        ),
    ]

    # then they are refused and nothing changes
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert all("表单已过期" in r.text for r in refused)
    assert [(c["code"], c["is_active"]) for c in channels_json(client, api_admin)] == [
        ("POSTER1", True)
    ]
    assert audit_actions(client, api_admin) == ["channel.create"]
