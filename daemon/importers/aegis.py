"""Aegis vault files (``aegis-backup-*.json``, ``aegis-export-*.json``), plain or encrypted.

Encrypted vaults (Aegis docs/vault.md): each password slot holds the master key wrapped with
AES-256-GCM under scrypt(password, salt, N, r, p); the master key decrypts the base64 ``db``
with AES-256-GCM (nonce and tag in ``header.params``). N, r and p come from the file, so they
are bounded before scrypt runs: each slot's, and all the slots' together (a slot may be tried
twice, with the legacy password bytes), before the first.
"""

from __future__ import annotations

import struct
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
    from_hex,
    gcm_open,
    gcm_try,
    is_json_object,
    load_json,
    make_account,
    require_password,
    scrypt,
    unsupported_type,
)

SUPPORTED_DB_VERSION = 3
PASSWORD_SLOT = 1
MAX_SLOTS = 8  # each password slot costs one scrypt
_JAVA_UTF8_BYTES_PER_CHAR = struct.unpack("f", struct.pack("f", 1.1))[0]


def sniff(data: bytes) -> bool:
    return is_json_object(data, "header", "db")


def is_encrypted(data: bytes) -> bool:
    root = load_json(data)
    return isinstance(root, dict) and isinstance(root.get("db"), str)


def read(data: bytes, password: str | None) -> list[Account | Skipped]:
    root = Fields.of(load_json(data), "the vault")
    header = root.child("header")
    db: Any = root.data.get("db")
    if isinstance(db, str):
        db = _decrypt(db, header, require_password(password))
    elif not isinstance(db, dict):
        raise ImportFailed("the vault has no 'db' object")
    body = Fields.of(db, "the vault's db")
    version = body.integer("version")
    if version > SUPPORTED_DB_VERSION:
        raise UnsupportedImport(
            f"vault database version {version} is newer than otpsync reads "
            f"(up to {SUPPORTED_DB_VERSION})"
        )
    return each(body.items("entries"), _entry)


def _entry(value: Any, where: str) -> Account:
    entry = Fields.of(value, where)
    otp_type = entry.text("type").lower()
    issuer, name = entry.text("issuer", ""), entry.text("name", "")
    if otp_type not in ("totp", "hotp", "steam"):
        raise unsupported_type(entry_label(where, issuer, name), otp_type)
    info = entry.child("info")
    return make_account(
        where,
        type=otp_type,
        secret=info.text("secret"),
        issuer=issuer,
        account=name,
        algorithm=info.text("algo", "SHA1"),
        digits=info.integer("digits", 6),
        period=info.integer("period", 30),
        counter=info.integer("counter", 0),
    )


def _decrypt(db: str, header: Fields, password: str) -> Any:
    slots = [Fields.of(s, f"slot {i}") for i, s in enumerate(header.items("slots"), 1)]
    password_slots = [s for s in slots if s.integer("type") == PASSWORD_SLOT]
    if not password_slots:
        raise UnsupportedImport(
            "the vault has no password slot (biometric only); in Aegis, set a password and "
            "export again"
        )
    if len(password_slots) > MAX_SLOTS:
        raise ImportFailed(f"the vault has more than {MAX_SLOTS} password slots")
    tries = [(slot, _candidates(slot, password)) for slot in password_slots]
    work = KdfWork()
    for slot, candidates in tries:
        work = work.scrypt(slot.integer("n"), slot.integer("r"), slot.integer("p"),
                           times=len(candidates))  # fmt: skip
    work.check()
    master = next(
        (key for slot, candidates in tries if (key := _unwrap(slot, candidates)) is not None),
        None,
    )
    if master is None:
        raise WrongPassphrase("wrong password")
    params = header.child("params")
    nonce = from_hex(params.text("nonce"), "header params", "the nonce")
    tag = from_hex(params.text("tag"), "header params", "the tag")
    plain = gcm_open(
        master,
        nonce,
        from_b64(db, "the vault", "db") + tag,
        None,
        fail=DamagedFile("the vault's contents fail authentication: damaged or tampered with"),
    )
    return load_json(plain, "the decrypted vault")


def _candidates(slot: Fields, password: str) -> list[bytes]:
    """The password bytes to try on a slot: UTF-8, and Aegis's legacy form where it differs."""
    candidates = [password.encode("utf-8")]
    legacy = java_legacy_bytes(password)
    # HMAC pads keys to 64 bytes with zeros, so a legacy form only differs beyond that.
    if not slot.flag("repaired", False) and len(legacy) > 64 and legacy != candidates[0]:
        candidates.append(legacy)
    return candidates


def _unwrap(slot: Fields, candidates: list[bytes]) -> bytes | None:
    """The master key from one password slot, or None if the password does not open it."""
    salt = from_hex(slot.text("salt"), slot.where, "the salt")
    wrapped = from_hex(slot.text("key"), slot.where, "the key")
    params = slot.child("key_params")
    nonce = from_hex(params.text("nonce"), slot.where, "the nonce")
    tag = from_hex(params.text("tag"), slot.where, "the tag")
    n, r, p = slot.integer("n"), slot.integer("r"), slot.integer("p")
    for secret in candidates:
        master = gcm_try(scrypt(secret, salt, n=n, r=r, p=p), nonce, wrapped + tag)
        if master is not None:
            return master
    return None


def java_legacy_bytes(password: str) -> bytes:
    """The password as Aegis before its "repaired" fix hashed it: Java's whole
    ``UTF_8.encode(chars).array()`` buffer, zero-padded past the text. Java sizes that
    buffer as (int)(chars × 1.1f) and grows it to 2n+1 while the text does not fit."""
    encoded = password.encode("utf-8", "surrogatepass")
    java_chars = len(password.encode("utf-16-le", "surrogatepass")) // 2
    estimate = struct.unpack("f", struct.pack("f", java_chars * _JAVA_UTF8_BYTES_PER_CHAR))[0]
    capacity = int(estimate)
    while capacity < len(encoded):
        capacity = 2 * capacity + 1
    return encoded + bytes(capacity - len(encoded))


IMPORTER = Importer(
    name="aegis",
    title="Aegis vault",
    description="Aegis vault JSON (plain or password-encrypted)",
    sniff=sniff,
    read=read,
    is_encrypted=is_encrypted,
    needs="the vault password",
)
