"""Copying a code to the clipboard, and clearing it later only if it still holds that code.

Uses the platform's clipboard tool (wl-copy/wl-paste on Wayland, xclip or xsel on X11, pbcopy
on macOS, clip.exe + PowerShell on Windows): no GUI toolkit needed, and a missing tool is
reported instead of failing silently.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass

from daemon.service import child_env

log = logging.getLogger(__name__)
TIMEOUT = 5


@dataclass(frozen=True, slots=True)
class ClipboardTool:
    name: str
    copy: tuple[str, ...]
    paste: tuple[str, ...]


def _candidates() -> list[ClipboardTool]:
    if sys.platform == "darwin":
        return [ClipboardTool("pbcopy", ("pbcopy",), ("pbpaste",))]
    if sys.platform == "win32":
        ps = ("powershell", "-NoProfile", "-Command")
        return [ClipboardTool("clip", ("clip",), (*ps, "Get-Clipboard"))]
    tools = []
    if os.environ.get("WAYLAND_DISPLAY"):
        tools.append(ClipboardTool("wl-copy", ("wl-copy",), ("wl-paste", "--no-newline")))
    tools += [
        ClipboardTool("xclip", ("xclip", "-selection", "clipboard", "-in"),
                      ("xclip", "-selection", "clipboard", "-out")),
        ClipboardTool("xsel", ("xsel", "--clipboard", "--input"),
                      ("xsel", "--clipboard", "--output")),
    ]  # fmt: skip
    return tools


def find_tool() -> ClipboardTool | None:
    for tool in _candidates():
        if shutil.which(tool.copy[0]) and shutil.which(tool.paste[0]):
            return tool
    return None


class Clipboard:
    """Copy, then clear after ``clear_after`` seconds if the clipboard still holds the copy."""

    def __init__(self, clear_after: float, tool: ClipboardTool | None = None) -> None:
        self.tool = tool if tool is not None else find_tool()
        self.clear_after = clear_after
        self._timer: threading.Timer | None = None

    @property
    def available(self) -> bool:
        return self.tool is not None

    def missing_hint(self) -> str:
        if sys.platform.startswith("linux"):
            return "no clipboard tool: install xclip (or wl-clipboard on Wayland)"
        return "no clipboard tool found"

    def copy(self, text: str) -> bool:
        """Put ``text`` on the clipboard, to be cleared later if it is still there."""
        if not self._write(text):
            return False
        self._schedule_clear(text)
        return True

    def _write(self, text: str) -> bool:
        """Through stdin, never on a command line. xclip, xsel and wl-copy fork a child that
        serves the selection; with no pipes on stdout/stderr we only wait for the parent."""
        if self.tool is None:
            return False
        try:
            done = subprocess.run(
                self.tool.copy, input=text.encode("utf-8"), stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, timeout=TIMEOUT, check=False, env=child_env(),
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("copying to the clipboard failed: %s", exc)
            return False
        return done.returncode == 0

    def read(self) -> str | None:
        if self.tool is None:
            return None
        try:
            done = subprocess.run(self.tool.paste, capture_output=True, timeout=TIMEOUT,
                                  check=False, env=child_env())  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return None
        return (
            done.stdout.decode("utf-8", "replace").rstrip("\r\n") if done.returncode == 0 else None
        )

    def _schedule_clear(self, text: str) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(self.clear_after, self.clear_if_still, args=(text,))
        self._timer.daemon = True
        self._timer.start()

    def clear_if_still(self, text: str) -> bool:
        """Empty the clipboard if it still holds ``text`` (the person may have copied since)."""
        return self.read() == text and self._write("")

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
