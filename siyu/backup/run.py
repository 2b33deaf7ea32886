"""``siyu backup DIR`` and ``siyu restore DIR``: the SQL store, the analytics store and
the media folder, with a manifest that lets a restore verify what it reads.

A backup is written into a hidden sibling folder and renamed to ``DIR`` only once its
manifest is written, so a crashed backup never looks complete. A restore checks the
manifest and every checksum, the target's dialect and that the target is empty (unless
``force``) before it changes anything, and compares the row counts after.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from siyu import __version__
from siyu.analytics.store import AnalyticsStore, open_store
from siyu.backup import analytics, sql
from siyu.backup.manifest import BackupError, Manifest, read_manifest
from siyu.config import Settings
from siyu.migrate import alembic_config

MEDIA_FILE = "media.tar.gz"


@dataclass
class Server:
    """How to reach a running ``siyu serve`` when it holds the analytics folder."""

    base_url: str
    http: httpx.Client | None = None  # injected (tests); else one is made


def _prepare(dest: Path) -> Path:
    dest = dest.resolve()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(
            f"{dest} 已存在且非空：请为每次备份指定新目录 / {dest} exists and is not empty: "
            "give each backup a new folder"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.parent / f".{dest.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    return partial


def _media_backup(media: Path, folder: Path) -> int:
    files = [p for p in media.rglob("*") if p.is_file()] if media.is_dir() else []
    with tarfile.open(folder / MEDIA_FILE, "w:gz") as archive:
        for path in sorted(files):
            archive.add(path, arcname=str(path.relative_to(media)), recursive=False)
    return len(files)


def _export_analytics(
    settings: Settings, folder: Path, store: AnalyticsStore | None, server: Server | None
) -> tuple[analytics.Exported, str]:
    if store is not None:
        return analytics.export_local(store, folder), "local"
    url = settings.analytics_store_url
    if analytics.chdb_folder_locked(url) or (server is not None and url.startswith("chdb://")):
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
        server = server or Server(f"http://{host}:{settings.port}")
        secret = settings.secret_key.get_secret_value()

        def token() -> str:
            return analytics.maintenance_token(secret, _now())

        http = server.http or httpx.Client(timeout=httpx.Timeout(3600.0, connect=10.0))
        try:
            return analytics.export_remote(http, server.base_url, token, folder), "server"
        finally:
            if server.http is None:
                http.close()
    try:
        opened = open_store(url)
    except Exception as exc:
        raise BackupError(f"无法打开分析数据库 / Cannot open the analytics store: {exc}") from exc
    try:
        return analytics.export_local(opened, folder), "local"
    except Exception as exc:
        raise BackupError(f"分析数据导出失败 / Exporting the analytics failed: {exc}") from exc
    finally:
        opened.close()


def _now() -> datetime:
    return datetime.now(UTC)


def create_backup(
    settings: Settings,
    dest: Path,
    *,
    analytics_store: AnalyticsStore | None = None,
    server: Server | None = None,
) -> Manifest:
    """Backs the store up into the new folder ``dest``; returns its manifest."""
    partial = _prepare(dest)
    try:
        dialect, counts, revision, db_file = sql.backup_database(settings.sqlalchemy_url, partial)
        exported, source = _export_analytics(settings, partial, analytics_store, server)
        media_files = _media_backup(settings.media_dir, partial)
        manifest = Manifest(
            siyu_version=__version__,
            created_at=_now().isoformat(timespec="seconds"),
            database_dialect=dialect,
            alembic_revision=revision,
            sql_tables=counts,
            analytics_database=exported.database,
            analytics_source=source,
            analytics_tables=exported.tables,
            media_files=media_files,
        )
        for name in [db_file, *exported.files, MEDIA_FILE]:
            manifest.add_file(partial, name)
        manifest.write(partial)
        if dest.exists():
            dest.rmdir()
        partial.rename(dest.resolve())
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def _check_revision(manifest: Manifest) -> None:
    if manifest.alembic_revision is None:
        return
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    try:
        known = script.get_revision(manifest.alembic_revision) is not None
    except Exception:
        known = False
    if not known:
        raise BackupError(
            f"备份的数据库版本 {manifest.alembic_revision} 比本程序新（siyu "
            f"{manifest.siyu_version}）：请先升级 siyu / The backup's schema revision "
            f"{manifest.alembic_revision} is unknown to this siyu ({__version__}); upgrade "
            f"siyu to {manifest.siyu_version} or later first"
        )


def _check_media(media: Path, force: bool) -> None:
    if media.is_dir() and any(media.iterdir()) and not force:
        raise BackupError(
            f"媒体目录 {media} 非空 / The media folder {media} is not empty (use --force)"
        )


def _media_restore(folder: Path, media: Path) -> None:
    if media.is_dir():
        shutil.rmtree(media)
    media.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / MEDIA_FILE, "r:gz") as archive:
        archive.extractall(media, filter="data")


def restore_backup(
    settings: Settings,
    source: Path,
    *,
    force: bool = False,
    analytics_store: AnalyticsStore | None = None,
) -> Manifest:
    """Restores the backup in ``source`` into the configured (empty) stores."""
    folder = source.resolve()
    manifest = read_manifest(folder)
    _check_revision(manifest)
    url = settings.sqlalchemy_url
    target_dialect = sql.dialect_of(url)
    if target_dialect != manifest.database_dialect:
        raise BackupError(
            f"备份来自 {manifest.database_dialect}，目标是 {target_dialect}：无法恢复 / "
            f"The backup is of a {manifest.database_dialect} database, the target is "
            f"{target_dialect}: restore into the same kind of database"
        )
    existing = {t: n for t, n in sql.database_rows(url).items() if n and t != "alembic_version"}
    if existing and not force:
        raise BackupError(
            f"目标数据库非空（{len(existing)} 张表有数据）/ The target database is not empty "
            f"({len(existing)} tables have rows: {', '.join(sorted(existing)[:5])}…); "
            "restore into an empty database or pass --force to replace it"
        )
    _check_media(settings.media_dir, force)
    store = analytics_store or analytics.open_target(settings.analytics_store_url)
    try:
        if analytics.analytics_rows(store, list(manifest.analytics_tables)) and not force:
            raise BackupError(
                "目标分析数据库非空 / The target analytics store is not empty; "
                "restore into an empty one or pass --force to replace it"
            )
        sql.restore_database(url, folder, manifest.database_dialect)
        restored = sql.database_rows(url)
        wrong = {t for t, n in manifest.sql_tables.items() if restored.get(t) != n}
        if wrong:
            raise BackupError(
                f"恢复后行数不符 / Row counts differ after the restore: {', '.join(sorted(wrong))}"
            )
        rows = analytics.import_tables(
            store, folder, manifest.analytics_database, manifest.analytics_tables
        )
        wrong = {t for t, n in rows.items() if manifest.analytics_tables.get(t) != n}
        if wrong:
            raise BackupError(
                f"分析数据行数不符 / Analytics row counts differ: {', '.join(sorted(wrong))}"
            )
    finally:
        if analytics_store is None:
            store.close()
    _media_restore(folder, settings.media_dir)
    return manifest
