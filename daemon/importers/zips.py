"""ZIP archives that carry an export: Authenticator Plus's Accounts.txt, WinAuth's .txt,
Proton Pass's data.json. Members may be encrypted with the old PKWARE cipher ("ZipCrypto",
what SharpZipLib and most Android apps write when given a password), which zipfile reads.

ZipCrypto has no authentication: its check byte lets 1 wrong password in 256 through, and
then the CRC or the inflater fails. Both are reported as a wrong password, never as damage,
since for a ZIP that opened this far that is by far the likelier cause.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Callable

from daemon.core.backup_format import MAX_FILE_BYTES
from daemon.errors import ImportFailed, PasswordRequired, UnsupportedImport, WrongPassphrase

MAGIC = b"PK\x03\x04"
ENCRYPTED_FLAG = 0x1
MAX_MEMBERS = 1000
Found = tuple[zipfile.ZipFile, zipfile.ZipInfo]


def member(data: bytes, wanted: Callable[[str], bool]) -> Found | None:
    """The archive and its first member whose name ``wanted`` accepts, or None when ``data``
    is no readable ZIP or has no such member."""
    if not data.startswith(MAGIC):
        return None
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError):
        return None
    if len(infos) > MAX_MEMBERS:
        return None
    info = next((i for i in infos if not i.is_dir() and wanted(i.filename)), None)
    return (archive, info) if info is not None else None


def encrypted(found: Found | None) -> bool:
    return found is not None and bool(found[1].flag_bits & ENCRYPTED_FLAG)


def read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, password: str | None) -> bytes:
    """The member's bytes, bounded; decrypted with ``password`` when it is encrypted."""
    if info.file_size > MAX_FILE_BYTES:
        raise ImportFailed(f"{info.filename} in the ZIP is larger than otpsync reads")
    is_encrypted = bool(info.flag_bits & ENCRYPTED_FLAG)
    if is_encrypted and password is None:
        raise PasswordRequired("the ZIP is encrypted; its password is needed")
    secret = password.encode("utf-8") if is_encrypted and password is not None else None
    try:
        with archive.open(info, pwd=secret) as stream:
            content = stream.read(MAX_FILE_BYTES + 1)
    except RuntimeError:  # zipfile's "Bad password for file"
        raise WrongPassphrase("wrong password") from None
    except NotImplementedError:
        raise UnsupportedImport(
            "the ZIP uses a compression or cipher (AES?) that otpsync cannot read"
        ) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError):
        if is_encrypted:  # the 1-in-256 wrong password that passes the check byte
            raise WrongPassphrase("wrong password") from None
        raise ImportFailed(f"{info.filename} in the ZIP is damaged") from None
    if len(content) > MAX_FILE_BYTES:
        raise ImportFailed(f"{info.filename} in the ZIP is larger than otpsync reads")
    return content
