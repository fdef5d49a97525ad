"""The ``otpsync`` command: parses arguments, calls the service, prints for people or JSON.

One module per command family; each has a ``register(sub)`` that adds its subcommands.
Errors become one line, ``otpsync: error: …``, exit 1 (usage errors 2), never a traceback;
a reader closing the pipe (``otpsync list | head``) ends it quietly, exit 141 like SIGPIPE.
With ``--json`` stdout carries only JSON; every message goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from daemon import __version__
from daemon.cli import codes, devices, passphrase, queue, run, setup, transfer, window
from daemon.cli.common import EscapingFormatter, Parser
from daemon.core.display import shown
from daemon.errors import OtpsyncError
from daemon.paths import Paths
from daemon.service import Service

FAMILIES = (setup, codes, window, transfer, run, queue, devices, passphrase)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
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
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for family in FAMILIES:
        family.register(sub)
    return p


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EscapingFormatter("otpsync: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.addLevelName(logging.WARNING, "warning")


def _run(argv: Sequence[str] | None) -> int:
    for stream in (sys.stdout, sys.stderr):
        # A last resort: output with an undecodable file name we did not escape is still
        # written (as \udcff), never a UnicodeEncodeError. Names are escaped where printed.
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
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
        code = _run(argv)
        sys.stdout.flush()  # here, not at exit: a closed pipe must be caught below
        return code
    except BrokenPipeError:
        return _reader_went_away()
    except OtpsyncError as exc:
        # One line, whatever a file or device name in the message holds.
        print(f"otpsync: error: {shown(exc)}", file=sys.stderr)
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


SIGPIPE_EXIT = 141  # what a shell reports for a program ended by SIGPIPE (128 + 13)


def _reader_went_away() -> int:
    """``otpsync list | head -3``: the reader closed the pipe. Not an error, nothing to say;
    exit as a program killed by SIGPIPE would. stdout points at /dev/null from here on, so
    the interpreter's own flush at exit cannot complain about the pipe either."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return SIGPIPE_EXIT
