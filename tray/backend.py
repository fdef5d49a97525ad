"""Loading pystray with a backend that has a menu — or saying what to install.

On Linux pystray tries AppIndicator, then GTK, then plain Xorg; the Xorg fallback has no menu
at all, which makes this app useless, so it is never used. Windows and macOS use pystray's
own backends.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType

from daemon.errors import OtpsyncError

LINUX_HINT = (
    "no usable system-tray backend: install the tray extra (pip install 'otpsync[tray]') and,"
    " on Debian/Ubuntu, gir1.2-ayatanaappindicator3-0.1 (see the README); running headless"
)


class TrayUnavailable(OtpsyncError):
    """No tray backend with a menu could be loaded."""


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
            return importlib.import_module("pystray")
        except (ImportError, ValueError) as exc:  # gi raises ValueError for missing typelibs
            errors.append(f"{name or 'default'}: {exc}")
    if sys.platform.startswith("linux"):
        raise TrayUnavailable(LINUX_HINT)
    raise TrayUnavailable(f"no system-tray backend ({'; '.join(errors)}); running headless")
