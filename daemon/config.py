"""config.toml: read strictly (a typo is an error, not a silent default), written for humans.

Every key, its default and its meaning is in config.example.toml at the repository root.
No secret ever lives here: only where to get the passphrase from.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon.core.backup_format import DEVICE_RE, KdfParams
from daemon.errors import ConfigError, KdfOutOfBounds, NoVault

DEFAULT_SNAPSHOTS = 20


@dataclass(frozen=True, slots=True)
class Config:
    device: str
    sync_folder: Path
    passphrase_command: str = ""
    passphrase_file: Path | None = None
    keyring: bool = True
    kdf: KdfParams = field(default_factory=KdfParams)
    snapshots: int = DEFAULT_SNAPSHOTS


_KIND_NAMES = {str: "a string", int: "a whole number", bool: "true or false"}
_TOP = {"device", "sync_folder", "passphrase_command", "passphrase_file", "keyring"}
_TABLES = {"kdf": {"memory_kib", "iterations", "lanes"}, "vault": {"snapshots"}}


def check_device_name(name: str) -> str:
    if not DEVICE_RE.match(name):
        raise ConfigError(
            f"device name {name!r} must be 1–32 letters, digits, '.', '_' or '-',"
            " starting with a letter or digit"
        )
    return name


def device_slug(text: str) -> str:
    """A usable device name from a hostname such as "Alice's MacBook.local"."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text.split(".")[0]).strip("-._")[:32]
    return slug or "device"


class _Table:
    """Typed reads from one TOML table, with the key's full name in every error."""

    def __init__(self, doc: dict[str, Any], prefix: str, allowed: set[str], where: Path) -> None:
        self.doc, self.prefix, self.where = doc, prefix, where
        unknown = sorted(set(doc) - allowed - set(_TABLES if not prefix else ()))
        if unknown:
            raise ConfigError(f"{where}: unknown key '{prefix}{unknown[0]}'")

    def get(self, key: str, kind: type, default: Any) -> Any:
        value = self.doc.get(key, default)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(
                f"{self.where}: {self.prefix}{key} must be {_KIND_NAMES[kind]}, not {value!r}"
            )
        return value

    def table(self, name: str) -> _Table:
        sub = self.doc.get(name, {})
        if not isinstance(sub, dict):
            raise ConfigError(f"{self.where}: [{name}] must be a table")
        return _Table(sub, f"{name}.", _TABLES[name], self.where)


def load(path: Path) -> Config:
    """Parse and validate config.toml; every problem is a one-line ConfigError."""
    if not path.exists():
        raise NoVault(f"otpsync is not set up here (no {path}); run `otpsync init`")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror})") from None
    top = _Table(doc, "", _TOP, path)
    device = top.get("device", str, None) if "device" in doc else None
    folder = top.get("sync_folder", str, None) if "sync_folder" in doc else None
    if device is None or folder is None:
        raise ConfigError(f"{path}: device and sync_folder must be set")
    try:
        check_device_name(device)
    except ConfigError as exc:
        raise exc.located(path) from None
    kdf_t, vault_t = top.table("kdf"), top.table("vault")
    defaults = KdfParams()
    kdf = KdfParams(
        memory_kib=kdf_t.get("memory_kib", int, defaults.memory_kib),
        iterations=kdf_t.get("iterations", int, defaults.iterations),
        lanes=kdf_t.get("lanes", int, defaults.lanes),
    )
    try:
        kdf.check()
    except KdfOutOfBounds as exc:
        raise ConfigError(f"{path}: [kdf] {exc}") from None
    snapshots = vault_t.get("snapshots", int, DEFAULT_SNAPSHOTS)
    if not 1 <= snapshots <= 1000:
        raise ConfigError(f"{path}: vault.snapshots must be 1 to 1000, not {snapshots}")
    pfile = top.get("passphrase_file", str, "")
    return Config(
        device=device,
        sync_folder=Path(folder).expanduser(),
        passphrase_command=top.get("passphrase_command", str, ""),
        passphrase_file=Path(pfile).expanduser() if pfile else None,
        keyring=top.get("keyring", bool, True),
        kdf=kdf,
        snapshots=snapshots,
    )


def settings_lines(device: str, sync_folder: Path) -> str:
    """The top-level lines ``init`` writes (or puts first in a config the person wrote)."""
    return (
        "# This device's name: in backup file names and in other devices' notifications.\n"
        f"device = {json.dumps(device)}\n"
        "# The folder your sync client (Dropbox, Google Drive, OneDrive, Syncthing, Nextcloud…)\n"
        "# already syncs. Encrypted backups are written here; other devices' are read from here.\n"
        f"sync_folder = {json.dumps(str(sync_folder))}\n"
    )


def render_new(device: str, sync_folder: Path) -> str:
    """A fresh config.toml: the two settings, then pointers to the rest."""
    return (
        "# otpsync configuration. Every key, with its default, is explained in\n"
        "# config.example.toml (shipped with otpsync). No secret belongs in this file.\n\n"
        + settings_lines(device, sync_folder)
        + "\n# Passphrase sources tried after $OTPSYNC_PASSPHRASE and --passphrase-file:\n"
        '# passphrase_command = "pass show otpsync"\n'
        '# passphrase_file = "~/.config/otpsync/passphrase"\n'
        "# keyring = true\n"
    )
