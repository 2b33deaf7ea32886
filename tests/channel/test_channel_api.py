from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from siyu.bootstrap import Context
from siyu.channel.service import spend_totals
from siyu.identity.models import AuditLog
from siyu.identity.rules import Role
from tests.helpers import operator_headers


def _create(
    client: TestClient, admin: dict[str, str], code: str = "AB12", group: str = "qr"
) -> dict[str, Any]:
    response = client.post(
        "/api/admin/channels",
        json={"code": code, "name": "地铁海报", "group": group, "note": "2号线"},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_an_operator_creates_a_channel_with_its_printable_links(
    client: TestClient, ctx: Context
) -> None:
    # given
    admin = operator_headers(client, ctx, Role.operator)

    # when
    channel = _create(client, admin)

    # then
    assert (channel["code"], channel["group"], channel["is_active"]) == ("AB12", "qr", True)
    assert channel["mini_program_scene"] == "c=AB12"
    assert channel["storefront_url"] == (
        f"{ctx.settings.public_base_url}/shop?qr_scene=c%3DAB12&scene=1047"
    )
    with ctx.db.transaction() as session:
        actions = session.scalars(select(AuditLog.action).where(AuditLog.target_type == "channel"))
        assert list(actions) == ["channel.create"]


def test_a_code_is_unique_and_must_be_well_formed(client: TestClient, ctx: Context) -> None:
    admin = operator_headers(client, ctx)
    _create(client, admin)
    taken = client.post(
        "/api/admin/channels", json={"code": "AB12", "name": "x", "group": "qr"}, headers=admin
    )
    bad = client.post(
        "/api/admin/channels", json={"code": "A B", "name": "x", "group": "qr"}, headers=admin
    )
    bad_group = client.post(
        "/api/admin/channels", json={"code": "C1", "name": "x", "group": "tv"}, headers=admin
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "channel_code_taken"
    assert bad.status_code == 422
    assert bad_group.status_code == 422 and bad_group.json()["error"]["code"] == "bad_channel_group"


def test_updating_keeps_the_code_and_deactivated_channels_can_be_hidden(
    client: TestClient, ctx: Context
) -> None:
    admin = operator_headers(client, ctx)
    channel = _create(client, admin)
    _create(client, admin, code="AD01", group="ads")

    updated = client.patch(
        f"/api/admin/channels/{channel['id']}",
        json={"name": "地铁海报 B", "is_active": False},
        headers=admin,
    )
    active = client.get("/api/admin/channels?include_inactive=false", headers=admin)

    assert updated.status_code == 200
    assert (updated.json()["name"], updated.json()["code"], updated.json()["is_active"]) == (
        "地铁海报 B",
        "AB12",
        False,
    )
    assert [c["code"] for c in active.json()] == ["AD01"]


def test_spend_upserts_per_day_and_totals_by_code_and_group(
    client: TestClient, ctx: Context
) -> None:
    # given
    admin = operator_headers(client, ctx)
    qr = _create(client, admin)
    ads = _create(client, admin, code="AD01", group="ads")

    # when the same day is entered twice
    for channel, day, amount in [
        (qr, "2026-11-02", 1000),
        (qr, "2026-11-02", 1500),
        (qr, "2026-11-03", 200),
        (ads, "2026-11-03", 9000),
        (ads, "2026-11-09", 7),
    ]:
        response = client.put(
            f"/api/admin/channels/{channel['id']}/spend/{day}",
            json={"amount_fen": amount},
            headers=admin,
        )
        assert response.status_code == 200, response.text

    # then
    listed = client.get(
        "/api/admin/channels/spend?day_from=2026-11-02&day_to=2026-11-08", headers=admin
    )
    assert [(s["code"], s["day"], s["amount_fen"]) for s in listed.json()] == [
        ("AB12", "2026-11-02", 1500),
        ("AB12", "2026-11-03", 200),
        ("AD01", "2026-11-03", 9000),
    ]
    with ctx.db.transaction() as session:
        assert spend_totals(
            session, day_from=date(2026, 11, 2), day_to=date(2026, 11, 8), by="code"
        ) == {"AB12": 1700, "AD01": 9000}
        assert spend_totals(
            session, day_from=date(2026, 11, 2), day_to=date(2026, 11, 9), by="group"
        ) == {"ads": 9007, "qr": 1700}


def test_negative_spend_is_refused_and_a_channel_with_spend_is_not_deleted(
    client: TestClient, ctx: Context
) -> None:
    admin = operator_headers(client, ctx)
    channel = _create(client, admin)
    empty = _create(client, admin, code="E1")

    negative = client.put(
        f"/api/admin/channels/{channel['id']}/spend/2026-11-02",
        json={"amount_fen": -1},
        headers=admin,
    )
    client.put(
        f"/api/admin/channels/{channel['id']}/spend/2026-11-02",
        json={"amount_fen": 1},
        headers=admin,
    )
    refused = client.delete(f"/api/admin/channels/{channel['id']}", headers=admin)
    deleted = client.delete(f"/api/admin/channels/{empty['id']}", headers=admin)

    assert negative.status_code == 422
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "channel_has_spend"
    assert deleted.status_code == 204
    assert client.get(f"/api/admin/channels/{empty['id']}", headers=admin).status_code == 404


def test_analysts_read_channels_but_cannot_write_them(client: TestClient, ctx: Context) -> None:
    admin = operator_headers(client, ctx)
    channel = _create(client, admin)
    analyst = operator_headers(client, ctx, Role.analyst)
    support = operator_headers(client, ctx, Role.support)

    assert client.get("/api/admin/channels", headers=analyst).status_code == 200
    assert (
        client.put(
            f"/api/admin/channels/{channel['id']}/spend/2026-11-02",
            json={"amount_fen": 5},
            headers=analyst,
        ).status_code
        == 403
    )
    assert client.get("/api/admin/channels", headers=support).status_code == 403
