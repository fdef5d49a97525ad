"""The files this device wrote into the sync folder, by name and content hash.

Anyone who can write to the sync folder can copy this device's public header into a file of
their own. So "this device's backup" is never guessed from a header: it is a file this device
wrote (in the ledger, same name, same bytes) — only those are ever counted or pruned as its
own. A file that claims this device's id and is not in the ledger is somebody else's: a
forgery, or another machine that uses this identity (a copied home).

The ledger lives in the state dir (no secret in it). A home that has never had one (upgraded
from a version without it, or a state dir that was lost) *adopts* the files that
authenticate as this device's on its first look, instead of raising a false alarm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import filelock

from daemon.fsutil import PRIVATE_FILE, ensure_private_dir
from daemon.state import now_text, read_json, write_json

log = logging.getLogger(__name__)

MAX_ENTRIES = 10_000  # far above any `keep`: entries of pruned files are dropped


@dataclass(frozen=True, slots=True)
class Written:
    """One file this device wrote: its name in the sync folder, its SHA-256, its sequence
    number (0 for files written before sequence numbers existed), and when."""

    name: str
    sha256: str
    seq: int
    time: str


class Ledger:
    """``state/written.json``: read-modify-write under a file lock (CLI and daemon both
    export)."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.file = state_dir / "written.json"

    def exists(self) -> bool:
        return self.file.exists()

    def entries(self) -> dict[str, Written]:
        doc = read_json(self.file, {})
        files = doc.get("files") if isinstance(doc, dict) else None
        found: dict[str, Written] = {}
        for name, entry in (files or {}).items():
            try:
                found[name] = Written(
                    name, str(entry["sha256"]), int(entry.get("seq", 0)), str(entry["time"])
                )
            except (KeyError, TypeError, ValueError):
                continue
        return found

    def wrote(self, sha256: str) -> bool:
        """Whether this device wrote these bytes, under whatever name they have now: a sync
        client's conflict copy of one of its backups is still its own (never pruned, since
        pruning goes by name, but no alarm either)."""
        return any(entry.sha256 == sha256 for entry in self.entries().values())

    def record(self, name: str, sha256: str, seq: int = 0) -> None:
        self._update(add=(Written(name, sha256, seq, now_text()),))

    def forget(self, names: list[str]) -> None:
        if names:
            self._update(drop=frozenset(names))

    def create(self) -> None:
        """An empty ledger: from now on, files not in it are not this device's."""
        if not self.exists():
            self._update()

    def _update(self, add: tuple[Written, ...] = (), drop: frozenset[str] = frozenset()) -> None:
        ensure_private_dir(self.dir)
        with filelock.FileLock(self.dir / "written.lock", timeout=15, mode=PRIVATE_FILE):
            files = {name: e for name, e in self.entries().items() if name not in drop}
            for entry in add:
                files[entry.name] = entry
            if len(files) > MAX_ENTRIES:
                for name in sorted(files, key=lambda n: (files[n].seq, files[n].time))[
                    : len(files) - MAX_ENTRIES
                ]:
                    del files[name]
            write_json(
                self.file,
                {
                    "files": {
                        e.name: {"sha256": e.sha256, "seq": e.seq, "time": e.time}
                        for e in files.values()
                    }
                },
            )
