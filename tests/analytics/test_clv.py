"""BG/NBD and Gamma-Gamma, validated on the published CDNOW benchmark.

The CDNOW summary (2,357 customers of the 1/10 cohort, 39 weeks of calibration; per
customer x, t_x, T in weeks and z̄, the mean value of the repeat purchases in dollars)
is read from the CSV that the ``lifetimes`` wheel ships, a dev-only dependency: the
package is located through its metadata and never imported.
"""

from __future__ import annotations

import csv
import importlib.metadata
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from siyu.analytics.clv import (
    BgNbd,
    CustomerSummary,
    GammaGamma,
    bgnbd_log_likelihood,
    customer_lifetime_value,
    expected_order_value,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    forecast_customers,
    probability_alive,
    summarise_orders,
)

# Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", section 5.
PAPER_BGNBD = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=-9582.4)
CHINA = timezone(timedelta(hours=8))


def _cdnow() -> dict[str, np.ndarray]:
    path = Path(
        str(
            importlib.metadata.distribution("lifetimes").locate_file(
                "lifetimes/datasets/cdnow_customers_summary_with_transactions.csv"
            )
        )
    )
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return {key: np.array([float(row[key]) for row in rows]) for key in ("x", "t_x", "T", "zbar")}


def _simulate_bgnbd(
    n: int, r: float, alpha: float, a: float, b: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers drawn from the BG/NBD story, first purchases spread over 12 weeks."""
    rng = np.random.default_rng(seed)
    rates = rng.gamma(r, 1.0 / alpha, n)
    dropout = rng.beta(a, b, n)
    age = 39.0 - rng.uniform(0.0, 12.0, n)
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1.0 / rates[i])
            if t > age[i]:
                break
            x[i], t_x[i] = x[i] + 1, t
            if rng.random() < dropout[i]:
                break
    return x, t_x, age


def test_bgnbd_fitted_on_cdnow_matches_the_published_estimates() -> None:
    # given the CDNOW calibration summary
    data = _cdnow()
    assert data["x"].size == 2357

    # when BG/NBD is fitted by maximum likelihood
    model = fit_bgnbd(data["x"], data["t_x"], data["T"])

    # then the parameters agree with the paper to its three decimals
    assert model.r == pytest.approx(0.243, abs=1e-3)
    assert model.alpha == pytest.approx(4.414, abs=1e-3)
    assert model.a == pytest.approx(0.793, abs=1e-3)
    assert model.b == pytest.approx(2.426, abs=1e-3)
    assert model.log_likelihood == pytest.approx(-9582.4, abs=0.5)


def test_the_log_likelihood_at_the_published_estimates_is_the_published_one() -> None:
    # given the CDNOW summary and the paper's parameters
    data = _cdnow()
    p = PAPER_BGNBD

    # when the likelihood is summed over customers
    total = bgnbd_log_likelihood(p.r, p.alpha, p.a, p.b, data["x"], data["t_x"], data["T"]).sum()

    # then it is the paper's −9582.4
    assert total == pytest.approx(-9582.4, abs=0.5)


def test_the_papers_customer_is_expected_to_buy_1_226_times_in_the_next_39_weeks() -> None:
    # given the paper's customer: 2 repeat purchases, the last at 30.43 weeks, T = 38.86
    x, t_x, age = 2, 30.43, 38.86

    # when the conditional expectation is taken for 39 weeks, with the paper's and our fit
    with_paper = expected_purchases(PAPER_BGNBD, 39.0, x, t_x, age)
    data = _cdnow()
    with_fit = expected_purchases(fit_bgnbd(data["x"], data["t_x"], data["T"]), 39.0, x, t_x, age)

    # then both give the paper's 1.226
    assert with_paper[0] == pytest.approx(1.226, abs=5e-4)
    assert with_fit[0] == pytest.approx(1.226, abs=5e-4)


def test_gamma_gamma_fitted_on_cdnow_matches_fader_and_hardies_note() -> None:
    # given the CDNOW repeat customers' mean spend
    data = _cdnow()

    # when Gamma-Gamma is fitted
    model = fit_gamma_gamma(data["x"], data["zbar"])

    # then p, q and γ agree with the note (p = 6.25, q = 3.74, γ = 15.44); γ to 0.01
    # because the CSV's z̄ is rounded to cents and the maximum sits at 15.448
    assert model.p == pytest.approx(6.25, abs=5e-3)
    assert model.q == pytest.approx(3.74, abs=5e-3)
    assert model.gamma == pytest.approx(15.44, abs=0.01)
    assert model.log_likelihood == pytest.approx(-4055.92, abs=0.01)


def test_bgnbd_recovers_the_parameters_of_data_simulated_from_it() -> None:
    # given 20,000 customers simulated with r = 0.25, α = 4, a = 0.8, b = 2.5
    x, t_x, age = _simulate_bgnbd(20_000, 0.25, 4.0, 0.8, 2.5, seed=0)

    # when the model is fitted
    model = fit_bgnbd(x, t_x, age)

    # then every parameter is within 10% of the truth
    assert model.r == pytest.approx(0.25, rel=0.1)
    assert model.alpha == pytest.approx(4.0, rel=0.1)
    assert model.a == pytest.approx(0.8, rel=0.1)
    assert model.b == pytest.approx(2.5, rel=0.1)


def test_probability_alive_is_one_without_repeat_purchases_and_falls_with_silence() -> None:
    # given the paper's parameters
    model = PAPER_BGNBD

    # when P(alive) is asked for a one-time buyer and two repeat buyers
    alive = probability_alive(model, [0, 2, 2], [0.0, 30.43, 10.0], [38.86, 38.86, 38.86])

    # then the one-time buyer is alive, and the longer silence is less likely alive
    expected_recent = 1 / (1 + 0.793 / (2.426 + 1) * ((4.414 + 38.86) / (4.414 + 30.43)) ** 2.243)
    assert alive[0] == 1.0
    assert alive[1] == pytest.approx(expected_recent, rel=1e-12)
    assert alive[1] == pytest.approx(0.7266, abs=1e-4)
    assert alive[2] < alive[1]


def test_a_customer_buying_nothing_in_zero_days_is_expected_to_buy_nothing() -> None:
    assert expected_purchases(PAPER_BGNBD, 0.0, [3], [20.0], [30.0]).tolist() == [0.0]


def test_expected_order_value_shrinks_a_customers_mean_towards_the_population_mean() -> None:
    # given Gamma-Gamma with p = 6, q = 4, γ = 15: population mean γp/(q−1) = 30
    model = GammaGamma(p=6.0, q=4.0, gamma=15.0, log_likelihood=0.0)

    # when the expected order value is asked for a new and a repeat customer (x=2, z̄=50)
    value = expected_order_value(model, [0, 2], [0.0, 50.0])

    # then the new one gets 30 and the repeat one (15 + 100)·6/(12 + 3) = 46
    assert value.tolist() == pytest.approx([30.0, 46.0], rel=1e-12)


def test_orders_are_summarised_per_customer_by_local_day() -> None:
    # given three orders of one shopper (two on the same China day) and one of another
    rows = [
        ("alice", datetime(2026, 10, 1, 1, 0, tzinfo=UTC), 1000),  # Oct 1 in China
        ("alice", datetime(2026, 10, 1, 15, 0, tzinfo=UTC), 500),  # Oct 1 23:00 in China
        ("alice", datetime(2026, 10, 8, 2, 0, tzinfo=UTC), 2000),
        ("alice", datetime(2026, 10, 14, 2, 0, tzinfo=UTC), 4000),
        ("bob", datetime(2026, 10, 15, 2, 0, tzinfo=UTC), 700),
        ("bob", datetime(2026, 11, 2, 2, 0, tzinfo=UTC), 900),  # after now: ignored
    ]
    now = datetime(2026, 10, 29, 12, 0, tzinfo=CHINA)

    # when they are summarised in days and in weeks
    days = summarise_orders(rows, now, unit="days")
    weeks = summarise_orders(rows, now, unit="weeks")

    # then same-day orders merge, the first purchase is not a repeat, and times are in units
    assert days.customer_ids == ("alice", "bob")
    assert days.frequency.tolist() == [2.0, 0.0]
    assert days.recency.tolist() == [13.0, 0.0]
    assert days.age.tolist() == [28.0, 14.0]
    assert days.monetary.tolist() == [3000.0, 0.0]
    assert weeks.recency.tolist() == [13 / 7, 0.0]
    assert weeks.age.tolist() == [4.0, 2.0]


def test_naive_order_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        summarise_orders([("a", datetime(2026, 10, 1), 100)], datetime(2026, 10, 2, tzinfo=UTC))


def test_clv_is_expected_order_value_times_expected_purchases_and_discounting_lowers_it() -> None:
    # given two customers summarised in weeks and fitted-looking models
    summary = CustomerSummary(
        customer_ids=(1, 2),
        frequency=np.array([2.0, 0.0]),
        recency=np.array([30.43, 0.0]),
        age=np.array([38.86, 38.86]),
        monetary=np.array([5000.0, 0.0]),
        unit="weeks",
    )
    spend = GammaGamma(p=6.0, q=4.0, gamma=1500.0, log_likelihood=0.0)

    # when CLV over 14 days is computed plain and at 10% a year (weekly steps)
    plain = customer_lifetime_value(PAPER_BGNBD, spend, summary, days=14)
    discounted = customer_lifetime_value(
        PAPER_BGNBD, spend, summary, days=14, annual_discount_rate=0.1
    )

    # then plain = E[value] × E[purchases in 2 weeks]; discounted weighs week 1 and week 2
    value = expected_order_value(spend, summary.frequency, summary.monetary)
    week1 = expected_purchases(PAPER_BGNBD, 1.0, summary.frequency, summary.recency, summary.age)
    week2 = expected_purchases(PAPER_BGNBD, 2.0, summary.frequency, summary.recency, summary.age)
    assert plain.tolist() == pytest.approx((value * week2).tolist(), rel=1e-12)
    by_hand = value * (week1 / 1.1 ** (7 / 365) + (week2 - week1) / 1.1 ** (14 / 365))
    assert discounted.tolist() == pytest.approx(by_hand.tolist(), rel=1e-12)
    assert all(d < p for d, p in zip(discounted, plain, strict=True))


def test_forecasts_follow_the_summary_end_to_end() -> None:
    # given a shopper with three order days and a one-time buyer
    rows = [
        (7, datetime(2026, 9, 1, 2, tzinfo=UTC), 1000),
        (7, datetime(2026, 9, 20, 2, tzinfo=UTC), 3000),
        (7, datetime(2026, 10, 10, 2, tzinfo=UTC), 5000),
        (8, datetime(2026, 10, 1, 2, tzinfo=UTC), 800),
    ]
    summary = summarise_orders(rows, datetime(2026, 10, 31, tzinfo=CHINA), unit="days")
    purchases = BgNbd(r=0.243, alpha=4.414 * 7, a=0.793, b=2.426, log_likelihood=0.0)
    spend = GammaGamma(p=6.0, q=4.0, gamma=1500.0, log_likelihood=0.0)

    # when forecasts for the next 30 days are made
    forecasts = forecast_customers(purchases, spend, summary, days=30)

    # then each row holds the model's figures for that customer
    regular, once = forecasts
    assert (regular.customer_id, once.customer_id) == (7, 8)
    assert regular.expected_purchases == pytest.approx(
        float(expected_purchases(purchases, 30.0, 2, 39.0, 60.0)[0]), rel=1e-12
    )
    assert regular.probability_alive == pytest.approx(
        float(probability_alive(purchases, 2, 39.0, 60.0)[0]), rel=1e-12
    )
    assert regular.expected_order_value_fen == pytest.approx((1500 + 8000) * 6 / 15, rel=1e-12)
    assert once.probability_alive == 1.0
    assert once.expected_order_value_fen == pytest.approx(3000.0, rel=1e-12)
    assert regular.clv_fen == pytest.approx(
        regular.expected_purchases * regular.expected_order_value_fen, rel=1e-12
    )
    assert once.clv_fen == pytest.approx(once.expected_purchases * 3000.0, rel=1e-12)


# A month of a young store (the demo's history before it was made sound): 81 shoppers,
# 30 with a repeat purchase, as (x, t_x, T in days, how many shoppers).
YOUNG_STORE = [
    (0, 0, 0, 3), (0, 0, 1, 7), (0, 0, 2, 5), (0, 0, 3, 6), (0, 0, 4, 4), (0, 0, 5, 4),
    (0, 0, 6, 3), (0, 0, 7, 1), (0, 0, 8, 6), (0, 0, 9, 1), (0, 0, 10, 2), (0, 0, 11, 1),
    (0, 0, 13, 1), (0, 0, 14, 1), (0, 0, 15, 1), (0, 0, 16, 2), (0, 0, 17, 1), (0, 0, 20, 1),
    (0, 0, 24, 1), (1, 1, 1, 1), (1, 1, 2, 2), (1, 1, 6, 1), (1, 1, 7, 1), (1, 1, 19, 1),
    (1, 1, 28, 1), (1, 2, 3, 1), (1, 2, 11, 1), (1, 4, 10, 1), (1, 4, 17, 2), (1, 5, 10, 1),
    (1, 5, 14, 1), (1, 6, 7, 1), (1, 6, 13, 1), (1, 7, 7, 1), (1, 7, 10, 1), (1, 7, 12, 1),
    (1, 8, 16, 1), (1, 9, 17, 1), (1, 10, 20, 1), (1, 12, 13, 1), (1, 17, 20, 1),
    (2, 2, 3, 1), (2, 2, 13, 1), (2, 4, 5, 1), (2, 12, 20, 1), (2, 14, 17, 1), (2, 17, 18, 1),
]  # fmt: skip


def test_a_fit_that_cannot_tell_shoppers_apart_is_called_degenerate() -> None:
    # given a month of orders in which every shopper could be buying at the same rate
    x, t_x, age = (
        np.repeat([float(row[i]) for row in YOUNG_STORE], [row[3] for row in YOUNG_STORE])
        for i in range(3)
    )

    # when BG/NBD is fitted
    model = fit_bgnbd(x, t_x, age)

    # then the purchase rates collapsed to one value (r ran off towards the bounds),
    # which is what ranked one-time buyers above repeat buyers; the fit says so
    assert model.r > 400
    assert model.degenerate == "rates"
    # while the published CDNOW fit and a sound simulated one are not degenerate
    assert PAPER_BGNBD.degenerate is None
    sx, st, sT = _simulate_bgnbd(2000, r=0.8, alpha=6.0, a=0.7, b=2.5, seed=3)
    assert fit_bgnbd(sx, st, sT).degenerate is None


def test_the_series_behind_large_dropout_parameters_matches_scipy_where_scipy_answers() -> None:
    from scipy import special

    from siyu.analytics.clv import _log_hyp2f1_series

    a = np.array([0.5, 3.4, 7.4, 12.0])
    b = np.array([2.0, 40.0, 95.0, 300.0])
    c = np.array([3.5, 60.0, 110.0, 320.0])
    z = np.array([0.1, 0.5, 0.67, 0.9])
    assert np.allclose(
        np.exp(_log_hyp2f1_series(a, b, c, z)), special.hyp2f1(a, b, c, z), rtol=1e-10
    )


def test_one_dropout_chance_for_every_shopper_still_gives_finite_forecasts() -> None:
    # given the fit of the demo's history: rates vary (r = 0.41) but a and b ran off
    # together (a + b ≈ 1.4e7: every shopper the same dropout chance, p ≈ 0.098)
    huge = BgNbd(r=0.4119, alpha=14.02, a=1.406e6, b=1.2989e7, log_likelihood=0.0)
    x, t_x, age = (
        np.array([7.0, 0.0, 2.0, 9.0]),
        np.array([26.0, 0.0, 1.0, 150.0]),
        np.array([30.0, 40.0, 3.0, 180.0]),
    )

    # when purchases are forecast (scipy's ₂F₁ gives no number for some of them)
    forecast = expected_purchases(huge, 90.0, x, t_x, age)

    # then every forecast is a finite number, close to the same model with a and b
    # scaled down a thousandfold (the limit is smooth), and the frequent recent buyer
    # is expected to buy more than the one-time buyer
    assert np.isfinite(forecast).all()
    smaller = BgNbd(r=0.4119, alpha=14.02, a=1.406e3, b=1.2989e4, log_likelihood=0.0)
    near = expected_purchases(smaller, 90.0, x, t_x, age)
    finite = np.isfinite(near)
    assert np.allclose(forecast[finite], near[finite], rtol=2e-3)
    assert forecast[0] > forecast[1]
