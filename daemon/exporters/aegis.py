"""Aegis vault files (plain or password-encrypted) that Aegis for Android imports.

Compatibility: we write what Aegis 3.x itself writes (its docs/vault.md and the ``toJson`` of
Vault, VaultEntry and PasswordSlot): vault ``version`` 1; ``db`` version 3 with entries of
type ``totp``, ``hotp`` or ``steam`` (uuid, name, issuer, empty note, not favourite, no icon,
no groups) and ``info`` {secret as unpadded base32, algo, digits, period or counter}.

Encrypted vaults have one password slot (type 1): a random 256-bit master key, wrapped with
AES-256-GCM under scrypt(UTF-8 password, random 32-byte salt, N=2^15, r=8, p=1) and marked
``repaired`` (Aegis' flag for "the password was hashed as plain UTF-8"); the db JSON is
encrypted with AES-256-GCM under the master key, its nonce and tag in ``header.params``.
Nonces are 12 random bytes, tags 16 bytes, no associated data: Aegis' own choices.

What does not carry over: an HOTP code's period (Aegis has none; HOTP ignores it) and our
timestamps. Entry uuids are our account ids, so exporting twice gives the same uuids.
Every file written here reads back through ``daemon.importers.aegis`` to the same codes.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from daemon.core.accounts import Account

VAULT_VERSION = 1
DB_VERSION = 3
PASSWORD_SLOT = 1
KEY_BYTES = 32
SALT_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16


@dataclass(frozen=True, slots=True)
class ScryptParams:
    """scrypt cost parameters of a password slot."""

    n: int
    r: int
    p: int


# Aegis' fixed parameters (docs/vault.md: Android's full-disk-encryption choice, 32 MiB).
AEGIS_SCRYPT = ScryptParams(n=2**15, r=8, p=1)


def plain(accounts: Iterable[Account]) -> bytes:
    """An unencrypted Aegis vault holding ``accounts``, as UTF-8 JSON."""
    vault = {
        "version": VAULT_VERSION,
        "header": {"slots": None, "params": None},
        "db": _db(accounts),
    }
    return _dump(vault)


def encrypted(accounts: Iterable[Account], password: str) -> bytes:
    """A password-encrypted Aegis vault holding ``accounts``, as UTF-8 JSON.

    Raises ValueError for an empty password (Aegis refuses to set one) or one that is not
    valid text (lone surrogates cannot be encoded as UTF-8).
    """
    if not password:
        raise ValueError("an encrypted Aegis vault needs a non-empty password")
    secret = password.encode("utf-8")  # UnicodeEncodeError (a ValueError) on lone surrogates
    master_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    salt = os.urandom(SALT_BYTES)
    params = AEGIS_SCRYPT
    wrapping_key = Scrypt(salt=salt, length=KEY_BYTES, n=params.n, r=params.r, p=params.p).derive(
        secret
    )
    key_nonce, wrapped, key_tag = _seal(wrapping_key, master_key)
    db_json = json.dumps(_db(accounts), ensure_ascii=False, separators=(",", ":"))
    db_nonce, sealed_db, db_tag = _seal(master_key, db_json.encode("utf-8"))
    slot = {
        "type": PASSWORD_SLOT,
        "uuid": str(uuid.uuid4()),
        "key": wrapped.hex(),
        "key_params": {"nonce": key_nonce.hex(), "tag": key_tag.hex()},
        "n": params.n,
        "r": params.r,
        "p": params.p,
        "salt": salt.hex(),
        "repaired": True,
    }
    vault = {
        "version": VAULT_VERSION,
        "header": {
            "slots": [slot],
            "params": {"nonce": db_nonce.hex(), "tag": db_tag.hex()},
        },
        "db": base64.b64encode(sealed_db).decode("ascii"),
    }
    return _dump(vault)


def _seal(key: bytes, data: bytes) -> tuple[bytes, bytes, bytes]:
    """AES-256-GCM with a fresh random nonce: (nonce, ciphertext, tag), split as Aegis stores
    them (the cryptography library appends the tag to the ciphertext)."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, data, None)
    return nonce, sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]


def _db(accounts: Iterable[Account]) -> dict[str, Any]:
    return {
        "version": DB_VERSION,
        "entries": [_entry(account) for account in accounts],
        "groups": [],
        "icons_optimized": True,
    }


def _entry(account: Account) -> dict[str, Any]:
    info: dict[str, Any] = {
        "secret": account.secret,  # already canonical: upper-case base32 without padding
        "algo": account.algorithm,
        "digits": account.digits,
    }
    if account.type == "hotp":
        info["counter"] = account.counter
    else:
        info["period"] = account.period
    # Keys in the order Aegis writes them (VaultEntry.toJson).
    return {
        "type": account.type,
        "uuid": account.id,
        "name": account.account,
        "issuer": account.issuer,
        "note": "",
        "favorite": False,
        "icon": None,
        "info": info,
        "groups": [],
    }


def _dump(vault: dict[str, Any]) -> bytes:
    # Indented like Aegis' own exports; non-ASCII written as UTF-8, as Aegis does.
    return (json.dumps(vault, indent=4, ensure_ascii=False) + "\n").encode("utf-8")
