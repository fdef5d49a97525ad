"""``otpsync passphrase change``: everything of this device re-sealed under a new passphrase.

The key depends on the passphrase and the device's KDF salt, so a change re-seals with a new
salt: the vault's snapshots first (while the vault still opens with the old passphrase), then
the vault itself (the one atomic switch), then a new backup into the sync folder, read back
and checked; only after that are this device's backups sealed with the old passphrase
removed from the folder (the ledger says which are ours; another device's are never
touched). The queue's copies are re-sealed too, so pending imports survive.

A crash between any two of those writes leaves a vault that opens with one of the two
passphrases, and ``change_journal`` says which; the next run finishes. The folder is never
without a backup of this device: old ones go only after the new one is verified.

The CLI changes it while no daemon runs; the running daemon (the tray's dialog) changes it
on its own worker, after proving the new passphrase: it opens the backups of the device that
now uses it, or the person typed the one in use first. ``Service`` mixes this in.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from daemon import change_journal
from daemon.core import backup_format, payload
from daemon.core.backup_format import MasterKeys
from daemon.core.display import count
from daemon.errors import (
    AlreadyRunning,
    BackupError,
    OtpsyncError,
    UsageError,
    WriteFailed,
    WrongPassphrase,
)
from daemon.fsutil import read_bounded, write_atomic
from daemon.passphrase import store_in_keyring

if TYPE_CHECKING:
    from daemon.service import Service

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PassphraseChanged:
    """What a change did: files re-sealed, the new backup (None without a sync folder),
    old backups removed, and what the person must still update (a message, or "")."""

    resealed: int
    backup: Path | None
    removed: tuple[Path, ...]
    keyring_updated: bool
    update_source: str
    finished_earlier_run: bool
    other_new_given: bool = False  # finishing, with another new passphrase than it began with

    def summary(self) -> list[str]:
        """What happened and what is left to do, in lines for the person (CLI and tray say
        the same). Paths come from the config and the folder: escape them where shown."""
        lines = [
            "Finished the passphrase change an earlier run began."
            if self.finished_earlier_run
            else f"Passphrase changed: {count(self.resealed, 'file')} re-sealed under it."
        ]
        if self.backup is not None:
            lines.append(f"New backup: {self.backup}")
            lines.append(f"Removed {count(len(self.removed), 'old backup')} of this device sealed"
                         " with the old passphrase.")  # fmt: skip
        else:
            lines.append("The sync folder is missing: no new backup yet; old ones are left as"
                         " they are.")  # fmt: skip
        if self.other_new_given:
            lines.append("The passphrase is now the one that change began with (the vault opens"
                         " with it), not the one given now: run `otpsync passphrase change`"
                         " again to change to that.")  # fmt: skip
        if self.keyring_updated:
            lines.append("The OS keyring now holds the new passphrase.")
        if self.update_source:
            lines.append(f"Now {self.update_source}.")
        return lines


class PassphraseChange:
    """The part of ``Service`` that changes the passphrase."""

    def passphrase_change_pending(self: Service) -> bool:
        return change_journal.read(self.paths.data_dir) is not None

    def check_current_passphrase(self: Service, given: str) -> None:
        """The tray's "Change passphrase…" asks for the one in use first: whoever sits at an
        unlocked desktop must not lock its owner out with a passphrase only they know."""
        if not hmac.compare_digest(given.encode("utf-8"), self.passphrase_for_child().encode()):
            raise WrongPassphrase("that is not the passphrase in use; nothing was changed")

    def device_opening_with(self: Service, new: str) -> str:
        """The name of a device that "now uses a different passphrase" one of whose backups
        opens with ``new``: proof that it is the passphrase the person's devices use,
        before anything here is re-sealed under it (so a typo cannot lock this device out
        of its peers). One Argon2 run per such device at most."""
        others = self.other_passphrase.devices()
        if not others:
            raise UsageError("no device of yours uses a different passphrase now")
        keys, folder, tried = MasterKeys(new), self.config.sync_folder, set()
        for _, file in reversed(self.state.seen_of(("other-passphrase",))):  # latest seen first
            try:
                data = read_bounded(Path(file), backup_format.MAX_FILE_BYTES, within=folder)
                header = backup_format.read_header(data)
                if header.device_id not in others or header.device_id in tried:
                    continue
                tried.add(header.device_id)
                backup_format.open_sealed(data, keys)
            except OtpsyncError:  # gone since, or it does not open with ``new`` either
                continue
            return header.device
        names = " or ".join(sorted(set(others.values())))
        raise WrongPassphrase(
            f"that passphrase does not open {names}'s backups either; nothing was changed"
        )

    def change_passphrase(
        self: Service, new: str | None, *, by_daemon: bool = False
    ) -> PassphraseChanged:
        """Re-seal everything of this device under ``new`` (see the module's docstring).
        ``new`` None: finish a change whose vault switch already happened (the passphrase
        the vault opened with is then the new one). ``by_daemon``: called by the running
        daemon itself, on its worker (which then takes the new keys in use)."""
        if not by_daemon and self.daemon_status()["running"]:
            raise AlreadyRunning(
                "`otpsync run` is running and holds the old passphrase: change it from the"
                " tray menu (Change passphrase…), or stop it first, change the passphrase,"
                " then start it again"
            )
        store = self.store
        old_pass, source = self.passphrase_for_child(), self._passphrase_source
        journal = change_journal.read(self.paths.data_dir)
        with store.locked():
            vault = store.load()
            current_salt = store._salt_for_writing()
            finishing = journal is not None and current_salt.hex() == journal.new_salt
            if new is None and not finishing:
                raise UsageError("give the new passphrase (twice on a terminal, or a file)")
            if finishing:
                new_keys, new_salt, resealed = store.keys, current_salt, 0
            else:
                if not new:
                    raise UsageError("the new passphrase is empty")
                if hmac.compare_digest(new.encode("utf-8"), old_pass.encode("utf-8")):
                    raise UsageError("the new passphrase is the one in use; nothing to change")
                new_salt = (
                    bytes.fromhex(journal.new_salt)
                    if journal is not None
                    else os.urandom(backup_format.SALT_BYTES)
                )
                if journal is None:
                    change_journal.begin(self.paths.data_dir, current_salt, new_salt)
                new_keys = MasterKeys(new)
                if journal is not None:
                    self._check_resumed_with(new_keys, new_salt)
                resealed = self._reseal_files(store.keys, new_keys, new_salt)
                from daemon.vault_store import VaultStore

                new_store = VaultStore(self.paths, new_keys, self.config.kdf, self.config.snapshots)
                new_store.reseal(
                    vault, device=self.config.device, salt=new_salt, after_seq=store.seq
                )
                change_journal.durable_write_done()
                resealed += 1
        # From here on the vault opens with the new passphrase only.
        self.use_passphrase(old_pass if finishing or new is None else new)
        self._store = None
        self._vault_seen = None
        self._entry_offers.clear()
        # Other devices' files that did not open are judged afresh under the new passphrase.
        self.state.forget_seen(("wrong-passphrase", "other-passphrase"))
        self.other_passphrase.clear()
        backup, removed = self._replace_own_backups(new_salt)
        # Finishing: the passphrase in use *is* the new one (never one given now that differs).
        now_used = old_pass if finishing else (new or "")
        keyring_updated, update = self._update_source(source, now_used)
        change_journal.finish(self.paths.data_dir)
        other = finishing and new is not None and new != old_pass
        return PassphraseChanged(
            resealed, backup, removed, keyring_updated, update, finishing, other_new_given=other
        )

    def _sealed_files(self: Service) -> list[Path]:
        """Snapshots (and undone ones) and the queue's copies: what a change re-seals."""
        files = [s.path for s in self.store.snapshots()]
        undone = self.paths.snapshots_dir / "undone"
        if undone.is_dir():
            files += sorted(undone.glob("*.4otp.txt"))
        if self.inbox.dir.is_dir():
            files += sorted(self.inbox.dir.glob("*.4otp.txt"))
        return files

    def _check_resumed_with(self: Service, new: MasterKeys, salt: bytes) -> None:
        """An interrupted change (the vault not switched yet) re-sealed some files under the
        journal's salt with *its* new passphrase: resuming with another would leave those
        unreadable. One of them must open with ``new`` (one Argon2 run)."""
        for path in self._sealed_files():
            try:
                data = read_bounded(path, backup_format.MAX_FILE_BYTES, within=path.parent)
                if backup_format.read_header(data).kdf_salt != salt:
                    continue
                backup_format.open_sealed(data, new)
            except WrongPassphrase:
                raise UsageError(
                    "an interrupted change began with another new passphrase: give that one"
                    " to finish it (the vault still opens with the old one); nothing was changed"
                ) from None
            except OtpsyncError:
                continue
            return

    def _reseal_files(self: Service, old: MasterKeys, new: MasterKeys, salt: bytes) -> int:
        """Snapshots (and undone ones) and the queue's copies, each re-sealed under ``new``
        with its header kept; one that already opens with ``new`` (an earlier run that
        crashed) is left; one that opens with neither is left and logged."""
        done = 0
        for path in self._sealed_files():
            try:
                data = read_bounded(path, backup_format.MAX_FILE_BYTES, within=path.parent)
                header, raw = backup_format.open_sealed(data, old)
            except OtpsyncError:
                try:
                    backup_format.open_sealed(read_bounded(path, backup_format.MAX_FILE_BYTES), new)
                except OtpsyncError:
                    log.warning("%s opens with neither passphrase: left as it is", path.name)
                continue
            write_atomic(
                path,
                backup_format.seal(
                    raw, kind=header.kind, device_id=header.device_id, device=header.device,
                    created=header.created, keys=new, kdf_salt=salt, kdf=self.config.kdf,
                    seq=header.seq,
                ),
            )  # fmt: skip
            change_journal.durable_write_done()
            done += 1
        return done

    def _replace_own_backups(self: Service, salt: bytes) -> tuple[Path | None, tuple[Path, ...]]:
        """Write a backup under the new passphrase, read it back, and only then remove this
        device's backups under any other salt (sealed with the old passphrase)."""
        folder = self.config.sync_folder
        if not folder.is_dir():
            log.warning("sync folder %s is missing: no backup written; old ones stay", folder)
            return None, ()
        vault = self.vault()
        done = self._export(vault, None)
        change_journal.durable_write_done()
        try:
            data = read_bounded(done.path, backup_format.MAX_FILE_BYTES, within=folder)
            header, raw = backup_format.open_sealed(data, self.store.keys)
            back = payload.decode(raw, expect_device_id=header.device_id)
        except OtpsyncError as exc:
            raise WriteFailed(
                f"the new backup {done.path.name} does not read back ({exc}); old backups kept"
            ) from None
        if back.accounts != vault.for_backup().accounts:
            raise WriteFailed(f"the new backup {done.path.name} differs from the vault")
        removed = []
        for entry in self.ledger.entries().values():
            path = folder / entry.name
            if path == done.path:
                continue
            try:
                old = read_bounded(path, backup_format.MAX_FILE_BYTES, within=folder)
                if hashlib.sha256(old).hexdigest() != entry.sha256:
                    continue
                if backup_format.read_header(old).kdf_salt == salt:
                    continue
            except (OtpsyncError, BackupError):
                continue
            path.unlink(missing_ok=True)
            change_journal.durable_write_done()
            removed.append(path)
        self.ledger.forget([p.name for p in removed])
        return done.path, tuple(removed)

    def _update_source(self: Service, source: str, new: str) -> tuple[bool, str]:
        """Store the new passphrase where the old one came from, or say who must."""
        cfg = self.config
        if source == "passphrase_file":
            return False, f"update passphrase_file {cfg.passphrase_file} with the new passphrase"
        if source == "passphrase_command":
            return False, (
                f"update what passphrase_command ({cfg.passphrase_command}) prints: it still"
                " gives the old passphrase"
            )
        if source == "the OS keyring" and new:
            if store_in_keyring(new):
                return True, ""
            return False, "the OS keyring could not be updated: store the new passphrase there"
        if source in ("$OTPSYNC_PASSPHRASE", "--passphrase-file"):
            return False, f"give the new passphrase through {source} next time"
        return False, ""
