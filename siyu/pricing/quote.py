"""The pricing engine: one pure function, ``quote(PricingInput) -> Quote``.

The rules are those of ``info.py``: shelf (member) price first, then the best legal
combination of offers, each benefit taken from what earlier ones left, then points.

How the best combination is found without trying every subset: an offer's condition
reads shelf amounts only, and every benefit takes at most what is left of its lines,
so adding an applicable promotion never lowers the total saving. The candidates are
therefore, per stack group, *all* its applicable non-exclusive promotions together ×
(no coupon | each discount coupon of the group) × (a free-shipping coupon or not),
plus each applicable exclusive offer alone. A group's promotions are applied once
and its coupons are priced on what they left.

Speed (a quote is priced on every cart view): splitting an amount over lines is the
costly step, and a step only has to be split at once when a later offer's amount
depends on how it was split, i.e. when a later scope partly overlaps it. A step that
is contained in or disjoint from every later scope is kept as a lump sum and split
only if its combination wins (see ``_run``); the result is identical.

The words (reasons, hints, why a coupon is not usable) are in ``texts.py``; the
result objects are built by ``_quote_line``, ``_discount`` and ``_status`` (see there).

No I/O, no clock (``now`` is in the input), integer fen only; the same input always
gives an equal Quote.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from datetime import UTC, datetime
from inspect import Parameter, signature
from itertools import repeat
from math import gcd
from operator import itemgetter, sub

from siyu.money import allocate_proportionally
from siyu.pricing import texts
from siyu.pricing.info import (
    CouponChoice,
    CouponKind,
    CouponStatus,
    Discount,
    DiscountSource,
    Hint,
    PricingInput,
    Promotion,
    PromotionKind,
    Quote,
    QuoteLine,
    Scope,
    ScopeRule,
    Tier,
)

# Enum members looked up once: attribute access on an Enum class is slow in 3.11.
_ALL, _CATEGORIES = Scope.all, Scope.categories
_MEMBER_PRICE, _FULL_REDUCTION = PromotionKind.member_price, PromotionKind.full_reduction
_N_ITEM, _BUNDLE = PromotionKind.n_item_discount, PromotionKind.bundle
_CASH_OFF, _PERCENT_OFF = CouponKind.cash_off, CouponKind.percent_off
_FREE_SHIPPING = CouponKind.free_shipping
_BY_MEMBER, _BY_PROMOTION = DiscountSource.member_price, DiscountSource.promotion
_BY_COUPON, _BY_POINTS, _BY_SHIPPING = (
    DiscountSource.coupon,
    DiscountSource.points,
    DiscountSource.shipping,
)
_PART = itemgetter(2)  # of an allocation (source, source id, part)
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)  # only ever compared with itself
_Lines = tuple[tuple[int, ...], frozenset[int]]
_Problem = tuple[texts.Words, int]  # why, missing fen


# ---------------------------------------------------------------- result objects

# A quote returns some forty frozen dataclasses, and their generated ``__init__`` sets
# each field through ``object.__setattr__``: a quarter of the time of a whole quote.
# These build the very same objects (same class, same fields, equal, same hash and
# repr) by giving the instance its ``__dict__`` at once, in well under half the time.
# ``_check_builder`` keeps them honest when info.py changes.
_NEW, _SET = object.__new__, object.__setattr__


def _quote_line(
    line_id: int, product_id: int, quantity: int, unit_price_fen: int, subtotal_fen: int,
    member_discount_fen: int, allocations: tuple[tuple[DiscountSource, int, int], ...],
    discount_fen: int, payable_fen: int,
) -> QuoteLine:  # fmt: skip
    line: QuoteLine = _NEW(QuoteLine)
    _SET(line, "__dict__", {
        "line_id": line_id, "product_id": product_id, "quantity": quantity,
        "unit_price_fen": unit_price_fen, "subtotal_fen": subtotal_fen,
        "member_discount_fen": member_discount_fen, "allocations": allocations,
        "discount_fen": discount_fen, "payable_fen": payable_fen,
    })  # fmt: skip
    return line


def _discount(
    source: DiscountSource, source_id: int, name: str, amount_fen: int, reason_zh: str,
    reason_en: str, kind: str = "",
) -> Discount:  # fmt: skip
    discount: Discount = _NEW(Discount)
    _SET(discount, "__dict__", {
        "source": source, "source_id": source_id, "name": name, "amount_fen": amount_fen,
        "reason_zh": reason_zh, "reason_en": reason_en, "kind": kind,
    })  # fmt: skip
    return discount


def _status(
    coupon_id: int, usable: bool, saving_fen: int, reason_zh: str = "", reason_en: str = "",
    missing_fen: int = 0,
) -> CouponStatus:  # fmt: skip
    status: CouponStatus = _NEW(CouponStatus)
    _SET(status, "__dict__", {
        "coupon_id": coupon_id, "usable": usable, "saving_fen": saving_fen,
        "reason_zh": reason_zh, "reason_en": reason_en, "missing_fen": missing_fen,
    })  # fmt: skip
    return status


def _check_builder(cls: type, build: Callable[..., object]) -> None:
    """``build`` takes exactly the fields of ``cls``, in order, with the same defaults,
    and ``cls`` does nothing in ``__init__`` beyond setting them."""
    params = [(p.name, p.default) for p in signature(build).parameters.values()]
    wanted = [(f.name, Parameter.empty if f.default is MISSING else f.default) for f in fields(cls)]
    plain = "__slots__" not in vars(cls) and not hasattr(cls, "__post_init__")
    if params != wanted or not plain or not all(f.init for f in fields(cls)):
        raise TypeError(f"{build.__name__} no longer builds a {cls.__name__}")


for _cls, _build_it in ((QuoteLine, _quote_line), (Discount, _discount), (CouponStatus, _status)):
    _check_builder(_cls, _build_it)


# ---------------------------------------------------------------- the cart


class _Cart:
    """Line facts, shelf amounts after member price, and the shipping fee charged."""

    __slots__ = (
        "_scopes",
        "all_lines",
        "categories",
        "fee",
        "free_by_threshold",
        "member",
        "prices",
        "products",
        "quantities",
        "shelf",
        "shelf_total",
        "subtotals",
    )

    def __init__(self, inp: PricingInput) -> None:
        lines = inp.lines
        n = len(lines)
        self.products = [line.product_id for line in lines]
        self.categories = [line.category_id for line in lines]
        quantities = self.quantities = [line.quantity for line in lines]
        prices = self.prices = [line.unit_price_fen for line in lines]
        if min(quantities, default=0) < 0 or min(prices, default=0) < 0:
            quantities[:] = [q if q > 0 else 0 for q in quantities]
            prices[:] = [p if p > 0 else 0 for p in prices]
        subtotals = self.subtotals = [p * q for p, q in zip(prices, quantities, strict=True)]
        indexes = tuple(range(n))
        self.all_lines: _Lines = (indexes, frozenset(indexes))
        self._scopes: dict[int, _Lines] = {}
        # Member price: the best one for each line (ties to the lower promotion id).
        member: list[tuple[Promotion, int] | None] = [None] * n
        tier, now = inp.shopper.tier, inp.now
        found = [p for p in inp.promotions if p.kind is _MEMBER_PRICE and tier >= p.min_tier]
        if found:
            best = [0] * n
            for p in sorted(found, key=_by_promotion_id):
                percent = _clamp_percent(p.percent_off)
                if percent and _is_active(p.starts_at, p.ends_at, now):
                    for i in self.lines_of(p.scope)[0]:
                        if percent > best[i]:
                            best[i] = percent
                            member[i] = (p, prices[i] * percent // 100 * quantities[i])
            self.shelf = [s - m[1] if m else s for s, m in zip(subtotals, member, strict=True)]
        else:
            self.shelf = subtotals.copy()
        self.member = member
        self.shelf_total = sum(self.shelf)
        settings = inp.settings
        charged = n > 0 and settings.shipping_fen > 0
        self.free_by_threshold = (
            charged and self.shelf_total >= settings.free_shipping_threshold_fen
        )
        self.fee = settings.shipping_fen if charged and not self.free_by_threshold else 0

    def lines_of(self, scope: ScopeRule) -> _Lines:
        """The lines a scope covers, as indexes and as a set (offers share scopes).
        Cached by identity: the input holds every scope for the whole quote."""
        if scope.kind is _ALL and not scope.excluded_product_ids:
            return self.all_lines
        found = self._scopes.get(id(scope))
        if found is None:
            # ScopeRule.covers, inlined: this runs for every scope on every quote.
            excluded, products, indexes = (
                scope.excluded_product_ids,
                self.products,
                self.all_lines[0],
            )
            if scope.kind is _ALL:
                covered = tuple([i for i in indexes if products[i] not in excluded])
            elif scope.kind is _CATEGORIES:
                wanted, categories = scope.category_ids, self.categories
                covered = tuple(
                    [i for i in indexes if categories[i] in wanted and products[i] not in excluded]
                )
            else:
                wanted = scope.product_ids
                covered = tuple(
                    [i for i in indexes if products[i] in wanted and products[i] not in excluded]
                )
            found = self._scopes[id(scope)] = (covered, frozenset(covered))
        return found


def _by_promotion_id(p: Promotion) -> int:
    return p.promotion_id


def _is_active(starts: datetime | None, ends: datetime | None, now: datetime) -> bool:
    return (starts is None or starts <= now) and (ends is None or now < ends)


def _clamp_percent(percent: int) -> int:
    return min(max(percent, 0), 100)


# ---------------------------------------------------------------- offers


@dataclass(slots=True, eq=False)
class _Offer:
    """An applicable promotion or coupon, reduced to what pricing needs."""

    source: DiscountSource
    source_id: int
    name: str
    kind: str
    lines: tuple[int, ...]
    members: frozenset[int]  # the same lines, as a set
    exclusive: bool
    group: str
    fixed_fen: int = 0  # full reduction tier, bundle amount × sets, cash off
    percent: int = 0  # n-item discount, percent-off coupon
    cap_fen: int = 0
    threshold_fen: int = 0  # for the reason text
    min_items: int = 0
    until: tuple[bool, datetime] = (True, _FAR_FUTURE)  # coupons: earliest expiry first
    is_shipping: bool = False

    def benefit(self, left_fen: int) -> int:
        if self.percent:
            amount = left_fen * self.percent // 100
            return min(amount, self.cap_fen) if self.cap_fen > 0 else amount
        return min(self.fixed_fen, left_fen)


def _promotion_offers(inp: PricingInput, cart: _Cart) -> tuple[list[_Offer], list[Hint]]:
    """Applicable promotions in application order, and hints for those not met yet."""
    offers: list[_Offer] = []
    hints: list[Hint] = []
    now, shelf, quantities, has_lines = inp.now, cart.shelf, cart.quantities, bool(cart.shelf)
    active = [
        p
        for p in inp.promotions
        if p.kind is not _MEMBER_PRICE
        and (p.starts_at is None or p.starts_at <= now)
        and (p.ends_at is None or now < p.ends_at)
    ]
    active.sort(key=_application_order)
    for p in active:
        kind = p.kind
        lines, members = cart.lines_of(p.scope)
        if kind is _FULL_REDUCTION:
            total = _sum_over(shelf, lines)
            tiers = sorted(p.tiers, key=_threshold) if len(p.tiers) > 1 else p.tiers
            met = [t for t in tiers if t.threshold_fen <= total]
            if lines and met:
                tier = met[0] if len(met) == 1 else max(met, key=_best_tier)
                offers.append(
                    _Offer(_BY_PROMOTION, p.promotion_id, p.name, str(kind), lines, members,
                           p.exclusive, p.stack_group, fixed_fen=max(tier.amount_fen, 0),
                           threshold_fen=tier.threshold_fen)
                )  # fmt: skip
            if has_lines:
                upcoming = [t for t in tiers if t.threshold_fen > total and t.amount_fen > 0]
                if upcoming:
                    gap, get = upcoming[0].threshold_fen - total, upcoming[0].amount_fen
                    hints.append(
                        Hint(_BY_PROMOTION, p.promotion_id, gap, 0, get,
                             *texts.spend_more_hint(gap, get))
                    )  # fmt: skip
        elif kind is _N_ITEM:
            units = _sum_over(quantities, lines)
            percent = _clamp_percent(p.percent_off)
            if lines and units >= p.min_items:
                offers.append(
                    _Offer(_BY_PROMOTION, p.promotion_id, p.name, str(kind), lines, members,
                           p.exclusive, p.stack_group, percent=percent, min_items=p.min_items)
                )  # fmt: skip
            elif has_lines and percent:
                short = p.min_items - units  # > 0: not met
                get = _sum_over(shelf, lines) * percent // 100
                hints.append(
                    Hint(_BY_PROMOTION, p.promotion_id, 0, short, get,
                         *texts.more_items_hint(short, percent))
                )  # fmt: skip
        elif kind is _BUNDLE:
            wanted, products = set(p.bundle_product_ids), cart.products
            lines = tuple([i for i in lines if products[i] in wanted])
            units_of = dict.fromkeys(wanted, 0)
            for i in lines:
                units_of[products[i]] += quantities[i]
            sets, get = min(units_of.values(), default=0), max(p.amount_off_fen, 0)
            if sets > 0:
                offers.append(
                    _Offer(_BY_PROMOTION, p.promotion_id, p.name, str(kind), lines,
                           frozenset(lines), p.exclusive, p.stack_group, fixed_fen=get * sets)
                )  # fmt: skip
            elif lines and get:
                short = sum(1 for units in units_of.values() if units == 0)
                hints.append(
                    Hint(_BY_PROMOTION, p.promotion_id, 0, short, get,
                         *texts.bundle_hint(short, get))
                )  # fmt: skip
    return offers, hints


def _application_order(p: Promotion) -> tuple[int, int]:
    return -p.priority, p.promotion_id


def _threshold(t: Tier) -> int:
    return t.threshold_fen


def _best_tier(t: Tier) -> tuple[int, int]:
    return t.amount_fen, -t.threshold_fen


def _sum_over(values: list[int], lines: tuple[int, ...]) -> int:
    """The sum of ``values`` over some lines (often all of them)."""
    return sum(values) if len(lines) == len(values) else sum([values[i] for i in lines])


def _coupon_offers(inp: PricingInput, cart: _Cart) -> tuple[dict[int, _Offer], dict[int, _Problem]]:
    """Applicable coupons by id, and why each other one is not."""
    offers: dict[int, _Offer] = {}
    problems: dict[int, _Problem] = {}
    now, shopper, shelf = inp.now, inp.shopper, cart.shelf
    for c in inp.coupons:
        if c.coupon_id in offers or c.coupon_id in problems:
            continue  # one shopper coupon is one coupon, however often it is listed
        lines, members = cart.lines_of(c.scope)
        is_shipping = c.kind is _FREE_SHIPPING
        problem: _Problem | None = None
        if c.valid_from is not None and now < c.valid_from:
            problem = (texts.NOT_VALID_YET, 0)
        elif c.valid_until is not None and now >= c.valid_until:
            problem = (texts.EXPIRED, 0)
        elif c.new_shoppers_only and not shopper.is_new:
            problem = (texts.NEW_SHOPPERS_ONLY, 0)
        elif shopper.tier < c.min_tier:
            problem = (texts.TIER_TOO_LOW, 0)
        elif not lines:
            problem = (texts.NO_ELIGIBLE_ITEMS, 0)
        elif is_shipping and cart.fee == 0:
            problem = (texts.SHIPPING_ALREADY_FREE, 0)
        else:
            gap = c.threshold_fen - _sum_over(shelf, lines)
            if gap > 0:
                problem = (texts.threshold_gap(gap), gap)
        if problem is not None:
            problems[c.coupon_id] = problem
            continue
        offers[c.coupon_id] = _Offer(
            _BY_COUPON, c.coupon_id, c.name, str(c.kind), lines, members, c.exclusive,
            c.stack_group,
            fixed_fen=max(c.amount_fen, 0) if c.kind is _CASH_OFF else 0,
            percent=_clamp_percent(c.percent_off) if c.kind is _PERCENT_OFF else 0,
            cap_fen=c.cap_fen, threshold_fen=c.threshold_fen,
            until=(c.valid_until is None, c.valid_until or _FAR_FUTURE),
            is_shipping=is_shipping,
        )  # fmt: skip
    return offers, problems


# ---------------------------------------------------------------- search


@dataclass(slots=True, eq=False)
class _Stage:
    """Promotions applied in order on the shelf amounts. ``left`` reflects the split
    steps only; ``lumps`` are the steps kept whole (lines, amount)."""

    left: list[int]
    lumps: list[tuple[frozenset[int], int]]
    applied: list[tuple[_Offer, int, list[int] | None]]  # offer, amount, parts if split
    saving: int

    def left_of(self, offer: _Offer) -> int:
        """What is left on an offer's lines: every lump is inside them or outside."""
        left, lines = self.left, offer.lines
        total = sum(left) if len(lines) == len(left) else sum([left[i] for i in lines])
        if self.lumps:
            members = offer.members
            total -= sum([amount for lines, amount in self.lumps if lines <= members])
        return total


def _run(offers: list[_Offer], shelf: list[int], readers: list[frozenset[int]]) -> _Stage:
    """Apply promotions in order. ``readers`` are the scopes of the coupons that will be
    priced on the result. A step is split at once only if a later step or reader sees
    part of its lines, or a later split step shares lines with it; otherwise its split
    cannot change any later amount and waits (``_settle``)."""
    split = [False] * len(offers)
    if len(offers) > 1 or readers:
        later = list(readers)
        split_lines: frozenset[int] = frozenset()  # all lines of the later split steps
        for k in range(len(offers) - 1, -1, -1):
            mine = offers[k].members
            if not mine.isdisjoint(split_lines) or any(
                not (mine <= s or mine.isdisjoint(s)) for s in later
            ):
                split[k] = True
                split_lines |= mine
            later.append(mine)
    stage = _Stage(shelf.copy(), [], [], 0)
    left = stage.left
    for offer, now in zip(offers, split, strict=True):
        lines = offer.lines
        full = len(lines) == len(left)
        if now:
            weights = left if full else [left[i] for i in lines]
            amount = offer.benefit(sum(weights))
        else:
            amount = offer.benefit(stage.left_of(offer))
        if amount <= 0:
            continue
        parts: list[int] | None = None
        if now:
            parts = allocate_proportionally(amount, weights)
            _take(left, lines, parts, full)
        else:
            stage.lumps.append((offer.members, amount))
        stage.applied.append((offer, amount, parts))
        stage.saving += amount
    return stage


def _settle(
    stage: _Stage, shelf: list[int]
) -> tuple[list[tuple[_Offer, int, list[int]]], list[int]]:
    """Every step split over its lines, in order: the same parts a full run gives,
    since a step kept whole shares no line with any later split step."""
    left = shelf.copy()
    settled = []
    for offer, amount, parts in stage.applied:
        lines = offer.lines
        full = len(lines) == len(left)
        if parts is None:
            parts = allocate_proportionally(amount, left if full else [left[i] for i in lines])
        _take(left, lines, parts, full)
        settled.append((offer, amount, parts))
    return settled, left


def _take(left: list[int], lines: tuple[int, ...], parts: list[int], full: bool) -> None:
    """Take each line's part from what is left of it (``full``: lines are all lines)."""
    if full:
        left[:] = map(sub, left, parts)
    else:
        for i, part in zip(lines, parts, strict=True):
            left[i] -= part


@dataclass(slots=True, eq=False)
class _Candidate:
    stage: _Stage
    discount: _Offer | None  # the discount coupon, priced on what the stage left
    discount_fen: int
    shipping: _Offer | None  # the free-shipping coupon
    saving: int  # goods taken by the offers + shipping fee saved by the coupon

    def coupons(self) -> list[_Offer]:
        return [c for c in (self.discount, self.shipping) if c is not None]

    def key(self) -> tuple[int, int, list[tuple[bool, datetime]], list[int], list[int]]:
        # Largest saving; then fewer coupons, the one expiring first, lowest ids.
        coupons = self.coupons()
        return (
            -self.saving,
            len(coupons),
            sorted(c.until for c in coupons),
            sorted(c.source_id for c in coupons),
            [offer.source_id for offer, _, _ in self.stage.applied],
        )


class _Search:
    """The candidate combinations; each group's promotions are applied once."""

    def __init__(self, cart: _Cart, promotions: list[_Offer], coupons: dict[int, _Offer]):
        self.cart = cart
        self.promotions = promotions
        self.coupons = coupons
        self.empty = _Stage(cart.shelf, [], [], 0)
        self._stages: dict[str, _Stage] = {}

    def stage(self, group: str) -> _Stage:
        found = self._stages.get(group)
        if found is None:
            mine = [p for p in self.promotions if not p.exclusive and p.group == group]
            readers = [
                c.members
                for c in self.coupons.values()
                if not (c.exclusive or c.is_shipping) and c.group == group
            ]
            found = self._stages[group] = (
                _run(mine, self.cart.shelf, readers) if mine else self.empty
            )
        return found

    def candidate(
        self, stage: _Stage, discount: _Offer | None, shipping: _Offer | None
    ) -> _Candidate:
        discount_fen = 0 if discount is None else discount.benefit(stage.left_of(discount))
        saving = stage.saving + discount_fen + (self.cart.fee if shipping is not None else 0)
        return _Candidate(stage, discount, discount_fen, shipping, saving)

    def all_candidates(self) -> list[_Candidate]:
        found = [self.candidate(self.empty, None, None)]
        for p in self.promotions:
            if p.exclusive:
                found.append(self.candidate(_run([p], self.cart.shelf, []), None, None))
        coupons = list(self.coupons.values())
        for group in sorted({o.group for o in self.promotions + coupons if not o.exclusive}):
            stage = self.stage(group)
            mine = [c for c in coupons if not c.exclusive and c.group == group]
            shipping = min(
                (c for c in mine if c.is_shipping),
                key=lambda c: (c.until, c.source_id),
                default=None,
            )
            fee = self.cart.fee
            for discount in [None, *(c for c in mine if not c.is_shipping)]:
                cand = self.candidate(stage, discount, None)
                found.append(cand)
                if shipping is not None:  # the same goods saving, plus the fee
                    found.append(
                        _Candidate(stage, discount, cand.discount_fen, shipping, cand.saving + fee)
                    )
        for c in coupons:
            if c.exclusive:
                found.append(
                    self.candidate(self.empty, *((None, c) if c.is_shipping else (c, None)))
                )
        return found

    def chosen(self, ids: tuple[int, ...]) -> tuple[_Candidate | None, dict[int, _Offer]]:
        """The named coupons that can be applied together (the first named wins a
        clash) with every promotion they stack with; and who blocked the others."""
        kept: list[_Offer] = []
        blocked: dict[int, _Offer] = {}
        for coupon_id in dict.fromkeys(ids):
            c = self.coupons.get(coupon_id)
            if c is None:
                continue
            rival = next((k for k in kept if _clash(k, c) or k.is_shipping == c.is_shipping), None)
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


def _best(candidates: list[_Candidate]) -> _Candidate:
    most = max([c.saving for c in candidates])
    ties = [c for c in candidates if c.saving == most]
    return ties[0] if len(ties) == 1 else min(ties, key=_Candidate.key)


def _clash(a: _Offer, b: _Offer) -> bool:
    return a.exclusive or b.exclusive or a.group != b.group


def _coupon_savings(candidates: list[_Candidate], coupons: dict[int, _Offer]) -> dict[int, int]:
    """Each usable coupon's saving in the best combination that uses it. The free-
    shipping coupons of a group are interchangeable, so they share the group's best."""
    best: dict[int, int] = {}
    by_slot: dict[tuple[str, int], int] = {}
    for cand in candidates:
        if cand.discount is not None:
            cid = cand.discount.source_id
            best[cid] = max(best.get(cid, 0), cand.saving)
        if cand.shipping is not None:
            slot = _shipping_slot(cand.shipping)
            by_slot[slot] = max(by_slot.get(slot, 0), cand.saving)
    for c in coupons.values():
        if c.is_shipping:
            best[c.source_id] = by_slot.get(_shipping_slot(c), 0)
    return best


def _shipping_slot(c: _Offer) -> tuple[str, int]:
    return ("", c.source_id) if c.exclusive else (c.group, 0)


# ---------------------------------------------------------------- the quote


def quote(inp: PricingInput) -> Quote:
    """Price a cart: shelf price, the best (or the chosen) offers, points; see info.py."""
    cart = _Cart(inp)
    promotions, hints = _promotion_offers(inp, cart)
    coupons, problems = _coupon_offers(inp, cart)
    search = _Search(cart, promotions, coupons)
    candidates = search.all_candidates()
    notes: list[str] = []
    blocked: dict[int, _Offer] = {}

    winner: _Candidate | None = None
    if inp.coupon_choice is CouponChoice.best:
        winner = _best(candidates)
    elif inp.coupon_choice is CouponChoice.chosen:
        owned = {c.coupon_id for c in inp.coupons}
        notes.extend(
            texts.not_owned(cid) for cid in dict.fromkeys(inp.chosen_coupon_ids) if cid not in owned
        )
        winner, blocked = search.chosen(inp.chosen_coupon_ids)
    if winner is None:  # no coupon wanted, or none of the named ones applies
        winner = _best([c for c in candidates if c.discount is None and c.shipping is None])

    statuses = _coupon_statuses(inp, coupons, problems, candidates, winner, blocked)
    if cart.fee > 0 and winner.shipping is None:
        gap = inp.settings.free_shipping_threshold_fen - cart.shelf_total
        hints.append(
            Hint(_BY_SHIPPING, 0, gap, 0, cart.fee, *texts.free_shipping_hint(gap))
        )  # fmt: skip
    hints.sort(key=lambda h: (h.missing_fen, h.missing_items, h.source, h.source_id))
    return _build(inp, cart, winner, statuses, tuple(hints), tuple(notes))


def _coupon_statuses(
    inp: PricingInput,
    coupons: dict[int, _Offer],
    problems: dict[int, _Problem],
    candidates: list[_Candidate],
    winner: _Candidate,
    blocked: dict[int, _Offer],
) -> tuple[CouponStatus, ...]:
    savings = _coupon_savings(candidates, coupons)
    applied = [offer for offer, _, _ in winner.stage.applied] + winner.coupons()
    statuses: list[CouponStatus] = []
    for cid in dict.fromkeys(c.coupon_id for c in inp.coupons):
        problem = problems.get(cid)
        if problem is not None:
            (zh, en), gap = problem
            statuses.append(_status(cid, False, 0, zh, en, gap))
            continue
        offer = coupons[cid]
        rival = blocked.get(cid)
        if rival is None and offer not in applied:
            rival = next((a for a in applied if _clash(a, offer)), None)
        if rival is None:
            statuses.append(_status(cid, True, savings.get(cid, 0)))
        else:
            zh, en = texts.cannot_combine(rival.name)
            statuses.append(_status(cid, True, savings.get(cid, 0), zh, en))
    return tuple(statuses)


def _build(
    inp: PricingInput,
    cart: _Cart,
    winner: _Candidate,
    statuses: tuple[CouponStatus, ...],
    hints: tuple[Hint, ...],
    notes: tuple[str, ...],
) -> Quote:
    n = len(cart.shelf)
    discounts: list[Discount] = []
    # Each saving's part of every line, in order: (source, source id), parts of all lines.
    sources: list[tuple[DiscountSource, int]] = []
    columns: list[list[int]] = []

    member = cart.member
    promotions = {m[0].promotion_id: m[0] for m in member if m is not None and m[1] > 0}
    for pid in sorted(promotions):
        p = promotions[pid]  # the last line's, as in the loop this replaces
        column = [m[1] if m is not None and m[0].promotion_id == pid else 0 for m in member]
        amount = sum(column)
        sources.append((_BY_MEMBER, pid))
        columns.append(column)
        pct = _clamp_percent(p.percent_off)
        discounts.append(
            _discount(_BY_MEMBER, pid, p.name, amount, *texts.member_price_reason(pct),
                     _MEMBER_PRICE.value)
        )  # fmt: skip

    settled, left = _settle(winner.stage, cart.shelf)
    coupon, coupon_fen = winner.discount, winner.discount_fen
    if coupon is not None and coupon_fen > 0:
        lines = coupon.lines
        full = len(lines) == n
        parts = allocate_proportionally(coupon_fen, left if full else [left[i] for i in lines])
        _take(left, lines, parts, full)
        settled.append((coupon, coupon_fen, parts))
    for offer, amount, parts in settled:
        sources.append((offer.source, offer.source_id))
        if len(offer.lines) == n:
            columns.append(parts)
        else:
            column = [0] * n
            for i, part in zip(offer.lines, parts, strict=True):
                column[i] = part
            columns.append(column)
        zh, en = _reason(offer, amount)
        discounts.append(
            _discount(offer.source, offer.source_id, offer.name, amount, zh, en, offer.kind)
        )

    points_fen, points_available = _points(inp, sum(left))
    points_used = points_available if inp.use_points else 0
    if points_used:
        parts = allocate_proportionally(points_fen, left)
        _take(left, cart.all_lines[0], parts, True)
        sources.append((_BY_POINTS, 0))
        columns.append(parts)
        discounts.append(
            _discount(_BY_POINTS, 0, texts.POINTS_NAME, points_fen,
                     *texts.points_reason(points_used))
        )  # fmt: skip
    else:
        points_fen = 0

    shipping_fen = cart.fee
    if winner.shipping is not None and cart.fee > 0:
        s = winner.shipping
        discounts.append(
            _discount(_BY_COUPON, s.source_id, s.name, cart.fee, *_reason(s, cart.fee), s.kind)
        )
        shipping_fen = 0
    elif cart.free_by_threshold:
        t = inp.settings.free_shipping_threshold_fen
        discounts.append(
            _discount(_BY_SHIPPING, 0, texts.FREE_SHIPPING_NAME, inp.settings.shipping_fen,
                     *texts.free_shipping_reason(t))
        )  # fmt: skip

    # What is left of each line is what the shopper pays for it.
    # Per line, the (source, source id, part) of every saving with a part there.
    triples = [zip(repeat(s), repeat(i), c) for (s, i), c in zip(sources, columns, strict=True)]
    rows = zip(*triples, strict=True)
    taken = [tuple(filter(_PART, row)) for row in rows] if triples else [()] * n
    quote_lines = [
        _quote_line(line.line_id, line.product_id, quantity, price, subtotal,
                    member[1] if member else 0, allocations, subtotal - payable, payable)
        for line, quantity, price, subtotal, member, allocations, payable in zip(
            inp.lines, cart.quantities, cart.prices, cart.subtotals, cart.member, taken, left,
            strict=True,
        )
    ]  # fmt: skip
    goods = sum(left)
    subtotal = sum(cart.subtotals)
    return Quote(
        lines=tuple(quote_lines),
        discounts=tuple(discounts),
        subtotal_fen=subtotal,
        discount_fen=subtotal - goods,
        shipping_fen=shipping_fen,
        points_used=points_used,
        points_fen=points_fen,
        total_fen=goods + shipping_fen,
        applied_coupon_ids=tuple(
            c.source_id for c in winner.coupons() if c.is_shipping or coupon_fen > 0
        ),
        applied_promotion_ids=tuple(offer.source_id for offer, _, _ in winner.stage.applied),
        coupon_statuses=statuses,
        hints=hints,
        points_available=points_available,
        notes=notes,
    )


def _points(inp: PricingInput, goods_left: int) -> tuple[int, int]:
    """(fen, points) redeemable: capped by the balance and by a share of the goods,
    rounded down to a fen amount that is worth a whole number of points."""
    per_yuan, balance = inp.settings.points_per_yuan, inp.shopper.points_balance
    if per_yuan <= 0 or balance <= 0 or goods_left <= 0:
        return 0, 0
    cap = goods_left * _clamp_percent(inp.settings.points_max_percent) // 100
    fen = min(balance * 100 // per_yuan, cap)
    fen -= fen % (100 // gcd(per_yuan, 100))  # the smallest fen step of whole points
    return fen, fen * per_yuan // 100


def _reason(offer: _Offer, amount: int) -> texts.Words:
    return texts.offer_reason(
        offer.kind, amount, offer.threshold_fen, offer.fixed_fen, offer.percent,
        offer.min_items, offer.cap_fen,
    )  # fmt: skip
