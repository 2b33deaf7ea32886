"""Versioned schema of the analytics tables (ClickHouse SQL, chdb and server alike).

``events`` holds client events (from /api/track) and server-side facts (from the
outbox) in one table, so analytics reads only the analytics store. A row is one
event; ``event_id`` is its dedup key (ReplacingMergeTree collapses retries at merge
time; queries that must be exact read through :data:`EVENTS` which dedups).

``person_links`` stitches devices to shoppers: an anonymous id seen before login
belongs to the shopper who later logged in on it. Queries count persons via
:data:`PERSON_ID`: the shopper id when known (on the event or through a link),
otherwise the device.

Each migration runs once; applied versions are recorded in ``schema_versions``.
"""

from __future__ import annotations

from siyu.analytics.store import AnalyticsStore

MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """
            CREATE TABLE IF NOT EXISTS {db}.events (
                event_id String,
                event LowCardinality(String),
                anonymous_id String,
                shopper_id UInt64 DEFAULT 0,
                timestamp DateTime64(3, 'UTC'),
                client_time DateTime64(3, 'UTC'),
                received_at DateTime64(3, 'UTC'),
                page String DEFAULT '',
                referrer String DEFAULT '',
                scene UInt16 DEFAULT 0,
                channel LowCardinality(String) DEFAULT '',
                channel_code String DEFAULT '',
                sharer_id UInt64 DEFAULT 0,
                share_depth UInt8 DEFAULT 0,
                properties String DEFAULT '{{}}',
                source LowCardinality(String) DEFAULT 'client',
                amount_fen Int64 DEFAULT 0,
                order_id UInt64 DEFAULT 0
            )
            ENGINE = ReplacingMergeTree
            PARTITION BY toYYYYMM(timestamp)
            ORDER BY (toDate(timestamp), event, anonymous_id, event_id)
            SETTINGS non_replicated_deduplication_window = 10000
            """,
            """
            CREATE TABLE IF NOT EXISTS {db}.person_links (
                anonymous_id String,
                shopper_id UInt64,
                linked_at DateTime64(3, 'UTC')
            )
            ENGINE = ReplacingMergeTree(linked_at)
            ORDER BY anonymous_id
            """,
        ],
    ),
]

# Events with retried duplicates removed (exact counts before background merges).
EVENTS = "(SELECT * FROM {db}.events LIMIT 1 BY event_id)"

# The latest shopper each device was linked to.
LINKS = (
    "(SELECT anonymous_id, argMax(shopper_id, linked_at) AS linked_shopper "
    "FROM {db}.person_links GROUP BY anonymous_id)"
)

# A person: the shopper when known (on the event or via a link), else the device.
PERSON_ID = (
    "if(e.shopper_id != 0, toString(e.shopper_id), "
    "if(l.linked_shopper != 0, toString(l.linked_shopper), concat('a:', e.anonymous_id)))"
)


def events_with_persons(db: str) -> str:
    """A FROM clause: deduplicated events ``e`` joined to device links ``l``; select
    ``{PERSON_ID} AS person_id`` from it."""
    return (
        f"{EVENTS.format(db=db)} AS e LEFT JOIN {LINKS.format(db=db)} AS l "
        "ON e.anonymous_id = l.anonymous_id"
    )


def ensure_schema(store: AnalyticsStore) -> int:
    """Apply missing migrations; returns the schema version now in place."""
    db = store.database
    store.command(
        f"CREATE TABLE IF NOT EXISTS {db}.schema_versions "
        "(version UInt32, applied_at DateTime DEFAULT now()) ENGINE = MergeTree ORDER BY version"
    )
    applied = {row[0] for row in store.query(f"SELECT version FROM {db}.schema_versions").rows}
    for version, statements in MIGRATIONS:
        if version in applied:
            continue
        for statement in statements:
            store.command(statement.format(db=db))
        store.insert("schema_versions", ["version"], [(version,)])
    return max(v for v, _ in MIGRATIONS)
