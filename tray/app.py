"""``otpsync run``: the daemon with a face — icon, menu, notifications.

The daemon works on its own threads; the tray's main loop owns the main thread (macOS needs
that) and never waits on crypto or disk: clicks submit work to the daemon and react when the
Future completes. Listener events (from the daemon's worker, also for changes the CLI made)
redraw the icon and rebuild the menu at once.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from types import ModuleType
from typing import Any

from daemon.core.display import shown
from daemon.errors import ImportFailed, OtpsyncError
from daemon.runner import Daemon, Event
from daemon.service import ImportPreview, Service, child_env
from tray.clipboard import Clipboard
from tray.file_chooser import choose_image
from tray.hotkey import Hotkey, HotkeyUnavailable, X11Hotkey
from tray.icon import IconState, render
from tray.menu import build_menu, undo_label

log = logging.getLogger(__name__)

MENU_REFRESH = 30.0  # seconds: keeps "last backup 12 min ago" current
CLIPBOARD_CLEAR = 30.0


class TrayApp:
    """Ties a running ``Daemon`` to a pystray ``Icon``."""

    def __init__(self, daemon: Daemon, pystray: ModuleType, clipboard: Clipboard) -> None:
        self.daemon = daemon
        self.clipboard = clipboard
        self._pystray = pystray
        self._state: IconState | None = None
        self._stop = threading.Event()
        self.icon = pystray.Icon("otpsync", render(IconState()), "otpsync", menu=self._menu())
        self._on_ui = _ui_dispatcher(self.icon)
        self._codes_window: subprocess.Popen[str] | None = None
        self._opening_codes = False
        # The platform's file dialog (a child process); tests put a chooser of their own here.
        self.choose_image: Callable[[Callable[[Path | None], None]], None] = choose_image
        daemon.add_listener(self._on_event)

    # --- what the person sees ----------------------------------------------------------------

    def icon_state(self) -> IconState:
        status = self.daemon.status()
        return IconState(
            pending=len(status.pending),
            paused=status.paused,
            error=bool(status.problem or status.claims),
        )

    def _menu(self) -> Any:
        hint = None if self.clipboard.available else self.clipboard.missing_hint()
        return build_menu(self.daemon.status(), self, clipboard_hint=hint)

    def refresh(self) -> None:
        """Redraw the icon if its state changed, and rebuild the menu."""
        state = self.icon_state()
        if state != self._state:
            self._state = state
            self.icon.icon = render(state)
            self.icon.title = f"otpsync · {state.pending} pending" if state.pending else "otpsync"
        self.icon.menu = self._menu()
        self.icon.update_menu()

    def notify(self, message: str) -> None:
        """A desktop notification; a missing notification service is logged, never fatal."""
        try:
            if getattr(self.icon, "HAS_NOTIFICATION", False):
                self.icon.notify(shown(message), "otpsync")
        except Exception as exc:
            log.warning("could not show a notification (%s): %s", type(exc).__name__, message)

    def _safe_refresh(self) -> None:
        try:
            self.refresh()
        except Exception:
            log.exception("could not refresh the tray")

    def _on_event(self, event: Event) -> None:
        """On the daemon's worker thread: the redraw goes to the UI thread where needed."""
        self._on_ui(self._safe_refresh)
        if event.kind == "pending":
            self.notify(f"{event.message} — open the tray menu to review")
        elif event.kind == "merged" or (event.kind == "error" and self.daemon.status().problem):
            self.notify(event.message)

    # --- TrayActions: each a call on the daemon, never blocking the tray's thread --------------

    def _after(self, fut: Future[Any], done: Any = None) -> None:
        def finished(f: Future[Any]) -> None:
            exc = f.exception()
            if isinstance(exc, OtpsyncError):
                self.notify(str(exc))
            elif exc is not None:
                log.error("tray action failed", exc_info=exc)
            elif done is not None:
                done(f.result())

        fut.add_done_callback(finished)

    def copy_code(self, account_id: str) -> None:
        def copied(result: Any) -> None:
            account, code = result
            if self.clipboard.copy(code.code):
                log.info("copied the code of %s", account.label)
            else:
                self.notify(self.clipboard.missing_hint())

        self._after(self.daemon.code(account_id), copied)

    def approve(self, entry_id: str) -> None:
        self._after(self.daemon.approve(entry_id))

    def approve_with_removals(self, entry_id: str) -> None:
        self._after(self.daemon.approve(entry_id, with_removals=True))

    def reject(self, entry_id: str) -> None:
        self._after(self.daemon.reject(entry_id))

    def export_now(self) -> None:
        self._after(self.daemon.export_now(), lambda d: self.notify(f"Backed up to {d.path.name}"))

    def undo(self) -> None:
        def undone(result: Any) -> None:
            what = undo_label(result[0].reason).removeprefix("Undo ")
            self.notify(f"Undone: the {what}")

        self._after(self.daemon.undo(), undone)

    def unlock(self) -> None:
        self.daemon.unlock()

    # --- the codes window and adding codes -------------------------------------------------

    def show_codes(self) -> None:
        """Open ``otpsync codes`` as a child process, not a Tk thread in this one: on macOS
        Tk must own its process's main thread, which pystray's loop holds here, and a window
        that fails cannot take the tray (and the backups) down with it. The passphrase goes
        through a pipe on the child's stdin, never its argv or environment."""
        child = self._codes_window
        if self._opening_codes or (child is not None and child.poll() is None):
            return  # open, or opening: one window is enough
        self._opening_codes = True
        fut = self.daemon.submit(self.daemon.service.passphrase_for_child)
        self._after(fut, self._open_codes)
        # Callbacks run in order: this one after the child was started (or it failed).
        fut.add_done_callback(lambda _f: setattr(self, "_opening_codes", False))

    def _open_codes(self, passphrase: str) -> None:
        argv, env = self.daemon.service.child_command("codes", "--passphrase-stdin")
        try:
            child = subprocess.Popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                env=env, text=True, start_new_session=True,
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),  # Windows: no console
            )  # fmt: skip
        except OSError as exc:
            self.notify(f"cannot open the codes window: {exc.strerror}")
            return
        assert child.stdin is not None  # noqa: S101 (stdin=PIPE)
        child.stdin.write(passphrase + "\n")
        child.stdin.close()
        self._codes_window = child
        threading.Thread(target=self._codes_closed, args=(child,), daemon=True).start()

    def _codes_closed(self, child: subprocess.Popen[str]) -> None:
        assert child.stderr is not None  # noqa: S101 (stderr=PIPE)
        with child.stderr:
            errors = child.stderr.read().strip().splitlines()
        if child.wait() != 0 and errors:
            self.notify(errors[-1].removeprefix("otpsync: error: "))

    def scan_screen(self) -> None:
        self._add_codes(lambda svc: svc.preview_screen())

    def add_from_image(self) -> None:
        def chosen(path: Path | None) -> None:
            if path is not None:
                self._add_codes(lambda svc: svc.preview_qr(path))

        self.choose_image(chosen)

    def paste_link(self) -> None:
        pasted: list[str] = []

        def plan(svc: Service) -> ImportPreview:
            text = self.clipboard.read()
            if not text or not text.strip():
                raise ImportFailed("the clipboard is empty")
            pasted.append(text)
            return svc.preview_uri(text)

        def then() -> None:  # the link holds a secret: do not leave it on the clipboard
            if pasted:
                self.clipboard.clear_if_still(pasted[0])

        self._add_codes(plan, then)

    def _add_codes(
        self, plan: Callable[[Service], ImportPreview], then: Callable[[], None] = lambda: None
    ) -> None:
        """Plan and merge on the daemon's worker; a notification says what was added, or
        why nothing was."""

        def finished(fut: Future[ImportPreview]) -> None:
            exc = fut.exception()
            if isinstance(exc, OtpsyncError):
                self.notify(f"Nothing added: {exc}")
            elif exc is not None:
                log.error("adding codes failed", exc_info=exc)
                self.notify("Nothing added: unexpected internal error (details in the log)")
            else:
                self.notify(added_message(fut.result()))
                then()

        self.daemon.add_codes(plan).add_done_callback(finished)

    def toggle_pause(self) -> None:
        self.daemon.set_paused(not self.daemon.status().paused)

    def open_sync_folder(self) -> None:
        folder = str(self.daemon.status().sync_folder)
        opener = {"darwin": ["open"], "win32": ["explorer"]}.get(sys.platform, ["xdg-open"])
        try:
            subprocess.Popen([*opener, folder], start_new_session=True, env=child_env())
        except OSError as exc:
            self.notify(f"cannot open {folder}: {exc.strerror}")

    def quit(self) -> None:
        self._stop.set()
        self.icon.stop()

    # --- lifecycle ---------------------------------------------------------------------------

    def run(self, on_ready: Callable[[], None] | None = None) -> None:
        """Blocks on the main thread until Quit (or a signal); the daemon stops cleanly.
        ``on_ready`` runs once the icon's loop has started (on pystray's setup thread)."""
        ready = threading.Event()

        def setup(icon: Any) -> None:
            ready.set()
            if self._stop.is_set():
                return
            if on_ready is not None:
                on_ready()
            icon.visible = True
            self._on_ui(self._safe_refresh)
            while not self._stop.wait(MENU_REFRESH):
                self._on_ui(self._safe_refresh)

        try:
            self.icon.run(setup=setup)
        finally:
            self._stop.set()
            if not ready.is_set():
                _release_setup_thread(self.icon)
            self.clipboard.cancel()
            self.daemon.stop()


def added_message(preview: ImportPreview, listed: int = 3) -> str:
    """ "Added 2 codes: GitHub — alice, Google — ann", or why nothing was (labels only)."""
    new = [shown(c.incoming.label, 60) for c in preview.plan.of("new")]
    if new:
        labels = new[:listed] + ([f"{len(new) - listed} more"] if len(new) > listed else [])
        return f"Added {len(new)} code{'s' if len(new) != 1 else ''}: {', '.join(labels)}"
    here = len(preview.plan.changes)
    return f"Nothing added: {'the code is' if here == 1 else f'all {here} codes are'} already here"


def _ui_dispatcher(icon: Any) -> Callable[[Callable[[], None]], None]:
    """How to run a redraw on the icon's UI thread. pystray's GTK and AppIndicator backends
    hand each call to the GLib loop themselves; AppKit must only be touched from the main
    thread, so on macOS redraws go through ``AppHelper.callAfter`` (untested here: no Mac)."""
    if type(icon).__module__.endswith("_darwin"):
        from PyObjCTools import AppHelper  # comes with pystray's macOS dependencies

        return AppHelper.callAfter  # type: ignore[no-any-return]
    return lambda fn: fn()


def _release_setup_thread(icon: Any) -> None:
    """pystray starts its (non-daemon) setup thread before the loop and lets it go only once
    the loop is ready: if the loop failed to start, that thread would keep the process alive
    for ever. Let it go, to find ``_stop`` set and return at once."""
    pending = getattr(icon, "_Icon__queue", None)
    if pending is not None:
        pending.put(True)


def _uses_glib(app: TrayApp) -> bool:
    module = type(app.icon).__module__
    return "gtk" in module or "appindicator" in module


def _quit_on_signals(app: TrayApp) -> None:
    """SIGTERM/SIGINT stop cleanly. GTK's C main loop keeps Python's own handlers from
    running, so on GTK backends GLib delivers them; those are installed once the loop runs,
    because pystray's GTK backends reset SIGINT to its default when their loop starts."""
    if _uses_glib(app):
        from gi.repository import GLib

        for sig in (signal.SIGTERM, signal.SIGINT):
            GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, lambda: app.quit() or False)
    else:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: app.quit())


def run_tray(
    daemon: Daemon,
    pystray: ModuleType,
    clipboard_clear: float,
    on_ready: Callable[[TrayApp], None] | None = None,
) -> None:
    """``otpsync run``: start the daemon, show the icon, block until Quit or a signal.
    ``on_ready(app)`` runs once the icon's loop has started (tests drive the app from it)."""
    app = TrayApp(daemon, pystray, Clipboard(clipboard_clear))
    daemon.start(wait_for_passphrase=True)  # a locked keyring at login: wait, visibly
    log.info("tray running (pid %d)", os.getpid())
    glib = _uses_glib(app)
    if not glib:
        _quit_on_signals(app)  # signal.signal: only from the main thread, before the loop

    def ready() -> None:
        if glib:
            _quit_on_signals(app)
        if on_ready is not None:
            on_ready(app)

    hotkey = _start_hotkey(app, daemon.cfg.hotkey)
    try:
        app.run(on_ready=ready)
    finally:
        if hotkey is not None:
            hotkey.stop()


def _start_hotkey(app: TrayApp, spec: str) -> X11Hotkey | None:
    """``[tray] hotkey``, if set and possible here; otherwise why not, in the log."""
    if not spec:
        return None
    try:
        hotkey = X11Hotkey(Hotkey.parse(spec), app.show_codes)
        hotkey.start()
    except HotkeyUnavailable as exc:
        log.warning("%s", exc)
        return None
    return hotkey
