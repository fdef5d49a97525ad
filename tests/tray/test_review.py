"""The Review window (``python -m tray.review``), shown on a real X server (Xvfb) and
answered with real key presses (xdotool), as a person would: Alt+A, Alt+R, Escape."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator

import pytest

from tests.tray.support import XServer, xvfb
from tray.review import WINDOW_TITLE, review_window

pytestmark = pytest.mark.skipif(
    shutil.which("Xvfb") is None or shutil.which("xdotool") is None,
    reason="needs Xvfb and xdotool (apt-get install xvfb xdotool)",
)


@pytest.fixture
def display(monkeypatch: pytest.MonkeyPatch) -> Iterator[XServer]:
    pytest.importorskip("tkinter")
    with xvfb() as server:
        monkeypatch.setenv("DISPLAY", server.display)
        yield server


def answer(server: XServer, *keys: str) -> str | None:
    """Open the window, wait until it is mapped, press ``keys`` in it; the window's answer."""
    result: list[str | None] = []
    thread = threading.Thread(
        target=lambda: result.append(
            review_window("From phone · 3 new · 28 Nov 10:02", ["+ GitHub — alice"], timeout=30)
        )
    )
    thread.start()
    for command in (
        ["search", "--sync", "--onlyvisible", "--name", WINDOW_TITLE, "windowfocus", "--sync"],
        ["key", *keys],  # through XTEST, to the focused window: as typed
    ):
        subprocess.run(["xdotool", *command], env=server.env(), timeout=20, check=True,
                       capture_output=True)  # fmt: skip
    thread.join(30)
    assert not thread.is_alive()
    return result[0]


@pytest.mark.parametrize(("keys", "choice"), [
    (("alt+a",), "approve"), (("alt+r",), "reject"), (("Escape",), None),
])  # fmt: skip
def test_the_review_window_answers_with_the_persons_choice(
    display: XServer, keys: tuple[str, ...], choice: str | None
) -> None:
    assert answer(display, *keys) == choice


def test_without_a_display_there_is_no_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":999999")
    assert review_window("From phone", ["+ GitHub — alice"], timeout=30) is None
