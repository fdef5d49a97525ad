"""What every command shares: the argument parser, questions on the terminal, small printers."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import NoReturn

from daemon.core.merge import Change
from daemon.core.text import printable
from daemon.errors import FileMissing, UsageError

log = logging.getLogger("otpsync")


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is our one-line error with exit 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def stdin_line(what: str) -> str:
    line = sys.stdin.readline()
    if not line.strip():
        raise UsageError(f"expected {what} on standard input")
    return line.strip()


def ask(question: str, default: str = "") -> str:
    shown = f" [{default}]" if default else ""
    print(f"{question}{shown}: ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline()
    if not answer:
        raise UsageError("no answer (end of input)")
    return answer.strip() or default


def confirm(question: str, default: bool = False) -> bool:
    answer = ask(f"{question} {'[Y/n]' if default else '[y/N]'}").lower()
    return default if not answer else answer in ("y", "yes")


def interactive() -> bool:
    return sys.stdin.isatty()


def count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def describe(change: Change) -> str:
    mark = {"new": "+", "updated": "~", "skipped": "-", "present": "="}[change.kind]
    why = f" ({printable(change.reason)})" if change.reason else ""
    return f"  {mark} {printable(change.incoming.label)}{why}"


def read_password_file(path: str) -> str:
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileMissing(f"--password-file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileMissing(f"cannot read --password-file {path}: {exc}") from None
    return text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")


def ask_password(what: str) -> str:
    import getpass

    return getpass.getpass(f"Password of the {what}: ")
