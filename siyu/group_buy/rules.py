"""Group-buy rules (拼团), pure.

A campaign sells one SKU at a group price to groups of shoppers. Its **tiers** are
(final group size, unit price) pairs: a plain campaign has one ("2人成团 ¥69"), a
ladder campaign several ("2人 ¥69, 5人 ¥59"). Every member pays the first tier's
price; a group *succeeds* when its paid seats reach the first tier's size by the
deadline (or fill the biggest tier, which completes it at once), and then every
member gets back the difference to the tier the group reached, per unit.

A group's seats are counted by guarded updates (``seats_taken`` ≤ size: reserved
at placement, released if the order is not paid; ``seats_paid`` ≤ ``seats_taken``);
one seat per shopper per group. A group that fails refunds every paid member once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from siyu.identity.rules import mask_name as mask_name  # the routes' import; identity's rule

MAX_GROUP_SIZE = 50
MAX_TIERS = 5
DEADLINE_TIMER = "group_buy.deadline"
HOLD = "group_buy"  # orders.hold while the group is in progress


class CampaignStatus(StrEnum):
    draft = "draft"
    active = "active"
    paused = "paused"  # no new groups or members; groups already open run to their deadline
    ended = "ended"


# An operator's status actions: start or resume, pause, end (an ended campaign stays so).
STATUS_MOVES: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.draft: frozenset({CampaignStatus.active, CampaignStatus.ended}),
    CampaignStatus.active: frozenset({CampaignStatus.paused, CampaignStatus.ended}),
    CampaignStatus.paused: frozenset({CampaignStatus.active, CampaignStatus.ended}),
    CampaignStatus.ended: frozenset(),
}


def can_move(current: CampaignStatus, target: CampaignStatus) -> bool:
    return target in STATUS_MOVES[current]


class GroupStatus(StrEnum):
    pending = "pending"  # the leader's order is not paid yet: nobody can join
    open = "open"  # paid by the leader, waiting for members until the deadline
    completed = "completed"  # enough members paid: the orders ship
    failed = "failed"  # the deadline passed short of members: every member refunded
    abandoned = "abandoned"  # the leader never paid


class SeatStatus(StrEnum):
    reserved = "reserved"  # the order is placed, not paid
    paid = "paid"
    released = "released"  # the order was cancelled before payment
    refunded = "refunded"  # the group failed, or the member asked for a refund


@dataclass(frozen=True)
class Tier:
    size: int
    price_fen: int


def check_tiers(tiers: list[Tier], shelf_price_fen: int) -> str | None:
    """Why these tiers cannot be a campaign's (None: they can). Sizes grow, prices
    fall, every price is below the shelf price and above zero."""
    if not 1 <= len(tiers) <= MAX_TIERS:
        return f"需要 1 到 {MAX_TIERS} 档 / 1 to {MAX_TIERS} tiers"
    for i, t in enumerate(tiers):
        if not 2 <= t.size <= MAX_GROUP_SIZE:
            return f"成团人数需在 2 到 {MAX_GROUP_SIZE} 之间 / Group size 2-{MAX_GROUP_SIZE}"
        if not 0 < t.price_fen < shelf_price_fen:
            return "拼团价需大于 0 且低于原价 / The group price is above 0 and below the price"
        if i and (t.size <= tiers[i - 1].size or t.price_fen >= tiers[i - 1].price_fen):
            return "人数越多价格越低 / Each tier has more people and a lower price"
    return None


def reached_tier(tiers: list[Tier], paid_seats: int) -> Tier | None:
    """The tier a group with ``paid_seats`` members ends at (None: not even the first)."""
    found = None
    for t in tiers:
        if paid_seats >= t.size:
            found = t
    return found


def ladder_refund_fen(tiers: list[Tier], final: Tier, quantity: int) -> int:
    """What a member who paid the first tier's price gets back when the group ended at
    ``final``: the difference per unit, times the units."""
    return (tiers[0].price_fen - final.price_fen) * quantity


def is_full(seats_paid: int, tiers: list[Tier]) -> bool:
    return seats_paid >= tiers[-1].size


def virtual_fill(seats_paid: int, tiers: list[Tier]) -> int:
    """Simulated members (模拟成团) that take a group at its deadline to the first
    tier: only when the operator enabled it, disclosed on the storefront."""
    return max(tiers[0].size - seats_paid, 0)
