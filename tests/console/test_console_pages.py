"""The console's pages and forms, end to end through the app (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.devtools.demo import seed_demo
from siyu.devtools.demo_data import DEMO_PASSWORD
from siyu.identity.rules import Role
from tests.analytics.queries.reference import Event
from tests.conftest import START
from tests.console.conftest import (
    aftersale_request,
    csrf_of,
    new_operator,
    open_shop,
    paid_order,
    sign_in,
    unpaid_order,
)
from tests.helpers import PASSWORD, insert_events


def product_json(client: TestClient, admin: dict[str, str], product_id: int) -> dict[str, Any]:
    response = client.get(f"/api/admin/products/{product_id}", headers=admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


def order_json(client: TestClient, admin: dict[str, str], order_id: int) -> dict[str, Any]:
    response = client.get(f"/api/admin/orders/{order_id}", headers=admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


def audit_actions(client: TestClient, admin: dict[str, str], target: str) -> list[str]:
    rows = client.get("/api/admin/audit-logs", params={"target_type": target}, headers=admin)
    return [r["action"] for r in rows.json()]


# ---------------------------------------------------------------- sign in / out


def test_an_operator_signs_in_and_out_with_the_form(client: TestClient, ctx: Context) -> None:
    # given an account and no session
    username = new_operator(ctx, Role.owner)
    first = client.get("/console/orders?status=paid", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/console/login?next=/console/orders%3Fstatus%3Dpaid"

    # when the wrong password is typed
    form = client.get("/console/login")
    wrong = client.post(
        "/console/login",
        data={"username": username, "password": "nope-123456", "csrf_token": csrf_of(form.text)},
    )

    # then the form says so, next to the fields
    assert wrong.status_code == 401
    assert 'data-testid="login-error"' in wrong.text
    assert "用户名或密码错误" in wrong.text

    # when the right one is, the session cookie is HttpOnly and SameSite=Lax
    signed = client.post(
        "/console/login",
        data={
            "username": username,
            "password": PASSWORD,
            "csrf_token": csrf_of(wrong.text),
            "next": "/console/orders?status=paid",
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/console/orders?status=paid"
    cookie = [h for h in signed.headers.get_list("set-cookie") if h.startswith("siyu_console=")]
    assert "httponly" in cookie[0].lower() and "samesite=lax" in cookie[0].lower()
    page = client.get("/console/orders")
    assert page.status_code == 200
    assert '<meta charset="utf-8">' in page.text

    # and signing out ends the session
    out = client.post(
        "/console/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert out.status_code == 303
    assert out.headers["location"] == "/console/login?notice=logged_out"
    assert client.get("/console/orders", follow_redirects=False).status_code == 303


def test_a_login_post_without_the_form_token_is_refused(client: TestClient, ctx: Context) -> None:
    username = new_operator(ctx, Role.owner)

    response = client.post(
        "/console/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )

    assert response.status_code == 403
    assert "siyu_console=" not in response.headers.get("set-cookie", "")


def test_an_offsite_next_parameter_is_ignored(client: TestClient, ctx: Context) -> None:
    username = new_operator(ctx, Role.support)
    form = client.get("/console/login?next=//evil.example/")

    response = client.post(
        "/console/login",
        data={
            "username": username,
            "password": PASSWORD,
            "csrf_token": csrf_of(form.text),
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )

    assert response.headers["location"] == "/console/products"


# ---------------------------------------------------------------- every page


def test_every_page_renders_for_an_owner_of_the_demo_store(
    client: TestClient, ctx: Context
) -> None:
    # given the demo store
    seed_demo(ctx, shoppers=12)
    sign_in(client, "admin", DEMO_PASSWORD)

    # when the owner opens every page
    pages = {
        "/console/dashboard": "支付金额 GMV",
        "/console/dashboard?period=7d": "近 7 天",
        "/console/dashboard?period=30d": "访客数按登录计算",
        "/console/products": 'data-testid="product-row"',
        "/console/products/new": 'id="product-form"',
        "/console/products/1": 'data-testid="sku-table"',
        "/console/categories": 'data-testid="category-row"',
        "/console/orders": 'data-testid="order-row"',
        "/console/orders?status=paid&date_from=2020-01-01": 'data-testid="order-row"',
        "/console/orders/1": 'data-testid="timeline"',
        "/console/aftersales?status=": 'data-testid="aftersale-row"',
        "/console/operators": 'data-testid="operator-row"',
        "/console/audit": 'data-testid="audit-row"',
    }
    responses = {path: client.get(path) for path in pages}

    # then each renders, in Chinese, with its content
    for path, marker in pages.items():
        response = responses[path]
        assert response.status_code == 200, (path, response.text[-500:])
        assert '<meta charset="utf-8">' in response.text
        assert marker in response.text, path
    assert re.search(r"¥\d[\d,]*\.\d\d", responses["/console/orders"].text)

    # and the English switch keeps the operator on the page
    switched = client.get("/console/lang/en?next=/console/orders", follow_redirects=False)
    assert switched.headers["location"] == "/console/orders"
    english = client.get("/console/orders")
    assert '<html lang="en">' in english.text
    assert ">Orders</a>" in english.text


def test_the_dashboard_counts_todays_paid_order(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given one shopper who logged in and paid ¥59.00 today
    shop = open_shop(client, api_admin)
    paid_order(client, shop)
    sign_in(client, new_operator(ctx, Role.analyst))

    # when
    page = client.get("/console/dashboard").text

    # then
    def value(key: str) -> str:
        match = re.search(rf'data-testid="metric-{key}-value">\s*([^<]+?)\s*<', page)
        assert match, key
        return match.group(1)

    assert value("visitors") == "1"
    assert value("new_shoppers") == "1"
    assert value("orders") == "1"
    assert value("gmv_fen") == "¥59.00"
    assert value("aov_fen") == "¥59.00"
    assert value("conversion") == "100.0%"
    assert value("refund_rate") == "0.0%"
    src = re.search(r'src="(/console/static/plotly(?:-finance)?\.min\.js\?v=[^"]+)"', page)
    assert src, "the dashboard loads plotly.js by a versioned URL"
    plotly = client.get(src.group(1))
    assert plotly.status_code == 200
    assert "max-age=31536000" in plotly.headers["cache-control"]


def test_once_tracking_has_data_the_dashboard_counts_tracked_visitors(
    client: TestClient, ctx: Context
) -> None:
    # given tracked events (now is 10:00 on a Monday in Shanghai): today three persons —
    # a device, shopper 7 on two devices (one linked, one naming them) and shopper 9 who
    # placed an order — plus a device whose event lies after now; yesterday one person
    # before 10:00 and one after
    hour = timedelta(hours=1)
    insert_events(
        ctx.analytics,
        [
            Event("$pageview", "dev-a", START - hour),
            Event("product_view", "dev-a", START - hour / 2),
            Event("$pageview", "dev-b", START - 2 * hour),
            Event("$pageview", "dev-c", START - 3 * hour, shopper_id=7),
            Event("$pageview", "dev-d", START + hour),
            Event("$pageview", "dev-e", START - timedelta(days=1) - 2 * hour),
            Event("$pageview", "dev-f", START - timedelta(days=1) + hour),
            # a server fact: placing an order is a visit too
            {"event_id": "order-placed-1", "event": "order.placed", "shopper_id": 9,
             "at": START - 4 * hour, "source": "server"},
        ],
        links={"dev-b": 7},
    )  # fmt: skip
    sign_in(client, new_operator(ctx, Role.analyst))

    # when
    page = client.get("/console/dashboard").text

    # then today counts persons with a client event, against yesterday until 10:00
    def metric(key: str, part: str = "value") -> str:
        match = re.search(rf'data-testid="metric-{key}-{part}">\s*(.+?)\s*</p>', page, re.S)
        assert match, key
        return re.sub(r"<[^>]+>|\s+", " ", match.group(1)).strip()

    assert metric("visitors") == "3"
    assert "+200.0%" in metric("visitors", "change") and "(1)" in metric("visitors", "change")
    assert metric("conversion") == "0.0%"  # nobody paid
    assert "与「概览」一致" in page and "接入行为埋点之前" not in page
    assert "访客数（按登录）" not in page
    # and the trend table has tracking's visitors per Shanghai day
    table = page[page.index('data-testid="trend-table"') :]
    assert "<tr><td>2026-11-01</td><td>2</td>" in table  # dev-e and dev-f
    assert "<tr><td>2026-11-02</td><td>3</td>" in table  # dev-a, shoppers 7 and 9


def test_the_dashboard_shows_login_based_visitors_when_analytics_fails(
    client: TestClient, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an analytics store that cannot answer
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("analytics store down")

    monkeypatch.setattr(ctx.analytics, "query", broken)
    sign_in(client, new_operator(ctx, Role.analyst))

    # when
    page = client.get("/console/dashboard")

    # then the page still shows, with visitors from logins (and says so)
    assert page.status_code == 200
    assert "接入行为埋点之前" in page.text


# ---------------------------------------------------------------- catalog


def test_an_owner_deletes_an_unused_category_and_is_told_why_a_used_one_stays(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given a category with a product and an empty one
    shop = open_shop(client, api_admin)
    used = shop.product["category_id"]
    empty = client.post("/api/admin/categories", json={"name": "空分类"}, headers=api_admin)
    csrf = sign_in(client, new_operator(ctx, Role.owner))
    page = client.get("/console/categories").text
    assert f'id="category-delete-{empty.json()["id"]}"' in page

    # when the owner deletes the empty one, it goes
    gone = client.post(
        f"/console/categories/{empty.json()['id']}/delete",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    assert gone.headers["location"] == "/console/categories?notice=category_deleted"
    assert "分类已删除" in client.get(gone.headers["location"]).text

    # and the one with a product stays, with the reason on the page
    kept = client.post(f"/console/categories/{used}/delete", data={"csrf_token": csrf})
    assert kept.status_code == 409
    assert "1 products" in kept.text and f'data-id="{used}"' in kept.text
    ids = [c["id"] for c in client.get("/api/admin/categories", headers=api_admin).json()]
    assert used in ids and empty.json()["id"] not in ids


def test_an_owner_creates_a_product_with_two_skus_and_puts_it_on_sale(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given a signed-in owner who first adds a category
    csrf = sign_in(client, new_operator(ctx, Role.owner))
    created = client.post(
        "/console/categories",
        data={"csrf_token": csrf, "name": "咖啡豆", "parent_id": "", "sort_order": "1"},
        follow_redirects=False,
    )
    assert created.status_code == 303
    category_id = client.get("/api/admin/categories", headers=api_admin).json()[0]["id"]

    # when the product form is sent with two SKU rows (and a blank spare one)
    response = client.post(
        "/console/products/new",
        data={
            "csrf_token": csrf,
            "title": "云南小粒咖啡豆 500g",
            "subtitle": "中深烘焙",
            "category_id": str(category_id),
            "role": "traffic",
            "spec_name": "烘焙",
            "image_urls": "https://img.example.com/a.jpg\nhttps://img.example.com/b.jpg",
            "description": "",
            "skus-0-spec": "中度",
            "skus-0-price": "59",
            "skus-0-stock": "20",
            "skus-1-spec": "深度",
            "skus-1-price": "69.90",
            "skus-1-stock": "5",
            "skus-1-original_price": "89",
            "skus-2-spec": "",
            "skus-2-price": "",
        },
        follow_redirects=False,
    )

    # then a draft with both SKUs exists
    assert response.status_code == 303, response.text
    product_id = int(response.headers["location"].split("/")[-1].split("?")[0])
    product = product_json(client, api_admin, product_id)
    assert product["status"] == "draft"
    assert [(s["spec"], s["price_fen"], s["stock"]) for s in product["skus"]] == [
        ({"烘焙": "中度"}, 5900, 20),
        ({"烘焙": "深度"}, 6990, 5),
    ]
    assert product["skus"][1]["original_price_fen"] == 8900
    assert product["image_urls"] == [
        "https://img.example.com/a.jpg",
        "https://img.example.com/b.jpg",
    ]
    page = client.get(response.headers["location"])
    assert 'data-testid="notice"' in page.text

    # when it is put on sale
    on_sale = client.post(
        f"/console/products/{product_id}/status",
        data={"csrf_token": csrf, "status": "on_sale"},
        follow_redirects=False,
    )

    # then shoppers can see it, and the audit log says who did it
    assert on_sale.status_code == 303
    assert client.get(f"/api/app/products/{product_id}").status_code == 200
    assert audit_actions(client, api_admin, "product") == ["product.status", "product.create"]
    assert 'data-status="on_sale"' in client.get(f"/console/products/{product_id}").text


def test_price_and_stock_change_on_the_product_page(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    shop = open_shop(client, api_admin)
    csrf = sign_in(client, new_operator(ctx, Role.operator))
    product_id = shop.product["id"]

    price = client.post(
        f"/console/skus/{shop.sku_id}/price",
        data={"csrf_token": csrf, "price": "49.50", "confirmed": "1", "from_fen": "5900"},
    )
    stock = client.post(
        f"/console/skus/{shop.sku_id}/stock",
        data={
            "csrf_token": csrf,
            "delta": "-3",
            "reason": "盘点",
            "confirmed": "1",
            "from_stock": "10",
        },
    )
    too_much = client.post(
        f"/console/skus/{shop.sku_id}/stock", data={"csrf_token": csrf, "delta": "-100"}
    )

    assert price.status_code == 200 and stock.status_code == 200
    sku = product_json(client, api_admin, product_id)["skus"][0]
    assert (sku["price_fen"], sku["stock"]) == (4950, 7)
    assert too_much.status_code == 409
    assert f'id="err-sku-{shop.sku_id}-delta"' in too_much.text
    assert "库存不足" in too_much.text


def test_validation_errors_are_shown_next_to_their_fields(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given a store with a category
    open_shop(client, api_admin)
    csrf = sign_in(client, new_operator(ctx, Role.owner))

    # when a form with a blank title, no category and bad prices is sent
    response = client.post(
        "/console/products/new",
        data={
            "csrf_token": csrf,
            "title": "",
            "category_id": "",
            "role": "traffic",
            "spec_name": "颜色",
            "image_urls": "not a url",
            "skus-0-spec": "红",
            "skus-0-price": "abc",
            "skus-1-spec": "蓝",
            "skus-1-price": "1.234",
            "skus-1-stock": "-1",
        },
    )

    # then each error sits next to its field and what was typed is kept
    assert response.status_code == 422
    html = response.text
    for name in ("title", "category_id", "image_urls", "skus-0-price", "skus-1-price"):
        assert f'id="err-{name}"' in html, name
    assert 'id="skus-0-spec" name="skus-0-spec" value="红"' in html
    assert "请输入金额" in html
    assert 'aria-describedby="err-title"' in html


def test_a_service_error_lands_next_to_the_field_it_names(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    shop = open_shop(client, api_admin)
    csrf = sign_in(client, new_operator(ctx, Role.owner))
    taken = shop.product["skus"][0]["sku_code"]

    same_spec = client.post(
        "/console/products/new",
        data={
            "csrf_token": csrf,
            "title": "双色杯",
            "category_id": str(shop.product["category_id"]),
            "role": "profit",
            "spec_name": "颜色",
            "skus-0-spec": "白",
            "skus-0-price": "10",
            "skus-1-spec": "白",
            "skus-1-price": "12",
        },
    )
    code_taken = client.post(
        "/console/products/new",
        data={
            "csrf_token": csrf,
            "title": "双色杯",
            "category_id": "999999",
            "role": "profit",
            "skus-0-spec": "白",
            "skus-0-price": "10",
            "skus-0-sku_code": taken,
        },
    )

    assert same_spec.status_code == 422
    assert 'id="err-skus"' in same_spec.text and "规格相同" in same_spec.text
    assert code_taken.status_code == 422
    assert 'id="err-category_id"' in code_taken.text


# ---------------------------------------------------------------- orders


def test_an_operator_ships_a_paid_order_and_cancels_an_unpaid_one(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given a paid order and an unpaid one
    shop = open_shop(client, api_admin)
    paid = paid_order(client, shop)
    unpaid = unpaid_order(client, shop)
    csrf = sign_in(client, new_operator(ctx, Role.support))
    detail = client.get(f"/console/orders/{paid['id']}")
    assert 'id="ship-form"' in detail.text

    # when a malformed tracking number is sent, then it is refused next to the field
    bad = client.post(
        f"/console/orders/{paid['id']}/ship",
        data={"csrf_token": csrf, "carrier": "顺丰速运", "tracking_no": "号"},
    )
    assert bad.status_code == 422
    assert 'id="err-tracking_no"' in bad.text
    assert 'value="顺丰速运"' in bad.text

    # when the order is shipped properly
    shipped = client.post(
        f"/console/orders/{paid['id']}/ship",
        data={"csrf_token": csrf, "carrier": "顺丰速运", "tracking_no": "SF1234567890"},
    )

    # then it shows as shipped, with its timeline
    assert shipped.status_code == 200
    assert 'data-testid="order-status" data-status="shipped"' in shipped.text
    assert 'data-event="order.shipped"' in shipped.text
    assert "SF1234567890" in shipped.text
    assert order_json(client, api_admin, paid["id"])["tracking_no"] == "SF1234567890"

    # when the unpaid order is cancelled, and the shipped one too
    cancelled = client.post(
        f"/console/orders/{unpaid['id']}/cancel", data={"csrf_token": csrf, "confirmed": "1"}
    )
    refused = client.post(f"/console/orders/{paid['id']}/cancel", data={"csrf_token": csrf})

    # then only the unpaid one is, and the other says why
    assert 'data-status="cancelled"' in cancelled.text
    assert refused.status_code == 409
    assert "只能取消待支付订单" in refused.text
    assert audit_actions(client, api_admin, "order") == ["order.cancel", "order.ship"]


def test_the_order_list_filters_by_status_and_amount(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    shop = open_shop(client, api_admin)
    paid = paid_order(client, shop)
    unpaid = unpaid_order(client, shop)
    sign_in(client, new_operator(ctx, Role.analyst))

    def listed(query: str) -> list[int]:
        html = client.get(f"/console/orders?{query}").text
        return [int(i) for i in re.findall(r'data-testid="order-row" data-id="(\d+)"', html)]

    assert listed("") == [unpaid["id"], paid["id"]]
    assert listed("status=paid") == [paid["id"]]
    assert listed("min_total=59&max_total=59.00") == [unpaid["id"], paid["id"]]
    assert listed("min_total=60") == []
    assert listed("date_from=2026-11-02&date_to=2026-11-02") == [unpaid["id"], paid["id"]]
    assert listed("date_from=2026-11-03") == []
    assert listed("min_total=abc&shopper_id=x&date_to=soon") == [unpaid["id"], paid["id"]]


# ---------------------------------------------------------------- after-sales


def test_after_sales_requests_are_approved_and_rejected(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given two paid orders, each with a refund request
    shop = open_shop(client, api_admin)
    first = aftersale_request(client, shop, paid_order(client, shop)["id"])
    second = aftersale_request(client, shop, paid_order(client, shop)["id"])
    csrf = sign_in(client, new_operator(ctx, Role.support))
    queue = client.get("/console/aftersales")
    assert f'id="approve-{first["id"]}"' in queue.text

    # when the first is approved
    approved = client.post(
        f"/console/aftersales/{first['id']}/approve",
        data={"csrf_token": csrf, "back_status": "", "confirmed": "1"},
        follow_redirects=False,
    )

    # then the sandbox refunds it at once
    assert approved.status_code == 303
    assert approved.headers["location"] == "/console/aftersales?status=&notice=approved"
    statuses = {
        a["id"]: a["status"] for a in client.get("/api/admin/aftersales", headers=api_admin).json()
    }
    assert statuses[first["id"]] == "refunded"

    # when the second is rejected without a reason, then with one
    blank = client.post(
        f"/console/aftersales/{second['id']}/reject", data={"csrf_token": csrf, "reason": " "}
    )
    rejected = client.post(
        f"/console/aftersales/{second['id']}/reject",
        data={"csrf_token": csrf, "reason": "商品已发出", "back_status": "pending"},
    )

    # then the blank one is refused next to the field, the other is rejected
    assert blank.status_code == 422
    assert f'id="err-reject-reason-{second["id"]}"' in blank.text
    assert rejected.status_code == 200
    aftersale = client.get(f"/api/admin/aftersales/{second['id']}", headers=api_admin).json()
    assert (aftersale["status"], aftersale["decision_reason"]) == ("rejected", "商品已发出")
    again = client.post(
        f"/console/aftersales/{second['id']}/approve", data={"csrf_token": csrf, "confirmed": "1"}
    )
    assert again.status_code == 409
    assert "已被处理" in again.text


# ---------------------------------------------------------------- safety


def test_a_post_without_the_csrf_token_is_refused(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    shop = open_shop(client, api_admin)
    paid = paid_order(client, shop)
    sign_in(client, new_operator(ctx, Role.owner))
    form = {"carrier": "顺丰速运", "tracking_no": "SF1234567890"}

    missing = client.post(f"/console/orders/{paid['id']}/ship", data=form)
    forged = client.post(f"/console/orders/{paid['id']}/ship", data=form | {"csrf_token": "0" * 64})

    assert (missing.status_code, forged.status_code) == (403, 403)
    assert 'data-testid="error-page"' in missing.text
    assert "表单已过期" in missing.text
    assert order_json(client, api_admin, paid["id"])["status"] == "paid"


def test_bad_input_gets_a_friendly_page_never_a_500(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    shop = open_shop(client, api_admin)
    csrf = sign_in(client, new_operator(ctx, Role.owner))

    responses = {
        "no such order": client.get("/console/orders/999999"),
        "not a number": client.get("/console/orders/abc"),
        "no such page": client.get("/console/nope"),
        "bad cursor": client.get("/console/products?cursor=%%%"),
        "bad paging": client.get("/console/audit?before_id=x&operator_id=y"),
        "bad period": client.get("/console/dashboard?period=forever"),
        "no such sku": client.post("/console/skus/999999/price", data={"csrf_token": csrf}),
        "json body": client.post(
            f"/console/products/{shop.product['id']}/status",
            json={"status": "on_sale"},
        ),
        "bad status": client.post(
            f"/console/products/{shop.product['id']}/status",
            data={"csrf_token": csrf, "status": "sold_out"},
        ),
        "huge index": client.post(
            "/console/products/new",
            data={"csrf_token": csrf, "skus-99999-price": "1", "title": "x" * 500},
        ),
    }

    statuses = {name: r.status_code for name, r in responses.items()}
    assert statuses == {
        "no such order": 404,
        "not a number": 404,
        "no such page": 404,
        "bad cursor": 422,
        "bad paging": 200,
        "bad period": 200,
        "no such sku": 404,
        "json body": 403,
        "bad status": 422,
        "huge index": 422,
    }
    assert all("<!doctype html>" in r.text for r in responses.values() if r.status_code != 200)
