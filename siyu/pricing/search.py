"""The search for the best combination of offers (rules 3 to 5 of ``info.py``).

How the best combination is found without trying every subset: an offer's condition
reads shelf amounts only, and every benefit takes at most what is left of its lines,
so adding an applicable promotion never lowers the total saving. The candidates are
therefore, per stack group, *all* its applicable non-exclusive promotions together ×
(no coupon | each discount coupon of the group) × (a free-shipping coupon or not),
plus each applicable exclusive offer alone. A group's promotions are applied once
(a ``Stage``) and its coupons are priced on what they left.

Speed (a quote is priced on every cart view): splitting an amount over lines is the
costly step, and the search needs only each offer's amount, not its split. A stage
therefore keeps its steps as lump sums (``Stage.bracket``) and splits them over their
lines only when a later amount depends on the split; the winner is split once, in
``Stage.settle``, exactly as if every step had been split at once.

Pure: no I/O, no clock, integer fen only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from operator import sub

from siyu.money import allocate_proportionally
from siyu.pricing.info import DiscountSource

FAR_FUTURE = datetime.max.replace(tzinfo=UTC)  # only ever compared with itself


@dataclass(slots=True, eq=False)
class Offer:
    """An applicable promotion or coupon, reduced to what pricing needs."""

    source: DiscountSource
    source_id: int
    name: str
    kind: str
    lines: tuple[int, ...]
    members: frozenset[int]  # the same lines, as a set
    shelf_fen: int  # the shelf amount of those lines
    exclusive: bool
    group: str
    fixed_fen: int = 0  # full reduction tier, bundle amount × sets, cash off
    percent: int = 0  # n-item discount, percent-off coupon
    cap_fen: int = 0
    threshold_fen: int = 0  # for the reason text
    min_items: int = 0
    until: tuple[bool, datetime] = (True, FAR_FUTURE)  # coupons: earliest expiry first
    is_shipping: bool = False

    def benefit(self, left_fen: int) -> int:
        """What the offer takes from ``left_fen`` (never more; more left never less)."""
        # Comparisons pick exactly what min() would (the first of equals), without the
        # builtin call: this runs for every offer of every candidate.
        if self.percent:
            amount, cap = left_fen * self.percent // 100, self.cap_fen
            return cap if cap > 0 and cap < amount else amount
        fixed = self.fixed_fen
        return left_fen if left_fen < fixed else fixed


Step = tuple[Offer, int, int]  # offer, amount, a lower bound of what was left on its lines


class Stage:
    """Offers applied in order on the shelf amounts, each taking its benefit of what is
    left of its lines.

    ``left`` is what is left of each line after the first ``split`` steps, split over
    their lines (``parts``); the later steps are lumps. What is left on an offer's lines
    is exact when every lump lies inside or outside them. Otherwise it is bracketed
    (``bracket``), and the bracket often decides the amount anyway (a fixed amount or a
    capped percent well inside it); only when it does not are the lumps split."""

    __slots__ = ("left", "lumped", "parts", "saving", "shelf", "split", "steps", "total")

    def __init__(self, shelf: list[int], shelf_total: int) -> None:
        self.shelf = shelf
        self.left = shelf  # copied before the first split
        self.total = shelf_total  # sum of left
        self.lumped = 0  # sum of the lumps
        self.steps: list[Step] = []
        self.parts: list[list[int]] = []  # of the first ``split`` steps
        self.split = 0
        self.saving = 0

    def bracket(self, offer: Offer) -> tuple[int, int]:
        """Lower and upper bound of what is left on ``offer``'s lines (equal: exact)."""
        lines, left = offer.lines, self.left
        if len(lines) == len(left):  # every lump lies inside
            low = self.total - self.lumped
            return low, low
        low = sum([left[i] for i in lines]) if self.split else offer.shelf_fen
        high = low
        if self.lumped:
            members, shelf = offer.members, self.shelf
            for k in range(self.split, len(self.steps)):
                lump, amount, weight = self.steps[k]
                mine = lump.members
                if mine <= members:
                    low -= amount
                    high -= amount
                elif not mine.isdisjoint(members):
                    # Of an amount split over weights w summing to T (largest remainder),
                    # the lines X get at most amount × w(X) / T + |X|, and w <= shelf.
                    common = mine & members
                    most = amount * sum([shelf[i] for i in common]) // weight + len(common)
                    low -= most if most < amount else amount
            if low < 0:
                low = 0
        return low, high

    def amount(self, offer: Offer) -> tuple[int, int]:
        """What ``offer`` would take next, and a lower bound of what is left on its lines."""
        if len(offer.lines) == len(self.left):  # exact (``bracket``'s first case, inlined)
            low = self.total - self.lumped
            return offer.benefit(low), low
        low, high = self.bracket(offer)
        got = offer.benefit(low)
        if low != high and got != offer.benefit(high):
            self.split_lumps()
            low = self.bracket(offer)[0]
            got = offer.benefit(low)
        return got, low

    def apply(self, offer: Offer) -> None:
        got, low = self.amount(offer)
        if got > 0:
            self.steps.append((offer, got, low))
            self.lumped += got
            self.saving += got

    def split_lumps(self) -> None:
        if not self.split:
            self.left = self.shelf.copy()
        left = self.left
        n = len(left)
        for k in range(self.split, len(self.steps)):
            offer, amount, _ = self.steps[k]
            lines = offer.lines
            full = len(lines) == n
            parts = allocate_proportionally(amount, left if full else [left[i] for i in lines])
            take(left, lines, parts, full)
            self.parts.append(parts)
        self.split = len(self.steps)
        self.total -= self.lumped
        self.lumped = 0

    def settle(self) -> tuple[list[tuple[Offer, int, list[int]]], list[int]]:
        """Every step split over its lines, in order, and what is left of each line:
        the same as splitting each step at once."""
        left = self.shelf.copy()
        n = len(left)
        settled = []
        parts_of = self.parts
        for k, (offer, amount, _) in enumerate(self.steps):
            lines = offer.lines
            full = len(lines) == n
            if k < self.split:
                parts = parts_of[k]
            else:
                parts = allocate_proportionally(amount, left if full else [left[i] for i in lines])
            take(left, lines, parts, full)
            settled.append((offer, amount, parts))
        return settled, left


def take(left: list[int], lines: tuple[int, ...], parts: list[int], full: bool) -> None:
    """Take each line's part from what is left of it (``full``: lines are all lines)."""
    if full:
        left[:] = map(sub, left, parts)
    else:
        for i, part in zip(lines, parts, strict=True):
            left[i] -= part


@dataclass(slots=True, eq=False)
class Candidate:
    stage: Stage
    discount: Offer | None  # the discount coupon, priced on what the stage left
    discount_fen: int
    shipping: Offer | None  # the free-shipping coupon
    saving: int  # goods taken by the offers + shipping fee saved by the coupon

    def coupons(self) -> list[Offer]:
        return [c for c in (self.discount, self.shipping) if c is not None]

    def key(self) -> tuple[int, int, list[tuple[bool, datetime]], list[int], list[int]]:
        # Largest saving; then fewer coupons, the one expiring first, lowest ids.
        coupons = self.coupons()
        return (
            -self.saving,
            len(coupons),
            sorted(c.until for c in coupons),
            sorted(c.source_id for c in coupons),
            [offer.source_id for offer, _, _ in self.stage.steps],
        )


class Search:
    """The candidate combinations; each group's promotions are applied once."""

    def __init__(
        self,
        shelf: list[int],
        shelf_total: int,
        fee: int,
        promotions: list[Offer],
        coupons: dict[int, Offer],
    ) -> None:
        self.shelf = shelf
        self.shelf_total = shelf_total
        self.fee = fee
        self.promotions = promotions
        self.coupons = coupons
        self.empty = Stage(shelf, shelf_total)
        self._stages: dict[str, Stage] = {}
        # Each group's non-exclusive promotions, in order (one pass, not one per group).
        self._stacking: dict[str, list[Offer]] = {}
        for p in promotions:
            if not p.exclusive:
                self._stacking.setdefault(p.group, []).append(p)

    def stage(self, group: str) -> Stage:
        found = self._stages.get(group)
        if found is None:
            found = self._stages[group] = Stage(self.shelf, self.shelf_total)
            for p in self._stacking.get(group, ()):
                found.apply(p)
        return found

    def candidate(self, stage: Stage, discount: Offer | None, shipping: Offer | None) -> Candidate:
        discount_fen = 0 if discount is None else stage.amount(discount)[0]
        saving = stage.saving + discount_fen + (self.fee if shipping is not None else 0)
        return Candidate(stage, discount, discount_fen, shipping, saving)

    def all_candidates(self) -> list[Candidate]:
        empty, fee = self.empty, self.fee
        found = [Candidate(empty, None, 0, None, 0)]
        for p in self.promotions:
            if p.exclusive:
                stage = Stage(self.shelf, self.shelf_total)
                stage.apply(p)
                found.append(Candidate(stage, None, 0, None, stage.saving))
        # The coupons sorted out in one pass: per group its discount coupons (in order)
        # and its free-shipping coupon (the one expiring first, then the lowest id: the
        # first of equals, as ``min`` keeps it); the exclusive ones apart.
        discounts: dict[str, list[Offer]] = {}
        shipping_of: dict[str, Offer] = {}
        exclusive: list[Offer] = []
        for c in self.coupons.values():
            if c.exclusive:
                exclusive.append(c)
            elif not c.is_shipping:
                discounts.setdefault(c.group, []).append(c)
            else:
                rival = shipping_of.get(c.group)
                if rival is None or (c.until, c.source_id) < (rival.until, rival.source_id):
                    shipping_of[c.group] = c
        for group in sorted({*self._stacking, *discounts, *shipping_of}):
            stage = self.stage(group)
            shipping = shipping_of.get(group)
            for discount in [None, *discounts.get(group, ())]:
                cand = self.candidate(stage, discount, None)
                found.append(cand)
                if shipping is not None:  # the same goods saving, plus the fee
                    found.append(
                        Candidate(stage, discount, cand.discount_fen, shipping, cand.saving + fee)
                    )
        for c in exclusive:
            found.append(self.candidate(empty, *((None, c) if c.is_shipping else (c, None))))
        return found

    def chosen(self, ids: tuple[int, ...]) -> tuple[Candidate | None, dict[int, Offer]]:
        """The named coupons that can be applied together (the first named wins a
        clash) with every promotion they stack with; and who blocked the others."""
        kept: list[Offer] = []
        blocked: dict[int, Offer] = {}
        for coupon_id in dict.fromkeys(ids):
            c = self.coupons.get(coupon_id)
            if c is None:
                continue
            rival = next((k for k in kept if clash(k, c) or k.is_shipping == c.is_shipping), None)
            if rival is None:
                kept.append(c)
            else:
                blocked[coupon_id] = rival
        if not kept:
            return None, blocked
        stage = self.empty if kept[0].exclusive else self.stage(kept[0].group)
        discount = next((c for c in kept if not c.is_shipping), None)
        shipping = next((c for c in kept if c.is_shipping), None)
        return self.candidate(stage, discount, shipping), blocked


def best(candidates: list[Candidate]) -> Candidate:
    most = max([c.saving for c in candidates])
    ties = [c for c in candidates if c.saving == most]
    return ties[0] if len(ties) == 1 else min(ties, key=Candidate.key)


def clash(a: Offer, b: Offer) -> bool:
    return a.exclusive or b.exclusive or a.group != b.group


def coupon_savings(candidates: list[Candidate], coupons: dict[int, Offer]) -> dict[int, int]:
    """Each usable coupon's saving in the best combination that uses it. The free-
    shipping coupons of a group are interchangeable, so they share the group's best."""
    found: dict[int, int] = {}
    by_slot: dict[tuple[str, int], int] = {}
    for cand in candidates:
        if cand.discount is not None:
            cid = cand.discount.source_id
            found[cid] = max(found.get(cid, 0), cand.saving)
        if cand.shipping is not None:
            slot = _shipping_slot(cand.shipping)
            by_slot[slot] = max(by_slot.get(slot, 0), cand.saving)
    for c in coupons.values():
        if c.is_shipping:
            found[c.source_id] = by_slot.get(_shipping_slot(c), 0)
    return found


def _shipping_slot(c: Offer) -> tuple[str, int]:
    return ("", c.source_id) if c.exclusive else (c.group, 0)
