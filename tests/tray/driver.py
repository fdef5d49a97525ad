"""Runs the real tray (``run_tray`` with ``load_pystray()``'s backend) and takes orders.

Started by the end-to-end test as ``dbus-run-session -- python driver.py`` with DISPLAY,
OTPSYNC_HOME and OTPSYNC_PASSPHRASE set: it is ``otpsync run`` plus a control channel. Orders
arrive on stdin, one JSON object a line; answers go to stdout as ``@@`` + JSON (GTK may print
other lines). Orders:

- ``{"do": "status"}``: the daemon's status and what the icon shows.
- ``{"do": "menu"}``: the running icon's menu (``app.icon.menu``) as nested text.
- ``{"do": "modules"}``: the names in ``sys.modules`` (what the idle tray holds).
- ``{"do": "invoke", "path": ["Pending imports", "From phone", "Approve merge"]}``: find the
  item by text prefixes in ``app.icon.menu`` and call it, ``item(icon)``, on the GTK main
  loop, as pystray does for a click.
- ``{"do": "quit"}``: the menu's Quit.
- With OTPSYNC_TEST_NOTIFY_CAPS set, the driver first starts ``notify_server.py`` with those
  capabilities on the same session bus, and relays ``{"do": "notifications"}`` (its record
  of Notify calls) and ``{"do": "notify_action", "id": N, "key": K}`` (a click on a button)
  to it.

It says ``{"event": "ready"}`` once the icon's loop runs.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from daemon.paths import Paths
from daemon.runner import Daemon
from daemon.service import Service
from tray.app import TrayApp, run_tray
from tray.backend import load_pystray

INVOKE_TIMEOUT = 10.0
_out = threading.Lock()


def say(message: dict[str, Any]) -> None:
    with _out:
        sys.stdout.write("@@" + json.dumps(message) + "\n")
        sys.stdout.flush()


def menu_tree(menu: Any) -> list[dict[str, Any]]:
    return [
        {
            "text": item.text,
            "enabled": item.enabled,
            "submenu": menu_tree(item.submenu) if item.submenu else None,
        }
        for item in menu
    ]


def find_item(menu: Any, path: list[str]) -> Any:
    item = None
    for prefix in path:
        if menu is None:
            raise LookupError(f"{item.text!r} has no submenu")
        matches = [i for i in menu if i.text.startswith(prefix)]
        if len(matches) != 1:
            seen = [i.text for i in menu]
            raise LookupError(f"{len(matches)} items start with {prefix!r} in {seen}")
        item = matches[0]
        menu = item.submenu
    return item


def on_main_loop(fn: Any) -> Any:
    """Run ``fn`` on the GTK main loop (where pystray runs clicks) and wait for it."""
    from gi.repository import GLib

    done = threading.Event()
    result: dict[str, Any] = {}

    def call() -> bool:
        try:
            result["value"] = fn()
        except Exception as exc:
            result["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            done.set()
        return False

    GLib.idle_add(call)
    if not done.wait(INVOKE_TIMEOUT):
        raise TimeoutError("the main loop did not run the call (blocked?)")
    if "error" in result:
        raise RuntimeError(result["error"])
    return result.get("value")


class NotifyServer:
    """``notify_server.py`` as a child on this session bus, asked one order at a time."""

    def __init__(self, caps: str) -> None:
        script = Path(__file__).with_name("notify_server.py")
        self.proc = subprocess.Popen(
            [sys.executable, str(script), caps], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self._lock = threading.Lock()
        assert self._next() == {"event": "ready"}

    def _next(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("@@"):
                return json.loads(line[2:])  # type: ignore[no-any-return]
        raise RuntimeError("the notification server stopped")

    def ask(self, order: dict[str, Any]) -> Any:
        assert self.proc.stdin is not None
        with self._lock:
            self.proc.stdin.write(json.dumps(order) + "\n")
            self.proc.stdin.flush()
            reply = self._next()
        if "ok" not in reply:
            raise RuntimeError(reply.get("error"))
        return reply["ok"]


def status(app: TrayApp) -> dict[str, Any]:
    st = app.daemon.status()
    state = app.icon_state()
    return {
        "pending": len(st.pending),
        "codes": [c.label for c in st.codes],
        "paused": st.paused,
        "problem": st.problem,
        "icon": {"pending": state.pending, "paused": state.paused, "error": state.error},
        "notify_actions": app.notifier.actions,
        "passphrase_dialog": app.passphrase_dialog_open,
        "title": app.icon.title,
        "visible": app.icon.visible,
        "backend": type(app.icon).__module__,
    }


def serve(app: TrayApp, server: NotifyServer | None) -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        order = json.loads(line)
        try:
            if order["do"] == "status":
                say({"ok": status(app)})
            elif order["do"] == "modules":
                say({"ok": sorted(sys.modules)})
            elif order["do"] == "menu":
                say({"ok": menu_tree(app.icon.menu)})
            elif order["do"] == "invoke":
                item = find_item(app.icon.menu, order["path"])
                on_main_loop(lambda item=item: item(app.icon))
                say({"ok": item.text})
            elif order["do"] == "notifications" and server is not None:
                say({"ok": server.ask({"do": "list"})})
            elif order["do"] == "notify_action" and server is not None:
                say({"ok": server.ask({"do": "invoke", "id": order["id"], "key": order["key"]})})
            elif order["do"] == "quit":
                item = find_item(app.icon.menu, ["Quit"])
                say({"ok": "quitting"})
                on_main_loop(lambda item=item: item(app.icon))
                return
            else:
                say({"error": f"unknown order {order['do']!r}"})
        except Exception as exc:
            say({"error": f"{type(exc).__name__}: {exc}"})


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="driver: %(name)s: %(levelname)s: %(message)s"
    )
    service = Service(Paths.resolve(), interactive=False)
    caps = os.environ.get("OTPSYNC_TEST_NOTIFY_CAPS")
    server = NotifyServer(caps) if caps is not None else None
    pystray = load_pystray()

    def ready(app: TrayApp) -> None:
        threading.Thread(target=serve, args=(app, server), name="control", daemon=True).start()
        say({"event": "ready", "backend": type(app.icon).__module__})

    run_tray(Daemon(service), pystray, service.config.clipboard_clear, on_ready=ready)
    say({"event": "stopped"})
    if server is not None and server.proc.stdin is not None:
        server.proc.stdin.close()
        server.proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
