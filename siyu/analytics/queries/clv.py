"""Customer lifetime value over the store's paid orders: each shopper's counted
purchases (one per order, net of refunds; fully refunded orders are no purchase, as in
RFM), BG/NBD for how many more they will make and Gamma-Gamma for what each will be
worth (``siyu.analytics.clv``), and the expected value over the next ``horizon`` days.

``run_clv`` answers with a ``problem`` (a message id) instead of numbers when there are
too few shoppers or repeat buyers, when the models cannot be fitted, or when the fit is
degenerate — the data cannot tell shoppers apart (``BgNbd.degenerate``), the spend
model has no finite mean, or a prediction is not a finite number. A page never shows
the numbers of such a fit: it says why, and what history would be needed.

Shoppers without a repeat purchase are alive in BG/NBD (it only learns of a dropout
from the gap after a repeat purchase), so their P(alive) is 1 by construction; the
list ranks by expected value, which the model already discounts for them through a
lower expected purchase count the longer they have been silent.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from siyu.analytics.clv import (
    BgNbd,
    CustomerSummary,
    GammaGamma,
    fit_bgnbd,
    fit_gamma_gamma,
    forecast_customers,
    summarise_orders,
)
from siyu.analytics.queries.base import SqlParams
from siyu.analytics.schema import EVENTS
from siyu.analytics.store import AnalyticsStore


@dataclass(frozen=True)
class ClvQuery:
    """Orders paid in ``[date_from, date_to)``; value over the next ``horizon`` days."""

    date_from: datetime
    date_to: datetime
    horizon: int


CLV_MIN_CUSTOMERS = 10  # shoppers with a counted purchase
CLV_MIN_REPEAT = 10  # of them with a repeat purchase: fewer cannot tell shoppers apart
CLV_MIN_HISTORY_DAYS = 60  # what the page asks for when a fit is degenerate


@dataclass(frozen=True)
class ClvCustomer:
    shopper_id: int
    frequency: int
    recency_days: float
    age_days: float
    monetary_fen: float
    expected_purchases: float
    probability_alive: float  # 1 by construction when frequency is 0 (see the module)
    expected_order_value_fen: float | None  # None when not finite (Gamma-Gamma q ≤ 1)
    clv_fen: float | None

    @property
    def one_time(self) -> bool:
        """No repeat purchase: the model cannot know whether this shopper is gone."""
        return self.frequency == 0


@dataclass(frozen=True)
class ClvResult:
    """``problem`` set (a message id) when the models could not be fitted, or their
    fit is degenerate (``degenerate`` then says how: rates, dropout, bounds, spend,
    predictions)."""

    as_of: datetime
    customers_seen: int
    repeat_customers: int
    history_days: int = 0  # from the earliest counted purchase to ``as_of``
    purchases: BgNbd | None = None
    spend: GammaGamma | None = None
    customers: tuple[ClvCustomer, ...] = ()
    problem: str | None = None
    degenerate: str | None = None

    @property
    def total_clv_fen(self) -> float:
        return sum(c.clv_fen for c in self.customers if c.clv_fen is not None)


def clv_orders(
    store: AnalyticsStore, date_from: datetime, date_to: datetime
) -> list[tuple[int, datetime, int]]:
    """(shopper, paid at, net fen) of the paid orders in ``[date_from, date_to)``: one row
    per ``order_id`` (the earliest ``order.paid``), minus the refunds before ``date_to``;
    fully refunded orders are no purchase (as in RFM)."""
    params = SqlParams()
    start = params.timestamp("date_from", date_from)
    end = params.timestamp("date_to", date_to)
    events = EVENTS.format(db=store.database)
    sql = (
        "WITH\n"
        "paid AS (\n"
        "    SELECT order_id, shopper_id, amount_fen, timestamp\n"
        f"    FROM {events}\n"
        "    WHERE event = 'order.paid' AND shopper_id != 0 AND order_id != 0\n"
        f"      AND timestamp >= {start} AND timestamp < {end}\n"
        "    ORDER BY order_id, timestamp, event_id\n"
        "    LIMIT 1 BY order_id\n"
        "),\n"
        "refunded AS (\n"
        "    SELECT order_id, sum(amount_fen) AS refunded_fen\n"
        f"    FROM {events}\n"
        f"    WHERE event = 'refund.succeeded' AND timestamp < {params.timestamp('refund_to', date_to)}\n"
        "    GROUP BY order_id\n"
        ")\n"
        "SELECT p.shopper_id, toUnixTimestamp64Milli(p.timestamp),\n"
        "    toInt64(p.amount_fen) - toInt64(coalesce(r.refunded_fen, 0)) AS net\n"
        "FROM paid AS p LEFT JOIN refunded AS r ON p.order_id = r.order_id\n"
        "WHERE net > 0\n"
        "ORDER BY p.shopper_id, p.timestamp"
    )
    return [
        (int(shopper), datetime.fromtimestamp(int(ms) / 1000, UTC), int(net))
        for shopper, ms, net in store.query(sql, params.values).rows
    ]


_FITS: OrderedDict[str, tuple[BgNbd, GammaGamma] | None] = OrderedDict()
_FITS_LOCK = threading.Lock()
FIT_CACHE_SIZE = 32


def summary_key(summary: CustomerSummary) -> str:
    digest = hashlib.sha256(summary.unit.encode())
    for values in (summary.frequency, summary.recency, summary.age, summary.monetary):
        digest.update(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return digest.hexdigest()


def fitted_models(summary: CustomerSummary) -> tuple[BgNbd, GammaGamma] | None:
    """BG/NBD and Gamma-Gamma fitted on ``summary`` (None when they cannot be). The fit
    does not depend on the horizon, and on small or uniform data Gamma-Gamma can take
    seconds, so fits are remembered per summary: changing N or downloading the CSV of
    the page just seen does not fit again."""
    key = summary_key(summary)
    with _FITS_LOCK:
        if key in _FITS:
            _FITS.move_to_end(key)
            return _FITS[key]
    models: tuple[BgNbd, GammaGamma] | None
    try:
        models = (
            fit_bgnbd(summary.frequency, summary.recency, summary.age),
            fit_gamma_gamma(summary.frequency, summary.monetary),
        )
    except (ValueError, FloatingPointError):
        models = None
    with _FITS_LOCK:
        _FITS[key] = models
        while len(_FITS) > FIT_CACHE_SIZE:
            _FITS.popitem(last=False)
    return models


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def run_clv(query: ClvQuery, store: AnalyticsStore, now: datetime) -> ClvResult:
    as_of = min(now, query.date_to)
    summary: CustomerSummary = summarise_orders(
        clv_orders(store, query.date_from, query.date_to), now=as_of
    )
    seen = len(summary.customer_ids)
    repeat = int(((summary.frequency > 0) & (summary.monetary > 0)).sum())
    history = int(summary.age.max()) if seen else 0
    if seen < CLV_MIN_CUSTOMERS or repeat < CLV_MIN_REPEAT:
        return ClvResult(as_of, seen, repeat, history, problem="analytics.clv.too_little")
    models = fitted_models(summary)
    if models is None:
        return ClvResult(as_of, seen, repeat, history, problem="analytics.clv.no_fit")
    purchases, spend = models

    def degenerate(how: str) -> ClvResult:
        return ClvResult(
            as_of, seen, repeat, history, problem="analytics.clv.degenerate", degenerate=how
        )

    if how := purchases.degenerate:
        return degenerate(how)
    if not spend.q > 1.0:  # the population's mean order value is infinite
        return degenerate("spend")
    try:
        forecasts = forecast_customers(purchases, spend, summary, days=query.horizon)
    except (ValueError, FloatingPointError):
        return ClvResult(as_of, seen, repeat, history, problem="analytics.clv.no_fit")
    numbers = [
        v
        for f in forecasts
        for v in (f.expected_purchases, f.probability_alive, f.expected_order_value_fen, f.clv_fen)
    ]
    if not all(math.isfinite(v) for v in numbers):
        return degenerate("predictions")
    customers = [
        ClvCustomer(
            shopper_id=int(f.customer_id),  # type: ignore[call-overload]
            frequency=int(summary.frequency[i]),
            recency_days=float(summary.recency[i]),
            age_days=float(summary.age[i]),
            monetary_fen=float(summary.monetary[i]),
            expected_purchases=f.expected_purchases,
            probability_alive=f.probability_alive,
            expected_order_value_fen=_finite(f.expected_order_value_fen),
            clv_fen=_finite(f.clv_fen),
        )
        for i, f in enumerate(forecasts)
    ]
    customers.sort(
        key=lambda c: (c.clv_fen is None, -(c.clv_fen or 0.0), c.shopper_id),
    )
    return ClvResult(as_of, seen, repeat, history, purchases, spend, tuple(customers))
