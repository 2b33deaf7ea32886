"""The SQL store's part of a backup: SQLite through its online backup API, PostgreSQL
through ``pg_dump --format=custom`` / ``pg_restore``.

Both copy one consistent snapshot while ``siyu serve`` keeps writing: SQLite's backup
copies the whole file in one step under a read transaction (WAL readers do not block
the writer), and ``pg_dump`` runs on a snapshot exported by the transaction that also
counts the rows, so the manifest's counts are those of the dump.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from siyu.backup.manifest import BackupError

SQLITE_FILE = "database.sqlite"
PG_FILE = "database.pgdump"


def dialect_of(url: str) -> str:
    return make_url(url).get_backend_name()


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("内存数据库无法备份 / An in-memory SQLite database cannot be backed up")
    return Path(database)


def _count(conn: Connection, tables: list[str]) -> dict[str, int]:
    return {t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()) for t in tables}


def _revision(conn: Connection, tables: list[str]) -> str | None:
    if "alembic_version" not in tables:
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _snapshot_info(url: str) -> tuple[dict[str, int], str | None]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = sorted(inspect(conn).get_table_names())
            return _count(conn, tables), _revision(conn, tables)
    finally:
        engine.dispose()


def backup_sqlite(url: str, folder: Path) -> tuple[dict[str, int], str | None]:
    source_path = _sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(f"数据库文件不存在 / No database file at {source_path}")
    target = folder / SQLITE_FILE
    source = sqlite3.connect(f"{source_path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # pages=-1: the whole file in one step, one snapshot
    finally:
        copy.close()
        source.close()
    return _snapshot_info(f"sqlite:///{target}")


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL for the pg_* tools, with the password in the environment."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"找不到 {name}：请安装 PostgreSQL 客户端工具 / "
            f"{name} not found: install the PostgreSQL client tools"
        )
    return found


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{what} 失败 / {what} failed: {done.stderr.strip()[-2000:]}")


def backup_postgres(url: str, folder: Path) -> tuple[dict[str, int], str | None]:
    pg_dump = _tool("pg_dump")
    libpq, env = _libpq(url)
    engine = create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as conn:
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            tables = sorted(inspect(conn).get_table_names())
            counts, revision = _count(conn, tables), _revision(conn, tables)
            args = [pg_dump, "--format=custom", f"--snapshot={snapshot}", "--no-owner"]
            _run([*args, f"--file={folder / PG_FILE}", f"--dbname={libpq}"], env, "pg_dump")
            conn.rollback()
    except SQLAlchemyError as exc:
        raise BackupError(f"无法连接数据库 / Cannot reach the database: {exc}") from exc
    finally:
        engine.dispose()
    return counts, revision


def backup_database(url: str, folder: Path) -> tuple[str, dict[str, int], str | None, str]:
    """Copies the database into ``folder``: (dialect, row counts, alembic revision, file)."""
    dialect = dialect_of(url)
    if dialect == "sqlite":
        return (dialect, *backup_sqlite(url, folder), SQLITE_FILE)
    if dialect == "postgresql":
        return (dialect, *backup_postgres(url, folder), PG_FILE)
    raise BackupError(f"不支持的数据库 {dialect} / Unsupported database {dialect}")


def database_rows(url: str) -> dict[str, int]:
    """Row counts of the target's tables ({} when it has none or does not exist yet)."""
    if dialect_of(url) == "sqlite" and not _sqlite_path(url).exists():
        return {}
    try:
        return _snapshot_info(url)[0]
    except SQLAlchemyError as exc:
        raise BackupError(f"无法连接数据库 / Cannot reach the database: {exc}") from exc


def restore_database(url: str, folder: Path, dialect: str) -> None:
    if dialect == "sqlite":
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
            leftover.unlink(missing_ok=True)
        source = sqlite3.connect(f"{(folder / SQLITE_FILE).as_uri()}?mode=ro", uri=True)
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        return
    pg_restore = _tool("pg_restore")
    libpq, env = _libpq(url)
    args = [pg_restore, "--no-owner", "--no-privileges", "--clean", "--if-exists"]
    args += ["--single-transaction", "--exit-on-error", f"--dbname={libpq}"]
    _run([*args, str(folder / PG_FILE)], env, "pg_restore")
