"""WinAuth exports: a text file of otpauth:// URIs, or that file inside a ZIP.

WinAuth's ``ExportAuthenticators`` (WinAuthHelper.cs) writes one ``auth.ToUrl()`` line per
authenticator; for a ``.zip`` target it puts them in one member named after the file
(``<name>.txt``) through SharpZipLib's ZipOutputStream, and with a password set that stream
encrypts with traditional PKWARE encryption (ZipCrypto; AES only when asked per entry, which
WinAuth never does). Its PGP-encrypted export needs WinAuth's private key: not supported.
"""

from __future__ import annotations

from daemon.core.accounts import Account
from daemon.errors import ImportFailed
from daemon.importers import zips
from daemon.importers._common import Importer, Skipped
from daemon.importers.uris import read_lines


def _text_member(name: str) -> bool:
    return name.lower().endswith(".txt")


def sniff(data: bytes) -> bool:
    return zips.member(data, _text_member) is not None


def is_encrypted(data: bytes) -> bool:
    return zips.encrypted(zips.member(data, _text_member))


def read(data: bytes, password: str | None) -> list[Account | Skipped]:
    if not data.startswith(zips.MAGIC):
        return read_lines(data)  # the plain text export
    found = zips.member(data, _text_member)
    if found is None:
        raise ImportFailed("the ZIP holds no .txt file of otpauth:// URIs")
    return read_lines(zips.read(*found, password))


IMPORTER = Importer(
    name="winauth",
    title="WinAuth export",
    description="WinAuth export: otpauth:// text, or a (password-protected) ZIP of it",
    sniff=sniff,
    read=read,
    is_encrypted=is_encrypted,
    needs="the ZIP password",
)
