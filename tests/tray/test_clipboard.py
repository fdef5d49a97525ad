"""The clipboard, on a real X server (a private Xvfb) with the real xclip.

Every read-back goes through a separate ``xclip -out``, not through ``Clipboard.read``, so the
tests see what another program (the browser the person pastes into) would see.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from daemon.core.otp import code_at
from daemon.runner import Daemon
from tests.conftest import Home
from tests.daemon_support import wait_for
from tests.tray.support import (
    LAPTOP_CODES,
    XServer,
    item,
    service,
    standin_pystray,
    xvfb,
)
from tray.app import TrayApp
from tray.clipboard import Clipboard

MISSING = [tool for tool in ("Xvfb", "xclip") if shutil.which(tool) is None]
needs_x = pytest.mark.skipif(
    bool(MISSING),
    reason=f"{' and '.join(MISSING)} not installed (Debian: apt-get install xvfb xclip)",
)


@pytest.fixture(scope="module")
def xserver() -> Iterator[XServer]:
    with xvfb("320x200x24") as server:
        yield server


@pytest.fixture
def display(xserver: XServer, monkeypatch: pytest.MonkeyPatch) -> XServer:
    monkeypatch.setenv("DISPLAY", xserver.display)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    return xserver


def on_clipboard(server: XServer) -> str:
    """What any other program would paste now."""
    done = subprocess.run(
        ["xclip", "-selection", "clipboard", "-out"], env=server.env(), capture_output=True,
        timeout=10, check=False,
    )  # fmt: skip
    return done.stdout.decode() if done.returncode == 0 else f"<xclip: {done.stderr!r}>"


def someone_copies(server: XServer, text: str) -> None:
    """Another program takes the clipboard (the person copied something else)."""
    subprocess.run(
        ["xclip", "-selection", "clipboard", "-in"], input=text.encode(), env=server.env(),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10, check=True,
    )  # fmt: skip


@needs_x
def test_copy_puts_the_text_on_the_clipboard(display: XServer) -> None:
    clipboard = Clipboard(3600)
    assert clipboard.available
    assert clipboard.tool is not None
    assert clipboard.tool.name == "xclip"
    assert clipboard.copy("492039")
    assert on_clipboard(display) == "492039"
    assert clipboard.read() == "492039"
    clipboard.cancel()


@needs_x
def test_clear_if_still_clears_an_unchanged_clipboard(display: XServer) -> None:
    clipboard = Clipboard(3600)
    assert clipboard.copy("111111")
    assert clipboard.clear_if_still("111111")
    assert on_clipboard(display) == ""
    clipboard.cancel()


@needs_x
def test_clear_if_still_keeps_what_the_person_copied_since(display: XServer) -> None:
    clipboard = Clipboard(3600)
    assert clipboard.copy("222222")
    someone_copies(display, "a link the person copied")
    assert not clipboard.clear_if_still("222222")
    assert on_clipboard(display) == "a link the person copied"
    clipboard.cancel()


@needs_x
def test_the_copy_is_cleared_after_the_delay(display: XServer) -> None:
    clipboard = Clipboard(0.3)
    assert clipboard.copy("333333")
    assert on_clipboard(display) == "333333"
    wait_for(lambda: on_clipboard(display) == "", 10, "the clipboard to be cleared")


@needs_x
def test_a_later_copy_by_the_person_survives_the_delay(display: XServer) -> None:
    clipboard = Clipboard(0.3)
    assert clipboard.copy("444444")
    someone_copies(display, "something else")
    timer = clipboard._timer
    assert timer is not None
    timer.join(10)  # the clear ran (bounded), and left the person's copy alone
    assert not timer.is_alive()
    assert on_clipboard(display) == "something else"


@needs_x
def test_clicking_a_code_copies_its_current_code(
    display: XServer, clone_home: Callable[..., Home]
) -> None:
    """The Codes item, on a real daemon: the code computed on the daemon's worker lands on
    the real clipboard."""
    laptop = clone_home("laptop", LAPTOP_CODES)
    daemon = Daemon(service(laptop))
    app = TrayApp(daemon, standin_pystray(), Clipboard(3600))
    daemon.start()
    app.refresh()  # what the icon's setup does once its loop runs
    try:
        amazon = wait_for(
            lambda: next((c for c in daemon.status().codes if c.issuer == "Amazon"), None), 5
        )
        item(app.icon.menu, "Codes", "Amazon")(app.icon)
        account = next(a for a in service(laptop).vault().accounts if a.id == amazon.id)

        def copied() -> bool:
            import time

            now = time.time()
            # Either side of a 30 s boundary: the code of now or of just before.
            valid = {code_at(account, now).code, code_at(account, now - 5).code}
            return on_clipboard(display) in valid

        wait_for(copied, 10, "the code on the clipboard")
    finally:
        app.quit()
        daemon.stop()
        app.clipboard.cancel()


def test_no_tool_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No clipboard tool on PATH: nothing pretends to work, and the hint names xclip."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    clipboard = Clipboard(30)
    assert not clipboard.available
    assert clipboard.tool is None
    assert "xclip" in clipboard.missing_hint()
    assert not clipboard.copy("555555")
    assert clipboard.read() is None
    assert not clipboard.clear_if_still("555555")
