"""The codes themselves: `add`, `list`, `code`, `remove`, `undo`, `snapshots`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from daemon.cli.common import (
    confirm,
    describe,
    interactive,
    log,
    print_json,
    say,
    stdin_line,
    table,
)
from daemon.core import otpauth
from daemon.core.accounts import RECOMMENDED_SECRET_BITS, Account
from daemon.core.display import count, shown
from daemon.errors import OtpsyncError, UsageError
from daemon.service import Service


def _account_from_args(args: argparse.Namespace) -> Account:
    flags = ("issuer", "account", "secret", "algorithm", "digits", "period", "counter")
    if args.uri is not None:
        given = [f"--{f}" for f in flags if getattr(args, f) is not None]
        if args.type is not None:
            given.append("--type")
        if given:
            raise UsageError(f"give either a URI or {', '.join(given)}, not both")
        uri = stdin_line("an otpauth:// URI") if args.uri == "-" else args.uri
        return otpauth.parse_uri(uri)
    secret = args.secret
    if secret is None or secret == "-":
        if interactive() and secret is None:
            import getpass

            secret = getpass.getpass("Secret (base32, input hidden): ")
        else:
            secret = stdin_line("the secret")
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


def _add_found(svc: Service, args: argparse.Namespace) -> int:
    """``add --qr IMAGE`` / ``add --scan-screen``: show what the QR codes hold, ask, merge."""
    others = [f"--{f}" for f in ("issuer", "account", "secret", "type", "algorithm", "digits",
                                 "period", "counter") if getattr(args, f) is not None]  # fmt: skip
    if args.uri is not None or others or (args.qr and args.scan_screen):
        given = " ".join(filter(None, ["a URI" if args.uri else "", *others]))
        raise UsageError(f"--qr and --scan-screen take no other code: drop {given or '--qr'}")
    if args.qr:
        preview = svc.preview_qr(Path(args.qr).expanduser())
        where = f"in {shown(args.qr)}"
    else:
        preview = svc.preview_screen()
        where = "on the screen"
    plan = preview.plan
    new = plan.of("new")
    print(f"Found {count(plan.total, 'code')} {where}: {len(new)} new,"
          f" {plan.total - len(new)} already here")  # fmt: skip
    for change in plan.changes:
        print(describe(change))
    if preview.ignored:
        print(f"  ({count(preview.ignored, 'other QR code')} passed over: not a 2FA code)")
    if not new:
        print("Nothing to add.", file=sys.stderr)
        return 0
    if not args.yes:
        if not interactive():
            raise UsageError(
                f"nothing added: no terminal to ask whether to add {count(len(new), 'code')};"
                " run again with --yes"
            )
        if not confirm(f"Add {count(len(new), 'new code')}?"):
            print("Nothing added.", file=sys.stderr)
            return 0
    svc.apply_import(preview)
    print(f"Added {count(len(new), 'code')}. `otpsync undo` reverts it.")
    return 0


def cmd_add(svc: Service, args: argparse.Namespace) -> int:
    if args.qr or args.scan_screen:
        return _add_found(svc, args)
    if args.yes:
        raise UsageError("--yes goes with --qr or --scan-screen")
    account = _account_from_args(args)
    svc.add(account)
    if account.secret_bits < RECOMMENDED_SECRET_BITS:
        log.warning(
            "the secret is %d bits; RFC 4226 asks for at least %d (the service chose it; the"
            " codes work)",
            account.secret_bits,
            RECOMMENDED_SECRET_BITS,
        )
    say(f"Added {account.label} ({account.type}, id {account.id[:8]}).")
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


def cmd_list(svc: Service, args: argparse.Namespace) -> int:
    accounts = svc.vault().accounts
    if args.json:
        print_json([_account_json(a) for a in accounts])
        return 0
    if not accounts:
        print("No codes yet. Add one with `otpsync add`.", file=sys.stderr)
        return 0
    table(
        [["ID", "TYPE", "ISSUER", "ACCOUNT"]]
        + [[a.id[:8], a.type, shown(a.issuer) or "-", shown(a.account) or "-"] for a in accounts]
    )
    return 0


def cmd_code(svc: Service, args: argparse.Namespace) -> int:
    if args.next:
        if not args.query:
            raise UsageError("--next needs the id of an HOTP code")
        svc.advance(args.query)
        query: str | None = None
        found = [(a, c) for a, c in svc.codes() if a.id.startswith(args.query.lower())]
    else:
        query = args.query
        found = svc.codes(query)
    if query and not found:
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
            for a, c in found
        ]
        print_json(out)
        return 0
    if not found:
        print("No codes yet. Add one with `otpsync add`.", file=sys.stderr)
        return 0
    table(
        [
            [
                c.code,
                shown(a.label),
                f"{c.remaining} s" if c.remaining is not None else f"#{a.counter}",
            ]
            for a, c in found
        ]
    )
    return 0


def cmd_remove(svc: Service, args: argparse.Namespace) -> int:
    removed = svc.remove(args.id)
    say(f"Removed {removed.label}. `otpsync undo` brings it back.")
    return 0


def cmd_undo(svc: Service, args: argparse.Namespace) -> int:
    snap, before, after = svc.undo()
    when = f"{snap.taken:%Y-%m-%d %H:%M:%S} UTC"
    if before is None:
        say(
            f"The vault did not open; restored the newest snapshot that does, from before"
            f" `{snap.reason}` at {when}: {count(len(after.accounts), 'code')}."
        )
        return 0
    was = {a.id for a in before.accounts}
    now = {a.id for a in after.accounts}
    say(
        f"Restored the vault from before `{snap.reason}` at {when}:"
        f" {count(len(now - was), 'code')} back, {count(len(was - now), 'code')} gone."
    )
    return 0


def cmd_snapshots(svc: Service, args: argparse.Namespace) -> int:
    found = svc.snapshots()
    if args.json:
        out = [
            {
                "time": info.snapshot.taken.isoformat(timespec="seconds").replace("+00:00", "Z"),
                "reason": info.snapshot.reason,
                "codes": info.codes,
                "file": info.snapshot.path.name,
                "problem": info.problem,
            }
            for info in found
        ]
        print_json(out)
        return 0
    if not found:
        print("No snapshots yet (one is taken before every change).", file=sys.stderr)
        return 0
    table(
        [["TAKEN (UTC)", "BEFORE", "CODES"]]
        + [
            [
                f"{info.snapshot.taken:%Y-%m-%d %H:%M:%S}",
                info.snapshot.reason,
                str(info.codes) if info.codes is not None else "does not open",
            ]
            for info in found
        ]
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser(
        "add",
        help="add a code from an otpauth:// URI, its parameters, or QR codes",
        description="Add a code. Secrets on the command line end up in your"
        " shell history: prefer `otpsync add -` (URI on stdin) or leaving out"
        " --secret (asked for, hidden). --qr and --scan-screen read every QR code"
        " (otpauth:// and Google Authenticator's export) and ask before adding the new ones.",
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
    s.add_argument("--qr", metavar="IMAGE", help="read the QR codes in a PNG or JPEG picture")
    s.add_argument(
        "--scan-screen",
        action="store_true",
        help="read the QR codes shown on every screen (the capture is never saved)",
    )
    s.add_argument("--yes", action="store_true", help="with --qr/--scan-screen: add, do not ask")
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

    s = sub.add_parser(
        "undo",
        help="restore the vault from before the last change (or, if the vault no longer"
        " opens, the newest snapshot that does)",
    )
    s.set_defaults(func=cmd_undo)

    s = sub.add_parser("snapshots", help="the vault's snapshots: when, before what, how many codes")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_snapshots)
