"""siyu/tracking/ingest.py is the one way an event enters the analytics store: no other
module inserts into ``events`` or ``person_links`` (the bulk bench generator, which
writes generated SQL into a bench database, is the one named exception)."""

from __future__ import annotations

import re
from pathlib import Path

SIYU = Path(__file__).resolve().parents[2] / "siyu"
WRITES = re.compile(
    r"""insert\(\s*["'](events|person_links)["']|INSERT INTO[^\n]*\b(events|person_links)\b"""
)
ALLOWED = {"tracking/ingest.py", "devtools/simulate_bulk.py"}


def test_only_ingest_writes_events() -> None:
    writers = {
        str(path.relative_to(SIYU))
        for path in SIYU.rglob("*.py")
        if WRITES.search(path.read_text(encoding="utf-8"))
    }
    assert "tracking/ingest.py" in writers  # the pattern does find the real writer
    assert writers <= ALLOWED, writers - ALLOWED
