"""Each role sees the console entries it may use, gets a friendly 403 on the others,
and the forms behind them refuse the actions its role may not take."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.identity.rules import Role
from tests.console.conftest import (
    aftersale_request,
    new_operator,
    open_shop,
    paid_order,
    sign_in,
)

PAGES = {
    "dashboard": "/console/dashboard",
    "products": "/console/products",
    "categories": "/console/categories",
    "orders": "/console/orders",
    "aftersales": "/console/aftersales",
    "operators": "/console/operators",
    "audit": "/console/audit",
    "analytics_funnel": "/console/analytics/funnel",
    "analytics_retention": "/console/analytics/retention",
    "analytics_rfm": "/console/analytics/rfm",
    "analytics_channels": "/console/analytics/channels",
    "analytics_paths": "/console/analytics/paths",
    "analytics_goals": "/console/analytics/goals",
    "analytics_overview": "/console/analytics/overview",
    "analytics_sessions": "/console/analytics/sessions",
    "analytics_repurchase": "/console/analytics/repurchase",
    "analytics_portfolio": "/console/analytics/portfolio",
    "analytics_clv": "/console/analytics/clv",
    "analytics_loyalty": "/console/analytics/loyalty",
    "analytics_plays": "/console/analytics/plays",
    "channels": "/console/channels",
    "rehearsals": "/console/rehearsals",
    "promotions": "/console/promotions",
    "coupons": "/console/coupons",
    "group_buy": "/console/group-buy",
    "flash_sale": "/console/flash-sales",
    "member_tiers": "/console/loyalty/tiers",
    "member_day": "/console/loyalty/member-day",
    "points_rules": "/console/loyalty/points",
    "checkin": "/console/loyalty/checkin",
    "mall": "/console/loyalty/mall",
    "lottery": "/console/loyalty/lottery",
    "members": "/console/loyalty/members",
}
MARKETING = {
    "promotions",
    "coupons",
    "group_buy",
    "flash_sale",
    "member_tiers",
    "member_day",
    "points_rules",
    "checkin",
    "mall",
    "lottery",
    "members",
}
ANALYTICS = {key for key in PAGES if key.startswith("analytics_")}
VISIBLE = {
    Role.owner: set(PAGES),
    Role.operator: {
        "dashboard",
        "products",
        "categories",
        "orders",
        "aftersales",
        "channels",
        "rehearsals",
    }
    | ANALYTICS
    | MARKETING,
    Role.analyst: {
        "dashboard",
        "products",
        "categories",
        "orders",
        "aftersales",
        "channels",
        "rehearsals",
    }
    | ANALYTICS
    | MARKETING,
    Role.support: {"products", "categories", "orders", "aftersales"},
}
HOME = {
    Role.owner: "/console/dashboard",
    Role.operator: "/console/dashboard",
    Role.analyst: "/console/dashboard",
    Role.support: "/console/products",
}


def nav_entries(html: str) -> set[str]:
    return set(re.findall(r'data-testid="nav-([a-z_]+)"', html))


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_exactly_the_pages_it_may_use(
    role: Role, client: TestClient, ctx: Context
) -> None:
    # given
    sign_in(client, new_operator(ctx, role))

    # when every page is opened
    responses = {key: client.get(path) for key, path in PAGES.items()}

    # then the allowed ones render with exactly the allowed navigation
    allowed = {key for key, r in responses.items() if r.status_code == 200}
    assert allowed == VISIBLE[role]
    for key in allowed:
        assert nav_entries(responses[key].text) == VISIBLE[role], key
    # and the others answer 403 with a page that says what to do
    for key in set(PAGES) - VISIBLE[role]:
        response = responses[key]
        assert response.status_code == 403, key
        assert 'data-testid="error-page"' in response.text
        assert "请联系店主调整角色" in response.text
        assert nav_entries(response.text) == VISIBLE[role]
    landing = client.get("/console", follow_redirects=False)
    assert landing.headers["location"] == HOME[role]


def test_support_cannot_change_a_price_or_stock_or_create_products(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given a support agent looking at a product
    shop = open_shop(client, api_admin)
    csrf = sign_in(client, new_operator(ctx, Role.support))
    page = client.get(f"/console/products/{shop.product['id']}")
    assert page.status_code == 200

    # then the page offers no price, stock or sale buttons
    assert f'id="sku-{shop.sku_id}-price-save"' not in page.text
    assert f'id="sku-{shop.sku_id}-stock-save"' not in page.text
    assert 'id="take-off-sale"' not in page.text
    assert 'id="new-product"' not in client.get("/console/products").text

    # and posting the forms anyway is refused
    refused = {
        "price": client.post(
            f"/console/skus/{shop.sku_id}/price", data={"csrf_token": csrf, "price": "0.01"}
        ),
        "stock": client.post(
            f"/console/skus/{shop.sku_id}/stock", data={"csrf_token": csrf, "delta": "-5"}
        ),
        "status": client.post(
            f"/console/products/{shop.product['id']}/status",
            data={"csrf_token": csrf, "status": "off_sale"},
        ),
        "new": client.post("/console/products/new", data={"csrf_token": csrf, "title": "x"}),
        "new form": client.get("/console/products/new"),
        "category": client.post("/console/categories", data={"csrf_token": csrf, "name": "新分类"}),
        "delete category": client.post(
            f"/console/categories/{shop.product['category_id']}/delete",
            data={"csrf_token": csrf},
        ),
    }
    assert {k: r.status_code for k, r in refused.items()} == dict.fromkeys(refused, 403)
    product = client.get(f"/api/admin/products/{shop.product['id']}", headers=api_admin).json()
    assert (product["skus"][0]["price_fen"], product["skus"][0]["stock"]) == (5900, 10)
    assert product["status"] == "on_sale"


def test_an_analyst_reads_orders_and_after_sales_but_cannot_act_on_them(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given a paid order with a refund request
    shop = open_shop(client, api_admin)
    order = paid_order(client, shop)
    request = aftersale_request(client, shop, order["id"])
    csrf = sign_in(client, new_operator(ctx, Role.analyst))

    # then the pages render without action buttons
    detail = client.get(f"/console/orders/{order['id']}")
    queue = client.get("/console/aftersales")
    assert detail.status_code == queue.status_code == 200
    assert 'id="ship-form"' not in detail.text
    assert f'id="approve-{request["id"]}"' not in queue.text

    # and the actions are refused
    refused = [
        client.post(
            f"/console/orders/{order['id']}/ship",
            data={"csrf_token": csrf, "carrier": "顺丰速运", "tracking_no": "SF123456"},
        ),
        client.post(f"/console/orders/{order['id']}/cancel", data={"csrf_token": csrf}),
        client.post(f"/console/aftersales/{request['id']}/approve", data={"csrf_token": csrf}),
        client.post(
            f"/console/aftersales/{request['id']}/reject",
            data={"csrf_token": csrf, "reason": "不行"},
        ),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    status = client.get(f"/api/admin/aftersales/{request['id']}", headers=api_admin).json()
    assert status["status"] == "pending"


def test_only_an_owner_manages_operators(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given an operator (not an owner)
    csrf = sign_in(client, new_operator(ctx, Role.operator))

    # when they try to create an account
    refused = client.post(
        "/console/operators",
        data={"csrf_token": csrf, "username": "mole", "password": "abcdefgh12", "role": "owner"},
    )

    # then it is refused and no account exists
    assert refused.status_code == 403
    usernames = [
        o["username"] for o in client.get("/api/admin/operators", headers=api_admin).json()
    ]
    assert "mole" not in usernames


def test_an_owner_creates_an_account_and_changes_its_role(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given
    csrf = sign_in(client, new_operator(ctx, Role.owner))

    # when a weak password is given, then the error sits next to it
    weak = client.post(
        "/console/operators",
        data={"csrf_token": csrf, "username": "xiaoli", "password": "short", "role": "support"},
    )
    assert weak.status_code == 422
    assert 'id="err-password"' in weak.text

    # when the account is created and made an analyst
    created = client.post(
        "/console/operators",
        data={
            "csrf_token": csrf,
            "username": "xiaoli",
            "display_name": "小李",
            "password": "abcdefgh12",
            "role": "support",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    operator = next(
        o
        for o in client.get("/api/admin/operators", headers=api_admin).json()
        if o["username"] == "xiaoli"
    )
    changed = client.post(
        f"/console/operators/{operator['id']}",
        data={"csrf_token": csrf, "role": "analyst", "is_active": ["0", "1"]},
        follow_redirects=False,
    )

    # then the change is saved and audited
    assert changed.status_code == 303
    after = client.get("/api/admin/operators", headers=api_admin).json()
    assert [(o["role"], o["is_active"]) for o in after if o["username"] == "xiaoli"] == [
        ("analyst", True)
    ]
    audit = client.get("/console/audit?target_type=operator").text
    assert audit.count('data-testid="audit-row"') == 2
