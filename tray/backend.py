"""Loading pystray with a backend that has a menu — or saying what to install.

On Linux pystray tries AppIndicator, then GTK, then plain Xorg; the Xorg fallback has no menu
at all, which makes this app useless, so it is never used. Windows and macOS use pystray's
own backends.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from types import ModuleType
from typing import Any

from daemon.errors import OtpsyncError

log = logging.getLogger(__name__)

LINUX_HINT = (
    "no usable system-tray backend: install the tray extra (pip install 'otpsync[tray]') and,"
    " on Debian/Ubuntu, gir1.2-ayatanaappindicator3-0.1 (see the README); running headless"
)


class TrayUnavailable(OtpsyncError):
    """No tray backend with a menu could be loaded."""


def pystray_base() -> ModuleType:
    """``pystray._base`` (Icon, Menu, MenuItem), without pystray choosing a backend.

    Importing anything under ``pystray`` runs its ``__init__``, which picks and loads a
    backend: on Linux without a usable GTK that is the Xorg one, which connects to the display
    at import and raises without one. The first import here uses pystray's dummy backend, so
    menus can be built anywhere; ``load_pystray`` later imports pystray again with a real
    backend, which shares this ``_base`` (the same Menu and MenuItem classes).
    """
    if "pystray" not in sys.modules:
        saved = os.environ.get("PYSTRAY_BACKEND")
        os.environ["PYSTRAY_BACKEND"] = "dummy"
        try:
            importlib.import_module("pystray")
        finally:
            if saved is None:
                os.environ.pop("PYSTRAY_BACKEND", None)
            else:
                os.environ["PYSTRAY_BACKEND"] = saved
    return importlib.import_module("pystray._base")


def load_pystray() -> ModuleType:
    """The ``pystray`` module with a menu-capable backend chosen, or TrayUnavailable."""
    if (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not (os.environ.get("WAYLAND_DISPLAY"))
    ):
        raise TrayUnavailable("no graphical session (DISPLAY is not set); running headless")
    candidates = ["appindicator", "gtk"] if sys.platform.startswith("linux") else [""]
    errors = []
    for name in candidates:
        if name:
            os.environ["PYSTRAY_BACKEND"] = name
        sys.modules.pop("pystray", None)
        try:
            module = importlib.import_module("pystray")
        except (ImportError, ValueError) as exc:  # gi raises ValueError for missing typelibs
            errors.append(f"{name or 'default'}: {exc}")
            continue
        if name:
            _harden_notifier()
        return module
    if sys.platform.startswith("linux"):
        if errors and all("could not be initialised" in e for e in errors):
            display = os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY")
            raise TrayUnavailable(
                f"cannot open the graphical display {display!r} (GTK could not start);"
                " running headless"
            )
        raise TrayUnavailable(LINUX_HINT)
    raise TrayUnavailable(f"no system-tray backend ({'; '.join(errors)}); running headless")


def _harden_notifier() -> None:
    """Make pystray's D-Bus notifier (GTK and AppIndicator backends) unable to stop the tray.

    pystray creates it when the icon's loop starts and closes its notification when the loop
    ends. Without a session bus the first raises: the icon never shows, and pystray's setup
    thread then waits forever, so the process hangs. Without a notification service the
    second raises at Quit. Both are logged instead; notifications are then skipped.
    """
    from pystray._util import notify_dbus

    real = notify_dbus.Notifier
    if getattr(real, "otpsync_safe", False):
        return

    class SafeNotifier:
        otpsync_safe = True

        def __init__(self) -> None:
            self._real: Any = None
            try:
                self._real = real()
            except Exception as exc:
                log.warning("no desktop notifications (%s): %s", type(exc).__name__, exc)

        def notify(self, title: str, message: str, icon: str) -> None:
            if self._real is None:
                log.info("notification not shown (no notification service): %s", message)
                return
            try:
                self._real.notify(title, message, icon)
            except Exception as exc:
                log.warning("could not show a notification (%s): %s", type(exc).__name__, message)

        def hide(self) -> None:
            if self._real is None:
                return
            try:
                self._real.hide()
            except Exception as exc:
                log.debug("could not close the notification: %s", exc)

    notify_dbus.Notifier = SafeNotifier  # type: ignore[misc, assignment]
