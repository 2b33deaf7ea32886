"""The JavaScript tracking SDK (clients/track) passes its own tests under Node.js.

Runs ``node --test clients/track/test`` (deterministic fakes, no network, no npm
packages). Without ``node`` on PATH the test is skipped, unless CI=true, where it fails.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[1]
SDK_TESTS = ROOT / "clients" / "track" / "test"


def test_the_tracking_sdk_passes_its_node_tests() -> None:
    node = shutil.which("node")
    if node is None:
        message = "node not found: install Node.js >= 20 to run the tracking SDK tests"
        if IN_CI:
            pytest.fail(message + " (CI=true: the SDK tests are required)", pytrace=False)
        pytest.skip(message)

    # when the SDK's test files run under node's built-in test runner
    result = subprocess.run(
        [node, "--test", str(SDK_TESTS.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # then every test passes (and there are tests at all)
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    assert "# fail 0" in result.stdout, report
    assert "# pass 0" not in result.stdout, report
