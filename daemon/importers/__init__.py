"""Importers: other authenticator apps' export files → our Accounts.

Pure: bytes (and a password, when the file is encrypted) in, an ``ImportResult`` out; no
file or network I/O, nothing printed or logged.

    name = detect(data)                      # by content, never by file name
    if needs_password(name, data): ...       # ask on a TTY
    result = FORMATS[name].parse(data, password)
    result.accounts, result.skipped          # the codes; the entries left out, with reasons
    result = FORMATS["kdbx"].parse(data, password, key_file)   # KeePass: a key file's bytes

**Entry-level tolerance, file-level strictness.** One entry otpsync cannot make (an mOTP or
Yandex code, an unknown type, a value that is not a secret, digits it does not do) never
sinks the file: each importer builds its entries through ``_common.each``, which turns that
entry's ``EntrySkipped`` (raised by ``make_account``) or ``ImportFailed`` into a ``Skipped``
(label, reason) and goes on. What fails is the file as a whole, with one ``BackupError``
whose message never quotes the file (it may hold secrets): a wrong password, damage that
authentication or the structure reveals, a KDF out of bounds, not that format. A file where
no entry imports is still a result (0 codes, N skipped: nothing to merge, the preview says
why) when every skip is an entry otpsync cannot make; when some entry is *malformed* too
(missing fields: the file is likely not this format), the file fails, naming that entry.
"""

from __future__ import annotations

from daemon.core.backup_format import check_size
from daemon.errors import BackupError, ImportFailed, UnknownFormat
from daemon.importers import (
    aegis,
    andotp,
    authenticator_plus,
    authy,
    battlenet,
    bitwarden,
    duo,
    ente,
    freeotp,
    kdbx,
    lastpass,
    proton,
    proton_pass,
    sqlite_apps,
    steam,
    stratum,
    totp_authenticator,
    twofas,
    uris,
    winauth,
)
from daemon.importers._common import STRUCTURAL_ERRORS, Importer, ImportResult, Skipped

__all__ = [
    "ALIASES", "FORMATS", "ImportResult", "Importer", "Skipped", "detect", "get",
    "needs_password", "parse",
]  # fmt: skip

# Sniffing order. Each sniff looks for its own keys, magic or table, so order only matters
# where one shape contains another: the URI lists come after every JSON/XML/binary format,
# and andOTP last of all, because its encrypted files have no header ("binary nothing else
# claims").
_ORDER: tuple[Importer, ...] = (
    aegis.IMPORTER,
    twofas.IMPORTER,
    proton_pass.IMPORTER,  # before Bitwarden: its data.json has "encrypted" and items too
    bitwarden.IMPORTER,
    freeotp.PLUS_IMPORTER,
    proton.IMPORTER,
    lastpass.IMPORTER,
    ente.IMPORTER,
    stratum.IMPORTER,
    steam.IMPORTER,
    duo.IMPORTER,
    authy.IMPORTER,
    battlenet.IMPORTER,
    totp_authenticator.IMPORTER,
    freeotp.IMPORTER,
    kdbx.IMPORTER,
    sqlite_apps.GOOGLE_DB_IMPORTER,
    sqlite_apps.MICROSOFT_IMPORTER,
    authenticator_plus.IMPORTER,
    winauth.IMPORTER,  # any ZIP of a .txt: after Authenticator Plus's Accounts.txt
    uris.GOOGLE_AUTHENTICATOR,
    uris.OTPAUTH_LIST,
    andotp.IMPORTER,
)

FORMATS: dict[str, Importer] = {importer.name: importer for importer in _ORDER}

# Other names people will type. Ente Auth's plain export *is* an otpauth list; content cannot
# tell them apart, and need not.
ALIASES: dict[str, str] = {
    "ente-auth": "ente",
    "ente-encrypted": "ente",
    "authenticator-pro": "stratum",
    "freeotp2": "freeotp",
    "google": "google-authenticator",
    "keepass": "kdbx",
    "keepassxc": "kdbx",
}


def get(name: str) -> Importer:
    """The importer for a format name or alias (as given to ``--from``)."""
    key = name.strip().lower()
    importer = FORMATS.get(ALIASES.get(key, key))
    if importer is None:
        raise UnknownFormat(f"unknown format {name!r} (known: {', '.join(sorted(FORMATS))})")
    return importer


def detect(data: bytes, password: str | None = None) -> str:
    """The name of the format ``data`` is in, judged by its content.

    Old andOTP encrypted backups have no header at all; when nothing else matches and a
    password is given, it is tried: AES-GCM authenticates, so a wrong guess cannot pass. A
    container a sniff recognised but could not open (a ZIP cut short) is reported as that.
    """
    check_size(len(data))
    if not data.strip():
        raise UnknownFormat("the file is empty")
    damaged: ImportFailed | None = None
    for importer in _ORDER:
        try:
            if importer.sniff(data):
                return importer.name
        except ImportFailed as exc:
            damaged = damaged or exc
        except (*STRUCTURAL_ERRORS, BackupError):
            continue
    if password is not None and andotp.opens_headerless(data, password):
        return andotp.IMPORTER.name
    if damaged is not None:
        raise damaged
    raise UnknownFormat(f"not a format otpsync can import (tried: {', '.join(FORMATS)})")


def needs_password(name: str, data: bytes) -> bool:
    """Whether ``data``, read as format ``name``, is encrypted (so a password must be asked)."""
    check_size(len(data))
    return get(name).encrypted(data)


def parse(
    data: bytes, name: str = "auto", password: str | None = None, key_file: bytes | None = None
) -> ImportResult:
    """Detect (when ``name`` is "auto") and parse in one call."""
    importer = get(detect(data, password) if name == "auto" else name)
    return importer.parse(data, password, key_file)
