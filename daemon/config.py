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

from apscheduler.triggers.cron import CronTrigger

from daemon.core.backup_format import (
    DEVICE_RE,
    KDF_FLOOR_ITERATIONS,
    KDF_FLOOR_MEMORY_KIB,
    KdfParams,
)
from daemon.core.durations import format_duration, parse_duration
from daemon.errors import ConfigError, KdfOutOfBounds, NoVault

DEFAULT_SNAPSHOTS = 20
WATCH_MODES = ("native", "polling")


@dataclass(frozen=True, slots=True)
class ExportSettings:
    """[export]: when the daemon writes backups, and how many of its own it keeps."""

    every: float = 6 * 3600
    cron: str = ""
    keep: int = 10
    only_when_changed: bool = True
    on_start: bool = True
    debounce: float = 2.0
    retry: float = 30.0  # a failed export is tried again after this, then 2×, 4×… ≤ 10 min


@dataclass(frozen=True, slots=True)
class WatchSource:
    """[[watch.sources]]: another app whose automatic backups land in the sync folder."""

    name: str
    pattern: str
    format: str = "auto"
    password_command: str = ""
    password_file: Path | None = None
    keyring: bool = False
    key_file: Path | None = None  # KeePass: the database's key file, with or without a password


@dataclass(frozen=True, slots=True)
class WatchSettings:
    """[watch]: how the daemon notices backups arriving in the sync folder."""

    mode: str = "native"
    recursive: bool = False
    rescan: float = 60.0
    settle: float = 2.0
    poll_interval: float = 5.0
    retries: int = 3
    notify_after: float = 2.0  # a burst of queued backups is told once it is this quiet
    sources: tuple[WatchSource, ...] = ()


@dataclass(frozen=True, slots=True)
class Config:
    device: str
    sync_folder: Path
    passphrase_command: str = ""
    passphrase_file: Path | None = None
    keyring: bool = True
    kdf: KdfParams = field(default_factory=KdfParams)
    snapshots: int = DEFAULT_SNAPSHOTS
    export: ExportSettings = field(default_factory=ExportSettings)
    watch: WatchSettings = field(default_factory=WatchSettings)
    clipboard_clear: float = 30.0
    hotkey: str = ""  # "<ctrl>+<alt>+o": opens the codes window (X11; see tray/hotkey.py)
    heartbeat: float = 60.0  # [daemon]: how often the worker says it is alive (status.json)
    stale_after: float = 14 * 86400  # [devices]: a peer silent this long is marked


_KIND_NAMES = {str: "a string", int: "a whole number", bool: "true or false"}
_TOP = {"device", "sync_folder", "passphrase_command", "passphrase_file", "keyring"}
_TABLES = {
    "kdf": {"memory_kib", "iterations", "lanes"},
    "vault": {"snapshots"},
    "export": {"every", "cron", "keep", "only_when_changed", "on_start", "debounce", "retry"},
    "watch": {"mode", "recursive", "rescan", "settle", "poll_interval", "retries", "sources",
              "notify_after"},
    "watch.sources": {"name", "pattern", "format", "password_command", "password_file", "keyring",
                      "key_file"},
    "tray": {"clipboard_clear", "hotkey"},
    "daemon": {"heartbeat"},
    "devices": {"stale_after"},
}  # fmt: skip


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

    def duration(self, key: str, default: float, low: float, high: float) -> float:
        text = self.get(key, str, "")
        if not text:
            return default
        try:
            seconds = parse_duration(text)
        except ValueError as exc:
            raise ConfigError(f"{self.where}: {self.prefix}{key}: {exc}") from None
        if not low <= seconds <= high:
            raise ConfigError(
                f"{self.where}: {self.prefix}{key} must be between {format_duration(low)} and"
                f" {format_duration(high)}, not {text!r}"
            )
        return seconds

    def number(self, key: str, default: int, low: int, high: int) -> int:
        value = self.get(key, int, default)
        if not low <= value <= high:
            raise ConfigError(
                f"{self.where}: {self.prefix}{key} must be {low} to {high}, not {value}"
            )
        return value

    def table(self, name: str) -> _Table:
        sub = self.doc.get(name, {})
        if not isinstance(sub, dict):
            raise ConfigError(f"{self.where}: [{name}] must be a table")
        return _Table(sub, f"{name}.", _TABLES[name], self.where)


def load(path: Path) -> Config:
    """Parse and validate config.toml; every problem is a one-line ConfigError."""
    return parse(read_text(path), path)


def read_text(path: Path) -> str:
    if not path.exists():
        raise NoVault(f"otpsync is not set up here (no {path}); run `otpsync init`")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror})") from None


def toml_doc(text: str, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def parse(text: str, path: Path) -> Config:
    """Validate config text (``path`` only names it in messages)."""
    doc = toml_doc(text, path)
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
    _check_kdf_floor(kdf, path)
    snapshots = vault_t.number("snapshots", DEFAULT_SNAPSHOTS, 1, 1000)
    export = _export_settings(top.table("export"), path)
    watch = _watch_settings(top.table("watch"), path)
    pfile = top.get("passphrase_file", str, "")
    return Config(
        device=device,
        sync_folder=Path(folder).expanduser(),
        passphrase_command=top.get("passphrase_command", str, ""),
        passphrase_file=Path(pfile).expanduser() if pfile else None,
        keyring=top.get("keyring", bool, True),
        kdf=kdf,
        snapshots=snapshots,
        export=export,
        watch=watch,
        clipboard_clear=top.table("tray").duration("clipboard_clear", 30.0, 1, 3600),
        hotkey=_hotkey(top.table("tray").get("hotkey", str, ""), path),
        heartbeat=top.table("daemon").duration("heartbeat", 60.0, 1, 3600),
        stale_after=top.table("devices").duration("stale_after", 14 * 86400, 3600, 365 * 86400),
    )


def _check_kdf_floor(kdf: KdfParams, path: Path) -> None:
    """Writers never go below OWASP's Argon2id minimum: at 8 KiB and 1 pass a stolen backup
    takes ~31,000 guesses per second per core instead of a handful, for every device."""
    if kdf.memory_kib < KDF_FLOOR_MEMORY_KIB:
        raise ConfigError(
            f"{path}: kdf.memory_kib = {kdf.memory_kib} is below the floor of"
            f" {KDF_FLOOR_MEMORY_KIB} (19 MiB, OWASP's minimum for Argon2id); raise it"
        )
    if kdf.iterations < KDF_FLOOR_ITERATIONS:
        raise ConfigError(
            f"{path}: kdf.iterations = {kdf.iterations} is below the floor of"
            f" {KDF_FLOOR_ITERATIONS} (OWASP's minimum for Argon2id); raise it"
        )


HOTKEY_RE = re.compile(r"(<(ctrl|alt|shift|super)>\+)*[A-Za-z0-9_]+")


def _hotkey(text: str, path: Path) -> str:
    """Checked here so a typo is an error at start, not a shortcut that silently never works."""
    text = text.strip()
    if text and not HOTKEY_RE.fullmatch(text):
        raise ConfigError(
            f"{path}: [tray] hotkey {text!r}: write it as <ctrl>+<alt>+o (modifiers <ctrl>,"
            " <alt>, <shift>, <super>, then one key: a letter, a digit, F1…F12, space…)"
        )
    return text


def _export_settings(t: _Table, path: Path) -> ExportSettings:
    d = ExportSettings()
    cron = t.get("cron", str, "").strip()
    if cron and "every" in t.doc:
        raise ConfigError(f"{path}: set export.every or export.cron, not both")
    if cron:
        try:
            CronTrigger.from_crontab(cron)
        except ValueError as exc:
            raise ConfigError(
                f"{path}: export.cron {cron!r} is not a crontab line ({exc})"
            ) from None
    return ExportSettings(
        every=t.duration("every", d.every, 60, 30 * 86400),
        cron=cron,
        keep=t.number("keep", d.keep, 1, 1000),
        only_when_changed=t.get("only_when_changed", bool, d.only_when_changed),
        on_start=t.get("on_start", bool, d.on_start),
        debounce=t.duration("debounce", d.debounce, 0, 3600),
        retry=t.duration("retry", d.retry, 0.1, 600),
    )


def _watch_settings(t: _Table, path: Path) -> WatchSettings:
    d = WatchSettings()
    mode = t.get("mode", str, d.mode)
    if mode not in WATCH_MODES:
        raise ConfigError(f'{path}: watch.mode must be "native" or "polling", not {mode!r}')
    return WatchSettings(
        mode=mode,
        recursive=t.get("recursive", bool, d.recursive),
        rescan=t.duration("rescan", d.rescan, 1, 86400),
        settle=t.duration("settle", d.settle, 0, 600),
        poll_interval=t.duration("poll_interval", d.poll_interval, 0.1, 3600),
        retries=t.number("retries", d.retries, 0, 100),
        notify_after=t.duration("notify_after", d.notify_after, 0, 600),
        sources=_watch_sources(t, path),
    )


def _watch_sources(t: _Table, path: Path) -> tuple[WatchSource, ...]:
    raw = t.doc.get("sources", [])
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: watch.sources must be a list of [[watch.sources]] tables")
    if not raw:
        return ()
    from daemon import importers  # only with sources: the importers cost ~2 MB in the tray

    sources = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ConfigError(f"{path}: watch.sources[{i}] must be a table")
        st = _Table(item, f"watch.sources[{i}].", _TABLES["watch.sources"], path)
        name = st.get("name", str, "")
        pattern = st.get("pattern", str, "")
        fmt = st.get("format", str, "auto").lower()
        if not DEVICE_RE.match(name):
            raise ConfigError(
                f"{path}: watch.sources[{i}].name must be 1–32 letters, digits, '.', '_' or '-'"
            )
        if not pattern or "/" in pattern or pattern.startswith("."):
            raise ConfigError(
                f"{path}: watch.sources[{i}].pattern must be a file-name pattern such as"
                ' "aegis-backup-*.json"'
            )
        if fmt != "auto" and fmt not in importers.FORMATS and fmt not in importers.ALIASES:
            raise ConfigError(
                f"{path}: watch.sources[{i}].format {fmt!r} is unknown"
                f" (auto, {', '.join(sorted(importers.FORMATS))})"
            )
        pfile = st.get("password_file", str, "")
        kfile = st.get("key_file", str, "")
        sources.append(
            WatchSource(
                name,
                pattern,
                fmt,
                st.get("password_command", str, ""),
                Path(pfile).expanduser() if pfile else None,
                st.get("keyring", bool, False),
                Path(kfile).expanduser() if kfile else None,
            )
        )
    if len({s.name for s in sources}) != len(sources):
        raise ConfigError(f"{path}: two [[watch.sources]] have the same name")
    return tuple(sources)


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
