"""Coupon rules: the lifecycle of a shopper's coupon and what a template allows.

A shopper's coupon moves through a fixed table, each step a conditional update:

    issued --lock (order placed)--> locked --use (order paid)--> used
    locked --release (order cancelled)--> issued   (or expired when no longer valid)
    used --restore (order fully refunded, still valid)--> issued
    issued --expire (valid_until passed)--> expired

Quotas are guarded too: a template's ``issued_count`` only grows by
``UPDATE … SET issued_count = issued_count + 1 WHERE issued_count < total_quantity``
and a shopper's claims by an upsert whose update is guarded by ``count < limit``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from siyu.money import short_yuan, zhe
from siyu.pricing.info import CouponKind


class TemplateStatus(StrEnum):
    active = "active"
    paused = "paused"
    ended = "ended"


class ValidityKind(StrEnum):
    fixed = "fixed"  # valid_from .. valid_until
    relative = "relative"  # valid_days after the claim


class Audience(StrEnum):
    everyone = "everyone"
    new_shoppers = "new_shoppers"  # no paid order yet


class GiftTrigger(StrEnum):
    none = "none"
    register = "register"  # part of the new-shopper gift pack
    first_order = "first_order"  # reward after the first paid order


class CouponStatus(StrEnum):
    issued = "issued"
    locked = "locked"
    used = "used"
    expired = "expired"


class IssueSource(StrEnum):
    claim = "claim"  # the shopper claimed it in the claim center
    bulk = "bulk"  # an operator issued it to a list
    gift_register = "gift_register"
    gift_first_order = "gift_first_order"
    gift_birthday = "gift_birthday"  # a member tier's birthday gift (siyu.loyalty.tiers)
    checkin = "checkin"  # a check-in day's reward
    lottery = "lottery"  # a lottery prize
    points_mall = "points_mall"  # exchanged for points


class IssueRefusal(StrEnum):
    not_active = "not_active"
    not_claimable = "not_claimable"
    claim_window = "claim_window"
    audience = "audience"
    sold_out = "sold_out"
    limit_reached = "limit_reached"
    already_granted = "already_granted"
    expired_template = "expired_template"


REFUSAL_MESSAGES: dict[IssueRefusal, str] = {
    IssueRefusal.not_active: "该优惠券未在发放中 / This coupon is not being issued",
    IssueRefusal.not_claimable: "该优惠券不能领取 / This coupon cannot be claimed",
    IssueRefusal.claim_window: "不在领取时间内 / Outside the claim period",
    IssueRefusal.audience: "仅限新人领取 / For new shoppers only",
    IssueRefusal.sold_out: "优惠券已领完 / All coupons have been claimed",
    IssueRefusal.limit_reached: "已达到领取上限 / You have reached the claim limit",
    IssueRefusal.already_granted: "已发放过 / Already issued",
    IssueRefusal.expired_template: "优惠券已过期 / This coupon has expired",
}


@dataclass(frozen=True)
class Validity:
    valid_from: datetime
    valid_until: datetime


def validity_for(
    kind: ValidityKind,
    *,
    now: datetime,
    valid_from: datetime | None,
    valid_until: datetime | None,
    valid_days: int | None,
) -> Validity:
    """When a coupon issued at ``now`` may be used."""
    if kind is ValidityKind.relative:
        assert valid_days is not None and valid_days > 0
        return Validity(now, now + timedelta(days=valid_days))
    assert valid_from is not None and valid_until is not None
    return Validity(valid_from, valid_until)


def coupon_title(
    kind: CouponKind, threshold_fen: int, amount_fen: int, percent_off: int, cap_fen: int
) -> tuple[str, str]:
    """The short face value printed on a coupon: 满100减20, 无门槛减5, 8折, 包邮."""

    if kind is CouponKind.cash_off:
        if threshold_fen <= 0:
            return f"无门槛减{short_yuan(amount_fen)}", f"¥{short_yuan(amount_fen)} off"
        return (
            f"满{short_yuan(threshold_fen)}减{short_yuan(amount_fen)}",
            f"¥{short_yuan(amount_fen)} off ¥{short_yuan(threshold_fen)}",
        )
    if kind is CouponKind.percent_off:
        zh = f"{zhe(percent_off)}折" + (f" 最高减{short_yuan(cap_fen)}" if cap_fen else "")
        en = f"{percent_off}% off" + (f" up to ¥{short_yuan(cap_fen)}" if cap_fen else "")
        if threshold_fen > 0:
            zh = f"满{short_yuan(threshold_fen)} " + zh
            en += f" over ¥{short_yuan(threshold_fen)}"
        return zh, en
    if threshold_fen > 0:
        return (
            f"满{short_yuan(threshold_fen)}包邮",
            f"Free shipping over ¥{short_yuan(threshold_fen)}",
        )
    return "包邮券", "Free shipping"
