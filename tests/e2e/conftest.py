"""Browser fixtures for the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import ARTIFACTS, launch_chromium


@pytest.fixture
def browser() -> Iterator[Any]:
    (ARTIFACTS / "e2e").mkdir(parents=True, exist_ok=True)
    with launch_chromium() as chromium:
        yield chromium
