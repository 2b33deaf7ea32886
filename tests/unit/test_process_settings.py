"""Several processes: which stores refuse them, and that every API process of
``siyu serve --workers N`` serves with Siyu's heap-settling server."""

from __future__ import annotations

import pytest
import uvicorn

from siyu.config import Env, Settings
from siyu.server import Server, Supervisor, _SettledProcess

SECRETS = {"secret_key": "s" * 40, "data_key": "d" * 40}
LIVE = {"wechat_mode": "live", "payment_provider": "wechatpay"}


def test_production_refuses_sqlite_and_chdb_with_several_processes() -> None:
    # given production settings on the embedded stores
    settings = Settings(env=Env.production, **SECRETS, **LIVE)  # type: ignore[arg-type]

    # when several processes are asked for, then both stores are named in the refusal
    with pytest.raises(ValueError, match="SQLite") as refused:
        settings.check_several_processes("siyu worker")
    assert "chdb" in str(refused.value)


def test_production_accepts_postgresql_and_a_clickhouse_server() -> None:
    settings = Settings(
        env=Env.production,
        database_url="postgresql+psycopg://siyu@db/siyu",
        analytics_url="clickhouse://ch:8123/siyu",
        **SECRETS,  # type: ignore[arg-type]
        **LIVE,  # type: ignore[arg-type]
    )
    assert settings.check_several_processes("siyu serve --workers 4") == []


def test_development_only_warns_about_the_embedded_stores() -> None:
    warnings = Settings(env=Env.development).check_several_processes("siyu worker")
    assert len(warnings) == 2
    assert "SIYU_DATABASE_URL" in warnings[0] and "SIYU_ANALYTICS_URL" in warnings[1]


def test_every_supervised_api_process_serves_with_the_heap_settling_server() -> None:
    # given the configuration ``siyu serve --workers 2`` builds
    config = uvicorn.Config("siyu.server:app_from_environment", factory=True, workers=2)

    # when the supervisor's process is made (not started)
    process = _SettledProcess(config, [])

    # then it serves with Siyu's Server, which freezes the heap after startup
    assert type(process.server) is Server
    assert issubclass(Supervisor, uvicorn.supervisors.Multiprocess)
