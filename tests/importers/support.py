"""Helpers for the importer tests: where the third-party fixtures live (never copied into the
repo: they are copyleft), how an Account compares with an expected entry, and tiny encoders
that build files in the formats we read, for round trips."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import io
import json
import os
import struct
import zlib
from functools import cache
from pathlib import Path
from typing import Any

from construct import Container
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from nacl import bindings as nacl_bindings
from nacl.pwhash import argon2id as nacl_argon2id
from pykeepass import create_database

from daemon.core.accounts import Account, normalize_secret
from daemon.importers.kdbx_header import AES_KDF

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
    "pykeepass-tests/*.key",  # KeePass key files: they open a database, hold no codes
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
    """An expected entry in the same shape as ``entry``.

    The secret is compared in canonical form: some apps write base32 of an impossible length
    ("AAAAAAAAA", 9 characters) and make codes from its whole bytes, dropping the leftover
    bits, as otpsync does (normalize_secret); codes are then the same (test_ente_codes)."""
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


# --- Bitwarden password-protected exports (cheap KDF, for round trips and bounds) -------------


def bitwarden_enc_string(plain: bytes, enc_key: bytes, mac_key: bytes) -> str:
    """A type-2 EncString: AES-256-CBC with PKCS#7, HMAC-SHA256 over iv‖ct."""
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(enc_key), modes.CBC(iv)).encryptor()
    ct = encryptor.update(padded) + encryptor.finalize()
    mac = hmac.digest(mac_key, iv + ct, "sha256")
    return "2." + "|".join(base64.b64encode(p).decode() for p in (iv, ct, mac))


def bitwarden_protected_export(
    export: dict[str, Any], password: str, *, argon2: bool = False, iterations: int = 5000
) -> bytes:
    """A password-protected Bitwarden export of ``export``, written as Bitwarden's clients do
    (PBKDF2-SHA256, or Argon2id over SHA-256(salt) at 16 MiB)."""
    salt = base64.b64encode(os.urandom(16)).decode()
    envelope: dict[str, Any] = {"encrypted": True, "passwordProtected": True, "salt": salt}
    if argon2:
        envelope |= {"kdfType": 1, "kdfIterations": 1, "kdfMemory": 16, "kdfParallelism": 2}
        key = Argon2id(
            salt=hashlib.sha256(salt.encode()).digest(), length=32, iterations=1, lanes=2,
            memory_cost=16 * 1024,
        ).derive(password.encode())  # fmt: skip
    else:
        envelope |= {"kdfType": 0, "kdfIterations": iterations}
        key = PBKDF2HMAC(SHA256(), 32, salt.encode(), iterations).derive(password.encode())
    enc, mac = (HKDFExpand(SHA256(), 32, info).derive(key) for info in (b"enc", b"mac"))
    envelope["encKeyValidation_DO_NOT_EDIT"] = bitwarden_enc_string(
        b"df5d795f-ba0e-545a-625b-17e6cd33e0bd", enc, mac
    )
    envelope["data"] = bitwarden_enc_string(json.dumps(export).encode(), enc, mac)
    return json.dumps(envelope, indent=2).encode()


# --- Ente Auth encrypted exports (libsodium, cheap KDF) ----------------------------------------


def ente_encrypted(
    text: str, password: str, *, memlimit: int = 8192, opslimit: int = 1, final: bool = True
) -> bytes:
    """An Ente Auth encrypted export of ``text``, as Ente writes it (one secretstream message)."""
    salt = os.urandom(16)
    key = nacl_argon2id.kdf(32, password.encode(), salt, opslimit=opslimit, memlimit=memlimit)
    state = nacl_bindings.crypto_secretstream_xchacha20poly1305_state()
    header = nacl_bindings.crypto_secretstream_xchacha20poly1305_init_push(state, key)
    tag = (
        nacl_bindings.crypto_secretstream_xchacha20poly1305_TAG_FINAL
        if final
        else nacl_bindings.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
    )
    message = nacl_bindings.crypto_secretstream_xchacha20poly1305_push(
        state, text.encode(), None, tag
    )
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    export = {
        "version": 1,
        "kdfParams": {"memLimit": memlimit, "opsLimit": opslimit, "salt": b64(salt)},
        "encryptedData": b64(message),
        "encryptionNonce": b64(header),
    }
    return json.dumps(export).encode()


# --- KeePass databases (KDBX 4, Argon2 cut to 1 MiB × 1 pass) ---------------------------------


def keepass_db(
    entries: list[dict[str, Any]],
    *,
    password: str | None = "pw",  # noqa: S107
    key_file: bytes | None = None,
    trash: tuple[str, ...] = (),
    aes_rounds: int | None = None,
) -> bytes:
    """A KDBX 4 database written by pykeepass. Each entry: title, username, otp and any
    other string fields; titles in ``trash`` are moved to the Recycle Bin. Argon2d at 1 MiB ×
    1 pass, or AES-KDF with ``aes_rounds``."""
    kp = create_database(
        io.BytesIO(), password=password, keyfile=io.BytesIO(key_file) if key_file else None
    )
    params = kp.kdbx.header.value.dynamic_header.kdf_parameters.data.dict
    params["I"].value, params["M"].value = 1, 1 << 20
    if aes_rounds is not None:  # the VariantDictionary items as pykeepass builds them
        for name in list(params):
            del params[name]
        params["$UUID"] = Container(type=0x42, key="$UUID", value=AES_KDF, next_byte=0x05)
        params["R"] = Container(type=0x05, key="R", value=aes_rounds, next_byte=0x42)
        params["S"] = Container(type=0x42, key="S", value=os.urandom(32), next_byte=0)
    for fields in entries:
        fields = dict(fields)
        entry = kp.add_entry(
            kp.root_group, fields.pop("title"), fields.pop("username", ""), "password",
            otp=fields.pop("otp", None),
        )  # fmt: skip
        for key, value in fields.items():
            entry.set_custom_property(key, value)
        if entry.title in trash:
            kp.trash_entry(entry)
    out = io.BytesIO()
    kp.save(out)
    return out.getvalue()


def kdbx_set_kdf(data: bytes, name: bytes, value: int) -> bytes:
    """Overwrite one number in a KDBX 4 header's KDF dictionary (UInt64, or UInt32 for P)."""
    size = 4 if name == b"P" else 8
    marker = bytes([0x04 if size == 4 else 0x05]) + b"\x01\x00\x00\x00" + name
    at = data.index(marker + size.to_bytes(4, "little")) + len(marker) + 4
    return data[:at] + value.to_bytes(size, "little") + data[at + size :]
