"""Ente Auth exports: plain text (an otpauth list) or encrypted JSON around that text.

As Ente Auth writes it (``export_widget.dart``, ``EnteAuthExport``)::

    {"version": 1, "kdfParams": {"memLimit": BYTES, "opsLimit": T, "salt": b64(16)},
     "encryptedData": b64(one secretstream message), "encryptionNonce": b64(24-byte header)}

key = libsodium ``crypto_pwhash`` (Argon2id v1.3, t = opsLimit, m = memLimit bytes, p = 1)
over the UTF-8 password; the text is one ``crypto_secretstream_xchacha20poly1305`` message
(its tag is FINAL or MESSAGE; Ente's reader does not look at it, nor do we). PyNaCl is the
binding, as ``cryptography`` has no secretstream. The stream has no key check, so a wrong
password and damaged ciphertext fail the same MAC.

Ente's ``deriveSensitiveKey`` starts at libsodium's "sensitive" cost (1 GiB, 4 passes) and
trades memory for passes on small devices (512 MiB × 8, 256 MiB × 16, …), so memory × passes
is at most 4 GiB; that, with 1 GiB of memory, is the bound checked before deriving.
"""

from __future__ import annotations

from daemon.core.accounts import Account
from daemon.errors import ImportFailed, KdfOutOfBounds, UnsupportedImport, WrongPassphrase
from daemon.importers._common import (
    Fields,
    Importer,
    Skipped,
    from_b64,
    is_json_object,
    load_json,
    require_password,
)
from daemon.importers.uris import read_lines

SUPPORTED_VERSION = 1
# libsodium's constants, written out so that PyNaCl loads only when an encrypted export is
# opened (the tray lists the formats but never decrypts one; tests check they match).
MAX_MEMORY = 1 << 30  # argon2id.MEMLIMIT_SENSITIVE: 1 GiB
MAX_COST = MAX_MEMORY * 4  # × argon2id.OPSLIMIT_SENSITIVE: bytes × passes
MIN_MEMORY, MIN_PASSES, SALT_BYTES = 8192, 1, 16  # MEMLIMIT_MIN, OPSLIMIT_MIN, SALTBYTES
HEADER_BYTES = 24  # crypto_secretstream_xchacha20poly1305_HEADERBYTES
MAC_BYTES = 17  # crypto_secretstream_xchacha20poly1305_ABYTES


def is_encrypted(data: bytes) -> bool:
    return is_json_object(data, "kdfParams", "encryptedData")


def read(data: bytes, password: str | None) -> list[Account | Skipped]:
    if not is_encrypted(data):
        return read_lines(data)
    return read_lines(decrypt(data, require_password(password)))


def decrypt(data: bytes, password: str) -> bytes:
    """The plain export (otpauth lines) inside an encrypted one."""
    root = Fields.of(load_json(data), "the export")
    version = root.integer("version", SUPPORTED_VERSION)
    if version != SUPPORTED_VERSION:
        raise UnsupportedImport(f"export version {version} is not one otpsync reads (1)")
    params = root.child("kdfParams")
    memory, passes = params.integer("memLimit"), params.integer("opsLimit")
    salt = from_b64(params.text("salt"), "kdfParams", "the salt")
    header = from_b64(root.text("encryptionNonce"), "the export", "encryptionNonce")
    message = from_b64(root.text("encryptedData"), "the export", "encryptedData")
    _check(memory, passes)
    if len(salt) != SALT_BYTES or len(header) != HEADER_BYTES or len(message) < MAC_BYTES:
        raise ImportFailed("the salt, nonce or encrypted data has the wrong length")
    import nacl.exceptions
    from nacl import bindings
    from nacl.pwhash import argon2id

    key = argon2id.kdf(
        bindings.crypto_secretstream_xchacha20poly1305_KEYBYTES,
        password.encode("utf-8"),
        salt,
        opslimit=passes,
        memlimit=memory,
    )
    state = bindings.crypto_secretstream_xchacha20poly1305_state()
    try:
        bindings.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
        plain, _tag = bindings.crypto_secretstream_xchacha20poly1305_pull(state, message, None)
    except nacl.exceptions.CryptoError:
        raise WrongPassphrase("wrong password, or the encrypted data is damaged") from None
    return plain


def _check(memory: int, passes: int) -> None:
    if not (
        MIN_MEMORY <= memory <= MAX_MEMORY and passes >= MIN_PASSES and memory * passes <= MAX_COST
    ):
        raise KdfOutOfBounds(
            f"the file asks for Argon2id with {memory:,} bytes and {passes:,} passes; otpsync "
            "allows what Ente Auth writes: at most 1 GiB, and memory × passes ≤ 1 GiB × 4"
        )


IMPORTER = Importer(
    name="ente",
    title="Ente Auth export",
    description="Ente Auth export: plain text, or encrypted (its password)",
    sniff=is_encrypted,  # the plain export is an otpauth list: detected as "otpauth"
    read=read,
    is_encrypted=is_encrypted,
)
