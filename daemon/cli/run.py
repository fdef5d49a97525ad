"""The daemon: `run` (tray or headless) and `status`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from datetime import UTC, datetime
from typing import Any

from daemon.cli.common import EscapingFormatter, PrivateRotatingFileHandler, log, print_json, say
from daemon.core.display import shown
from daemon.core.durations import format_duration
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
        """The notifications the tray would show, one line each (a burst of backups is one
        ``notify``: see daemon/notices.py). Errors are not repeated here: each is logged,
        and the log's stderr handler has already printed it as ``otpsync: error: …``."""
        if event.kind in ("notify", "merged"):
            print(f"otpsync: {shown(event.message)}", file=sys.stderr, flush=True)

    daemon.add_listener(say)
    daemon.start()
    print(f"otpsync: running for {svc.config.device}; Ctrl-C stops", file=sys.stderr, flush=True)
    try:
        while not stop.wait(3600):
            pass
    finally:
        daemon.stop()
    return 0


LOG_BYTES = 1_000_000  # per file; three older ones are kept


class _LogFile(PrivateRotatingFileHandler):
    """The daemon's log file. On a full disk, say so once on stderr — not a traceback for
    every line, which is what logging does — and again only after it worked meanwhile."""

    _failing = False
    _failed_now = False

    def emit(self, record: logging.LogRecord) -> None:
        self._failed_now = False
        super().emit(record)
        if not self._failed_now:
            self._failing = False

    def handleError(self, record: logging.LogRecord) -> None:
        self._failed_now = True
        if not self._failing:
            self._failing = True
            exc = sys.exc_info()[1]
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else repr(exc)
            print(f"otpsync: warning: cannot write {self.baseFilename} ({why})", file=sys.stderr)


def _log_to_file(svc: Service, verbose: bool) -> logging.Handler:
    from daemon.fsutil import ensure_private_dir

    ensure_private_dir(svc.paths.state_dir)
    handler = _LogFile(
        svc.state.log_file,
        maxBytes=LOG_BYTES,
        backupCount=3,
        encoding="utf-8",
        errors="backslashreplace",
    )
    handler.setFormatter(EscapingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.DEBUG if verbose else logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for stream in root.handlers:
        if not isinstance(stream, PrivateRotatingFileHandler):
            stream.setLevel(logging.DEBUG if verbose else logging.WARNING)
    for chatty in ("apscheduler", "watchdog", "filelock", "tzlocal"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    return handler


def cmd_status(svc: Service, args: argparse.Namespace) -> int:
    """Exit 0 when running or cleanly stopped; 1 when the daemon holds the home but its
    worker has stopped saying it is alive (stuck, or unable to write its state)."""
    info = svc.daemon_status()
    hung = bool(info["running"] and not info["responding"])
    if args.json:
        print_json(info)
        return 1 if hung else 0
    last = info["last_export"]
    if hung:
        why = "; its state folder's disk is full" if info["state_disk_full"] else ""
        print(f"otpsync not responding since {info['heartbeat']} (pid {info['pid']}){why}")
    elif info["running"]:
        print(f"otpsync running (pid {info['pid']})")
    else:
        print("otpsync not running")
    say(f"  device:      {info['device']}")
    say(f"  sync folder: {info['sync_folder']}")
    say(f"  last backup: {last['time'] + '  ' + last['file'] if last else 'none yet'}")
    print(f"  next backup: {info['next_export'] or '-'}")
    if failure := info["export_failure"]:
        say(f"  failed:      {failure.get('time')}  {failure.get('message')}")
        print(f"  next try:    {failure.get('next_try')}")
    print(f"  pending:     {info['pending']}")
    print(f"  watching:    {info['watch_mode']}")
    for warning in info["warnings"]:
        say(f"  warning:     {warning}")
    for line in device_lines(info["devices"]):  # type: ignore[arg-type]
        print(f"  device seen: {line}")
    claims = {"forged": info["not_written_here"], "identity-clash": info["identity_clash"]}
    for line in describe_claims(info["device"], claims):
        say(f"  warning:     {line}")
    for path in [*info["not_written_here"], *info["identity_clash"]]:
        say(f"               {path}")
    if info["last_error"]:
        say(f"  last error:  {info['last_error']['time']}  {info['last_error']['message']}")
    return 1 if hung else 0


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
        line = f"{shown(d['name'])} · {seen} · {d['codes']} code{plural}"
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
