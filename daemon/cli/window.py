"""The codes window: `codes` (search, Enter copies; see tray/codes_window.py)."""

from __future__ import annotations

import argparse
import os
import sys

from daemon.errors import NoVault, OtpsyncError, UsageError
from daemon.service import Service

TK_HINT = (
    "the codes window needs tkinter: on Debian/Ubuntu `apt install python3-tk`, on Fedora"
    " `dnf install python3-tkinter` (the python.org installers for Windows and macOS have it)"
)


def _passphrase_from_stdin() -> str:
    if sys.stdin.isatty():  # a person at a terminal: do not echo it
        import getpass

        return getpass.getpass("Passphrase: ")
    line = sys.stdin.readline()
    passphrase = line[:-2] if line.endswith("\r\n") else line.removesuffix("\n")
    if not passphrase:
        raise UsageError("--passphrase-stdin: expected the passphrase on standard input")
    return passphrase


def cmd_codes(svc: Service, args: argparse.Namespace) -> int:
    if not svc.paths.vault_file.exists():  # say it here, not in a window that cannot help
        raise NoVault(f"no vault at {svc.paths.vault_file}; run `otpsync init` first")
    if args.passphrase_stdin:
        svc.use_passphrase(_passphrase_from_stdin())
    try:
        import tkinter

        from tray.codes_window import open_window
    except ImportError:
        raise OtpsyncError(TK_HINT) from None
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        raise OtpsyncError("cannot open the codes window: no display (DISPLAY is not set)")
    try:
        label = open_window(svc, query=args.query or "")
    except tkinter.TclError as exc:
        raise OtpsyncError(f"cannot open the codes window: {exc}") from None
    if label:
        print(
            f"Copied the code of {label}; the clipboard is cleared in"
            f" {svc.config.clipboard_clear:g} s."
        )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser(
        "codes",
        help="a window to find a code by typing; Enter copies it",
        description="Open a small window listing your codes with their seconds left. Type to"
        " filter (every word must match the issuer or account), Up/Down to choose, Enter to"
        " copy (the clipboard is cleared after [tray] clipboard_clear), Esc to close. Bind it"
        " to a keyboard shortcut (see the README).",
    )
    s.add_argument("query", nargs="?", help="start with this search text")
    s.add_argument(
        "--passphrase-stdin",
        action="store_true",
        help="read the passphrase from the first line of standard input (how the tray opens it)",
    )
    s.set_defaults(func=cmd_codes)
