"""The loyalty pages (会员): tiers, member day, points rules, check-in rewards, the
points mall, lottery campaigns and a shopper's points — each renders in both languages,
each form saves what the service then reads back, bad input comes back next to the
field with nothing written, an analyst may read but not post, a manual adjustment
writes an audited ledger entry, and a goods exchange is marked shipped once."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.identity.rules import Role
from siyu.loyalty.checkin import service as checkin
from siyu.loyalty.lottery import service as lottery
from siyu.loyalty.mall import service as mall
from siyu.loyalty.mall.models import ExchangeStatus
from siyu.loyalty.tiers import program as tiers
from siyu.loyalty.tiers.rules import DEFAULT_TIERS
from tests.console.conftest import new_operator, open_shop, paid_order, sign_in
from tests.helpers import create_product, shopper_headers

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
def owner(client: TestClient, ctx: Context, api_admin: dict[str, str]) -> str:
    """The CSRF token of an owner signed in to the console (after the API's admin, whose
    login would otherwise replace the console's cookie)."""
    return sign_in(client, new_operator(ctx, Role.owner))


def field_error(page: str, name: str) -> str:
    match = re.search(rf'id="err-{re.escape(name)}"[^>]*>([^<]+)<', page)
    assert match, f"no error next to {name}"
    return match.group(1)


def audit_actions(client: TestClient, admin: dict[str, str], target_type: str) -> list[str]:
    rows = client.get("/api/admin/audit-logs", params={"target_type": target_type}, headers=admin)
    assert rows.status_code == 200, rows.text
    return sorted(r["action"] for r in rows.json())


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


def tier_form(**changes: str) -> dict[str, str]:
    """The default tier table as the form posts it, with ``changes``."""
    data: dict[str, str] = {"window_days": "365", "max_drop": "1", "sku_prices": ""}
    for tier in DEFAULT_TIERS:
        pre = f"t{tier.level}_"
        data |= {
            pre + "name_zh": tier.name_zh,
            pre + "name_en": tier.name_en,
            pre + "threshold": str(tier.threshold),
            pre + "discount": str(tier.discount_percent),
            pre + "free_shipping": ""
            if tier.free_shipping_threshold_fen is None
            else str(tier.free_shipping_threshold_fen // 100),
            pre + "multiplier": str(tier.points_multiplier_percent),
            pre + "birthday_points": str(tier.birthday_points),
            pre + "birthday_coupon": "",
        }
        if tier.priority_aftersale:
            data[pre + "priority"] = "1"
    return data | changes


def stored_program(ctx: Context) -> Any:
    with ctx.db.transaction() as session:
        return tiers.load_program(session)


# ---------------------------------------------------------------- tiers and member day


def test_the_tier_form_saves_benefits_member_prices_and_the_review(
    client: TestClient, ctx: Context, owner: str, api_admin: dict[str, str]
) -> None:
    # given a SKU to give a member price
    sku_id = create_product(client, api_admin)["skus"][0]["id"]

    # when the owner raises Gold's threshold and discount and prices the SKU for Platinum
    saved = post(
        client,
        "/console/loyalty/tiers",
        owner,
        **tier_form(
            t2_threshold="2500",
            t2_discount="93",
            t2_free_shipping="59.9",
            t3_priority="",
            window_days="180",
            max_drop="2",
            sku_prices=f"3 {sku_id} 49.9",
        ),
    )

    # then the program the pricing engine reads holds exactly that
    assert saved.status_code == 303, saved.text
    program = stored_program(ctx)
    gold = program.tier(2)
    assert (gold.threshold, gold.discount_percent, gold.free_shipping_threshold_fen) == (
        2500,
        93,
        5990,
    )
    assert program.tier(3).priority_aftersale is False
    assert (program.review.window_days, program.review.max_drop) == (180, 2)
    assert program.sku_prices == {(3, sku_id): 4990}
    page = client.get(saved.headers["location"]).text
    assert 'value="2500"' in page and 'data-testid="notice"' in page


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"t2_threshold": "400"}, "t2_threshold", "严格递增"),
        ({"t1_discount": "0"}, "t1_discount", "不能小于 1"),
        ({"t4_multiplier": "abc"}, "t4_multiplier", "整数"),
        ({"t3_birthday_coupon": "999999"}, "t3_birthday_coupon", "没有这张优惠券"),
        ({"sku_prices": "3 12"}, "sku_prices", "第 1 行"),
        ({"sku_prices": "3 999999 10"}, "sku_prices", "规格 ID 存在"),
        ({"window_days": "5"}, "window_days", "30"),
    ],
)
def test_a_bad_tier_table_is_shown_again_with_the_words_and_nothing_is_written(
    client: TestClient, ctx: Context, owner: str, changes: dict[str, str], field: str, words: str
) -> None:
    before = stored_program(ctx)

    refused = post(client, "/console/loyalty/tiers", owner, **tier_form(**changes))

    assert refused.status_code == 422, refused.text
    assert words in field_error(refused.text, field)
    assert stored_program(ctx) == before


def test_member_day_is_saved_and_the_next_one_is_shown(
    client: TestClient, ctx: Context, owner: str
) -> None:
    # when the owner moves member day to the 8th and 18th and Saturdays, triple points
    saved = post(
        client,
        "/console/loyalty/member-day",
        owner,
        days_of_month="8, 18",
        **{"weekday-6": "1"},
        md_multiplier="300",
    )

    # then the rule is stored, free shipping off, and the page names the next day
    assert saved.status_code == 303, saved.text
    rule = stored_program(ctx).member_day
    assert (sorted(rule.days_of_month), sorted(rule.weekdays)) == ([8, 18], [6])
    assert (rule.points_multiplier_percent, rule.free_shipping) == (300, False)
    page = client.get("/console/loyalty/member-day").text
    assert re.search(r'data-testid="next-member-day">\d{4}-\d{2}-\d{2}<', page)

    # and a day 32 is refused with nothing changed
    refused = post(
        client, "/console/loyalty/member-day", owner, days_of_month="32", md_multiplier="200"
    )
    assert refused.status_code == 422
    assert "1–31" in field_error(refused.text, "days_of_month")
    assert sorted(stored_program(ctx).member_day.days_of_month) == [8, 18]


# ---------------------------------------------------------------- points rules


def ledger_of(client: TestClient, admin: dict[str, str], shopper_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/api/admin/shoppers/{shopper_id}/points/ledger", headers=admin)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_points_rules_apply_from_the_next_earning_and_never_rewrite_past_entries(
    client: TestClient, ctx: Context, owner: str, api_admin: dict[str, str]
) -> None:
    # given an order paid under the default rule (1 point a yuan: ¥59 → 59 pending)
    shop = open_shop(client, api_admin)
    shopper_id = client.get("/api/app/me", headers=shop.shopper).json()["id"]
    paid_order(client, shop)
    assert [e["delta"] for e in ledger_of(client, api_admin, shopper_id)] == [59]

    # when the owner makes it 2 points a yuan, points for 3 years, 50 at sign-up
    saved = post(
        client,
        "/console/loyalty/points",
        owner,
        earn_per_yuan="2",
        expiry_years="3",
        signup_reward="50",
    )
    assert saved.status_code == 303, saved.text

    # then the stored rules are what the API reads, and the next order earns double
    rules = client.get("/api/admin/points/rules", headers=api_admin).json()
    assert (rules["earn_per_yuan"], rules["expiry_years"], rules["signup_reward"]) == (2, 3, 50)
    assert rules["stored"] is True
    paid_order(client, shop)
    assert [e["delta"] for e in ledger_of(client, api_admin, shopper_id)] == [118, 59]
    actions = client.get(
        "/api/admin/audit-logs", params={"target_type": "points_rules"}, headers=api_admin
    ).json()
    assert [a["action"] for a in actions] == ["points_rules.update"]


def test_never_expire_is_saved_as_no_expiry(client: TestClient, ctx: Context, owner: str) -> None:
    saved = post(
        client,
        "/console/loyalty/points",
        owner,
        earn_per_yuan="1",
        expiry_years="",
        never_expire="1",
        signup_reward="0",
    )

    assert saved.status_code == 303, saved.text
    with ctx.db.transaction() as session:
        assert ctx.points.rules(session).expiry.years_after is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"earn_per_yuan": "5000", "expiry_years": "1"}, "earn_per_yuan"),
        ({"earn_per_yuan": "x", "expiry_years": "1"}, "earn_per_yuan"),
        ({"earn_per_yuan": "1", "expiry_years": "11"}, "expiry_years"),
        ({"earn_per_yuan": "1", "expiry_years": "1", "signup_reward": "-5"}, "signup_reward"),
    ],
)
def test_bad_points_rules_are_refused_and_the_defaults_stay(
    client: TestClient, ctx: Context, owner: str, fields: dict[str, str], field: str
) -> None:
    refused = post(client, "/console/loyalty/points", owner, **fields)

    assert refused.status_code == 422, refused.text
    field_error(refused.text, field)
    with ctx.db.transaction() as session:
        assert ctx.points.rules(session).stored is False


def test_the_points_rules_api_refuses_bad_input_with_a_4xx(
    client: TestClient, api_admin: dict[str, str]
) -> None:
    for body in (
        {"earn_per_yuan": -1, "expiry_years": 1, "signup_reward": 0},
        {"earn_per_yuan": 1, "expiry_years": 99, "signup_reward": 0},
        {"earn_per_yuan": 1, "signup_reward": 0},
        {"earn_per_yuan": 1, "expiry_years": None, "signup_reward": 0, "extra": 1},
    ):
        response = client.put("/api/admin/points/rules", json=body, headers=api_admin)
        assert response.status_code == 422, body
    assert client.get("/api/admin/points/rules", headers=api_admin).json()["stored"] is False
    ok = client.put(
        "/api/admin/points/rules",
        json={"earn_per_yuan": 3, "expiry_years": None, "signup_reward": 10},
        headers=api_admin,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["expiry_years"] is None


# ---------------------------------------------------------------- check-in


def test_the_check_in_rewards_are_saved_and_a_gap_is_refused(
    client: TestClient, ctx: Context, owner: str, api_admin: dict[str, str]
) -> None:
    saved = post(
        client,
        "/console/loyalty/checkin",
        owner,
        r1_points="10",
        r2_points="10",
        r3_points="100",
        makeup_enabled="1",
        makeup_cost_points="30",
        makeups_per_month="3",
    )

    assert saved.status_code == 303, saved.text
    with ctx.db.transaction() as session:
        rule = checkin.load_rule(session)
    assert [r.points for r in rule.rewards] == [10, 10, 100]
    assert audit_actions(client, api_admin, "checkin_rule") == ["checkin_rule.update"]
    assert (rule.makeup_enabled, rule.makeup_cost_points, rule.makeups_per_month) == (True, 30, 3)

    refused = post(
        client,
        "/console/loyalty/checkin",
        owner,
        r1_points="5",
        r3_points="50",
        makeup_cost_points="20",
        makeups_per_month="2",
    )
    assert refused.status_code == 422
    field_error(refused.text, "r2_points")
    with ctx.db.transaction() as session:
        assert [r.points for r in checkin.load_rule(session).rewards] == [10, 10, 100]


# ---------------------------------------------------------------- points mall


def coupon_template(client: TestClient, admin: dict[str, str]) -> int:
    response = client.post(
        "/api/admin/coupon-templates",
        json={"name": "无门槛5元", "kind": "cash_off", "amount_fen": 500, "valid_days": 7},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def mall_items(ctx: Context) -> list[tuple[str, str, int, int | None, int | None, str]]:
    with ctx.db.transaction() as session:
        return [
            (i.name, str(i.kind), i.points_price, i.coupon_template_id, i.sku_id, str(i.status))
            for i in mall.list_items(session, active_only=False)
        ]


def give_points(client: TestClient, admin: dict[str, str], shopper_id: int, points: int) -> None:
    response = client.post(
        f"/api/admin/shoppers/{shopper_id}/points/adjustments",
        json={"delta": points, "reason": "测试", "request_id": uuid.uuid4().hex},
        headers=admin,
    )
    assert response.status_code == 200, response.text


def test_points_mall_items_are_created_edited_and_taken_off_the_shelf(
    client: TestClient, ctx: Context, owner: str, api_admin: dict[str, str]
) -> None:
    template_id = coupon_template(client, api_admin)
    sku_id = create_product(client, api_admin)["skus"][0]["id"]

    coupon = post(
        client, "/console/loyalty/mall/new", owner, name="5元券", kind="coupon",
        points_price="200", coupon_template_id=str(template_id), sku_id=str(sku_id),
    )  # fmt: skip
    goods = post(
        client, "/console/loyalty/mall/new", owner, name="咖啡豆", kind="goods",
        points_price="3000", sku_id=str(sku_id), per_shopper_limit="1",
    )  # fmt: skip

    assert coupon.status_code == goods.status_code == 303
    assert mall_items(ctx) == [
        ("5元券", "coupon", 200, template_id, None, "active"),
        ("咖啡豆", "goods", 3000, None, sku_id, "active"),
    ]
    goods_id = int(re.findall(r'data-testid="mall-item-row" data-id="(\d+)"', client.get(
        "/console/loyalty/mall").text)[1])  # fmt: skip
    edited = post(
        client, f"/console/loyalty/mall/{goods_id}", owner, name="咖啡豆 500g", kind="goods",
        points_price="2500", sku_id=str(sku_id), per_shopper_limit="2", status="active",
    )  # fmt: skip
    assert edited.status_code == 303, edited.text
    off = post(client, f"/console/loyalty/mall/{goods_id}/status", owner, status="inactive")
    assert off.status_code == 303
    assert mall_items(ctx)[1] == ("咖啡豆 500g", "goods", 2500, None, sku_id, "inactive")
    assert audit_actions(client, api_admin, "mall_item") == [
        "mall_item.create",
        "mall_item.create",
        "mall_item.update",
        "mall_item.update",
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "goods", "points_price": "100"}, "sku_id"),
        ({"kind": "goods", "points_price": "100", "sku_id": "999999"}, "sku_id"),
        ({"kind": "coupon", "points_price": "100"}, "coupon_template_id"),
        ({"kind": "coupon", "points_price": "0"}, "points_price"),
        ({"kind": "parcel", "points_price": "100"}, "kind"),
    ],
)
def test_a_bad_mall_item_is_refused_and_not_created(
    client: TestClient, ctx: Context, owner: str, fields: dict[str, str], field: str
) -> None:
    refused = post(client, "/console/loyalty/mall/new", owner, name="坏商品", **fields)

    assert refused.status_code == 422, refused.text
    field_error(refused.text, field)
    assert mall_items(ctx) == []


def test_a_goods_exchange_is_marked_shipped_once(
    client: TestClient, ctx: Context, owner: str, api_admin: dict[str, str]
) -> None:
    # given a shopper who exchanged points for goods
    shop = open_shop(client, api_admin)
    shopper_id = client.get("/api/app/me", headers=shop.shopper).json()["id"]
    give_points(client, api_admin, shopper_id, 500)
    post(client, "/console/loyalty/mall/new", owner, name="咖啡豆", kind="goods",
         points_price="300", sku_id=str(shop.sku_id))  # fmt: skip
    item_id = mall_items_ids(ctx)[0]
    exchanged = client.post(
        f"/api/app/mall/items/{item_id}/exchanges",
        headers=shop.shopper | {"Idempotency-Key": "exchange-0001"},
    )
    assert exchanged.status_code == 201, exchanged.text
    exchange_id = exchanged.json()["id"]
    waiting = client.get("/console/loyalty/mall", params={"status": "to_ship"}).text
    assert f'id="ship-{exchange_id}"' in waiting

    # when the operator marks it shipped, then clicks again
    first = post(client, f"/console/loyalty/mall/exchanges/{exchange_id}/ship", owner)
    second = post(client, f"/console/loyalty/mall/exchanges/{exchange_id}/ship", owner)

    # then it is shipped once, the second click is told why, and one audit entry exists
    assert first.status_code == 303
    assert second.status_code == 409
    assert "待发货" in field_error(second.text, "ship")
    with ctx.db.transaction() as session:
        rows = mall.list_exchanges(session)
    assert [(r.id, r.status) for r in rows] == [(exchange_id, ExchangeStatus.shipped)]
    assert rows[0].shipped_at is not None
    audit = client.get(
        "/api/admin/audit-logs", params={"target_type": "mall_exchange"}, headers=api_admin
    ).json()
    assert [a["action"] for a in audit] == ["mall_exchange.ship"]
    api_again = client.post(f"/api/admin/mall/exchanges/{exchange_id}/ship", headers=api_admin)
    assert api_again.status_code == 409


def mall_items_ids(ctx: Context) -> list[int]:
    with ctx.db.transaction() as session:
        return [i.id for i in mall.list_items(session, active_only=False)]


# ---------------------------------------------------------------- lottery

LOTTERY = {
    "name": "100积分抽口红",
    "cost_points": "100",
    "daily_limit": "3",
    "starts_at": "2026-11-01T00:00",
    "ends_at": "2026-12-31T23:59",
    "status": "active",
    "p1_name": "50积分",
    "p1_kind": "points",
    "p1_odds": "12.5",
    "p1_stock": "5",
    "p1_points": "50",
    "p2_name": "谢谢参与",
    "p2_kind": "thanks",
    "p2_odds": "87.5",
}


def campaigns(ctx: Context) -> list[tuple[str, int, list[tuple[str, int, int | None]]]]:
    with ctx.db.transaction() as session:
        return [
            (c.name, c.cost_points, [(p.name, p.weight_ppm, p.stock) for p in c.prizes])
            for c in lottery.list_campaigns(session)
        ]


def test_a_lottery_is_created_with_its_exact_odds_and_shows_live_stats(
    client: TestClient, ctx: Context, owner: str, api_admin: dict[str, str]
) -> None:
    created = post(client, "/console/loyalty/lottery/new", owner, **LOTTERY)

    assert created.status_code == 303, created.text
    assert campaigns(ctx) == [
        ("100积分抽口红", 100, [("50积分", 125_000, 5), ("谢谢参与", 875_000, None)])
    ]
    page = client.get(created.headers["location"]).text
    odds = re.findall(r'data-testid="prize-odds" data-ppm="\d+">([^<]+)<', page)
    assert odds == ["12.5%", "87.5%"]
    assert 'data-testid="odds-total">100%<' in page

    # when a shopper draws twice
    shopper = shopper_headers(client, "lucky")
    shopper_id = client.get("/api/app/me", headers=shopper).json()["id"]
    give_points(client, api_admin, shopper_id, 300)
    campaign_id = int(created.headers["location"].split("/")[-1].split("?")[0])
    for n in range(2):
        drew = client.post(
            f"/api/app/lottery/{campaign_id}/draws",
            headers=shopper | {"Idempotency-Key": f"draw-key-000{n}"},
        )
        assert drew.status_code == 201, drew.text

    # then the page counts the draws, the points and the prizes given, and freezes prizes
    page = client.get(f"/console/loyalty/lottery/{campaign_id}").text
    assert 'data-testid="lottery-stat-draws" data-value="2"' in page
    assert 'data-testid="lottery-stat-points" data-value="200"' in page
    given = re.findall(r'data-testid="prize-given" data-position="\d" data-value="(\d+)"', page)
    assert sum(int(g) for g in given) == 2
    assert 'data-testid="prizes-frozen"' in page
    ended = post(client, f"/console/loyalty/lottery/{campaign_id}/status", owner, status="ended")
    assert ended.status_code == 303
    with ctx.db.transaction() as session:
        assert str(lottery.get_campaign(session, campaign_id).status) == "ended"
    assert audit_actions(client, api_admin, "lottery") == ["lottery.create", "lottery.status"]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"p2_odds": "80"}, "weights", "92.5%"),
        ({"p1_odds": "12.34567"}, "p1_odds", "4 位小数"),
        ({"p1_points": "0"}, "p1_points", "1 以上"),
        ({"p1_fallback": "1"}, "p1_fallback", "循环"),
        ({"ends_at": "2026-10-01T00:00"}, "ends_at", "晚于"),
        ({"cost_points": "lots"}, "cost_points", "整数"),
    ],
)
def test_a_lottery_whose_odds_do_not_add_up_is_refused_and_not_created(
    client: TestClient, ctx: Context, owner: str, changes: dict[str, str], field: str, words: str
) -> None:
    refused = post(client, "/console/loyalty/lottery/new", owner, **(LOTTERY | changes))

    assert refused.status_code == 422, refused.text
    assert words in field_error(refused.text, field)
    assert campaigns(ctx) == []


# ---------------------------------------------------------------- a shopper's points


def test_the_shopper_is_found_and_a_manual_adjustment_is_an_audited_ledger_entry(
    client: TestClient, ctx: Context, owner: str, api_admin: dict[str, str]
) -> None:
    # given a shopper named 小满
    shopper = shopper_headers(client, "xiaoman", nickname="小满")
    shopper_id = client.get("/api/app/me", headers=shopper).json()["id"]
    for q in (str(shopper_id), "小满"):
        found = client.get("/console/loyalty/members", params={"q": q}).text
        assert f'data-testid="member-row" data-id="{shopper_id}"' in found, q

    # when the owner adds 120 points with a reason
    page = client.get(f"/console/loyalty/members/{shopper_id}").text
    request_id = re.search(r'name="request_id" value="([0-9a-f]+)"', page)
    assert request_id
    form = {"delta": "120", "reason": "客诉补偿", "request_id": request_id.group(1)}
    added = post(client, f"/console/loyalty/members/{shopper_id}/adjust", owner, **form)
    again = post(client, f"/console/loyalty/members/{shopper_id}/adjust", owner, **form)

    # then one adjust entry with the operator, the reason and the audit log, once only
    assert added.status_code == again.status_code == 303
    assert "notice=points_adjust_repeated" in again.headers["location"]
    entries = ledger_of(client, api_admin, shopper_id)
    assert [(e["delta"], e["kind"], e["reason"]) for e in entries] == [(120, "adjust", "客诉补偿")]
    assert entries[0]["operator_id"] is not None
    audit = client.get(
        "/api/admin/audit-logs", params={"target_type": "shopper"}, headers=api_admin
    ).json()
    assert [a["action"] for a in audit] == ["points.adjust"]
    page = client.get(f"/console/loyalty/members/{shopper_id}").text
    assert 'data-testid="points-available" data-value="120"' in page
    assert 'data-testid="ledger-row"' in page and 'data-testid="tier-card" data-level="0"' in page


@pytest.mark.parametrize(
    ("delta", "reason", "field", "status"),
    [
        ("50", "", "reason", 422),
        ("0", "补偿", "delta", 422),
        ("abc", "补偿", "delta", 422),
        ("-500", "扣回", "delta", 409),
    ],
)
def test_a_bad_adjustment_is_refused_and_writes_nothing(
    client: TestClient,
    ctx: Context,
    owner: str,
    api_admin: dict[str, str],
    delta: str,
    reason: str,
    field: str,
    status: int,
) -> None:
    shopper = shopper_headers(client, "xiaoman")
    shopper_id = client.get("/api/app/me", headers=shopper).json()["id"]
    give_points(client, api_admin, shopper_id, 100)

    refused = post(
        client, f"/console/loyalty/members/{shopper_id}/adjust", owner,
        delta=delta, reason=reason, request_id=uuid.uuid4().hex,
    )  # fmt: skip

    assert refused.status_code == status, refused.text
    field_error(refused.text, field)
    assert [e["delta"] for e in ledger_of(client, api_admin, shopper_id)] == [100]


# ---------------------------------------------------------------- permissions


def test_an_analyst_reads_the_loyalty_pages_but_every_form_is_refused(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given an analyst (marketing read, no marketing write) and a shopper with points
    shopper = shopper_headers(client, "reader")
    shopper_id = client.get("/api/app/me", headers=shopper).json()["id"]
    give_points(client, api_admin, shopper_id, 100)
    csrf = sign_in(client, new_operator(ctx, Role.analyst))
    before = (stored_program(ctx), mall_items(ctx), campaigns(ctx))

    # then the pages open without their save buttons
    for path, button in (
        ("/console/loyalty/tiers", "tiers-submit"),
        ("/console/loyalty/member-day", "member-day-submit"),
        ("/console/loyalty/points", "points-rules-submit"),
        ("/console/loyalty/checkin", "checkin-submit"),
        ("/console/loyalty/mall", "new-mall-item"),
        ("/console/loyalty/lottery", "new-lottery"),
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert f'id="{button}"' not in page.text, path
    assert client.get("/console/loyalty/mall/new").status_code == 403
    assert 'id="adjust-form"' not in client.get(f"/console/loyalty/members/{shopper_id}").text

    # and posting the forms anyway is refused, changing nothing
    refused = {
        "tiers": post(client, "/console/loyalty/tiers", csrf, **tier_form(t2_threshold="3000")),
        "member day": post(client, "/console/loyalty/member-day", csrf, days_of_month="1",
                           md_multiplier="200"),
        "points": post(client, "/console/loyalty/points", csrf, earn_per_yuan="9",
                       expiry_years="1"),
        "checkin": post(client, "/console/loyalty/checkin", csrf, r1_points="99"),
        "mall": post(client, "/console/loyalty/mall/new", csrf, name="x", kind="coupon",
                     points_price="1"),
        "lottery": post(client, "/console/loyalty/lottery/new", csrf, **LOTTERY),
        "adjust": post(client, f"/console/loyalty/members/{shopper_id}/adjust", csrf,
                       delta="1000", reason="自己加", request_id=uuid.uuid4().hex),
    }  # fmt: skip
    assert {k: r.status_code for k, r in refused.items()} == dict.fromkeys(refused, 403)
    assert (stored_program(ctx), mall_items(ctx), campaigns(ctx)) == before
    assert [e["delta"] for e in ledger_of(client, api_admin, shopper_id)] == [100]
    with ctx.db.transaction() as session:
        assert ctx.points.rules(session).stored is False


def test_a_form_without_its_csrf_token_is_refused(
    client: TestClient, ctx: Context, owner: str
) -> None:
    refused = client.post(
        "/console/loyalty/points", data={"earn_per_yuan": "9", "expiry_years": "1"}
    )

    assert refused.status_code == 403
    with ctx.db.transaction() as session:
        assert ctx.points.rules(session).stored is False
