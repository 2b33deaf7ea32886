from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from siyu.errors import Unauthorized
from siyu.identity.crypto import PersonalDataCipher
from siyu.identity.rules import (
    EntryAttribution,
    Permission,
    Role,
    can,
    is_valid_anonymous_id,
    parse_entry,
)
from siyu.identity.tokens import TokenClaims, issue_token, read_token

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("scene", "qr_scene", "sharer", "expected"),
    [
        (1047, "c=AB12&s=9", None, EntryAttribution(1047, "AB12", 9)),
        (1047, "c%3DAB12%26s%3D9", None, EntryAttribution(1047, "AB12", 9)),
        (1011, "SPRING2026", None, EntryAttribution(1011, "SPRING2026", None)),
        (1007, None, 42, EntryAttribution(1007, None, 42)),
        (1047, "c=AB12&s=9", 42, EntryAttribution(1047, "AB12", 42)),
        (1001, "有中文", None, EntryAttribution(1001, None, None)),
        (1001, "x" * 33, None, EntryAttribution(1001, None, None)),
        (99, None, None, EntryAttribution(None, None, None)),
        (None, "c=bad code", -3, EntryAttribution(None, None, None)),
    ],
)
def test_entry_attribution_reads_the_qr_scene_and_sharer(
    scene: int | None, qr_scene: str | None, sharer: int | None, expected: EntryAttribution
) -> None:
    assert parse_entry(scene, qr_scene, sharer) == expected


@pytest.mark.parametrize(
    ("value", "valid"),
    [("device-0001-abcd", True), ("short", False), ("a" * 65, False), ("has space 123", False)],
)
def test_anonymous_ids_are_8_to_64_safe_characters(value: str, valid: bool) -> None:
    assert is_valid_anonymous_id(value) is valid


def test_support_can_handle_orders_but_not_prices_or_stock() -> None:
    assert can(Role.support, Permission.aftersale_decide)
    assert can(Role.support, Permission.order_ship)
    assert not can(Role.support, Permission.price_write)
    assert not can(Role.support, Permission.stock_write)
    assert not can(Role.support, Permission.catalog_write)


def test_only_owners_manage_operators() -> None:
    assert [r for r in Role if can(r, Permission.operator_manage)] == [Role.owner]


def test_a_token_round_trips_until_it_expires() -> None:
    token = issue_token("k" * 40, TokenClaims("shopper", 7, int(NOW.timestamp()) + 60))
    assert read_token("k" * 40, token, kind="shopper", now=NOW).subject_id == 7
    with pytest.raises(Unauthorized) as expired:
        read_token("k" * 40, token, kind="shopper", now=NOW + timedelta(seconds=61))
    assert expired.value.code == "token_expired"


@pytest.mark.parametrize("kind", ["operator"])
def test_a_token_of_another_kind_or_key_is_refused(kind: str) -> None:
    token = issue_token("k" * 40, TokenClaims("shopper", 7, int(NOW.timestamp()) + 60))
    with pytest.raises(Unauthorized):
        read_token("k" * 40, token, kind=kind, now=NOW)
    with pytest.raises(Unauthorized):
        read_token("other" * 8, token, kind="shopper", now=NOW)
    with pytest.raises(Unauthorized):
        read_token("k" * 40, token[:-2] + "xx", kind="shopper", now=NOW)
    with pytest.raises(Unauthorized):
        read_token("k" * 40, "garbage", kind="shopper", now=NOW)


def test_phones_are_encrypted_and_found_by_keyed_hash() -> None:
    cipher = PersonalDataCipher("data-key-" + "x" * 32)
    sealed = cipher.encrypt("13800138000")
    assert "13800138000" not in sealed
    assert cipher.decrypt(sealed) == "13800138000"
    assert cipher.encrypt("13800138000") != sealed  # random nonce
    assert cipher.lookup_hash("13800138000") == cipher.lookup_hash("13800138000")
    assert PersonalDataCipher("another-key-" + "y" * 32).lookup_hash("13800138000") != (
        cipher.lookup_hash("13800138000")
    )
