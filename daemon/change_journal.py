"""The marker of a passphrase change in progress, and the crash hook its tests use.

``passphrase change`` re-seals several files one by one; a crash can stop it between any two.
Before the first write it leaves ``data/passphrase-change.json``: the old and the new KDF
salt (public values, in every header; no secret). As long as it is there, a vault that does
not open says which of the two passphrases it is sealed with now (its header's salt tells),
and the next ``otpsync passphrase change`` finishes the job.

Test hook: ``OTPSYNC_TEST_CRASH_AFTER_WRITES=N`` makes the process ``os._exit(86)`` right
after the N-th durable write of a passphrase change (the journal, each file re-sealed, the
new backup, each old backup removed, the journal's removal). Only the crash tests set it;
it can only stop otpsync, never make it write or skip anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from daemon.core import backup_format
from daemon.errors import BackupError
from daemon.fsutil import fsync_dir
from daemon.state import now_text, read_json, write_json

CRASH_ENV = "OTPSYNC_TEST_CRASH_AFTER_WRITES"
_writes = 0


def durable_write_done() -> None:
    """Count one durable write of a passphrase change; the crash tests' hook (see above)."""
    global _writes
    _writes += 1
    limit = os.environ.get(CRASH_ENV, "")
    if limit.isdigit() and _writes >= int(limit):
        os._exit(86)


@dataclass(frozen=True, slots=True)
class Journal:
    old_salt: str  # hex; the vault's KDF salt before the change
    new_salt: str  # hex; the salt everything is re-sealed under
    started: str


def _file(data_dir: Path) -> Path:
    return data_dir / "passphrase-change.json"


def read(data_dir: Path) -> Journal | None:
    doc = read_json(_file(data_dir), None)
    if not isinstance(doc, dict):
        return None
    try:
        return Journal(str(doc["old_salt"]), str(doc["new_salt"]), str(doc["started"]))
    except KeyError:
        return None


def begin(data_dir: Path, old_salt: bytes, new_salt: bytes) -> Journal:
    journal = Journal(old_salt.hex(), new_salt.hex(), now_text())
    write_json(
        _file(data_dir),
        {"old_salt": journal.old_salt, "new_salt": journal.new_salt, "started": journal.started},
    )
    fsync_dir(data_dir)
    durable_write_done()
    return journal


def finish(data_dir: Path) -> None:
    _file(data_dir).unlink(missing_ok=True)
    fsync_dir(data_dir)
    durable_write_done()


def hint(data_dir: Path, vault_bytes: bytes) -> str:
    """What to say when the vault does not open while a change is unfinished ("" if none)."""
    journal = read(data_dir)
    if journal is None:
        return ""
    try:
        salt = backup_format.read_header(vault_bytes).kdf_salt.hex()
    except BackupError:
        return ""
    which = "new" if salt == journal.new_salt else "old"
    return (
        f"the passphrase was being changed (since {journal.started}) and the change did not"
        f" finish: the vault opens with the {which} passphrase; give that one, and run"
        " `otpsync passphrase change` again to finish"
    )
