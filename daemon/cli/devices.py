"""`devices`: the other devices seen in the sync folder, and `devices forget NAME`."""

from __future__ import annotations

import argparse

from daemon.cli.common import print_json, say
from daemon.cli.run import device_lines
from daemon.errors import UsageError
from daemon.service import Service


def _kdf_text(kdf: object) -> str:
    if not isinstance(kdf, dict):
        return "-"
    return f"Argon2id {kdf.get('memory_kib', 0) // 1024} MiB × {kdf.get('iterations')}"


def cmd_devices(svc: Service, args: argparse.Namespace) -> int:
    if args.action == "forget":
        if not args.name:
            raise UsageError("devices forget needs the device's name (see `otpsync devices`)")
        device = svc.forget_device(args.name)
        say(
            f"Forgot {device.name} ({device.id[:8]}): its backups are no longer offered; its"
            " files in the sync folder are left as they are."
        )
        return 0
    if args.name:
        raise UsageError(f"unexpected {args.name!r}: `otpsync devices` or `devices forget NAME`")
    details = svc.device_details()
    if args.json:
        print_json(details)
        return 0
    if not details:
        say("No other device's backup has been seen in the sync folder yet.", err=True)
        return 0
    lines = device_lines(details)
    for line, d in zip(lines, details, strict=True):
        say(line)
        weak = " (below the floor: raise [kdf] there)" if d["weak_kdf"] else ""
        opens = "" if d["opens"] else " · uses a different passphrase now"
        say(f"    id {str(d['id'])[:8]} · {_kdf_text(d['kdf'])}{weak}{opens}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser(
        "devices",
        help="the other devices seen in the sync folder; `devices forget NAME` stops offering"
        " one's backups",
    )
    s.add_argument("action", nargs="?", choices=["forget"], help="forget: stop offering a device")
    s.add_argument("name", nargs="?", help="the device's name (or the start of its id)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_devices)
