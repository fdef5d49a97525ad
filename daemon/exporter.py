"""Backups in the sync folder: what counts as changed, and pruning this device's old ones."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from daemon.core import backup_format, payload
from daemon.core.candidates import is_candidate_name
from daemon.core.payload import VaultData
from daemon.errors import BackupError

log = logging.getLogger(__name__)


def content_fingerprint(vault: VaultData) -> str:
    """Changes exactly when a backup of ``vault`` would say something different."""
    return hashlib.sha256(payload.encode(vault.for_backup())).hexdigest()


def own_backups(folder: Path, device_id: str) -> list[tuple[str, Path]]:
    """This device's backups in ``folder`` as (created, path), newest first — by header, so
    another device's files and anything that is not a backup are never included."""
    found = []
    for path in folder.iterdir():
        if not is_candidate_name(path.name) or path.is_symlink() or not path.is_file():
            continue
        try:
            if path.stat().st_size > backup_format.MAX_FILE_BYTES:
                continue
            header = backup_format.read_header(path.read_bytes())
        except (BackupError, OSError):
            continue
        if header.device_id == device_id and header.kind == "backup":
            found.append((header.created.isoformat(), path))
    return sorted(found, key=lambda item: (item[0], item[1].name), reverse=True)


def prune_own(folder: Path, device_id: str, keep: int) -> list[Path]:
    """Remove this device's backups beyond the newest ``keep``; returns what was removed."""
    removed = []
    for _, path in own_backups(folder, device_id)[keep:]:
        try:
            path.unlink()
            removed.append(path)
        except OSError as exc:
            log.warning("could not remove old backup %s: %s", path.name, exc.strerror)
    if removed:
        log.info("pruned %d old backups of this device", len(removed))
    return removed
