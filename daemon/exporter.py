"""Backups in the sync folder: what counts as changed, and pruning this device's old ones."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from daemon.core import backup_format, payload
from daemon.core.filenames import NAME_RE
from daemon.core.payload import VaultData
from daemon.errors import BackupError, OtpsyncError
from daemon.fsutil import read_bounded
from daemon.ledger import Ledger

log = logging.getLogger(__name__)


def content_fingerprint(vault: VaultData) -> str:
    """Changes exactly when a backup of ``vault`` would say something different."""
    return hashlib.sha256(payload.encode(vault.for_backup())).hexdigest()


def own_backups(folder: Path, ledger: Ledger) -> list[Path]:
    """This device's backups in ``folder``, newest first: the files the ledger says it wrote,
    whose bytes are still the bytes it wrote. Nothing else ever counts — not a file that
    merely carries this device's id in its (unauthenticated, copyable) header.

    Newest by sequence number, then header time (one-second resolution), the name's
    collision suffix (``-2``, ``-3``: taken in that order), then mtime. Ledger entries whose
    file is gone, or was replaced by other bytes, are dropped from the ledger.
    """
    found = []
    gone = []
    for entry in ledger.entries().values():
        path = folder / entry.name
        try:
            data = read_bounded(path, backup_format.MAX_FILE_BYTES, within=folder)
        except OtpsyncError:
            gone.append(entry.name)
            continue
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            log.warning("%s was replaced by other bytes: no longer this device's", path.name)
            gone.append(entry.name)
            continue
        try:
            header = backup_format.read_header(data)
        except BackupError:
            gone.append(entry.name)
            continue
        order = (header.seq, header.created, _collision_number(entry.name), path.stat().st_mtime_ns)
        found.append((order, path))
    ledger.forget(gone)
    found.sort(key=lambda item: (item[0], item[1].name), reverse=True)
    return [path for _, path in found]


def _collision_number(name: str) -> int:
    """N of a name written as the N-th within its second (``…-export-N.4otp.txt``), else 1."""
    match = NAME_RE.match(name)
    return int(match.group("n")) if match and match.group("n") else 1


def prune_own(folder: Path, ledger: Ledger, keep: int, *, written: Path) -> list[Path]:
    """Remove this device's backups beyond the newest ``keep``; returns what was removed.
    ``written`` — the backup just written — is never removed, whatever the order says."""
    removed = []
    for path in [p for p in own_backups(folder, ledger) if p != written][max(0, keep - 1) :]:
        try:
            path.unlink()
            removed.append(path)
        except OSError as exc:
            log.warning("could not remove old backup %s: %s", path.name, exc.strerror)
    ledger.forget([p.name for p in removed])
    if removed:
        log.info("pruned %d old backups of this device", len(removed))
    return removed
