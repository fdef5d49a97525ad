"""What every command shares: the argument parser, questions on the terminal, small printers."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO, Any, NoReturn

from daemon.core.display import json_safe, shown
from daemon.core.merge import Change
from daemon.errors import FileMissing, UsageError

log = logging.getLogger("otpsync")


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating log that is 0600 from its first byte, and again after every rotation: the
    stock handler opens each new file with the umask's mode (0644), readable by everyone."""

    def _open(self) -> IO[str]:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)  # one made by an older otpsync, or by hand
        return open(fd, "a", encoding=self.encoding, errors=self.errors)


class EscapingFormatter(logging.Formatter):
    """One event, one log line: the message's control characters (a newline in a file name,
    an escape sequence in a device name) are made visible, so no name can forge a line or
    rewrite the terminal. Tracebacks, which are ours, keep their lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = shown(record.message)
        return super().formatMessage(record)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is our one-line error with exit 2, and an epilog may be
    written only when help is asked for (``epilog_from``): the format list of ``import``
    needs every importer, which a running tray must not load just to parse ``run``."""

    def __init__(self, *args: Any, epilog_from: Callable[[], str] | None = None, **kw: Any):
        super().__init__(*args, **kw)
        self.epilog_from = epilog_from

    def format_help(self) -> str:
        if self.epilog_from is not None:
            self.epilog, self.epilog_from = self.epilog_from(), None
        return super().format_help()

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def stdin_line(what: str) -> str:
    line = sys.stdin.readline()
    if not line.strip():
        raise UsageError(f"expected {what} on standard input")
    return line.strip()


def ask(question: str, default: str = "") -> str:
    hint = f" [{default}]" if default else ""
    print(f"{question}{hint}: ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    if not answer:
        raise UsageError("no answer (end of input)")
    return answer.strip() or default


def confirm(question: str, default: bool = False) -> bool:
    answer = ask(f"{question} {'[Y/n]' if default else '[y/N]'}").lower()
    return default if not answer else answer in ("y", "yes")


def interactive() -> bool:
    return sys.stdin.isatty()


def say(line: str, *, err: bool = False) -> None:
    """Print one line that may hold text from outside (names, labels, file names), with
    control characters made visible: a name cannot rewrite the terminal or add a line."""
    print(shown(line), file=sys.stderr if err else sys.stdout)


def print_json(value: object) -> None:
    """``--json`` output: valid UTF-8 whatever the file names (undecodable bytes become
    ``\\xff`` text); JSON escapes control characters itself."""
    print(json.dumps(_json_safe(value), ensure_ascii=False))


def _json_safe(value: object) -> object:
    if isinstance(value, str):
        return json_safe(value)
    if isinstance(value, dict):
        return {json_safe(str(k)): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def table(rows: list[list[str]]) -> None:
    rows = [[shown(cell) for cell in row] for row in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def describe(change: Change) -> str:
    mark = {"new": "+", "updated": "~", "skipped": "-", "present": "="}[change.kind]
    why = f" ({change.reason})" if change.reason else ""
    return shown(f"  {mark} {change.incoming.label}{why}")


def read_password_file(path: str, flag: str = "--password-file") -> str:
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileMissing(f"{flag} {path} does not exist") from None
    except UnicodeDecodeError:
        raise FileMissing(f"{flag} {path} is not valid UTF-8") from None
    except OSError as exc:
        raise FileMissing(f"cannot read {flag} {path}: {exc.strerror}") from None
    return text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")


def ask_password(what: str) -> str:
    import getpass

    return getpass.getpass(f"Password of the {what}: ")
