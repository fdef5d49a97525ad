"""Text exports that are URIs, one a line, and the URI forms other exports embed.

A plain ``otpauth://`` list is what many apps write as "export as text": Ente Auth's plain
export (with an extra ``codeDisplay`` parameter), WinAuth, Authenticator Plus's Accounts.txt,
Aegis's URI export. Google Authenticator exports ``otpauth-migration://`` lines instead; both
kinds may be mixed, and ``#`` comment lines are skipped. Bitwarden and Proton also write
``steam://SECRET``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import parse_qs, unquote, urlsplit

from daemon.core.accounts import Account
from daemon.core.otpauth import parse_uri
from daemon.errors import ImportFailed, InvalidAccount
from daemon.importers import migration
from daemon.importers._common import (
    EntrySkipped,
    Importer,
    Skipped,
    decode_text,
    each,
    entry_label,
    make_account,
    skip_reason,
)

OTPAUTH = "otpauth://"
STEAM = "steam://"


def parse_otpauth(uri: str, where: str, label: str = "") -> Account:
    """parse_uri, plus one repair for URIs written by Java apps (below). A URI that makes no
    code (no secret, an mOTP or Yandex type) is one entry otpsync cannot make: skipped. So is
    a code Ente Auth's export marks as in its trash (``codeDisplay={"trashed":true}``: Ente
    exports its trash too), so that what the person deleted stays deleted."""
    try:
        account = parse_uri(uri)
    except InvalidAccount as exc:
        raise EntrySkipped(label or where, skip_reason(exc.message)) from None
    if _in_ente_trash(uri):
        raise EntrySkipped(
            entry_label(where, account.issuer, account.account), "in Ente Auth's trash"
        )
    return _form_encoded_issuer(uri, account)


def _in_ente_trash(uri: str) -> bool:
    if "codeDisplay" not in uri:
        return False
    values = parse_qs(urlsplit(uri.strip()).query).get("codeDisplay", [])
    try:
        display = json.loads(values[0]) if values else None
    except (ValueError, RecursionError):
        return False
    return isinstance(display, dict) and display.get("trashed") is True


def _form_encoded_issuer(uri: str, account: Account) -> Account:
    """Aegis, 2FAS and other Java apps write ``issuer=Air+Canada`` (form encoding). parse_uri
    rightly keeps a '+' literal ("Foo+Bar" exists), so we only read '+' as a space when the
    label's issuer, percent-encoded and so unambiguous, says exactly that."""
    if "+" not in account.issuer:
        return account
    label = unquote(urlsplit(uri.strip()).path.lstrip("/"))
    head, sep, _ = label.partition(":")
    if sep and head.strip() == account.issuer.replace("+", " "):
        return replace(account, issuer=head.strip())
    return account


def parse_steam(uri: str, where: str, *, issuer: str = "", account: str = "") -> Account:
    """``steam://BASE32SECRET``: a Steam Guard code (5 characters, SHA1, 30 s)."""
    secret = uri.strip()[len(STEAM) :]
    return make_account(
        where, type="steam", secret=secret, issuer=issuer or "Steam", account=account
    )


def parse_embedded(value: str, where: str, *, issuer: str = "", account: str = "") -> Account:
    """A code as password managers store it: an otpauth URI, a steam:// URI or a bare base32
    secret. ``issuer``/``account`` (the item's name and username) fill what the value lacks."""
    text = value.strip()
    scheme = text[:16].lower()
    if scheme.startswith(STEAM):
        return parse_steam(text, where, issuer=issuer, account=account)
    if scheme.startswith(OTPAUTH):
        parsed = parse_otpauth(text, where, entry_label(where, issuer, account))
        if parsed.issuer and parsed.account:
            return parsed
        return make_account(
            where,
            type=parsed.type,
            secret=parsed.secret,
            issuer=parsed.issuer or issuer,
            account=parsed.account or account,
            algorithm=parsed.algorithm,
            digits=parsed.digits,
            period=parsed.period,
            counter=parsed.counter,
        )
    return make_account(where, secret=text, issuer=issuer, account=account)


def _lines(text: str) -> Iterator[tuple[int, str, str]]:
    """(line number, kind, line) for each line that is not blank or a # comment."""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head = line[:24].lower()
        if head.startswith(migration.SCHEME):
            kind = "migration"
        elif head.startswith(OTPAUTH):
            kind = "otpauth"
        else:
            kind = "other"
        yield number, kind, line


def read_lines(data: bytes, password: str | None = None) -> list[Account | Skipped]:
    """Every code in a text file of otpauth:// and otpauth-migration:// lines; a line that
    makes no code is skipped with its reason, named by its line number."""

    def entry(numbered: tuple[int, str, str], where: str) -> Account | list[Account | Skipped]:
        _, kind, line = numbered
        if kind == "migration":
            return migration.accounts_from_uri(line, where)
        if kind == "otpauth":
            return parse_otpauth(line, where)
        raise ImportFailed(f"{where} is not an otpauth:// or otpauth-migration:// URI")

    # Named by the line number a person sees, comments and blank lines included.
    return each(_lines(decode_text(data)), entry, lambda _, numbered: f"line {numbered[0]}")


def _kinds(data: bytes) -> set[str]:
    """Kinds of the URI lines, if the first line that counts is a URI (else: not a list).

    A bad line further down still makes the file a URI list, so that parsing it can say
    which line is wrong instead of "not a format otpsync can import".
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return set()
    kinds: set[str] = set()
    for _, kind, _ in _lines(text):
        if kind == "other" and not kinds:
            return set()
        kinds.add(kind)
    return kinds - {"other"}


def sniff_otpauth(data: bytes) -> bool:
    return "otpauth" in _kinds(data)


def sniff_migration(data: bytes) -> bool:
    return _kinds(data) == {"migration"}


OTPAUTH_LIST = Importer(
    name="otpauth",
    title="otpauth URI list",
    description="text file of otpauth:// URIs (Aegis/Ente Auth plain text, Aegis URI export, …)",
    sniff=sniff_otpauth,
    read=read_lines,
)
GOOGLE_AUTHENTICATOR = Importer(
    name="google-authenticator",
    title="Google Authenticator export",
    description="Google Authenticator otpauth-migration:// lines (text of its export QR codes)",
    sniff=sniff_migration,
    read=read_lines,
)
