"""Shared test helpers: homes with cheap KDF settings (through config, as a person could set
them), and real subprocess runs of the installed ``otpsync`` command."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from daemon.core.backup_format import KDF_FLOOR_ITERATIONS, KDF_FLOOR_MEMORY_KIB, KdfParams

PASSPHRASE = "correct horse battery staple"
# The cheapest Argon2 a writer accepts (the floor, 19 MiB and 2 passes, ~20 ms a run), set the
# way a person would: in config.toml's [kdf] table. Weaker settings are refused by config
# (issue 9), so tests stay fast the same way a person could make otpsync fast: no test hook.
FAST_KDF = KdfParams(memory_kib=KDF_FLOOR_MEMORY_KIB, iterations=KDF_FLOOR_ITERATIONS, lanes=1)
REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures" / "interop"
# What the tray process (`otpsync run`) must not hold until a command or a rare event needs
# it: the tray runs for months, and each of these is memory it would carry for nothing
# (bench/bench_tray.py measures the idle RSS; README, Performance). Import names, top-level
# or dotted.
LAZY_IN_THE_TRAY = (
    "pykeepass", "lxml", "nacl", "zxingcpp", "mss", "qrcode",  # decrypting, reading, drawing QR
    "daemon.importers", "daemon.exporters", "sqlite3",  # other apps' files: `import`, Add code
)  # fmt: skip


def otpsync_argv() -> list[str]:
    """The installed console script (what a person runs), falling back to the module."""
    exe = shutil.which("otpsync", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "daemon.cli"]


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTPSYNC_")}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"  # never the real keyring
    env.update(extra)
    return env


@dataclass
class Home:
    """One "device": an OTPSYNC_HOME and the sync folder it shares with others."""

    path: Path
    sync: Path
    passphrase: str = PASSPHRASE

    def write_config(self, device: str, *, extra: str = "", **top: str) -> None:
        """Top-level ``top`` keys, the cheap [kdf] table, then ``extra`` verbatim (more
        tables, e.g. the daemon's [export] and [watch])."""
        lines = [f'device = "{device}"', f'sync_folder = "{self.sync}"']
        lines += [f'{k} = "{v}"' for k, v in top.items()]
        lines += [
            "[kdf]",
            f"memory_kib = {FAST_KDF.memory_kib}",
            f"iterations = {FAST_KDF.iterations}",
            f"lanes = {FAST_KDF.lanes}",
        ]
        if extra:
            lines.append(extra.strip())
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / "config.toml").write_text("\n".join(lines) + "\n")

    def run(
        self,
        *args: str,
        input: str | None = None,
        passphrase: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        pw = self.passphrase if passphrase is None else passphrase
        full_env = base_env(
            OTPSYNC_HOME=str(self.path), **({"OTPSYNC_PASSPHRASE": pw} if pw else {})
        )
        full_env.update(env or {})
        return subprocess.run(
            [*otpsync_argv(), *args],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env=full_env,
            timeout=60,
            check=False,
        )

    def ok(self, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        done = self.run(*args, **kw)  # type: ignore[arg-type]
        assert done.returncode == 0, done.stderr
        return done

    def add(self, *uris: str) -> None:
        """``otpsync add -`` for each otpauth URI, on stdin (as a person should pass secrets)."""
        for uri in uris:
            self.ok("add", "-", input=uri + "\n")

    def digest(self) -> dict[str, str]:
        """Every file under the home and its content hash: to prove nothing changed."""
        return {
            str(p.relative_to(self.path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(self.path.rglob("*"))
            if p.is_file() and p.name != "vault.lock"
        }


@pytest.fixture
def sync_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "Dropbox" / "otpsync"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def make_home(tmp_path: Path, sync_folder: Path):
    """make_home("laptop") → an initialised Home with an empty vault. ``extra``: more
    config.toml text after the [kdf] table (e.g. ``[watch]`` settings)."""

    def make(device: str, *, init: bool = True, extra: str = "") -> Home:
        home = Home(tmp_path / f"home-{device}", sync_folder)
        home.write_config(device, extra=extra)
        if init:
            home.ok("init")
        return home

    return make


@pytest.fixture
def local_home(tmp_path: Path, make_home, monkeypatch: pytest.MonkeyPatch):
    """local_home("laptop", extra=...) → an initialised home driven in-process (the real
    Service and Daemon); every daemon started on it is stopped after the test."""
    from tests.daemon_support import LocalHome

    monkeypatch.delenv("OTPSYNC_PASSPHRASE", raising=False)  # the file below, not the caller's
    made: list[LocalHome] = []
    pw = tmp_path / "passphrase"
    pw.write_text(PASSPHRASE + "\n")
    pw.chmod(0o600)

    def make(device: str, *, extra: str = "") -> LocalHome:
        home = make_home(device, init=False, extra=extra)
        local = LocalHome(home, pw)
        local.service().init(None, None)
        made.append(local)
        return local

    yield make
    for local in made:
        local.stop_all()


@pytest.fixture
def spawn(tmp_path: Path):
    """spawn(home[, *args][, env=]) → ``otpsync run --headless`` (or ``otpsync *args``) on it
    as a subprocess; killed after the test."""
    from tests.daemon_support import Spawned

    started: list[Spawned] = []

    def start(home: Home, *args: str, env: dict[str, str | None] | None = None) -> Spawned:
        proc = Spawned(home, tmp_path / f"daemon-{len(started)}.log", args, env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()
