"""The service: every operation otpsync offers, for the CLI and the tray to call.

Nothing above this layer touches files, crypto or the vault directly, and nothing below it
talks to a person. Each method validates everything before it changes anything, so a refused
operation leaves the home exactly as it was.
"""

from __future__ import annotations

import logging
import time
import tomllib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from daemon import config as config_mod
from daemon.config import Config
from daemon.core import backup_format, filenames, merge, otpauth, payload
from daemon.core.accounts import Account, Tombstone, utcnow
from daemon.core.backup_format import Header, MasterKeys
from daemon.core.merge import MergePlan
from daemon.core.otp import Code, code_at
from daemon.core.payload import VaultData
from daemon.errors import (
    BackupError,
    ConfigError,
    DuplicateAccount,
    FileMissing,
    NoSuchAccount,
    NoVault,
    VaultExists,
    WouldOverwrite,
    WrongPassphrase,
)
from daemon.fsutil import ensure_private_dir, write_atomic, write_new
from daemon.passphrase import PassphraseSources, get_passphrase
from daemon.paths import Paths
from daemon.vault_store import Snapshot, VaultStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ImportPreview:
    """What importing a file would do, computed without changing anything."""

    source: Path
    header: Header
    plan: MergePlan


@dataclass(frozen=True, slots=True)
class Exported:
    path: Path
    codes: int


@dataclass(frozen=True, slots=True)
class InitResult:
    config: Config
    device_id: str
    passphrase_source: str
    passphrase: str
    warnings: tuple[str, ...]


class Service:
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
        self._store: VaultStore | None = None

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

    @property
    def store(self) -> VaultStore:
        if self._store is None:
            cfg = self.config
            if not self.paths.vault_file.exists():
                raise NoVault(f"no vault at {self.paths.vault_file}; run `otpsync init` first")
            if self._keys is None:
                passphrase, source = get_passphrase(self._sources(cfg))
                log.debug("passphrase from %s", source)
                self._keys = MasterKeys(passphrase)
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

    # --- setting up ---------------------------------------------------------------------------

    def init(self, device: str | None, sync_folder: Path | None) -> InitResult:
        """Create config (unless the person wrote one) and an empty vault; refuse to overwrite."""
        if self.paths.vault_file.exists():
            raise VaultExists(
                f"a vault already exists at {self.paths.vault_file}; nothing was changed"
            )
        written = self._prewritten_settings()
        prewritten = written or {}
        for key, given in (("device", device), ("sync_folder", sync_folder)):
            if key in prewritten and given is not None and str(given) != prewritten[key]:
                raise VaultExists(
                    f"{self.paths.config_file} already sets {key} = {prewritten[key]!r};"
                    " edit it or leave out the flag"
                )
        device = device or prewritten.get("device")
        folder = sync_folder or (
            Path(prewritten["sync_folder"]) if "sync_folder" in prewritten else None
        )
        if not device or folder is None:
            raise ConfigError("init needs --device NAME and --sync-folder DIR")
        config_mod.check_device_name(device)
        folder = folder.expanduser().absolute()
        if not folder.is_dir() and not folder.parent.is_dir():
            raise FileMissing(f"sync folder {folder} does not exist, nor does its parent")

        # Everything checked: now write, config first (so a failed vault write can be retried).
        ensure_private_dir(self.paths.config_dir)
        if written is not None:
            if "device" not in prewritten or "sync_folder" not in prewritten:
                text = self.paths.config_file.read_text(encoding="utf-8")
                write_atomic(
                    self.paths.config_file,
                    (config_mod.settings_lines(device, folder) + "\n" + text).encode("utf-8"),
                )
        else:
            write_atomic(
                self.paths.config_file, config_mod.render_new(device, folder).encode("utf-8")
            )
        self._config = None
        cfg = self.config
        if not folder.is_dir():
            ensure_private_dir(folder)
        passphrase, source = get_passphrase(self._sources(cfg), confirm=True)
        self._keys = MasterKeys(passphrase)
        store = VaultStore(self.paths, self._keys, cfg.kdf, cfg.snapshots)
        vault = VaultData(device_id=str(uuid.uuid4()), device=device, created=utcnow())
        store.create(vault, device=device)
        self._store = store
        return InitResult(
            cfg, vault.device_id, source, passphrase, tuple(self._check_peers(folder, self._keys))
        )

    def _prewritten_settings(self) -> dict[str, str] | None:
        """Top-level settings of a config.toml the person wrote before ``init``, if any."""
        path = self.paths.config_file
        if not path.exists():
            return None
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        return {k: doc[k] for k in ("device", "sync_folder") if isinstance(doc.get(k), str)}

    @staticmethod
    def _check_peers(folder: Path, keys: MasterKeys) -> list[str]:
        """Warn when backups already in the sync folder were sealed with another passphrase."""
        for path in sorted(folder.iterdir(), reverse=True)[:50]:
            if not filenames.NAME_RE.match(path.name):
                continue
            try:
                backup_format.open_sealed(path.read_bytes(), keys)
            except WrongPassphrase:
                return [
                    f"{path.name} in the sync folder was sealed with another passphrase;"
                    " all your devices must use the same one"
                ]
            except (BackupError, OSError):
                continue
            return []
        return []

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

    def undo(self) -> tuple[Snapshot, VaultData, VaultData]:
        """Restore the vault from before the last change: (snapshot, before, after)."""
        store = self.store
        with store.locked():
            before = store.load()
            snap, after = store.undo()
        return snap, before, after

    # --- backups ------------------------------------------------------------------------------

    def export(self, out: Path | None = None) -> Exported:
        """Write an encrypted backup into ``out`` (a folder or a new file; default: the sync
        folder). Never overwrites: a taken name gets a ``-2`` suffix."""
        cfg = self.config
        if out is None and not cfg.sync_folder.is_dir():
            raise FileMissing(
                f"sync folder {cfg.sync_folder} does not exist (moved, renamed, or a drive that"
                " is not mounted?); fix sync_folder in config.toml or pass --out"
            )
        vault = self.vault()
        now = datetime.now(UTC)
        data = self.store.seal(vault.for_backup(), kind="backup", device=cfg.device, created=now)
        path = self._write_export(out or cfg.sync_folder, data, filenames.backup_name, now)
        return Exported(path, len(vault.accounts))

    def export_plain(self, out: Path) -> Exported:
        """Write the codes as an unencrypted otpauth:// list (mode 0600)."""
        vault = self.vault()
        text = "".join(otpauth.to_uri(a) + "\n" for a in vault.accounts)
        now = datetime.now(UTC)
        path = self._write_export(out, text.encode("utf-8"), filenames.plain_export_name, now)
        return Exported(path, len(vault.accounts))

    def _write_export(
        self, out: Path, data: bytes, namer: Callable[[datetime, str, int], str], now: datetime
    ) -> Path:
        out = out.expanduser()
        if out.is_dir():
            return write_new(out, lambda n: namer(now, self.config.device, n), data)
        if out.exists():
            raise WouldOverwrite(f"{out} already exists; otpsync never overwrites a file")
        return write_new(out.parent, lambda n: out.name if n == 1 else _suffixed(out, n), data)

    def preview_import(self, source: Path, *, include_deleted: bool = False) -> ImportPreview:
        """Open ``source`` and plan its merge. Changes nothing."""
        header, incoming = self._read_backup(source)
        vault = self.vault()
        plan = merge.plan(
            vault, incoming.accounts, source=header.device_id, include_deleted=include_deleted
        )
        return ImportPreview(source, header, plan)

    def apply_import(self, preview: ImportPreview) -> VaultData:
        """Merge a previewed import (snapshot first). Re-applies against the current vault."""
        _, after = self._change("import", lambda v: merge.apply(v, preview.plan))
        return after

    def _read_backup(self, source: Path) -> tuple[Header, VaultData]:
        self.store  # noqa: B018 -- no vault, no import: say so before reading the file
        try:
            size = source.stat().st_size
        except FileNotFoundError:
            raise FileMissing(f"{source}: file not found") from None
        except OSError as exc:
            raise FileMissing(f"{source}: {exc.strerror}") from None
        if not source.is_file():
            raise FileMissing(f"{source}: not a file")
        try:
            backup_format.check_size(size)
            with open(source, "rb") as f:
                data = f.read(backup_format.MAX_FILE_BYTES + 1)
            header, raw = backup_format.open_sealed(data, self.store.keys)
            return header, payload.decode(raw, expect_device_id=header.device_id)
        except BackupError as exc:
            raise exc.located(source) from None
        except OSError as exc:
            raise FileMissing(f"{source}: cannot read it ({exc.strerror})") from None


def _suffixed(path: Path, n: int) -> str:
    """``name-N.ext`` for a person-chosen file name, keeping double extensions intact."""
    name = path.name
    for ext in (filenames.SUFFIX, ".txt"):
        if name.endswith(ext):
            return f"{name.removesuffix(ext)}-{n}{ext}"
    return f"{name}-{n}"


__all__ = ["Exported", "ImportPreview", "InitResult", "Service"]
