"""Helpers for the tray tests: real homes and backups, an X server, bounded waits.

Everything is real: homes are made with the shared ``make_home`` (cheap KDF through
config.toml), codes are added and backups written by the installed ``otpsync``, services and
daemons are the real ones. The only stand-in is the pystray icon of the in-process tests
(``StandInIcon``: pystray's own base class with the drawing hooks recording instead of
drawing); the end-to-end test runs the real backend.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from daemon.paths import Paths
from daemon.runner import CodeLabel, Daemon
from daemon.service import Service
from tests.conftest import PASSPHRASE, Home
from tests.daemon_support import Recorder
from tray.app import TrayApp
from tray.backend import pystray_base
from tray.menu import Menu, MenuItem

Icon = pystray_base().Icon  # pystray's base class, whatever backend is (or is not) loaded


# The daemon's settings for tray tests, as a person would write them in config.toml: a
# backup dropped into the sync folder is picked up within fractions of a second.
DAEMON_SETTINGS = """
[export]
on_start = false
debounce = "0.2s"

[watch]
mode = "native"
settle = "0.2s"
rescan = "1s"
retries = 3
notify_after = "0.1s"
"""

# Real otpauth URIs (base32 secrets of 160 bits, so no "short secret" warning).
PHONE_CODES = (
    "otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=GitHub",
    "otpauth://totp/Google:alice%40gmail.com?secret=KRSXG5CTMVRXEZLUKN2XAZLSKRSXG5CT&issuer=Google",
    "otpauth://totp/Dropbox:alice?secret=MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UOV3HO6DZ&issuer=Dropbox",
)
LAPTOP_CODES = (
    "otpauth://totp/Amazon:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Amazon",
    "otpauth://totp/Bitwarden:alice?secret=ONSWG4TFOQYTEMZUGU3DOOBZGAYTEMZU&issuer=Bitwarden",
)


# --- homes, codes and backups ---------------------------------------------------------------


def tray_home(make_home: Callable[..., Home], device: str, codes: tuple[str, ...] = ()) -> Home:
    """An initialised home with the fast daemon settings and ``codes`` added by the CLI."""
    home = make_home(device, init=False)
    config = home.path / "config.toml"
    config.write_text(config.read_text() + DAEMON_SETTINGS)
    home.ok("init")
    home.add(*codes)
    return home


class Templates:
    """Homes made once by the CLI (init, then ``otpsync add`` per code), copied for each test
    that needs one: a test gets its own real home in milliseconds instead of a second."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: dict[tuple[str, tuple[str, ...]], Home] = {}

    def home(self, device: str, codes: tuple[str, ...] = ()) -> Home:
        key = (device, codes)
        if key not in self._made:
            base = self.root / f"{device}-{len(self._made)}"
            home = Home(base / "home", base / "sync")
            home.sync.mkdir(parents=True)
            home.write_config(device)
            config = home.path / "config.toml"
            config.write_text(config.read_text() + DAEMON_SETTINGS)
            home.ok("init")
            home.add(*codes)
            self._made[key] = home
        return self._made[key]

    def clone(self, device: str, codes: tuple[str, ...], root: Path, sync: Path) -> Home:
        """A copy of the template home under ``root``, using ``sync`` as its sync folder."""
        template = self.home(device, codes)
        home = Home(root / f"home-{device}", sync)
        shutil.copytree(template.path, home.path)
        config = home.path / "config.toml"
        text = config.read_text()
        old = f'sync_folder = "{template.sync}"'
        assert old in text
        config.write_text(text.replace(old, f'sync_folder = "{sync}"'))
        return home


def export_backup(home: Home, out: Path) -> Path:
    """``otpsync export --out DIR`` on ``home``: a real backup, outside the sync folder."""
    out.mkdir(parents=True, exist_ok=True)
    done = home.ok("export", "--out", str(out))
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path.is_file(), done.stdout
    return path


def drop(backup: Path, sync: Path) -> Path:
    """Put a backup into the sync folder the way a sync client does: a temp name, then a
    rename, so the watcher never sees half a file."""
    target = sync / backup.name
    temp = sync / f".{backup.name}.partial"
    shutil.copyfile(backup, temp)
    temp.rename(target)
    return target


def service(home: Home) -> Service:
    """The real Service of ``home``, passphrase from a private file (not the environment)."""
    pw = home.path / "passphrase.txt"
    if not pw.exists():
        pw.write_text(PASSPHRASE + "\n")
        pw.chmod(0o600)
    return Service(Paths.resolve(home.path), passphrase_file=pw, interactive=False)


def labels(svc: Service) -> tuple[CodeLabel, ...]:
    return tuple(CodeLabel(a.id, a.issuer, a.account, a.type) for a in svc.vault().accounts)


def listed(home: Home) -> str:
    """What ``otpsync list`` shows: the vault as a person sees it."""
    return home.ok("list").stdout


# --- pystray menus --------------------------------------------------------------------------


def texts(menu: Menu) -> list[str]:
    """The visible items' texts, separators left out."""
    return [item.text for item in menu if item is not Menu.SEPARATOR]


def item(menu: Menu | None, *path: str) -> MenuItem:
    """The item reached by text prefixes, one per level: ``item(m, "Pending", "From phone")``."""
    found: MenuItem | None = None
    for prefix in path:
        assert menu is not None, f"{found.text if found else 'the menu'} has no submenu"
        matches = [i for i in menu if i is not Menu.SEPARATOR and i.text.startswith(prefix)]
        assert len(matches) == 1, f"{prefix!r} in {texts(menu)}"
        found = matches[0]
        menu = found.submenu
    assert found is not None
    return found


class StandInIcon(Icon):
    """pystray's real ``Icon`` base class, drawing nothing: what a backend would be asked to
    show is recorded instead (icon images, menus, notifications)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notifications: list[str] = []
        self.menu_updates = 0

    def _update_icon(self) -> None:
        self._icon_valid = True

    def _update_title(self) -> None:
        pass

    def _update_menu(self) -> None:
        self.menu_updates += 1

    def _show(self) -> None:
        pass

    def _hide(self) -> None:
        pass

    def _notify(self, message: str, title: str | None = None) -> None:
        self.notifications.append(message)

    def _remove_notification(self) -> None:
        pass

    def _stop(self) -> None:
        pass


def standin_pystray() -> types.ModuleType:
    """A module to hand ``TrayApp`` in place of ``load_pystray()``'s."""
    module = types.ModuleType("pystray_standin")
    module.Icon = StandInIcon  # type: ignore[attr-defined]
    return module


@dataclass
class Running:
    app: TrayApp
    daemon: Daemon
    events: Recorder
    laptop: Home
    phone: Home

    @property
    def icon(self) -> StandInIcon:
        return self.app.icon  # type: ignore[no-any-return]


# --- an X server ------------------------------------------------------------------------------

NEEDS_XVFB_XDOTOOL = pytest.mark.skipif(
    shutil.which("Xvfb") is None or shutil.which("xdotool") is None,
    reason="needs Xvfb and xdotool (apt-get install xvfb xdotool)",
)


@dataclass
class XServer:
    display: str
    proc: subprocess.Popen[bytes]

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
        env["DISPLAY"] = self.display
        env.update(extra)
        return env

    def xdotool(self, *args: str, timeout: float = 10.0) -> None:
        """Run xdotool on this display (keys and clicks go through XTEST: as typed); a
        failure or a ``--sync`` wait longer than ``timeout`` fails the test."""
        subprocess.run(["xdotool", *args], env=self.env(), timeout=timeout, check=True,
                       capture_output=True)  # fmt: skip

    def windows(self, *search: str) -> list[str]:
        """The ids of the mapped windows ``xdotool search --onlyvisible SEARCH`` finds now
        (none yet: empty); for ``wait_for``."""
        done = subprocess.run(["xdotool", "search", "--onlyvisible", *search], env=self.env(),
                              capture_output=True, text=True, timeout=10, check=False)  # fmt: skip
        return done.stdout.split()


@contextmanager
def xvfb(size: str = "1024x320x24", log: IO[bytes] | None = None) -> Iterator[XServer]:
    """A private Xvfb on a free display (Xvfb picks it: -displayfd), stopped afterwards."""
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        # -noreset: no server reset when the last client leaves (it would undo settings).
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", size, "-nolisten", "tcp",
         "-noreset"],
        pass_fds=(write_end,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=log if log is not None else subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    os.close(write_end)
    try:
        number = b""
        deadline = time.monotonic() + 15
        while not number.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or proc.poll() is not None:
                raise AssertionError(f"Xvfb did not start (exit code {proc.poll()})")
            ready, _, _ = select.select([read_end], [], [], left)
            if ready:
                chunk = os.read(read_end, 16)
                if not chunk:
                    raise AssertionError(f"Xvfb did not start (exit code {proc.wait(5)})")
                number += chunk
        yield XServer(f":{int(number)}", proc)
    finally:
        os.close(read_end)
        stop(proc)


def stop(proc: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it does not go within ``timeout``."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
