"""The service: every operation otpsync offers, for the CLI and the tray to call.

Nothing above this layer touches files, crypto or the vault directly, and nothing below it
talks to a person. Each method validates everything before it changes anything, so a refused
operation leaves the home exactly as it was.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from daemon import config as config_mod
from daemon import vault_store
from daemon.adding import Adding
from daemon.config import Config
from daemon.core import backup_format, filenames, merge, payload
from daemon.core.accounts import Account, Tombstone, utcnow
from daemon.core.backup_format import Header, MasterKeys
from daemon.core.display import shown
from daemon.core.merge import MergePlan
from daemon.core.otp import Code, code_at
from daemon.core.payload import VaultData
from daemon.errors import (
    BackupError,
    DuplicateAccount,
    FileMissing,
    FileTooLarge,
    KdfBudgetSpent,
    NoSuchAccount,
    NotABackup,
    NotAFile,
    NoVault,
    OtpsyncError,
    PassphraseUnavailable,
    PasswordRequired,
    UnknownFormat,
    UsageError,
    VaultExists,
    WouldOverwrite,
    WriteFailed,
    WrongPassphrase,
)
from daemon.exporter import content_fingerprint, prune_own
from daemon.fsutil import (
    ensure_private_dir,
    read_bounded,
    read_head,
    sweep_temp,
    write_atomic,
    write_new,
)
from daemon.inbox import Inbox
from daemon.intake import (
    Approved,
    Intake,
    Outcome,
    PendingView,
    describe_claims,
    explain_truncation,
    weak_writer_message,
)
from daemon.kdf_budget import KdfBudget
from daemon.ledger import Ledger
from daemon.passphrase import (
    PassphraseSources,
    child_env,
    get_passphrase,
    source_at_login,
)
from daemon.passphrase_change import PassphraseChange, PassphraseChanged
from daemon.paths import Paths
from daemon.state import StateFiles, file_stamp, heartbeat_stale, parse_time
from daemon.vault_store import Snapshot, VaultStore

if TYPE_CHECKING:
    from daemon import importers

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ImportPreview:
    """What importing a file would do, computed without changing anything."""

    source: Path
    origin: str  # "backup from laptop, 2026-11-28 10:00 UTC" or "Aegis vault export"
    plan: MergePlan
    header: Header | None = None  # our own format only
    skipped: tuple[importers.Skipped, ...] = ()  # another app's entries otpsync cannot make
    ignored: int = 0  # QR codes that held something else than a 2FA code

    def counts(self) -> dict[str, int]:
        """The plan's counts, plus ``unsupported``: entries of the file left out."""
        return {**self.plan.counts(), "unsupported": len(self.skipped)}


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    snapshot: Snapshot
    codes: int | None  # None: it does not open
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Exported:
    path: Path
    codes: int
    pruned: tuple[Path, ...] = ()


@dataclass(frozen=True, slots=True)
class DeviceView:
    """Another device, as its newest backup opened here showed it (state/devices.json):
    what "phone · 2 h ago · 42 codes" is made of. ``stale``: silent longer than
    ``[devices] stale_after`` when the view was made."""

    id: str
    name: str
    last_backup: datetime | None
    codes: int
    stale: bool

    def as_json(self) -> dict[str, object]:
        when = self.last_backup
        return {
            "name": self.name,
            "id": self.id,
            "last_backup": when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else None,
            "codes": self.codes,
            "stale": self.stale,
        }


@dataclass(frozen=True, slots=True)
class InitResult:
    config: Config
    device_id: str
    passphrase_source: str
    passphrase: str
    warnings: tuple[str, ...]


class Service(Intake, Adding, PassphraseChange):
    """One home's otpsync. Cheap to create; reads config and asks for the passphrase lazily."""

    def __init__(
        self,
        paths: Paths,
        *,
        passphrase_file: Path | None = None,
        interactive: bool = True,
    ) -> None:
        self.paths = paths
        self._passphrase_file = passphrase_file
        self._interactive = interactive
        self._config: Config | None = None
        self._keys: MasterKeys | None = None
        self._passphrase: str | None = None
        self._passphrase_source = ""
        self._store: VaultStore | None = None
        self._budget: KdfBudget | None = None
        self._entry_offers = {}
        self.state = StateFiles(paths.state_dir)
        self.inbox = Inbox(paths.state_dir)

    # --- plumbing -----------------------------------------------------------------------------

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = config_mod.load(self.paths.config_file)
        return self._config

    def _sources(self, cfg: Config | None) -> PassphraseSources:
        return PassphraseSources(
            file=self._passphrase_file,
            command=cfg.passphrase_command if cfg else "",
            config_file=cfg.passphrase_file if cfg else None,
            use_keyring=cfg.keyring if cfg else True,
            interactive=self._interactive,
        )

    def passphrase_at_login(self) -> str | None:
        """The passphrase source an autostarted ``otpsync run`` would use, or None."""
        return source_at_login(self._sources(self.config))

    @property
    def store(self) -> VaultStore:
        if self._store is None:
            cfg = self.config
            if not self.paths.vault_file.exists():
                raise NoVault(f"no vault at {self.paths.vault_file}; run `otpsync init` first")
            if self._keys is None:
                passphrase, source = get_passphrase(self._sources(cfg))
                log.debug("passphrase from %s", source)
                self.use_passphrase(passphrase)
                self._passphrase_source = source
            self._store = VaultStore(self.paths, self._keys, cfg.kdf, cfg.snapshots)
        return self._store

    def _change(
        self, reason: str, change: Callable[[VaultData], VaultData]
    ) -> tuple[VaultData, VaultData]:
        """Lock, load, apply ``change``, snapshot the old file, save. Returns (before, after)."""
        store = self.store
        with store.locked():
            before = store.load()
            after = replace(change(before), device=self.config.device)
            if after != before:
                store.snapshot(reason)
                store.save(after, device=self.config.device)
        return before, after

    def use_passphrase(self, passphrase: str) -> None:
        """Use this passphrase instead of asking the sources (one the tray piped to a child)."""
        self._passphrase = passphrase
        self._keys = MasterKeys(passphrase)

    def child_command(self, *args: str) -> tuple[list[str], dict[str, str]]:
        """argv and environment that run ``otpsync ARGS`` on this home in a child process.
        Neither holds the passphrase: give it on the child's stdin (``--passphrase-stdin``)."""
        import sys

        argv = [sys.executable, "-m", "daemon.cli"]
        if self.paths.data_dir == self.paths.config_dir / "data":  # --home or OTPSYNC_HOME
            argv += ["--home", str(self.paths.config_dir)]
        return [*argv, *args], child_env()

    def passphrase_for_child(self) -> str:
        """The passphrase the vault opened with, to write into a child's stdin pipe."""
        self.store  # noqa: B018 -- opens the vault, asking the sources if need be
        if self._passphrase is None:
            raise PassphraseUnavailable("the vault is not open")
        return self._passphrase

    # --- setting up ---------------------------------------------------------------------------

    def init(self, device: str | None, sync_folder: Path | None) -> InitResult:
        """Create config (keeping one the person wrote) and an empty vault.

        Everything is checked first — settings, the passphrase — and only then written, so a
        refused ``init`` leaves the home exactly as it was.
        """
        if self.paths.vault_file.exists():
            raise VaultExists(
                f"a vault already exists at {self.paths.vault_file}; nothing was changed"
            )
        path = self.paths.config_file
        existing = config_mod.read_text(path) if path.exists() else None
        prewritten = self.prewritten_settings(existing)
        for key, given in (("device", device), ("sync_folder", sync_folder)):
            if key in prewritten and given is not None and str(given) != prewritten[key]:
                raise VaultExists(
                    f"{path} already sets {key} = {prewritten[key]!r};"
                    " edit it or leave out the flag"
                )
        device = device or prewritten.get("device")
        folder = sync_folder or (
            Path(prewritten["sync_folder"]) if "sync_folder" in prewritten else None
        )
        if not device or folder is None:
            raise UsageError("init needs --device NAME and --sync-folder DIR (or a terminal)")
        config_mod.check_device_name(device)
        folder = folder.expanduser().absolute()
        if not folder.is_dir() and not folder.parent.is_dir():
            raise FileMissing(f"sync folder {folder} does not exist, nor does its parent")
        if existing is None:
            text = config_mod.render_new(device, folder)
        elif len(prewritten) < 2:
            text = config_mod.settings_lines(device, folder) + "\n" + existing
        else:
            text = existing
        cfg = config_mod.parse(text, path)
        passphrase, source = get_passphrase(self._sources(cfg), confirm=True)

        ensure_private_dir(self.paths.config_dir)
        if text != existing:
            write_atomic(path, text.encode("utf-8"))
        if not folder.is_dir():
            ensure_private_dir(folder)
        self._config = cfg
        self.use_passphrase(passphrase)
        store = VaultStore(self.paths, self._keys, cfg.kdf, cfg.snapshots)
        vault = VaultData(device_id=str(uuid.uuid4()), device=device, created=utcnow())
        store.create(vault, device=device)
        self._store = store
        self.ledger.create()
        return InitResult(
            cfg, vault.device_id, source, passphrase, tuple(self._check_peers(folder, self._keys))
        )

    def new_identity(self) -> tuple[str, str, Exported | None]:
        """Give this machine a new device id (and KDF salt), keeping the vault: the fix when
        a home was copied to a second machine and both write as one device.

        Snapshot, save under the new id, write a backup as the new device, and only then
        remove the backups *this machine* wrote under the old id (the ledger knows which):
        the other machine keeps its identity, and stops seeing a clash. Returns (old id,
        new id, the new backup or None when the sync folder is missing)."""
        store = self.store
        old_id = self.vault().device_id
        new_id = str(uuid.uuid4())
        with store.locked():
            before = store.load()
            store.renew_salt()
            store.snapshot("new-identity")
            store.save(replace(before, device_id=new_id), device=self.config.device)
        # Our own old files were written as old_id: judged afresh (they are another device's
        # now), as are the other machine's, which this one took for a clash.
        self.state.forget_seen(("own", "identity-clash", "forged"))
        old_files = self.ledger.entries()
        if not self.config.sync_folder.is_dir():
            return old_id, new_id, None
        done = self._export(self.vault(), None)
        removed = []
        folder = self.config.sync_folder
        for entry in old_files.values():
            path = folder / entry.name
            try:
                data = read_bounded(path, backup_format.MAX_FILE_BYTES, within=folder)
                same = hashlib.sha256(data).hexdigest() == entry.sha256
            except OtpsyncError:
                continue
            if same and path != done.path:
                path.unlink(missing_ok=True)
                removed.append(path)
        self.ledger.forget([p.name for p in removed])
        return old_id, new_id, replace(done, pruned=(*done.pruned, *removed))

    def prewritten_settings(self, text: str | None = None) -> dict[str, str]:
        """device and sync_folder of a config.toml the person wrote before ``init``."""
        path = self.paths.config_file
        if text is None:
            if not path.exists():
                return {}
            text = config_mod.read_text(path)
        doc = config_mod.toml_doc(text, path)
        return {k: doc[k] for k in ("device", "sync_folder") if isinstance(doc.get(k), str)}

    @staticmethod
    def _check_peers(folder: Path, keys: MasterKeys) -> list[str]:
        """Warn when backups already in the sync folder were sealed with another passphrase.
        Files named like backups that are no file (a FIFO, a link to /dev/zero) are named
        and skipped; nothing planted there can hang ``init`` or fill the memory."""
        warnings = []
        try:
            names = sorted(folder.iterdir(), reverse=True)
        except OSError:
            return []
        for path in [p for p in names if filenames.NAME_RE.match(p.name)][:50]:
            try:
                data = read_bounded(path, backup_format.MAX_FILE_BYTES, within=folder)
                backup_format.open_sealed(data, keys)
            except (NotAFile, FileTooLarge) as exc:
                warnings.append(f"ignored {exc}")
                continue
            except WrongPassphrase:
                warnings.append(
                    f"{shown(path.name)} in the sync folder was sealed with another passphrase;"
                    " all your devices must use the same one"
                )
            except OtpsyncError:
                continue
            break
        return warnings

    # --- reading ------------------------------------------------------------------------------

    def vault(self) -> VaultData:
        return self.store.load()

    def find(self, query: str) -> list[Account]:
        return [a for a in self.vault().accounts if a.matches(query)]

    def _one(self, vault: VaultData, query: str) -> Account:
        exact = [a for a in vault.accounts if a.id == query]
        found = exact or [a for a in vault.accounts if a.id.startswith(query.lower())]
        if len(query) < 4 and not exact:
            found = []
        if not found:
            raise NoSuchAccount(f"no code with id {query!r} (see `otpsync list`)")
        if len(found) > 1:
            raise NoSuchAccount(f"id {query!r} is ambiguous: {len(found)} codes start with it")
        return found[0]

    def vault_stamp(self) -> tuple[int, int, int] | None:
        """The vault file's (size, mtime, inode): a stat, so a window notices changes cheaply."""
        return file_stamp(self.paths.vault_file)

    @staticmethod
    def code_of(account: Account, now: float | None = None) -> Code:
        return code_at(account, time.time() if now is None else now)

    def codes(
        self, query: str | None = None, now: float | None = None
    ) -> list[tuple[Account, Code]]:
        moment = time.time() if now is None else now
        accounts = self.find(query) if query else self.vault().accounts
        return [(a, code_at(a, moment)) for a in accounts]

    # --- changing -----------------------------------------------------------------------------

    def add(self, account: Account) -> Account:
        """Add a code; refuses one the vault already holds. Clears its tombstone, if any."""

        def change(v: VaultData) -> VaultData:
            for a in v.accounts:
                if a.identity() == account.identity():
                    raise DuplicateAccount(f"this code is already here as {a.label} ({a.id[:8]})")
            fp = account.fingerprint()
            return replace(
                v,
                accounts=(*v.accounts, account),
                tombstones=tuple(t for t in v.tombstones if t.fingerprint != fp),
            )

        self._change("add", change)
        return account

    def remove(self, id_or_prefix: str) -> Account:
        """Remove one code, leaving a tombstone so old backups do not bring it back."""
        removed: list[Account] = []

        def change(v: VaultData) -> VaultData:
            victim = self._one(v, id_or_prefix)
            removed.append(victim)
            stone = Tombstone(victim.fingerprint(), victim.label, utcnow())
            return replace(
                v,
                accounts=tuple(a for a in v.accounts if a.id != victim.id),
                tombstones=(*v.tombstones, stone),
            )

        self._change("remove", change)
        return removed[0]

    def advance(self, id_or_prefix: str) -> Account:
        """Move an HOTP code to its next counter value (what a phone's "next code" does)."""
        moved: list[Account] = []

        def change(v: VaultData) -> VaultData:
            target = self._one(v, id_or_prefix)
            if target.type != "hotp":
                raise NoSuchAccount(f"{target.label} is not a counter-based (HOTP) code")
            new = replace(target, counter=target.counter + 1, updated=utcnow())
            moved.append(new)
            return replace(v, accounts=tuple(new if a.id == new.id else a for a in v.accounts))

        self._change("advance", change)
        return moved[0]

    def last_change(self) -> str | None:
        """What ``undo`` would step back over ("import", "approve", "add", …), or None."""
        snaps = self.store.snapshots()
        return snaps[0].reason if snaps else None

    def undo(self) -> tuple[Snapshot, VaultData | None, VaultData]:
        """Restore the vault from before the last change: (snapshot, before, after). When
        the vault itself no longer opens (damaged), ``before`` is None and the newest
        snapshot that opens is restored."""
        store = self.store
        with store.locked():
            try:
                before: VaultData | None = store.load()
            except vault_store.DAMAGE as exc:
                log.warning("%s", str(exc).removesuffix(vault_store.RECOVERY_HINT))
                before = None
            snap, after = store.undo(recover=before is None)
        return snap, before, after

    def snapshots(self) -> list[SnapshotInfo]:
        """The snapshots, newest first, each with its code count (or why it does not open)."""
        store = self.store
        found = []
        for snap in store.snapshots():
            try:
                found.append(SnapshotInfo(snap, len(store.open_snapshot(snap).accounts)))
            except OtpsyncError as exc:
                found.append(SnapshotInfo(snap, None, str(exc)))
        return found

    # --- backups ------------------------------------------------------------------------------

    def export(self, out: Path | None = None, *, only: str | None = None) -> Exported:
        """Write an encrypted backup into ``out`` (a folder or a new file; default: the sync
        folder, after which this device's old backups beyond ``[export] keep`` are pruned).
        ``only`` keeps the codes matching a query (for sharing a few). Never overwrites: a
        taken name gets a ``-2`` suffix."""
        vault = self.vault()
        if only is None:
            done = self._export(vault, out)
        else:
            subset = replace(vault, accounts=tuple(self._selected(vault, only)), tombstones=())
            done = self._export(subset, out, record=False)
        if not done.path.exists():
            raise WriteFailed(
                f"{done.path} was removed right after it was written (by a sync client, or"
                " something else that deletes files in that folder)"
            )
        return done

    def export_shared(self, out: Path, *, only: str, passphrase: str) -> Exported:
        """Seal the codes matching ``only`` for someone else, under ``passphrase`` — never the
        person's own, which opens every backup in the sync folder — with a fresh KDF salt and
        a fresh device id (so the file is nobody's backup: not ours, not a device of ours).
        Refuses the sync folder: a share is handed over, not synced."""
        if not passphrase:
            raise UsageError("the share passphrase is empty")
        if hmac.compare_digest(
            passphrase.encode("utf-8"), self.passphrase_for_child().encode("utf-8")
        ):
            raise UsageError(
                "the share passphrase is your own passphrase, which opens all your backups;"
                " choose another one just for this share"
            )
        target = out.expanduser()
        if _inside_dir(target if target.is_dir() else target.parent, self.config.sync_folder):
            raise UsageError(
                "refusing to write a share into the sync folder (every device would look at"
                " it); choose another --out"
            )
        vault = self.vault()
        accounts = tuple(self._selected(vault, only))
        share_id = str(uuid.uuid4())
        now = datetime.now(UTC).replace(microsecond=0)
        share = VaultData(share_id, self.config.device, now, accounts)
        data = backup_format.seal(
            payload.encode(share),
            kind="backup",
            device_id=share_id,
            device=self.config.device,
            created=now,
            keys=MasterKeys(passphrase),
            kdf_salt=os.urandom(backup_format.SALT_BYTES),
            kdf=self.config.kdf,
        )
        kind = "shared" + filenames.SUFFIX
        path = self._write_export(
            target, data, lambda when, device, n: filenames.export_name(when, device, kind, n), now
        )
        log.info("wrote a share of %d codes to %s", len(accounts), path.name)
        return Exported(path, len(accounts))

    def export_as(
        self, fmt: str, out: Path, *, only: str | None = None, password: str | None = None
    ) -> Exported:
        """Export for another app: ``otpauth`` (URI list), ``aegis`` (plain Aegis vault),
        ``aegis-encrypted`` (needs ``password``) or ``qr`` (one PNG per code into a folder).
        Everything but aegis-encrypted is unencrypted; files are written 0600."""
        from daemon.exporters import aegis
        from daemon.exporters import otpauth as otpauth_export

        accounts = self._selected(self.vault(), only)
        now = datetime.now(UTC)
        if fmt == "qr":
            return self._export_qr(accounts, out)
        if fmt == "aegis-encrypted":
            if not password:
                raise UsageError("--format aegis-encrypted needs a password (--password-file)")
            data, kind = aegis.encrypted(accounts, password), "aegis-export.json"
        elif fmt == "aegis":
            data, kind = aegis.plain(accounts), "aegis-export-UNENCRYPTED.json"
        elif fmt == "otpauth":
            data, kind = otpauth_export.uri_list(accounts), "otpauth-UNENCRYPTED.txt"
        else:
            raise UsageError(f"unknown export format {fmt!r}")
        path = self._write_export(
            out, data, lambda when, device, n: filenames.export_name(when, device, kind, n), now
        )
        return Exported(path, len(accounts))

    def _export_qr(self, accounts: list[Account], out: Path) -> Exported:
        from daemon.exporters import qr

        out = out.expanduser()
        if not out.is_dir():
            raise FileMissing(
                f"--format qr writes one PNG per code into a folder; {out} is not one"
            )
        width = max(2, len(str(len(accounts))))
        # Render everything first: a code that cannot be drawn stops the export before any
        # file is written.
        images = [(qr.file_name(a, i, width=width), qr.png(a)) for i, a in enumerate(accounts, 1)]
        for name, data in images:
            write_new(out, lambda n, name=name: name if n == 1 else _suffixed(Path(name), n), data)
        return Exported(out, len(accounts))

    @staticmethod
    def _selected(vault: VaultData, only: str | None) -> list[Account]:
        if only is None:
            return list(vault.accounts)
        chosen = [a for a in vault.accounts if a.matches(only)]
        if not chosen:
            raise NoSuchAccount(f"no code matches {only!r} (see `otpsync list`)")
        return chosen

    def export_if_changed(self, *, always_check: bool = False) -> Exported | None:
        """The scheduled export: skipped (None) when the vault has not changed since this
        device's last backup, by content, and that backup is still there. ``always_check``
        applies the test even with ``only_when_changed = false`` (exports after a change)."""
        vault = self.vault()
        last = self.state.last_export()
        if (
            (self.config.export.only_when_changed or always_check)
            and last is not None
            and last.fingerprint == content_fingerprint(vault)
            and Path(last.file).exists()
        ):
            return None
        return self._export(vault, None)

    def _export(self, vault: VaultData, out: Path | None, *, record: bool = True) -> Exported:
        cfg = self.config
        if out is None and not cfg.sync_folder.is_dir():
            raise FileMissing(
                f"sync folder {cfg.sync_folder} does not exist (moved, renamed, or a drive that"
                " is not mounted?); fix sync_folder in config.toml or pass --out"
            )
        now = datetime.now(UTC)
        data = self.store.seal(vault.for_backup(), kind="backup", device=cfg.device, created=now)
        into_folder = out is None or _same_dir(out, cfg.sync_folder)
        if into_folder:
            self._adopt_own_files(vault.device_id)  # before the ledger exists, once
        path = self._write_export(out or cfg.sync_folder, data, filenames.backup_name, now)
        pruned: tuple[Path, ...] = ()
        if into_folder:
            self.ledger.record(path.name, hashlib.sha256(data).hexdigest(), self.store.seq)
        if out is None and record:
            self.state.record_export(path, content_fingerprint(vault))
            claims = self._classify_claims(vault.device_id)
            if claims["identity-clash"]:
                log.warning(
                    "not pruning old backups: another machine uses this device's identity"
                    " (%d files); run `otpsync init --new-identity` on one of them",
                    len(claims["identity-clash"]),
                )
            else:
                pruned = tuple(
                    prune_own(cfg.sync_folder, self.ledger, cfg.export.keep, written=path)
                )
        log.info("exported %d codes to %s", len(vault.accounts), path.name)
        return Exported(path, len(vault.accounts), pruned)

    # --- this device's own files ----------------------------------------------------------------

    @property
    def ledger(self) -> Ledger:
        return Ledger(self.paths.state_dir)

    @property
    def kdf_budget(self) -> KdfBudget:
        """The Argon2 budget for files in the folder, bound to the current passphrase."""
        keys = self.store.keys
        if self._budget is None or self._budget.keys is not keys:
            self._budget = KdfBudget(keys, self.paths.state_dir)
        return self._budget

    def _own_id_files(self, device_id: str) -> list[tuple[Path, bytes, Header]]:
        """Candidates in the sync folder whose header carries ``device_id`` (not yet judged).
        Every export asks, so a file is read whole only when its first bytes claim that id."""
        from daemon.watcher import scan

        found = []
        folder = self.config.sync_folder
        for path in scan(folder, False, ()):
            claim = backup_format.peek_order(
                read_head(path, backup_format.PEEK_BYTES, within=folder)
            )
            if claim is None or claim[0] != device_id:
                continue
            try:
                data = read_bounded(path, backup_format.MAX_FILE_BYTES, within=folder)
                header = backup_format.read_header(data)
            except OtpsyncError:
                continue
            if header.device_id == device_id:
                found.append((path, data, header))
        return found

    def _adopt_own_files(self, device_id: str) -> None:
        """A home without a ledger (older otpsync, or a lost state dir): the files that
        authenticate as this device's become its ledger, so pruning goes on as before."""
        ledger = self.ledger
        if ledger.exists():
            return
        adopted = 0
        for path, data, _ in self._own_id_files(device_id):
            try:
                _, opened = self._open_budgeted(data)
            except BackupError:
                continue
            if opened.device_id == device_id:
                ledger.record(path.name, hashlib.sha256(data).hexdigest())
                adopted += 1
        ledger.create()
        if adopted:
            log.info("ledger started with %d backups of this device found in the folder", adopted)

    def _classify_claims(self, device_id: str) -> dict[str, list[str]]:
        """Judge every file in the folder that claims this device's id and is not in the
        ledger (once per content: seen.json), then report what is still there."""
        ledger = self.ledger
        for path, data, header in self._own_id_files(device_id):
            sha = hashlib.sha256(data).hexdigest()
            if ledger.wrote(sha) or self.state.seen(sha):
                continue
            try:
                kind, message = self._own_claim(path, data, sha, header)
            except KdfBudgetSpent:
                continue
            self.state.mark_seen(sha, kind, str(path))
            if message:
                log.warning("%s", message)
        return self.own_claims()

    def _write_export(
        self, out: Path, data: bytes, namer: Callable[[datetime, str, int], str], now: datetime
    ) -> Path:
        out = out.expanduser()
        if out.is_dir():
            return write_new(out, lambda n: namer(now, self.config.device, n), data)
        if out.exists():
            raise WouldOverwrite(f"{out} already exists; otpsync never overwrites a file")
        return write_new(out.parent, lambda n: out.name if n == 1 else _suffixed(out, n), data)

    def preview_import(
        self,
        source: Path,
        *,
        fmt: str = "auto",
        password: str | None = None,
        ask_password: Callable[[str], str] | None = None,
        include_deleted: bool = False,
        key_file: bytes | None = None,
    ) -> ImportPreview:
        """Open ``source`` — our backup, or another app's export (``fmt``, detected from the
        content when "auto") — and plan its merge. Changes nothing.

        ``password`` opens another app's encrypted export, or a backup sealed with someone
        else's passphrase; ``ask_password(what)`` is called when one is needed and missing.
        ``key_file`` (its bytes) opens a KeePass database, with or without a password: then
        an empty answer to ``ask_password`` means "no password".
        """
        self.store  # noqa: B018 -- no vault, no import: say so before reading the file
        data = self._read_import_file(source)
        try:
            if fmt == "otpsync" or (fmt == "auto" and backup_format.looks_sealed(data)):
                if key_file is not None:
                    raise UsageError("--key-file is for KeePass databases, not otpsync backups")
                header, incoming = self._open_backup(data, password)
                if header.kdf.weak:
                    log.warning("%s", weak_writer_message(header.device))
                origin = f"backup from {header.device}, {header.created:%Y-%m-%d %H:%M} UTC"
                accounts, device_id, skipped = incoming.accounts, header.device_id, ()
            else:
                header, device_id = None, None
                importer = self._importer_for(data, fmt, password)
                if key_file is not None and importer.read_keyed is None:
                    raise UsageError(f"--key-file is for KeePass databases, not a {importer.title}")
                if password is None and importer.encrypted(data):
                    if key_file is not None:
                        if ask_password is not None:
                            what = f"{importer.title} (empty if the key file alone opens it)"
                            password = ask_password(what) or None
                    elif ask_password is None:
                        key = " and/or --key-file FILE" if importer.read_keyed else ""
                        raise PasswordRequired(
                            f"this is an encrypted {importer.title}: give --password-file FILE"
                            f"{key} (or run in a terminal to be asked)"
                        )
                    else:
                        password = ask_password(importer.title)
                result = importer.parse(data, password, key_file)
                accounts, skipped = result.accounts, result.skipped
                origin = f"{importer.title} export"
        except BackupError as exc:
            raise explain_truncation(exc, source, len(data)).located(source) from None
        plan = merge.plan(self.vault(), accounts, source=device_id, include_deleted=include_deleted)
        return ImportPreview(source, origin, plan, header, skipped)

    def _open_backup(self, data: bytes, password: str | None) -> tuple[Header, VaultData]:
        keys = self.store.keys if password is None else MasterKeys(password)
        header, raw = backup_format.open_sealed(data, keys)
        return header, payload.decode(raw, expect_device_id=header.device_id)

    @staticmethod
    def _importer_for(data: bytes, fmt: str, password: str | None) -> importers.Importer:
        from daemon import importers  # imported when needed: an idle tray has no use for it

        if fmt != "auto":
            return importers.get(fmt)
        try:
            return importers.get(importers.detect(data, password))
        except UnknownFormat:
            hint = "" if password is None else ", and the password opens no old andOTP backup"
            raise NotABackup(
                "not an otpsync backup, nor another app's export otpsync can read"
                f"{hint} (`otpsync import --help` lists the formats; old andOTP backups"
                " have no header: give their --password-file)"
            ) from None

    def apply_import(self, preview: ImportPreview) -> VaultData:
        """Merge a previewed import (snapshot first). Re-applies against the current vault."""
        _, after = self._change("import", lambda v: merge.apply(v, preview.plan))
        return after

    @staticmethod
    def read_key_file(path: Path) -> bytes:
        """A KeePass key file's bytes (any file can be one), within the same size cap."""
        try:
            return Service._read_import_file(path)
        except FileMissing as exc:
            raise FileMissing(f"key file {exc.message}") from None
        except FileTooLarge as exc:
            raise FileTooLarge(f"key file {exc.message}") from None

    @staticmethod
    def _read_import_file(source: Path) -> bytes:
        """The file the person named (a symlink they made is theirs to follow), bounded."""
        return read_bounded(source, backup_format.MAX_FILE_BYTES)

    def sweep_temp_files(self) -> list[Path]:
        """Remove temp files a crash left behind (ours only, over 10 min old) in the folders
        otpsync writes into: the sync folder, and the state and data dirs."""
        p = self.paths
        folders = [self.config.sync_folder, p.state_dir, self.inbox.dir, p.data_dir,
                   p.snapshots_dir, p.snapshots_dir / "undone", p.config_dir]  # fmt: skip
        removed = [path for folder in dict.fromkeys(folders) for path in sweep_temp(folder)]
        if removed:
            log.info("removed %d temp file(s) left by an interrupted write", len(removed))
        return removed

    def devices(self, now: datetime | None = None) -> list[DeviceView]:
        """The other devices seen in the sync folder, by name. Needs no passphrase: what
        intake recorded when their backups opened (a name is the device's own claim,
        authenticated with the shared passphrase)."""
        now = now or datetime.now(UTC)
        limit = self.config.stale_after
        views = []
        for device_id, seen in self.state.devices().items():
            when = _utc_time(seen.get("created"))
            stale = when is None or (now - when).total_seconds() > limit
            codes = seen.get("codes")
            count = codes if isinstance(codes, int) else 0
            views.append(DeviceView(device_id, str(seen.get("name") or "?"), when, count, stale))
        return sorted(views, key=lambda d: (d.name.casefold(), d.id))

    def device_details(self) -> list[dict[str, object]]:
        """``otpsync devices``: each other device as ``devices()`` shows it, plus whether its
        backups still open with our passphrase, its KDF costs and whether they are below the
        floor our own writers keep."""
        recorded = self.state.devices()
        weak = self.state.weak_writers()
        other = self.other_passphrase.devices()
        out = []
        for view in self.devices():
            kdf = recorded.get(view.id, {}).get("kdf")
            out.append({
                **view.as_json(), "opens": view.id not in other,
                "kdf": kdf if isinstance(kdf, dict) else None, "weak_kdf": view.id in weak,
            })  # fmt: skip
        return out

    def forget_device(self, query: str) -> DeviceView:
        """Stop offering a device's backups (`otpsync devices forget NAME`): by its name or
        the start of its id. Its queued entry goes; its files in the folder are left alone."""
        wanted = query.strip().casefold()
        found = [d for d in self.devices() if d.name.casefold() == wanted]
        found = found or [d for d in self.devices() if len(wanted) >= 4 and d.id.startswith(wanted)]
        if not found:
            raise NoSuchAccount(f"no device {query!r} (see `otpsync devices`)")
        if len(found) > 1:
            ids = ", ".join(d.id[:8] for d in found)
            raise UsageError(f"{len(found)} devices are called {query!r} ({ids}): give an id")
        (device,) = found
        self.state.forget_device(device.id, device.name)
        for entry in self.inbox.entries():
            if entry.device_id == device.id:
                self.inbox.remove(entry.id)
        return device

    def daemon_status(self) -> dict[str, object]:
        """``otpsync status``: needs no passphrase (config and state files only)."""
        import filelock

        cfg = self.config
        running, pid = False, None
        if self.state.daemon_lock.exists():
            probe = filelock.FileLock(self.state.daemon_lock, timeout=0, thread_local=False)
            try:
                probe.acquire()
                probe.release()
            except filelock.Timeout:
                running = True
                try:
                    pid = int(self.state.pid_file.read_text().strip())
                except (OSError, ValueError):
                    pid = None
        status = self.state.status()
        last = self.state.last_export()
        claims = self.own_claims()
        error = status.get("last_error")
        failure = status.get("export_failure")
        every = status.get("heartbeat_every")
        every = every if isinstance(every, int | float) and every > 0 else cfg.heartbeat
        beat = parse_time(status.get("heartbeat")) if running else None
        return {
            "running": running,
            "responding": running and not heartbeat_stale(beat, every),
            "pid": pid,
            "heartbeat": status.get("heartbeat") if beat else None,
            "state_disk_full": running and _disk_full(self.state.dir),
            "device": cfg.device,
            "sync_folder": str(cfg.sync_folder),
            "last_export": {"time": last.time, "file": last.file} if last else None,
            "next_export": status.get("next_export") if running else None,
            "export_failure": failure if running and isinstance(failure, dict) else None,
            "pending": len(self.inbox.entries()),
            "watch_mode": cfg.watch.mode,
            "last_error": error if isinstance(error, dict) else None,
            "warnings": [
                *(weak_writer_message(d) for d in sorted(self.state.weak_writers().values())),
                *self.other_passphrase.notices(),
            ],
            "other_passphrase": [
                {"device": name, "device_id": device_id}
                for device_id, name in sorted(self.other_passphrase.devices().items())
            ],
            "not_written_here": claims["forged"],
            "identity_clash": claims["identity-clash"],
            "devices": [d.as_json() for d in self.devices()],
        }


def _disk_full(folder: Path) -> bool:
    """No byte left for us on ``folder``'s filesystem (what a stale heartbeat may mean)."""
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs on Windows
        return False
    return st.f_bavail == 0


def _utc_time(text: object) -> datetime | None:
    """An ISO 8601 time from a state file, as an aware UTC datetime (None if unusable)."""
    if not isinstance(text, str):
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _same_dir(out: Path, folder: Path) -> bool:
    try:
        target = out.expanduser()
        return (target if target.is_dir() else target.parent).resolve() == folder.resolve()
    except OSError:
        return False


def _inside_dir(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def _suffixed(path: Path, n: int) -> str:
    """``name-N.ext`` for a person-chosen file name, keeping double extensions intact."""
    name = path.name
    for ext in (filenames.SUFFIX, ".txt"):
        if name.endswith(ext):
            return f"{name.removesuffix(ext)}-{n}{ext}"
    return f"{name}-{n}"


__all__ = [
    "Approved",
    "DeviceView",
    "Exported",
    "ImportPreview",
    "InitResult",
    "Outcome",
    "PassphraseChanged",
    "PendingView",
    "Service",
    "SnapshotInfo",
    "child_env",
    "describe_claims",
]
