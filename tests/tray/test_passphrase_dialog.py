"""The passphrase dialog (``python -m tray.passphrase_dialog``) on a real X server (Xvfb),
typed into with real key presses (xdotool) as a person would; and from the tray on a real
daemon whose phone changed its passphrase: typed once, the daemon re-keys without a restart."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from daemon.core import backup_format
from daemon.core.backup_format import MasterKeys
from daemon.errors import WrongPassphrase
from tests.conftest import PASSPHRASE
from tests.daemon_support import LocalHome, Peer, Recorder, minutes_ago, wait_for
from tests.tray.support import XServer, standin_pystray, xvfb
from tray.app import TrayApp
from tray.clipboard import Clipboard
from tray.passphrase_dialog import (
    WINDOW_TITLE,
    DialogError,
    DialogOrder,
    change_order,
    device_order,
    passphrase_dialog,
)

pytestmark = pytest.mark.skipif(
    shutil.which("Xvfb") is None or shutil.which("xdotool") is None,
    reason="needs Xvfb and xdotool (apt-get install xvfb xdotool)",
)

NEW = "the phone's new passphrase"


@pytest.fixture
def display(monkeypatch: pytest.MonkeyPatch) -> Iterator[XServer]:
    pytest.importorskip("tkinter")
    with xvfb() as server:
        monkeypatch.setenv("DISPLAY", server.display)
        yield server


def xdotool(server: XServer, *args: str) -> None:
    subprocess.run(["xdotool", *args], env=server.env(), timeout=30, check=True,
                   capture_output=True)  # fmt: skip


def when_ready(server: XServer, title: str = WINDOW_TITLE) -> None:
    """Until the dialog is mapped with exactly ``title`` (its state), then focus it."""
    xdotool(server, "search", "--sync", "--onlyvisible", "--name", f"^{title}$",
            "windowfocus", "--sync")  # fmt: skip


def type_in(server: XServer, *fields: str) -> None:
    """Type each field's text, Tab between them, Enter at the end (as typed: XTEST)."""
    for i, text in enumerate(fields):
        if i:
            xdotool(server, "key", "Tab")
        xdotool(server, "type", "--delay", "5", text)
    xdotool(server, "key", "Return")


class Answers:
    """The tray's side of the dialog: records what was typed, answers from a script."""

    def __init__(self, *replies: list[str] | str) -> None:
        self.replies = list(replies)
        self.calls: list[tuple[str, str | None]] = []
        self.called = threading.Semaphore(0)

    def __call__(self, new: str, current: str | None) -> list[str]:
        self.calls.append((new, current))
        self.called.release()
        reply = self.replies.pop(0)
        if isinstance(reply, str):
            raise DialogError(reply)
        return reply

    def wait_call(self) -> None:
        assert self.called.acquire(timeout=30), "the dialog sent nothing"


def open_dialog(order: DialogOrder, answers: Answers) -> Callable[[], bool]:
    """Run the dialog on a thread; the returned call waits for its result."""
    result: list[bool] = []
    thread = threading.Thread(
        target=lambda: result.append(passphrase_dialog(order, answers, timeout=60))
    )
    thread.start()

    def finished() -> bool:
        thread.join(60)
        assert not thread.is_alive()
        return result[0]

    return finished


def test_a_wrong_passphrase_is_said_in_the_dialog_and_may_be_typed_again(
    display: XServer,
) -> None:
    answers = Answers("that passphrase does not open phone's backups", ["Passphrase changed."])
    finished = open_dialog(device_order(("phone",)), answers)
    when_ready(display)
    type_in(display, "a typo")
    answers.wait_call()
    when_ready(display)  # the title is back: the error is shown, the field empty again
    type_in(display, NEW)
    answers.wait_call()
    when_ready(display, f"{WINDOW_TITLE} changed")
    xdotool(display, "key", "Return")  # Close
    assert finished() is True
    assert answers.calls == [("a typo", None), (NEW, None)]  # once each: no current, no repeat


def test_a_change_the_person_starts_asks_the_current_one_and_the_new_one_twice(
    display: XServer,
) -> None:
    answers = Answers(["Passphrase changed."])
    finished = open_dialog(change_order(), answers)
    when_ready(display)
    type_in(display, PASSPHRASE, "new one", "new onf")  # the repeat differs: not sent
    type_in(display, "new one")  # focus is back in the repeat field, emptied
    answers.wait_call()
    when_ready(display, f"{WINDOW_TITLE} changed")
    xdotool(display, "key", "Escape")
    assert finished() is True
    assert answers.calls == [("new one", PASSPHRASE)]


def test_escape_changes_nothing(display: XServer) -> None:
    answers = Answers()
    finished = open_dialog(change_order(), answers)
    when_ready(display)
    xdotool(display, "type", "half typed")
    xdotool(display, "key", "Escape")
    assert finished() is False
    assert answers.calls == []


def test_without_a_display_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":999999")
    answers = Answers()
    assert passphrase_dialog(change_order(), answers, timeout=30) is False
    assert answers.calls == []


def opens_with(path: Path, *phrases: str) -> list[str]:
    found = []
    for phrase in phrases:
        try:
            backup_format.open_sealed(path.read_bytes(), MasterKeys(phrase))
        except WrongPassphrase:
            continue
        found.append(phrase)
    return found


def test_from_the_tray_the_daemon_takes_the_phones_new_passphrase(
    display: XServer, local_home, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The phone changed its passphrase: the tray's "Enter phone's new passphrase…" opens
    the dialog; typed there, the running daemon re-seals under it and offers the phone's
    newer backup. The dialog's process never sees the passphrase in its environment."""
    me: LocalHome = local_home("desk")
    phone = Peer("phone")
    phone.drop(me.sync, [1], created=minutes_ago(5), seq=1)
    events = Recorder()
    daemon = me.daemon(events)
    events.wait("pending")
    Peer("phone", passphrase=NEW, device_id=phone.device_id).drop(me.sync, [1, 3], seq=2)
    wait_for(lambda: daemon.status().other_passphrase == ("phone",), what="the notice")
    monkeypatch.setenv("OTPSYNC_PASSPHRASE", "not for children")
    seen = tmp_path / "env"
    (tmp_path / "sitecustomize.py").write_text(  # runs first in the dialog's interpreter
        f"import os, pathlib\npathlib.Path({str(seen)!r}).write_text(repr(sorted(os.environ)))\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    app = TrayApp(daemon, standin_pystray(), Clipboard(30))
    try:
        app.enter_new_passphrase()
        when_ready(display)
        type_in(display, NEW)
        when_ready(display, f"{WINDOW_TITLE} changed")
        assert opens_with(me.path / "data" / "vault.4otp.txt", PASSPHRASE, NEW) == [NEW]
        xdotool(display, "key", "Return")
        wait_for(lambda: not app.passphrase_dialog_open, what="the dialog to close")
        events.wait("passphrase")
        wait_for(
            lambda: any(
                c.incoming.issuer == "Service3"
                for v in daemon.status().pending
                for c in v.offered()
            ),
            what="the phone's newer code offered",
        )
        assert daemon.status().other_passphrase == ()
        names = seen.read_text()
        assert "DISPLAY" in names
        assert "OTPSYNC_PASSPHRASE" not in names
    finally:
        app.quit()
        daemon.stop()
