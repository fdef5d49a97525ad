"""FreeOTP and FreeOTP+.

* FreeOTP 1.x ``tokens.xml`` (and FreeOTP+'s internal copy, the same layout): Android
  preferences whose values are JSON tokens with the secret as a Java signed-byte array.
* FreeOTP+ JSON export: ``{"tokens": [...], "tokenOrder": [...]}`` with the same tokens.
* FreeOTP 2 backups (``externalBackup.xml``, which is not XML): a Java-serialized
  HashMap<String, String>. ``masterKey`` holds the master key wrapped with AES-GCM under
  PBKDF2(password) (iterations and hash from the file, bounded); each ``<uuid>`` holds its
  token secret wrapped by the master key (AAD: the key's algorithm name), and ``<uuid>-token``
  the token's metadata, whose algo/digits/period may be missing (SHA1/6/30 then).

HOTP counters are taken as stored (FreeOTP stores the next counter to use).
"""

from __future__ import annotations

from typing import Any

from daemon.core.accounts import Account
from daemon.errors import DamagedFile, ImportFailed, UnsupportedImport, WrongPassphrase
from daemon.importers import javaser
from daemon.importers._common import (
    Fields,
    Importer,
    Skipped,
    each,
    entry_label,
    from_signed_bytes,
    gcm_open,
    is_json_object,
    is_prefs,
    load_json,
    make_account,
    pbkdf2,
    require_password,
    shared_prefs,
    unsupported_type,
)

TOKEN_ORDER = "tokenOrder"
MASTER_KEY = "masterKey"
GCM = "AES/GCM/NoPadding"
_PBKDF2_DIGESTS = {
    "pbkdf2withhmacsha1": "SHA1",
    "pbkdf2withhmacsha256": "SHA256",
    "pbkdf2withhmacsha512": "SHA512",
}


def token_account(token: Fields, secret: bytes) -> Account:
    """One FreeOTP token (shared by every FreeOTP layout) → an account."""
    otp_type = token.text("type", "TOTP").lower()
    issuer = token.text("issuerExt", "") or token.text("issuerInt", "")
    if otp_type == "totp" and issuer == "Steam":
        otp_type = "steam"  # FreeOTP+ marks Steam tokens by their issuer
    if otp_type not in ("totp", "hotp", "steam"):
        raise unsupported_type(entry_label(token.where, issuer, token.text("label", "")), otp_type)
    return make_account(
        token.where,
        type=otp_type,
        secret=secret,
        issuer=issuer,
        account=token.text("label", ""),
        algorithm=token.text("algo", "SHA1"),
        digits=token.integer("digits", 6),
        period=token.integer("period", 30),
        counter=token.integer("counter", 0),
    )


def _plain_token(value: Any, where: str) -> Account:
    token = Fields.of(value, where)
    return token_account(token, from_signed_bytes(token.data.get("secret"), where))


# --- FreeOTP 1.x / FreeOTP+ tokens.xml, and FreeOTP 2 backups (both "externalBackup.xml") ------


def _is_tokens_xml(data: bytes) -> bool:
    return is_prefs(data, TOKEN_ORDER) or (is_prefs(data) and b"issuerExt" in data)


def sniff(data: bytes) -> bool:
    return data.startswith(javaser.MAGIC) or _is_tokens_xml(data)


def is_encrypted(data: bytes) -> bool:
    return data.startswith(javaser.MAGIC)


def read(data: bytes, password: str | None) -> list[Account | Skipped]:
    if data.startswith(javaser.MAGIC):
        return _read_backup(javaser.parse_string_map(data), password)
    prefs = shared_prefs(data)
    tokens = [value for name, value in prefs.items() if name != TOKEN_ORDER]
    return each(tokens, lambda value, where: _plain_token(load_json(value, where), where), "token")


def _read_backup(entries: dict[str, str], password: str | None) -> list[Account | Skipped]:
    if MASTER_KEY not in entries:
        raise ImportFailed("the backup has no masterKey")
    secret = require_password(password).encode("utf-8")
    wrapped = Fields.of(load_json(entries[MASTER_KEY], MASTER_KEY), MASTER_KEY)
    kdf = wrapped.text("mAlgorithm")
    digest = _PBKDF2_DIGESTS.get(kdf.lower())
    if digest is None:
        raise UnsupportedImport(f"the master key uses {kdf!r}, not PBKDF2 with HMAC-SHA")
    salt = from_signed_bytes(wrapped.data.get("mSalt"), MASTER_KEY, "the salt")
    kek = pbkdf2(secret, salt, wrapped.integer("mIterations"), digest=digest)
    master = _unwrap(wrapped.child("mEncryptedKey"), kek, WrongPassphrase("wrong password"))
    names = sorted(k for k in entries if k != MASTER_KEY and not k.endswith("-token"))

    def token(name: str, where: str) -> Account:
        if f"{name}-token" not in entries:
            raise ImportFailed(f"{where} has a key but no token metadata")
        holder = Fields.of(load_json(entries[name], where), where)
        key = Fields.of(load_json(holder.text("key"), where), where)
        token_secret = _unwrap(key, master, DamagedFile(f"{where}: fails authentication"))
        meta = Fields.of(load_json(entries[f"{name}-token"], where), where)
        return token_account(meta, token_secret)

    return each(names, token, "token")


def _unwrap(key: Fields, wrapping_key: bytes, failure: WrongPassphrase | DamagedFile) -> bytes:
    """An EncryptedKey record (Java's GCM output, DER parameters, mToken as AAD) → bytes."""
    if key.text("mCipher") != GCM:
        raise UnsupportedImport(f"{key.where}: cipher {key.text('mCipher')!r} is not AES-GCM")
    ciphertext = from_signed_bytes(key.data.get("mCipherText"), key.where, "the ciphertext")
    parameters = from_signed_bytes(key.data.get("mParameters"), key.where, "the parameters")
    nonce = der_nonce(parameters, key.where)
    aad = key.text("mToken").encode("utf-8")
    return gcm_open(wrapping_key, nonce, ciphertext, aad, fail=failure)


def der_nonce(der: bytes, where: str) -> bytes:
    """The GCM nonce in Java's AlgorithmParameters encoding: a bare DER OCTET STRING, or
    GCMParameters ``SEQUENCE { OCTET STRING nonce, INTEGER tagLength }``."""
    tag, body, _ = _der_element(der, where)
    if tag == 0x04:
        return body
    if tag == 0x30:
        while body:
            tag, inner, body = _der_element(body, where)
            if tag == 0x04:
                return inner
    raise ImportFailed(f"{where}: no nonce in the cipher parameters")


def _der_element(der: bytes, where: str) -> tuple[int, bytes, bytes]:
    """(tag, contents, rest) of the first DER element; short or 1–2 byte long lengths."""
    if len(der) < 2:
        raise ImportFailed(f"{where}: the cipher parameters are cut short")
    tag, size, start = der[0], der[1], 2
    if size & 0x80:
        count = size & 0x7F
        if not 1 <= count <= 2 or len(der) < 2 + count:
            raise ImportFailed(f"{where}: the cipher parameters are malformed")
        size, start = int.from_bytes(der[2 : 2 + count], "big"), 2 + count
    if len(der) < start + size:
        raise ImportFailed(f"{where}: the cipher parameters are cut short")
    return tag, der[start : start + size], der[start + size :]


# --- FreeOTP+ JSON export ----------------------------------------------------------------------


def sniff_plus(data: bytes) -> bool:
    return is_json_object(data, "tokens", TOKEN_ORDER)


def read_plus(data: bytes, password: str | None) -> list[Account | Skipped]:
    root = Fields.of(load_json(data), "the export")
    return each(root.items("tokens"), _plain_token, "token")


IMPORTER = Importer(
    name="freeotp",
    title="FreeOTP backup",
    description="FreeOTP 2 encrypted backup, or FreeOTP 1.x / FreeOTP+ tokens.xml",
    sniff=sniff,
    read=read,
    is_encrypted=is_encrypted,
    needs="the backup password (FreeOTP 2)",
)
PLUS_IMPORTER = Importer(
    name="freeotp-plus",
    title="FreeOTP+ export",
    description="FreeOTP+ JSON export (freeotp-backup.json)",
    sniff=sniff_plus,
    read=read_plus,
)
