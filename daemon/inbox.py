"""The pending-import queue: backups from other devices waiting for the person's approval.

Persisted in the state dir: ``inbox/index.json`` plus a copy of each (still encrypted)
backup, so approval works even after the sync client removed the original. No secret and no
code label is stored in the clear: what an entry offers is worked out from the copy, against
the vault as it is when asked. One entry per source device; a newer backup replaces it.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path

import filelock

from daemon.errors import NoSuchAccount, VaultBusy
from daemon.fsutil import PRIVATE_FILE, ensure_private_dir, write_atomic
from daemon.state import read_json, time_of, write_json

log = logging.getLogger(__name__)
_COPY_RE = re.compile(r"\A[0-9a-f]{8}\.4otp\.txt\Z")  # what put() names a copy


@dataclass(frozen=True, slots=True)
class PendingEntry:
    id: str
    device: str
    device_id: str
    created: str  # the backup's creation time (its header), ISO 8601 UTC
    file: str  # where it was found
    copy: str  # its copy's name in the inbox dir
    sha256: str
    queued: str
    source: str = ""  # a configured [[watch.sources]] name; "" for otpsync's own backups
    seq: int = 0  # the backup's sequence number (0: none, a v1 file or another app's)

    @property
    def order(self) -> tuple[int, datetime]:
        """Which of two backups of one device is newer: the sequence number, then (for files
        without one) the creation time — as a time, never as text ("999-…", an unpadded
        year, would sort after "2026-…")."""
        return self.seq, time_of(self.created)


def _well_typed(entry: PendingEntry) -> bool:
    """Every field of the type it is declared with (a damaged index can hold anything)."""
    for f in fields(entry):
        value, kind = getattr(entry, f.name), (int if f.type == "int" else str)
        if not isinstance(value, kind) or isinstance(value, bool):
            return False
    return True


class Inbox:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir / "inbox"

    @property
    def index_file(self) -> Path:
        return self.dir / "index.json"

    @contextmanager
    def locked(self) -> Iterator[None]:
        ensure_private_dir(self.dir)
        lock = filelock.FileLock(self.dir / "inbox.lock", timeout=15, mode=PRIVATE_FILE)
        try:
            with lock:
                yield
        except filelock.Timeout:
            raise VaultBusy("the pending-import queue is locked by another otpsync") from None

    def entries(self) -> list[PendingEntry]:
        """The queue; a missing or damaged index is an empty one (each backup still in the
        sync folder is queued again by the next scan: see ``Intake.consider``)."""
        raw = read_json(self.index_file, [])
        out = []
        for item in raw if isinstance(raw, list) else []:
            try:
                entry = PendingEntry(**item)
            except TypeError:
                entry = None
            if entry is None or not _well_typed(entry):
                log.warning("dropping a malformed pending entry")
                continue
            out.append(entry)
        return sorted(out, key=lambda e: e.queued)

    def holds(self, sha256: str) -> bool:
        """Is that content queued, with its copy still there? (A stat, not a decryption.)"""
        return any(e.sha256 == sha256 and (self.dir / e.copy).is_file() for e in self.entries())

    def get(self, entry_id: str) -> PendingEntry:
        for entry in self.entries():
            if entry.id == entry_id:
                return entry
        raise NoSuchAccount(f"no pending import {entry_id!r} (see `otpsync pending`)")

    def _save(self, entries: list[PendingEntry]) -> None:
        write_json(self.index_file, [asdict(e) for e in entries])

    def queued_from(self, device_id: str) -> PendingEntry | None:
        """The entry queued for a source device, if any (there is at most one)."""
        return next((e for e in self.entries() if e.device_id == device_id), None)

    def put(
        self, *, device: str, device_id: str, created: str, file: str, sha256: str,
        queued: str, data: bytes, wins_tie: Callable[[PendingEntry], bool] = lambda _e: False,
        source: str = "", seq: int = 0,
    ) -> tuple[PendingEntry | None, PendingEntry | None]:  # fmt: skip
        """Queue a backup: (new entry or None if a newer one is queued, replaced entry).

        Newer is a higher sequence number, then (files without one) a later header time,
        which has one-second resolution; on a tie ``wins_tie(queued entry)`` decides (its
        copy is still there).
        """
        with self.locked():
            entries = self.entries()
            same = [e for e in entries if e.device_id == device_id]
            order = (seq, time_of(created))
            if same and (
                same[0].order > order or (same[0].order == order and not wins_tie(same[0]))
            ):
                return None, None
            entry_id = secrets.token_hex(4)
            copy = f"{entry_id}.4otp.txt"  # always sealed in our format (see Intake._queue)
            entry = PendingEntry(entry_id, device, device_id, created, file, copy, sha256,
                                 queued, source, seq)  # fmt: skip
            write_atomic(self.dir / entry.copy, data)
            kept = [e for e in entries if e.device_id != device_id] + [entry]
            self._save(kept)
            for old in same:
                (self.dir / old.copy).unlink(missing_ok=True)
            self._remove_orphans(kept)
            return entry, (same[0] if same else None)

    def _remove_orphans(self, entries: list[PendingEntry]) -> None:
        """Copies no entry names (their index was lost or damaged): the backups they came
        from are queued again from the sync folder, so these only take up room."""
        named = {e.copy for e in entries}
        for path in self.dir.glob("*.4otp.txt"):
            if _COPY_RE.match(path.name) and path.name not in named:
                log.info("removing %s: no pending entry refers to it", path.name)
                path.unlink(missing_ok=True)

    def remove(self, entry_id: str) -> None:
        with self.locked():
            entries = self.entries()
            gone = [e for e in entries if e.id == entry_id]
            self._save([e for e in entries if e.id != entry_id])
            for entry in gone:
                (self.dir / entry.copy).unlink(missing_ok=True)
