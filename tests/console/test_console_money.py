"""Actions that move money ask first, with the amount, and happen once however often
the confirmed form is posted; lists show the order number and sort newest first."""

from __future__ import annotations

from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.identity.rules import Role
from tests.console.conftest import (
    aftersale_request,
    csrf_of,
    new_operator,
    open_shop,
    paid_order,
    sign_in,
)


def test_approving_a_refund_asks_first_with_the_amount_and_refunds_once(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given a paid order with a refund request
    shop = open_shop(client, api_admin)
    order = paid_order(client, shop)
    request = aftersale_request(client, shop, order["id"])
    csrf = sign_in(client, new_operator(ctx, Role.support))

    # when the operator clicks 同意并退款 (the list's link, or a post without confirming)
    queue = client.get("/console/aftersales?status=")
    asked = client.get(f"/console/aftersales/{request['id']}/approve?back_status=")
    unconfirmed = client.post(
        f"/console/aftersales/{request['id']}/approve", data={"csrf_token": csrf}
    )

    # then the list shows the order number, and nothing is refunded before the confirm
    # page states the amount, the shopper and the order
    assert order["order_no"] in queue.text
    assert f">#{order['id']}<" not in queue.text
    for page in (asked, unconfirmed):
        assert page.status_code == 200
        assert 'data-testid="confirm-text"' in page.text
        assert "退款 ¥" in page.text and order["order_no"] in page.text
    status = client.get(f"/api/admin/aftersales/{request['id']}", headers=api_admin).json()
    assert status["status"] == "pending"

    # when the confirmed form is posted twice
    form = {"csrf_token": csrf_of(asked.text), "confirmed": "1", "back_status": ""}
    first = client.post(
        f"/console/aftersales/{request['id']}/approve", data=form, follow_redirects=False
    )
    second = client.post(
        f"/console/aftersales/{request['id']}/approve", data=form, follow_redirects=False
    )

    # then it is refunded once, and the second answer says it was done before
    assert first.headers["location"] == "/console/aftersales?status=&notice=approved"
    assert second.status_code == 303
    assert second.headers["location"] == "/console/aftersales?status=&notice=already_approved"
    assert "没有重复退款" in client.get(second.headers["location"]).text
    refunds = client.get(f"/api/admin/orders/{order['id']}", headers=api_admin).json()
    assert refunds["refunded_fen"] == request["refund_fen"]
