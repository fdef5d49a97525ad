"""Backups in the sync folder: what counts as changed, and pruning this device's old ones."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from daemon.core import backup_format, payload
from daemon.core.candidates import is_candidate_name
from daemon.core.filenames import NAME_RE
from daemon.core.payload import VaultData
from daemon.errors import BackupError

log = logging.getLogger(__name__)


def content_fingerprint(vault: VaultData) -> str:
    """Changes exactly when a backup of ``vault`` would say something different."""
    return hashlib.sha256(payload.encode(vault.for_backup())).hexdigest()


def own_backups(folder: Path, device_id: str) -> list[tuple[str, Path]]:
    """This device's backups in ``folder`` as (created, path), newest first — by header, so
    another device's files and anything that is not a backup are never included.

    Header times have one-second resolution; within one second the name's collision suffix
    (``-2``, ``-3``: taken in that order) and then the mtime tell which came later. The raw
    name would not: ``…-export-2.4otp.txt`` sorts before ``…-export.4otp.txt``.
    """
    found = []
    for path in folder.iterdir():
        if not is_candidate_name(path.name) or path.is_symlink() or not path.is_file():
            continue
        try:
            st = path.stat()
            if st.st_size > backup_format.MAX_FILE_BYTES:
                continue
            header = backup_format.read_header(path.read_bytes())
        except (BackupError, OSError):
            continue
        if header.device_id == device_id and header.kind == "backup":
            order = (header.created.isoformat(), _collision_number(path.name), st.st_mtime_ns)
            found.append((order, path))
    found.sort(key=lambda item: (item[0], item[1].name), reverse=True)
    return [(order[0], path) for order, path in found]


def _collision_number(name: str) -> int:
    """N of a name written as the N-th within its second (``…-export-N.4otp.txt``), else 1."""
    match = NAME_RE.match(name)
    return int(match.group("n")) if match and match.group("n") else 1


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
