"""Helpers for the importer tests: where the third-party fixtures live (never copied into the
repo: they are copyleft), how an Account compares with an expected entry, and tiny encoders
that build files in the formats we read, for round trips."""

from __future__ import annotations

import base64
import fnmatch
import json
import os
import struct
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from daemon.core.accounts import Account

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
    "extract-otp-secrets-tests/text_masquerading_as_image.jpeg",  # text, not a picture
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
        "secret": secret.rstrip("=").upper(),
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
