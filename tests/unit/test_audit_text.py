"""Every action the domain audits has zh-CN and en words, and a change reads as lines."""

from __future__ import annotations

import re
from pathlib import Path

from siyu.identity.audit_text import ACTIONS, action_label, describe

SIYU = Path(__file__).resolve().parents[2] / "siyu"


def test_every_audited_action_in_the_code_has_a_label() -> None:
    trails = {}
    verbs: set[str] = set()
    for path in SIYU.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for var, target in re.findall(r'(_[A-Z]+) = AuditTrail(?:\[\w+\])?\(\s*"(\w+)"', text):
            trails[(path, var)] = target
            for verb in re.findall(rf'{var}\.(?:change|apply|record)\([^"]*?"(\w+)"', text, re.S):
                verbs.add(f"{target}.{verb}")
            if re.search(rf"{var}\.(add|created)\(", text):
                verbs.add(f"{target}.create")
            if re.search(rf"OfferBook\[\w+\]\(\s*\w+,\s*{var},", text):
                verbs.update(f"{target}.{verb}" for verb in ("create", "update", "status"))
            if re.search(rf"{var}\.delete\(", text):
                verbs.add(f"{target}.delete")
        verbs.update(re.findall(r'action="([\w.]+)"', text))
    assert len(trails) >= 8
    assert verbs - set(ACTIONS) == set()


def test_a_change_reads_as_sentences_in_both_languages() -> None:
    shipped = {"status": "shipped", "carrier": "顺丰速运", "tracking_no": "SF1234567890123"}
    assert describe("order.ship", {"status": "paid"}, shipped, "zh-CN") == [
        "发货：顺丰速运 SF1234567890123"
    ]
    assert describe("sku.price", {"price_fen": 12900}, {"price_fen": 11900}, "zh-CN") == [
        "价格：¥129.00 → ¥119.00"
    ]
    assert describe("sku.price", {"price_fen": 12900}, {"price_fen": 11900}, "en") == [
        "Price: ¥129.00 → ¥119.00"
    ]
    assert describe("category.update", {"is_active": True}, {"is_active": False}, "zh-CN") == [
        "启用：是 → 否"
    ]
    assert action_label("coupon_template.create", "zh-CN") == "新建优惠券"
    assert action_label("coupon_template.create", "en") == "Created coupon"
