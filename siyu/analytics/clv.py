"""Customer lifetime value: how many more orders a shopper will place, and how much each is worth.

Pure math over plain arrays (numpy/scipy), no I/O, no clock: ``now`` is an argument.

- **Purchases: BG/NBD** (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy
  Way"). While alive a shopper buys at a Poisson rate λ ~ Gamma(r, α); after each
  purchase they drop out for good with probability p ~ Beta(a, b). Fitted by maximum
  likelihood on each shopper's (x, t_x, T): x repeat purchases, t_x the time from the
  first to the last purchase, T the time from the first purchase to ``now``.
- **Spend: Gamma-Gamma** (Fader, Hardie & Lee 2005, "RFM and CLV: Using Iso-Value
  Curves"; Fader & Hardie, "The Gamma-Gamma Model of Monetary Value"). Order values
  of a shopper are Gamma(p, ν) with ν ~ Gamma(q, γ); fitted on the average value z̄
  of the repeat orders of shoppers with x > 0 (it assumes spend and frequency are
  independent).
- **CLV over N days** = E[order value] × E[purchases in the next N days], optionally
  discounted at an annual rate, applied to the expected purchases of each step.

Summary rules (:func:`summarise_orders`): orders on one local calendar day (China
time by default) are one purchase, their amounts summed; x = purchase days − 1;
t_x and T are whole days between local dates, divided by 7 when the unit is weeks;
the monetary value is the mean amount of the repeat purchase days (the first one is
left out, as in the papers); orders after ``now`` are ignored.

Numerics: likelihoods in log space (``gammaln``, ``logaddexp``); parameters are
optimised as logarithms within bounds (L-BFGS-B, then a Nelder-Mead polish), the
scale parameters relative to the data's own scale; the conditional expectation uses
the Pfaff transform ((α+T)/(α+T+t))^(r+x)·₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t)) =
₂F₁(r+x, a−1; a+b+x−1; −t/(α+T)), which keeps ₂F₁ bounded for large x and t.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

FloatArray = NDArray[np.float64]
TimeUnit = Literal["days", "weeks"]

CHINA_TIME = timezone(timedelta(hours=8))
UNIT_DAYS: dict[str, int] = {"days": 1, "weeks": 7}
_LOG_BOUND = 18.0  # parameters stay within e^±18 of their starting scale
# A Gamma shape r above this leaves no spread between shoppers' purchase rates (their
# coefficient of variation is under 5 %): the data could not tell a frequent buyer from
# a rare one, so a shopper with one purchase long ago is forecast like a regular.
SPREAD_LIMIT = 400.0


@dataclass(frozen=True, eq=False)
class CustomerSummary:
    """One entry per customer, in order of first appearance in the input rows."""

    customer_ids: tuple[Hashable, ...]
    frequency: FloatArray  # x: repeat purchases
    recency: FloatArray  # t_x: first to last purchase, in `unit`
    age: FloatArray  # T: first purchase to `now`, in `unit`
    monetary: FloatArray  # mean value of the repeat purchases (fen); 0 when x = 0
    unit: TimeUnit


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float

    @property
    def degenerate(self) -> str | None:
        """Why this fit cannot rank shoppers, or None: ``"rates"`` when every shopper is
        fitted the same purchase rate (r huge: the optimiser ran off towards its bounds),
        ``"bounds"`` when a parameter is not a finite positive number. (A huge a + b —
        every shopper the same chance of dropping out — is a sound sub-model: rates
        still differ, and so do the forecasts.)"""
        return _bgnbd_degenerate(self.r, self.a, self.b)


def _bgnbd_degenerate(r: float, a: float, b: float) -> str | None:
    if not all(math.isfinite(v) and v > 0 for v in (r, a, b)):
        return "bounds"
    return "rates" if r > SPREAD_LIMIT else None


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float
    log_likelihood: float


@dataclass(frozen=True)
class CustomerForecast:
    customer_id: Hashable
    expected_purchases: float
    probability_alive: float
    expected_order_value_fen: float
    clv_fen: float


def summarise_orders(
    rows: Iterable[tuple[Hashable, datetime, int]],
    now: datetime,
    unit: TimeUnit = "days",
    tz: tzinfo = CHINA_TIME,
) -> CustomerSummary:
    """Turn (customer, order time, amount_fen) rows into the BG/NBD summary at ``now``."""
    if unit not in UNIT_DAYS:
        raise ValueError(f"unit must be 'days' or 'weeks', not {unit!r}")
    _require_aware(now)
    today = now.astimezone(tz).date()
    days_by_customer: dict[Hashable, dict[date, int]] = {}
    for customer, at, amount_fen in rows:
        _require_aware(at)
        if at > now:
            continue
        day = at.astimezone(tz).date()
        days = days_by_customer.setdefault(customer, {})
        days[day] = days.get(day, 0) + amount_fen
    per_unit = UNIT_DAYS[unit]
    ids, x, t_x, age, monetary = [], [], [], [], []
    for customer, days in days_by_customer.items():
        ordered = sorted(days)
        first, last = ordered[0], ordered[-1]
        repeats = [days[d] for d in ordered[1:]]
        ids.append(customer)
        x.append(len(repeats))
        t_x.append((last - first).days / per_unit)
        age.append((today - first).days / per_unit)
        monetary.append(sum(repeats) / len(repeats) if repeats else 0.0)
    return CustomerSummary(
        customer_ids=tuple(ids),
        frequency=np.asarray(x, dtype=np.float64),
        recency=np.asarray(t_x, dtype=np.float64),
        age=np.asarray(age, dtype=np.float64),
        monetary=np.asarray(monetary, dtype=np.float64),
        unit=unit,
    )


def bgnbd_log_likelihood(
    r: float, alpha: float, a: float, b: float, x: ArrayLike, t_x: ArrayLike, age: ArrayLike
) -> FloatArray:
    """Each customer's log-likelihood under BG/NBD (the paper's equation 6, in logs)."""
    x, t_x, age = _floats(x), _floats(t_x), _floats(age)
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * math.log(alpha)
    a2 = (
        special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    a3 = -(r + x) * np.log(alpha + age)
    # b + x - 1 is only used where x > 0; max() keeps the x = 0 branch finite.
    a4 = math.log(a) - np.log(b + np.maximum(x, 1.0) - 1.0) - (r + x) * np.log(alpha + t_x)
    a4 = np.where(x > 0, a4, -np.inf)
    return np.asarray(a1 + a2 + np.logaddexp(a3, a4), dtype=np.float64)


def fit_bgnbd(frequency: ArrayLike, recency: ArrayLike, age: ArrayLike) -> BgNbd:
    """Maximum-likelihood BG/NBD parameters (in the time unit of ``recency`` and ``age``)."""
    x, t_x, age_ = _floats(frequency), _floats(recency), _floats(age)
    if x.size == 0:
        raise ValueError("no customers to fit")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > age_) or np.any((x == 0) & (t_x != 0)):
        raise ValueError("need 0 <= recency <= age, and recency 0 when frequency is 0")
    # Customers with the same (x, t_x, T) share one likelihood term.
    unique, counts = np.unique(np.column_stack([x, t_x, age_]), axis=0, return_counts=True)
    ux, ut, uT = unique[:, 0], unique[:, 1], unique[:, 2]
    weights = counts / counts.sum()
    scale = max(float(np.mean(age_)), 1e-9)

    def objective(theta: FloatArray) -> float:
        r, alpha, a, b = np.exp(theta) * (1.0, scale, 1.0, 1.0)
        value = -float(weights @ bgnbd_log_likelihood(r, alpha, a, b, ux, ut, uT))
        return value if math.isfinite(value) else 1e300

    def sound(theta: FloatArray) -> bool:
        r, _, a, b = np.exp(theta)
        return _bgnbd_degenerate(float(r), float(a), float(b)) is None

    # A collapsed first fit is not polished: on that flat ridge the polish would only
    # wander (seconds of work) to another collapsed point.
    theta = _minimise(objective, np.zeros(4), polish_if=sound)
    r, alpha, a, b = np.exp(theta) * (1.0, scale, 1.0, 1.0)
    total = float(np.sum(counts * bgnbd_log_likelihood(r, alpha, a, b, ux, ut, uT)))
    return BgNbd(float(r), float(alpha), float(a), float(b), total)


def probability_alive(model: BgNbd, x: ArrayLike, t_x: ArrayLike, age: ArrayLike) -> FloatArray:
    """P(still a customer at T | x, t_x, T); 1 for customers without repeat purchases."""
    x, t_x, age = _floats(x), _floats(t_x), _floats(age)
    log_odds_dead = (
        math.log(model.a)
        - np.log(model.b + np.maximum(x, 1.0) - 1.0)
        + (model.r + x) * (np.log(model.alpha + age) - np.log(model.alpha + t_x))
    )
    return np.where(x > 0, special.expit(-log_odds_dead), 1.0)


def expected_purchases(
    model: BgNbd, t: float, x: ArrayLike, t_x: ArrayLike, age: ArrayLike
) -> FloatArray:
    """E[purchases in (T, T + t] | x, t_x, T]: the paper's equation 10."""
    x, t_x, age = _floats(x), _floats(t_x), _floats(age)
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    if t <= 0:
        return np.zeros_like(x)
    if abs(a - 1.0) < 1e-7:
        a = 1.0 + 1e-7  # the a → 1 limit; the error this adds is about 1e-9 relative
    c = a + b + x - 1.0
    with np.errstate(all="ignore"):
        hyp = special.hyp2f1(r + x, a - 1.0, c, -t / (alpha + age))
    lost = ~np.isfinite(hyp)
    if lost.any():  # large a and b (one dropout chance for all): scipy gives up
        z = t / (alpha + age[lost] + t)
        hyp[lost] = np.exp(
            (r + x[lost]) * np.log1p(-z) + _log_hyp2f1_series(r + x[lost], b + x[lost], c[lost], z)
        )
    return np.asarray(
        c / (a - 1.0) * (1.0 - hyp) * probability_alive(model, x, t_x, age), dtype=np.float64
    )


def _log_hyp2f1_series(
    a: FloatArray, b: FloatArray, c: FloatArray, z: FloatArray, max_terms: int = 200_000
) -> FloatArray:
    """log ₂F₁(a, b; c; z) for a, b, c > 0 and 0 ≤ z < 1, by its series summed in log
    space: every term is positive, so there is no cancellation, and the sum converges
    (the term ratio tends to z). Slow near z = 1; used only where scipy returns no
    number, which happens when b and c are very large (the a + b → ∞ limit of BG/NBD)."""
    log_z = np.log(np.maximum(z, 1e-300))
    log_term = np.zeros_like(z)
    log_sum = np.zeros_like(z)
    active = z > 0
    k = 0
    while active.any() and k < max_terms:
        log_term = log_term + np.where(
            active, np.log((a + k) * (b + k) / ((c + k) * (k + 1.0))) + log_z, 0.0
        )
        log_sum = np.where(active, np.logaddexp(log_sum, log_term), log_sum)
        # stop once a term adds less than 1e-17 and the terms are shrinking
        shrinking = (a + k) * (b + k) * z < (c + k) * (k + 1.0)
        active &= ~((log_term - log_sum < -39.0) & shrinking)
        k += 1
    return log_sum


def gamma_gamma_log_likelihood(
    p: float, q: float, gamma: float, x: ArrayLike, mean_value: ArrayLike
) -> FloatArray:
    """Each repeat customer's log-likelihood of their average order value (x > 0, z̄ > 0)."""
    x, z = _floats(x), _floats(mean_value)
    px = p * x
    return np.asarray(
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * math.log(gamma)
        + (px - 1.0) * np.log(z)
        + px * np.log(x)
        - (px + q) * np.log(gamma + x * z),
        dtype=np.float64,
    )


def fit_gamma_gamma(frequency: ArrayLike, monetary: ArrayLike) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma parameters, from customers with x > 0 and z̄ > 0."""
    x, z = _floats(frequency), _floats(monetary)
    keep = (x > 0) & (z > 0)
    x, z = x[keep], z[keep]
    if x.size < 2:
        raise ValueError("need at least two repeat customers with a positive spend")
    scale = float(np.mean(z))

    def objective(theta: FloatArray) -> float:
        p, q, gamma = np.exp(theta) * (1.0, 1.0, scale)
        value = -float(np.mean(gamma_gamma_log_likelihood(p, q, gamma, x, z)))
        return value if math.isfinite(value) else 1e300

    p, q, gamma = np.exp(_minimise(objective, np.zeros(3))) * (1.0, 1.0, scale)
    total = float(np.sum(gamma_gamma_log_likelihood(p, q, gamma, x, z)))
    return GammaGamma(float(p), float(q), float(gamma), total)


def expected_order_value(model: GammaGamma, x: ArrayLike, monetary: ArrayLike) -> FloatArray:
    """E[order value | x, z̄]: a weighted mean of the population mean γp/(q−1) and the
    customer's own z̄; customers with x = 0 get the population mean (inf unless q > 1)."""
    x, z = _floats(x), _floats(monetary)
    p, q, gamma = model.p, model.q, model.gamma
    population = gamma * p / (q - 1.0) if q > 1.0 else math.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        own = (gamma + x * z) * p / (p * x + q - 1.0)
    return np.where(x > 0, own, population)


def customer_lifetime_value(
    purchases: BgNbd,
    spend: GammaGamma,
    summary: CustomerSummary,
    days: float,
    annual_discount_rate: float = 0.0,
    step_days: float = 7.0,
) -> FloatArray:
    """Expected revenue (fen) from each customer in the next ``days``.

    Undiscounted: E[order value] × E[purchases in the next ``days``]. Discounted: the
    horizon is cut into steps of ``step_days``; the purchases expected in a step are
    discounted by (1 + rate)^(−end of step in days / 365).
    """
    x, t_x, age = summary.frequency, summary.recency, summary.age
    per_unit = UNIT_DAYS[summary.unit]
    value = expected_order_value(spend, x, summary.monetary)
    if annual_discount_rate == 0.0:
        return np.asarray(value * expected_purchases(purchases, days / per_unit, x, t_x, age))
    ends = np.append(np.arange(step_days, days, step_days), days)
    total = np.zeros_like(x)
    previous = np.zeros_like(x)
    for end in ends:
        cumulative = expected_purchases(purchases, end / per_unit, x, t_x, age)
        total += (cumulative - previous) / (1.0 + annual_discount_rate) ** (end / 365.0)
        previous = cumulative
    return np.asarray(value * total)


def forecast_customers(
    purchases: BgNbd,
    spend: GammaGamma,
    summary: CustomerSummary,
    days: float,
    annual_discount_rate: float = 0.0,
) -> list[CustomerForecast]:
    """Per customer: purchases expected in the next ``days``, P(alive), order value, CLV."""
    x, t_x, age = summary.frequency, summary.recency, summary.age
    count = expected_purchases(purchases, days / UNIT_DAYS[summary.unit], x, t_x, age)
    alive = probability_alive(purchases, x, t_x, age)
    value = expected_order_value(spend, x, summary.monetary)
    clv = customer_lifetime_value(purchases, spend, summary, days, annual_discount_rate)
    return [
        CustomerForecast(cid, float(n), float(p), float(v), float(c))
        for cid, n, p, v, c in zip(summary.customer_ids, count, alive, value, clv, strict=True)
    ]


def _minimise(
    objective: Callable[[FloatArray], float],
    start: FloatArray,
    polish_if: Callable[[FloatArray], bool] | None = None,
) -> FloatArray:
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * start.size
    first = optimize.minimize(objective, start, method="L-BFGS-B", bounds=bounds)
    if polish_if is not None and not polish_if(np.asarray(first.x, dtype=np.float64)):
        if not math.isfinite(float(first.fun)) or first.fun >= 1e300:
            raise ValueError("the likelihood could not be maximised for this data")
        return np.asarray(first.x, dtype=np.float64)
    polished = optimize.minimize(
        objective,
        first.x,
        method="Nelder-Mead",
        bounds=bounds,
        options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 20_000},
    )
    best = polished if polished.fun <= first.fun else first
    if not math.isfinite(float(best.fun)) or best.fun >= 1e300:
        raise ValueError("the likelihood could not be maximised for this data")
    return np.asarray(best.x, dtype=np.float64)


def _floats(values: ArrayLike) -> FloatArray:
    return np.atleast_1d(np.asarray(values, dtype=np.float64))


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
