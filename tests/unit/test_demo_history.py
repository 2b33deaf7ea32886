"""The demo's order history follows the story BG/NBD tells (shoppers buy at their own
rates and stop for good now and then), so the CLV page fits a sound model on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from random import Random

import pytest

from siyu.analytics.clv import fit_bgnbd, summarise_orders
from siyu.devtools.demo import HISTORY_DAYS, purchase_times
from siyu.order.carriers import CARRIERS, looks_like

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize("seed", range(6))
def test_sixty_demo_shoppers_give_a_history_the_clv_model_fits_soundly(seed: int) -> None:
    # given sixty shoppers arriving over the demo store's half year
    rng = Random(seed)
    rows = []
    for i in range(60):
        age = HISTORY_DAYS if i == 0 else rng.uniform(0.05, HISTORY_DAYS)
        for at in purchase_times(rng, NOW - timedelta(days=age), NOW - timedelta(hours=1)):
            rows.append((i, at, 9900))

    # when their orders are summarised and BG/NBD fitted
    summary = summarise_orders(rows, now=NOW)
    model = fit_bgnbd(summary.frequency, summary.recency, summary.age)

    # then there are repeat buyers, and the fit tells frequent buyers from rare ones
    assert (summary.frequency > 0).sum() >= 10
    assert model.degenerate is None, model
    # and every purchase lies between the registration and the end of the history
    assert all(NOW - timedelta(days=HISTORY_DAYS + 4) < at < NOW for _, at, _ in rows)


def test_purchase_times_are_in_order_and_never_before_registering() -> None:
    rng = Random(1)
    for _ in range(200):
        registered = NOW - timedelta(days=rng.uniform(0, HISTORY_DAYS))
        times = purchase_times(rng, registered, NOW)
        assert times == sorted(times)
        assert all(registered < at < NOW for at in times)


def test_each_carrier_draws_tracking_numbers_of_its_own_shape() -> None:
    rng = Random(7)
    for carrier in CARRIERS:
        number = carrier.sample_number(rng)
        assert looks_like(carrier.name, number), (carrier, number)
        others = [c for c in CARRIERS if c.name != carrier.name and not looks_like(c.name, number)]
        assert others, carrier  # a number is not every carrier's at once
    assert looks_like("顺丰速运", "SF1234567890123")
    assert not looks_like("顺丰速运", "YT1234567890123")
    assert looks_like("某同城配送", "anything")  # unknown carriers: no opinion
