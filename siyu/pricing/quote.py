"""The pricing engine: one pure function, ``quote(PricingInput) -> Quote``.

The rules are those of ``info.py``: shelf (member) price first, then the best legal
combination of offers, each benefit taken from what earlier ones left, then points.
The offers are found here and the best combination in ``search.py``.

The words (reasons, hints, why a coupon is not usable) are in ``texts.py``; the
result objects are built by ``_quote_line``, ``_discount`` and ``_status`` (see there).

No I/O, no clock (``now`` is in the input), integer fen only; the same input always
gives an equal Quote.
"""

from __future__ import annotations

from math import gcd

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
    Tier,
    check_builder,
)
from siyu.pricing.search import (
    FAR_FUTURE,
    Candidate,
    Offer,
    Search,
    best,
    clash,
    coupon_savings,
    take,
)
from siyu.pricing.shelf import Cart, clamp_percent

# Enum members looked up once: attribute access on an Enum class is slow in 3.11.
_ALL, _CATEGORIES = Scope.all, Scope.categories
_MEMBER_PRICE, _FULL_REDUCTION = PromotionKind.member_price, PromotionKind.full_reduction
_N_ITEM, _BUNDLE = PromotionKind.n_item_discount, PromotionKind.bundle
_CASH_OFF, _PERCENT_OFF = CouponKind.cash_off, CouponKind.percent_off
_FREE_SHIPPING = CouponKind.free_shipping
_BY_MEMBER, _BY_PROMOTION = DiscountSource.member_price, DiscountSource.promotion
_BY_TIER = DiscountSource.member_tier
_BY_COUPON, _BY_POINTS, _BY_SHIPPING = (
    DiscountSource.coupon,
    DiscountSource.points,
    DiscountSource.shipping,
)
_Problem = tuple[texts.Words, int]  # why, missing fen


# ---------------------------------------------------------------- result objects

# A quote returns some forty frozen dataclasses, and their generated ``__init__`` sets
# each field through ``object.__setattr__``: a quarter of the time of a whole quote.
# These build the very same objects (same class, same fields, equal, same hash and
# repr) by giving the instance its ``__dict__`` at once, in well under half the time.
# ``check_builder`` keeps them honest when info.py changes.
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


def _quote(
    lines: tuple[QuoteLine, ...], discounts: tuple[Discount, ...], subtotal_fen: int,
    discount_fen: int, shipping_fen: int, points_used: int, points_fen: int, total_fen: int,
    applied_coupon_ids: tuple[int, ...], applied_promotion_ids: tuple[int, ...],
    coupon_statuses: tuple[CouponStatus, ...], hints: tuple[Hint, ...],
    points_available: int = 0, notes: tuple[str, ...] = (),
) -> Quote:  # fmt: skip
    result: Quote = _NEW(Quote)
    _SET(result, "__dict__", {
        "lines": lines, "discounts": discounts, "subtotal_fen": subtotal_fen,
        "discount_fen": discount_fen, "shipping_fen": shipping_fen, "points_used": points_used,
        "points_fen": points_fen, "total_fen": total_fen,
        "applied_coupon_ids": applied_coupon_ids, "applied_promotion_ids": applied_promotion_ids,
        "coupon_statuses": coupon_statuses, "hints": hints,
        "points_available": points_available, "notes": notes,
    })  # fmt: skip
    return result


for _cls, _build_it in (
    (QuoteLine, _quote_line),
    (Discount, _discount),
    (CouponStatus, _status),
    (Quote, _quote),
):
    check_builder(_cls, _build_it)


# ---------------------------------------------------------------- offers


def _promotion_offers(inp: PricingInput, cart: Cart) -> tuple[list[Offer], list[Hint]]:
    """Applicable promotions in application order, and hints for those not met yet."""
    offers: list[Offer] = []
    hints: list[Hint] = []
    now, shelf, quantities = inp.now, cart.shelf, cart.quantities
    n, shelf_total, lines_of, scopes = len(shelf), cart.shelf_total, cart.lines_of, cart.scopes
    active = [
        p
        for p in inp.promotions
        if p.kind is not _MEMBER_PRICE
        and (p.starts_at is None or p.starts_at <= now)
        and (p.ends_at is None or now < p.ends_at)
    ]
    if len(active) > 1:
        active.sort(key=_application_order)
    for p in active:
        kind = p.kind
        lines, members = scopes.get(id(p.scope)) or lines_of(p.scope)
        if kind is _FULL_REDUCTION:
            total = shelf_total if len(lines) == n else sum([shelf[i] for i in lines])
            # The best tier met; the lowest one not met yet (the first listed of equals).
            tiers = p.tiers
            met = [t for t in tiers if t.threshold_fen <= total]
            if lines and met:
                tier = met[0] if len(met) == 1 else max(met, key=_best_tier)
                offers.append(
                    Offer(_BY_PROMOTION, p.promotion_id, p.name, str(kind), lines, members,
                          total, p.exclusive, p.stack_group, fixed_fen=max(tier.amount_fen, 0),
                          threshold_fen=tier.threshold_fen)
                )  # fmt: skip
            # Hints only for promotions the cart already partly qualifies for (a line
            # in scope; every line for a store-wide one), as Youzan and Taobao do.
            if lines and len(met) < len(tiers):
                upcoming = [t for t in tiers if t.threshold_fen > total and t.amount_fen > 0]
                if upcoming:
                    nxt = upcoming[0] if len(upcoming) == 1 else min(upcoming, key=_threshold)
                    gap, get = nxt.threshold_fen - total, nxt.amount_fen
                    hints.append(
                        Hint(_BY_PROMOTION, p.promotion_id, gap, 0, get,
                             *texts.spend_more_hint(gap, get, p.scope_zh, p.scope_en))
                    )  # fmt: skip
        elif kind is _N_ITEM:
            full = len(lines) == n
            units = sum(quantities) if full else sum([quantities[i] for i in lines])
            percent = clamp_percent(p.percent_off)
            if lines and units >= p.min_items:
                total = shelf_total if full else sum([shelf[i] for i in lines])
                offers.append(
                    Offer(_BY_PROMOTION, p.promotion_id, p.name, str(kind), lines, members,
                          total, p.exclusive, p.stack_group, percent=percent,
                          min_items=p.min_items)
                )  # fmt: skip
            elif lines and percent:
                short = p.min_items - units  # > 0: not met
                get = (shelf_total if full else sum([shelf[i] for i in lines])) * percent // 100
                hints.append(
                    Hint(_BY_PROMOTION, p.promotion_id, 0, short, get,
                         *texts.more_items_hint(short, percent, p.scope_zh, p.scope_en))
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
                    Offer(_BY_PROMOTION, p.promotion_id, p.name, str(kind), lines,
                          frozenset(lines), sum([shelf[i] for i in lines]), p.exclusive,
                          p.stack_group, fixed_fen=get * sets)
                )  # fmt: skip
            elif lines and get:
                short = sum(1 for units in units_of.values() if units == 0)
                titles = p.bundle_titles
                missing = tuple(
                    titles[k]
                    for k, pid in enumerate(p.bundle_product_ids)
                    if k < len(titles) and units_of[pid] == 0
                )
                hints.append(
                    Hint(_BY_PROMOTION, p.promotion_id, 0, short, get,
                         *texts.bundle_hint(short, get, missing))
                )  # fmt: skip
    return offers, hints


def _application_order(p: Promotion) -> tuple[int, int]:
    return -p.priority, p.promotion_id


def _threshold(t: Tier) -> int:
    return t.threshold_fen


def _best_tier(t: Tier) -> tuple[int, int]:
    return t.amount_fen, -t.threshold_fen


def _coupon_offers(inp: PricingInput, cart: Cart) -> tuple[dict[int, Offer], dict[int, _Problem]]:
    """Applicable coupons by id, and why each other one is not."""
    offers: dict[int, Offer] = {}
    problems: dict[int, _Problem] = {}
    now, shopper, shelf, shelf_total = inp.now, inp.shopper, cart.shelf, cart.shelf_total
    n, fee, lines_of, scopes = len(shelf), cart.fee, cart.lines_of, cart.scopes
    for c in inp.coupons:
        if c.coupon_id in offers or c.coupon_id in problems:
            continue  # one shopper coupon is one coupon, however often it is listed
        lines, members = scopes.get(id(c.scope)) or lines_of(c.scope)
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
        elif is_shipping and fee == 0:
            problem = (texts.SHIPPING_ALREADY_FREE, 0)
        else:
            total = shelf_total if len(lines) == n else sum([shelf[i] for i in lines])
            gap = c.threshold_fen - total
            if gap > 0:
                problem = (texts.threshold_gap(gap), gap)
        if problem is not None:
            problems[c.coupon_id] = problem
            continue
        offers[c.coupon_id] = Offer(
            _BY_COUPON, c.coupon_id, c.name, str(c.kind), lines, members, total, c.exclusive,
            c.stack_group,
            fixed_fen=max(c.amount_fen, 0) if c.kind is _CASH_OFF else 0,
            percent=clamp_percent(c.percent_off) if c.kind is _PERCENT_OFF else 0,
            cap_fen=c.cap_fen, threshold_fen=c.threshold_fen,
            until=(c.valid_until is None, c.valid_until or FAR_FUTURE),
            is_shipping=is_shipping,
        )  # fmt: skip
    return offers, problems


# ---------------------------------------------------------------- the quote


def quote(inp: PricingInput) -> Quote:
    """Price a cart: shelf price, the best (or the chosen) offers, points; see info.py."""
    cart = Cart(inp)
    promotions, hints = _promotion_offers(inp, cart)
    coupons, problems = _coupon_offers(inp, cart)
    search = Search(cart.shelf, cart.shelf_total, cart.fee, promotions, coupons)
    candidates = search.all_candidates()
    notes: list[str] = []
    blocked: dict[int, Offer] = {}

    winner: Candidate | None = None
    if inp.coupon_choice is CouponChoice.best:
        winner = best(candidates)
    elif inp.coupon_choice is CouponChoice.chosen:
        owned = {c.coupon_id for c in inp.coupons}
        notes.extend(
            texts.not_owned(cid) for cid in dict.fromkeys(inp.chosen_coupon_ids) if cid not in owned
        )
        winner, blocked = search.chosen(inp.chosen_coupon_ids)
    if winner is None:  # no coupon wanted, or none of the named ones applies
        winner = best([c for c in candidates if c.discount is None and c.shipping is None])

    statuses = _coupon_statuses(inp, coupons, problems, candidates, winner, blocked)
    if cart.fee > 0 and winner.shipping is None:
        gap = cart.threshold - cart.shelf_total
        hints.append(
            Hint(_BY_SHIPPING, 0, gap, 0, cart.fee, *texts.free_shipping_hint(gap))
        )  # fmt: skip
    if len(hints) > 1:
        hints.sort(key=lambda h: (h.missing_fen, h.missing_items, h.source, h.source_id))
    return _build(inp, cart, winner, statuses, tuple(hints), tuple(notes))


def _coupon_statuses(
    inp: PricingInput,
    coupons: dict[int, Offer],
    problems: dict[int, _Problem],
    candidates: list[Candidate],
    winner: Candidate,
    blocked: dict[int, Offer],
) -> tuple[CouponStatus, ...]:
    savings = coupon_savings(candidates, coupons)
    applied = [offer for offer, _, _ in winner.stage.steps] + winner.coupons()
    statuses: list[CouponStatus] = []
    for cid in dict.fromkeys([c.coupon_id for c in inp.coupons]):
        problem = problems.get(cid)
        if problem is not None:
            (zh, en), gap = problem
            statuses.append(_status(cid, False, 0, zh, en, gap))
            continue
        offer = coupons[cid]
        rival = blocked.get(cid)
        if rival is None and offer not in applied:
            for a in applied:  # a loop, not next(genexpr): no generator per coupon
                if clash(a, offer):
                    rival = a
                    break
        if rival is None:
            statuses.append(_status(cid, True, savings.get(cid, 0)))
        else:
            zh, en = texts.cannot_combine(rival.name)
            statuses.append(_status(cid, True, savings.get(cid, 0), zh, en))
    return tuple(statuses)


def _build(
    inp: PricingInput,
    cart: Cart,
    winner: Candidate,
    statuses: tuple[CouponStatus, ...],
    hints: tuple[Hint, ...],
    notes: tuple[str, ...],
) -> Quote:
    discounts: list[Discount] = []
    # Per line, the (source, source id, part) of every saving with a part there, in the
    # order of ``discounts``. Filled saving by saving, only where a part is not zero.
    n = len(cart.shelf)
    taken: list[list[tuple[DiscountSource, int, int]]] = [[] for _ in range(n)]

    # Member price: at most one per line, so it comes first on its line; the discounts
    # are listed by promotion id, each named after the last line's promotion.
    member = cart.member
    member_fen: dict[int, int] = {}
    member_of: dict[int, Promotion] = {}
    tier_fen, benefits = 0, cart.by_tier
    for i, m in enumerate(member):
        if m is not None and m[1] > 0:
            p, part = m
            if p is None:  # the tier's
                tier_fen += part
                taken[i].append((_BY_TIER, benefits.level if benefits else 0, part))
                continue
            pid = p.promotion_id
            member_fen[pid] = member_fen.get(pid, 0) + part
            member_of[pid] = p
            taken[i].append((_BY_MEMBER, pid, part))
    if tier_fen and benefits is not None:
        discounts.append(
            _discount(_BY_TIER, benefits.level, texts.tier_price_name(benefits.name_zh),
                      tier_fen, *texts.tier_price_reason(benefits.name_zh, benefits.name_en,
                                                         clamp_percent(benefits.percent_off)),
                      _BY_TIER.value)
        )  # fmt: skip
    for pid in sorted(member_of):
        p = member_of[pid]
        pct = clamp_percent(p.percent_off)
        discounts.append(
            _discount(_BY_MEMBER, pid, p.name, member_fen[pid], *texts.member_price_reason(pct),
                     _MEMBER_PRICE.value)
        )  # fmt: skip

    settled, left = winner.stage.settle()
    coupon, coupon_fen = winner.discount, winner.discount_fen
    if coupon is not None and coupon_fen > 0:
        lines = coupon.lines
        full = len(lines) == n
        parts = allocate_proportionally(coupon_fen, left if full else [left[i] for i in lines])
        take(left, lines, parts, full)
        settled.append((coupon, coupon_fen, parts))
    for offer, amount, parts in settled:
        source, source_id = offer.source, offer.source_id
        if len(offer.lines) == n:  # every line: zip with the lists, no indexing
            for allocations, part in zip(taken, parts, strict=True):
                if part:
                    allocations.append((source, source_id, part))
        else:
            for i, part in zip(offer.lines, parts, strict=True):
                if part:
                    taken[i].append((source, source_id, part))
        zh, en = _reason(offer, amount)
        discounts.append(_discount(source, source_id, offer.name, amount, zh, en, offer.kind))

    points_fen, points_available = _points(inp, sum(left))
    points_used = points_available if inp.use_points else 0
    if points_used:
        parts = allocate_proportionally(points_fen, left)
        take(left, cart.all_lines[0], parts, True)
        for allocations, part in zip(taken, parts, strict=True):
            if part:
                allocations.append((_BY_POINTS, 0, part))
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
    elif cart.free_by_member_day:
        discounts.append(
            _discount(_BY_SHIPPING, 0, texts.MEMBER_DAY_SHIPPING_NAME, inp.settings.shipping_fen,
                      *texts.MEMBER_DAY_SHIPPING_REASON)
        )  # fmt: skip
    elif cart.free_by_threshold:
        t = cart.threshold
        store = inp.settings.free_shipping_threshold_fen
        reason = (
            texts.free_shipping_reason(t)
            if t >= store or benefits is None
            else texts.tier_free_shipping_reason(benefits.name_zh, benefits.name_en, t)
        )
        discounts.append(
            _discount(_BY_SHIPPING, 0, texts.FREE_SHIPPING_NAME, inp.settings.shipping_fen,
                     *reason)
        )  # fmt: skip

    # What is left of each line is what the shopper pays for it.
    quote_lines = [
        _quote_line(line.line_id, line.product_id, quantity, price, subtotal,
                    m[1] if m else 0, tuple(allocations), subtotal - payable, payable)
        for line, quantity, price, subtotal, m, allocations, payable in zip(
            inp.lines, cart.quantities, cart.prices, cart.subtotals, member, taken, left,
            strict=True,
        )
    ]  # fmt: skip
    goods = sum(left)
    subtotal = sum(cart.subtotals)
    return _quote(
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
        applied_promotion_ids=tuple(offer.source_id for offer, _, _ in winner.stage.steps),
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
    cap = goods_left * clamp_percent(inp.settings.points_max_percent) // 100
    fen = min(balance * 100 // per_yuan, cap)
    fen -= fen % (100 // gcd(per_yuan, 100))  # the smallest fen step of whole points
    return fen, fen * per_yuan // 100


def _reason(offer: Offer, amount: int) -> texts.Words:
    return texts.offer_reason(
        offer.kind, amount, offer.threshold_fen, offer.fixed_fen, offer.percent,
        offer.min_items, offer.cap_fen,
    )  # fmt: skip
