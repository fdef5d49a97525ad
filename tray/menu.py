"""The tray menu, rebuilt from the daemon's status each time it changes.

Pure: status in, pystray ``Menu`` out; every click calls one ``TrayActions`` method, which
calls the service. ``Menu`` and ``MenuItem`` come from ``pystray._base`` through
``pystray_base()``, so the menu can be built (and tested) without a display or a backend.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import groupby
from typing import TYPE_CHECKING, Protocol

from daemon.core.display import shown
from daemon.core.durations import format_duration
from daemon.runner import CodeLabel, DaemonStatus
from daemon.service import DeviceView, PendingView
from tray.backend import pystray_base

if TYPE_CHECKING:
    from pystray._base import Menu, MenuItem
else:
    _base = pystray_base()
    Menu, MenuItem = _base.Menu, _base.MenuItem

GROUP_ABOVE = 15  # more codes than this: one submenu per issuer


class TrayActions(Protocol):
    def copy_code(self, account_id: str) -> None: ...
    def approve(self, entry_id: str) -> None: ...
    def approve_with_removals(self, entry_id: str) -> None: ...
    def reject(self, entry_id: str) -> None: ...
    def export_now(self) -> None: ...
    def open_sync_folder(self) -> None: ...
    def toggle_pause(self) -> None: ...
    def undo(self) -> None: ...
    def unlock(self) -> None: ...
    def change_passphrase(self) -> None: ...
    def enter_new_passphrase(self) -> None: ...
    def show_codes(self) -> None: ...
    def scan_screen(self) -> None: ...
    def add_from_image(self) -> None: ...
    def paste_link(self) -> None: ...
    def quit(self) -> None: ...
    def acknowledge_stale(self, device_id: str) -> None: ...


def _click(fn: Callable[[], None]) -> Callable[[object, object], None]:
    return lambda _icon, _item: fn()


def age_text(seconds: float) -> str:
    """Coarse, for the Devices list: "just now", "12 min ago", "2 h ago", "16 d ago"."""
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def device_text(device: DeviceView, now: datetime | None = None) -> str:
    """ "phone · 2 h ago · 42 codes"; a stale one "⚠ tablet · 20 d ago · 1 code · silent"."""
    now = now or datetime.now(UTC)
    when = device.last_backup
    parts = [shown(device.name), age_text((now - when).total_seconds()) if when else "?"]
    parts.append(f"{device.codes} code{'s' if device.codes != 1 else ''}")
    if device.stale:
        return "⚠ " + " · ".join(parts) + " · silent"
    return " · ".join(parts)


def own_device_text(status: DaemonStatus, now: datetime | None = None) -> str:
    """ "laptop (this device) · last backup 12 min ago · next in 5 h 48 min"."""
    head = header_text(status, now)
    return head.replace(status.device, f"{status.device} (this device)", 1)


def _devices_menu(
    status: DaemonStatus, actions: TrayActions, unacknowledged: frozenset[str], now: datetime
) -> Menu:
    """This device first, then the others by name. A stale device not yet acknowledged is a
    clickable item ("got it" clears the icon's attention state); every other line is text."""
    items = [MenuItem(own_device_text(status, now), None, enabled=False), Menu.SEPARATOR]
    if not status.devices:
        items.append(MenuItem("No other device seen in the sync folder yet", None, enabled=False))
    for device in status.devices:
        if device.id in unacknowledged:
            click = _click(lambda d=device.id: actions.acknowledge_stale(d))
            items.append(MenuItem(device_text(device, now) + " (click: got it)", click))
        else:
            items.append(MenuItem(device_text(device, now), None, enabled=False))
    return Menu(*items)


def header_text(status: DaemonStatus, now: datetime | None = None) -> str:
    """ "laptop · last backup 12 min ago · next in 5 h 48 min"."""
    now = now or datetime.now(UTC)
    parts = [status.device]
    last = status.last_export
    if last is not None:
        when = datetime.fromisoformat(last.time)
        parts.append(f"last backup {format_duration((now - when).total_seconds())} ago")
    else:
        parts.append("no backup yet")
    if status.paused:
        parts.append("paused")
    elif status.next_export is not None:
        parts.append(f"next in {format_duration((status.next_export - now).total_seconds())}")
    return shown(" · ".join(parts))


def not_responding_text(since: datetime) -> str:
    """The worker stopped beating: nothing is backed up or noticed until otpsync restarts."""
    return f"⚠ not responding since {since.astimezone():%H:%M}: quit and start otpsync again"


def problem_text(status: DaemonStatus, now: datetime | None = None) -> str:
    """The ongoing problem; a failing export also says when it is tried again."""
    if status.export_retry is None or not (status.problem or "").startswith("export failed"):
        return status.problem or ""
    wait = (status.export_retry - (now or datetime.now(UTC))).total_seconds()
    return f"{status.problem} (next try in {format_duration(max(wait, 0))})"


def pending_title(view: PendingView) -> str:
    """ "From phone · 3 new · 28 Nov 10:02"."""
    counts = view.plan.counts()
    created = datetime.fromisoformat(view.entry.created).astimezone()
    parts = [f"From {view.entry.device}", f"{counts['new']} new"]
    if counts["updated"]:
        parts.append(f"{counts['updated']} updated")
    parts.append(created.strftime("%d %b %H:%M").lstrip("0"))
    return shown(" · ".join(parts))


def _pending_menu(view: PendingView, actions: TrayActions) -> Menu:
    offered = [
        MenuItem(
            shown(f"{'+' if c.kind == 'new' else '~'} {c.incoming.label}"), None, enabled=False
        )
        for c in view.offered()
    ]
    entry_id = view.entry.id
    removed = [MenuItem(shown(f"− {a.label}"), None, enabled=False) for a in view.removed]
    also: list[MenuItem] = []
    if view.removed:
        n = len(view.removed)
        removed.insert(0, MenuItem(shown(f"removed on {view.entry.device}:"), None, enabled=False))
        also = [
            MenuItem(
                shown(
                    f"Also remove {n} code{'s' if n != 1 else ''} removed on {view.entry.device}"
                ),
                _click(lambda: actions.approve_with_removals(entry_id)),
            )
        ]
    return Menu(
        *offered,
        *removed,
        Menu.SEPARATOR,
        MenuItem("Approve merge", _click(lambda: actions.approve(entry_id))),
        *also,
        MenuItem("Reject", _click(lambda: actions.reject(entry_id))),
    )


def _code_item(code: CodeLabel, actions: TrayActions, enabled: bool, text: str) -> MenuItem:
    account_id = code.id
    return MenuItem(shown(text), _click(lambda: actions.copy_code(account_id)), enabled=enabled)


def natural_key(text: str) -> tuple[str | int, ...]:
    """Sort key that reads digit runs as numbers: "Service2" before "Service10". Parts
    alternate text, number, text… (``re.split`` starts with text), so keys always compare."""
    parts = re.split(r"(\d+)", text.casefold())
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


def _code_key(code: CodeLabel) -> tuple[tuple[str | int, ...], ...]:
    return natural_key(code.issuer), natural_key(code.account)


def _codes_menu(
    codes: tuple[CodeLabel, ...], actions: TrayActions, clipboard_hint: str | None
) -> Menu:
    enabled = clipboard_hint is None
    notice = [MenuItem(clipboard_hint, None, enabled=False), Menu.SEPARATOR] if not enabled else []
    ordered = sorted(codes, key=_code_key)
    if len(ordered) <= GROUP_ABOVE:
        return Menu(*notice, *(_code_item(c, actions, enabled, c.label) for c in ordered))
    groups = []
    # One submenu per issuer, whatever its spelling ("GitHub", "github"): keyed as sorted.
    # An issuer with one account is one item ("GitHub — alice"): a submenu of one is a detour.
    for _key, group in groupby(ordered, key=lambda c: c.issuer.casefold()):
        members = list(group)
        if len(members) == 1:
            groups.append(_code_item(members[0], actions, enabled, members[0].label))
            continue
        items = [_code_item(c, actions, enabled, c.account or c.label) for c in members]
        groups.append(MenuItem(shown(members[0].issuer) or "(no issuer)", Menu(*items)))
    return Menu(*notice, *groups)


# What the undo item says it would step back over (snapshot reasons, daemon/service.py).
UNDO_LABELS = {
    "import": "Undo last import",
    "approve": "Undo last import",
    "reject": "Undo last rejection",
    "add": "Undo last add",
    "remove": "Undo last removal",
    "advance": "Undo last HOTP step",
}


def undo_label(reason: str) -> str:
    """ "Undo last import": what undoing a snapshot taken for ``reason`` steps back over."""
    return UNDO_LABELS.get(reason, "Undo last change")


def undo_item(last_change: str | None, actions: TrayActions) -> MenuItem:
    """Names what it undoes, so "Undo" never surprises; disabled with nothing to undo."""
    if last_change is None:
        return MenuItem("Nothing to undo", None, enabled=False)
    return MenuItem(undo_label(last_change), _click(actions.undo))


def add_items(status: DaemonStatus, actions: TrayActions) -> list[MenuItem]:
    """ "Show codes…" (the search window) and the "Add code" submenu; both need the vault
    open, so they wait while the passphrase is missing."""
    ready = not status.locked
    return [
        MenuItem("Show codes…", _click(actions.show_codes), enabled=ready),
        MenuItem(
            "Add code",
            Menu(
                MenuItem("Scan QR code on screen", _click(actions.scan_screen)),
                MenuItem("From QR image…", _click(actions.add_from_image)),
                MenuItem("Paste otpauth:// link", _click(actions.paste_link)),
            ),
            enabled=ready,
        ),
    ]


def signature(menu: Menu) -> tuple[object, ...]:
    """What ``menu`` shows — texts, enabled flags, submenus — for telling whether a rebuilt
    menu differs from the one on screen (a native rebuild is the tray's main idle cost)."""
    return tuple(
        None if i is Menu.SEPARATOR else (i.text, i.enabled, i.submenu and signature(i.submenu))
        for i in menu
    )


def build_menu(
    status: DaemonStatus,
    actions: TrayActions,
    *,
    clipboard_hint: str | None = None,
    now: datetime | None = None,
    unacknowledged: frozenset[str] = frozenset(),
) -> Menu:
    """The whole menu for ``status``. ``clipboard_hint`` set = no clipboard tool (say so).
    ``unacknowledged``: ids of stale devices the person has not yet said "got it" to."""
    now = now or datetime.now(UTC)
    items: list[MenuItem] = [MenuItem(header_text(status, now), None, enabled=False)]
    if (stuck := status.unresponsive_since(now)) is not None:
        items.append(MenuItem(not_responding_text(stuck), None, enabled=False))
    if status.problem:
        items.append(MenuItem(shown(f"⚠ {problem_text(status, now)}"), None, enabled=False))
    items += [MenuItem(shown(f"⚠ {line}"), None, enabled=False) for line in status.claims]
    if status.other_passphrase:
        names = status.other_passphrase
        whose = f"{shown(names[0])}'s" if len(names) == 1 else "the"
        enter = _click(actions.enter_new_passphrase)
        items.append(MenuItem(f"Enter {whose} new passphrase…", enter, enabled=not status.locked))
    if status.locked:
        items.append(MenuItem("Try the passphrase again", _click(actions.unlock)))
    items.append(Menu.SEPARATOR)
    if status.codes:
        items.append(MenuItem("Codes", _codes_menu(status.codes, actions, clipboard_hint)))
    else:
        items.append(MenuItem("Codes (none yet)", None, enabled=False))
    items += add_items(status, actions)
    pending = [MenuItem(pending_title(v), _pending_menu(v, actions)) for v in status.pending]
    if pending:
        items.append(MenuItem(f"Pending imports ({len(pending)})", Menu(*pending)))
    else:
        items.append(MenuItem("Pending imports (0)", None, enabled=False))
    stale = any(d.stale for d in status.devices)
    devices = _devices_menu(status, actions, unacknowledged, now)
    change = _click(actions.change_passphrase)
    items.append(MenuItem(f"Devices ({len(status.devices) + 1}){' ⚠' if stale else ''}", devices))
    items += [
        Menu.SEPARATOR,
        MenuItem("Export now", _click(actions.export_now)),
        MenuItem("Open sync folder", _click(actions.open_sync_folder)),
        MenuItem("Resume" if status.paused else "Pause", _click(actions.toggle_pause)),
        undo_item(status.undo, actions),
        MenuItem("Change passphrase…", change, enabled=not status.locked),
        Menu.SEPARATOR,
        MenuItem("Quit", _click(actions.quit)),
    ]
    return Menu(*items)
