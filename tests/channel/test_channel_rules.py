from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from siyu.channel.rules import (
    GROUPS,
    is_valid_code,
    is_valid_spend,
    mini_program_scene,
    spend_days,
    storefront_link,
)
from siyu.identity.rules import parse_entry


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("AB12", True),
        ("a_b-c", True),
        ("x" * 20, True),
        ("x" * 21, False),
        ("", False),
        ("中文", False),
        ("a b", False),
    ],
)
def test_a_channel_code_is_1_to_20_safe_characters(code: str, valid: bool) -> None:
    assert is_valid_code(code) is valid


def test_the_longest_scene_fits_the_32_character_qr_limit_and_reads_back() -> None:
    scene = mini_program_scene("Z" * 20)
    assert scene == "c=" + "Z" * 20 and len(scene) <= 32
    assert parse_entry(1047, scene, None).channel_code == "Z" * 20


def test_the_storefront_link_carries_the_encoded_scene_and_the_launch_scene() -> None:
    assert (
        storefront_link("https://shop.example.com/", "AB12")
        == "https://shop.example.com/shop?qr_scene=c%3DAB12&scene=1047"
    )


def test_spend_is_never_negative() -> None:
    assert is_valid_spend(0) and is_valid_spend(123)
    assert not is_valid_spend(-1)


def test_groups_share_the_tracking_vocabulary_without_the_crawler() -> None:
    assert "qr" in GROUPS and "ads" in GROUPS and "crawler" not in GROUPS


def test_spend_days_are_the_shanghai_days_a_range_touches() -> None:
    # 2026-11-01 16:00 UTC is 2026-11-02 00:00 in Shanghai
    assert spend_days(
        datetime(2026, 11, 1, 16, tzinfo=UTC), datetime(2026, 11, 8, 16, tzinfo=UTC)
    ) == (
        date(2026, 11, 2),
        date(2026, 11, 8),
    )
