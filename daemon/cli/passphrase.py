"""``otpsync passphrase change``: re-seal this device's vault, snapshots and backups."""

from __future__ import annotations

import argparse

from daemon.cli.common import interactive, read_password_file, say
from daemon.errors import UsageError
from daemon.service import Service


def _new_passphrase(args: argparse.Namespace, svc: Service) -> str | None:
    """The new passphrase: from --new-passphrase-file, or asked twice on a terminal. None
    when only an interrupted change is to be finished (its vault already switched)."""
    if args.new_passphrase_file:
        return read_password_file(args.new_passphrase_file, "--new-passphrase-file")
    if not interactive():
        if svc.passphrase_change_pending():
            return None  # the service says if a new one is needed after all
        raise UsageError("give --new-passphrase-file FILE (or run in a terminal to be asked)")
    import getpass

    first = getpass.getpass("New otpsync passphrase: ")
    if first != getpass.getpass("Repeat the new passphrase: "):
        raise UsageError("the two new passphrases differ; nothing was changed")
    return first


def cmd_change(svc: Service, args: argparse.Namespace) -> int:
    svc.store  # noqa: B018 -- the current passphrase first: a wrong one fails before asking
    done = svc.change_passphrase(_new_passphrase(args, svc))
    for line in done.summary():
        say(line)
    print(
        "Other devices: run `otpsync passphrase change` there with the same new passphrase."
        " Old backups may live on in your sync provider's version history (docs/security.md)."
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("passphrase", help="change the passphrase")
    family = s.add_subparsers(dest="passphrase_command", metavar="ACTION")
    family.required = True
    c = family.add_parser(
        "change",
        help="re-seal the vault, its snapshots and a new backup under a new passphrase; then"
        " remove this device's backups sealed with the old one",
    )
    c.add_argument(
        "--new-passphrase-file", metavar="FILE", help="read the new passphrase from FILE"
    )
    c.set_defaults(func=cmd_change)
