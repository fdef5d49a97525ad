"""Capturing every screen into memory, for ``otpsync add --scan-screen``.

mss grabs each monitor through the platform's own API (Xlib on X11, GDI on Windows,
CoreGraphics on macOS) straight into a buffer: the capture is never written to disk, and it
lives only as long as the QR reader needs it.

On Wayland a program may not read the screen. The xdg-desktop-portal Screenshot call would
ask the person, but it answers with a *file* it saved (usually in ~/Pictures), which is the
one thing a capture full of 2FA set-up codes must not become; so on Wayland this says what
to do instead.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from daemon.errors import ScreenUnavailable

if TYPE_CHECKING:
    from PIL.Image import Image

WAYLAND_HINT = (
    "cannot capture the screen on Wayland (programs may not read it, and the desktop portal"
    " would save the screenshot to a file); open the QR code's picture with"
    " `otpsync add --qr FILE`, or take a screenshot, add it that way and delete it"
)


def on_wayland() -> bool:
    return sys.platform.startswith("linux") and (
        os.environ.get("XDG_SESSION_TYPE") == "wayland" or bool(os.environ.get("WAYLAND_DISPLAY"))
    )


def capture() -> list[Image]:
    """One picture per monitor (all of them, however they are arranged)."""
    if on_wayland():
        raise ScreenUnavailable(WAYLAND_HINT)
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        raise ScreenUnavailable("no graphical session to capture (DISPLAY is not set)")
    import mss
    import mss.exception
    from PIL import Image as PILImage

    grabber_class = getattr(mss, "MSS", None) or mss.mss  # mss.MSS since 10.2
    try:
        with grabber_class() as grabber:
            monitors = grabber.monitors[1:] or grabber.monitors[:1]
            shots = [grabber.grab(m) for m in monitors]
    except mss.exception.ScreenShotError as exc:
        raise ScreenUnavailable(f"cannot capture the screen: {exc}") from None
    return [PILImage.frombytes("RGB", s.size, s.bgra, "raw", "BGRX") for s in shots]
