"""Authenticator Plus exports: a ZIP protected with the old PKWARE cipher ("ZipCrypto", which
Python's zipfile reads) holding ``Accounts.txt``, an otpauth URI list.

Its ``.db`` backups are SQLCipher databases, which need SQLCipher: not supported.
"""

from __future__ import annotations

import io
import zipfile
import zlib

from daemon.core.accounts import Account
from daemon.core.backup_format import MAX_FILE_BYTES
from daemon.errors import ImportFailed, PasswordRequired, UnsupportedImport, WrongPassphrase
from daemon.importers._common import Importer, Skipped
from daemon.importers.uris import read_lines

MEMBER = "accounts.txt"
ZIP_MAGIC = b"PK\x03\x04"
ENCRYPTED_FLAG = 0x1


def _member(archive: zipfile.ZipFile) -> zipfile.ZipInfo | None:
    return next(
        (i for i in archive.infolist() if i.filename.rsplit("/", 1)[-1].lower() == MEMBER), None
    )


def _open(data: bytes) -> tuple[zipfile.ZipFile, zipfile.ZipInfo] | None:
    if not data.startswith(ZIP_MAGIC):
        return None
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, EOFError):
        return None
    info = _member(archive)
    return (archive, info) if info is not None else None


def sniff(data: bytes) -> bool:
    return _open(data) is not None


def is_encrypted(data: bytes) -> bool:
    opened = _open(data)
    return opened is not None and bool(opened[1].flag_bits & ENCRYPTED_FLAG)


def read(data: bytes, password: str | None) -> list[Account | Skipped]:
    opened = _open(data)
    if opened is None:
        raise ImportFailed("not a ZIP holding Accounts.txt")
    archive, info = opened
    if info.file_size > MAX_FILE_BYTES:
        raise ImportFailed("Accounts.txt is larger than otpsync reads")
    encrypted = bool(info.flag_bits & ENCRYPTED_FLAG)
    if encrypted and password is None:
        raise PasswordRequired("the ZIP is encrypted; its password is needed")
    secret = password.encode("utf-8") if encrypted and password is not None else None
    try:
        with archive.open(info, pwd=secret) as member:
            text = member.read(MAX_FILE_BYTES + 1)
    except RuntimeError:  # zipfile's "Bad password for file"
        raise WrongPassphrase("wrong password") from None
    except NotImplementedError:
        raise UnsupportedImport(
            "the ZIP uses a compression or cipher zipfile cannot read"
        ) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError):
        # ZipCrypto's check byte passes 1 wrong password in 256; the CRC then fails.
        if encrypted:
            raise WrongPassphrase("wrong password") from None
        raise ImportFailed("Accounts.txt is damaged") from None
    return read_lines(text)


IMPORTER = Importer(
    name="authenticator-plus",
    title="Authenticator Plus export",
    description="Authenticator Plus export: password-protected ZIP with Accounts.txt",
    sniff=sniff,
    read=read,
    is_encrypted=is_encrypted,
)
