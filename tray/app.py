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
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from daemon.core.text import printable
from daemon.errors import OtpsyncError
from daemon.runner import Daemon, DaemonStatus, Event
from tray.clipboard import Clipboard
from tray.icon import IconState, render
from tray.menu import age_text, build_menu, undo_label

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
        # Stale devices the person said "got it" to, and those already notified: (id, last
        # backup). A newer backup that goes stale again is a new episode: attention once more.
        self._acknowledged: set[tuple[str, object]] = set()
        self._stale_told: set[tuple[str, object]] = set()
        self._stop = threading.Event()
        self.icon = pystray.Icon("otpsync", render(IconState()), "otpsync", menu=self._menu())
        self._on_ui = _ui_dispatcher(self.icon)
        daemon.add_listener(self._on_event)

    # --- what the person sees ----------------------------------------------------------------

    def icon_state(self) -> IconState:
        status = self.daemon.status()
        return IconState(
            pending=len(status.pending),
            paused=status.paused,
            error=bool(status.problem or status.claims),
            attention=bool(self._unacknowledged(status)),
        )

    def _unacknowledged(self, status: DaemonStatus) -> frozenset[str]:
        return frozenset(
            d.id
            for d in status.devices
            if d.stale and (d.id, d.last_backup) not in self._acknowledged
        )

    def _menu(self) -> Any:
        hint = None if self.clipboard.available else self.clipboard.missing_hint()
        status = self.daemon.status()
        return build_menu(
            status, self, clipboard_hint=hint, unacknowledged=self._unacknowledged(status)
        )

    def _tell_stale(self, status: DaemonStatus) -> None:
        """One notification per device per stale episode."""
        for d in status.devices:
            key = (d.id, d.last_backup)
            if d.stale and key not in self._stale_told and key not in self._acknowledged:
                self._stale_told.add(key)
                ago = (
                    age_text((datetime.now(UTC) - d.last_backup).total_seconds())
                    if d.last_backup
                    else "long ago"
                )
                self.notify(
                    f"{printable(d.name)}: last backup {ago}; is otpsync still running there?"
                )

    def refresh(self) -> None:
        """Redraw the icon if its state changed, and rebuild the menu."""
        self._tell_stale(self.daemon.status())
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
                self.icon.notify(message, "otpsync")
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

    def acknowledge_stale(self, device_id: str) -> None:
        """ "Got it" on a stale device: the icon stops asking for attention about it."""
        for d in self.daemon.status().devices:
            if d.id == device_id:
                self._acknowledged.add((d.id, d.last_backup))
        self._safe_refresh()

    def toggle_pause(self) -> None:
        self.daemon.set_paused(not self.daemon.status().paused)

    def open_sync_folder(self) -> None:
        folder = str(self.daemon.status().sync_folder)
        opener = {"darwin": ["open"], "win32": ["explorer"]}.get(sys.platform, ["xdg-open"])
        try:
            subprocess.Popen([*opener, folder], start_new_session=True)
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

    app.run(on_ready=ready)
