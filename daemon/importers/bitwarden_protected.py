"""Bitwarden's password-protected JSON export: the envelope around a plain JSON export.

As Bitwarden's clients write it (``BitwardenPasswordProtectedFileFormat``)::

    {"encrypted": true, "passwordProtected": true, "salt": "<text>",
     "kdfType": 0 | 1, "kdfIterations": N, "kdfMemory": MiB, "kdfParallelism": P,
     "encKeyValidation_DO_NOT_EDIT": "2.iv|ct|mac", "data": "2.iv|ct|mac"}

key = PBKDF2-HMAC-SHA256(password, salt, N) (kdfType 0) or Argon2id(password,
SHA-256(salt), t=N, m=kdfMemory MiB, p=kdfParallelism) (kdfType 1); the salt is the text's
UTF-8 bytes. encKey, macKey = HKDF-Expand-SHA256(key, "enc" / "mac", 32). Each EncString of
type 2 is AES-256-CBC (PKCS#7) with HMAC-SHA256(macKey, iv‖ct). The validation string only
has to decrypt (its value is a random UUID), so it is what tells a wrong password from a
damaged ``data``. ``data`` decrypts to the plain JSON export.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from daemon.errors import (
    DamagedFile,
    ImportFailed,
    KdfOutOfBounds,
    UnsupportedImport,
    WrongPassphrase,
)
from daemon.importers._common import Fields, cbc_open, from_b64, pbkdf2

PBKDF2, ARGON2ID = 0, 1
AES_CBC_HMAC = "2"  # EncryptionType.AesCbc256_HmacSha256_B64
# The ceilings Bitwarden's own clients enforce on an account's KDF (kdf-config.ts), which a
# password-protected export inherits: a genuine file never asks for more, and the most it can
# ask (1 GiB, 10 passes) takes a few seconds. PBKDF2's ceiling is _common.pbkdf2's.
ARGON2_MAX_MEMORY_MIB = 1024
ARGON2_MAX_ITERATIONS = 10
ARGON2_MAX_PARALLELISM = 16

ACCOUNT_RESTRICTED = (
    'this is an "account restricted" encrypted export, sealed with your Bitwarden account '
    "key, which otpsync cannot use; in Bitwarden choose File → Export vault, format "
    '".json (Encrypted)", export type "Password protected", and import that file'
)


def is_protected(root: Fields) -> bool:
    return root.flag("encrypted", False) and root.flag("passwordProtected", False)


def decrypt(root: Fields, password: str) -> bytes:
    """The plain JSON export inside a password-protected one."""
    if not is_protected(root):
        raise UnsupportedImport(ACCOUNT_RESTRICTED)
    enc_key, mac_key = _keys(root, password.encode("utf-8"))
    check = _open(root.text("encKeyValidation_DO_NOT_EDIT"), enc_key, mac_key)
    if check is None:
        raise WrongPassphrase("wrong password")
    plain = _open(root.text("data"), enc_key, mac_key)
    if plain is None:
        raise DamagedFile("the export's data fails authentication: damaged or tampered with")
    return plain


def _keys(root: Fields, password: bytes) -> tuple[bytes, bytes]:
    salt = root.text("salt").encode("utf-8")
    kdf = root.integer("kdfType")
    iterations = root.integer("kdfIterations")
    if kdf == PBKDF2:
        key = pbkdf2(password, salt, iterations, digest="SHA256")
    elif kdf == ARGON2ID:
        memory = root.integer("kdfMemory")
        lanes = root.integer("kdfParallelism")
        _check_argon2(iterations, memory, lanes)
        key = Argon2id(
            salt=hashlib.sha256(salt).digest(),
            length=32,
            iterations=iterations,
            lanes=lanes,
            memory_cost=memory * 1024,
        ).derive(password)
    else:
        raise UnsupportedImport(f"kdfType {kdf} is not one otpsync knows (0 PBKDF2, 1 Argon2id)")
    return tuple(  # type: ignore[return-value]
        HKDFExpand(algorithm=hashes.SHA256(), length=32, info=info).derive(key)
        for info in (b"enc", b"mac")
    )


def _check_argon2(iterations: int, memory_mib: int, lanes: int) -> None:
    if not (
        1 <= iterations <= ARGON2_MAX_ITERATIONS
        and 1 <= lanes <= ARGON2_MAX_PARALLELISM
        and 1 <= memory_mib <= ARGON2_MAX_MEMORY_MIB
        and memory_mib * 1024 >= 8 * lanes
    ):
        raise KdfOutOfBounds(
            f"the file asks for Argon2id t={iterations}, m={memory_mib} MiB, p={lanes}; "
            f"otpsync allows what Bitwarden does: t ≤ {ARGON2_MAX_ITERATIONS}, "
            f"m ≤ {ARGON2_MAX_MEMORY_MIB} MiB, p ≤ {ARGON2_MAX_PARALLELISM}"
        )


def _open(enc_string: str, enc_key: bytes, mac_key: bytes) -> bytes | None:
    """An EncString's plaintext; None when its MAC does not match these keys."""
    kind, dot, rest = enc_string.partition(".")
    if not dot or kind != AES_CBC_HMAC:
        raise UnsupportedImport(
            f"encryption type {kind[:8]!r} is not Bitwarden's AES-CBC + HMAC (type 2)"
            if dot
            else "an encrypted value is not a Bitwarden EncString"
        )
    parts = rest.split("|")
    if len(parts) != 3:
        raise ImportFailed("an encrypted value is not iv|ciphertext|mac")
    iv, data, mac = (from_b64(p, "an encrypted value", what) for p, what in
                     zip(parts, ("the IV", "the ciphertext", "the MAC"), strict=True))  # fmt: skip
    expected = hmac.digest(mac_key, iv + data, "sha256")
    if not hmac.compare_digest(expected, mac):
        return None
    plain = cbc_open(enc_key, iv, data)
    if plain is None:  # authentic, yet not CBC with PKCS#7: written wrongly, not damaged
        raise ImportFailed("an encrypted value has a valid MAC but no valid padding")
    return plain
