"""The tray menu, rebuilt from the daemon's status each time it changes.

Pure: status in, pystray ``Menu`` out; every click calls one ``TrayActions`` method, which
calls the service. ``Menu`` and ``MenuItem`` come from ``pystray._base`` through
``pystray_base()``, so the menu can be built (and tested) without a display or a backend.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from itertools import groupby
from typing import TYPE_CHECKING, Protocol

from daemon.core.display import shown
from daemon.core.durations import format_duration
from daemon.runner import CodeLabel, DaemonStatus
from daemon.service import PendingView
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
    def show_codes(self) -> None: ...
    def scan_screen(self) -> None: ...
    def add_from_image(self) -> None: ...
    def paste_link(self) -> None: ...
    def quit(self) -> None: ...


def _click(fn: Callable[[], None]) -> Callable[[object, object], None]:
    return lambda _icon, _item: fn()


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


def _codes_menu(
    codes: tuple[CodeLabel, ...], actions: TrayActions, clipboard_hint: str | None
) -> Menu:
    enabled = clipboard_hint is None
    notice = [MenuItem(clipboard_hint, None, enabled=False), Menu.SEPARATOR] if not enabled else []
    ordered = sorted(codes, key=lambda c: (c.issuer.casefold(), c.account.casefold()))
    if len(ordered) <= GROUP_ABOVE:
        return Menu(*notice, *(_code_item(c, actions, enabled, c.label) for c in ordered))
    groups = []
    # One submenu per issuer, whatever its spelling ("GitHub", "github"): keyed as sorted.
    for _key, group in groupby(ordered, key=lambda c: c.issuer.casefold()):
        members = list(group)
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


def build_menu(
    status: DaemonStatus,
    actions: TrayActions,
    *,
    clipboard_hint: str | None = None,
    now: datetime | None = None,
) -> Menu:
    """The whole menu for ``status``. ``clipboard_hint`` set = no clipboard tool (say so)."""
    items: list[MenuItem] = [MenuItem(header_text(status, now), None, enabled=False)]
    if status.problem:
        items.append(MenuItem(shown(f"⚠ {status.problem}"), None, enabled=False))
    items += [MenuItem(shown(f"⚠ {line}"), None, enabled=False) for line in status.claims]
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
    items += [
        Menu.SEPARATOR,
        MenuItem("Export now", _click(actions.export_now)),
        MenuItem("Open sync folder", _click(actions.open_sync_folder)),
        MenuItem("Resume" if status.paused else "Pause", _click(actions.toggle_pause)),
        undo_item(status.undo, actions),
        Menu.SEPARATOR,
        MenuItem("Quit", _click(actions.quit)),
    ]
    return Menu(*items)
