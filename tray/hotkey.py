"""The optional global hotkey that opens the codes window: ``[tray] hotkey = "<ctrl>+<alt>+o"``.

X11 only, through python-xlib (pystray's own dependency on Linux): the tray grabs the key on
the root window, once per combination of the lock modifiers (Caps Lock, Num Lock), so it
works with either on. Nothing else needs installing, and the grab ends with the tray.

Elsewhere a program should not grab keys: Wayland does not let it at all, and on GNOME,
KDE, Windows and macOS the desktop's own shortcut settings can run ``otpsync codes``
without the tray (the README says how); there the setting is reported as not available.
"""

from __future__ import annotations

import logging
import os
import select
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from daemon.errors import OtpsyncError

log = logging.getLogger(__name__)

MODIFIERS = {"ctrl": "ControlMask", "alt": "Mod1Mask", "shift": "ShiftMask", "super": "Mod4Mask"}
LOCKS = ("LockMask", "Mod2Mask")  # Caps Lock, Num Lock


class HotkeyUnavailable(OtpsyncError):
    """The hotkey cannot be registered here (not X11, taken by another program)."""


@dataclass(frozen=True, slots=True)
class Hotkey:
    modifiers: tuple[str, ...]  # "ctrl", "alt", …
    key: str  # an X keysym name: "o", "F12", "space"

    @classmethod
    def parse(cls, text: str) -> Hotkey:
        """ "<ctrl>+<alt>+o" (pynput's spelling) → Hotkey; one key, any modifiers."""
        parts = [p.strip() for p in text.split("+")]
        mods = [p[1:-1].lower() for p in parts[:-1] if p.startswith("<") and p.endswith(">")]
        key = parts[-1].strip("<>") if parts else ""
        if len(mods) != len(parts) - 1 or not key or any(m not in MODIFIERS for m in mods):
            raise HotkeyUnavailable(
                f"hotkey {text!r}: write it as <ctrl>+<alt>+o (modifiers: "
                f"{', '.join(f'<{m}>' for m in MODIFIERS)}; then one key)"
            )
        return cls(tuple(mods), key)


class X11Hotkey:
    """Calls ``callback`` (on its own thread) each time the hotkey is pressed."""

    def __init__(self, hotkey: Hotkey, callback: Callable[[], None]) -> None:
        self.hotkey = hotkey
        self.callback = callback
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._display: Any = None

    def start(self) -> None:
        """Grab the key now (raising HotkeyUnavailable), then listen on a thread."""
        if not sys.platform.startswith("linux") or os.environ.get("WAYLAND_DISPLAY"):
            raise HotkeyUnavailable(
                "[tray] hotkey works on X11 only; bind `otpsync codes` in the desktop's"
                " keyboard settings instead (see the README)"
            )
        from Xlib import XK, X, error
        from Xlib.display import Display

        try:
            display = Display()
        except Exception as exc:  # Xlib raises its own DisplayError family
            raise HotkeyUnavailable(f"cannot open the X display for the hotkey: {exc}") from None
        keysym = XK.string_to_keysym(self.hotkey.key)
        keycode = display.keysym_to_keycode(keysym) if keysym else 0
        if not keycode:
            display.close()
            raise HotkeyUnavailable(f"hotkey: no key named {self.hotkey.key!r} on this keyboard")
        mask = 0
        for m in self.hotkey.modifiers:
            mask |= getattr(X, MODIFIERS[m])
        caught = error.CatchError(error.BadAccess)
        root = display.screen().root
        for locks in (0, X.LockMask, X.Mod2Mask, X.LockMask | X.Mod2Mask):
            root.grab_key(keycode, mask | locks, True, X.GrabModeAsync, X.GrabModeAsync,
                          onerror=caught)  # fmt: skip
        display.sync()
        if caught.get_error():
            display.close()
            raise HotkeyUnavailable(f"hotkey {self.describe()} is already taken by another program")
        self._display = display
        self._thread = threading.Thread(target=self._listen, name="otpsync-hotkey", daemon=True)
        self._thread.start()
        log.info("hotkey %s opens the codes window", self.describe())

    def describe(self) -> str:
        return "+".join([*(f"<{m}>" for m in self.hotkey.modifiers), self.hotkey.key])

    def _listen(self) -> None:
        from Xlib import X

        display = self._display
        while not self._stop.is_set():
            if not display.pending_events():
                ready, _, _ = select.select([display.fileno()], [], [], 0.5)
                if not ready:
                    continue
            event = display.next_event()
            if event.type == X.KeyPress:
                try:
                    self.callback()
                except Exception:
                    log.exception("the hotkey's action failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._display is not None:
            self._display.close()
            self._display = None
