"""The Review window (``python -m tray.review``), shown on a real X server (Xvfb) and
answered with real key presses (xdotool), as a person would: Alt+A, Alt+R, Escape."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.tray.support import (
    NEEDS_XVFB_XDOTOOL,
    Running,
    XServer,
    listed,
)
from tray.review import WINDOW_TITLE, review_window

pytestmark = NEEDS_XVFB_XDOTOOL


def press(server: XServer, *keys: str) -> None:
    """Once the Review window is mapped: focus it and type ``keys``."""
    server.xdotool("search", "--sync", "--onlyvisible", "--name", WINDOW_TITLE,
                   "windowfocus", "--sync", timeout=20)  # fmt: skip
    server.xdotool("key", *keys, timeout=20)  # to the focused window


def answer(server: XServer, *keys: str) -> str | None:
    """Open the window, press ``keys`` in it; the window's answer."""
    result: list[str | None] = []
    thread = threading.Thread(
        target=lambda: result.append(
            review_window("From phone · 3 new · 28 Nov 10:02", ["+ GitHub — alice"], timeout=30)
        )
    )
    thread.start()
    press(server, *keys)
    thread.join(30)
    assert not thread.is_alive()
    return result[0]


@pytest.mark.parametrize(("keys", "choice"), [
    (("alt+a",), "approve"), (("alt+r",), "reject"), (("Escape",), None),
])  # fmt: skip
def test_the_review_window_answers_with_the_persons_choice(
    tk_display: XServer, keys: tuple[str, ...], choice: str | None
) -> None:
    assert answer(tk_display, *keys) == choice


def test_without_a_display_there_is_no_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":999999")
    assert review_window("From phone", ["+ GitHub — alice"], timeout=30) is None


def test_review_from_the_tray_then_approve_merges(tk_display: XServer, running: Running) -> None:
    """The notification's Review, on a real daemon: the window opens for the pending entry;
    Alt+A there merges it, as the menu's Approve merge does."""
    (offer,) = running.events.of("pending")
    running.app.review(offer.data.entry.id)
    press(tk_display, "alt+a")
    running.events.wait("merged", timeout=20)
    assert running.daemon.status().pending == ()
    assert "GitHub" in listed(running.laptop)


def test_the_window_gets_no_passphrase_in_its_environment(
    tk_display: XServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The window process is started with the tray's environment minus the passphrase."""
    monkeypatch.setenv("OTPSYNC_PASSPHRASE", "not for children")
    seen = tmp_path / "env"
    # sitecustomize runs in the window's interpreter first: it writes down its environment.
    (tmp_path / "sitecustomize.py").write_text(
        f"import os, pathlib\npathlib.Path({str(seen)!r}).write_text(repr(sorted(os.environ)))\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    result: list[str | None] = []
    thread = threading.Thread(target=lambda: result.append(review_window("t", [], timeout=30)))
    thread.start()
    press(tk_display, "Escape")
    thread.join(30)
    assert result == [None]
    names = seen.read_text()
    assert "DISPLAY" in names
    assert "OTPSYNC_PASSPHRASE" not in names
