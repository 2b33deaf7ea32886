"""Backups of a whole store (``siyu backup`` / ``siyu restore``): see siyu.backup.run."""

from siyu.backup.manifest import BackupError, Manifest, read_manifest
from siyu.backup.run import Server, create_backup, restore_backup

__all__ = ["BackupError", "Manifest", "Server", "create_backup", "read_manifest", "restore_backup"]
