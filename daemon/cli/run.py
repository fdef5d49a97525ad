"""The daemon: `run` (tray or headless) and `status`."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from typing import Any

from daemon.cli.common import log
from daemon.core.durations import format_duration
from daemon.core.text import printable
from daemon.errors import OtpsyncError
from daemon.service import Service, describe_claims


def cmd_run(svc: Service, args: argparse.Namespace) -> int:
    from daemon.runner import Daemon, Event

    _log_to_file(svc, args.verbose)
    daemon = Daemon(svc)
    if not args.headless:
        from tray.backend import TrayUnavailable, load_pystray

        try:
            pystray = load_pystray()
        except TrayUnavailable as exc:
            log.warning("%s", exc)
        else:
            from tray.app import run_tray

            try:
                run_tray(daemon, pystray, svc.config.clipboard_clear)
                return 0
            except OtpsyncError:
                raise  # already running, no passphrase: the same with or without a tray
            except Exception as exc:  # the UI failed: the backups must not stop with it
                log.warning("tray stopped (%s: %s); carrying on headless", type(exc).__name__, exc)
                log.debug("tray failure", exc_info=True)
                daemon = Daemon(svc)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    def say(event: Event) -> None:
        if event.kind in ("pending", "merged", "error"):
            print(f"otpsync: {event.message}", file=sys.stderr, flush=True)

    daemon.add_listener(say)
    daemon.start()
    print(f"otpsync: running for {svc.config.device}; Ctrl-C stops", file=sys.stderr, flush=True)
    try:
        while not stop.wait(3600):
            pass
    finally:
        daemon.stop()
    return 0


def _log_to_file(svc: Service, verbose: bool) -> None:
    from logging.handlers import RotatingFileHandler

    from daemon.fsutil import ensure_private_dir

    ensure_private_dir(svc.paths.state_dir)
    path = svc.state.log_file
    handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    path.chmod(0o600)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.DEBUG if verbose else logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for stream in root.handlers:
        if not isinstance(stream, RotatingFileHandler):
            stream.setLevel(logging.DEBUG if verbose else logging.WARNING)
    for chatty in ("apscheduler", "watchdog", "filelock", "tzlocal"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


def cmd_status(svc: Service, args: argparse.Namespace) -> int:
    info = svc.daemon_status()
    if args.json:
        print(json.dumps(info, ensure_ascii=False))
        return 0
    last = info["last_export"]
    print(
        f"otpsync {'running (pid ' + str(info['pid']) + ')' if info['running'] else 'not running'}"
    )
    print(f"  device:      {info['device']}")
    print(f"  sync folder: {info['sync_folder']}")
    print(f"  last backup: {last['time'] + '  ' + last['file'] if last else 'none yet'}")
    print(f"  next backup: {info['next_export'] or '-'}")
    print(f"  pending:     {info['pending']}")
    print(f"  watching:    {info['watch_mode']}")
    for line in device_lines(info["devices"]):  # type: ignore[arg-type]
        print(f"  device seen: {line}")
    claims = {"forged": info["not_written_here"], "identity-clash": info["identity_clash"]}
    for line in describe_claims(info["device"], claims):
        print(f"  warning:     {line}")
    for path in [*info["not_written_here"], *info["identity_clash"]]:
        print(f"               {path}")
    if info["last_error"]:
        print(f"  last error:  {info['last_error']['time']}  {info['last_error']['message']}")
    return 0


def device_lines(devices: list[dict[str, Any]], now: datetime | None = None) -> list[str]:
    """ "phone · last backup 2026-11-28 10:02 UTC (2 h ago) · 42 codes", "… · STALE"."""
    now = now or datetime.now(UTC)
    lines = []
    for d in devices:
        when = d["last_backup"]
        if when:
            moment = datetime.fromisoformat(when)
            ago = format_duration((now - moment).total_seconds())
            seen = f"last backup {moment:%Y-%m-%d %H:%M} UTC ({ago} ago)"
        else:
            seen = "no backup time"
        plural = "s" if d["codes"] != 1 else ""
        line = f"{printable(d['name'])} · {seen} · {d['codes']} code{plural}"
        if d["stale"]:
            line += " · STALE: silent longer than [devices] stale_after"
        lines.append(line)
    return lines


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("run", help="run the daemon: scheduled backups, watch the sync folder")
    s.add_argument("--headless", action="store_true", help="no tray icon; stop with Ctrl-C")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("status", help="is it running; last/next backup; pending; other devices")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)
