"""The play pages (拼团, 秒杀): a group buy is created from the form and its list shows
the live figures of its groups to the unit and the fen; a bad form comes back 422 with
words next to the field and nothing written; pause, resume and end are audited and an
ended campaign refuses to start again; the groups page masks members and shows the
deadline in Beijing time; a flash sale is created with its items and edited, and its
board counts reserved, paid and released units and runs the reconciliation."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.flash_sale import service as flash
from siyu.group_buy import campaigns
from siyu.group_buy.rules import CampaignStatus
from siyu.identity.rules import Role
from siyu.worker import Worker
from tests.console.conftest import new_operator, sign_in
from tests.helpers import ADDRESS, create_product, shopper_headers

SHELF = 5900


@pytest.fixture
def owner(client: TestClient, ctx: Context, api_admin: dict[str, str]) -> str:
    return sign_in(client, new_operator(ctx, Role.owner))


@pytest.fixture
def sku_id(client: TestClient, api_admin: dict[str, str]) -> int:
    product = create_product(
        client, api_admin, skus=[{"spec": {"烘焙": "中度"}, "price_fen": SHELF, "stock": 200}]
    )
    return int(product["skus"][0]["id"])


def post(client: TestClient, url: str, csrf: str, **fields: Any) -> Any:
    return client.post(url, data={"csrf_token": csrf, **fields}, follow_redirects=False)


def field_error(page: str, name: str) -> str:
    match = re.search(rf'id="err-{re.escape(name)}"[^>]*>([^<]+)<', page)
    assert match, f"no error next to {name}"
    return match.group(1)


def stat(page: str, key: str) -> str:
    match = re.search(rf'data-testid="gb-stat-{key}" data-value="([^"]*)"', page)
    assert match, key
    return match.group(1)


def audit_actions(client: TestClient, admin: dict[str, str], target_type: str) -> list[str]:
    rows = client.get("/api/admin/audit-logs", params={"target_type": target_type}, headers=admin)
    assert rows.status_code == 200, rows.text
    return sorted(r["action"] for r in rows.json())


def campaign_form(sku_id: int, **changes: str) -> dict[str, str]:
    return {
        "name": "咖啡豆拼团", "sku_id": str(sku_id), "t1_size": "2", "t1_price": "39",
        "t2_size": "3", "t2_price": "35", "duration_minutes": "60", "max_quantity": "2",
        "per_shopper_limit": "0", "free_shipping": "1", "starts_at": "2026-10-01T00:00",
        "ends_at": "2026-12-31T00:00", "status": "active", **changes,
    }  # fmt: skip


def pay(client: TestClient, order_id: int, who: dict[str, str]) -> None:
    assert client.post(f"/api/app/orders/{order_id}/pay", headers=who).status_code == 200
    paid = client.post(f"/api/app/orders/{order_id}/sandbox-pay", headers=who)
    assert paid.json()["status"] == "paid", paid.text


def place(client: TestClient, url: str, who: dict[str, str], **body: Any) -> dict[str, Any]:
    made = client.post(
        url,
        json={"address": ADDRESS, **body},
        headers=who | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


# ---------------------------------------------------------------- group buy


def test_a_group_buy_from_the_form_shows_its_groups_figures_to_the_unit_and_fen(
    client: TestClient, ctx: Context, owner: str, sku_id: int
) -> None:
    # given a campaign made from the form: 2 people ¥39, 3 people ¥35, one hour
    created = post(client, "/console/group-buy/new", owner, **campaign_form(sku_id))
    assert created.status_code == 303, created.text
    campaign_id = int(created.headers["location"].split("/")[-1].split("?")[0])
    with ctx.db.transaction() as session:
        campaign = campaigns.get_campaign(session, campaign_id)
        assert campaign.tiers == [[2, 3900], [3, 3500]]
        assert (campaign.duration_minutes, campaign.max_quantity) == (60, 2)
        assert (campaign.free_shipping, campaign.auto_fill) == (True, False)

    # and group A: a leader (2 units) and a new shopper joining through the leader's
    # share — it completes at 2 paid seats by its deadline; the ladder is not reached
    leader = shopper_headers(client, "gb-leader", nickname="张三丰")
    leader_id = client.get("/api/app/me", headers=leader).json()["id"]
    opened = place(client, f"/api/app/group-buy/{campaign_id}/groups", leader, quantity=2)
    pay(client, opened["order"]["id"], leader)
    group_a = opened["group"]["id"]
    friend = shopper_headers(client, "gb-friend", nickname="李四")
    joined = place(
        client, f"/api/app/group-buy/groups/{group_a}/members", friend, sharer_id=leader_id
    )
    pay(client, joined["order"]["id"], friend)
    # and group B: a leader alone, who fails at the deadline and is refunded ¥39
    lonely = shopper_headers(client, "gb-lonely", nickname="王五")
    alone = place(client, f"/api/app/group-buy/{campaign_id}/groups", lonely)
    pay(client, alone["order"]["id"], lonely)
    ctx.clock.advance(timedelta(minutes=61))  # type: ignore[attr-defined]
    Worker(ctx).drain()

    # when the owner reads the list and the campaign
    page = client.get("/console/group-buy")
    detail = client.get(f"/console/group-buy/{campaign_id}").text

    # then
    assert page.status_code == 200, page.text
    expected = {
        "groups_opened": "2", "groups_open": "0", "groups_completed": "1", "groups_failed": "1",
        "success_rate_percent": "50", "units_sold": "4", "refunded_orders": "1",
        "refunded_fen": "3900", "new_shoppers": "1",
    }  # fmt: skip
    assert {key: stat(page.text, key) for key in expected} == expected
    assert stat(detail, "new_via_share") == "1"
    assert stat(detail, "members_paid") == "3"
    assert stat(detail, "refunds") == "1"
    assert "2人 ¥39.00 / 3人 ¥35.00" in page.text

    # and the groups page masks names and shows the deadline in Beijing time
    groups = client.get(f"/console/group-buy/{campaign_id}/groups").text
    rows = re.findall(r'data-testid="group-row" data-id="(\d+)" data-status="(\w+)"', groups)
    assert sorted(status for _, status in rows) == ["completed", "failed"]
    assert "张**" in groups and "李*" in groups and "王*" in groups
    assert "张三丰" not in groups
    with ctx.db.transaction() as session:
        deadline = campaigns.get_group(session, group_a).deadline_at
    assert deadline is not None
    shanghai = (deadline + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert shanghai in groups


def test_a_bad_group_buy_form_comes_back_422_next_to_its_field_and_writes_nothing(
    client: TestClient, ctx: Context, owner: str, sku_id: int
) -> None:
    # when
    responses = {
        "no tiers": post(client, "/console/group-buy/new", owner,
                         **campaign_form(sku_id, t1_size="", t1_price="", t2_size="", t2_price="")),
        "above shelf": post(client, "/console/group-buy/new", owner,
                            **campaign_form(sku_id, t1_price="80")),
        "bad price": post(client, "/console/group-buy/new", owner,
                          **campaign_form(sku_id, t2_price="abc")),
        "short limit": post(client, "/console/group-buy/new", owner,
                            **campaign_form(sku_id, duration_minutes="2")),
        "backwards": post(client, "/console/group-buy/new", owner,
                          **campaign_form(sku_id, ends_at="2026-09-01T00:00")),
        "no sku": post(client, "/console/group-buy/new", owner,
                       **campaign_form(987654)),
        "bad status": post(client, "/console/group-buy/new", owner,
                           **campaign_form(sku_id, status="ended")),
    }  # fmt: skip

    # then
    assert {k: r.status_code for k, r in responses.items()} == dict.fromkeys(responses, 422)
    assert field_error(responses["no tiers"].text, "tiers") == "至少填一档：成团人数和拼团价。"
    assert "低于原价" in field_error(responses["above shelf"].text, "tiers")
    assert field_error(responses["bad price"].text, "t2_price")
    assert field_error(responses["short limit"].text, "duration_minutes")
    assert field_error(responses["backwards"].text, "ends_at") == "结束时间需晚于开始时间。"
    assert field_error(responses["no sku"].text, "sku_id") == "没有这个商品规格。"
    assert field_error(responses["bad status"].text, "status")
    assert 'value="80"' in responses["above shelf"].text  # what was typed stays
    with ctx.db.transaction() as session:
        assert campaigns.list_campaigns(session) == []


def test_pause_resume_and_end_are_audited_and_an_ended_campaign_stays_ended(
    client: TestClient, ctx: Context, owner: str, sku_id: int, api_admin: dict[str, str]
) -> None:
    # given
    created = post(client, "/console/group-buy/new", owner, **campaign_form(sku_id))
    url = created.headers["location"].split("?")[0]

    # when
    paused = post(client, f"{url}/status", owner, status="paused")
    with ctx.db.transaction() as session:
        after_pause = campaigns.get_campaign(session, int(url.split("/")[-1])).status
    resumed = post(client, f"{url}/status", owner, status="active")
    ended = post(client, f"{url}/status", owner, status="ended")
    again = post(client, f"{url}/status", owner, status="active")
    nonsense = post(client, f"{url}/status", owner, status="sold_out")

    # then
    assert [r.status_code for r in (paused, resumed, ended)] == [303, 303, 303]
    assert after_pause is CampaignStatus.paused
    assert paused.headers["location"].endswith("?notice=group_buy_paused")
    assert again.status_code == 409
    assert field_error(again.text, "status") == "当前状态下不能这样改。"
    assert nonsense.status_code == 422
    with ctx.db.transaction() as session:
        assert (
            campaigns.get_campaign(session, int(url.split("/")[-1])).status is CampaignStatus.ended
        )
    assert audit_actions(client, api_admin, "group_buy") == [
        "group_buy.save", "group_buy.status", "group_buy.status", "group_buy.status",
    ]  # fmt: skip
    # and the audit page reads the changes in words
    audit = client.get("/console/audit?target_type=group_buy")
    assert audit.status_code == 200
    assert "修改拼团活动状态" in audit.text and "已暂停" in audit.text


def test_a_paused_campaign_takes_no_new_group_until_it_is_resumed(
    client: TestClient, ctx: Context, owner: str, sku_id: int, api_admin: dict[str, str]
) -> None:
    # given a paused campaign
    created = post(client, "/console/group-buy/new", owner, **campaign_form(sku_id))
    campaign_id = int(created.headers["location"].split("/")[-1].split("?")[0])
    paused = client.post(f"/api/admin/group-buy/{campaign_id}/status",
                         json={"status": "paused"}, headers=api_admin)  # fmt: skip
    assert paused.status_code == 200, paused.text
    leader = shopper_headers(client, "gb-paused")

    # when a shopper tries to open a group, then after the resume
    refused = client.post(
        f"/api/app/group-buy/{campaign_id}/groups",
        json={"address": ADDRESS},
        headers=leader | {"Idempotency-Key": str(uuid.uuid4())},
    )
    running = client.get("/api/app/group-buy", headers=leader).json()
    post(client, f"/console/group-buy/{campaign_id}/status", owner, status="active")
    opened = place(client, f"/api/app/group-buy/{campaign_id}/groups", leader)

    # then
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "group_buy_not_running"
    assert [c["id"] for c in running] == []
    assert opened["group"]["status"] == "pending"


def test_an_analyst_reads_the_play_pages_but_may_not_post(
    client: TestClient, ctx: Context, api_admin: dict[str, str], sku_id: int
) -> None:
    csrf = sign_in(client, new_operator(ctx, Role.analyst))
    assert client.get("/console/group-buy").status_code == 200
    assert client.get("/console/flash-sales").status_code == 200
    refused = post(client, "/console/group-buy/new", csrf, **campaign_form(sku_id))
    assert refused.status_code == 403
    assert 'id="new-group-buy"' not in client.get("/console/group-buy").text


def test_unknown_and_huge_ids_get_a_404_page(client: TestClient, owner: str) -> None:
    for path in ("/console/group-buy/987654", "/console/group-buy/987654/groups",
                 f"/console/group-buy/{10**30}", "/console/flash-sales/987654",
                 "/console/flash-sales/987654/board", "/console/flash-sales/abc"):  # fmt: skip
        response = client.get(path)
        assert response.status_code == 404, path
        assert "<!doctype html>" in response.text
    assert (
        post(client, "/console/group-buy/987654/status", owner, status="paused").status_code == 404
    )
    assert post(client, "/console/flash-sales/987654/reconcile", owner).status_code == 404


# ---------------------------------------------------------------- flash sale


def flash_form(sku_id: int, **changes: str) -> dict[str, str]:
    return {
        "name": "10点秒杀", "starts_at": "2026-11-02T10:00", "ends_at": "2026-11-02T10:30",
        "status": "active", "payment_timeout_minutes": "5", "i1_sku": str(sku_id),
        "i1_price": "19.9", "i1_quantity": "5", "i1_limit": "2", **changes,
    }  # fmt: skip


def test_a_flash_sale_is_created_edited_and_its_board_counts_every_unit(
    client: TestClient, ctx: Context, owner: str, sku_id: int, api_admin: dict[str, str]
) -> None:
    # given a session from the form that is on now (typed in Beijing time)
    start = (ctx.clock.now() + timedelta(hours=8) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    end = (ctx.clock.now() + timedelta(hours=8, minutes=30)).strftime("%Y-%m-%dT%H:%M")
    created = post(client, "/console/flash-sales/new", owner,
                   **flash_form(sku_id, starts_at=start, ends_at=end))  # fmt: skip
    assert created.status_code == 303, created.text
    url = created.headers["location"].split("?")[0]
    session_id = int(url.split("/")[-1])
    with ctx.db.transaction() as session:
        (view,) = flash.items_of(session, session_id)
        item_id = view.item.id
        assert (view.item.sale_price_fen, view.item.quantity, view.item.per_shopper_limit) == (
            1990, 5, 2)  # fmt: skip

    # and three shoppers: one pays 2 units, one leaves 1 unpaid, one's order times out
    buyers = [shopper_headers(client, f"fs-{n}") for n in range(3)]
    orders = [
        place(client, f"/api/app/flash-sales/items/{item_id}/buy", who, quantity=q)["order"]
        for who, q in zip(buyers, (2, 1, 1), strict=True)
    ]
    pay(client, orders[0]["id"], buyers[0])
    cancelled = client.post(f"/api/app/orders/{orders[2]['id']}/cancel", headers=buyers[2])
    assert cancelled.status_code == 200, cancelled.text

    # when the board is read, then reconciled
    board = client.get(f"{url}/board").text
    checked = post(client, f"{url}/reconcile", owner, fix="1")
    after = client.get(f"{url}/board").text

    # then
    def cell(page: str, key: str) -> str:
        match = re.search(rf'data-testid="board-{key}" data-value="([^"]*)"', page)
        assert match, key
        return match.group(1)

    figures = {k: cell(board, k) for k in ("quantity", "units_left", "reserved", "sold",
                                           "released", "buyers", "gate_units_left")}  # fmt: skip
    assert figures == {"quantity": "5", "units_left": "2", "reserved": "1", "sold": "2",
                       "released": "1", "buyers": "2", "gate_units_left": ""}  # fmt: skip
    assert '<meta http-equiv="refresh" content="5">' in board
    assert 'data-testid="reconciliation-none"' in board
    assert checked.status_code == 303
    assert re.search(r'data-testid="reconciliation" data-clean="1"', after)
    assert audit_actions(client, api_admin, "flash_sale") == [
        "flash_sale.item", "flash_sale.reconcile", "flash_sale.save",
    ]  # fmt: skip

    # and an edit may not take the quantity below the units taken: 409, nothing written
    edit = {"i1_id": str(item_id), "i1_price": "19.9", "i1_quantity": "2", "i1_limit": "2"}
    below = post(client, url, owner, **flash_form(sku_id, starts_at=start, ends_at=end,
                                                  i1_sku="", **edit))  # fmt: skip
    assert below.status_code == 409, below.text
    assert "数量不能少于" in below.text
    raised = post(client, url, owner, **flash_form(sku_id, starts_at=start, ends_at=end,
                                                   i1_sku="", **(edit | {"i1_quantity": "9"})))  # fmt: skip
    assert raised.status_code == 303, raised.text
    with ctx.db.transaction() as session:
        assert flash.get_item(session, item_id).quantity == 9


def test_a_bad_flash_sale_form_comes_back_422_and_writes_nothing(
    client: TestClient, ctx: Context, owner: str, sku_id: int
) -> None:
    responses = {
        "backwards": post(client, "/console/flash-sales/new", owner,
                          **flash_form(sku_id, ends_at="2026-11-02T09:00")),
        "above shelf": post(client, "/console/flash-sales/new", owner,
                            **flash_form(sku_id, i1_price="99")),
        "bad limit": post(client, "/console/flash-sales/new", owner,
                          **flash_form(sku_id, i1_limit="50")),
        "timeout": post(client, "/console/flash-sales/new", owner,
                        **flash_form(sku_id, payment_timeout_minutes="90")),
        "no date": post(client, "/console/flash-sales/new", owner,
                        **flash_form(sku_id, starts_at="tomorrow")),
    }  # fmt: skip
    assert {k: r.status_code for k, r in responses.items()} == dict.fromkeys(responses, 422)
    assert field_error(responses["backwards"].text, "ends_at")
    assert "低于原价" in field_error(responses["above shelf"].text, "items")
    assert field_error(responses["bad limit"].text, "i1_limit")
    assert field_error(responses["timeout"].text, "payment_timeout_minutes")
    assert field_error(responses["no date"].text, "starts_at")
    with ctx.db.transaction() as session:
        assert flash.list_sessions(session) == []


@pytest.mark.parametrize(
    ("url", "changes"),
    [
        ("/console/group-buy/new", {"sku_id": str(10**30)}),
        ("/console/group-buy/new", {"t1_size": str(10**30), "t1_price": "9" * 40}),
        ("/console/group-buy/new", {"duration_minutes": "-5", "max_quantity": "1e9"}),
        ("/console/group-buy/new", {"starts_at": "2026-13-45T99:99", "name": "x" * 500}),
        ("/console/flash-sales/new", {"i1_sku": str(10**30)}),
        ("/console/flash-sales/new", {"i1_quantity": str(10**30), "i1_price": "-1"}),
        ("/console/flash-sales/new", {"i1_id": "123456", "i1_sku": ""}),
        ("/console/flash-sales/new", {"i1_id": str(10**30)}),
    ],
)
def test_absurd_values_are_a_4xx_page_never_a_500(
    client: TestClient, ctx: Context, owner: str, sku_id: int, url: str, changes: dict[str, str]
) -> None:
    form = campaign_form(sku_id) if "group-buy" in url else flash_form(sku_id)
    response = post(client, url, owner, **(form | changes))
    assert 400 <= response.status_code < 500, response.text[-400:]
    assert "<!doctype html>" in response.text
    with ctx.db.transaction() as session:
        assert campaigns.list_campaigns(session) == [] and flash.list_sessions(session) == []


def test_once_a_group_is_open_the_item_and_prices_are_fixed_but_the_name_is_not(
    client: TestClient, ctx: Context, owner: str, sku_id: int
) -> None:
    # given a campaign whose first group is open
    created = post(client, "/console/group-buy/new", owner, **campaign_form(sku_id))
    url = created.headers["location"].split("?")[0]
    leader = shopper_headers(client, "gb-frozen")
    opened = place(client, f"/api/app/group-buy/{url.split('/')[-1]}/groups", leader)
    pay(client, opened["order"]["id"], leader)

    # when
    page = client.get(url).text
    repriced = post(client, url, owner, **campaign_form(sku_id, t1_price="37"))
    renamed = post(client, url, owner, **campaign_form(sku_id, name="周末拼团"))

    # then
    assert 'data-testid="group-buy-frozen"' in page
    assert repriced.status_code == 409
    assert field_error(repriced.text, "_form") == "已有人开团，商品和价格不能再改。"
    assert renamed.status_code == 303
    with ctx.db.transaction() as session:
        campaign = campaigns.get_campaign(session, int(url.split("/")[-1]))
        assert (campaign.name, campaign.tiers) == ("周末拼团", [[2, 3900], [3, 3500]])
