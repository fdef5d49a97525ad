"""2FAS Authenticator backups (``*.2fas``), schema versions 1 to 4, plain or encrypted.

Encrypted backups keep the services list in ``servicesEncrypted`` as
``b64(ciphertext‖tag):b64(salt):b64(nonce)``: PBKDF2-HMAC-SHA256, 10 000 iterations, AES-GCM.
``reference`` is a known text encrypted the same way, so a wrong password is told apart from
a damaged services blob. Schema 1 stores no algorithm/digits/period (TOTP SHA1/6/30), schema 2
no token type (every entry is TOTP).
"""

from __future__ import annotations

from typing import Any

from daemon.core.accounts import Account
from daemon.errors import DamagedFile, ImportFailed, UnsupportedImport, WrongPassphrase
from daemon.importers._common import (
    Fields,
    Importer,
    KdfWork,
    Skipped,
    each,
    entry_label,
    from_b64,
    gcm_open,
    is_json_object,
    json_items,
    load_json,
    make_account,
    pbkdf2,
    require_password,
    unsupported_type,
    without_issuer_prefix,
)

MAX_SCHEMA = 4
ITERATIONS = 10_000
_TYPES = {"TOTP": "totp", "HOTP": "hotp", "STEAM": "steam"}


def sniff(data: bytes) -> bool:
    return is_json_object(data, "services", "schemaVersion")


def is_encrypted(data: bytes) -> bool:
    root = load_json(data)
    return isinstance(root, dict) and bool(root.get("servicesEncrypted"))


def read(data: bytes, password: str | None) -> list[Account | Skipped]:
    root = Fields.of(load_json(data), "the backup")
    version = root.integer("schemaVersion")
    if version > MAX_SCHEMA:
        raise UnsupportedImport(
            f"schema version {version} is newer than otpsync reads (up to {MAX_SCHEMA})"
        )
    if root.text("servicesEncrypted", ""):
        services = _decrypt(root, require_password(password).encode("utf-8"))
    else:
        services = root.items("services")
    return each(services, _service, "service")


def _parts(value: str, what: str) -> tuple[bytes, bytes, bytes]:
    parts = value.split(":")
    if len(parts) != 3:
        raise ImportFailed(f"{what} is not ciphertext:salt:nonce")
    data, salt, nonce = (from_b64(p, what) for p in parts)
    return data, salt, nonce


def _decrypt(root: Fields, secret: bytes) -> list[Any]:
    data, salt, nonce = _parts(root.text("servicesEncrypted"), "servicesEncrypted")
    KdfWork().pbkdf2(ITERATIONS, times=2 if root.text("reference", "") else 1).check()
    key = pbkdf2(secret, salt, ITERATIONS, digest="SHA256")
    failure: DamagedFile | WrongPassphrase = WrongPassphrase("wrong password")
    if root.text("reference", ""):
        ref_data, ref_salt, ref_nonce = _parts(root.text("reference"), "reference")
        ref_key = key if ref_salt == salt else pbkdf2(secret, ref_salt, ITERATIONS, digest="SHA256")
        gcm_open(ref_key, ref_nonce, ref_data, None, fail=WrongPassphrase("wrong password"))
        failure = DamagedFile("the encrypted services fail authentication: damaged")
    plain = gcm_open(key, nonce, data, None, fail=failure)
    return json_items(load_json(plain, "the decrypted services"), "the decrypted services")


def _service(value: Any, where: str) -> Account:
    service = Fields.of(value, where)
    otp = service.child("otp") if service.has("otp") else Fields({}, where)
    issuer = service.text("name", "") or otp.text("issuer", "")
    account = otp.text("account", "") or without_issuer_prefix(otp.text("label", ""), issuer)
    token_type = otp.text("tokenType", "TOTP").upper()
    if token_type not in _TYPES:
        raise unsupported_type(entry_label(where, issuer, account), token_type)
    return make_account(
        where,
        type=_TYPES[token_type],
        secret=service.text("secret"),
        issuer=issuer,
        account=account,
        algorithm=otp.text("algorithm", "SHA1"),
        digits=otp.integer("digits", 6),
        period=otp.integer("period", 30),
        counter=otp.integer("counter", 0),
    )


IMPORTER = Importer(
    name="2fas",
    title="2FAS backup",
    description="2FAS Authenticator backup (.2fas, schema 1-4, plain or encrypted)",
    sniff=sniff,
    read=read,
    is_encrypted=is_encrypted,
    needs="the backup password",
)
