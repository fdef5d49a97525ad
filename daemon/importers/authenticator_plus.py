"""Authenticator Plus exports: a ZIP protected with the old PKWARE cipher ("ZipCrypto", which
Python's zipfile reads) holding ``Accounts.txt``, an otpauth URI list.

Its ``.db`` backups are SQLCipher databases, which need SQLCipher: not supported.
"""

from __future__ import annotations

from daemon.core.accounts import Account
from daemon.errors import ImportFailed
from daemon.importers import zips
from daemon.importers._common import Importer, Skipped
from daemon.importers.uris import read_lines

MEMBER = "accounts.txt"


def _accounts_txt(name: str) -> bool:
    return name.rsplit("/", 1)[-1].lower() == MEMBER


def sniff(data: bytes) -> bool:
    return zips.member(data, _accounts_txt) is not None


def is_encrypted(data: bytes) -> bool:
    return zips.encrypted(zips.member(data, _accounts_txt))


def read(data: bytes, password: str | None) -> list[Account | Skipped]:
    found = zips.member(data, _accounts_txt)
    if found is None:
        raise ImportFailed("not a ZIP holding Accounts.txt")
    return read_lines(zips.read(*found, password))


IMPORTER = Importer(
    name="authenticator-plus",
    title="Authenticator Plus export",
    description="Authenticator Plus export: password-protected ZIP with Accounts.txt",
    sniff=sniff,
    read=read,
    is_encrypted=is_encrypted,
    needs="the ZIP password",
)
