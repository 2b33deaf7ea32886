"""The analytics store's part of a backup: each table as a Parquet file.

chdb allows one process per data folder: while ``siyu serve`` runs, it holds the
folder's lock, so the backup asks the running server for the tables instead
(``/api/maintenance/analytics``, authorised by a short-lived token signed with the
store's secret key). A ClickHouse server is read directly.
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pyarrow.parquet as pq

from siyu.analytics.export import TableInfo, backup_tables, export_table
from siyu.analytics.schema import ensure_schema
from siyu.analytics.store import AnalyticsStore, ChdbStore, RawAnalyticsStore, open_store
from siyu.backup.manifest import BackupError
from siyu.identity.tokens import TokenClaims, issue_token

FOLDER = "analytics"
MAINTENANCE_KIND = "maintenance"
TOKEN_TTL = timedelta(minutes=10)
SKIPPED_ON_RESTORE = frozenset({"schema_versions"})  # ensure_schema writes the target's own


def chdb_folder_locked(url: str) -> bool:
    """True when another process (a running ``siyu serve``) holds the chdb folder."""
    if not url.startswith("chdb://"):
        return False
    folder = Path(url.removeprefix("chdb://")).resolve()
    if getattr(ChdbStore, "_path", None) == str(folder):
        return False  # this process holds it: usable
    status = folder / "status"
    if not status.exists():
        return False
    with status.open("rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def locked_message(url: str) -> str:
    return (
        f"分析数据目录 {url} 正被运行中的 siyu serve 占用 / The analytics folder {url} is "
        "held by a running `siyu serve`"
    )


@dataclass(frozen=True)
class Exported:
    database: str
    tables: dict[str, int]
    files: list[str]


def _write(folder: Path, table: TableInfo, data: bytes) -> tuple[int, list[str]]:
    (folder / FOLDER).mkdir(exist_ok=True)
    data_name, ddl_name = f"{FOLDER}/{table.name}.parquet", f"{FOLDER}/{table.name}.sql"
    (folder / data_name).write_bytes(data)
    (folder / ddl_name).write_text(table.ddl + "\n", encoding="utf-8")
    return pq.read_metadata(folder / data_name).num_rows, [data_name, ddl_name]


def export_local(store: AnalyticsStore, folder: Path) -> Exported:
    tables: dict[str, int] = {}
    files: list[str] = []
    for table in backup_tables(store):
        tables[table.name], names = _write(folder, table, export_table(store, table))
        files += names
    return Exported(store.database, tables, files)


def maintenance_token(secret: str, now: datetime) -> str:
    expires = int((now + TOKEN_TTL).timestamp())
    return issue_token(secret, TokenClaims(MAINTENANCE_KIND, 0, expires))


def export_remote(
    http: httpx.Client, base_url: str, token: Callable[[], str], folder: Path
) -> Exported:
    """The tables as the running server streams them (see siyu.web.api.maintenance);
    ``token`` makes a fresh maintenance token for each request."""
    base = base_url.rstrip("/") + "/api/maintenance/analytics"
    try:
        listing = http.get(base, headers={"Authorization": f"Bearer {token()}"})
        _check(listing, base_url)
        body = listing.json()
        tables: dict[str, int] = {}
        files: list[str] = []
        for item in body["tables"]:
            info = TableInfo(item["name"], item["engine"], item["ddl"])
            auth = {"Authorization": f"Bearer {token()}"}
            answer = http.get(f"{base}/{info.name}", headers=auth)
            _check(answer, base_url)
            tables[info.name], names = _write(folder, info, answer.content)
            files += names
    except httpx.HTTPError as exc:
        raise BackupError(
            f"分析数据目录被占用，且无法连接运行中的服务 {base_url} / The analytics store "
            f"is held by another process and the running server at {base_url} cannot be "
            f"reached ({exc}); pass --server URL of the running `siyu serve`"
        ) from exc
    return Exported(str(body["database"]), tables, files)


def _check(response: httpx.Response, base_url: str) -> None:
    if response.status_code == 200:
        return
    if response.status_code in (401, 403):
        raise BackupError(
            f"服务 {base_url} 拒绝了维护令牌：SIYU_SECRET_KEY 与服务不一致 / The server at "
            f"{base_url} refused the maintenance token: SIYU_SECRET_KEY differs from its own"
        )
    raise BackupError(
        f"服务 {base_url} 导出分析数据失败 / The server at {base_url} failed to export "
        f"analytics: HTTP {response.status_code} {response.text[:500]}"
    )


def open_target(url: str) -> AnalyticsStore:
    if chdb_folder_locked(url):
        raise BackupError(locked_message(url) + "：恢复前请先停止服务 / stop it before restoring")
    try:
        return open_store(url)
    except Exception as exc:
        raise BackupError(f"无法打开分析数据库 / Cannot open the analytics store: {exc}") from exc


def _table_names(store: AnalyticsStore) -> set[str]:
    return {t.name for t in backup_tables(store)}


def analytics_rows(store: AnalyticsStore, tables: list[str]) -> int:
    """Rows already in the target's copies of ``tables`` (schema versions aside)."""
    present = _table_names(store)
    return sum(
        int(store.query(f"SELECT count() FROM {store.database}.`{t}`").scalar() or 0)
        for t in tables
        if t in present and t not in SKIPPED_ON_RESTORE
    )


def import_tables(
    store: AnalyticsStore, folder: Path, source_database: str, tables: dict[str, int]
) -> dict[str, int]:
    """Loads every table file into the target (schema first); returns the rows now there."""
    if not isinstance(store, RawAnalyticsStore):
        raise BackupError("此分析存储不支持导入 / This analytics store cannot import tables")
    ensure_schema(store)
    present = _table_names(store)
    restored: dict[str, int] = {}
    for name in tables:
        if name in SKIPPED_ON_RESTORE:
            continue
        if name not in present:
            ddl = (folder / FOLDER / f"{name}.sql").read_text(encoding="utf-8")
            pattern = rf"^(CREATE TABLE )`?{re.escape(source_database)}`?\."
            store.command(re.sub(pattern, rf"\g<1>{store.database}.", ddl.strip()))
        store.command(f"TRUNCATE TABLE {store.database}.`{name}`")
        store.insert_file(name, folder / FOLDER / f"{name}.parquet", "Parquet")
        count = store.query(f"SELECT count() FROM {store.database}.`{name}`").scalar()
        restored[name] = int(count or 0)
    return restored
