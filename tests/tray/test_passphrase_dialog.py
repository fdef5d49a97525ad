"""The passphrase dialog (``python -m tray.passphrase_dialog``) on a real X server (Xvfb),
typed into with real key presses (xdotool) as a person would; and from the tray on a real
daemon whose phone changed its passphrase: typed once, the daemon re-keys without a restart."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE
from tests.daemon_support import (
    LocalHome,
    Recorder,
    opens_with,
    phone_changed_passphrase,
    wait_for,
)
from tests.tray.support import NEEDS_XVFB_XDOTOOL, XServer, standin_pystray
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

pytestmark = NEEDS_XVFB_XDOTOOL

NEW = "the phone's new passphrase"
WAIT = 30.0  # s for xdotool: a Tk child starting, a real change behind its "changed" title


def when_ready(server: XServer, title: str = WINDOW_TITLE) -> None:
    """Until the dialog is mapped with exactly ``title`` (its state), then focus it."""
    server.xdotool("search", "--sync", "--onlyvisible", "--name", f"^{title}$",
            "windowfocus", "--sync", timeout=WAIT)  # fmt: skip


def type_in(server: XServer, *fields: str) -> None:
    """Type each field's text, Tab between them, Enter at the end (as typed: XTEST)."""
    for i, text in enumerate(fields):
        if i:
            server.xdotool("key", "Tab", timeout=WAIT)
        server.xdotool("type", "--delay", "5", text, timeout=WAIT)
    server.xdotool("key", "Return", timeout=WAIT)


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
        assert self.called.acquire(timeout=WAIT), "the dialog sent nothing"


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
    tk_display: XServer,
) -> None:
    answers = Answers("that passphrase does not open phone's backups", ["Passphrase changed."])
    finished = open_dialog(device_order(("phone",)), answers)
    when_ready(tk_display)
    type_in(tk_display, "a typo")
    answers.wait_call()
    when_ready(tk_display)  # the title is back: the error is shown, the field empty again
    type_in(tk_display, NEW)
    answers.wait_call()
    when_ready(tk_display, f"{WINDOW_TITLE} changed")
    tk_display.xdotool("key", "Return", timeout=WAIT)  # Close
    assert finished() is True
    assert answers.calls == [("a typo", None), (NEW, None)]  # once each: no current, no repeat


def test_a_change_the_person_starts_asks_the_current_one_and_the_new_one_twice(
    tk_display: XServer,
) -> None:
    answers = Answers(["Passphrase changed."])
    finished = open_dialog(change_order(), answers)
    when_ready(tk_display)
    type_in(tk_display, PASSPHRASE, "new one", "new onf")  # the repeat differs: not sent
    type_in(tk_display, "new one")  # focus is back in the repeat field, emptied
    answers.wait_call()
    when_ready(tk_display, f"{WINDOW_TITLE} changed")
    tk_display.xdotool("key", "Escape", timeout=WAIT)
    assert finished() is True
    assert answers.calls == [("new one", PASSPHRASE)]


def test_escape_changes_nothing(tk_display: XServer) -> None:
    answers = Answers()
    finished = open_dialog(change_order(), answers)
    when_ready(tk_display)
    tk_display.xdotool("type", "half typed", timeout=WAIT)
    tk_display.xdotool("key", "Escape", timeout=WAIT)
    assert finished() is False
    assert answers.calls == []


def test_without_a_display_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":999999")
    answers = Answers()
    assert passphrase_dialog(change_order(), answers, timeout=WAIT) is False
    assert answers.calls == []


def test_from_the_tray_the_daemon_takes_the_phones_new_passphrase(
    tk_display: XServer, local_home, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The phone changed its passphrase: the tray's "Enter phone's new passphrase…" opens
    the dialog; typed there, the running daemon re-seals under it and offers the phone's
    newer backup. The dialog's process never sees the passphrase in its environment."""
    me: LocalHome = local_home("desk")
    events = Recorder()
    daemon = phone_changed_passphrase(me, NEW, events)
    monkeypatch.setenv("OTPSYNC_PASSPHRASE", "not for children")
    seen = tmp_path / "env"
    (tmp_path / "sitecustomize.py").write_text(  # runs first in the dialog's interpreter
        f"import os, pathlib\npathlib.Path({str(seen)!r}).write_text(repr(sorted(os.environ)))\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    app = TrayApp(daemon, standin_pystray(), Clipboard(30))
    try:
        app.enter_new_passphrase()
        when_ready(tk_display)
        type_in(tk_display, NEW)
        when_ready(tk_display, f"{WINDOW_TITLE} changed")
        assert opens_with(me.path / "data" / "vault.4otp.txt", PASSPHRASE, NEW) == [NEW]
        tk_display.xdotool("key", "Return", timeout=WAIT)
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
