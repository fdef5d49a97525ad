"""Stratum (formerly Authenticator Pro) backups and its internal database.

* Plain backup: JSON ``{"Authenticators": [...]}``.
* Encrypted backup: ``AUTHENTICATORPRO`` ‖ salt(16) ‖ nonce(12) ‖ AES-256-GCM, key by
  Argon2id (t=3, m=64 MiB, p=4).
* Legacy encrypted backup: ``AuthenticatorPro`` ‖ salt(20) ‖ IV(16) ‖ AES-256-CBC, key by
  PBKDF2-HMAC-SHA1 with 64 000 iterations.
* Internal database (``authenticator.db3``): SQLite, table ``authenticator``.
* HTML export: a page of otpauth URIs (stratum_html).

Types: 1 HOTP, 2 TOTP, 4 Steam (3 mOTP and 5 Yandex cannot be made by otpsync).
Algorithms: 0 SHA1, 1 SHA256, 2 SHA512.
"""

from __future__ import annotations

from daemon.core.accounts import Account
from daemon.errors import ImportFailed, WrongPassphrase
from daemon.importers import stratum_html
from daemon.importers._common import (
    EntrySkipped,
    Fields,
    Importer,
    Skipped,
    argon2id,
    cbc_open,
    each,
    entry_label,
    gcm_try,
    is_json_object,
    load_json,
    make_account,
    pbkdf2,
    require_password,
    sqlite_rows,
    sqlite_tables,
    unsupported_type,
)

HEADER = b"AUTHENTICATORPRO"
LEGACY_HEADER = b"AuthenticatorPro"
ARGON2 = {"iterations": 3, "memory_kib": 64 * 1024, "lanes": 4}
LEGACY_ITERATIONS = 64_000
TABLE = "authenticator"
COLUMNS = ["type", "issuer", "username", "secret", "algorithm", "digits", "period", "counter"]
_TYPES = {1: "hotp", 2: "totp", 4: "steam"}
_UNSUPPORTED = {3: "motp", 5: "yandex"}
_ALGORITHMS = {0: "SHA1", 1: "SHA256", 2: "SHA512"}


def _is_db(data: bytes) -> bool:
    return set(COLUMNS) <= sqlite_tables(data).get(TABLE, set())


def is_encrypted(data: bytes) -> bool:
    return data.startswith((HEADER, LEGACY_HEADER))


def sniff(data: bytes) -> bool:
    return (
        is_encrypted(data)
        or is_json_object(data, "Authenticators")
        or _is_db(data)
        or stratum_html.is_html(data)
    )


def read(data: bytes, password: str | None) -> list[Account | Skipped]:
    if data.startswith(HEADER):
        data = _decrypt(data, require_password(password).encode("utf-8"))
    elif data.startswith(LEGACY_HEADER):
        data = _decrypt_legacy(data, require_password(password).encode("utf-8"))
    elif _is_db(data):
        rows = sqlite_rows(data, TABLE, COLUMNS)
        return each(rows, lambda row, where: _entry(Fields(row, where)), "row")
    elif stratum_html.is_html(data):
        return stratum_html.read_html(data)
    root = Fields.of(load_json(data), "the backup")
    return each(
        root.items("Authenticators"),
        lambda value, where: _entry(_lower_keys(Fields.of(value, where))),
    )


def _lower_keys(fields: Fields) -> Fields:
    """The JSON backup says "Issuer" where the database says "issuer"."""
    return Fields({k.lower(): v for k, v in fields.data.items()}, fields.where)


def _decrypt(data: bytes, password: bytes) -> bytes:
    body = data[len(HEADER) :]
    salt, nonce, ciphertext = body[:16], body[16:28], body[28:]
    if len(ciphertext) < 16:
        raise ImportFailed("the encrypted backup is cut short")
    plain = gcm_try(argon2id(password, salt, **ARGON2), nonce, ciphertext)
    if plain is None:
        raise WrongPassphrase("wrong password")
    return plain


def _decrypt_legacy(data: bytes, password: bytes) -> bytes:
    body = data[len(LEGACY_HEADER) :]
    salt, iv, ciphertext = body[:20], body[20:36], body[36:]
    plain = cbc_open(pbkdf2(password, salt, LEGACY_ITERATIONS, digest="SHA1"), iv, ciphertext)
    if plain is None or not plain.lstrip().startswith(b"{"):
        raise WrongPassphrase("wrong password")
    return plain


def _entry(fields: Fields) -> Account:
    """One authenticator, from a backup entry or a database row (lower-case keys)."""
    where = fields.where
    otp_type = fields.integer("type")
    issuer, username = fields.text("issuer", ""), fields.text("username", "")
    label = entry_label(where, issuer, username)
    if otp_type not in _TYPES:
        raise unsupported_type(label, _UNSUPPORTED.get(otp_type, str(otp_type)))
    algorithm = fields.integer("algorithm", 0)
    if algorithm not in _ALGORITHMS:
        raise EntrySkipped(label, f"unknown algorithm {algorithm}")
    return make_account(
        where,
        type=_TYPES[otp_type],
        secret=fields.text("secret"),
        issuer=issuer,
        account=username,
        algorithm=_ALGORITHMS[algorithm],
        digits=fields.integer("digits", 6),
        period=fields.integer("period", 30),
        counter=fields.integer("counter", 0),
    )


IMPORTER = Importer(
    name="stratum",
    title="Stratum backup",
    description="Stratum / Authenticator Pro backup (JSON, encrypted, legacy encrypted, .db3 or"
    " HTML export)",
    sniff=sniff,
    read=read,
    is_encrypted=is_encrypted,
    needs="the backup password",
)
