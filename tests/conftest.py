"""Shared fixtures: databases (SQLite and PostgreSQL), the app, a movable clock.

PostgreSQL tests read ``SIYU_TEST_POSTGRES_URL`` (default: the local test
database). Outside CI a missing server skips them with a message; with CI=true it
fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from siyu.analytics.schema import ensure_schema
from siyu.analytics.store import AnalyticsStore, ChdbStore, open_store
from siyu.app import create_app
from siyu.bootstrap import Context, build_context
from siyu.clock import FrozenClock
from siyu.config import Env, Settings
from siyu.models import metadata
from siyu.payment.wechatpay import WeChatPayProvider
from siyu.wechat.pay import WeChatPayClient, WeChatPayConfig

pytest_plugins = ["tests.fakes.fixtures"]

POSTGRES_URL = os.environ.get(
    "SIYU_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Monday


def _postgres_unavailable() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.__class__.__name__}"
    return None


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh database for this test session, with the schema created once."""
    problem = _postgres_unavailable()
    if problem:
        if IN_CI:
            pytest.fail(problem + " (CI=true: PostgreSQL is required)")
        pytest.skip(problem)
    name = f"siyu_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'siyu.db'}"
        engine = create_engine(url)
        metadata.create_all(engine)
        engine.dispose()
        return url
    url = request.getfixturevalue("postgres_database")
    _truncate_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'siyu.db'}"
    engine = create_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    return Settings(
        env=Env.test,
        database_url=database_url,
        data_dir=tmp_path,
        run_worker=False,
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def ctx(settings: Settings, clock: FrozenClock) -> Iterator[Context]:
    context = build_context(settings, clock=clock)
    yield context
    context.close()


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx=ctx, run_worker=False)) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def quick_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, at test cost: the production cost is ~0.2 s a hash here."""
    monkeypatch.setattr(
        "siyu.identity.operators._hasher",
        PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )


@pytest.fixture
def wechatpay_clock() -> FrozenClock:
    # Notifications are checked against this clock (±5 min); the fake signs with real time.
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def wechatpay_provider(wechatpay_config: WeChatPayConfig) -> Iterator[WeChatPayProvider]:
    with httpx.Client(timeout=5) as http:
        yield WeChatPayProvider(WeChatPayClient(http, wechatpay_config), wechatpay_config)


@pytest.fixture
def wechatpay_ctx(
    database_url: str,
    tmp_path: Path,
    wechatpay_provider: WeChatPayProvider,
    wechatpay_clock: FrozenClock,
) -> Iterator[Context]:
    """A context whose payments go to the fake WeChat Pay gateway."""
    settings = make_settings(database_url, tmp_path, payment_provider="wechatpay")
    context = build_context(
        settings, clock=wechatpay_clock, payments={"wechatpay": wechatpay_provider}
    )
    yield context
    context.close()


CLICKHOUSE_URL = os.environ.get("SIYU_TEST_CLICKHOUSE_URL", "")
_ANALYTICS_KINDS = ["chdb", "clickhouse"] if CLICKHOUSE_URL else ["chdb"]


@pytest.fixture(scope="session")
def chdb_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """chdb allows one data folder per process: tests share it, isolated by database."""
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(params=_ANALYTICS_KINDS)
def analytics_store(request: pytest.FixtureRequest, chdb_folder: Path) -> Iterator[AnalyticsStore]:
    """A fresh analytics database with the schema applied, on chdb (and on a ClickHouse
    server when SIYU_TEST_CLICKHOUSE_URL is set)."""
    database = f"t_{uuid.uuid4().hex[:12]}"
    if request.param == "chdb":
        store: AnalyticsStore = ChdbStore(chdb_folder, database=database)
    else:
        store = open_store(CLICKHOUSE_URL.rstrip("/") + "/" + database)
    ensure_schema(store)
    yield store
    store.command(f"DROP DATABASE IF EXISTS {database}")
    store.close()


REDIS_URL = os.environ.get("SIYU_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the test Redis (``SIYU_TEST_REDIS_URL``); its
    keys are deleted afterwards. Outside CI a missing server skips the test; with
    CI=true it fails the run."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        problem = f"Redis not reachable at {REDIS_URL}: {exc.__class__.__name__}"
        if IN_CI:
            pytest.fail(problem + " (CI=true: Redis is required)")
        pytest.skip(problem)
    prefix = f"siyu-test-{uuid.uuid4().hex[:10]}:"
    try:
        yield prefix
    finally:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
