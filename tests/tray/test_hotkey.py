"""``[tray] hotkey``: a real key grab on a private Xvfb, pressed with xdotool."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from daemon import config
from daemon.errors import ConfigError
from daemon.runner import Daemon
from tests.conftest import Home
from tests.daemon_support import wait_for
from tests.tray.support import LAPTOP_CODES, XServer, service, standin_pystray, stop, xvfb
from tray.app import TrayApp, _start_hotkey
from tray.clipboard import Clipboard
from tray.hotkey import Hotkey, HotkeyUnavailable, X11Hotkey

MISSING = [t for t in ("Xvfb", "xdotool") if shutil.which(t) is None]
needs_x = pytest.mark.skipif(bool(MISSING), reason=f"{', '.join(MISSING)} not installed")


@pytest.fixture
def display(monkeypatch: pytest.MonkeyPatch) -> Iterator[XServer]:
    if MISSING:
        pytest.skip(f"{', '.join(MISSING)} not installed (Debian: apt-get install xvfb xdotool)")
    with xvfb("640x480x24") as server:
        monkeypatch.setenv("DISPLAY", server.display)
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        yield server


def press(server: XServer, keys: str) -> None:
    server.xdotool("key", keys)


def test_the_spelling() -> None:
    assert Hotkey.parse("<ctrl>+<alt>+o") == Hotkey(("ctrl", "alt"), "o")
    assert Hotkey.parse("<super>+F12") == Hotkey(("super",), "F12")
    for bad in ("ctrl+alt+o", "<hyper>+o", "<ctrl>+", ""):
        with pytest.raises(HotkeyUnavailable, match="write it as <ctrl>"):
            Hotkey.parse(bad)


def test_a_misspelt_hotkey_in_config_is_an_error_at_start(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    base = 'device = "laptop"\nsync_folder = "/tmp/s"\n[tray]\n'
    path.write_text(base + 'hotkey = "<ctrl>+<alt>+o"\n')
    assert config.load(path).hotkey == "<ctrl>+<alt>+o"
    path.write_text(base + 'hotkey = "ctrl-alt-o"\n')
    with pytest.raises(ConfigError, match=r"\[tray\] hotkey 'ctrl-alt-o': write it as"):
        config.load(path)


def test_pressing_the_hotkey_calls_back_also_with_num_lock_on(display: XServer) -> None:
    pressed = threading.Semaphore(0)
    hotkey = X11Hotkey(Hotkey.parse("<ctrl>+<alt>+o"), pressed.release)
    hotkey.start()
    try:
        press(display, "ctrl+alt+o")
        assert pressed.acquire(timeout=10)
        press(display, "Num_Lock")
        press(display, "ctrl+alt+o")
        assert pressed.acquire(timeout=10)
        press(display, "Num_Lock")
        press(display, "ctrl+o")  # not the hotkey
        assert not pressed.acquire(timeout=0.5)
    finally:
        hotkey.stop()


def test_a_hotkey_taken_by_another_program_is_reported(display: XServer) -> None:
    first = X11Hotkey(Hotkey.parse("<ctrl>+<alt>+o"), lambda: None)
    first.start()
    try:
        with pytest.raises(HotkeyUnavailable, match="already taken by another program"):
            X11Hotkey(Hotkey.parse("<ctrl>+<alt>+o"), lambda: None).start()
    finally:
        first.stop()


def test_on_wayland_it_says_to_use_the_desktop_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    with pytest.raises(HotkeyUnavailable, match="X11 only; bind `otpsync codes` in the desktop"):
        X11Hotkey(Hotkey.parse("<super>+o"), lambda: None).start()


@needs_x
def test_the_tray_hotkey_opens_the_codes_window(
    display: XServer, clone_home: Callable[..., Home]
) -> None:
    pytest.importorskip("tkinter", reason="tkinter missing (Debian: apt-get install python3-tk)")
    daemon = Daemon(service(clone_home("laptop", LAPTOP_CODES)))
    app = TrayApp(daemon, standin_pystray(), Clipboard(30))
    daemon.start()
    hotkey = _start_hotkey(app, "<super>+o")
    try:
        assert hotkey is not None
        press(display, "super+o")
        child = wait_for(lambda: app._codes_window, 10, "the codes window's process")
        try:
            wait_for(lambda: display.windows("--name", "^otpsync$"), 15, "the codes window")
            press(display, "Escape")
            assert child.wait(15) == 0
        finally:
            stop(child)
    finally:
        if hotkey is not None:
            hotkey.stop()
        app.quit()
        daemon.stop()
