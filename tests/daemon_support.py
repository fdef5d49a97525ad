"""Helpers for the daemon tests: other devices' backups, bounded waits, event recorders.

Everything here is real: backups are sealed with the real format and Argon2 (cheap
parameters, set the way config.toml sets them), daemons are the real ``Daemon`` on a real
home, subprocesses are the installed ``otpsync``. Waiting is always bounded, and always on
something observable (a listener event, a log record, a file, a process's output), so a broken
daemon fails a test in seconds instead of hanging it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import logging
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, TypeVar

from daemon.core import backup_format, payload
from daemon.core.accounts import Account
from daemon.core.backup_format import MasterKeys
from daemon.core.filenames import backup_name
from daemon.core.payload import VaultData
from daemon.errors import WrongPassphrase
from daemon.paths import Paths
from daemon.runner import Daemon, Event
from daemon.service import Service
from daemon.state import read_json
from tests.conftest import FAST_KDF, PASSPHRASE, Home, base_env, otpsync_argv

T = TypeVar("T")

POLL = 0.03  # how often bounded waits look again (seconds)

# Short settings, through config.toml as a person would write them: the daemon tests then
# take fractions of a second per file instead of the defaults' seconds.
FAST_DAEMON = """
[export]
{schedule}
on_start = {on_start}
debounce = "0.2s"
keep = {keep}
{retry}

[watch]
mode = "{mode}"
recursive = {recursive}
settle = "{settle}"
rescan = "1s"
poll_interval = "0.2s"
retries = 3
notify_after = "{notify_after}"
{daemon}
"""


def daemon_settings(
    *,
    on_start: bool = False,
    keep: int = 10,
    mode: str = "native",
    recursive: bool = False,
    cron: str = "",
    retry: str = "",
    heartbeat: str = "",
    settle: str = "0.2s",
    notify_after: str = "0.1s",
) -> str:
    """The [export] and [watch] tables of a test home; ``retry`` (a failed export's first
    retry) and ``heartbeat`` ([daemon]) as durations, when the test needs them short."""
    return FAST_DAEMON.format(
        schedule=f'cron = "{cron}"' if cron else "",
        on_start=str(on_start).lower(),
        keep=keep,
        mode=mode,
        recursive=str(recursive).lower(),
        retry=f'retry = "{retry}"' if retry else "",
        daemon=f'\n[daemon]\nheartbeat = "{heartbeat}"' if heartbeat else "",
        settle=settle,
        notify_after=notify_after,
    )


# Names sync clients give: their temp files (never read), and conflict copies (read).
SAMPLE_STEM = "2026-11-28-10-00-00-phone"
SAMPLE_NAME = f"{SAMPLE_STEM}-4otp-keys-export.4otp.txt"
TEMP_NAMES = [
    f".syncthing.{SAMPLE_NAME}.tmp",
    f"~syncthing~{SAMPLE_NAME}.tmp",
    f".{SAMPLE_NAME}.~1a2b3c4d",  # Nextcloud
    f"{SAMPLE_NAME}.abcdefgh.partial",  # rclone
    f".getxfer.4711.{SAMPLE_NAME}",  # MEGA
    ".~otpsync-0a1b2c3d4e5f.tmp",  # our own
]
CONFLICT_NAMES = [
    SAMPLE_NAME.replace(".4otp.txt", ".4otp (laptop's conflicted copy 2026-11-28).txt"),
    SAMPLE_NAME.replace(".4otp.txt", ".4otp.sync-conflict-20261128-101500-ABCDEFG.txt"),
    SAMPLE_NAME.replace(".4otp.txt", ".4otp-DESKTOP.txt"),
    SAMPLE_NAME.replace(".4otp.txt", ".4otp (1).txt"),
    SAMPLE_NAME.replace(".4otp.txt", ".4otp 2.txt"),
    SAMPLE_NAME + ".conflict1",
]


def named_like(template: str, created: datetime, device: str) -> str:
    """``template`` (one of the names above) for a backup of ``device`` from ``created``."""
    return template.replace(SAMPLE_STEM, f"{created:%Y-%m-%d-%H-%M-%S}-{device}")


# --- bounded waiting ------------------------------------------------------------------------


def wait_for(predicate: Callable[[], T], timeout: float = 10.0, what: str = "") -> T:
    """Poll ``predicate`` until it returns something truthy (returned), or fail after
    ``timeout`` seconds. The short sleep is the polling interval, not synchronisation."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or predicate}")
        time.sleep(POLL)


def stays_false(predicate: Callable[[], object], duration: float) -> bool:
    """True when ``predicate`` stays falsy for ``duration`` seconds: for "nothing happens"
    checks, which can only ever be bounded observation."""
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        if predicate():
            return False
        time.sleep(POLL)
    return not predicate()


class Recorder:
    """A daemon listener that keeps every event and lets a test wait for some."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._cond = threading.Condition()

    def __call__(self, event: Event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def of(self, kind: str) -> list[Event]:
        with self._cond:
            return [e for e in self.events if e.kind == kind]

    def wait(
        self,
        kind: str,
        count: int = 1,
        timeout: float = 10.0,
        where: Callable[[Event], bool] = lambda _e: True,
    ) -> list[Event]:
        """The first ``count`` events of ``kind`` matching ``where``; fails after timeout."""

        def found() -> list[Event]:
            return [e for e in self.events if e.kind == kind and where(e)]

        with self._cond:
            if not self._cond.wait_for(lambda: len(found()) >= count, timeout):
                seen = [(e.kind, e.message) for e in self.events]
                raise AssertionError(f"no {count} {kind!r} event(s) within {timeout} s: {seen}")
            return found()[:count]


class LogWatch(logging.Handler):
    """Records otpsync's log messages, so a test can wait for "the daemon looked at X"."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self._cond = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self._cond:
            self.messages.append(record.getMessage())
            self._cond.notify_all()

    def count(self, text: str) -> int:
        with self._cond:
            return sum(text in m for m in self.messages)

    def wait_count(self, text: str, count: int, timeout: float = 10.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.count(text) >= count, timeout):
                raise AssertionError(f"no {count} log line(s) with {text!r} within {timeout} s")


@contextmanager
def watching_logs(name: str = "daemon", level: int = logging.INFO) -> Iterator[LogWatch]:
    """Capture ``level`` and up from the ``name`` loggers for the duration."""
    logger = logging.getLogger(name)
    handler, old = LogWatch(), logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


# --- other devices and their backups --------------------------------------------------------


@functools.cache
def code(n: int) -> Account:
    """Code number ``n``: the same secret every time, so two backups can share it."""
    secret = hashlib.sha1(f"otpsync-daemon-test-{n}".encode()).digest()  # noqa: S324 (test data)
    return Account.create(
        secret=base64.b32encode(secret).decode("ascii"),
        issuer=f"Service{n}",
        account=f"user{n}@example.com",
    )


@functools.cache
def _keys(passphrase: str) -> MasterKeys:
    return MasterKeys(passphrase)


@dataclass
class Peer:
    """Another device of the same person (or a stranger's, with another passphrase)."""

    device: str
    passphrase: str = PASSPHRASE
    device_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    salt: bytes = field(default_factory=lambda: os.urandom(backup_format.SALT_BYTES))

    def backup(self, codes: Iterable[int], created: datetime | None = None, seq: int = 0) -> bytes:
        """A sealed backup of this device holding ``codes`` (numbers, see ``code``); ``seq``
        its sequence number (0: none, as a file from before sequence numbers)."""
        moment = (created or datetime.now(UTC)).replace(microsecond=0)
        vault = VaultData(self.device_id, self.device, moment, tuple(code(n) for n in codes))
        return backup_format.seal(
            payload.encode(vault), kind="backup", device_id=self.device_id,
            device=self.device, created=moment, keys=_keys(self.passphrase),
            kdf_salt=self.salt, kdf=FAST_KDF, seq=seq,
        )  # fmt: skip

    def name(self, created: datetime, attempt: int = 1) -> str:
        return backup_name(created, self.device, attempt)

    def drop(
        self,
        folder: Path,
        codes: Iterable[int],
        created: datetime | None = None,
        name: str | None = None,
        seq: int = 0,
    ) -> Path:
        """Write a backup into ``folder`` in place, the way a sync client often does."""
        moment = (created or datetime.now(UTC)).replace(microsecond=0)
        path = folder / (name or self.name(moment))
        path.write_bytes(self.backup(codes, moment, seq))
        return path


def opens_with(path: Path, *phrases: str) -> list[str]:
    """Which of ``phrases`` open the sealed file ``path`` (a vault, snapshot or backup)."""
    found = []
    for phrase in phrases:
        try:
            backup_format.open_sealed(path.read_bytes(), _keys(phrase))
        except WrongPassphrase:
            continue
        found.append(phrase)
    return found


def damage(data: bytes) -> bytes:
    """The same backup with one body character changed: complete, but its checksum fails."""
    i = data.index(b"\n\n") + 10
    return data[:i] + (b"A" if data[i : i + 1] != b"A" else b"B") + data[i + 1 :]


def minutes_ago(n: float) -> datetime:
    return (datetime.now(UTC) - timedelta(minutes=n)).replace(microsecond=0)


def seen_outcome(home: Path, file: Path) -> str | None:
    """What the daemon of ``home`` decided about ``file`` (state/seen.json), if anything."""
    seen = read_json(home / "state" / "seen.json", {})
    for entry in seen.values():
        if entry.get("file") == str(file):
            return entry.get("outcome")
    return None


# --- in-process daemons -----------------------------------------------------------------------


class LocalHome:
    """A home driven in-process: the real Service and Daemon, passphrase from a file."""

    def __init__(self, home: Home, passphrase_file: Path) -> None:
        self.home = home
        self.path = home.path
        self.sync = home.sync
        self.passphrase_file = passphrase_file
        self._daemons: list[Daemon] = []

    def service(self) -> Service:
        """A fresh Service (one per thread: a VaultStore is not shared across threads)."""
        return Service(
            Paths.resolve(self.path), passphrase_file=self.passphrase_file, interactive=False
        )

    def daemon(self, recorder: Recorder | None = None) -> Daemon:
        """A started Daemon on this home; stopped at the end of the test if still running."""
        d = Daemon(self.service())
        if recorder is not None:
            d.add_listener(recorder)
        self._daemons.append(d)
        d.start()
        return d

    def stop_all(self) -> None:
        for d in self._daemons:
            d.stop()


def phone_changed_passphrase(me: LocalHome, new: str, recorder: Recorder) -> Daemon:
    """A running daemon on ``me`` that knows the phone (its first backup, code 1, is pending);
    then the phone changes its passphrase to ``new`` and writes a newer backup with code 3
    too. Returns the daemon once it says the phone uses a different passphrase."""
    phone = Peer("phone")
    phone.drop(me.sync, [1], created=minutes_ago(5), seq=1)
    daemon = me.daemon(recorder)
    recorder.wait("pending")
    Peer("phone", passphrase=new, device_id=phone.device_id).drop(me.sync, [1, 3], seq=2)
    wait_for(lambda: daemon.status().other_passphrase == ("phone",), what="the notice")
    return daemon


# --- daemons as subprocesses -----------------------------------------------------------------


class Spawned:
    """``otpsync run --headless`` (or ``args``) on a home, its stderr in a file we can wait
    on; ``env`` adds to (or, with None values, removes from) its environment."""

    def __init__(
        self,
        home: Home,
        log: Path,
        args: tuple[str, ...] = (),
        env: dict[str, str | None] | None = None,
    ) -> None:
        self.home, self.log_path = home, log
        self._log: IO[bytes] = open(log, "wb")  # noqa: SIM115 (closed in stop)
        environ = base_env(OTPSYNC_HOME=str(home.path), OTPSYNC_PASSPHRASE=home.passphrase)
        for key, value in (env or {}).items():
            if value is None:
                environ.pop(key, None)
            else:
                environ[key] = value
        self.proc = subprocess.Popen(
            [*otpsync_argv(), *(args or ("run", "--headless"))],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=environ,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_output(self, text: str, timeout: float = 15.0) -> str:
        def found() -> bool:
            if text in self.output():
                return True
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode}: {self.output()}")
            return False

        wait_for(found, timeout, f"{text!r} from the daemon")
        return self.output()

    def wait_running(self) -> None:
        self.wait_output("otpsync: running for")

    def signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, wait; SIGKILL if it does not stop in time. Returns the exit code."""
        self.signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(10)
        self._log.close()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self._log.close()


def status_json(home: Home) -> dict[str, Any]:
    """``otpsync status --json`` of ``home``, parsed."""
    return json.loads(home.ok("status", "--json").stdout)
