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
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from daemon.core.display import shown
from daemon.errors import ImportFailed, OtpsyncError
from daemon.runner import Daemon, DaemonStatus, Event, Notice
from daemon.service import ImportPreview, PendingView, Service, child_env
from tray.clipboard import Clipboard
from tray.file_chooser import choose_image
from tray.hotkey import Hotkey, HotkeyUnavailable, X11Hotkey
from tray.icon import IconState, render
from tray.menu import age_text, build_menu, pending_title, signature, undo_label
from tray.notify import Action, Notifier, desktop_notifier
from tray.passphrase_dialog import (
    DialogError,
    DialogOrder,
    change_order,
    device_order,
    now_use_another,
    passphrase_dialog,
)
from tray.review import review_window

log = logging.getLogger(__name__)

# Seconds between refreshes for relative times ("last backup 12 min ago"); any other change
# rebuilds the menu at once, on its event. A native rebuild of a 50-code menu costs ~20 ms
# of CPU here: once a minute that alone would be 1.1 s/hour, over the idle budget.
MENU_REFRESH = 300.0
CLIPBOARD_CLEAR = 30.0


class TrayApp:
    """Ties a running ``Daemon`` to a pystray ``Icon``."""

    def __init__(
        self,
        daemon: Daemon,
        pystray: ModuleType,
        clipboard: Clipboard,
        notifier: Notifier | None = None,
    ) -> None:
        self.daemon = daemon
        self.clipboard = clipboard
        self._pystray = pystray
        self._state: IconState | None = None
        # Stale devices the person said "got it" to, and those already notified: (id, last
        # backup). A newer backup that goes stale again is a new episode: attention once more.
        self._acknowledged: set[tuple[str, object]] = set()
        self._stale_told: set[tuple[str, object]] = set()
        self._stop = threading.Event()
        self.icon = pystray.Icon("otpsync", render(IconState()), "otpsync", menu=self._menu()[0])
        self._on_ui = _ui_dispatcher(self.icon)
        self._codes_window: subprocess.Popen[str] | None = None
        self._opening_codes = False
        # The platform's file dialog (a child process); tests put a chooser of their own here.
        self.choose_image: Callable[[Callable[[Path | None], None]], None] = choose_image
        self.notifier = notifier or desktop_notifier(self.icon, _glib_icon(self.icon))
        self._reviewing: set[str] = set()  # entry ids with a Review window open
        self._passphrase_open = False  # the passphrase dialog is up
        self._told_passphrase: set[str] = set()  # devices told to use another passphrase
        self._refresh_lock = threading.Lock()
        self._shown: tuple[object, ...] | None = None  # what the menu on screen shows
        daemon.add_listener(self._on_event)

    # --- what the person sees ----------------------------------------------------------------

    def icon_state(self) -> IconState:
        status = self.daemon.status()
        stuck = status.unresponsive_since() is not None
        return IconState(
            pending=len(status.pending),
            paused=status.paused,
            error=bool(status.problem or status.claims or stuck),
            attention=bool(self._unacknowledged(status)),
        )

    def _unacknowledged(self, status: DaemonStatus) -> frozenset[str]:
        return frozenset(
            d.id
            for d in status.devices
            if d.stale and (d.id, d.last_backup) not in self._acknowledged
        )

    def _menu(self) -> tuple[Any, tuple[object, ...]]:
        """The menu for the daemon's status now, and what tells it apart from another: its
        texts and flags, and the ids its items act on."""
        hint = None if self.clipboard.available else self.clipboard.missing_hint()
        status = self.daemon.status()
        unacknowledged = self._unacknowledged(status)
        menu = build_menu(status, self, clipboard_hint=hint, unacknowledged=unacknowledged)
        ids = (tuple(c.id for c in status.codes), tuple(v.entry.id for v in status.pending))
        return menu, (signature(menu), ids)

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
                self.notify(f"{shown(d.name)}: last backup {ago}; is otpsync still running there?")

    def refresh(self) -> None:
        """Redraw the icon and rebuild the menu, each if what it shows changed. Serialised: the
        worker's events and the UI's clicks both refresh, and a late one must not draw an
        older state over a newer one."""
        with self._refresh_lock:
            self._refresh()

    def _tell_other_passphrase(self, status: DaemonStatus) -> None:
        """Once per device that changed its passphrase: say so, with "Enter it…"."""
        new = [name for name in status.other_passphrase if name not in self._told_passphrase]
        resolved = self._told_passphrase and not status.other_passphrase
        self._told_passphrase = set(status.other_passphrase)
        if resolved:  # changed here too: the notice (and its button) would only mislead
            self.notifier.close("passphrase")
        if not new:
            return
        text = now_use_another(new)
        if not self.notifier.actions:
            self.notify(f"{text}: type it in the tray menu", tag="passphrase")
            return
        action = Action("passphrase", "Enter it…", self.enter_new_passphrase)
        self.notify(f"{text}: type it here too", tag="passphrase", actions=(action,))

    def _refresh(self) -> None:
        status = self.daemon.status()
        self._tell_stale(status)
        self._tell_other_passphrase(status)
        state = self.icon_state()
        if state != self._state:
            self._state = state
            self.icon.icon = render(state)
            self.icon.title = f"otpsync · {state.pending} pending" if state.pending else "otpsync"
        menu, shown = self._menu()
        if shown != self._shown:  # rebuilding the native menu is what costs: only on a change
            self._shown = shown
            self.icon.menu = menu
            self.icon.update_menu()

    def notify(self, message: str, *, tag: str | None = None,
               actions: Sequence[Action] = ()) -> None:  # fmt: skip
        """A desktop notification; a missing notification service is logged, never fatal.
        Labels and names in it come from files: control characters are escaped."""
        message = shown(message)
        try:
            self.notifier.show(message, tag=tag, actions=actions)
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
        if event.kind == "notify":  # a burst of queued backups, told once (daemon/notices.py)
            self._notify_offer(event.data)
        elif event.kind == "merged":
            self._notify_merged(event)
        elif event.kind == "error" and self.daemon.status().problem:
            self.notify(event.message)

    def _notify_offer(self, notice: Notice) -> None:
        """ "Backup from phone: 3 new codes — GitHub — alice, …" with Approve, Review and
        Reject, once per burst (daemon/notices.py); the device's previous notification is
        replaced, not stacked. Several devices at once: one summary, reviewed in the menu."""
        if len(notice.offers) != 1:
            self.notify(f"{notice.message} — open the tray menu to review", tag="offers")
            return
        (offer,) = notice.offers
        tag = device_tag(offer)
        view = next((v for v in self.daemon.status().pending if v.entry.id == offer.entry_id), None)
        if view is None:  # approved or rejected meanwhile (the menu, the CLI)
            return
        text = f"{notice.message} — {label_list([c.incoming.label for c in view.offered()])}"
        if not self.notifier.actions:
            self.notify(f"{text} — open the tray menu to review", tag=tag)
            return
        entry_id = offer.entry_id
        self.notify(text, tag=tag, actions=(
            Action("approve", "Approve", lambda: self.approve(entry_id)),
            Action("review", "Review", lambda: self.review(entry_id)),
            Action("reject", "Reject", lambda: self.reject(entry_id)),
        ))  # fmt: skip

    def _notify_merged(self, event: Event) -> None:
        """ "Merged 3 new codes from phone: …" with Undo, in place of the offer's."""
        result = event.data
        tag = device_tag(result.entry) if result is not None else None
        after = self.daemon.status()
        merged_state = (after.codes, after.undo)  # what the vault looked like right after

        def undo_merge() -> None:
            now = self.daemon.status()
            if (now.codes, now.undo) != merged_state:
                self.notify("Not undone: the vault changed since that merge (the menu's Undo"
                            " names what it would take back)")  # fmt: skip
                return
            self.undo()

        self.notify(event.message, tag=tag, actions=(Action("undo", "Undo", undo_merge),))

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
        def rejected(view: PendingView) -> None:
            self.notifier.close(device_tag(view.entry))

        self._after(self.daemon.reject(entry_id), rejected)

    def review(self, entry_id: str) -> None:
        """Review from a notification: a menu cannot be opened programmatically, so a small
        window lists the entry's codes (labels only) with Approve and Reject."""
        view = next((v for v in self.daemon.status().pending if v.entry.id == entry_id), None)
        if view is None:
            self.notify("That import is no longer pending")
            return
        if entry_id in self._reviewing:
            return
        self._reviewing.add(entry_id)
        lines = [f"{'+' if c.kind == 'new' else '~'} {shown(c.incoming.label)}"
                 for c in view.offered()]  # fmt: skip

        def decide() -> None:
            try:
                choice = review_window(pending_title(view), lines)
            finally:
                self._reviewing.discard(entry_id)
            if choice == "approve":
                self.approve(entry_id)
            elif choice == "reject":
                self.reject(entry_id)

        threading.Thread(target=decide, name="otpsync-review", daemon=True).start()

    def export_now(self) -> None:
        self._after(self.daemon.export_now(), lambda d: self.notify(f"Backed up to {d.path.name}"))

    def undo(self) -> None:
        def undone(result: Any) -> None:
            what = undo_label(result[0].reason).removeprefix("Undo ")
            self.notify(f"Undone: the {what}")

        self._after(self.daemon.undo(), undone)

    def unlock(self) -> None:
        self.daemon.unlock()

    # --- the passphrase ----------------------------------------------------------------------

    @property
    def passphrase_dialog_open(self) -> bool:
        """One dialog at a time: while it is up, asking again does nothing."""
        return self._passphrase_open

    def change_passphrase(self) -> None:
        """The menu's "Change passphrase…": the one in use first, then the new one twice."""
        self._passphrase_dialog(change_order())

    def enter_new_passphrase(self) -> None:
        """ "phone now uses a different passphrase": type it once; it must open phone's
        backups before anything here is re-sealed under it."""
        names = tuple(shown(name) for name in self.daemon.status().other_passphrase)
        self._passphrase_dialog(device_order(names) if names else change_order())

    def _passphrase_dialog(self, order: DialogOrder) -> None:
        """The dialog (a child process) on a thread of its own; the daemon's worker checks
        and makes the change, and goes on with the new passphrase: no restart."""
        if self._passphrase_open:
            return
        self._passphrase_open = True

        def change(new: str, current: str | None) -> list[str]:
            try:
                done = self.daemon.change_passphrase(new, current=current).result()
            except OtpsyncError as exc:
                raise DialogError(shown(exc)) from None
            return [shown(line) for line in done.summary()]

        def run() -> None:
            try:
                passphrase_dialog(order, change, env=child_env())
            finally:
                self._passphrase_open = False

        threading.Thread(target=run, name="otpsync-passphrase", daemon=True).start()

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


def _glib_icon(icon: Any) -> bool:
    module = type(icon).__module__
    return "gtk" in module or "appindicator" in module


def _uses_glib(app: TrayApp) -> bool:
    return _glib_icon(app.icon)


def device_tag(entry: Any) -> str:
    """One notification per device: its id (or, for another app's backups, its name)."""
    return f"device:{entry.device_id or entry.device}"


def label_list(labels: Sequence[str], listed: int = 3) -> str:
    """ "GitHub — alice, Google — bob, 2 more": labels from files, control characters escaped."""
    parts = [shown(label) for label in labels[:listed]]
    if len(labels) > listed:
        parts.append(f"{len(labels) - listed} more")
    return ", ".join(parts)


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
