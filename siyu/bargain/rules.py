"""Bargain rules (砍价), pure.

A campaign sells one SKU: a shopper **starts a bargain** at the shelf price (the
*original*) and asks friends to help; each helper **cuts** the price once, and after
``helpers_needed`` cuts it stands at the campaign's **floor price**. The cut amounts
are drawn when the bargain starts (``draw_cuts``): ``helpers_needed`` amounts, each at
least ¥0.01, summing exactly to original − floor, the bigger ones first (the first
friends see the price move). The k-th helper takes the k-th amount; the price reached
is the original less the cuts taken. The starter may buy at the price reached at any
time before the deadline, once per bargain.

A helper counts only if they are a distinct, real shopper:
- not the starter, and not someone who cut this bargain already;
- not blocked by the store (``shoppers.blocked_at``);
- not an account created in the last ``helper_min_age_minutes`` minutes;
- not on a device (anonymous id) seen for the starter or an earlier helper.
"""

from __future__ import annotations

import random
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

SOURCE = "bargain"  # the order's source
DEADLINE_TIMER = "bargain.deadline"
MAX_HELPERS = 50
MIN_DURATION_MINUTES = 5
MAX_DURATION_MINUTES = 7 * 24 * 60
MAX_MIN_AGE_MINUTES = 30 * 24 * 60


class CampaignStatus(StrEnum):
    draft = "draft"
    active = "active"
    ended = "ended"


class BargainStatus(StrEnum):
    active = "active"  # helpers can cut, the starter can buy at the price reached
    ordered = "ordered"  # the starter placed the order, not paid yet
    bought = "bought"  # paid: the bargain is done
    expired = "expired"  # the deadline passed without a purchase


class Refusal(StrEnum):
    """Why a helper's cut does not count (each a clear 4xx with this code)."""

    own = "bargain_own"
    already_cut = "bargain_already_cut"
    blocked = "bargain_helper_blocked"
    too_new = "bargain_helper_too_new"
    same_device = "bargain_same_device"


REFUSALS: dict[Refusal, str] = {
    Refusal.own: "不能给自己砍价 / You cannot cut your own bargain",
    Refusal.already_cut: "你已经帮砍过了 / You have already cut this bargain",
    Refusal.blocked: "该账号不能参与砍价 / This account cannot help with bargains",
    Refusal.too_new: "新注册的账号暂不能帮砍 / Accounts this new cannot help yet",
    Refusal.same_device: "同一设备只能帮砍一次 / One cut per device",
}


def draw_cuts(total_fen: int, helpers: int, rng: random.Random) -> list[int]:
    """``helpers`` amounts of at least 1 fen summing exactly to ``total_fen``, biggest
    first: ``helpers - 1`` distinct cut points on (0, total) split it."""
    if helpers < 1 or total_fen < helpers:
        raise ValueError("each helper cuts at least 1 fen")
    points = sorted(rng.sample(range(1, total_fen), helpers - 1))
    edges = [0, *points, total_fen]
    return sorted((b - a for a, b in zip(edges, edges[1:], strict=False)), reverse=True)


def price_reached(original_fen: int, cuts: list[int], taken: int) -> int:
    return original_fen - sum(cuts[: max(taken, 0)])


@dataclass(frozen=True)
class Helper:
    shopper_id: int
    registered_at: datetime
    blocked: bool
    devices: frozenset[str]  # anonymous ids seen for this shopper, and this request's


def refusal(
    helper: Helper,
    *,
    starter_id: int,
    earlier_helpers: Collection[int],
    taken_devices: Collection[str],
    min_age_minutes: int,
    now: datetime,
) -> Refusal | None:
    """Why ``helper`` cannot cut (None: the cut counts). ``taken_devices`` are the
    devices of the starter and of earlier helpers."""
    if helper.shopper_id == starter_id:
        return Refusal.own
    if helper.shopper_id in earlier_helpers:
        return Refusal.already_cut
    if helper.blocked:
        return Refusal.blocked
    if helper.registered_at > now - timedelta(minutes=min_age_minutes):
        return Refusal.too_new
    if helper.devices & set(taken_devices):
        return Refusal.same_device
    return None


def check_campaign(
    *,
    floor_price_fen: int,
    shelf_price_fen: int,
    helpers_needed: int,
    duration_minutes: int,
    per_shopper_limit: int,
    helper_min_age_minutes: int,
    starts_at: datetime,
    ends_at: datetime,
) -> tuple[str, str] | None:
    """Why these settings cannot be a campaign's: (field, message), or None."""
    if ends_at <= starts_at:
        return "ends_at", "结束时间需晚于开始时间 / The end is after the start"
    if not 1 <= helpers_needed <= MAX_HELPERS:
        return "helpers_needed", f"帮砍人数需在 1 到 {MAX_HELPERS} 之间 / 1-{MAX_HELPERS} helpers"
    if not 0 < floor_price_fen < shelf_price_fen:
        return (
            "floor_price_fen",
            "底价需大于 0 且低于原价 / The floor is above 0 and below the price",
        )
    if shelf_price_fen - floor_price_fen < helpers_needed:
        return (
            "floor_price_fen",
            "每人至少砍 ¥0.01：底价太高 / Each cut is at least ¥0.01: the floor is too high",
        )
    if not MIN_DURATION_MINUTES <= duration_minutes <= MAX_DURATION_MINUTES:
        return (
            "duration_minutes",
            "砍价时限需在 5 分钟到 7 天之间 / The time limit is 5 minutes to 7 days",
        )
    if not 0 <= per_shopper_limit <= 99:
        return "per_shopper_limit", "每人发起次数需在 0 到 99 之间 / The limit is 0-99"
    if not 0 <= helper_min_age_minutes <= MAX_MIN_AGE_MINUTES:
        return "helper_min_age_minutes", "新账号限制需在 0 到 30 天之间 / 0 to 30 days"
    return None
