from __future__ import annotations

from siyu.analytics.schema import MIGRATIONS, ensure_schema
from siyu.analytics.store import AnalyticsStore


def test_the_schema_is_applied_once_and_records_its_version(
    analytics_store: AnalyticsStore,
) -> None:
    db = analytics_store.database
    assert ensure_schema(analytics_store) == MIGRATIONS[-1][0]
    versions = analytics_store.query(f"SELECT version FROM {db}.schema_versions").rows
    assert versions == [(1,)]
    tables = analytics_store.query(
        "SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name", {"db": db}
    ).rows
    assert tables == [("events",), ("person_links",), ("schema_versions",)]


def test_a_retried_batch_with_the_same_token_is_stored_once(
    analytics_store: AnalyticsStore,
) -> None:
    # given one batch of two events sent twice with the same dedup token
    columns = ["event_id", "event", "anonymous_id", "timestamp", "client_time", "received_at"]
    rows = [
        (
            "e1",
            "page_view",
            "dev-1",
            "2026-11-01 00:00:00",
            "2026-11-01 00:00:00",
            "2026-11-01 00:00:01",
        ),
        (
            "e2",
            "page_view",
            "dev-1",
            "2026-11-01 00:00:05",
            "2026-11-01 00:00:05",
            "2026-11-01 00:00:06",
        ),
    ]
    analytics_store.insert("events", columns, rows, dedup_token="batch-1")
    analytics_store.insert("events", columns, rows, dedup_token="batch-1")

    # then the table holds each event once
    db = analytics_store.database
    count = analytics_store.query(f"SELECT count() FROM {db}.events").scalar()
    assert count == 2


def test_parameters_are_bound_not_formatted(analytics_store: AnalyticsStore) -> None:
    result = analytics_store.query(
        "SELECT {s:String} AS s, {n:UInt64} + 1 AS n", {"s": "it's 中文", "n": 41}
    )
    assert result.dicts() == [{"s": "it's 中文", "n": 42}]
