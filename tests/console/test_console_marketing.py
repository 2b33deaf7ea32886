"""The promotion and coupon pages: created through the forms and listed with their
rule in words, bad input reported next to the field with nothing written, read-only
for analysts, bulk issue, and the redemption figures after a paid order used a coupon
(SQLite and PostgreSQL)."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.identity.rules import Role
from tests.console.conftest import new_operator, sign_in
from tests.helpers import ADDRESS, create_product, shopper_headers

SCHEDULE = {"starts_at": "2026-11-01T00:00", "ends_at": "2026-11-30T23:59"}


# ---------------------------------------------------------------- helpers


def promotions_json(client: TestClient, admin: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get("/api/admin/promotions", headers=admin)
    assert response.status_code == 200, response.text
    return list(response.json())


def coupons_json(client: TestClient, admin: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get("/api/admin/coupon-templates", headers=admin)
    assert response.status_code == 200, response.text
    return list(response.json())


def audit_actions(client: TestClient, admin: dict[str, str], target_type: str) -> list[str]:
    rows = client.get("/api/admin/audit-logs", params={"target_type": target_type}, headers=admin)
    return sorted(r["action"] for r in rows.json())


def post_promotion(client: TestClient, csrf: str, **fields: Any) -> Any:
    data: dict[str, Any] = {
        "csrf_token": csrf,
        "name": "双十一满减",
        "kind": "full_reduction",
        "scope_kind": "all",
        "stack_group": "default",
        "priority": "0",
        **SCHEDULE,
    }
    data.update(fields)
    return client.post("/console/promotions/new", data=data, follow_redirects=False)


def post_coupon(client: TestClient, csrf: str, **fields: Any) -> Any:
    data: dict[str, Any] = {
        "csrf_token": csrf,
        "name": "满100减20",
        "kind": "cash_off",
        "threshold": "100",
        "amount": "20",
        "scope_kind": "all",
        "validity_kind": "relative",
        "valid_days": "7",
        "per_shopper_limit": "1",
        "min_tier": "0",
        "stack_group": "default",
        "claimable": "1",
        "gift_trigger": "none",
    }
    data.update(fields)
    return client.post("/console/coupons/new", data=data, follow_redirects=False)


def rows(page: str, testid: str) -> dict[str, str]:
    """``data-id`` → the row's HTML for ``tr[data-testid=<testid>]``."""
    found = re.findall(
        rf'<tr id="[^"]+" data-testid="{testid}" data-id="(\d+)"(.*?)</tr>', page, re.S
    )
    return {row_id: body for row_id, body in found}


def cell(row: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</(?:td|dd|span)>', row, re.S)
    assert match, f"no {testid}"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


def value_of(row: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}" data-value="([^"]*)"', row)
    assert match, f"no {testid}"
    return match.group(1)


def shopper_id(client: TestClient, shopper: dict[str, str]) -> int:
    me = client.get("/api/app/me", headers=shopper)
    assert me.status_code == 200, me.text
    return int(me.json()["id"])


# ---------------------------------------------------------------- promotions


def test_promotions_of_every_kind_are_created_through_the_form_and_listed_in_words(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given two products to bundle, and an operator
    lipstick = create_product(client, api_admin, title="口红")
    palette = create_product(client, api_admin, title="眼影盘")
    csrf = sign_in(client, new_operator(ctx, Role.operator))

    # when four promotions are created through the form (money in yuan)
    created = [
        post_promotion(
            client,
            csrf,
            **{
                "tiers-0-threshold": "199",
                "tiers-0-amount": "30",
                "tiers-1-threshold": "299.00",
                "tiers-1-amount": "50",
                "tiers-2-threshold": "",
                "tiers-2-amount": "",
            },
        ),
        post_promotion(
            client, csrf, name="两件九折", kind="n_item_discount", min_items="2", percent_off="10"
        ),
        post_promotion(
            client,
            csrf,
            name="口红眼影组合",
            kind="bundle",
            bundle_product_ids=f"{lipstick['id']}, {palette['id']}",
            amount_off="30",
            exclusive="1",
        ),
        post_promotion(
            client,
            csrf,
            name="会员价",
            kind="member_price",
            min_tier="2",
            percent_off="5",
            scope_kind="products",
            product_ids=str(lipstick["id"]),
            excluded_product_ids="",
            stack_group="vip",
            priority="5",
        ),
    ]

    # then each is saved and the list shows its rule as an operator would say it
    assert [r.status_code for r in created] == [303] * 4, [r.text[:300] for r in created]
    assert created[0].headers["location"].startswith("/console/promotions?notice=promotion_created")
    saved = {p["name"]: p for p in promotions_json(client, api_admin)}
    assert saved["双十一满减"]["tiers"] == [
        {"threshold_fen": 19900, "amount_fen": 3000},
        {"threshold_fen": 29900, "amount_fen": 5000},
    ]
    assert saved["双十一满减"]["starts_at"].startswith("2026-10-31T16:00")  # Shanghai → UTC
    assert saved["口红眼影组合"]["bundle_product_ids"] == [lipstick["id"], palette["id"]]
    assert saved["口红眼影组合"]["exclusive"] is True
    assert (saved["会员价"]["scope_kind"], saved["会员价"]["product_ids"]) == (
        "products",
        [lipstick["id"]],
    )
    page = client.get("/console/promotions")
    assert page.status_code == 200
    assert 'data-testid="notice"' not in page.text
    listed = rows(page.text, "promotion-row")
    by_name = {p["name"]: listed[str(p["id"])] for p in saved.values()}
    assert cell(by_name["双十一满减"], "promotion-rule") == "满199减30 / 满299减50"
    assert cell(by_name["两件九折"], "promotion-rule") == "2件9折"
    assert cell(by_name["口红眼影组合"], "promotion-rule").startswith("组合立减¥30")
    assert cell(by_name["会员价"], "promotion-rule") == "会员等级≥2 9.5折"
    assert (
        cell(by_name["双十一满减"], "promotion-schedule") == "2026-11-01 00:00 – 2026-11-30 23:59"
    )
    assert 'data-status="running"' in by_name["双十一满减"]
    assert cell(by_name["口红眼影组合"], "promotion-stacking").startswith("独享")
    assert cell(by_name["会员价"], "promotion-stacking") == "叠加组 vip · 优先级 5"
    assert cell(by_name["会员价"], "promotion-scope") == f"商品：#{lipstick['id']} 口红"
    assert value_of(by_name["双十一满减"], "promotion-stat-orders") == "0"
    assert audit_actions(client, api_admin, "promotion") == ["promotion.create"] * 4

    # and in English too
    client.cookies.set("siyu_lang", "en")
    english = rows(client.get("/console/promotions").text, "promotion-row")
    first = english[str(saved["双十一满减"]["id"])]
    assert cell(first, "promotion-rule") == "¥30 off ¥199 / ¥50 off ¥299"
    assert cell(english[str(saved["两件九折"]["id"])], "promotion-rule") == "10% off 2+ items"


BAD_PROMOTIONS = {
    "tier amount above its threshold": (
        {"tiers-0-threshold": "100", "tiers-0-amount": "120"},
        "tiers",
        "减免金额不能超过门槛",
    ),
    "end before start": (
        {
            "tiers-0-threshold": "199",
            "tiers-0-amount": "30",
            "starts_at": "2026-11-10T00:00",
            "ends_at": "2026-11-09T00:00",
        },
        "ends_at",
        "结束时间须晚于开始时间",
    ),
    "unknown product id": (
        {
            "tiers-0-threshold": "199",
            "tiers-0-amount": "30",
            "scope_kind": "products",
            "product_ids": "987654",
        },
        "product_ids",
        "商品不存在：[987654]",
    ),
    "text in a money field": (
        {"tiers-0-threshold": "一百", "tiers-0-amount": "30"},
        "tiers-0-threshold",
        "请输入金额",
    ),
    "text in an id field": (
        {"tiers-0-threshold": "199", "tiers-0-amount": "30", "excluded_product_ids": "12, abc"},
        "excluded_product_ids",
        "请输入数字 ID",
    ),
    "malformed time": (
        {"tiers-0-threshold": "199", "tiers-0-amount": "30", "starts_at": "明天"},
        "starts_at",
        "请选择日期和时间",
    ),
    "no tier": ({}, "tiers", "请至少填写一档满减"),
    "n-item discount of one item": (
        {"kind": "n_item_discount", "min_items": "1", "percent_off": "10"},
        "min_items",
        "件数须至少为 2",
    ),
}


@pytest.mark.parametrize("case", list(BAD_PROMOTIONS))
def test_bad_promotion_input_is_shown_next_to_the_field_and_nothing_is_written(
    case: str, client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given
    fields, field, words = BAD_PROMOTIONS[case]
    csrf = sign_in(client, new_operator(ctx, Role.owner))

    # when
    response = post_promotion(client, csrf, name="坏活动", **fields)

    # then the form comes back with the error next to the field and what was typed
    assert response.status_code == 422, response.text[:500]
    assert f'id="err-{field}"' in response.text
    assert words in response.text
    assert 'value="坏活动"' in response.text
    assert 'id="promotion-form"' in response.text
    assert promotions_json(client, api_admin) == []
    assert audit_actions(client, api_admin, "promotion") == []


def test_a_promotion_is_edited_paused_and_resumed(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given a running full reduction
    csrf = sign_in(client, new_operator(ctx, Role.operator))
    post_promotion(client, csrf, **{"tiers-0-threshold": "199", "tiers-0-amount": "30"})
    [promotion] = promotions_json(client, api_admin)
    pid = promotion["id"]
    edit = client.get(f"/console/promotions/{pid}")
    assert edit.status_code == 200
    assert 'id="tiers-0-threshold" name="tiers-0-threshold" value="199"' in edit.text
    assert 'id="starts_at" name="starts_at" value="2026-11-01T00:00"' in edit.text

    # when a tier is added, an end earlier than the start is refused, and it is paused
    refused = client.post(
        f"/console/promotions/{pid}",
        data={
            "csrf_token": csrf,
            "name": "满减升级",
            "scope_kind": "all",
            "tiers-0-threshold": "199",
            "tiers-0-amount": "30",
            "starts_at": "2026-11-01T00:00",
            "ends_at": "2026-10-01T00:00",
        },
    )
    saved = client.post(
        f"/console/promotions/{pid}",
        data={
            "csrf_token": csrf,
            "name": "满减升级",
            "scope_kind": "all",
            "tiers-0-threshold": "199",
            "tiers-0-amount": "30",
            "tiers-1-threshold": "399",
            "tiers-1-amount": "80",
            "stack_group": "default",
            "priority": "1",
            **SCHEDULE,
        },
        follow_redirects=False,
    )
    paused = client.post(
        f"/console/promotions/{pid}/status",
        data={"csrf_token": csrf, "status": "paused"},
        follow_redirects=False,
    )

    # then
    assert refused.status_code == 422 and 'id="err-ends_at"' in refused.text
    assert saved.status_code == 303, saved.text[:500]
    assert paused.headers["location"] == "/console/promotions?notice=promotion_paused"
    listed = rows(client.get("/console/promotions").text, "promotion-row")[str(pid)]
    assert cell(listed, "promotion-rule") == "满199减30 / 满399减80"
    assert 'data-status="paused"' in listed
    assert f'id="resume-{pid}"' in listed
    after = promotions_json(client, api_admin)[0]
    assert (after["name"], after["phase"], after["priority"]) == ("满减升级", "paused", 1)

    # and resuming brings it back
    client.post(f"/console/promotions/{pid}/status", data={"csrf_token": csrf, "status": "active"})
    assert promotions_json(client, api_admin)[0]["phase"] == "running"
    assert audit_actions(client, api_admin, "promotion") == [
        "promotion.create",
        "promotion.status",
        "promotion.status",
        "promotion.update",
    ]


# ---------------------------------------------------------------- coupons


def test_coupons_are_created_through_the_form_and_listed_with_face_value_and_validity(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given
    csrf = sign_in(client, new_operator(ctx, Role.operator))

    # when three coupons are created
    created = [
        post_coupon(client, csrf, total_quantity="100"),
        post_coupon(
            client,
            csrf,
            name="八折券",
            kind="percent_off",
            threshold="",
            amount="",
            percent_off="20",
            cap="50",
            validity_kind="fixed",
            valid_from="2026-11-01T00:00",
            valid_until="2026-11-11T23:59",
            valid_days="",
            new_shoppers="1",
            exclusive="1",
        ),
        post_coupon(
            client,
            csrf,
            name="新人包邮",
            kind="free_shipping",
            threshold="",
            amount="",
            claimable="",
            gift_trigger="register",
            stack_group="shipping",
        ),
    ]

    # then they are saved as typed
    assert [r.status_code for r in created] == [303] * 3, [r.text[:300] for r in created]
    saved = {c["name"]: c for c in coupons_json(client, api_admin)}
    cash = saved["满100减20"]
    assert (cash["threshold_fen"], cash["amount_fen"], cash["valid_days"]) == (10000, 2000, 7)
    assert cash["total_quantity"] == 100
    pct = saved["八折券"]
    assert (pct["percent_off"], pct["cap_fen"], pct["audience"], pct["exclusive"]) == (
        20,
        5000,
        "new_shoppers",
        True,
    )
    assert pct["valid_until"].startswith("2026-11-11T15:59")
    gift = saved["新人包邮"]
    assert (gift["claimable"], gift["gift_trigger"], gift["total_quantity"]) == (
        False,
        "register",
        None,
    )

    # and the list shows their face value, validity, quantity and status
    listed = rows(client.get("/console/coupons").text, "coupon-row")
    row = listed[str(cash["id"])]
    assert cell(row, "coupon-face") == "满100减20"
    assert cell(row, "coupon-validity") == "领取后 7 天内有效"
    assert cell(row, "coupon-quantity") == "0 / 100"
    assert 'data-status="active"' in row
    assert cell(listed[str(pct["id"])], "coupon-face") == "8折 最高减50"
    assert cell(listed[str(pct["id"])], "coupon-validity") == "2026-11-01 00:00 – 2026-11-11 23:59"
    assert cell(listed[str(gift["id"])], "coupon-face") == "包邮券"
    assert cell(listed[str(gift["id"])], "coupon-quantity") == "0 / 不限"
    assert audit_actions(client, api_admin, "coupon_template") == ["coupon_template.create"] * 3


BAD_COUPONS = {
    "threshold below the amount": (
        {"threshold": "10", "amount": "20"},
        "amount",
        "减免金额不能超过使用门槛",
    ),
    "text in a money field": ({"amount": "二十"}, "amount", "请输入金额"),
    "a negative amount": ({"amount": "-5"}, "amount", "金额必须大于 0"),
    "more than two decimals": ({"threshold": "99.999"}, "threshold", "请输入金额"),
    "end before start": (
        {
            "validity_kind": "fixed",
            "valid_from": "2026-11-10T00:00",
            "valid_until": "2026-11-01T00:00",
        },
        "valid_until",
        "使用结束时间须晚于开始时间",
    ),
    "claim window ends before it starts": (
        {"claim_starts_at": "2026-11-10T00:00", "claim_ends_at": "2026-11-01T00:00"},
        "claim_ends_at",
        "领取结束时间须晚于开始时间",
    ),
    "unknown product id": (
        {"scope_kind": "products", "product_ids": "424242"},
        "product_ids",
        "商品不存在：[424242]",
    ),
    "category scope without categories": (
        {"scope_kind": "categories", "category_ids": ""},
        "category_ids",
        "请至少选择一个",
    ),
    "no validity days": ({"valid_days": ""}, "valid_days", "必填"),
    "a per-shopper limit of zero": ({"per_shopper_limit": "0"}, "per_shopper_limit", "不能小于 1"),
}


@pytest.mark.parametrize("case", list(BAD_COUPONS))
def test_bad_coupon_input_is_shown_next_to_the_field_and_nothing_is_written(
    case: str, client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given
    fields, field, words = BAD_COUPONS[case]
    csrf = sign_in(client, new_operator(ctx, Role.owner))

    # when
    response = post_coupon(client, csrf, name="坏券", **fields)

    # then
    assert response.status_code == 422, response.text[:500]
    assert f'id="err-{field}"' in response.text
    assert words in response.text
    assert 'value="坏券"' in response.text
    assert 'id="coupon-form"' in response.text
    assert coupons_json(client, api_admin) == []
    assert audit_actions(client, api_admin, "coupon_template") == []


def test_a_coupon_is_paused_resumed_ended_and_then_final(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given
    csrf = sign_in(client, new_operator(ctx, Role.operator))
    post_coupon(client, csrf)
    cid = coupons_json(client, api_admin)[0]["id"]

    def status(value: str) -> Any:
        return client.post(
            f"/console/coupons/{cid}/status",
            data={"csrf_token": csrf, "status": value},
            follow_redirects=False,
        )

    # when / then
    assert status("paused").headers["location"] == f"/console/coupons/{cid}?notice=coupon_paused"
    assert coupons_json(client, api_admin)[0]["status"] == "paused"
    page = client.get(f"/console/coupons/{cid}?notice=coupon_paused")
    assert 'id="coupon-resume"' in page.text and "已暂停发放。" in page.text
    assert status("active").status_code == 303
    assert status("ended").status_code == 303
    again = status("active")
    assert again.status_code == 409
    assert 'id="err-status"' in again.text and "已结束的优惠券不能恢复" in again.text
    assert coupons_json(client, api_admin)[0]["status"] == "ended"


def test_an_edit_keeps_the_face_value_once_coupons_are_out(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given a coupon one shopper has claimed
    csrf = sign_in(client, new_operator(ctx, Role.operator))
    post_coupon(client, csrf, total_quantity="100")
    cid = coupons_json(client, api_admin)[0]["id"]
    shopper = shopper_headers(client, "edit-claimer")
    assert client.post(f"/api/app/coupons/center/{cid}/claim", headers=shopper).status_code == 201
    form = client.get(f"/console/coupons/{cid}")
    assert 'data-testid="face-frozen"' in form.text
    base = {
        "csrf_token": csrf,
        "name": "满100减20（加量）",
        "threshold": "100",
        "amount": "20",
        "scope_kind": "all",
        "validity_kind": "relative",
        "valid_days": "7",
        "per_shopper_limit": "1",
        "min_tier": "0",
        "stack_group": "default",
        "claimable": "1",
        "gift_trigger": "none",
    }

    # when the amount is changed, then it is refused next to the field
    changed = client.post(f"/console/coupons/{cid}", data=base | {"amount": "30"})
    assert changed.status_code == 409
    assert 'id="err-amount"' in changed.text

    # when the quantity grows with the same face value, then it is saved
    saved = client.post(
        f"/console/coupons/{cid}", data=base | {"total_quantity": "500"}, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text[:500]
    after = coupons_json(client, api_admin)[0]
    assert (after["name"], after["total_quantity"], after["amount_fen"]) == (
        "满100减20（加量）",
        500,
        2000,
    )


def test_bulk_issue_reports_issued_refused_and_unknown_ids(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given a one-per-shopper coupon that one of three shoppers already holds
    csrf = sign_in(client, new_operator(ctx, Role.operator))
    post_coupon(client, csrf, per_shopper_limit="1")
    cid = coupons_json(client, api_admin)[0]["id"]
    shoppers = [shopper_headers(client, f"bulk-{i}") for i in range(3)]
    ids = [shopper_id(client, s) for s in shoppers]
    assert (
        client.post(f"/api/app/coupons/center/{cid}/claim", headers=shoppers[0]).status_code == 201
    )

    # when the ids are pasted with an unknown one, mixed separators and a repeat
    response = client.post(
        f"/console/coupons/{cid}/issue",
        data={
            "csrf_token": csrf,
            "shopper_ids": f"{ids[0]}, {ids[1]}\n{ids[2]}，999999 {ids[1]}",
            "batch_key": "vip-2026-11",
        },
    )

    # then the page says who got one, who did not and why, and which ids are unknown
    assert response.status_code == 200, response.text[:500]
    result = response.text
    assert 'data-testid="bulk-result"' in result
    assert re.search(r'data-testid="bulk-issued" data-count="2">[^<]*已发放 2 人', result)
    assert f"{ids[1]}, {ids[2]}" in result
    assert 'data-testid="bulk-refused" data-count="1"' in result
    assert (
        f'data-testid="bulk-refused-item" data-shopper-id="{ids[0]}" data-reason="limit_reached"'
        in result
    )
    assert "已达每人限领数量" in result
    assert 'data-testid="bulk-unknown" data-count="1"' in result and "999999" in result
    template = coupons_json(client, api_admin)[0]
    assert (template["issued_count"], template["stats"]["issued"]) == (3, 3)
    assert audit_actions(client, api_admin, "coupon_template") == [
        "coupon_template.bulk_issue",
        "coupon_template.create",
    ]

    # when the paste holds something that is not an id, nothing is issued
    bad = client.post(
        f"/console/coupons/{cid}/issue",
        data={"csrf_token": csrf, "shopper_ids": f"{ids[1]} 张三", "batch_key": "again"},
    )
    assert bad.status_code == 422
    assert 'id="err-shopper_ids"' in bad.text
    assert coupons_json(client, api_admin)[0]["issued_count"] == 3


def test_redemption_and_promotion_figures_after_a_paid_order_used_a_coupon(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given a ¥59 product, a 满50减5 promotion and a 满50减10 coupon made in the console
    sku = create_product(client, api_admin)["skus"][0]
    csrf = sign_in(client, new_operator(ctx, Role.operator))
    assert (
        post_coupon(client, csrf, name="满50减10", threshold="50", amount="10").status_code == 303
    )
    assert (
        post_promotion(
            client, csrf, name="满50减5", **{"tiers-0-threshold": "50", "tiers-0-amount": "5"}
        ).status_code
        == 303
    )
    cid = coupons_json(client, api_admin)[0]["id"]
    pid = promotions_json(client, api_admin)[0]["id"]

    # when a shopper claims the coupon, orders with it and pays
    shopper = shopper_headers(client, "coupon-user")
    coupon = client.post(f"/api/app/coupons/center/{cid}/claim", headers=shopper)
    assert coupon.status_code == 201, coupon.text
    placed = client.post(
        "/api/app/orders",
        json={
            "items": [{"sku_id": sku["id"], "quantity": 1}],
            "address": ADDRESS,
            "coupon_ids": [coupon.json()["id"]],
        },
        headers=shopper | {"Idempotency-Key": str(uuid.uuid4())},
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    assert client.post(f"/api/app/orders/{order_id}/pay", headers=shopper).status_code == 200
    paid = client.post(f"/api/app/orders/{order_id}/sandbox-pay", headers=shopper).json()
    assert paid["status"] == "paid"
    by_source = {d["source"]: d["amount_fen"] for d in paid["pricing"]["discounts"]}
    assert by_source == {"promotion": 500, "coupon": 1000}

    # then the coupon list shows issued, claimed, used, GMV, cost and the usage rate
    row = rows(client.get("/console/coupons").text, "coupon-row")[str(cid)]
    figures = {
        key: value_of(row, f"coupon-stat-{key}")
        for key in ("issued", "claimed", "used", "expired", "unused", "gmv", "discount")
    }
    assert figures == {
        "issued": "1",
        "claimed": "1",
        "used": "1",
        "expired": "0",
        "unused": "0",
        "gmv": str(paid["paid_fen"]),
        "discount": "1000",
    }
    assert cell(row, "coupon-stat-usage_rate") == "100.0%"
    assert cell(row, "coupon-stat-discount") == "¥10.00"
    assert cell(row, "coupon-quantity") == "1 / 不限"
    detail = client.get(f"/console/coupons/{cid}").text
    assert value_of(detail, "coupon-stat-used") == "1"

    # and the promotion list shows the order, its GMV and what the promotion cost
    promo = rows(client.get("/console/promotions").text, "promotion-row")[str(pid)]
    assert value_of(promo, "promotion-stat-orders") == "1"
    assert value_of(promo, "promotion-stat-gmv") == str(paid["paid_fen"])
    assert value_of(promo, "promotion-stat-discount") == "500"
    assert cell(promo, "promotion-stat-discount") == "¥5.00"


# ---------------------------------------------------------------- permissions


def test_an_analyst_reads_the_marketing_pages_but_cannot_change_anything(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given a promotion and a coupon made by an operator
    writer = sign_in(client, new_operator(ctx, Role.operator))
    post_promotion(client, writer, **{"tiers-0-threshold": "199", "tiers-0-amount": "30"})
    post_coupon(client, writer)
    pid = promotions_json(client, api_admin)[0]["id"]
    cid = coupons_json(client, api_admin)[0]["id"]
    client.cookies.clear()
    csrf = sign_in(client, new_operator(ctx, Role.analyst))

    # then the pages render, with the figures but without buttons
    pages = {
        path: client.get(path)
        for path in (
            "/console/promotions",
            f"/console/promotions/{pid}",
            "/console/coupons",
            f"/console/coupons/{cid}",
        )
    }
    assert {p: r.status_code for p, r in pages.items()} == dict.fromkeys(pages, 200)
    assert "满199减30" in pages["/console/promotions"].text
    assert "满100减20" in pages["/console/coupons"].text
    for response in pages.values():
        for button in ("new-promotion", "new-coupon", "promotion-submit", "coupon-submit"):
            assert f'id="{button}"' not in response.text
        assert f'id="pause-{pid}"' not in response.text
        assert 'id="bulk-form"' not in response.text
        assert 'id="coupon-pause"' not in response.text

    # and every action is refused
    refused = {
        "new promotion form": client.get("/console/promotions/new"),
        "new coupon form": client.get("/console/coupons/new"),
        "create promotion": post_promotion(client, csrf, name="偷偷加的"),
        "edit promotion": client.post(
            f"/console/promotions/{pid}", data={"csrf_token": csrf, "name": "改名"}
        ),
        "pause promotion": client.post(
            f"/console/promotions/{pid}/status", data={"csrf_token": csrf, "status": "paused"}
        ),
        "create coupon": post_coupon(client, csrf, name="偷偷加的"),
        "edit coupon": client.post(f"/console/coupons/{cid}", data={"csrf_token": csrf}),
        "end coupon": client.post(
            f"/console/coupons/{cid}/status", data={"csrf_token": csrf, "status": "ended"}
        ),
        "bulk issue": client.post(
            f"/console/coupons/{cid}/issue",
            data={"csrf_token": csrf, "shopper_ids": "1", "batch_key": "x"},
        ),
    }
    assert {k: r.status_code for k, r in refused.items()} == dict.fromkeys(refused, 403)
    assert "请联系店主调整角色" in refused["create coupon"].text
    assert [p["name"] for p in promotions_json(client, api_admin)] == ["双十一满减"]
    [coupon] = coupons_json(client, api_admin)
    assert (coupon["name"], coupon["status"], coupon["issued_count"]) == ("满100减20", "active", 0)


def test_a_form_without_the_csrf_token_is_refused(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    sign_in(client, new_operator(ctx, Role.owner))

    response = post_promotion(client, "forged", **{"tiers-0-threshold": "1", "tiers-0-amount": "1"})

    assert response.status_code == 403
    assert promotions_json(client, api_admin) == []
