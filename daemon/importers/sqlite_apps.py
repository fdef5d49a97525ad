"""Authenticator apps' own SQLite databases, copied off a (rooted) phone.

* Old Google Authenticator (``databases/databases``): table ``accounts`` with the label in
  ``email``, a base32 ``secret``, ``type`` 0 TOTP / 1 HOTP and a ``counter``. It stored no
  algorithm, digits or period: SHA1, 6 digits, 30 s.
* Microsoft Authenticator (``databases/PhoneFactor``): table ``accounts``; ``account_type`` 0
  is a third-party TOTP code (base32), 1 a Microsoft personal account (base64 secret, 8
  digits). Other types are push-only work accounts with no code to import.
"""

from __future__ import annotations

from daemon.core.accounts import Account
from daemon.importers._common import (
    EntrySkipped,
    Fields,
    Importer,
    Skipped,
    each,
    entry_label,
    from_b64,
    make_account,
    sqlite_rows,
    sqlite_tables,
    without_issuer_prefix,
)

TABLE = "accounts"
GOOGLE_COLUMNS = ["email", "secret", "type", "counter"]
MICROSOFT_COLUMNS = ["name", "username", "oath_secret_key", "account_type"]
MS_TOTP, MS_PERSONAL = 0, 1


def sniff_google(data: bytes) -> bool:
    return set(GOOGLE_COLUMNS) <= sqlite_tables(data).get(TABLE, set())


def read_google(data: bytes, password: str | None) -> list[Account | Skipped]:
    has_issuer = "issuer" in sqlite_tables(data).get(TABLE, set())
    rows = sqlite_rows(data, TABLE, GOOGLE_COLUMNS + (["issuer"] if has_issuer else []))
    return each(rows, _google_row, "row")


def _google_row(row: dict[str, object], where: str) -> Account:
    fields = Fields(row, where)
    otp_type = fields.integer("type", 0)
    label = fields.text("email", "")
    issuer = fields.text("issuer", "")
    if not issuer and ":" in label:
        issuer = label.partition(":")[0]
    account = without_issuer_prefix(label, issuer)
    if otp_type not in (0, 1):
        raise EntrySkipped(entry_label(where, issuer, account), f"unknown code type {otp_type}")
    return make_account(
        where,
        type="hotp" if otp_type == 1 else "totp",
        secret=fields.text("secret"),
        issuer=issuer,
        account=account,
        counter=fields.integer("counter", 0),
    )


def sniff_microsoft(data: bytes) -> bool:
    return set(MICROSOFT_COLUMNS) <= sqlite_tables(data).get(TABLE, set())


def read_microsoft(data: bytes, password: str | None) -> list[Account | Skipped]:
    return each(sqlite_rows(data, TABLE, MICROSOFT_COLUMNS), _microsoft_row, "row")


def _microsoft_row(row: dict[str, object], where: str) -> list[Account | Skipped] | Account:
    fields = Fields(row, where)
    kind = fields.integer("account_type", MS_TOTP)
    if kind not in (MS_TOTP, MS_PERSONAL):
        return []  # a push-only work account: no code
    secret_text = fields.text("oath_secret_key")
    secret: str | bytes = secret_text
    if kind == MS_PERSONAL:
        secret = from_b64(secret_text, fields.where, "the secret")
    return make_account(
        where,
        secret=secret,
        issuer=fields.text("name", ""),
        account=fields.text("username", ""),
        digits=8 if kind == MS_PERSONAL else 6,
    )


GOOGLE_DB_IMPORTER = Importer(
    name="google-authenticator-db",
    title="Google Authenticator database",
    description="old Google Authenticator app database (SQLite 'databases' file)",
    sniff=sniff_google,
    read=read_google,
)
MICROSOFT_IMPORTER = Importer(
    name="microsoft-authenticator",
    title="Microsoft Authenticator database",
    description="Microsoft Authenticator app database (SQLite 'PhoneFactor' file)",
    sniff=sniff_microsoft,
    read=read_microsoft,
)
