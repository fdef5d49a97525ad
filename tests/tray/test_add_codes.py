"""The tray's "Show codes…" and "Add code" items, and ``otpsync add --scan-screen``.

Real pystray menus from a real daemon's status, clicked as pystray clicks them; the daemon,
service, clipboard (xclip) and screen (a private Xvfb with ImageMagick's ``display``
showing a QR code, as a web page would) are real. The one stand-in is the icon
(``StandInIcon``, which records notifications) and, for "From QR image…", the file dialog:
a chooser that answers with the test's picture.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from daemon.runner import Daemon, DaemonStatus
from tests.conftest import PASSPHRASE, Home
from tests.daemon_support import Recorder, wait_for
from tests.qr_support import GITHUB, encoded, google_export, qr_picture, sheet
from tests.tray.support import (
    LAPTOP_CODES,
    StandInIcon,
    XServer,
    item,
    listed,
    service,
    standin_pystray,
    stop,
    texts,
    xvfb,
)
from tray.app import TrayApp
from tray.clipboard import Clipboard, ClipboardTool
from tray.menu import add_items, build_menu

XCLIP = ClipboardTool(
    "xclip",
    ("xclip", "-selection", "clipboard", "-in"),
    ("xclip", "-selection", "clipboard", "-out"),
)
X_TOOLS = ("Xvfb", "xclip", "xdotool", "display")


def x_missing() -> str | None:
    gone = [t for t in X_TOOLS if shutil.which(t) is None]
    if not gone:
        return None
    return (
        f"{', '.join(gone)} not installed (Debian: apt-get install xvfb xclip xdotool imagemagick)"
    )


needs_x = pytest.mark.skipif(x_missing() is not None, reason=x_missing() or "")


@pytest.fixture(scope="module")
def server() -> Iterator[XServer]:
    if x_missing():
        pytest.skip(x_missing() or "")
    with xvfb("1280x800x24") as x:
        yield x


@pytest.fixture
def on_display(server: XServer, monkeypatch: pytest.MonkeyPatch) -> XServer:
    monkeypatch.setenv("DISPLAY", server.display)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    return server


@dataclass
class Tray:
    app: TrayApp
    daemon: Daemon
    events: Recorder
    home: Home

    @property
    def icon(self) -> StandInIcon:
        return self.app.icon  # type: ignore[no-any-return]

    def click(self, *path: str) -> None:
        self.app.refresh()
        item(self.icon.menu, *path)(self.icon)

    def notified(self, count: int = 1, timeout: float = 15.0) -> list[str]:
        def arrived() -> list[str] | None:
            shown = self.icon.notifications
            return shown[:count] if len(shown) >= count else None

        return wait_for(arrived, timeout, "a notification")  # type: ignore[no-any-return]


@pytest.fixture
def tray(clone_home: Callable[..., Home]) -> Iterator[Tray]:
    home = clone_home("laptop", LAPTOP_CODES)
    daemon = Daemon(service(home))
    events = Recorder()
    daemon.add_listener(events)
    app = TrayApp(daemon, standin_pystray(), Clipboard(30, XCLIP))
    daemon.start()
    try:
        app.icon.visible = True
        yield Tray(app, daemon, events, home)
    finally:
        app.quit()
        daemon.stop()


def copy(server: XServer, text: str) -> None:
    subprocess.run(XCLIP.copy, input=text.encode(), env=server.env(), timeout=10, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def paste(server: XServer) -> str:
    return subprocess.run(XCLIP.paste, env=server.env(), capture_output=True, text=True,
                          timeout=10, check=False).stdout  # fmt: skip


# --- the items -----------------------------------------------------------------------------------


def test_show_codes_and_the_add_code_submenu(tray: Tray) -> None:
    menu = build_menu(tray.daemon.status(), tray.app)
    assert texts(menu)[1:5] == ["Codes", "Show codes…", "Add code", "Pending imports (0)"]
    add = item(menu, "Add code")
    assert add.submenu is not None
    assert texts(add.submenu) == [
        "Scan QR code on screen", "From QR image…", "Paste otpauth:// link",
    ]  # fmt: skip
    assert all(i.enabled for i in (item(menu, "Show codes…"), add, *add.submenu))


def test_they_wait_while_the_passphrase_is_missing(tray: Tray) -> None:
    locked = DaemonStatus("laptop", tray.home.sync, "native", locked=True)
    show, add = add_items(locked, tray.app)
    assert (show.enabled, add.enabled) == (False, False)


# --- From QR image… ------------------------------------------------------------------------------


def test_from_qr_image_adds_every_new_code_of_the_chosen_picture(
    tray: Tray, tmp_path: Path
) -> None:
    picture = tmp_path / "export.png"
    picture.write_bytes(encoded(qr_picture(google_export("ann", "ben", "cid", "dan"))))
    tray.app.choose_image = lambda done: done(picture)
    tray.click("Add code", "From QR image…")
    assert tray.notified() == ["Added 4 codes: Google — ann, Google — ben, Google — cid, 1 more"]
    assert "Google" in listed(tray.home)
    wait_for(lambda: any(c.issuer == "Google" for c in tray.daemon.status().codes), 5, "codes")
    assert item(tray.icon.menu, "Undo last import").enabled  # one click takes it back
    # The same picture again: nothing new, and it says so.
    tray.click("Add code", "From QR image…")
    assert tray.notified(2)[1] == "Nothing added: all 4 codes are already here"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (lambda: encoded(sheet()), "no QR code found in the picture"),
        (lambda: encoded(qr_picture("https://example.com")), "holds something else"),
        (lambda: b"not a picture", "not a picture otpsync can read"),
    ],
    ids=["no-qr", "other-qr", "not-a-picture"],
)
def test_from_qr_image_says_why_nothing_was_added(
    tray: Tray, tmp_path: Path, data: Callable[[], bytes], why: str
) -> None:
    picture = tmp_path / "shot.png"
    picture.write_bytes(data())
    before = listed(tray.home)
    tray.app.choose_image = lambda done: done(picture)
    tray.click("Add code", "From QR image…")
    (message,) = tray.notified()
    assert message.startswith(f"Nothing added: {picture}: ")
    assert why in message
    assert listed(tray.home) == before


def test_a_cancelled_file_dialog_does_nothing(tray: Tray) -> None:
    asked: list[bool] = []

    def chooser(done: Callable[[Path | None], None]) -> None:
        asked.append(True)
        done(None)

    tray.app.choose_image = chooser
    tray.click("Add code", "From QR image…")
    assert asked == [True]
    assert tray.icon.notifications == []


# --- Paste otpauth:// link -----------------------------------------------------------------------


@needs_x
def test_paste_adds_the_link_on_the_clipboard_then_clears_it(
    tray: Tray, on_display: XServer
) -> None:
    copy(on_display, GITHUB)
    tray.click("Add code", "Paste otpauth:// link")
    assert tray.notified() == ["Added 1 code: GitHub — alice"]
    assert "GitHub" in listed(tray.home)
    wait_for(lambda: paste(on_display) == "", 10, "the link (a secret) off the clipboard")


@needs_x
@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "Nothing added: the clipboard is empty"),
        ("hello there", "Nothing added: the clipboard holds no otpauth:// or otpauth-migration"),
        ("otpauth://totp/X:y?secret=!!!", "Nothing added: the link: "),
    ],
)
def test_paste_says_why_nothing_was_added(
    tray: Tray, on_display: XServer, text: str, why: str
) -> None:
    copy(on_display, text)
    before = listed(tray.home)
    tray.click("Add code", "Paste otpauth:// link")
    (message,) = tray.notified()
    assert message.startswith(why)
    assert "!!!" not in message  # the link is never quoted: it holds the secret
    assert listed(tray.home) == before


# --- Scan QR code on screen, from the tray and from the command line -----------------------------


@pytest.fixture
def qr_on_screen(server: XServer, tmp_path: Path) -> Iterator[Path]:
    """A QR code (otpauth) shown by ImageMagick's ``display``, as any image viewer would."""
    picture = tmp_path / "setup-qr.png"
    page = sheet(GITHUB).convert("RGB")
    page.save(picture)
    viewer = subprocess.Popen(["display", "-geometry", "+200+150", str(picture)],
                              env=server.env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for(lambda: server.windows("--class", "display"), 15, "the image viewer's window")
        yield picture
    finally:
        stop(viewer)


@needs_x
def test_scan_screen_from_the_command_line_adds_the_code_shown(
    server: XServer, qr_on_screen: Path, clone_home: Callable[..., Home]
) -> None:
    home = clone_home("desk", LAPTOP_CODES)
    done = home.run("add", "--scan-screen", "--yes", env={"DISPLAY": server.display})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Found 1 code on the screen: 1 new, 0 already here",
        "  + GitHub — alice",
        "Added 1 code. `otpsync undo` reverts it.",
    ]
    assert "GitHub" in listed(home)


@needs_x
def test_scan_screen_without_a_qr_code_adds_nothing(
    server: XServer, clone_home: Callable[..., Home]
) -> None:
    home = clone_home("desk", LAPTOP_CODES)
    before = home.digest()
    done = home.run("add", "--scan-screen", "--yes", env={"DISPLAY": server.display})
    assert done.returncode == 1
    assert done.stderr == "otpsync: error: no QR code found on the screen\n"
    assert home.digest() == before


@needs_x
def test_scan_qr_code_on_screen_from_the_tray(
    tray: Tray, on_display: XServer, qr_on_screen: Path
) -> None:
    tray.click("Add code", "Scan QR code on screen")
    assert tray.notified() == ["Added 1 code: GitHub — alice"]
    assert "GitHub" in listed(tray.home)


# --- Show codes… ---------------------------------------------------------------------------------


@needs_x
def test_show_codes_opens_the_window_as_a_child_without_the_passphrase_in_argv_or_env(
    tray: Tray, on_display: XServer
) -> None:
    pytest.importorskip("tkinter", reason="tkinter missing (Debian: apt-get install python3-tk)")
    tray.click("Show codes…")
    child = wait_for(lambda: tray.app._codes_window, 10, "the codes window's process")
    try:
        wait_for(lambda: on_display.windows("--name", "^otpsync$"), 15, "the codes window")
        proc = Path("/proc") / str(child.pid)
        assert PASSPHRASE.encode() not in (proc / "cmdline").read_bytes()
        assert PASSPHRASE.encode() not in (proc / "environ").read_bytes()
        assert b"OTPSYNC_PASSPHRASE" not in (proc / "environ").read_bytes()
        tray.click("Show codes…")  # open already: no second window
        assert tray.app._codes_window is child
        subprocess.run(["xdotool", "key", "Escape"], env=on_display.env(), timeout=10, check=True)
        assert child.wait(15) == 0
    finally:
        stop(child)
    assert tray.icon.notifications == []
