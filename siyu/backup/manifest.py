"""The backup's ``manifest.json``: what was copied, from what, and every file's checksum.

It is written last, into a folder renamed into place only when complete, so a folder
with a manifest whose files all match their checksums is a whole backup.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class BackupError(Exception):
    """A backup or restore refused or failed; the message is bilingual (zh-CN / en)."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Manifest:
    siyu_version: str
    created_at: str  # ISO 8601, UTC
    database_dialect: str
    alembic_revision: str | None
    sql_tables: dict[str, int]
    analytics_database: str
    analytics_source: str  # "local" | "server"
    analytics_tables: dict[str, int]
    media_files: int
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # name → sha256, bytes
    format_version: int = FORMAT_VERSION

    def add_file(self, folder: Path, name: str) -> None:
        path = folder / name
        self.files[name] = {"sha256": sha256_of(path), "bytes": path.stat().st_size}

    def write(self, folder: Path) -> None:
        text = json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True)
        (folder / MANIFEST).write_text(text + "\n", encoding="utf-8")


def read_manifest(folder: Path) -> Manifest:
    """The folder's manifest, after checking every file it lists; refuses anything else."""
    path = folder / MANIFEST
    if not folder.is_dir():
        raise BackupError(f"备份目录不存在 / No backup folder at {folder}")
    if not path.is_file():
        raise BackupError(
            f"{folder} 没有 manifest.json：不是完整的备份 / "
            f"{folder} has no manifest.json: not a complete backup"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format_version") != FORMAT_VERSION:
            raise BackupError(
                f"不支持的备份格式 {data.get('format_version')} / "
                f"Unsupported backup format {data.get('format_version')}"
            )
        manifest = Manifest(**data)
    except (ValueError, TypeError) as exc:
        raise BackupError(f"manifest.json 无法读取 / manifest.json is unreadable: {exc}") from exc
    for name, expected in manifest.files.items():
        file = folder / name
        if not file.is_file():
            raise BackupError(f"备份缺少文件 {name} / The backup lacks the file {name}")
        if sha256_of(file) != expected.get("sha256"):
            raise BackupError(
                f"文件 {name} 校验和不符：备份已损坏 / "
                f"Checksum mismatch for {name}: the backup is damaged"
            )
    return manifest
