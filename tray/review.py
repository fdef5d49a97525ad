"""The Review window: one pending import's codes (labels only) with Approve and Reject.

What a notification's Review button opens (a tray menu cannot be opened from code). It runs
as its own process, ``python -m tray.review``: Tk and GTK in one process would fight over
the main thread, and a window that is closed leaves nothing behind in the tray's memory.
The tray sends the title and lines as JSON on stdin (no code, no secret) and reads the
choice from stdout: ``approve``, ``reject`` or nothing (closed). Keys: Alt+A approves,
Alt+R rejects, Escape closes.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

log = logging.getLogger(__name__)

WINDOW_TITLE = "otpsync: review import"
CHOICES = ("approve", "reject")


def review_window(title: str, lines: list[str], timeout: float | None = None) -> str | None:
    """Show the window and wait for the person: "approve", "reject", or None (closed, or
    no display). Blocks: call it off the UI thread."""
    # No secret in a child's environment: a passphrase the tray was started with stays here.
    env = {k: v for k, v in os.environ.items() if k != "OTPSYNC_PASSPHRASE"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "tray.review"],
            input=json.dumps({"title": title, "lines": lines}),
            capture_output=True, text=True, timeout=timeout, check=False, env=env,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("could not open the review window: %s", exc)
        return None
    choice = done.stdout.strip()
    if done.returncode != 0:
        log.warning("the review window failed: %s", done.stderr.strip()[-300:])
    return choice if choice in CHOICES else None


def main() -> int:
    import tkinter as tk

    order = json.loads(sys.stdin.read())
    root = tk.Tk()
    root.title(WINDOW_TITLE)
    chosen: list[str] = []

    def choose(what: str) -> None:
        chosen.append(what)
        root.destroy()

    tk.Label(root, text=str(order["title"]), font=("TkDefaultFont", 11, "bold")).pack(
        padx=16, pady=(14, 6), anchor="w"
    )
    for line in order["lines"]:
        tk.Label(root, text=str(line), anchor="w", justify="left").pack(padx=24, anchor="w")
    row = tk.Frame(root)
    row.pack(padx=16, pady=14, anchor="e")
    tk.Button(row, text="Approve merge", underline=0, command=lambda: choose("approve")).pack(
        side="left", padx=4
    )
    tk.Button(row, text="Reject", underline=0, command=lambda: choose("reject")).pack(
        side="left", padx=4
    )
    root.bind("<Alt-a>", lambda _e: choose("approve"))
    root.bind("<Alt-r>", lambda _e: choose("reject"))
    root.bind("<Escape>", lambda _e: root.destroy())
    root.mainloop()
    if chosen:
        print(chosen[0], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
