"""The shopper's address book (/api/app/addresses) and the address an order keeps."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient

from siyu.bootstrap import Context
from tests.helpers import ADDRESS, create_product, operator_headers, shopper_headers

HOME = {
    "name": "张三",
    "phone": "13800138000",
    "province": "上海市",
    "city": "上海市",
    "district": "浦东新区",
    "detail": "世纪大道 100 号",
    "postal_code": "200120",
}
OFFICE = {
    "name": "张三",
    "phone": "13900139000",
    "province": "浙江省",
    "city": "杭州市",
    "district": "西湖区",
    "detail": "文三路 1 号",
}
API = "/api/app/addresses"


def _add(client: TestClient, who: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(API, json=body, headers=who)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _book(client: TestClient, who: dict[str, str]) -> list[tuple[str, bool]]:
    """(detail, is_default) of each address as listed."""
    response = client.get(API, headers=who)
    assert response.status_code == 200, response.text
    return [(a["detail"], a["is_default"]) for a in response.json()]


def _buy(client: TestClient, who: dict[str, str], sku_id: int, **body: Any) -> Any:
    return client.post(
        "/api/app/orders",
        json={"items": [{"sku_id": sku_id, "quantity": 1}], **body},
        headers=who | {"Idempotency-Key": str(uuid.uuid4())},
    )


@pytest.fixture
def sku_id(client: TestClient, ctx: Context) -> int:
    product = create_product(client, operator_headers(client, ctx))
    return int(product["skus"][0]["id"])


def test_a_shopper_adds_lists_edits_and_deletes_addresses(client: TestClient) -> None:
    # given a shopper with an empty book
    alice = shopper_headers(client, "alice")
    assert _book(client, alice) == []

    # when they add their home, then their office
    home = _add(client, alice, HOME)
    office = _add(client, alice, OFFICE)

    # then the first address is the default and every field is kept
    assert {k: home[k] for k in HOME} == HOME
    assert home["is_default"] is True
    assert (office["is_default"], office["postal_code"]) == (False, None)
    assert _book(client, alice) == [("世纪大道 100 号", True), ("文三路 1 号", False)]
    assert client.get(f"{API}/{office['id']}", headers=alice).json()["city"] == "杭州市"

    # and a change touches only the fields sent
    changed = client.patch(
        f"{API}/{office['id']}",
        json={"detail": "文三路 2 号", "postal_code": "310012"},
        headers=alice,
    )
    assert changed.status_code == 200, changed.text
    assert {k: changed.json()[k] for k in ("name", "phone", "detail", "postal_code")} == {
        "name": "张三",
        "phone": "13900139000",
        "detail": "文三路 2 号",
        "postal_code": "310012",
    }

    # and a deleted address is gone
    assert client.delete(f"{API}/{office['id']}", headers=alice).status_code == 204
    assert _book(client, alice) == [("世纪大道 100 号", True)]
    assert client.get(f"{API}/{office['id']}", headers=alice).status_code == 404


def test_exactly_one_address_is_the_default_while_the_shopper_switches_and_deletes(
    client: TestClient,
) -> None:
    # given three addresses, the first one the default
    alice = shopper_headers(client, "alice")
    a = _add(client, alice, {**OFFICE, "detail": "A 路 1 号"})
    b = _add(client, alice, {**OFFICE, "detail": "B 路 2 号"})
    c = _add(client, alice, {**OFFICE, "detail": "C 路 3 号", "is_default": True})

    # then adding one as the default unset the old default
    assert _book(client, alice) == [("C 路 3 号", True), ("B 路 2 号", False), ("A 路 1 号", False)]

    # when the shopper makes B, then A the default
    for chosen, expected in (
        (b, [("B 路 2 号", True), ("C 路 3 号", False), ("A 路 1 号", False)]),
        (a, [("A 路 1 号", True), ("C 路 3 号", False), ("B 路 2 号", False)]),
        (a, [("A 路 1 号", True), ("C 路 3 号", False), ("B 路 2 号", False)]),
    ):
        response = client.patch(f"{API}/{chosen['id']}", json={"is_default": True}, headers=alice)
        assert response.status_code == 200, response.text
        assert response.json()["is_default"] is True
        # then each time exactly that one is the default
        assert _book(client, alice) == expected

    # and the default cannot just be switched off
    refused = client.patch(f"{API}/{a['id']}", json={"is_default": False}, headers=alice)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "default_required"
    assert _book(client, alice)[0] == ("A 路 1 号", True)

    # when the default is deleted, the most recently added of the rest takes over
    assert client.delete(f"{API}/{a['id']}", headers=alice).status_code == 204
    assert _book(client, alice) == [("C 路 3 号", True), ("B 路 2 号", False)]
    assert client.delete(f"{API}/{c['id']}", headers=alice).status_code == 204
    assert _book(client, alice) == [("B 路 2 号", True)]
    assert client.delete(f"{API}/{b['id']}", headers=alice).status_code == 204
    assert _book(client, alice) == []


def test_requests_racing_to_pick_the_default_leave_exactly_one(client: TestClient) -> None:
    # given a shopper with eight addresses
    alice = shopper_headers(client, "alice")
    ids = [_add(client, alice, {**OFFICE, "detail": f"{n} 号"})["id"] for n in range(8)]

    # when each is made the default at the same moment
    barrier = threading.Barrier(len(ids))

    def make_default(address_id: int) -> int:
        barrier.wait()
        response = client.patch(f"{API}/{address_id}", json={"is_default": True}, headers=alice)
        return response.status_code

    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        statuses = list(pool.map(make_default, ids))

    # then all succeed and one address is the default
    assert statuses == [200] * len(ids)
    assert Counter(default for _, default in _book(client, alice)) == {True: 1, False: 7}


def test_the_book_holds_at_most_twenty_addresses(client: TestClient) -> None:
    # given a shopper with twenty addresses
    alice = shopper_headers(client, "alice")
    for n in range(20):
        _add(client, alice, {**OFFICE, "detail": f"文三路 {n} 号"})

    # when they add a twenty-first
    response = client.post(API, json={**OFFICE, "is_default": True}, headers=alice)

    # then it is refused, and nothing changed
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "address_book_full"
    assert "20" in response.json()["error"]["message"]
    book = _book(client, alice)
    assert len(book) == 20
    assert book[0] == ("文三路 0 号", True)

    # and after deleting one there is room again
    first = client.get(API, headers=alice).json()[-1]
    assert client.delete(f"{API}/{first['id']}", headers=alice).status_code == 204
    _add(client, alice, OFFICE)


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"phone": "12800138000"}, "bad_phone", "phone"),
        ({"phone": "1380013800"}, "bad_phone", "phone"),
        ({"phone": "+8613800138000"}, "bad_phone", "phone"),
        ({"phone": "138-0013-8000"}, "bad_phone", "phone"),
        ({"postal_code": "20012"}, "bad_postal_code", "postal_code"),
        ({"postal_code": "abcdef"}, "bad_postal_code", "postal_code"),
        ({"name": "   "}, "invalid_input", "name"),
        ({"name": "名" * 33}, "invalid_input", "name"),
        ({"detail": ""}, "invalid_input", "detail"),
        ({"province": None}, "invalid_input", "province"),
        ({"is_default": "maybe"}, "invalid_input", "is_default"),
    ],
)
def test_a_bad_address_is_refused_with_its_field_and_nothing_is_written(
    client: TestClient, change: dict[str, Any], code: str, field: str
) -> None:
    # given a shopper with one address
    alice = shopper_headers(client, "alice")
    home = _add(client, alice, HOME)

    # when they add or change an address with a bad field
    added = client.post(API, json={**OFFICE, **change}, headers=alice)
    changed = client.patch(f"{API}/{home['id']}", json={"detail": "改了", **change}, headers=alice)

    # then both are refused naming the field, and the book is as it was
    for response in (added, changed):
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == code
        assert field in error["fields"] or any(field in f for f in error["fields"])
    assert client.get(API, headers=alice).json() == [home]


def test_a_missing_field_and_a_body_that_is_not_an_address_are_refused(client: TestClient) -> None:
    alice = shopper_headers(client, "alice")
    missing = {k: v for k, v in OFFICE.items() if k != "detail"}
    for body in (missing, [], "x", {"phone": 13800138000}):
        response = client.post(API, json=body, headers=alice)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_input"
    nulled = client.patch(
        f"{API}/{_add(client, alice, OFFICE)['id']}", json={"name": None}, headers=alice
    )
    assert nulled.status_code == 422
    assert [a["name"] for a in client.get(API, headers=alice).json()] == ["张三"]
    assert client.get(API).status_code == 401
    assert client.patch(f"{API}/999999999999999999999", json={}, headers=alice).status_code == 422


def test_another_shoppers_address_is_not_found(client: TestClient, sku_id: int) -> None:
    # given alice's address
    alice = shopper_headers(client, "alice")
    bob = shopper_headers(client, "bob")
    home = _add(client, alice, HOME)

    # when bob reads, changes, deletes or ships to it
    answers = [
        client.get(f"{API}/{home['id']}", headers=bob),
        client.patch(f"{API}/{home['id']}", json={"is_default": True}, headers=bob),
        client.patch(f"{API}/{home['id']}", json={"detail": "bob's"}, headers=bob),
        client.delete(f"{API}/{home['id']}", headers=bob),
        _buy(client, bob, sku_id, address_id=home["id"]),
    ]

    # then each is not found, bob's book and orders are empty and alice's is untouched
    assert [r.status_code for r in answers] == [404] * 5
    assert {r.json()["error"]["code"] for r in answers} == {"address_not_found"}
    assert _book(client, bob) == []
    assert client.get("/api/app/orders", headers=bob).json() == []
    assert client.get(API, headers=alice).json() == [home]


def test_an_order_keeps_its_address_when_the_address_is_edited_or_deleted(
    client: TestClient, sku_id: int
) -> None:
    # given a shopper with a home (the default) and an office
    alice = shopper_headers(client, "alice")
    home = _add(client, alice, HOME)
    office = _add(client, alice, OFFICE)

    # when they order to the office by id, and once more naming no address
    to_office = _buy(client, alice, sku_id, address_id=office["id"])
    to_default = _buy(client, alice, sku_id)
    assert (to_office.status_code, to_default.status_code) == (201, 201), to_office.text

    # then each order keeps a copy of its address
    assert to_office.json()["address"] == {**OFFICE, "postal_code": None}
    assert to_default.json()["address"] == HOME

    # when the office is edited and the home deleted
    client.patch(
        f"{API}/{office['id']}", json={"detail": "搬走了", "phone": "13700137000"}, headers=alice
    )
    client.delete(f"{API}/{home['id']}", headers=alice)

    # then the orders still show the addresses they were placed with
    detail = client.get(f"/api/app/orders/{to_office.json()['id']}", headers=alice).json()
    assert detail["address"] == {**OFFICE, "postal_code": None}
    detail = client.get(f"/api/app/orders/{to_default.json()['id']}", headers=alice).json()
    assert detail["address"] == HOME
    # and the next order without an address goes to the new default, the edited office
    again = _buy(client, alice, sku_id)
    assert again.json()["address"]["detail"] == "搬走了"


def test_an_order_needs_one_address_typed_chosen_or_by_default(
    client: TestClient, sku_id: int
) -> None:
    # given a shopper with no saved address
    alice = shopper_headers(client, "alice")

    # then an order naming none is refused, and one typed at checkout is placed as before
    none = _buy(client, alice, sku_id)
    assert none.status_code == 422
    assert none.json()["error"]["code"] == "address_required"
    typed = _buy(client, alice, sku_id, address=ADDRESS)
    assert typed.status_code == 201, typed.text
    assert typed.json()["address"] == {**ADDRESS, "postal_code": None}

    # and naming both a typed and a saved address is refused
    saved = _add(client, alice, OFFICE)
    both = _buy(client, alice, sku_id, address=ADDRESS, address_id=saved["id"])
    assert both.status_code == 422
    assert both.json()["error"]["code"] == "invalid_input"
    unknown = _buy(client, alice, sku_id, address_id=saved["id"] + 1000)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "address_not_found")
    assert len(client.get("/api/app/orders", headers=alice).json()) == 1


@pytest.mark.parametrize("phone", ["1380013", "12800138000", "138001380001", "1380013800a"])
def test_checkout_address_book_and_phone_binding_share_one_mobile_rule(
    client: TestClient, sku_id: int, phone: str
) -> None:
    alice = shopper_headers(client, "alice")
    message = "请输入 11 位手机号（1 开头） / Enter an 11-digit mainland China mobile number"

    # a checkout address with a number that is not a mainland mobile is refused
    typed = _buy(client, alice, sku_id, address={**ADDRESS, "phone": phone})
    assert typed.status_code == 422, typed.text
    assert message in typed.json()["error"]["fields"]["address.phone"]
    # as the address book refuses it, with the same words
    saved = client.post(API, json={**ADDRESS, "phone": phone}, headers=alice)
    assert saved.status_code == 422
    assert saved.json()["error"]["message"] == message
    # and phone binding (sandbox: the code is the number)
    bound = client.post("/api/app/me/phone", json={"code": phone}, headers=alice)
    assert bound.status_code == 422, bound.text
    assert client.get("/api/app/orders", headers=alice).json() == []
