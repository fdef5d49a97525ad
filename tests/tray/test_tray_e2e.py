"""End to end: the real tray in a real system tray, under Xvfb.

A private Xvfb, Debian's ``trayer`` as the tray host, a private D-Bus session
(``dbus-run-session``), and ``tests/tray/driver.py``: ``run_tray`` with ``load_pystray()``'s
real backend (AppIndicator, which falls back to a GtkStatusIcon in trayer) plus a control
channel on stdin/stdout. The test checks what a person would see on screenshots of the root
window: the icon docks, a backup dropped into the sync folder turns the red badge on, the menu
opens on a click and shows the pending import; and approving, invoked through the running
icon's own menu object, merges it into the vault.

Screenshots go to pytest's tmp dir. With OTPSYNC_README_SCREENSHOT=PATH, the cropped
menu-open screenshot is also saved there (how docs/tray.png is made).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from PIL import Image, ImageChops

from tests.conftest import LAZY_IN_THE_TRAY, PASSPHRASE, Home, base_env
from tests.daemon_support import wait_for
from tests.tray.support import (
    LAPTOP_CODES,
    PHONE_CODES,
    XServer,
    drop,
    export_backup,
    listed,
    stop,
    xvfb,
)

DRIVER = Path(__file__).with_name("driver.py")
REPO = Path(__file__).resolve().parents[2]
TOOLS = ("Xvfb", "trayer", "dbus-run-session", "xdotool", "import", "convert")
APT = (
    "xvfb trayer dbus dbus-x11 xclip imagemagick xdotool gir1.2-gtk-3.0"
    " gir1.2-ayatanaappindicator3-0.1"
)
GI_CHECK = """
import gi
gi.require_version("Gtk", "3.0")
from gi.repository import Gtk
try:
    gi.require_version("AyatanaAppIndicator3", "0.1")
except ValueError:
    gi.require_version("AppIndicator3", "0.1")
"""
SCREEN = (1024, 400)
DESKTOP = (46, 52, 64)  # the root window's colour: anything else on screen is tray or menu
TRAY_ROWS = 36  # trayer's panel: the top edge, 32 px high
BLUE, RED = (37, 99, 235), (220, 38, 38)


@functools.cache
def missing() -> str | None:
    """Why the test cannot run here, or None."""
    gone = [tool for tool in TOOLS if shutil.which(tool) is None]
    if gone:
        return f"{', '.join(gone)} not installed (Debian: apt-get install {APT})"
    done = subprocess.run(
        [sys.executable, "-c", GI_CHECK], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return f"PyGObject with GTK 3 and AppIndicator not usable ({last}); pip install" \
            f" 'otpsync[tray]' and apt-get install {APT}"  # fmt: skip
    try:
        import Xlib.display  # noqa: F401 (pystray's own dependency on Linux)
    except ImportError:
        return "python-xlib is not installed (pystray depends on it on Linux)"
    return None


pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the X11 tray test runs on Linux"
)


# --- the screen ---------------------------------------------------------------------------------


def within(img: Image.Image, colour: tuple[int, int, int], tolerance: int) -> Image.Image:
    """A mask (mode L): 255 where ``img`` is within ``tolerance`` of ``colour`` in every
    channel, 0 elsewhere."""
    diff = ImageChops.difference(img, Image.new("RGB", img.size, colour))
    r, g, b = diff.split()
    worst = ImageChops.lighter(r, ImageChops.lighter(g, b))
    return worst.point(lambda v: 255 if v <= tolerance else 0)


def count(mask: Image.Image) -> int:
    return mask.histogram()[255]


class Screen:
    """Screenshots of the root window with ImageMagick's ``import``, and what is on them."""

    def __init__(self, server: XServer, folder: Path) -> None:
        self.server, self.folder = server, folder
        self._scratch = folder / "poll.png"

    def shot(self, name: str | None = None) -> Image.Image:
        path = self.folder / f"{name}.png" if name else self._scratch
        subprocess.run(
            ["import", "-window", "root", str(path)], env=self.server.env(), timeout=20,
            check=True, capture_output=True,
        )  # fmt: skip
        with Image.open(path) as img:
            return img.convert("RGB")

    @staticmethod
    def tray(img: Image.Image) -> Image.Image:
        """trayer's panel: the top edge, right half."""
        return img.crop((img.width // 2, 0, img.width, TRAY_ROWS))

    def blue_box(self, img: Image.Image) -> tuple[int, int, int, int] | None:
        """Where the icon's blue tile is on screen (None: not docked)."""
        mask = within(self.tray(img), BLUE, 30)
        box = mask.getbbox()
        if box is None or count(mask) < 60:
            return None
        left, top, right, bottom = box
        return (left + img.width // 2, top, right + img.width // 2, bottom)

    def red_pixels(self, img: Image.Image) -> int:
        return count(within(self.tray(img), RED, 40))

    @staticmethod
    def menu_area(img: Image.Image) -> int:
        """Pixels below the tray that are not the desktop: open menus."""
        below = img.crop((0, TRAY_ROWS, img.width, img.height))
        return below.width * below.height - count(within(below, DESKTOP, 4))

    @staticmethod
    def content_box(img: Image.Image, margin: int = 6) -> tuple[int, int, int, int]:
        """The bounding box of everything that is not the desktop: tray and menus."""
        desktop = within(img, DESKTOP, 4).point(lambda v: 255 - v)
        left, top, right, bottom = desktop.getbbox() or (0, 0, img.width, img.height)
        return (
            max(0, left - margin),
            max(0, top - margin),
            min(img.width, right + margin),
            min(img.height, bottom + margin),
        )

    def settled(self, timeout: float = 10) -> Image.Image:
        """The screen once two screenshots in a row are the same (menus done drawing)."""
        previous: list[bytes] = []

        def same() -> Image.Image | None:
            img = self.shot()
            data = img.tobytes()
            if previous and previous[-1] == data:
                return img
            previous[:] = [data]
            return None

        return wait_for(same, timeout, "the screen to settle")  # type: ignore[no-any-return]

    def wait(self, what: str, check: Callable[[Image.Image], Any], timeout: float = 10) -> Any:
        return wait_for(lambda: check(self.shot()), timeout, what)


def paint_desktop(display: str) -> None:
    """Give the root window a desktop colour (Xvfb's is black), so menus stand out."""
    import Xlib.display

    d = Xlib.display.Display(display)
    try:
        screen = d.screen()
        pixel = screen.default_colormap.alloc_color(*(c * 257 for c in DESKTOP)).pixel
        screen.root.change_attributes(background_pixel=pixel)
        screen.root.clear_area(0, 0, 0, 0)
        d.sync()
    finally:
        d.close()


def tray_owner(display: str) -> bool:
    """Whether a system tray (trayer) owns the _NET_SYSTEM_TRAY_S0 selection."""
    import Xlib.display
    import Xlib.X

    d = Xlib.display.Display(display)
    try:
        owner = d.get_selection_owner(d.intern_atom("_NET_SYSTEM_TRAY_S0"))
        return owner not in (0, Xlib.X.NONE)
    finally:
        d.close()


# --- the driver -------------------------------------------------------------------------------


class Driver:
    """``dbus-run-session -- python driver.py`` in its own process group."""

    def __init__(
        self,
        server: XServer,
        home: Home,
        log: Path,
        *,
        bus: bool = True,
        notify_caps: str | None = None,
    ) -> None:
        """``bus=False``: no session bus at all (a bus address where none listens, so that
        nothing autolaunches one either). ``notify_caps``: run the test's notification server
        (notify_server.py) on the bus, with these capabilities."""
        env = base_env(
            OTPSYNC_HOME=str(home.path), OTPSYNC_PASSPHRASE=PASSPHRASE,
            DISPLAY=server.display, NO_AT_BRIDGE="1", GDK_BACKEND="x11",
        )  # fmt: skip
        for name in ("WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "PYSTRAY_BACKEND"):
            env.pop(name, None)
        if not bus:
            env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path={log.parent / 'no-bus'}"
        if notify_caps is not None:
            env["OTPSYNC_TEST_NOTIFY_CAPS"] = notify_caps
        self.log_path = log
        self._log: IO[bytes] = open(log, "wb")  # noqa: SIM115 (closed in close)
        prefix = ["dbus-run-session", "--"] if bus else []
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, str(DRIVER)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env,
            cwd=REPO, start_new_session=True, text=True,
        )  # fmt: skip
        self._replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self._events: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with contextlib.suppress(ValueError, OSError):  # closed by close(): done
            for line in self.proc.stdout:
                if line.startswith("@@"):
                    message = json.loads(line[2:])
                    (self._events if "event" in message else self._replies).put(message)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def event(self, name: str, timeout: float = 20) -> dict[str, Any]:
        try:
            message = self._events.get(timeout=timeout)
        except queue.Empty:
            message = f"no {name!r} from the driver in {timeout} s:\n{self.log()}"
            raise AssertionError(message) from None
        assert message["event"] == name, (message, self.log())
        return message

    def ask(self, order: dict[str, Any], timeout: float = 15) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(order) + "\n")
        self.proc.stdin.flush()
        try:
            reply = self._replies.get(timeout=timeout)
        except queue.Empty:
            message = f"no answer to {order} in {timeout} s:\n{self.log()}"
            raise AssertionError(message) from None
        assert "ok" in reply, (order, reply, self.log())
        return reply["ok"]

    def status(self) -> dict[str, Any]:
        return self.ask({"do": "status"})  # type: ignore[no-any-return]

    def close(self) -> None:
        """Kill what is left of the process group (dbus-run-session, its dbus-daemon, the
        driver), if it did not quit by itself."""
        if self.proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(10)
                    break
                except subprocess.TimeoutExpired:
                    continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # a dbus-daemon left behind, if any
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        self._log.close()


# --- the test ---------------------------------------------------------------------------------


@pytest.fixture
def desktop(tmp_path: Path) -> Iterator[XServer]:
    """Xvfb with a desktop colour and trayer docked at the top right; all stopped after."""
    reason = missing()
    if reason:
        pytest.skip(reason)
    with (
        (tmp_path / "xvfb.log").open("wb") as xlog,
        xvfb(f"{SCREEN[0]}x{SCREEN[1]}x24", xlog) as server,
    ):
        paint_desktop(server.display)
        trayer = subprocess.Popen(
            ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request",
             "--height", "32", "--transparent", "false", "--tint", "0xdddddd",
             "--SetDockType", "true"],
            env=server.env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            wait_for(lambda: tray_owner(server.display), 10, "trayer to own the system tray")
            yield server
        finally:
            stop(trayer)


def test_tray_docks_badges_a_dropped_backup_and_approves_it_from_its_menu(
    desktop: XServer, clone_home: Callable[..., Home], tmp_path: Path
) -> None:
    laptop = clone_home("laptop", LAPTOP_CODES)
    phone = clone_home("phone", PHONE_CODES)
    laptop.ok("export")  # so the header says "last backup … ago"
    phone_backup = export_backup(phone, tmp_path / "phone-out")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    screen = Screen(desktop, shots)

    # The test's own notification server: it draws nothing (a desktop one, e.g. dunst, started
    # by D-Bus activation, would put the offer's bubble over the menu in the screenshots).
    driver = Driver(desktop, laptop, tmp_path / "driver.log", notify_caps="actions,body")
    try:
        ready = driver.event("ready")
        assert ready["backend"] == "pystray._appindicator", ready

        # 1. The icon docks: its blue tile shows in trayer's panel, with no badge.
        icon_box = screen.wait("the icon in the tray", screen.blue_box, 15)
        docked = screen.shot("1-docked")
        assert screen.red_pixels(docked) == 0
        assert driver.status()["pending"] == 0

        # 2. A backup from the phone lands in the sync folder: the daemon queues it, the
        #    badge turns on.
        drop(phone_backup, laptop.sync)
        wait_for(lambda: driver.status()["pending"] == 1, 15, "the daemon to queue the backup")
        # The redraw follows the queueing on the worker's event: wait for it, do not race it.
        status = wait_for(
            lambda: (s := driver.status())["title"] != "otpsync" and s, 5, "the icon's redraw"
        )
        assert status["icon"] == {"pending": 1, "paused": False, "error": False}
        assert status["title"] == "otpsync · 1 pending"
        screen.wait("the red badge", lambda img: screen.red_pixels(img) >= 8)
        badge = screen.shot("2-badge")
        assert screen.blue_box(badge) is not None
        # Idle again with a backup pending (decrypted, planned, badge drawn, menu built):
        # nothing only a command or a rare event needs was loaded on the way.
        assert [m for m in LAZY_IN_THE_TRAY if m in driver.ask({"do": "modules"})] == []

        # 3. A click on the icon opens its menu; the keyboard walks to the pending import.
        left, top, right, bottom = icon_box
        desktop.xdotool("mousemove", str((left + right) // 2), str((top + bottom) // 2))
        desktop.xdotool("click", "1")
        opened = screen.wait("the menu", lambda img: screen.menu_area(img) > 20_000 and img)
        first = screen.menu_area(opened)
        # Codes, Show codes…, Add code, Pending imports (1), open it
        desktop.xdotool("key", "Down", "Down", "Down", "Down", "Right")
        screen.wait("its submenu", lambda img: screen.menu_area(img) > first + 5000)
        desktop.xdotool("key", "Right")  # into "From phone · 3 new · …": its codes, Approve
        screen.wait("the import's submenu", lambda img: screen.menu_area(img) > first + 25_000)
        full = screen.settled()
        full.save(shots / "3-menu.png")
        crop = shots / "3-menu-crop.png"
        left, top, right, bottom = screen.content_box(full)
        subprocess.run(
            ["convert", str(shots / "3-menu.png"), "-crop",
             f"{right - left}x{bottom - top}+{left}+{top}", "+repage", str(crop)],
            timeout=30, check=True,
        )  # fmt: skip
        with Image.open(crop) as cropped:
            assert cropped.size == (right - left, bottom - top)
        if os.environ.get("OTPSYNC_README_SCREENSHOT"):
            shutil.copyfile(crop, os.environ["OTPSYNC_README_SCREENSHOT"])
        desktop.xdotool("key", "Escape", "Escape", "Escape")
        screen.wait("the menu to close", lambda img: screen.menu_area(img) < 500)

        # 4. "Approve merge", found in the running icon's menu object and called as pystray
        #    calls it on a click (item(icon), on the GTK main loop), merges the backup.
        menu = driver.ask({"do": "menu"})
        pending = next(i for i in menu if i["text"] == "Pending imports (1)")
        entry = pending["submenu"][0]
        assert entry["text"].startswith("From phone · 3 new · ")
        assert [i["text"] for i in entry["submenu"][-2:]] == ["Approve merge", "Reject"]
        invoked = driver.ask(
            {"do": "invoke", "path": ["Pending imports (1)", "From phone", "Approve merge"]}
        )
        assert invoked == "Approve merge"
        wait_for(lambda: driver.status()["pending"] == 0, 15, "the merge")
        codes = driver.status()["codes"]
        assert {"GitHub — alice", "Google — alice@gmail.com", "Dropbox — alice"} <= set(codes)
        vault = listed(laptop)  # the installed CLI, reading the real vault
        for issuer in ("GitHub", "Google", "Dropbox", "Amazon", "Bitwarden"):
            assert issuer in vault
        screen.wait("the badge to go", lambda img: screen.red_pixels(img) == 0)
        after = screen.shot("4-approved")
        assert screen.blue_box(after) is not None
        assert "Pending imports (0)" in [i["text"] for i in driver.ask({"do": "menu"})]

        # 5. Quit from the menu: the daemon stops cleanly, nothing raises on the way out.
        driver.ask({"do": "quit"})
        driver.event("stopped")
        assert driver.proc.wait(20) == 0, driver.log()
        log = driver.log()
        assert "Traceback" not in log, log
        assert "DecompressionBombWarning" not in log, log
        assert "daemon.runner: INFO: stopped" in log
    finally:
        driver.close()


def test_without_a_session_bus_the_tray_runs_and_ctrl_c_stops_it_cleanly(
    desktop: XServer, clone_home: Callable[..., Home], tmp_path: Path
) -> None:
    """No D-Bus session (e.g. over ssh -X): no notifications, but the tray still works; and
    Ctrl-C (SIGINT) stops the daemon cleanly, not the process dead in its tracks."""
    laptop = clone_home("laptop", LAPTOP_CODES)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    screen = Screen(desktop, shots)
    driver = Driver(desktop, laptop, tmp_path / "driver.log", bus=False)
    try:
        driver.event("ready")
        screen.wait("the icon in the tray", screen.blue_box, 15)
        screen.shot("docked-without-bus")
        assert driver.status()["visible"]
        pid_file = laptop.path / "state" / "daemon.pid"
        assert pid_file.exists()
        driver.proc.send_signal(signal.SIGINT)
        driver.event("stopped")
        assert driver.proc.wait(20) == 0, driver.log()
        log = driver.log()
        assert "no desktop notifications" in log, log
        assert "Traceback" not in log, log
        assert "daemon.runner: INFO: stopped" in log, log
        assert not pid_file.exists()
    finally:
        driver.close()


# --- notifications with buttons ------------------------------------------------------------------

EXTRA_PHONE_CODE = "otpauth://totp/Slack:alice?secret=NBSWY3DPO5XXE3DEEBSWY3DPO5XXE3DE&issuer=Slack"


def notifications(driver: Driver, start: str, after: int = 0) -> list[dict[str, Any]]:
    """The test server's Notify calls whose body starts with ``start``, from call ``after``."""
    calls = driver.ask({"do": "notifications"})[after:]
    return [c for c in calls if c["method"] == "Notify" and c["body"].startswith(start)]


def test_approve_and_undo_from_the_notifications_buttons(
    desktop: XServer, clone_home: Callable[..., Home], tmp_path: Path
) -> None:
    """The issue's "Done when": a peer backup dropped into the folder brings a notification
    with Approve, Review and Reject; a newer one from the same device replaces it; Approve
    merges (checked in the vault by the CLI); the Merged notification's Undo restores it."""
    laptop = clone_home("laptop", LAPTOP_CODES)
    phone = clone_home("phone", PHONE_CODES)
    first = export_backup(phone, tmp_path / "phone-out-1")
    before = listed(laptop)
    driver = Driver(desktop, laptop, tmp_path / "driver.log",
                    notify_caps="actions,body,body-markup")  # fmt: skip
    try:
        driver.event("ready")
        assert driver.status()["notify_actions"] is True

        drop(first, laptop.sync)
        (offer,) = wait_for(lambda: notifications(driver, "Backup from phone"), 15, "the offer")
        assert offer["body"] == (
            "Backup from phone: 3 new codes — GitHub — alice, Google — alice@gmail.com,"
            " Dropbox — alice"
        )
        assert offer["actions"] == {"approve": "Approve", "review": "Review", "reject": "Reject"}
        assert (offer["app"], offer["replaces_id"]) == ("otpsync", 0)

        # The phone adds a code and backs up again: its notification is replaced, not stacked.
        phone.ok("add", "-", input=EXTRA_PHONE_CODE + "\n")
        drop(export_backup(phone, tmp_path / "phone-out-2"), laptop.sync)
        newer = wait_for(lambda: notifications(driver, "Backup from phone: 4", 1), 15, "newer")
        assert [(n["id"], n["replaces_id"]) for n in newer] == [(offer["id"], offer["id"])]
        assert newer[0]["actions"] == offer["actions"]
        assert driver.status()["pending"] == 1

        # Approve, clicked on the notification: the vault holds the phone's codes.
        calls = len(driver.ask({"do": "notifications"}))
        driver.ask({"do": "notify_action", "id": offer["id"], "key": "approve"})
        wait_for(lambda: driver.status()["pending"] == 0, 15, "the merge")
        merged = listed(laptop)
        for issuer in ("GitHub", "Google", "Dropbox", "Slack", "Amazon", "Bitwarden"):
            assert issuer in merged
        (told,) = wait_for(lambda: notifications(driver, "Merged", calls), 15, "Merged")
        assert told["body"].startswith("Merged 4 new codes from phone: ")
        assert told["actions"] == {"undo": "Undo"}

        # Undo, clicked on the Merged notification: the vault is as it was.
        driver.ask({"do": "notify_action", "id": told["id"], "key": "undo"})
        wait_for(lambda: listed(laptop) == before, 15, "the undo")
        wait_for(lambda: notifications(driver, "Undone: the last import", calls), 15, "Undone")

        # No notification held a code or a secret: labels only.
        secrets = [
            uri.split("secret=")[1].split("&")[0] for uri in (*PHONE_CODES, EXTRA_PHONE_CODE)
        ]
        for call in driver.ask({"do": "notifications"}):
            text = json.dumps(call)
            assert not any(secret in text for secret in secrets), call
            assert not re.search(r"\b\d{6}\b", call.get("body", "")), call

        driver.ask({"do": "quit"})
        driver.event("stopped")
        assert driver.proc.wait(20) == 0, driver.log()
        assert "Traceback" not in driver.log(), driver.log()
    finally:
        driver.close()


def test_without_the_actions_capability_the_text_says_to_use_the_menu(
    desktop: XServer, clone_home: Callable[..., Home], tmp_path: Path
) -> None:
    laptop = clone_home("laptop", LAPTOP_CODES)
    phone = clone_home("phone", PHONE_CODES)
    driver = Driver(desktop, laptop, tmp_path / "driver.log", notify_caps="body")
    try:
        driver.event("ready")
        assert driver.status()["notify_actions"] is False
        drop(export_backup(phone, tmp_path / "phone-out"), laptop.sync)
        (offer,) = wait_for(lambda: notifications(driver, "Backup from phone"), 15, "the offer")
        assert offer["body"] == (
            "Backup from phone: 3 new codes — GitHub — alice, Google — alice@gmail.com,"
            " Dropbox — alice — open the tray menu to review"
        )
        assert offer["actions"] == {}
        driver.ask({"do": "quit"})
        driver.event("stopped")
        assert driver.proc.wait(20) == 0, driver.log()
    finally:
        driver.close()


def test_a_phone_with_a_new_passphrase_is_typed_in_from_the_notification(
    desktop: XServer, clone_home: Callable[..., Home], tmp_path: Path
) -> None:
    """Issue 14's tray dialog: the phone changes its passphrase; the laptop's tray says so in
    a notification with "Enter it…"; clicked, the dialog opens on the display, the passphrase
    typed there re-keys the running laptop (no restart), and the phone's new code is offered."""
    from tray.passphrase_dialog import WINDOW_TITLE

    new = "the phone's new passphrase"
    new_file = tmp_path / "new-pw"
    new_file.write_text(new + "\n")
    laptop = clone_home("laptop", LAPTOP_CODES)
    phone = clone_home("phone", PHONE_CODES)
    driver = Driver(desktop, laptop, tmp_path / "driver.log", notify_caps="actions,body")
    try:
        driver.event("ready")
        drop(export_backup(phone, tmp_path / "phone-out-1"), laptop.sync)
        wait_for(lambda: notifications(driver, "Backup from phone"), 15, "the first offer")
        phone.ok("passphrase", "change", "--new-passphrase-file", str(new_file))
        phone.ok("add", "-", input=EXTRA_PHONE_CODE + "\n", passphrase=new)
        out = tmp_path / "phone-out-2"
        out.mkdir()
        done = phone.ok("export", "--out", str(out), passphrase=new)
        drop(Path(done.stdout.strip().splitlines()[-1]), laptop.sync)
        (told,) = wait_for(
            lambda: notifications(driver, "phone now uses a different passphrase"), 15, "notice"
        )
        assert told["actions"] == {"passphrase": "Enter it…"}
        menu = json.dumps(driver.ask({"do": "menu"}), ensure_ascii=False)
        assert "Enter phone's new passphrase…" in menu

        # The notification's button opens the dialog; Escape closes it, changing nothing.
        dialog = ("search", "--sync", "--onlyvisible", "--name", f"^{WINDOW_TITLE}$")
        driver.ask({"do": "notify_action", "id": told["id"], "key": "passphrase"})
        desktop.xdotool(*dialog, "windowfocus", "--sync")
        desktop.xdotool("key", "Escape")
        wait_for(lambda: not driver.status()["passphrase_dialog"], 15, "the dialog to close")
        assert laptop.run("list").returncode == 0  # still the old passphrase
        # The menu's item opens it again; the phone's passphrase typed there re-keys the laptop.
        driver.ask({"do": "invoke", "path": ["Enter phone's new passphrase…"]})
        desktop.xdotool(*dialog, "windowfocus", "--sync")
        desktop.xdotool("type", "--delay", "5", new)
        desktop.xdotool("key", "Return")
        desktop.xdotool("search", "--sync", "--onlyvisible", "--name",
                f"^{WINDOW_TITLE} changed$")  # fmt: skip
        assert laptop.run("list").returncode != 0  # the old passphrase opens nothing now
        pending = lambda: laptop.ok("pending", "--json", passphrase=new).stdout  # noqa: E731
        wait_for(lambda: "Slack" in pending(), 20, "the phone's new code offered")
        assert "Enter phone's new passphrase…" not in json.dumps(
            driver.ask({"do": "menu"}), ensure_ascii=False
        )
        desktop.xdotool("key", "Return")  # Close

        driver.ask({"do": "quit"})
        driver.event("stopped")
        assert driver.proc.wait(20) == 0, driver.log()
        assert "Traceback" not in driver.log(), driver.log()
        assert new not in driver.log()  # the passphrase is never logged
    finally:
        driver.close()
