"""Importers: other authenticator apps' export files → our Accounts.

Pure: bytes (and a password, when the file is encrypted) in, ``list[Account]`` out; no file
or network I/O, nothing printed or logged. Every failure is a ``BackupError`` with a one-line
message that never quotes the file (it may hold secrets).

    name = detect(data)                      # by content, never by file name
    if needs_password(name, data): ...       # ask on a TTY
    accounts = FORMATS[name].parse(data, password)
"""

from __future__ import annotations

from daemon.core.accounts import Account
from daemon.core.backup_format import check_size
from daemon.errors import BackupError, UnknownFormat
from daemon.importers import (
    aegis,
    andotp,
    authenticator_plus,
    authy,
    battlenet,
    bitwarden,
    duo,
    freeotp,
    proton,
    qr_image,
    sqlite_apps,
    steam,
    stratum,
    totp_authenticator,
    twofas,
    uris,
)
from daemon.importers._common import STRUCTURAL_ERRORS, Importer

__all__ = ["ALIASES", "FORMATS", "Importer", "detect", "get", "needs_password", "parse"]

# Sniffing order. Each sniff looks for its own keys, magic or table, so order only matters
# where one shape contains another: the URI lists come after every JSON/XML/binary format,
# and andOTP last of all, because its encrypted files have no header ("binary nothing else
# claims").
_ORDER: tuple[Importer, ...] = (
    qr_image.IMPORTER,  # magic bytes: PNG, JPEG, GIF, BMP
    aegis.IMPORTER,
    twofas.IMPORTER,
    bitwarden.IMPORTER,
    freeotp.PLUS_IMPORTER,
    proton.IMPORTER,
    uris.ENTE,
    stratum.IMPORTER,
    steam.IMPORTER,
    duo.IMPORTER,
    authy.IMPORTER,
    battlenet.IMPORTER,
    totp_authenticator.IMPORTER,
    freeotp.IMPORTER,
    sqlite_apps.GOOGLE_DB_IMPORTER,
    sqlite_apps.MICROSOFT_IMPORTER,
    authenticator_plus.IMPORTER,
    uris.GOOGLE_AUTHENTICATOR,
    uris.OTPAUTH_LIST,
    andotp.IMPORTER,
)

FORMATS: dict[str, Importer] = {importer.name: importer for importer in _ORDER}

# Other names people will type. WinAuth's export *is* an otpauth list, Ente Auth's plain
# export too; content cannot tell them apart, and need not.
ALIASES: dict[str, str] = {
    "winauth": "otpauth",
    "ente-auth": "ente",
    "authenticator-pro": "stratum",
    "freeotp2": "freeotp",
    "google": "google-authenticator",
}


def get(name: str) -> Importer:
    """The importer for a format name or alias (as given to ``--from``)."""
    key = name.strip().lower()
    importer = FORMATS.get(ALIASES.get(key, key))
    if importer is None:
        raise UnknownFormat(f"unknown format {name!r} (known: {', '.join(sorted(FORMATS))})")
    return importer


def detect(data: bytes) -> str:
    """The name of the format ``data`` is in, judged by its content."""
    check_size(len(data))
    if not data.strip():
        raise UnknownFormat("the file is empty")
    for importer in _ORDER:
        try:
            if importer.sniff(data):
                return importer.name
        except (*STRUCTURAL_ERRORS, BackupError):
            continue
    raise UnknownFormat(f"not a format otpsync can import (tried: {', '.join(FORMATS)})")


def needs_password(name: str, data: bytes) -> bool:
    """Whether ``data``, read as format ``name``, is encrypted (so a password must be asked)."""
    check_size(len(data))
    return get(name).encrypted(data)


def parse(data: bytes, name: str = "auto", password: str | None = None) -> list[Account]:
    """Detect (when ``name`` is "auto") and parse in one call."""
    importer = get(detect(data) if name == "auto" else name)
    return importer.parse(data, password)
