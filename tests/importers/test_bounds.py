"""What a hostile or absurd file cannot make us do: run a KDF for minutes or with GiBs,
read past the size cap, build more than the entry cap, expand XML entities, recurse forever.
Plus encrypted round trips through files we build here (real crypto, cheap parameters)."""

from __future__ import annotations

import base64
import json
import os
import time

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from daemon import importers
from daemon.core.backup_format import MAX_FILE_BYTES
from daemon.errors import (
    DamagedFile,
    FileTooLarge,
    ImportFailed,
    KdfOutOfBounds,
    UnsupportedImport,
    WrongPassphrase,
)
from daemon.importers._common import MAX_ENTRIES, MAX_PBKDF2_ITERATIONS, argon2id
from daemon.importers.aegis import java_legacy_bytes
from daemon.importers.javaser import parse_string_map
from tests.importers.support import (
    DENO_ENTRY,
    aegis_db,
    aegis_vault,
    java_hashmap,
    signed,
)

AEGIS = importers.get("aegis")


def quickly(seconds: float = 2.0):  # type: ignore[no-untyped-def]
    """Context: the block must finish fast (a refused KDF must not run first)."""

    class _Timer:
        def __enter__(self) -> None:
            self.start = time.perf_counter()

        def __exit__(self, *exc: object) -> None:
            assert time.perf_counter() - self.start < seconds

    return _Timer()


# --- size and count caps -----------------------------------------------------------------------


def test_files_over_the_cap_are_refused_before_reading() -> None:
    data = b"[" + b" " * MAX_FILE_BYTES + b"]"
    with pytest.raises(FileTooLarge):
        importers.detect(data)
    for name in importers.FORMATS:
        with pytest.raises(FileTooLarge):
            importers.get(name).parse(data, "pw")


def test_entry_cap() -> None:
    entry = {"secret": "GEZDGNBV", "label": "x", "type": "TOTP", "digits": 6, "period": 30}
    data = json.dumps([entry] * (MAX_ENTRIES + 1)).encode()
    with quickly(), pytest.raises(ImportFailed, match="more than 10,000 entries"):
        importers.get("andotp").parse(data)


def test_entry_cap_for_uri_lists() -> None:
    data = b"otpauth://totp/x?secret=GEZDGNBV\n" * (MAX_ENTRIES + 1)
    with pytest.raises(ImportFailed, match="more than 10,000 entries"):
        importers.parse(data)


def test_the_entry_cap_is_the_files_even_inside_one_line() -> None:
    """A migration line of 10,001 codes is no "entry" to skip: the file is refused."""
    from tests.importers.support import migration_uri, otp_parameters

    one = otp_parameters(b"k" * 10, "n", "i", 1, 1, 2, 0)
    line = migration_uri([one] * (MAX_ENTRIES + 1))
    data = f"otpauth://totp/x?secret=GEZDGNBV\n{line}\n".encode()
    with quickly(), pytest.raises(ImportFailed, match="more than 10,000 codes"):
        importers.parse(data)


def test_huge_secrets_are_refused_before_decoding() -> None:
    entry = {"secret": "A" * 1_000_001, "label": "x", "type": "TOTP", "digits": 6, "period": 30}
    with quickly(0.5):
        [skipped] = importers.get("andotp").parse(json.dumps([entry]).encode()).skipped
    assert skipped.reason == "the secret is longer than 1024 bytes"


def test_xml_entities_are_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE map [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<map><string name="com.authy.storage.tokens.authenticator.key">&b;</string></map>'
    )
    with pytest.raises(ImportFailed, match="DOCTYPE"):
        importers.get("authy").parse(bomb)


def test_deeply_nested_json() -> None:
    with pytest.raises(ImportFailed, match=r"nested too deeply|not valid JSON"):
        importers.get("andotp").parse(b"[" * 100_000 + b"]" * 100_000)


# --- KDF bounds --------------------------------------------------------------------------------


def slot_vault(**slot_changes: object) -> bytes:
    vault = json.loads(aegis_vault(aegis_db(DENO_ENTRY), b"pw"))
    vault["header"]["slots"][0].update(slot_changes)
    return json.dumps(vault).encode()


@pytest.mark.parametrize(
    "params",
    [
        {"n": 2**30},  # 128 GiB
        {"n": 2**20, "r": 8},  # 1 GiB
        {"n": 2**16, "r": 8, "p": 1000},
        {"n": 1000},  # not a power of two
        {"r": 0},
    ],
)
def test_absurd_scrypt_parameters_are_refused_without_running(params: dict[str, int]) -> None:
    with quickly(), pytest.raises(KdfOutOfBounds, match="scrypt"):
        AEGIS.parse(slot_vault(**params), "pw")


@pytest.mark.parametrize(
    "cost",
    [
        {"memory_kib": 4 * 1024 * 1024, "iterations": 1, "lanes": 1},  # 4 GiB
        {"memory_kib": 1024 * 1024, "iterations": 10, "lanes": 4},  # within each bound, ~15 s
        {"memory_kib": 64 * 1024, "iterations": 1000, "lanes": 1},
        {"memory_kib": 8, "iterations": 1, "lanes": 4},  # under 8 KiB per lane
    ],
)
def test_absurd_argon2_parameters_are_refused_without_running(cost: dict[str, int]) -> None:
    """The importers' Argon2id keeps our own reader's bounds, memory × passes budget included."""
    with quickly(), pytest.raises(KdfOutOfBounds, match="Argon2id"):
        argon2id(b"pw", b"0123456789abcdef", **cost)


def freeotp2_backup(password: bytes, iterations: int, algorithm: str = "HmacSHA1") -> bytes:
    """A FreeOTP 2 backup with one Deno token, built like the app does (real AES-GCM)."""
    salt, master = os.urandom(32), os.urandom(32)
    # An absurd count is refused before any KDF runs, so the file needs no real key for it.
    cheap = iterations <= MAX_PBKDF2_ITERATIONS
    kek = PBKDF2HMAC(SHA1(), 32, salt, iterations).derive(password) if cheap else salt  # noqa: S303

    def encrypted_key(key: bytes, plain: bytes, token: str) -> dict[str, object]:
        nonce = os.urandom(12)
        return {
            "mCipher": "AES/GCM/NoPadding",
            "mCipherText": signed(AESGCM(key).encrypt(nonce, plain, token.encode())),
            "mParameters": signed(b"\x30\x11\x04\x0c" + nonce + b"\x02\x01\x10"),
            "mToken": token,
        }

    secret = base64.b32decode("4SJHB4GSD43FZBAI7C2HLRJGPQ======")
    return java_hashmap(
        {
            "masterKey": json.dumps({
                "mAlgorithm": f"PBKDF2with{algorithm}",
                "mIterations": iterations,
                "mSalt": signed(salt),
                "mEncryptedKey": encrypted_key(kek, master, "AES"),
            }),
            "uuid-1": json.dumps({"key": json.dumps(encrypted_key(master, secret, "HmacSHA1"))}),
            "uuid-1-token": json.dumps({"issuerExt": "Deno", "label": "Mason", "type": "TOTP"}),
        }
    )  # fmt: skip


def test_freeotp2_round_trip_and_iteration_bound() -> None:
    freeotp = importers.get("freeotp")
    (account,) = freeotp.parse(freeotp2_backup(b"pw", 1000), "pw").accounts
    assert (account.issuer, account.account, account.secret) == (
        "Deno",
        "Mason",
        "4SJHB4GSD43FZBAI7C2HLRJGPQ",
    )
    with pytest.raises(WrongPassphrase):
        freeotp.parse(freeotp2_backup(b"pw", 1000), "other")
    with quickly(), pytest.raises(KdfOutOfBounds, match="PBKDF2 iterations"):
        freeotp.parse(freeotp2_backup(b"pw", MAX_PBKDF2_ITERATIONS + 1), "pw")
    with pytest.raises(UnsupportedImport, match="not PBKDF2"):
        freeotp.parse(freeotp2_backup(b"pw", 1000, algorithm="Scrypt"), "pw")


def test_andotp_header_claiming_billions_of_iterations_costs_nothing() -> None:
    data = b"\xff\xff\xff\xff" + os.urandom(60)
    with quickly(), pytest.raises(WrongPassphrase):
        importers.get("andotp").parse(data, "pw")


# --- Aegis round trips -------------------------------------------------------------------------


def test_aegis_round_trip_and_failures() -> None:
    vault = aegis_vault(aegis_db(DENO_ENTRY), b"correct horse")
    assert importers.detect(vault) == "aegis"
    assert importers.needs_password("aegis", vault)
    (account,) = AEGIS.parse(vault, "correct horse").accounts
    assert (account.issuer, account.account) == ("Deno", "Mason")
    with pytest.raises(WrongPassphrase):
        AEGIS.parse(vault, "wrong horse")
    tampered = json.loads(vault)
    db = bytearray(base64.b64decode(tampered["db"]))
    db[0] ^= 1
    tampered["db"] = base64.b64encode(bytes(db)).decode()
    with pytest.raises(DamagedFile, match="tampered"):
        AEGIS.parse(json.dumps(tampered).encode(), "correct horse")


def test_aegis_vault_without_a_password_slot() -> None:
    vault = json.loads(aegis_vault(aegis_db(DENO_ENTRY), b"pw"))
    vault["header"]["slots"][0]["type"] = 2  # biometric
    with pytest.raises(UnsupportedImport, match="no password slot"):
        AEGIS.parse(json.dumps(vault).encode(), "pw")


def test_java_legacy_password_bytes() -> None:
    assert java_legacy_bytes("") == b""
    assert java_legacy_bytes("a" * 9) == b"a" * 9  # (int)(9 × 1.1f) = 9
    assert java_legacy_bytes("a" * 10) == b"a" * 10 + b"\0"  # (int)(10 × 1.1f) = 11
    assert java_legacy_bytes("é") == "é".encode() + b"\0"  # 1 → 1 byte, grows to 3


def test_unrepaired_aegis_slot_with_a_long_password_opens() -> None:
    """Aegis before its fix hashed the zero-padded buffer; beyond HMAC's 64 bytes it matters."""
    password = "a long passphrase that is well past sixty-four characters in all, yes"
    assert len(java_legacy_bytes(password)) > 64
    vault = aegis_vault(aegis_db(DENO_ENTRY), java_legacy_bytes(password), repaired=False)
    (account,) = AEGIS.parse(vault, password).accounts
    assert account.issuer == "Deno"
    repaired = aegis_vault(aegis_db(DENO_ENTRY), java_legacy_bytes(password), repaired=True)
    with pytest.raises(WrongPassphrase):
        AEGIS.parse(repaired, password)


def test_aegis_newer_database_version() -> None:
    data = json.dumps({"version": 1, "header": {"slots": None, "params": None},
                       "db": {"version": 99, "entries": []}}).encode()  # fmt: skip
    with pytest.raises(UnsupportedImport, match="version 99"):
        AEGIS.parse(data)


# --- the Java serialization reader -------------------------------------------------------------


def test_java_map_round_trip_with_modified_utf8() -> None:
    entries = {"masterKey": "{}", "a\0b": "caf\u00e9 \U0001f600"}
    data = bytearray(java_hashmap({"masterKey": "{}", "k": "v"}))
    assert parse_string_map(bytes(data)) == {"masterKey": "{}", "k": "v"}

    def modified(text: str) -> bytes:  # Java: NUL as C0 80, non-BMP as two 3-byte surrogates
        units = text.encode("utf-16-le")
        chars = "".join(
            chr(int.from_bytes(units[i : i + 2], "little")) for i in range(0, len(units), 2)
        )
        return chars.encode("utf-8", "surrogatepass").replace(b"\0", b"\xc0\x80")

    out = bytearray(java_hashmap({}))[:-1]
    out[-4:] = len(entries).to_bytes(4, "big")
    for key, value in entries.items():
        for text in (key, value):
            raw = modified(text)
            out += b"\x74" + len(raw).to_bytes(2, "big") + raw
    assert parse_string_map(bytes(out + b"\x78")) == entries


@pytest.mark.parametrize(
    "data",
    [
        b"\xac\xed\x00\x05",
        b"\xac\xed\x00\x05\x73\x72\x00\x11java.util.TreeMap",
        java_hashmap({"a": "b"})[:-1],
        java_hashmap({"a": "b"}).replace(b"\x74\x00\x01a", b"\x71\x00\x7e\x00\x09"),
    ],
)
def test_java_streams_that_are_not_string_maps(data: bytes) -> None:
    with pytest.raises(ImportFailed, match="not a Java-serialized map"):
        parse_string_map(data)


# --- the per-file KDF budget (issue 9/11): the sum over a file's slots, before any runs ---------


def many_slot_vault(count: int, *, n: int, r: int = 8, p: int = 1) -> bytes:
    """An Aegis vault with ``count`` password slots at the given scrypt cost. Only the first
    slot is real (cheap); the cost fields of all are set afterwards, so nothing pays for them
    unless the budget lets the reader try."""
    vault = json.loads(aegis_vault(aegis_db(DENO_ENTRY), b"pw", n=1024))
    real = vault["header"]["slots"][0]
    vault["header"]["slots"] = [{**real, "n": n, "r": r, "p": p} for _ in range(count)]
    return json.dumps(vault).encode()


def test_eight_slots_at_the_scrypt_ceiling_are_refused_before_any_kdf() -> None:
    """Each slot is within scrypt's own bounds (N·r·p = 2^23, 256 MiB); eight of them would
    cost ~23 s. The file's total is refused first, with one line."""
    with quickly(), pytest.raises(KdfOutOfBounds, match=r"8 key derivations costing 8\.0×"):
        AEGIS.parse(many_slot_vault(8, n=2**18, r=8, p=4), "pw")
    with quickly(), pytest.raises(KdfOutOfBounds, match="refusing before running any"):
        AEGIS.parse(many_slot_vault(3, n=2**18, r=8, p=4), "pw")


def test_a_bad_last_slot_is_refused_before_the_first_runs() -> None:
    vault = json.loads(many_slot_vault(2, n=1024))
    vault["header"]["slots"][1]["n"] = 2**30
    with quickly(0.5), pytest.raises(KdfOutOfBounds, match="scrypt N=1073741824"):
        AEGIS.parse(json.dumps(vault).encode(), "pw")


def test_many_cheap_slots_are_within_the_budget() -> None:
    """Eight slots at Aegis's real cost (N=2^15, r=8: 1/32 of the ceiling each) are fine."""
    from daemon.importers._common import KdfWork

    KdfWork().scrypt(2**15, 8, 1, times=8).check()
    (account,) = AEGIS.parse(many_slot_vault(8, n=1024), "pw").accounts
    assert account.issuer == "Deno"


def test_authy_tokens_each_with_a_kdf_are_bounded_together() -> None:
    """Authy derives one key per encrypted token (PBKDF2, 1000 iterations): 5000 tokens are
    2.5× the dearest single KDF, refused before the first."""
    token = {"name": "x", "encryptedSecret": "AAAAAAAAAAAAAAAAAAAAAA==", "salt": "s",
             "digits": 6, "accountType": "authenticator"}  # fmt: skip
    prefs = (
        '<?xml version="1.0" encoding="utf-8"?><map>'
        '<string name="com.authy.storage.tokens.authenticator.key">'
        + json.dumps([token] * 5000).replace('"', "&quot;")
        + "</string></map>"
    ).encode()
    with quickly(), pytest.raises(KdfOutOfBounds, match="5,000 key derivations"):
        importers.get("authy").parse(prefs, "pw")
