"""Small JSON files in the state dir: status, last export, files already looked at.

State is rebuildable: a missing or unreadable file means "start fresh" (with a warning),
never a crash. Status and the last export are bookkeeping: when they cannot be written (a
full disk) the failure is logged, the value is kept in memory and served from there, and
``flush()`` writes it once the disk has room again. Nothing here is secret; no secret is ever
written here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import filelock

from daemon.core.backup_format import format_time
from daemon.errors import WriteFailed
from daemon.fsutil import ensure_private_dir, write_atomic

log = logging.getLogger(__name__)

MAX_SEEN = 20_000
STALE_BEATS = 3  # a daemon whose heartbeat is older than this many intervals is not responding


def read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s (%s); starting it afresh", path.name, exc)
        return default


def write_json(path: Path, value: Any, *, compact: bool = False) -> None:
    """Write ``value`` atomically; indented for people, or ``compact`` for big files written
    often (indenting makes ``json`` fall back from its C encoder to the ~10× slower one)."""
    ensure_private_dir(path.parent)
    text = (
        json.dumps(value, separators=(",", ":"))
        if compact
        else json.dumps(value, indent=1, sort_keys=True)
    )
    write_atomic(path, (text + "\n").encode("utf-8"))


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """(size, mtime, inode): changes whenever the file is rewritten, atomically or not."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def now_text() -> str:
    return format_time(datetime.now(UTC))


def time_of(text: str) -> datetime:
    """A stored time, to compare as a time: the earliest possible when it does not parse
    (an entry written by an older otpsync with an unpadded year)."""
    moment = parse_time(text) or datetime.min
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_time(text: str | None) -> datetime | None:
    if not text or not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def heartbeat_stale(beat: datetime | None, every: float, now: datetime | None = None) -> bool:
    """Has a daemon that beats every ``every`` seconds missed STALE_BEATS beats? Unknown
    (no heartbeat recorded, e.g. an older otpsync) is not stale. A heartbeat from the
    future (the clock was set back) is not stale either: only missing beats count."""
    if beat is None:
        return False
    age = ((now or datetime.now(UTC)) - beat).total_seconds()
    return age > STALE_BEATS * every


@dataclass(frozen=True, slots=True)
class LastExport:
    time: str
    file: str
    fingerprint: str


class StateFiles:
    """The state dir's small files (the inbox has its own module)."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self._seen_cache: tuple[tuple[int, int, int] | None, dict[str, Any]] | None = None
        self._devices_cache: tuple[tuple[int, int, int] | None, dict[str, Any]] | None = None
        self._batch: dict[str, dict[str, str]] | None = None
        self._unwritten: dict[Path, Any] = {}  # what could not be written yet, newest value
        self.write_error: str | None = None  # why, the last time a write failed

    def _keep(self, path: Path, value: Any) -> bool:
        """Write a bookkeeping file; if the OS refuses (full disk, read-only), log it once,
        keep the value in memory and return False — never raise: failing to record
        something must not stop what is being recorded."""
        try:
            write_json(path, value)
        except WriteFailed as exc:
            self.write_error = str(exc)
            if path not in self._unwritten:
                log.warning("%s; keeping it in memory until it can be written", exc)
            self._unwritten[path] = value
            return False
        if self._unwritten.pop(path, None) is not None:
            log.info("%s written again", path.name)
        return True

    def flush(self) -> bool:
        """Write what could not be written before; True when nothing is left over."""
        for path, value in list(self._unwritten.items()):
            self._keep(path, value)
        return not self._unwritten

    @property
    def unwritten(self) -> bool:
        return bool(self._unwritten)

    @property
    def status_file(self) -> Path:
        return self.dir / "status.json"

    @property
    def daemon_lock(self) -> Path:
        return self.dir / "daemon.lock"

    @property
    def pid_file(self) -> Path:
        return self.dir / "daemon.pid"

    @property
    def log_file(self) -> Path:
        return self.dir / "otpsync.log"

    @property
    def last_export_file(self) -> Path:
        return self.dir / "last_export.json"

    def last_export(self) -> LastExport | None:
        doc = read_json(self.last_export_file, None)
        kept = self._unwritten.get(self.last_export_file)
        if kept is not None and (not isinstance(doc, dict) or str(doc.get("time")) <= kept["time"]):
            doc = kept  # ours, not written yet, and no other process recorded a newer one
        try:
            return LastExport(doc["time"], doc["file"], doc["fingerprint"]) if doc else None
        except (KeyError, TypeError):
            return None

    def record_export(self, file: Path, fingerprint: str) -> bool:
        """Remember this device's latest backup (False: kept in memory for now)."""
        doc = {"time": now_text(), "file": str(file), "fingerprint": fingerprint}
        return self._keep(self.last_export_file, doc)

    def status(self) -> dict[str, Any]:
        kept = self._unwritten.get(self.status_file)
        if kept is not None:
            return dict(kept)
        doc = read_json(self.status_file, {})
        return doc if isinstance(doc, dict) else {}

    def update_status(self, **changes: Any) -> bool:
        """Change some of status.json's keys (False: kept in memory for now)."""
        doc = self.status()
        doc.update(changes)
        return self._keep(self.status_file, doc)

    # --- other devices, as their authenticated backups showed them -------------------------

    @property
    def devices_file(self) -> Path:
        return self.dir / "devices.json"

    def devices(self) -> dict[str, dict[str, Any]]:
        """device id → {"name", "seq" (highest opened), "created", "codes"}; parsed again only
        when the file changed (a scan asks once per file)."""
        stamp = file_stamp(self.devices_file)
        if stamp is None or self._devices_cache is None or self._devices_cache[0] != stamp:
            doc = read_json(self.devices_file, {})
            found = {k: v for k, v in doc.items() if isinstance(v, dict)} if isinstance(
                doc, dict
            ) else {}  # fmt: skip
            self._devices_cache = (stamp, found)
        return {k: dict(v) for k, v in self._devices_cache[1].items()}

    def device_seen(
        self, device_id: str, name: str, seq: int, created: str, codes: int,
        kdf: dict[str, int] | None = None,
    ) -> None:  # fmt: skip
        """Record an opened backup of a device, if it is its newest yet (by seq, then time);
        ``kdf``: the Argon2 costs it was sealed with (memory_kib, iterations, lanes)."""
        ensure_private_dir(self.dir)
        with filelock.FileLock(self.dir / "devices.lock", timeout=15, mode=0o600):
            devices = self.devices()
            known = devices.get(device_id)
            if known is not None and (int(known.get("seq", 0)), str(known.get("created", ""))) >= (
                seq,
                created,
            ):
                return
            devices[device_id] = {"name": name, "seq": seq, "created": created, "codes": codes}
            if kdf is not None:
                devices[device_id]["kdf"] = kdf
            write_json(self.devices_file, devices)

    @property
    def forgotten_file(self) -> Path:
        return self.dir / "forgotten.json"

    def forgotten(self) -> dict[str, str]:
        """Devices whose backups are no longer looked at (`otpsync devices forget`): id → name."""
        doc = read_json(self.forgotten_file, {})
        return {str(k): str(v) for k, v in doc.items()} if isinstance(doc, dict) else {}

    def forget_device(self, device_id: str, name: str) -> None:
        """Stop looking at a device's backups, and drop what was recorded of it (its files in
        the sync folder are never touched)."""
        ensure_private_dir(self.dir)
        with filelock.FileLock(self.dir / "devices.lock", timeout=15, mode=0o600):
            write_json(self.forgotten_file, {**self.forgotten(), device_id: name})
            devices = self.devices()
            if devices.pop(device_id, None) is not None:
                write_json(self.devices_file, devices)

    def weak_writers(self) -> dict[str, str]:
        """Devices whose backups were sealed below the KDF floor: {device id: device name}."""
        found = self.status().get("weak_kdf")
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}

    def set_weak_writer(self, device_id: str, device: str | None) -> None:
        """Remember (``device``) or forget (None) that ``device_id`` writes weak backups."""
        known = self.weak_writers()
        if device is None:
            known.pop(device_id, None)
        else:
            known[device_id] = device
        self.update_status(weak_kdf=known)

    # --- files already looked at, by content hash --------------------------------------------

    @property
    def seen_file(self) -> Path:
        return self.dir / "seen.json"

    def _seen(self) -> dict[str, Any]:
        """seen.json, parsed again only when the file changed (another otpsync process may
        have written it): a burst of files costs one parse, not one per file."""
        stamp = file_stamp(self.seen_file)
        if stamp is None or self._seen_cache is None or self._seen_cache[0] != stamp:
            doc = read_json(self.seen_file, {})
            if not isinstance(doc, dict):
                log.warning("ignoring seen.json: not what otpsync writes; starting it afresh")
                doc = {}
            # Damage inside valid JSON: keep only well-formed marks (the rest is looked at again).
            doc = {k: v for k, v in doc.items()
                   if isinstance(v, dict) and isinstance(v.get("outcome"), str)}  # fmt: skip
            self._seen_cache = (stamp, doc)
        return self._seen_cache[1]

    def seen(self, sha256: str) -> str | None:
        entry = (self._batch or {}).get(sha256) or self._seen().get(sha256)
        return entry.get("outcome") if isinstance(entry, dict) else None

    @contextmanager
    def batched_seen(self) -> Iterator[None]:
        """Marks made inside are written once, at the end: a scan of 500 files rewrites
        seen.json once, not 500 times (a crash before the end only means a second look)."""
        if self._batch is not None:
            yield
            return
        self._batch = {}
        try:
            yield
        finally:
            batch, self._batch = self._batch, None
            if batch:
                try:
                    self._write_marks(batch)
                except WriteFailed as exc:  # what was done stands; these files get a second look
                    log.warning("%s; %d file(s) will be looked at again", exc, len(batch))

    def seen_of(self, outcomes: tuple[str, ...]) -> list[tuple[str, str]]:
        """(outcome, file) of every file looked at whose outcome is one of ``outcomes``."""
        return [
            (str(e.get("outcome")), str(e.get("file")))
            for e in {**self._seen(), **(self._batch or {})}.values()
            if isinstance(e, dict) and e.get("outcome") in outcomes
        ]

    def forget_seen(self, outcomes: tuple[str, ...]) -> None:
        """Look again at the files whose outcome was one of ``outcomes``."""
        ensure_private_dir(self.dir)
        with filelock.FileLock(self.dir / "seen.lock", timeout=15, mode=0o600):
            seen = {
                k: e
                for k, e in self._seen().items()
                if not (isinstance(e, dict) and e.get("outcome") in outcomes)
            }
            write_json(self.seen_file, seen, compact=True)
            self._seen_cache = (file_stamp(self.seen_file), seen)

    def forget_mark(self, sha256: str) -> None:
        """Look at that content again next time (its queue entry was lost)."""
        if self._batch is not None:
            self._batch.pop(sha256, None)
        if sha256 not in self._seen():
            return
        ensure_private_dir(self.dir)
        with filelock.FileLock(self.dir / "seen.lock", timeout=15, mode=0o600):
            seen = dict(self._seen())
            seen.pop(sha256, None)
            write_json(self.seen_file, seen, compact=True)
            self._seen_cache = (file_stamp(self.seen_file), seen)

    def mark_seen(self, sha256: str, outcome: str, name: str) -> None:
        mark = {"outcome": outcome, "file": name, "time": now_text()}
        if self._batch is not None:
            self._batch[sha256] = mark
        else:
            self._write_marks({sha256: mark})

    def _write_marks(self, marks: dict[str, dict[str, str]]) -> None:
        # Locked read-modify-write: the CLI (`scan`, `approve`) and the daemon both record.
        ensure_private_dir(self.dir)
        with filelock.FileLock(self.dir / "seen.lock", timeout=15, mode=0o600):
            seen = dict(self._seen())  # a copy: the cache stays true to the file on failure
            seen.update(marks)
            if len(seen) > MAX_SEEN:
                oldest = sorted(seen, key=lambda k: str(seen[k].get("time", "")))
                for key in oldest[: len(seen) - MAX_SEEN]:
                    del seen[key]
            write_json(self.seen_file, seen, compact=True)
            self._seen_cache = (file_stamp(self.seen_file), seen)
