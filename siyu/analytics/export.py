"""Whole analytics tables as Parquet files: what backups copy (``siyu backup``), read
through the store itself so they work on chdb and on a ClickHouse server alike.

A table is exported in one query, so each file is one consistent snapshot of its table.
Tables whose engine collapses rows in background merges (``ReplacingMergeTree``…) are
read ``FINAL``: the file holds the rows as merges would leave them, so a restored table
keeps the exported row count however its own merges run.
"""

from __future__ import annotations

from dataclasses import dataclass

from siyu.analytics.store import AnalyticsStore, RawAnalyticsStore

FORMAT = "Parquet"
_COLLAPSING = ("Replacing", "Collapsing", "Summing", "Aggregating", "Coalescing")
_COPIED_ENGINES = ("MergeTree", "Log", "Memory")


@dataclass(frozen=True)
class TableInfo:
    name: str
    engine: str
    ddl: str  # CREATE TABLE statement, for a table the target's schema lacks


def backup_tables(store: AnalyticsStore) -> list[TableInfo]:
    """The data tables of the store's database (views and inner tables left out)."""
    rows = store.query(
        "SELECT name, engine, create_table_query FROM system.tables "
        "WHERE database = {db:String} ORDER BY name",
        {"db": store.database},
    ).rows
    return [
        TableInfo(str(name), str(engine), str(ddl))
        for name, engine, ddl in rows
        if not str(name).startswith(".inner") and str(engine).endswith(_COPIED_ENGINES)
    ]


def export_table(store: AnalyticsStore, table: TableInfo) -> bytes:
    """The whole table as one Parquet file."""
    if not isinstance(store, RawAnalyticsStore):
        raise TypeError("this analytics store cannot export tables")
    final = " FINAL" if any(word in table.engine for word in _COLLAPSING) else ""
    return store.query_bytes(f"SELECT * FROM {store.database}.`{table.name}`{final}", FORMAT)
