"""A small freedesktop notification server for the end-to-end test, on the session bus.

Run inside the test's ``dbus-run-session`` (by ``driver.py``): ``python notify_server.py
CAPS`` owns ``org.freedesktop.Notifications`` and answers GetCapabilities with CAPS (comma
separated, e.g. ``actions,body``), records every Notify call (with its actions and
``replaces_id``) and CloseNotification, and takes orders on stdin, one JSON object a line;
answers go to stdout as ``@@`` + JSON:

- ``{"do": "list"}``: every Notify call so far.
- ``{"do": "invoke", "id": N, "key": "approve"}``: emit ActionInvoked(N, key), then, as
  servers do after a click, NotificationClosed(N, 2).

It says ``{"event": "ready"}`` once it owns the name.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

from gi.repository import Gio, GLib

XML = """
<node>
  <interface name="org.freedesktop.Notifications">
    <method name="GetCapabilities"><arg direction="out" type="as"/></method>
    <method name="Notify">
      <arg direction="in" type="s"/><arg direction="in" type="u"/>
      <arg direction="in" type="s"/><arg direction="in" type="s"/>
      <arg direction="in" type="s"/><arg direction="in" type="as"/>
      <arg direction="in" type="a{sv}"/><arg direction="in" type="i"/>
      <arg direction="out" type="u"/>
    </method>
    <method name="CloseNotification"><arg direction="in" type="u"/></method>
    <method name="GetServerInformation">
      <arg direction="out" type="s"/><arg direction="out" type="s"/>
      <arg direction="out" type="s"/><arg direction="out" type="s"/>
    </method>
    <signal name="ActionInvoked"><arg type="u"/><arg type="s"/></signal>
    <signal name="NotificationClosed"><arg type="u"/><arg type="u"/></signal>
  </interface>
</node>
"""
PATH, IFACE = "/org/freedesktop/Notifications", "org.freedesktop.Notifications"
_out = threading.Lock()


def say(message: dict[str, Any]) -> None:
    with _out:
        sys.stdout.write("@@" + json.dumps(message) + "\n")
        sys.stdout.flush()


class Server:
    def __init__(self, caps: list[str]) -> None:
        self.caps = caps
        self.calls: list[dict[str, Any]] = []
        self.next_id = 1
        self.lock = threading.Lock()
        self.bus: Gio.DBusConnection | None = None

    def on_call(self, _bus: Any, _sender: str, _path: str, _iface: str, method: str,
                params: GLib.Variant, invocation: Gio.DBusMethodInvocation) -> None:  # fmt: skip
        args = params.unpack()
        if method == "GetCapabilities":
            invocation.return_value(GLib.Variant("(as)", (self.caps,)))
        elif method == "Notify":
            app, replaces, _icon, summary, body, actions, _hints, timeout = args
            with self.lock:
                if replaces:
                    nid = replaces
                else:
                    nid, self.next_id = self.next_id, self.next_id + 1
                self.calls.append({
                    "method": "Notify", "id": nid, "app": app, "replaces_id": replaces,
                    "summary": summary, "body": body,
                    "actions": dict(zip(actions[::2], actions[1::2], strict=True)),
                    "timeout": timeout,
                })  # fmt: skip
            invocation.return_value(GLib.Variant("(u)", (nid,)))
        elif method == "CloseNotification":
            with self.lock:
                self.calls.append({"method": "CloseNotification", "id": args[0]})
            invocation.return_value(None)
            self.emit("NotificationClosed", GLib.Variant("(uu)", (args[0], 3)))
        elif method == "GetServerInformation":
            invocation.return_value(GLib.Variant("(ssss)", ("test", "otpsync", "1", "1.2")))

    def emit(self, name: str, params: GLib.Variant) -> None:
        assert self.bus is not None
        self.bus.emit_signal(None, PATH, IFACE, name, params)

    def serve(self, loop: GLib.MainLoop) -> None:
        self._orders()
        GLib.idle_add(loop.quit)  # stdin closed: the driver is gone

    def _orders(self) -> None:
        for line in sys.stdin:
            if not line.strip():
                continue
            order = json.loads(line)
            if order["do"] == "list":
                with self.lock:
                    say({"ok": list(self.calls)})
            elif order["do"] == "invoke":
                nid, key = int(order["id"]), str(order["key"])
                self.emit("ActionInvoked", GLib.Variant("(us)", (nid, key)))
                self.emit("NotificationClosed", GLib.Variant("(uu)", (nid, 2)))
                say({"ok": True})
            else:
                say({"error": f"unknown order {order['do']!r}"})


def main() -> int:
    server = Server([c for c in sys.argv[1].split(",") if c])
    info = Gio.DBusNodeInfo.new_for_xml(XML).interfaces[0]
    loop = GLib.MainLoop()

    def acquired(bus: Gio.DBusConnection, _name: str) -> None:
        threading.Thread(target=server.serve, args=(loop,), daemon=True).start()
        say({"event": "ready"})

    def on_bus(bus: Gio.DBusConnection, _name: str) -> None:
        server.bus = bus
        bus.register_object(PATH, info, server.on_call, None, None)

    Gio.bus_own_name(
        Gio.BusType.SESSION, IFACE, Gio.BusNameOwnerFlags.NONE, on_bus, acquired,
        lambda *_: loop.quit(),
    )  # fmt: skip
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
