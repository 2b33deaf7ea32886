"""House rules of the code base (docs/architecture.md): no module in ``siyu/`` over
600 lines, and no grab-bag ``utils.py``."""

from __future__ import annotations

from pathlib import Path

SIYU = Path(__file__).resolve().parents[2] / "siyu"
MAX_LINES = 600


def test_no_module_is_over_600_lines() -> None:
    long = {
        str(path.relative_to(SIYU)): n
        for path in SIYU.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these modules (lines): {long}"


def test_there_is_no_utils_module() -> None:
    assert not [p for p in SIYU.rglob("*.py") if p.stem in ("utils", "util", "helpers", "misc")]
