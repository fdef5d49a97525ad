"""andOTP backups: a plain JSON array, or that array encrypted with AES-256-GCM.

Encrypted files carry no magic. The current format starts with a big-endian PBKDF2 iteration
count (andOTP picks 140 000–160 000), a 12-byte salt and a 12-byte nonce; the old format is just
nonce‖ciphertext‖tag under SHA-256(password). Detection by content recognises the current
layout by its iteration count; the old one only with the password (``opens_headerless``:
AES-GCM authenticates, so random bytes never pass). Reading tries the current layout when
the header is plausible, then the old one.
"""

from __future__ import annotations

import hashlib
from typing import Any

from daemon.core.accounts import Account
from daemon.errors import ImportFailed, WrongPassphrase
from daemon.importers._common import (
    Fields,
    Importer,
    Skipped,
    each,
    entry_label,
    gcm_try,
    is_json_array,
    json_items,
    load_json,
    make_account,
    pbkdf2,
    require_password,
    starts_with,
    unsupported_type,
    without_issuer_prefix,
)

NONCE, SALT, TAG, ITERATIONS_FIELD = 12, 12, 16, 4
MIN_ENCRYPTED = NONCE + TAG + 2  # "[]" is the smallest plaintext
PLAUSIBLE_ITERATIONS = range(1_000, 1_000_001)  # andOTP writes 140 000-160 000


def _is_plain(data: bytes) -> bool:
    return is_json_array(data, "secret", "label", "type") and not is_json_array(
        data, "otpGenerator"
    )


def _is_binary(data: bytes) -> bool:
    """The current encrypted layout, recognised by its plausible iteration count. The old,
    headerless layout is random bytes like any other file: only its password tells
    (``opens_headerless``, which ``detect`` tries last)."""
    if len(data) < ITERATIONS_FIELD + SALT + NONCE + TAG + 2:
        return False
    if int.from_bytes(data[:ITERATIONS_FIELD], "big") not in PLAUSIBLE_ITERATIONS:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def sniff(data: bytes) -> bool:
    return _is_plain(data) or _is_binary(data)


def is_encrypted(data: bytes) -> bool:
    return not _is_plain(data)


def read(data: bytes, password: str | None) -> list[Account | Skipped]:
    if starts_with(data, b"["):
        return _accounts(load_json(data))
    if len(data) < MIN_ENCRYPTED:
        raise ImportFailed("the file is too short to be an andOTP backup")
    secret = require_password(password).encode("utf-8")
    plain = None
    iterations = int.from_bytes(data[:ITERATIONS_FIELD], "big")
    if iterations in PLAUSIBLE_ITERATIONS and len(data) >= ITERATIONS_FIELD + SALT + NONCE + TAG:
        plain = _open_new(data, secret, iterations)
    if plain is None:
        plain = _open(hashlib.sha256(secret).digest(), data)
    if plain is None:
        raise WrongPassphrase("wrong password (or not an andOTP backup: they carry no header)")
    return _accounts(load_json(plain, "the decrypted backup"))


def opens_headerless(data: bytes, password: str) -> bool:
    """Whether ``data`` is an old-format backup that ``password`` opens (one SHA-256 and one
    AES-GCM check: cheap enough to try on a file nothing else claims)."""
    if len(data) < MIN_ENCRYPTED:
        return False
    plain = _open(hashlib.sha256(password.encode("utf-8")).digest(), data)
    return plain is not None and starts_with(plain, b"[")


def _open_new(data: bytes, secret: bytes, iterations: int) -> bytes | None:
    salt = data[ITERATIONS_FIELD : ITERATIONS_FIELD + SALT]
    key = pbkdf2(secret, salt, iterations, digest="SHA1")
    return _open(key, data[ITERATIONS_FIELD + SALT :])


def _open(key: bytes, blob: bytes) -> bytes | None:
    return gcm_try(key, blob[:NONCE], blob[NONCE:])


def _accounts(value: Any) -> list[Account | Skipped]:
    return each(json_items(value, "backup"), _entry)


def _entry(value: Any, where: str) -> Account:
    entry = Fields.of(value, where)
    otp_type = entry.text("type").lower()
    issuer = entry.text("issuer", "")
    name = entry.text("label", "")
    if not entry.has("issuer"):
        # Old backups had no issuer field; andOTP showed "Issuer - name" labels.
        head, sep, rest = name.partition(" - ")
        if sep:
            issuer, name = head, without_issuer_prefix(rest, head)
    if otp_type not in ("totp", "hotp", "steam"):
        raise unsupported_type(entry_label(where, issuer, name), otp_type)
    return make_account(
        where,
        type=otp_type,
        secret=entry.text("secret"),
        issuer=issuer,
        account=name,
        algorithm=entry.text("algorithm", "SHA1"),
        digits=entry.integer("digits", 6),
        period=entry.integer("period", 30),
        counter=entry.integer("counter", 0),
    )


IMPORTER = Importer(
    name="andotp",
    title="andOTP backup",
    description="andOTP backup (plain JSON, or encrypted .json.aes, current and old formats)",
    sniff=sniff,
    read=read,
    is_encrypted=is_encrypted,
    needs="the backup password (the old format is recognised by it)",
)
