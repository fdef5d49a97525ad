"""Helpers for the importer tests: where the third-party fixtures live (never copied into the
repo: they are copyleft), how an Account compares with an expected entry, and tiny encoders
that build files in the formats we read, for round trips."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import os
import struct
import zlib
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from daemon.core.accounts import Account, normalize_secret

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "interop"
MANIFEST = FIXTURES / "manifest.json"
SKIP_REASON = f"interop fixtures not found at {FIXTURES} (copyleft; not shipped in this repo)"


# Expected-output files of extract_otp_secrets: not exports of any app.
NOT_EXPORTS = (
    "extract-otp-secrets-tests/example_output.json",
    "extract-otp-secrets-tests/example_output.csv",
    "extract-otp-secrets-tests/example_keepass_output.*.csv",
    "extract-otp-secrets-tests/test_export_wrong_prefix.txt",
    "extract-otp-secrets-tests/test_export_wrong_content.txt",
    "extract-otp-secrets-tests/only_comments.txt",
)


def is_export(record: dict[str, Any]) -> bool:
    return not any(fnmatch.fnmatch(record["file"], p) for p in NOT_EXPORTS)


@cache
def manifest() -> dict[str, Any]:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def entry(account: Account) -> dict[str, Any]:
    """What a fixture can store about a code: period for time codes, counter for HOTP."""
    out: dict[str, Any] = {
        "type": account.type,
        "issuer": account.issuer,
        "account": account.account,
        "secret": account.secret,
        "algorithm": account.algorithm,
        "digits": account.digits,
    }
    out["counter" if account.type == "hotp" else "period"] = (
        account.counter if account.type == "hotp" else account.period
    )
    return out


def expected(
    *,
    type: str,
    secret: str,
    issuer: str = "",
    account: str = "",
    algorithm: str = "SHA1",
    digits: int = 6,
    period: int = 30,
    counter: int = 0,
) -> dict[str, Any]:
    """An expected entry in the same shape as ``entry``."""
    out: dict[str, Any] = {
        "type": type,
        "issuer": issuer,
        "account": account,
        # Canonical base32: a secret whose length is no whole number of bytes (hand-typed
        # upstream test data) keeps its bytes and drops the leftover bits, as the apps do.
        "secret": normalize_secret(secret),
        "algorithm": algorithm.upper(),
        "digits": 5 if type == "steam" else digits,
    }
    out["counter" if type == "hotp" else "period"] = counter if type == "hotp" else period
    return out


def canonical(entries: list[dict[str, Any]]) -> list[str]:
    """Entries as a sorted multiset, so file order does not matter."""
    return sorted(json.dumps(e, sort_keys=True, ensure_ascii=False) for e in entries)


# --- Google's otpauth-migration protobuf -------------------------------------------------------


def varint(value: int) -> bytes:
    value &= 0xFFFFFFFFFFFFFFFF  # negative int32/int64 → 10-byte two's complement, as protobuf
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def pb_field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def otp_parameters(
    secret: bytes, name: str, issuer: str, algorithm: int, digits: int, otp_type: int, counter: int
) -> bytes:
    return (
        pb_field(1, secret)
        + pb_field(2, name.encode())
        + pb_field(3, issuer.encode())
        + pb_field(4, algorithm)
        + pb_field(5, digits)
        + pb_field(6, otp_type)
        + (pb_field(7, counter) if counter else b"")
    )


def migration_uri(
    parameters: list[bytes], batch_id: int = -1_234_567, raw_plus: bool = True
) -> str:
    payload = b"".join(pb_field(1, p) for p in parameters)
    payload += pb_field(2, 1) + pb_field(3, 1) + pb_field(4, 0) + pb_field(5, batch_id)
    data = base64.b64encode(payload).decode()
    if not raw_plus:
        data = data.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    return f"otpauth-migration://offline?data={data}"


# --- Java serialization of HashMap<String, String> (what FreeOTP 2 writes) --------------------


def java_string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return b"\x74" + struct.pack(">H", len(raw)) + raw


def java_hashmap(entries: dict[str, str]) -> bytes:
    out = bytearray(b"\xac\xed\x00\x05\x73\x72")
    name = b"java.util.HashMap"
    out += struct.pack(">H", len(name)) + name + bytes.fromhex("0507dac1c31660d1") + b"\x03"
    out += struct.pack(">H", 2) + b"F" + struct.pack(">H", 10) + b"loadFactor"
    out += b"I" + struct.pack(">H", 9) + b"threshold" + b"\x78\x70"
    out += struct.pack(">fi", 0.75, 12) + b"\x77\x08" + struct.pack(">ii", 16, len(entries))
    for key, value in entries.items():
        out += java_string(key) + java_string(value)
    return bytes(out + b"\x78")


def signed(data: bytes) -> list[int]:
    return [b - 256 if b > 127 else b for b in data]


# --- Aegis vaults (cheap scrypt, for round trips and bounds) -----------------------------------


def aegis_vault(
    db: dict[str, Any],
    password: bytes,
    *,
    n: int = 1024,
    r: int = 8,
    p: int = 1,
    repaired: bool = True,
) -> bytes:
    """An encrypted Aegis vault holding ``db``, its master key wrapped under ``password``."""
    master, salt = os.urandom(32), os.urandom(32)
    kek = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(password)
    slot_nonce, db_nonce = os.urandom(12), os.urandom(12)
    wrapped = AESGCM(kek).encrypt(slot_nonce, master, None)
    sealed = AESGCM(master).encrypt(db_nonce, json.dumps(db).encode(), None)
    slot = {
        "type": 1,
        "uuid": "a8325752-c1be-458a-9b3e-5e0a8154d9ec",
        "key": wrapped[:-16].hex(),
        "key_params": {"nonce": slot_nonce.hex(), "tag": wrapped[-16:].hex()},
        "n": n,
        "r": r,
        "p": p,
        "salt": salt.hex(),
        "repaired": repaired,
    }
    vault = {
        "version": 1,
        "header": {"slots": [slot], "params": {"nonce": db_nonce.hex(), "tag": sealed[-16:].hex()}},
        "db": base64.b64encode(sealed[:-16]).decode(),
    }
    return json.dumps(vault).encode()


def aegis_db(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"version": 3, "entries": list(entries), "groups": []}


DENO_ENTRY = {
    "type": "totp",
    "uuid": "3ae6f1ad-2e65-4ed2-a953-1ec0dff2386d",
    "name": "Mason",
    "issuer": "Deno",
    "info": {"secret": "4SJHB4GSD43FZBAI7C2HLRJGPQ", "algo": "SHA1", "digits": 6, "period": 30},
}


# --- TOTP Authenticator backups ---------------------------------------------------------------


def totp_authenticator_backup(password: str, accounts: list[dict[str, object]]) -> bytes:
    wrapper = json.dumps({json.dumps(accounts): "1608293023"}).encode()
    padder = padding.PKCS7(128).padder()
    padded = padder.update(wrapper) + padder.finalize()
    key = hashlib.sha256(password.encode()).digest()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize())


# --- andOTP backups ----------------------------------------------------------------------------


def andotp_encrypted(entries: list[dict[str, Any]], password: str, iterations: int = 1000) -> bytes:
    """andOTP's current encrypted layout: iterations, salt, nonce, AES-GCM under PBKDF2-SHA1."""
    from cryptography.hazmat.primitives.hashes import SHA1
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    salt, nonce = os.urandom(12), os.urandom(12)
    key = PBKDF2HMAC(SHA1(), 32, salt, iterations).derive(password.encode())  # noqa: S303
    sealed = AESGCM(key).encrypt(nonce, json.dumps(entries).encode(), None)
    return struct.pack(">I", iterations) + salt + nonce + sealed


def andotp_encrypted_old(entries: list[dict[str, Any]], password: str) -> bytes:
    """andOTP's old headerless layout: nonce, AES-GCM under SHA-256(password)."""
    nonce = os.urandom(12)
    key = hashlib.sha256(password.encode()).digest()
    return nonce + AESGCM(key).encrypt(nonce, json.dumps(entries).encode(), None)


# --- ZIPs with traditional PKWARE encryption (zipfile reads them but cannot write them) -------


def _zipcrypto_keys() -> list[int]:
    return [0x12345678, 0x23456789, 0x34567890]


def _crc_byte(crc: int, byte: int) -> int:
    return (zlib.crc32(bytes([byte]), crc ^ 0xFFFFFFFF) ^ 0xFFFFFFFF) & 0xFFFFFFFF


def _zipcrypto_update(keys: list[int], byte: int) -> None:
    keys[0] = _crc_byte(keys[0], byte)
    keys[1] = ((keys[1] + (keys[0] & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
    keys[2] = _crc_byte(keys[2], keys[1] >> 24)


def _zipcrypto_encrypt(password: bytes, plain: bytes) -> bytes:
    keys = _zipcrypto_keys()
    for byte in password:
        _zipcrypto_update(keys, byte)
    out = bytearray()
    for byte in plain:
        temp = (keys[2] | 2) & 0xFFFF
        out.append(byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF))
        _zipcrypto_update(keys, byte)
    return bytes(out)


def zipcrypto_zip(name: str, content: bytes, password: str, *, descriptor: bool = True) -> bytes:
    """One deflated member encrypted as SharpZipLib's ZipOutputStream does (WinAuth): with a
    data descriptor, so the check byte is the high byte of the DOS time, not of the CRC."""
    crc = zlib.crc32(content)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = compressor.compress(content) + compressor.flush()
    dos_time, dos_date = (10 << 11) | (30 << 5), ((2026 - 1980) << 9) | (11 << 5) | 28
    check = (dos_time >> 8) & 0xFF if descriptor else crc >> 24
    header = os.urandom(11) + bytes([check])
    body = _zipcrypto_encrypt(password.encode(), header + deflated)
    flags = 0x1 | (0x8 if descriptor else 0)
    raw_name = name.encode()
    sizes = (crc, len(body), len(content))
    local = struct.pack(
        "<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, 8, dos_time, dos_date,
        *((0, 0, 0) if descriptor else sizes), len(raw_name), 0,
    ) + raw_name + body  # fmt: skip
    if descriptor:
        local += struct.pack("<4sIII", b"PK\x07\x08", *sizes)
    central = struct.pack(
        "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, flags, 8, dos_time, dos_date, *sizes,
        len(raw_name), 0, 0, 0, 0, 0, 0,
    ) + raw_name  # fmt: skip
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local), 0)
    return local + central + end
