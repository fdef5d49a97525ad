"""Asking which picture to read QR codes from, for the tray's "From QR image…".

The dialog runs in a child process, so the tray's loop never waits on it: the desktop's own
dialog where there is one (zenity on GNOME, kdialog on KDE), else Tk's, which is the native
dialog on Windows and macOS (``python -m tray.file_chooser`` prints the chosen path).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

TITLE = "otpsync: add codes from a QR picture"
PATTERNS = "*.png *.jpg *.jpeg *.bmp *.gif"


def _commands() -> list[list[str]]:
    found = []
    if sys.platform.startswith("linux"):
        if shutil.which("zenity"):
            found.append(["zenity", "--file-selection", f"--title={TITLE}",
                          f"--file-filter=Pictures | {PATTERNS}"])  # fmt: skip
        if shutil.which("kdialog"):
            found.append(["kdialog", "--title", TITLE, "--getopenfilename", str(Path.home()),
                          f"{PATTERNS}|Pictures"])  # fmt: skip
    found.append([sys.executable, "-m", "tray.file_chooser"])
    return found


def ask() -> Path | None:
    """The picture the person chose, or None (cancelled, or no dialog could be shown)."""
    argv = _commands()[0]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    except OSError as exc:
        log.warning("cannot show a file dialog (%s)", exc)
        return None
    chosen = done.stdout.strip()
    if done.returncode != 0 or not chosen:
        if done.returncode not in (0, 1):  # 1: cancelled, for zenity and kdialog
            log.warning("the file dialog failed: %s", done.stderr.strip()[-200:])
        return None
    return Path(chosen)


def choose_image(done: Callable[[Path | None], None]) -> None:
    """Ask on a thread, then call ``done(path or None)`` on that thread."""
    threading.Thread(target=lambda: done(ask()), name="otpsync-file-dialog", daemon=True).start()


def main() -> int:
    import tkinter
    from tkinter import filedialog

    root = tkinter.Tk()
    root.withdraw()
    chosen = filedialog.askopenfilename(
        parent=root, title=TITLE, filetypes=[("Pictures", PATTERNS), ("All files", "*")]
    )
    root.destroy()
    if chosen:
        print(chosen)
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
