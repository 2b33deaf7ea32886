"""Settings refuse, at start-up, a payment timeout no shopper could pay within."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from siyu.cli import app
from siyu.config import MIN_PAYMENT_TIMEOUT_MINUTES, Settings


@pytest.mark.parametrize("minutes", [-5, 0, 1])
def test_a_payment_timeout_below_what_pay_accepts_is_refused_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, minutes: int
) -> None:
    # given the environment sets a timeout shorter than /pay's minimum time left
    monkeypatch.setenv("SIYU_PAYMENT_TIMEOUT_MINUTES", str(minutes))

    # when the settings are read at start-up
    with pytest.raises(ValidationError) as refused:
        Settings()

    # then they are refused, naming the variable and the minimum
    message = str(refused.value)
    assert f"SIYU_PAYMENT_TIMEOUT_MINUTES={minutes} is too short" in message
    assert f"at least {MIN_PAYMENT_TIMEOUT_MINUTES} minutes" in message


def test_the_shortest_payable_timeout_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    # given the shortest timeout /pay can still accept
    monkeypatch.setenv("SIYU_PAYMENT_TIMEOUT_MINUTES", str(MIN_PAYMENT_TIMEOUT_MINUTES))

    # when / then the settings are read with it
    assert Settings().payment_timeout_minutes == MIN_PAYMENT_TIMEOUT_MINUTES


def test_siyu_refuses_to_start_with_an_unpayable_timeout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given a one-minute payment timeout in the environment
    monkeypatch.setenv("SIYU_PAYMENT_TIMEOUT_MINUTES", "1")
    monkeypatch.setenv("SIYU_DATA_DIR", str(tmp_path))

    # when the server is started
    result = CliRunner().invoke(app, ["serve"])

    # then it stops before serving, saying what is wrong
    assert result.exit_code == 2
    assert "SIYU_PAYMENT_TIMEOUT_MINUTES=1 is too short" in result.output
