"""ZIP archives that carry an export: Authenticator Plus's Accounts.txt, WinAuth's .txt,
Proton Pass's data.json. Members may be encrypted with the old PKWARE cipher ("ZipCrypto",
what SharpZipLib and most Android apps write when given a password), which zipfile reads.

ZipCrypto has no authentication: its check byte lets 1 wrong password in 256 through, and
then the CRC or the inflater fails, exactly as it does for a damaged member. So a failed
check byte is a wrong password, and a failed CRC is "a wrong password or damage": the cipher
cannot tell the two apart, and the message does not pretend to.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable

from daemon.core.backup_format import MAX_FILE_BYTES
from daemon.errors import ImportFailed, PasswordRequired, UnsupportedImport, WrongPassphrase

MAGIC = b"PK\x03\x04"
ENCRYPTED_FLAG = 0x1
MAX_MEMBERS = 1000
Found = tuple[zipfile.ZipFile, zipfile.ZipInfo]
_BROKEN = (zipfile.BadZipFile, ValueError, EOFError, NotImplementedError, struct.error, OSError)


def member(data: bytes, wanted: Callable[[str], bool]) -> Found | None:
    """The archive and its first member whose name ``wanted`` accepts, or None when ``data``
    is no ZIP or has no such member. A ZIP whose directory cannot be read is damaged (or cut
    short: the directory is at the end)."""
    if not data.startswith(MAGIC):
        return None
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except _BROKEN:
        raise ImportFailed("the ZIP is damaged or cut short") from None
    if len(infos) > MAX_MEMBERS:
        raise ImportFailed(f"the ZIP holds more than {MAX_MEMBERS} files; not an export")
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
    except RuntimeError:  # zipfile's "Bad password for file": the check byte failed
        raise WrongPassphrase("wrong password") from None
    except NotImplementedError:
        raise UnsupportedImport(
            "the ZIP uses a compression or cipher (AES?) that otpsync cannot read"
        ) from None
    except (*_BROKEN, zlib.error):
        if is_encrypted:  # the 1-in-256 wrong password that passes the check byte, or damage
            raise WrongPassphrase(
                "wrong password, or the ZIP is damaged (its old cipher cannot tell which)"
            ) from None
        raise ImportFailed("the ZIP is damaged or cut short") from None
    if len(content) > MAX_FILE_BYTES:
        raise ImportFailed(f"{info.filename} in the ZIP is larger than otpsync reads")
    return content
