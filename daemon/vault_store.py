"""The local vault on disk: sealed like a backup, written atomically, snapshotted, locked.

Every change is a transaction: take the lock, read the vault, compute the new one, snapshot
the old file, write the new one atomically. Two otpsync processes (CLI and daemon) never
clobber each other, and ``undo`` can step back through the snapshots.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import filelock

from daemon import change_journal
from daemon.core import backup_format, payload
from daemon.core.backup_format import Header, KdfParams, MasterKeys
from daemon.core.payload import VaultData
from daemon.errors import (
    BackupError,
    DamagedFile,
    FileMissing,
    NotABackup,
    NothingToUndo,
    NoVault,
    OtpsyncError,
    TruncatedFile,
    VaultBusy,
    VaultExists,
    WrongPassphrase,
)
from daemon.fsutil import PRIVATE_FILE, ensure_private_dir, read_bounded, write_atomic
from daemon.paths import Paths

LOCK_TIMEOUT = 15.0
RECOVERY_HINT = (
    "; `otpsync snapshots` lists the copies taken before each change, and `otpsync undo`"
    " restores the newest one that opens"
)
# How a vault that is there but no longer opens fails (a wrong passphrase is not damage).
DAMAGE = (DamagedFile, TruncatedFile, NotABackup)
_SNAP_SUFFIX = ".4otp.txt"
_STAMP = "%Y-%m-%dT%H-%M-%S.%fZ"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A copy of the vault file taken just before a change (``reason``). ``seq`` is the
    sequence number of the vault it holds (its header's): snapshots are ordered by it, not
    by ``taken``, which only says when (and goes wrong with the clock)."""

    path: Path
    taken: datetime
    reason: str
    seq: int = 0

    @classmethod
    def parse(cls, path: Path) -> Snapshot | None:
        stem = path.name.removesuffix(_SNAP_SUFFIX)
        stamp, _, reason = stem.partition("Z-")
        try:
            taken = datetime.strptime(stamp + "Z", _STAMP).replace(tzinfo=UTC)
            data = path.read_bytes()
        except (ValueError, OSError):
            return None
        try:
            seq = backup_format.read_header(data).seq
        except BackupError:
            # Damaged: it keeps its place by what its header claims, so `snapshots` shows it
            # and a plain undo stops at it rather than silently stepping back further.
            claim = backup_format.peek_order(data)
            seq = claim[1] if claim else 0
        return cls(path, taken, reason, seq)


class VaultStore:
    """Reads and writes one home's vault. Not thread-safe; one per process and thread."""

    def __init__(
        self,
        paths: Paths,
        keys: MasterKeys,
        kdf: KdfParams,
        keep: int,
        lock_timeout: float = LOCK_TIMEOUT,
    ) -> None:
        self.paths, self.keys, self.kdf, self.keep = paths, keys, kdf, keep
        self.lock_timeout = lock_timeout
        self._salt: bytes | None = None
        self._salt_kdf: KdfParams | None = None
        self._seq = 0  # the loaded vault's sequence number

    def exists(self) -> bool:
        return self.paths.vault_file.exists()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the vault lock (blocks other otpsync processes' changes, not their reads)."""
        ensure_private_dir(self.paths.data_dir)
        lock = filelock.FileLock(
            self.paths.vault_lock, timeout=self.lock_timeout, mode=PRIVATE_FILE
        )
        try:
            with lock:
                yield
        except filelock.Timeout:
            raise VaultBusy(
                f"the vault is locked by another otpsync process for over"
                f" {self.lock_timeout:g} s;"
                " try again"
            ) from None

    def _read(self, path: Path) -> bytes:
        """A vault or snapshot file, bounded like any file: never more than the size cap."""
        return read_bounded(path, backup_format.MAX_FILE_BYTES, within=self.paths.data_dir)

    def _open(self, data: bytes, where: Path) -> tuple[Header, VaultData]:
        try:
            header, raw = backup_format.open_sealed(data, self.keys)
            if header.kind != "vault":
                raise DamagedFile("is a backup, not a vault")
            return header, payload.decode(raw, expect_device_id=header.device_id)
        except BackupError as exc:
            raise exc.located(where) from None

    def load(self) -> VaultData:
        """Read and decrypt the vault; remembers its KDF salt for the next save and exports."""
        try:
            data = self._read(self.paths.vault_file)
        except FileMissing:
            raise NoVault(
                f"no vault at {self.paths.vault_file}; run `otpsync init` first"
            ) from None
        try:
            header, vault = self._open(data, self.paths.vault_file)
        except DAMAGE as exc:
            raise type(exc)(exc.message + RECOVERY_HINT) from None
        except WrongPassphrase as exc:
            if note := change_journal.hint(self.paths.data_dir, data):
                raise WrongPassphrase(f"{exc.message}; {note}") from None
            raise
        self._salt, self._salt_kdf = header.kdf_salt, header.kdf
        self._seq = max(self._seq, header.seq)
        return vault

    @property
    def seq(self) -> int:
        """The sequence number of the vault as last loaded or saved; backups carry it."""
        return self._seq

    def _salt_for_writing(self) -> bytes:
        """The device's stable KDF salt; a new one when the config's KDF costs changed."""
        if self._salt is None or self._salt_kdf != self.kdf:
            self._salt, self._salt_kdf = os.urandom(backup_format.SALT_BYTES), self.kdf
        return self._salt

    def reseal(self, vault: VaultData, *, device: str, salt: bytes, after_seq: int) -> None:
        """Save ``vault`` under this store's keys and ``salt`` (a passphrase change: this
        store holds the new keys), numbered on from ``after_seq`` (the old vault's)."""
        self._salt, self._salt_kdf, self._seq = salt, self.kdf, after_seq
        self.save(vault, device=device)

    def renew_salt(self) -> None:
        """Seal everything from now on under a fresh KDF salt (a new identity)."""
        self._salt = None

    def seal(
        self, vault: VaultData, *, kind: str, device: str, created: datetime, seq: int | None = None
    ) -> bytes:
        """Seal ``vault`` as this device; ``seq`` defaults to the loaded vault's (a backup
        carries the sequence number of the vault it copies)."""
        return backup_format.seal(
            payload.encode(vault),
            kind=kind,
            device_id=vault.device_id,
            device=device,
            created=created,
            keys=self.keys,
            kdf_salt=self._salt_for_writing(),
            kdf=self.kdf,
            seq=self._seq if seq is None else seq,
        )

    def save(self, vault: VaultData, *, device: str) -> None:
        """Write the vault atomically (call with the lock held), one sequence number on from
        every vault this home has held — the current one and every snapshot — so the number
        only grows, whatever the clock does and whatever undo brought back."""
        ensure_private_dir(self.paths.data_dir)
        seq = max([self._seq, *(s.seq for s in self.snapshots())]) + 1
        data = self.seal(vault, kind="vault", device=device, created=datetime.now(UTC), seq=seq)
        write_atomic(self.paths.vault_file, data)
        self._seq = seq

    def create(self, vault: VaultData, *, device: str) -> None:
        with self.locked():
            if self.exists():
                raise VaultExists(f"a vault already exists at {self.paths.vault_file}")
            self.save(vault, device=device)

    # --- snapshots --------------------------------------------------------------------------

    def snapshots(self) -> list[Snapshot]:
        """Newest first."""
        if not self.paths.snapshots_dir.is_dir():
            return []
        found = (Snapshot.parse(p) for p in self.paths.snapshots_dir.glob("*" + _SNAP_SUFFIX))
        return sorted((s for s in found if s), key=lambda s: (s.seq, s.taken), reverse=True)

    def snapshot(self, reason: str) -> Snapshot:
        """Copy the current vault file aside before a change; keep the newest ``keep``."""
        ensure_private_dir(self.paths.snapshots_dir)
        now = datetime.now(UTC)
        path = self.paths.snapshots_dir / f"{now.strftime(_STAMP)[:-1]}Z-{reason}{_SNAP_SUFFIX}"
        data = self._read(self.paths.vault_file)
        write_atomic(path, data)
        taken = Snapshot(path, now, reason, backup_format.read_header(data).seq)
        for old in [s for s in self.snapshots() if s.path != path][self.keep - 1 :]:
            old.path.unlink(missing_ok=True)
        return taken

    def open_snapshot(self, snap: Snapshot) -> VaultData:
        return self._open(self._read(snap.path), snap.path)[1]

    def undo(self, *, recover: bool = False) -> tuple[Snapshot, VaultData]:
        """Put the newest snapshot back (call with the lock held). The vault it replaces is
        kept in snapshots/undone/, so even an undo loses nothing.

        ``recover`` (the vault itself does not open): the newest snapshot *that opens*, so
        one damaged snapshot does not stand between the person and the ones before it."""
        snaps = self.snapshots()
        if not snaps:
            raise NothingToUndo("nothing to undo (no snapshot left)")
        for latest in snaps:
            try:
                vault = self.open_snapshot(latest)
                break
            except OtpsyncError:
                if not recover:
                    raise
        else:
            raise DamagedFile(
                f"the vault does not open, nor does any of its {len(snaps)} snapshot(s); your"
                " other devices' backups in the sync folder hold your codes too"
                " (`otpsync import FILE`)"
            )
        data = self._read(latest.path)
        undone = self.paths.snapshots_dir / "undone"
        ensure_private_dir(undone)
        stamp = datetime.now(UTC).strftime(_STAMP)
        write_atomic(undone / f"{stamp}-replaced{_SNAP_SUFFIX}", self._read(self.paths.vault_file))
        for old in sorted(undone.glob("*" + _SNAP_SUFFIX), reverse=True)[self.keep :]:
            old.unlink(missing_ok=True)
        self.save(vault, device=backup_format.read_header(data).device)  # seq grows on
        latest.path.unlink()
        return latest, vault
