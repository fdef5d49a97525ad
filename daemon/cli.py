"""The ``otpsync`` command: parses arguments, calls the service, prints for people or JSON.

Errors become one line, ``otpsync: error: …``, exit 1 (usage errors 2), never a traceback.
With ``--json`` stdout carries only JSON; every message goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from daemon import __version__
from daemon.config import check_device_name, device_slug
from daemon.core import otpauth
from daemon.core.accounts import RECOMMENDED_SECRET_BITS, Account
from daemon.core.merge import Change
from daemon.errors import FileMissing, OtpsyncError, UsageError
from daemon.passphrase import keyring_available, store_in_keyring
from daemon.paths import Paths
from daemon.service import ImportPreview, PendingView, Service

log = logging.getLogger("otpsync")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is our one-line error with exit 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _stdin_line(what: str) -> str:
    line = sys.stdin.readline()
    if not line.strip():
        raise UsageError(f"expected {what} on standard input")
    return line.strip()


def _ask(question: str, default: str = "") -> str:
    shown = f" [{default}]" if default else ""
    print(f"{question}{shown}: ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    if not answer:
        raise UsageError("no answer (end of input)")
    return answer.strip() or default


def _confirm(question: str, default: bool = False) -> bool:
    answer = _ask(f"{question} {'[Y/n]' if default else '[y/N]'}").lower()
    return default if not answer else answer in ("y", "yes")


def _interactive() -> bool:
    return sys.stdin.isatty()


# --- commands ---------------------------------------------------------------------------------


def _detect_sync_folder() -> Path | None:
    home = Path.home()
    for name in (
        "Dropbox",
        "OneDrive",
        "Google Drive",
        "My Drive",
        "Sync",
        "Nextcloud",
        "pCloudDrive",
        "Syncthing",
    ):
        if (home / name).is_dir():
            return home / name / "otpsync"
    return None


def cmd_init(svc: Service, args: argparse.Namespace) -> int:
    device, folder = args.device, args.sync_folder
    written = svc.prewritten_settings() if not svc.paths.vault_file.exists() else {}
    device = device or written.get("device")
    folder = folder or written.get("sync_folder")
    if (device is None or folder is None) and _interactive():
        if device is None:
            device = check_device_name(_ask("Device name", device_slug(socket.gethostname())))
        if folder is None:
            detected = _detect_sync_folder()
            answer = _ask(
                "Sync folder (a folder your cloud client syncs)", str(detected) if detected else ""
            )
            if not answer:
                raise UsageError("a sync folder is needed")
            folder = answer
    result = svc.init(
        None if device == written.get("device") else device,
        None if folder is None or folder == written.get("sync_folder") else Path(folder),
    )
    for warning in result.warnings:
        log.warning(warning)
    if (
        result.passphrase_source == "prompt"
        and keyring_available()
        and _confirm("Remember the passphrase in the OS keyring?", default=True)
    ):
        if store_in_keyring(result.passphrase):
            print("Saved the passphrase in the OS keyring.", file=sys.stderr)
        else:
            log.warning("could not save the passphrase in the OS keyring")
    cfg = result.config
    print(f"Set up otpsync for device {cfg.device!r}.")
    print(f"  config:      {svc.paths.config_file}")
    print(f"  vault:       {svc.paths.vault_file}")
    print(f"  sync folder: {cfg.sync_folder}")
    print("Next: `otpsync add -` (paste an otpauth:// URI) or `otpsync import FILE`;")
    print("then `otpsync run` keeps backups going (`otpsync autostart enable`: at login).")
    return 0


def _account_from_args(args: argparse.Namespace) -> Account:
    flags = ("issuer", "account", "secret", "algorithm", "digits", "period", "counter")
    if args.uri is not None:
        given = [f"--{f}" for f in flags if getattr(args, f) is not None]
        if args.type is not None:
            given.append("--type")
        if given:
            raise UsageError(f"give either a URI or {', '.join(given)}, not both")
        uri = _stdin_line("an otpauth:// URI") if args.uri == "-" else args.uri
        return otpauth.parse_uri(uri)
    secret = args.secret
    if secret is None or secret == "-":
        if _interactive() and secret is None:
            import getpass

            secret = getpass.getpass("Secret (base32, input hidden): ")
        else:
            secret = _stdin_line("the secret")
    if not (args.issuer or args.account):
        raise UsageError("add needs a URI, or --issuer and/or --account with the secret")
    return Account.create(
        type=args.type or "totp",
        secret=secret,
        issuer=args.issuer or "",
        account=args.account or "",
        algorithm=args.algorithm or "SHA1",
        digits=args.digits,
        period=args.period if args.period is not None else 30,
        counter=args.counter if args.counter is not None else 0,
    )


def cmd_add(svc: Service, args: argparse.Namespace) -> int:
    account = _account_from_args(args)
    svc.add(account)
    if account.secret_bits < RECOMMENDED_SECRET_BITS:
        log.warning(
            "the secret is %d bits; RFC 4226 asks for at least %d (the service chose it; the"
            " codes work)",
            account.secret_bits,
            RECOMMENDED_SECRET_BITS,
        )
    print(f"Added {account.label} ({account.type}, id {account.id[:8]}).")
    return 0


def _account_json(a: Account) -> dict[str, object]:
    return {
        "id": a.id,
        "type": a.type,
        "issuer": a.issuer,
        "account": a.account,
        "algorithm": a.algorithm,
        "digits": a.digits,
        "period": a.period,
        "counter": a.counter,
    }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def cmd_list(svc: Service, args: argparse.Namespace) -> int:
    accounts = svc.vault().accounts
    if args.json:
        print(json.dumps([_account_json(a) for a in accounts], ensure_ascii=False))
        return 0
    if not accounts:
        print("No codes yet. Add one with `otpsync add`.", file=sys.stderr)
        return 0
    _table(
        [["ID", "TYPE", "ISSUER", "ACCOUNT"]]
        + [[a.id[:8], a.type, a.issuer or "-", a.account or "-"] for a in accounts]
    )
    return 0


def cmd_code(svc: Service, args: argparse.Namespace) -> int:
    if args.next:
        if not args.query:
            raise UsageError("--next needs the id of an HOTP code")
        svc.advance(args.query)
        query: str | None = None
        shown = [(a, c) for a, c in svc.codes() if a.id.startswith(args.query.lower())]
    else:
        query = args.query
        shown = svc.codes(query)
    if query and not shown:
        raise OtpsyncError(f"no code matches {query!r} (see `otpsync list`)")
    if args.json:
        out = [
            {
                "id": a.id,
                "issuer": a.issuer,
                "account": a.account,
                "code": c.code,
                "remaining": c.remaining,
            }
            for a, c in shown
        ]
        print(json.dumps(out, ensure_ascii=False))
        return 0
    if not shown:
        print("No codes yet. Add one with `otpsync add`.", file=sys.stderr)
        return 0
    _table(
        [
            [c.code, a.label, f"{c.remaining} s" if c.remaining is not None else f"#{a.counter}"]
            for a, c in shown
        ]
    )
    return 0


def cmd_remove(svc: Service, args: argparse.Namespace) -> int:
    removed = svc.remove(args.id)
    print(f"Removed {removed.label}. `otpsync undo` brings it back.")
    return 0


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


UNENCRYPTED_FORMATS = ("otpauth", "aegis", "qr")


def _new_password(args: argparse.Namespace) -> str | None:
    if args.password_file:
        return _read_password_file(args.password_file)
    if not _interactive():
        return None
    import getpass

    first = getpass.getpass("Password for the Aegis vault: ")
    if first != getpass.getpass("Repeat it: "):
        raise UsageError("the two passwords differ")
    return first


def cmd_export(svc: Service, args: argparse.Namespace) -> int:
    out = Path(args.out).expanduser() if args.out else None
    if args.format == "4otp":
        done = svc.export(out, only=args.only)
        print(f"Wrote an encrypted backup of {_count(done.codes, 'code')}:")
        print(done.path)
        return 0
    if out is None:
        raise UsageError(
            f"--format {args.format} writes a file for another app: give --out DIR_OR_FILE"
        )
    if args.format in UNENCRYPTED_FORMATS:
        target = out if out.is_dir() else out.parent
        if _inside(target, svc.config.sync_folder):
            raise UsageError(
                "refusing to write unencrypted codes into the sync folder; choose another --out"
            )
    password = _new_password(args) if args.format == "aegis-encrypted" else None
    done = svc.export_as(args.format, out, only=args.only, password=password)
    if args.format in UNENCRYPTED_FORMATS:
        log.warning(
            "%s holds your secrets UNENCRYPTED: anyone who reads it can make your codes."
            " Delete it when you are done.",
            done.path,
        )
    what = {"otpauth": "as otpauth:// URIs", "aegis": "as an Aegis vault",
            "aegis-encrypted": "as a password-protected Aegis vault",
            "qr": "as QR codes (one PNG each)"}[args.format]  # fmt: skip
    print(f"Wrote {_count(done.codes, 'code')} {what}:")
    print(done.path)
    return 0


def _describe(change: Change) -> str:
    mark = {"new": "+", "updated": "~", "skipped": "-", "present": "="}[change.kind]
    why = f" ({change.reason})" if change.reason else ""
    return f"  {mark} {change.incoming.label}{why}"


def _print_preview(preview: ImportPreview, shown_name: str) -> None:
    plan = preview.plan
    n = plan.counts()
    line = (
        f"{shown_name} holds {_count(n['total'], 'code')}: {n['new']} new,"
        f" {n['present']} already here, {n['updated']} updated"
    )
    if n["skipped"]:
        line += f", {n['skipped']} skipped"
    print(line)
    print(f"  ({preview.origin})")
    for change in plan.of("new") + plan.of("updated") + plan.of("skipped"):
        print(_describe(change))
    if plan.of("skipped") and not plan.include_deleted:
        print("  (codes removed here stay out; --include-deleted brings them back)")


def _read_password_file(path: str) -> str:
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileMissing(f"--password-file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileMissing(f"cannot read --password-file {path}: {exc}") from None
    return text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")


def _ask_password(what: str) -> str:
    import getpass

    return getpass.getpass(f"Password of the {what}: ")


def cmd_import(svc: Service, args: argparse.Namespace) -> int:
    preview = svc.preview_import(
        Path(args.file),
        fmt=args.source_format,
        password=_read_password_file(args.password_file) if args.password_file else None,
        ask_password=_ask_password if _interactive() else None,
        include_deleted=args.include_deleted,
    )
    plan = preview.plan
    if not args.json:
        _print_preview(preview, args.file)
    merge_it = False
    if not plan.has_changes:
        print("Nothing to merge.", file=sys.stderr)
    elif args.dry_run:
        print("Dry run: nothing merged.", file=sys.stderr)
    elif args.yes:
        merge_it = True
    elif _interactive() and not args.json:
        merge_it = _confirm(
            f"Merge {len(plan.of('new'))} new and {len(plan.of('updated'))}"
            " updated codes into this vault?"
        )
    else:
        print("Preview only: run again with --yes to merge.", file=sys.stderr)
    if merge_it:
        svc.apply_import(preview)
        print(
            f"Merged {len(plan.of('new'))} new and {len(plan.of('updated'))} updated codes."
            " `otpsync undo` reverts it.",
            file=sys.stderr if args.json else sys.stdout,
        )
    if args.json:
        print(json.dumps(plan.counts()))
    return 0


def cmd_undo(svc: Service, args: argparse.Namespace) -> int:
    snap, before, after = svc.undo()
    was = {a.id for a in before.accounts}
    now = {a.id for a in after.accounts}
    print(
        f"Restored the vault from before `{snap.reason}` at {snap.taken:%Y-%m-%d %H:%M:%S} UTC:"
        f" {_count(len(now - was), 'code')} back, {_count(len(was - now), 'code')} gone."
    )
    return 0


def _pending_line(view: PendingView) -> str:
    counts = view.plan.counts()
    extra = f", {counts['updated']} updated" if counts["updated"] else ""
    return (
        f"{view.entry.id}  from {view.entry.device} · {_count(counts['new'], 'new code')}"
        f"{extra} · {view.entry.created.replace('T', ' ').removesuffix('Z')} UTC"
    )


def cmd_pending(svc: Service, args: argparse.Namespace) -> int:
    views = svc.pending()
    if args.json:
        print(json.dumps([v.to_json() for v in views], ensure_ascii=False))
        return 0
    if not views:
        print("No pending imports.", file=sys.stderr)
    for view in views:
        print(_pending_line(view))
        for change in view.offered():
            print(_describe(change))
    return 0


def _chosen(svc: Service, args: argparse.Namespace) -> list[str]:
    if args.all == bool(args.id):
        raise UsageError("give a pending import's ID or --all (see `otpsync pending`)")
    if args.all:
        return [v.entry.id for v in svc.pending()]
    return [args.id]


def cmd_approve(svc: Service, args: argparse.Namespace) -> int:
    ids = _chosen(svc, args)
    if not ids:
        print("No pending imports.", file=sys.stderr)
    for entry_id in ids:
        done = svc.approve(entry_id)
        print(
            f"Merged from {done.entry.device}: {_count(len(done.added), 'new code')},"
            f" {len(done.updated)} updated."
        )
        for account in done.added:
            print(f"  + {account.label}")
        for account in done.updated:
            print(f"  ~ {account.label}")
        if done.export_error:
            log.warning("merged, but the backup after it failed: %s", done.export_error)
    return 0


def cmd_reject(svc: Service, args: argparse.Namespace) -> int:
    ids = _chosen(svc, args)
    if not ids:
        print("No pending imports.", file=sys.stderr)
    for entry_id in ids:
        view = svc.reject(entry_id)
        print(
            f"Rejected the backup from {view.entry.device}; its"
            f" {_count(len(view.offered()), 'code')} will not be offered again by it."
        )
    return 0


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
    if info["last_error"]:
        print(f"  last error:  {info['last_error']['time']}  {info['last_error']['message']}")
    return 0


def cmd_scan(svc: Service, args: argparse.Namespace) -> int:
    outcomes = svc.scan_once()
    queued = [o for o in outcomes if o.kind == "queued"]
    for o in outcomes:
        if o.kind in ("damaged", "wrong-passphrase"):
            log.warning("%s", o.message)
    print(f"Looked at {_count(len(outcomes), 'file')}; queued {len(queued)}.")
    return 0


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


def cmd_autostart(svc: Service, args: argparse.Namespace) -> int:
    from daemon import autostart

    home = svc.paths.config_dir if (args.home or os.environ.get("OTPSYNC_HOME")) else None
    try:
        if args.action == "enable":
            if svc.passphrase_at_login() is None:  # also: refuses a home that is not set up
                log.warning(
                    "at login there is no terminal to ask for the passphrase: save it in the"
                    " OS keyring (`otpsync init` offers to) or set passphrase_command in"
                    " config.toml, or otpsync will not start"
                )
            print(f"otpsync will start at login: {autostart.enable(home)}")
        elif args.action == "disable":
            path = autostart.disable(home)
            print(f"Removed {path}" if path else "otpsync was not set to start at login.")
        else:
            path = autostart.current(home)
            print(f"enabled: {path}" if path else "disabled")
    except OSError as exc:
        raise OtpsyncError(f"autostart: {exc}") from None
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


# --- parser -------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="otpsync",
        description="Keep your 2FA codes in an encrypted vault, in sync through a folder you"
        " already sync.",
    )
    p.add_argument("--version", action="version", version=f"otpsync {__version__}")
    p.add_argument(
        "--home",
        metavar="DIR",
        help="keep config, vault and state under DIR"
        " (default: $OTPSYNC_HOME, else the platform's user dirs)",
    )
    p.add_argument("--passphrase-file", metavar="FILE", help="read the passphrase from FILE")
    p.add_argument("-v", "--verbose", action="store_true", help="say more on stderr")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    s = sub.add_parser("init", help="set up this device: config and an empty vault")
    s.add_argument("--device", metavar="NAME", help="this device's name (default: hostname)")
    s.add_argument("--sync-folder", metavar="DIR", help="a folder your cloud client syncs")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser(
        "add",
        help="add a code from an otpauth:// URI or its parameters",
        description="Add a code. Secrets on the command line end up in your"
        " shell history: prefer `otpsync add -` (URI on stdin) or leaving out"
        " --secret (asked for, hidden).",
    )
    s.add_argument("uri", nargs="?", help="otpauth://… URI, or - to read it from stdin")
    s.add_argument("--issuer")
    s.add_argument("--account")
    s.add_argument("--secret", help="base32 secret, or - to read it from stdin")
    s.add_argument("--type", choices=["totp", "hotp", "steam"])
    s.add_argument("--algorithm", choices=["SHA1", "SHA256", "SHA512"], type=str.upper)
    s.add_argument("--digits", type=int)
    s.add_argument("--period", type=int)
    s.add_argument("--counter", type=int)
    s.set_defaults(func=cmd_add)

    s = sub.add_parser("list", help="list the codes (no secrets)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_list)

    s = sub.add_parser("code", help="show current codes")
    s.add_argument("query", nargs="?", help="issuer/account text or id prefix")
    s.add_argument("--next", action="store_true", help="advance an HOTP code to its next value")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_code)

    s = sub.add_parser("remove", help="remove a code (undo brings it back)")
    s.add_argument("id", help="the code's id, or a unique prefix of 4+ characters")
    s.set_defaults(func=cmd_remove)

    s = sub.add_parser("export", help="write an encrypted backup (default: into the sync folder)")
    s.add_argument("--out", metavar="DIR_OR_FILE")
    s.add_argument(
        "--format",
        choices=["4otp", "otpauth", "aegis", "aegis-encrypted", "qr"],
        default="4otp",
        help="4otp: encrypted backup (default); otpauth: URI list; aegis: Aegis vault;"
        " aegis-encrypted: password-protected Aegis vault; qr: one PNG per code."
        " All but 4otp and aegis-encrypted are UNENCRYPTED",
    )
    s.add_argument("--only", metavar="QUERY", help="only the codes matching QUERY")
    s.add_argument("--password-file", metavar="FILE", help="aegis-encrypted: its password")
    s.set_defaults(func=cmd_export)

    from daemon import importers

    formats = ", ".join(sorted([*importers.FORMATS, *importers.ALIASES]))
    s = sub.add_parser(
        "import",
        help="merge a backup or another app's export: only codes this device lacks are added",
        description="Merge an otpsync backup, or another authenticator's export, into the"
        f" vault. Formats for --from: auto (default), otpsync, {formats}.",
    )
    s.add_argument("file")
    s.add_argument(
        "--from",
        dest="source_format",
        default="auto",
        metavar="FORMAT",
        help="the file's format (default: detect it from the content)",
    )
    s.add_argument(
        "--password-file",
        metavar="FILE",
        help="the export's password (or another person's otpsync passphrase)",
    )
    s.add_argument("--yes", action="store_true", help="merge without asking")
    s.add_argument("--dry-run", action="store_true", help="only show what would change")
    s.add_argument("--json", action="store_true", help="print only the counts, as JSON")
    s.add_argument(
        "--include-deleted",
        action="store_true",
        help="also bring back codes removed on this device",
    )
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("undo", help="restore the vault from before the last change")
    s.set_defaults(func=cmd_undo)

    s = sub.add_parser("run", help="run the daemon: scheduled backups, watch the sync folder")
    s.add_argument("--headless", action="store_true", help="no tray icon; stop with Ctrl-C")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("pending", help="backups from your other devices waiting for approval")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_pending)

    for name, func, what in (
        ("approve", cmd_approve, "merge a pending import (snapshot first; undo reverts it)"),
        ("reject", cmd_reject, "turn a pending import down; its codes are not offered again"),
    ):
        s = sub.add_parser(name, help=what)
        s.add_argument("id", nargs="?", help="the pending import's id (see `otpsync pending`)")
        s.add_argument("--all", action="store_true", help="every pending import")
        s.set_defaults(func=func)

    s = sub.add_parser("status", help="is the daemon running; last and next backup; pending")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)

    s = sub.add_parser("scan", help="look through the sync folder once and queue new backups")
    s.set_defaults(func=cmd_scan)

    s = sub.add_parser("autostart", help="start the tray at login (enable, disable, status)")
    s.add_argument("action", choices=["enable", "disable", "status"])
    s.set_defaults(func=cmd_autostart)
    return p


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("otpsync: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.addLevelName(logging.WARNING, "warning")


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    svc = Service(
        Paths.resolve(args.home),
        passphrase_file=Path(args.passphrase_file).expanduser() if args.passphrase_file else None,
    )
    return args.func(svc, args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``otpsync`` console script."""
    try:
        return _run(argv)
    except OtpsyncError as exc:
        print(f"otpsync: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("otpsync: interrupted; nothing was changed", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("OTPSYNC_DEBUG"):
            raise
        print(
            f"otpsync: error: internal error ({type(exc).__name__}); please report it"
            " (OTPSYNC_DEBUG=1 shows the details)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
