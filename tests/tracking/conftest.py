"""Tracking fixtures: a context and a client whose analytics store is the test's chdb
database (``analytics_store``), on SQLite (ingestion does not touch the OLTP store)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from siyu.analytics.schema import EVENTS
from siyu.analytics.store import AnalyticsStore
from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.clock import FrozenClock
from tests.conftest import make_settings


@pytest.fixture
def track_ctx(
    sqlite_url: str, tmp_path: Path, clock: FrozenClock, analytics_store: AnalyticsStore
) -> Iterator[Context]:
    context = build_context(
        make_settings(sqlite_url, tmp_path), clock=clock, analytics=analytics_store
    )
    yield context
    context.close()


@pytest.fixture
def track_client(track_ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx=track_ctx, run_worker=False)) as test_client:
        yield test_client


def stored(
    store: AnalyticsStore, columns: str, where: str = "1", **params: Any
) -> list[tuple[Any, ...]]:
    """Rows of the deduplicated events view, ordered by event id."""
    sql = (
        f"SELECT {columns} FROM {EVENTS.format(db=store.database)} WHERE {where} ORDER BY event_id"
    )
    return store.query(sql, params).rows


def raw_count(store: AnalyticsStore) -> int:
    """Rows physically in ``events`` (before any merge): catches double inserts."""
    return int(store.query(f"SELECT count() FROM {store.database}.events").scalar())
