"""The flash-sale board with the Redis gate: the units the gate holds next to the
database's, the gate's requests, and a reconciliation that finds them equal."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from siyu.config import Settings
from siyu.flash_sale import service as flash
from siyu.identity.rules import Role
from tests.conftest import REDIS_URL, make_settings
from tests.console.conftest import new_operator, sign_in
from tests.console.test_console_plays import flash_form, pay, place, post
from tests.helpers import create_product, shopper_headers


@pytest.fixture
def settings(database_url: str, tmp_path: Path, redis_prefix: str) -> Settings:
    return make_settings(database_url, tmp_path, redis_url=REDIS_URL, redis_key_prefix=redis_prefix)


def cell(page: str, key: str) -> str:
    match = re.search(rf'data-testid="board-{key}" data-value="([^"]*)"', page)
    assert match, key
    return match.group(1)


def test_the_board_shows_the_gates_units_next_to_the_databases(
    client: TestClient, ctx: Context, api_admin: dict[str, str]
) -> None:
    # given a session on now with 5 units, and a shopper who bought 2 and paid
    product = create_product(
        client, api_admin, skus=[{"spec": {"烘焙": "中度"}, "price_fen": 5900, "stock": 50}]
    )
    sku_id = int(product["skus"][0]["id"])
    owner = sign_in(client, new_operator(ctx, Role.owner))
    start = (ctx.clock.now() + timedelta(hours=8, minutes=-1)).strftime("%Y-%m-%dT%H:%M")
    end = (ctx.clock.now() + timedelta(hours=8, minutes=30)).strftime("%Y-%m-%dT%H:%M")
    created = post(client, "/console/flash-sales/new", owner,
                   **flash_form(sku_id, starts_at=start, ends_at=end))  # fmt: skip
    url = created.headers["location"].split("?")[0]
    with ctx.db.transaction() as session:
        (view,) = flash.items_of(session, int(url.split("/")[-1]))
    buyer = shopper_headers(client, "fs-redis")
    order = place(client, f"/api/app/flash-sales/items/{view.item.id}/buy", buyer, quantity=2)
    pay(client, order["order"]["id"], buyer)

    # when
    board = client.get(f"{url}/board").text
    reconciled = post(client, f"{url}/reconcile", owner, fix="0")
    after = client.get(f"{url}/board").text

    # then
    assert (cell(board, "units_left"), cell(board, "gate_units_left")) == ("3", "3")
    assert (cell(board, "sold"), cell(board, "gate_requests")) == ("2", "1")
    assert "闸门：Redis" in board
    assert reconciled.status_code == 303
    assert 'data-testid="reconciliation" data-clean="1"' in after
