"""The tray's passphrase dialog: type the passphrase another device now uses (or a new one).

What "phone now uses a different passphrase" asks for: the running daemon cannot be stopped
for ``otpsync passphrase change`` from a menu, so it changes the passphrase itself, on its
worker, and this small window only asks. It runs as its own process (``python -m
tray.passphrase_dialog``, as the Review window: Tk and GTK in one process would fight over
the main thread), and talks with the tray over its pipes, one JSON object per line:

- tray → dialog, first: ``{"title", "lines", "ask_current", "repeat"}`` (labels only);
- dialog → tray, on "Change passphrase": ``{"new", "current"}`` (``current`` null unless
  asked). A pipe between the two processes is the only place the passphrase travels: never
  an argument, the environment or a file;
- tray → dialog: ``{"ok": true, "lines": [...]}`` (what was done: shown, then Close) or
  ``{"ok": false, "error": "..."}`` (shown; the person may try again).

Closing the window (Escape, Cancel, the window manager) ends it; so does the tray's end of
the pipe closing. Enter submits. The title says the state: "… (checking…)" while the tray
works, "… changed" once done.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

log = logging.getLogger(__name__)

WINDOW_TITLE = "otpsync: passphrase"


@dataclass(frozen=True, slots=True)
class DialogOrder:
    """What the dialog shows and asks: ``ask_current`` the passphrase in use (a change the
    person starts), ``repeat`` the new one twice (nothing else can check it for typos)."""

    title: str
    lines: tuple[str, ...]
    ask_current: bool = False
    repeat: bool = False


def now_use_another(devices: Sequence[str]) -> str:
    """ "phone now uses a different passphrase", "phone and tablet now use …": the dialog's
    title and the notification's text."""
    names = " and ".join(devices) or "another device"
    return f"{names} now use{'s' if len(devices) <= 1 else ''} a different passphrase"


def device_order(devices: tuple[str, ...]) -> DialogOrder:
    """For "phone now uses a different passphrase": type that one; it is checked against
    phone's backups, so it is asked once. ``devices``: names, escaped already."""
    them, uses = (devices[0], "uses") if len(devices) == 1 else ("those devices", "use")
    return DialogOrder(
        now_use_another(devices),
        (
            f"Type the passphrase {them} {uses} now. otpsync checks that it opens"
            f" {them}'s backups, then re-seals this device's vault, snapshots and pending"
            " imports under it, writes a new backup, and removes this device's backups sealed"
            " with the old passphrase from the sync folder.",
            "Until then nothing of theirs is deleted or rejected here.",
        ),
    )


def change_order() -> DialogOrder:
    """The menu's "Change passphrase…": the one in use first, then the new one twice."""
    return DialogOrder(
        "Change the passphrase",
        (
            "The vault, its snapshots and pending imports are re-sealed under the new"
            " passphrase and a new backup is written; then this device's backups sealed with"
            " the old one are removed from the sync folder.",
            "Your other devices need the same new passphrase: change it there too.",
        ),
        ask_current=True,
        repeat=True,
    )


class DialogError(Exception):
    """What the tray's ``change`` raises to have its message shown in the dialog."""


Change = Callable[[str, str | None], list[str]]


def passphrase_dialog(
    order: DialogOrder,
    change: Change,
    *,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> bool:
    """Show the dialog until the person closes it. For each passphrase typed, ``change(new,
    current)`` does the work and returns the lines to show, or raises ``DialogError`` (shown;
    the person may try again). True if a change was made. ``env``: the child's environment
    (the tray's, without secrets). Blocks: call it off the UI thread."""
    with tempfile.TemporaryFile() as errors:
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", "tray.passphrase_dialog"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True,
                env=env, start_new_session=True,
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
            )  # fmt: skip
        except OSError as exc:
            log.warning("could not open the passphrase dialog: %s", exc)
            return False
        timer = threading.Timer(timeout, child.kill) if timeout else None
        if timer is not None:
            timer.start()
        try:
            changed = _converse(child, order, change)
        finally:
            if timer is not None:
                timer.cancel()
            for pipe in (child.stdin, child.stdout):
                if pipe is not None:
                    pipe.close()
            rc = child.wait()
        if rc != 0:
            errors.seek(0)
            tail = errors.read()[-300:].decode("utf-8", "replace").strip()
            log.warning("the passphrase dialog failed: %s", tail or f"exit status {rc}")
    return changed


def _converse(child: subprocess.Popen[str], order: DialogOrder, change: Change) -> bool:
    assert child.stdout is not None  # noqa: S101 (stdout=PIPE)
    changed = False
    try:
        _send(child, asdict(order))
        for line in child.stdout:
            try:
                asked = json.loads(line)
                new, current = asked["new"], asked.get("current")
            except (ValueError, KeyError, TypeError):
                log.warning("the passphrase dialog said something unexpected; closing it")
                break
            try:
                reply: dict[str, object] = {"ok": True, "lines": change(new, current)}
                changed = True
            except DialogError as exc:
                reply = {"ok": False, "error": str(exc)}
            _send(child, reply)
    except OSError:  # BrokenPipeError among them
        pass  # the window was closed meanwhile
    return changed


def _send(child: subprocess.Popen[str], message: dict[str, object]) -> None:
    assert child.stdin is not None  # noqa: S101
    child.stdin.write(json.dumps(message) + "\n")
    child.stdin.flush()


# --- the window (the child process) -----------------------------------------------------------


def main() -> int:
    import queue
    import tkinter as tk

    order = json.loads(sys.stdin.readline())
    replies: queue.Queue[dict[str, object] | None] = queue.Queue()

    def read_replies() -> None:
        for line in sys.stdin:
            replies.put(json.loads(line))
        replies.put(None)  # the tray went away

    root = tk.Tk()
    root.title(WINDOW_TITLE)
    root.resizable(False, False)
    frame = tk.Frame(root, padx=16, pady=14)
    frame.pack(fill="both")
    tk.Label(frame, text=str(order["title"]), font=("TkDefaultFont", 11, "bold")).pack(
        anchor="w", pady=(0, 6)
    )
    for line in order["lines"]:
        tk.Label(frame, text=str(line), justify="left", wraplength=440).pack(anchor="w")
    fields: dict[str, tk.Entry] = {}
    asked = [("current", "Current passphrase")] if order.get("ask_current") else []
    asked.append(("new", "New passphrase"))
    if order.get("repeat"):
        asked.append(("repeat", "Repeat the new passphrase"))
    form = tk.Frame(frame)
    form.pack(anchor="w", pady=(10, 0), fill="x")
    for row, (key, label) in enumerate(asked):
        tk.Label(form, text=label).grid(row=row, column=0, sticky="w", padx=(0, 8), pady=2)
        entry = tk.Entry(form, show="•", width=32)
        entry.grid(row=row, column=1, sticky="we", pady=2)
        fields[key] = entry
    message = tk.Label(frame, text="", justify="left", wraplength=440, fg="#b91c1c")
    message.pack(anchor="w", pady=(8, 0))
    buttons = tk.Frame(frame)
    buttons.pack(anchor="e", pady=(10, 0))
    cancel = tk.Button(buttons, text="Cancel", command=root.destroy)
    cancel.pack(side="left", padx=4)
    submit = tk.Button(buttons, text="Change passphrase", default="active")
    submit.pack(side="left", padx=4)

    def say(text: str, error: bool = True) -> None:
        message.configure(text=text, fg="#b91c1c" if error else "#111827")

    def enable(on: bool) -> None:
        for widget in (*fields.values(), submit):
            widget.configure(state="normal" if on else "disabled")

    def send() -> None:
        if str(submit["state"]) == "disabled":
            return
        typed = {key: entry.get() for key, entry in fields.items()}
        if not typed["new"]:
            say("Type the new passphrase.")
            fields["new"].focus_set()
            return
        if "repeat" in typed and typed["repeat"] != typed["new"]:
            say("The two new passphrases differ.")
            fields["repeat"].delete(0, "end")
            fields["repeat"].focus_set()
            return
        enable(False)
        root.title(f"{WINDOW_TITLE} (checking…)")
        say("Checking it and re-sealing this device's vault and backups…", error=False)
        print(json.dumps({"new": typed["new"], "current": typed.get("current")}), flush=True)

    def answered() -> None:
        try:
            reply = replies.get_nowait()
        except queue.Empty:
            root.after(100, answered)
            return
        if reply is None:
            root.destroy()
            return
        if reply.get("ok"):
            root.title(f"{WINDOW_TITLE} changed")
            form.destroy()  # and the typed passphrases with it
            say("\n".join(str(line) for line in reply.get("lines", [])), error=False)
            submit.destroy()
            cancel.configure(text="Close")
            cancel.focus_set()
            root.bind("<Return>", lambda _e: root.destroy())
        else:
            root.title(WINDOW_TITLE)
            error = str(reply.get("error", "it did not work"))
            say(error[:1].upper() + error[1:])  # a CLI message, lower case after "error: "
            enable(True)
            for entry in fields.values():
                entry.delete(0, "end")
            next(iter(fields.values())).focus_set()
        root.after(100, answered)

    submit.configure(command=send)
    root.bind("<Return>", lambda _e: send())
    root.bind("<Escape>", lambda _e: root.destroy())
    next(iter(fields.values())).focus_set()
    threading.Thread(target=read_replies, daemon=True).start()
    root.after(100, answered)
    root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
