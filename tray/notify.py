"""Desktop notifications with buttons: Approve / Review / Reject, and Undo after a merge.

Linux: the freedesktop notification spec over the D-Bus session bus, through PyGObject's
Gio. Chosen deliberately over jeepney/dbus-next and desktop-notifier: Gio is already loaded
by pystray's GTK and AppIndicator backends (no new dependency, no extra megabytes in an idle
tray), and its signals (ActionInvoked, NotificationClosed) arrive on the GLib main loop the
tray already runs — desktop-notifier needs an asyncio loop of its own (a second thread) to
hear a button, and on macOS a signed app bundle. Every call goes through ``GLib.idle_add``
and an asynchronous D-Bus call, so neither the daemon's worker nor the tray's UI thread ever
waits on a notification server.

Without the "actions" capability (GetCapabilities) there are no buttons: ``actions`` is
False and the tray's text says to use the tray menu. Windows and macOS: pystray's own
``icon.notify`` (``IconNotifier``), text only — the menu is where to approve there.

A notification never holds a code or a secret: labels only, with control characters
escaped, and markup escaped where the server reads markup.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
APP_NAME = "otpsync"
CALL_TIMEOUT_MS = 5000


@dataclass(frozen=True, slots=True)
class Action:
    """One button: ``key`` goes over D-Bus, ``label`` is shown, ``run`` is called on a click
    (on the GLib main loop)."""

    key: str
    label: str
    run: Callable[[], None]


class Notifier(Protocol):
    @property
    def actions(self) -> bool: ...

    def show(self, text: str, *, tag: str | None = None, actions: Sequence[Action] = ()) -> None:
        """Show ``text``; one ``tag`` (a device) has one notification, replaced by the next."""

    def close(self, tag: str) -> None: ...


class IconNotifier:
    """pystray's ``icon.notify``: text only (Windows, macOS; Linux without a session bus).
    A missing notification service is logged, never fatal."""

    actions = False

    def __init__(self, icon: Any) -> None:
        self._icon = icon

    def show(self, text: str, *, tag: str | None = None, actions: Sequence[Action] = ()) -> None:
        try:
            if getattr(self._icon, "HAS_NOTIFICATION", False):
                self._icon.notify(text, APP_NAME)
        except Exception as exc:
            log.warning("could not show a notification (%s): %s", type(exc).__name__, text)

    def close(self, tag: str) -> None:
        """pystray shows one notification at a time, replaced by the next: nothing to do."""


class DBusNotifier:
    """org.freedesktop.Notifications through Gio, on the GLib main loop.

    ``replaces_id`` keeps one notification per tag; a button's ``run`` is looked up by the
    notification id and action key from ActionInvoked, and forgotten on NotificationClosed.
    Construct it on the thread whose main context the GLib loop runs (the tray's main
    thread): the signal subscriptions deliver there."""

    def __init__(self, connection: Any | None = None) -> None:
        from gi.repository import Gio, GLib

        self._GLib = GLib
        self._bus = connection or Gio.bus_get_sync(Gio.BusType.SESSION, None)
        reply = self._bus.call_sync(
            BUS_NAME, OBJECT_PATH, INTERFACE, "GetCapabilities", None,
            GLib.VariantType.new("(as)"), Gio.DBusCallFlags.NONE, CALL_TIMEOUT_MS, None,
        )  # fmt: skip
        self.capabilities: frozenset[str] = frozenset(reply.unpack()[0])
        self._ids: dict[str, int] = {}  # tag → the server's id of its notification
        self._buttons: dict[int, dict[str, Callable[[], None]]] = {}
        self._subscriptions = [
            self._bus.signal_subscribe(
                BUS_NAME,
                INTERFACE,
                signal,
                OBJECT_PATH,
                None,
                Gio.DBusSignalFlags.NONE,
                handler,
            )
            for signal, handler in (
                ("ActionInvoked", self._on_action),
                ("NotificationClosed", self._on_closed),
            )
        ]

    @property
    def actions(self) -> bool:
        return "actions" in self.capabilities

    def show(self, text: str, *, tag: str | None = None, actions: Sequence[Action] = ()) -> None:
        self._GLib.idle_add(self._notify, text, tag, tuple(actions) if self.actions else ())

    def close(self, tag: str) -> None:
        self._GLib.idle_add(self._close, tag)

    def stop(self) -> None:
        for sub in self._subscriptions:
            self._bus.signal_unsubscribe(sub)
        self._subscriptions = []

    # --- on the GLib main loop -----------------------------------------------------------------

    def _notify(self, text: str, tag: str | None, actions: tuple[Action, ...]) -> bool:
        GLib = self._GLib
        body = GLib.markup_escape_text(text) if "body-markup" in self.capabilities else text
        flat = [part for a in actions for part in (a.key, a.label)]
        replaces = self._ids.get(tag, 0) if tag is not None else 0
        args = GLib.Variant(
            "(susssasa{sv}i)", (APP_NAME, replaces, "", APP_NAME, body, flat, {}, -1)
        )
        buttons = {a.key: a.run for a in actions}

        def done(bus: Any, result: Any) -> None:
            try:
                (nid,) = bus.call_finish(result).unpack()
            except GLib.Error as exc:
                log.warning("could not show a notification (%s): %s", exc.message, text)
                return
            if replaces and replaces != nid:
                self._buttons.pop(replaces, None)
            self._buttons[nid] = buttons
            if tag is not None:
                self._ids[tag] = nid

        self._bus.call(
            BUS_NAME, OBJECT_PATH, INTERFACE, "Notify", args, GLib.VariantType.new("(u)"),
            0, CALL_TIMEOUT_MS, None, done,
        )  # fmt: skip
        return False

    def _close(self, tag: str) -> bool:
        nid = self._ids.pop(tag, None)
        if nid is not None:
            self._buttons.pop(nid, None)
            args = self._GLib.Variant("(u)", (nid,))
            self._bus.call(
                BUS_NAME, OBJECT_PATH, INTERFACE, "CloseNotification", args, None, 0,
                CALL_TIMEOUT_MS, None, None,
            )  # fmt: skip
        return False

    def _on_action(self, _bus: Any, _sender: str, _path: str, _iface: str, _signal: str,
                   params: Any) -> None:  # fmt: skip
        nid, key = params.unpack()
        run = self._buttons.get(nid, {}).get(key)
        if run is None:
            return  # another app's notification, or one already acted on
        self._forget(nid)  # one click per notification: its buttons are spent
        try:
            run()
        except Exception:
            log.exception("a notification's %r action failed", key)

    def _on_closed(self, _bus: Any, _sender: str, _path: str, _iface: str, _signal: str,
                   params: Any) -> None:  # fmt: skip
        nid, _reason = params.unpack()
        self._forget(nid)

    def _forget(self, nid: int) -> None:
        self._buttons.pop(nid, None)
        for tag, known in list(self._ids.items()):
            if known == nid:
                del self._ids[tag]


def desktop_notifier(icon: Any, uses_glib: bool) -> Notifier:
    """The D-Bus notifier on GLib backends when a notification server answers; otherwise
    pystray's text-only one (which logs, rather than fails, without a service)."""
    if uses_glib:
        try:
            return DBusNotifier()
        except Exception as exc:  # no session bus, no server: GLib.Error
            log.warning("no notification buttons (%s); text notifications only", exc)
    return IconNotifier(icon)
