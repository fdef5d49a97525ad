"""The big apps' encrypted exports: Bitwarden password-protected JSON, Ente Auth's encrypted
export, KeePass KDBX. Real files from other projects (../shared/fixtures, skipped when absent)
and files built here with real crypto at cheap settings: decrypt to exactly the plaintext,
refuse wrong passwords, damage and absurd KDF parameters (before spending on them)."""

from __future__ import annotations

import hmac
import json
from typing import Any

import pytest

from daemon import importers
from daemon.core.otp import code_at
from daemon.errors import (
    BackupError,
    DamagedFile,
    ImportFailed,
    KdfOutOfBounds,
    PasswordRequired,
    UnsupportedImport,
    WrongPassphrase,
)
from daemon.importers import bitwarden_protected, ente, kdbx
from daemon.importers._common import Fields
from tests.importers.support import (
    FIXTURES,
    SKIP_REASON,
    bitwarden_protected_export,
    ente_encrypted,
    fixture,
    kdbx_set_kdf,
    keepass_db,
    manifest,
)
from tests.importers.test_bounds import quickly

needs_fixtures = pytest.mark.skipif(not FIXTURES.exists(), reason=SKIP_REASON)
SECRET = "JBSWY3DPEHPK3PXP"

# --- Bitwarden -----------------------------------------------------------------------------

BITWARDEN = importers.get("bitwarden")
BW_DIR = "bitwarden-backup-decryptor-tests"
BW_ENVELOPES = [
    "encrypted_test_pbkdf2.json",
    "encrypted_test_maximum_pbkdf2.json",
    "encrypted_test_argon2id.json",
    "encrypted_test_maximum_argon2id.json",  # Bitwarden's ceiling: 1 GiB, 10 passes, 16 lanes
]
BW_ITEMS = {
    "encrypted": False,
    "items": [
        {"type": 1, "name": "GitHub", "login": {"username": "ann", "totp": SECRET}},
        {
            "type": 1,
            "name": "Mail",
            "login": {"username": "bob", "totp": f"otpauth://totp/?secret={SECRET}&digits=8"},
        },
        {"type": 1, "name": "Site", "login": {"username": "x", "password": "y", "totp": None}},
        {"type": 2, "name": "A note"},
    ],
}


def _root(data: bytes) -> Fields:
    return Fields(json.loads(data), "the export")


@needs_fixtures
@pytest.mark.parametrize("name", BW_ENVELOPES)
def test_bitwarden_fixture_decrypts_to_the_plain_export(name: str) -> None:
    """The four envelopes hold exactly individual.json (byte for byte), whatever the KDF."""
    data = fixture(f"{BW_DIR}/{name}")
    assert importers.detect(data) == "bitwarden"
    assert importers.needs_password("bitwarden", data)
    plain = bitwarden_protected.decrypt(_root(data), "passphrase")
    assert plain == fixture(f"{BW_DIR}/individual.json")


@needs_fixtures
@pytest.mark.parametrize("wrong", ["", "passphraseA", "Passphrase"])
def test_bitwarden_fixture_wrong_passwords(wrong: str) -> None:
    data = fixture(f"{BW_DIR}/encrypted_test_pbkdf2.json")
    with pytest.raises(WrongPassphrase, match="wrong password"):
        BITWARDEN.parse(data, wrong)
    with pytest.raises(PasswordRequired):
        BITWARDEN.parse(data, None)


@pytest.mark.parametrize("argon2", [False, True], ids=["pbkdf2", "argon2id"])
def test_bitwarden_round_trip(argon2: bool) -> None:
    data = bitwarden_protected_export(BW_ITEMS, "pässword", argon2=argon2)
    assert importers.detect(data) == "bitwarden"
    accounts = importers.parse(data, password="pässword").accounts
    got = [(a.issuer, a.account, a.secret, a.digits) for a in accounts]
    assert got == [("GitHub", "ann", SECRET, 6), ("Mail", "bob", SECRET, 8)]
    with pytest.raises(WrongPassphrase):
        importers.parse(data, password="password")


def _tampered(data: bytes, key: str, change: Any) -> bytes:
    root = json.loads(data)
    root[key] = change(root[key])
    return json.dumps(root).encode()


def _flip_mac(enc_string: str) -> str:
    iv, ct, mac = enc_string.split("|")
    return "|".join((iv, ct, ("A" if mac[0] != "A" else "B") + mac[1:]))


def test_bitwarden_damaged_data_is_not_a_wrong_password() -> None:
    data = _tampered(bitwarden_protected_export(BW_ITEMS, "pw"), "data", _flip_mac)
    with pytest.raises(DamagedFile, match="damaged or tampered with"):
        BITWARDEN.parse(data, "pw")
    cut = bitwarden_protected_export(BW_ITEMS, "pw")
    with pytest.raises(ImportFailed, match="not valid JSON"):
        BITWARDEN.parse(cut[: len(cut) // 2], "pw")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"kdfType": 0, "kdfIterations": 10**9}, "PBKDF2 iterations"),
        ({"kdfType": 1, "kdfIterations": 3, "kdfMemory": 64 * 1024, "kdfParallelism": 4}, "m="),
        ({"kdfType": 1, "kdfIterations": 10**6, "kdfMemory": 64, "kdfParallelism": 4}, "t="),
        ({"kdfType": 1, "kdfIterations": 3, "kdfMemory": 64, "kdfParallelism": 255}, "p="),
        ({"kdfType": 1, "kdfIterations": 0, "kdfMemory": 64, "kdfParallelism": 4}, "t="),
    ],
)
def test_bitwarden_absurd_kdf_is_refused_before_running(
    changes: dict[str, int], match: str
) -> None:
    root = json.loads(bitwarden_protected_export(BW_ITEMS, "pw"))
    data = json.dumps(root | changes).encode()
    with quickly(), pytest.raises(KdfOutOfBounds, match=match):
        BITWARDEN.parse(data, "pw")


def test_bitwarden_account_restricted_export_says_how_to_export() -> None:
    restricted = {
        "encrypted": True,
        "encKeyValidation_DO_NOT_EDIT": "2.AAAA|AAAA|AAAA",
        "folders": [],
        "items": [{"type": 1, "name": "2.AAAA|AAAA|AAAA", "login": {"totp": "2.AAAA|AAAA|AAAA"}}],
    }
    for flag in ({}, {"passwordProtected": False}):
        data = json.dumps(restricted | flag).encode()
        assert importers.detect(data) == "bitwarden"
        assert not importers.needs_password("bitwarden", data)  # no password would open it
        with pytest.raises(ImportFailed, match=r"account restricted.*\"Password protected\""):
            BITWARDEN.parse(data, "pw")


def test_bitwarden_unknown_kdf_and_cipher_types() -> None:
    root = json.loads(bitwarden_protected_export(BW_ITEMS, "pw"))
    with pytest.raises(UnsupportedImport, match="kdfType 7"):
        BITWARDEN.parse(json.dumps(root | {"kdfType": 7}).encode(), "pw")
    old = root | {"encKeyValidation_DO_NOT_EDIT": "0.AAAA|AAAA"}
    with pytest.raises(UnsupportedImport, match="type 2"):
        BITWARDEN.parse(json.dumps(old).encode(), "pw")


# --- Ente Auth -----------------------------------------------------------------------------

ENTE = importers.get("ente")
ENTE_DIR = "proton-pass-common-tests/ente"
ENTE_TEXT = (
    f"otpauth://totp/GitHub:ann?secret={SECRET}&issuer=GitHub&codeDisplay=%7B%22pinned%22%3A"
    "false%2C%22tags%22%3A%5B%5D%7D\n"
    f"otpauth://hotp/Bank:bob?secret={SECRET}&counter=7&issuer=Bank\n"
)


def lenient_b32(text: str) -> bytes:
    """Base32 as Google Authenticator reads it: whole bytes only, leftover bits dropped."""
    bits = "".join(f"{'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'.index(c):05b}" for c in text.upper())
    return bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits) - 7, 8))


def reference_code(secret: str, algorithm: str, digits: int, counter: int, steam: bool) -> str:
    """RFC 4226 (and Steam's alphabet), written out apart from daemon.core.otp."""
    digest = hmac.new(lenient_b32(secret), counter.to_bytes(8, "big"), algorithm.lower()).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    if not steam:
        return str(value % 10**digits).zfill(digits)
    chars = []
    for _ in range(5):
        value, index = divmod(value, 26)
        chars.append("23456789BCDFGHJKMNPQRTVWXY"[index])
    return "".join(chars)


@needs_fixtures
def test_ente_codes_match_the_secrets_as_written() -> None:
    """The fixture's secrets include impossible base32 lengths ("AAAAAAAAA"); Ente and Proton
    accept them, and so do we: the codes are those of the whole bytes the text holds."""
    record = next(r for r in manifest()["fixtures"] if r["file"].endswith("lowcomplexity.txt"))
    accounts = ENTE.parse(fixture(record["file"]), record["password"]).accounts
    assert len(accounts) == len(record["expected_entries"]) == 3
    for want, account in zip(record["expected_entries"], accounts, strict=True):
        assert (account.issuer, account.account) == (want["issuer"], want["name"])
        counter = want["counter"] if want["type"] == "hotp" else 1_700_000_000 // 30
        at = 0 if want["type"] == "hotp" else 1_700_000_000
        expected_code = reference_code(
            want["secret"], want["algorithm"], want["digits"], counter, want["type"] == "steam"
        )
        assert code_at(account, at).code == expected_code


@needs_fixtures
def test_ente_fixture_decrypts_to_its_plain_export() -> None:
    data = fixture(f"{ENTE_DIR}/encrypted.nominalcomplexity.txt")  # 256 MiB × 16: Ente's cost
    assert ente.decrypt(data, "password") == fixture(f"{ENTE_DIR}/encrypted_decrypted.txt")


@pytest.mark.parametrize("final", [True, False], ids=["tag-final", "tag-message"])
def test_ente_round_trip(final: bool) -> None:
    data = ente_encrypted(ENTE_TEXT, "pässword", final=final)
    assert importers.detect(data) == "ente"
    assert importers.needs_password("ente", data)
    assert importers.get("ente-encrypted") is ENTE
    accounts = importers.parse(data, password="pässword").accounts
    got = [(a.type, a.issuer, a.account, a.secret, a.counter) for a in accounts]
    assert got == [("totp", "GitHub", "ann", SECRET, 0), ("hotp", "Bank", "bob", SECRET, 7)]
    with pytest.raises(PasswordRequired):
        ENTE.parse(data, None)
    # --from ente on the plain export reads it too (detection calls it an otpauth list)
    assert [a.identity() for a in ENTE.parse(ENTE_TEXT.encode()).accounts] == [
        a.identity() for a in accounts
    ]


def test_ente_wrong_password_damage_and_truncation() -> None:
    data = ente_encrypted(ENTE_TEXT, "pw")
    with pytest.raises(WrongPassphrase, match="wrong password, or the encrypted data is damaged"):
        ENTE.parse(data, "pW")
    flipped = _tampered(data, "encryptedData", lambda v: ("A" if v[5] != "A" else "B").join(
        (v[:5], v[6:])))  # fmt: skip
    with pytest.raises(WrongPassphrase, match="damaged"):
        ENTE.parse(flipped, "pw")
    short = _tampered(data, "encryptedData", lambda v: v[:8])
    with pytest.raises(ImportFailed, match="wrong length"):
        ENTE.parse(short, "pw")
    with pytest.raises(ImportFailed, match="not valid JSON"):
        ENTE.parse(data[: len(data) - 30], "pw")


@pytest.mark.parametrize(
    ("memlimit", "opslimit"),
    [
        (64 * 2**30, 1),  # 64 GiB
        (2**30, 5),  # 1 GiB, one pass beyond Ente's "sensitive" cost
        (8192, 10**12),  # 10^12 passes
        (1024, 1),  # below libsodium's minimum
        (8192, 0),
    ],
)
def test_ente_absurd_kdf_is_refused_before_running(memlimit: int, opslimit: int) -> None:
    root = json.loads(ente_encrypted(ENTE_TEXT, "pw"))
    root["kdfParams"] |= {"memLimit": memlimit, "opsLimit": opslimit}
    with quickly(), pytest.raises(KdfOutOfBounds, match="Ente Auth writes"):
        ENTE.parse(json.dumps(root).encode(), "pw")


# --- KeePass -------------------------------------------------------------------------------

KDBX = importers.get("kdbx")
HEX_SECRET = "3132333435363738393031323334353637383930"  # RFC 4226's "12345678901234567890"
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
KEEPASS_ENTRIES: list[dict[str, str]] = [
    {"title": "GitHub", "username": "ann", "otp": f"otpauth://totp/GH:x?secret={SECRET}"},
    {"title": "", "otp": f"otpauth://totp/KeePassXC:none?secret={SECRET}&digits=8"},
    {
        "title": "KeeOtp",
        "username": "k",
        "otp": f"key={HEX_SECRET}&encoding=Hex&type=Hotp&counter=5&size=8&otpHashMode=Sha256",
    },
    {"title": "Tray", "username": "t", "TOTP Seed": SECRET, "TOTP Settings": "60;7"},
    {"title": "Steam", "TOTP Seed": SECRET, "TOTP Settings": "30;S"},
    {
        "title": "KeePass",
        "username": "kp",
        "TimeOtp-Secret-Base32": RFC_SECRET,
        "TimeOtp-Length": "8",
        "TimeOtp-Period": "45",
        "TimeOtp-Algorithm": "HMAC-SHA-512",
    },
    {"title": "Counter", "HmacOtp-Secret": "12345678901234567890", "HmacOtp-Counter": "9"},
    {"title": "Password only", "username": "p"},
    {"title": "Deleted", "otp": f"otpauth://totp/D:d?secret={SECRET}"},
]


@pytest.fixture(scope="module")
def keepass_file() -> bytes:
    return keepass_db(KEEPASS_ENTRIES, trash=("Deleted",))


def test_keepass_fields_of_every_plugin(keepass_file: bytes) -> None:
    assert importers.detect(keepass_file) == "kdbx"
    assert importers.get("keepass") is importers.get("keepassxc") is KDBX
    got = [
        (a.type, a.issuer, a.account, a.secret, a.algorithm, a.digits, a.period, a.counter)
        for a in KDBX.parse(keepass_file, "pw").accounts
    ]
    assert got == [
        ("totp", "GitHub", "ann", SECRET, "SHA1", 6, 30, 0),  # title and username, not the label
        ("totp", "", "", SECRET, "SHA1", 8, 30, 0),  # KeePassXC's placeholders are no names
        ("hotp", "KeeOtp", "k", RFC_SECRET, "SHA256", 8, 30, 5),
        ("totp", "Tray", "t", SECRET, "SHA1", 7, 60, 0),
        ("steam", "Steam", "", SECRET, "SHA1", 5, 30, 0),
        ("totp", "KeePass", "kp", RFC_SECRET, "SHA512", 8, 45, 0),
        ("hotp", "Counter", "", RFC_SECRET, "SHA1", 6, 30, 9),
    ]  # "Password only" has no code; "Deleted" is in the Recycle Bin


def test_keepass_codes_match_rfc_4226(keepass_file: bytes) -> None:
    """The HmacOtp entry is RFC 4226's test key at counter 9: code 520489."""
    counter = next(a for a in KDBX.parse(keepass_file, "pw").accounts if a.issuer == "Counter")
    assert code_at(counter, 0).code == "520489"


def test_keepass_wrong_password_and_key_files() -> None:
    key = b"\x01" * 32
    both = keepass_db(KEEPASS_ENTRIES[:1], key_file=key)
    only_key = keepass_db(KEEPASS_ENTRIES[:1], password=None, key_file=key)
    assert len(KDBX.parse(both, "pw", key).accounts) == 1
    assert len(KDBX.parse(only_key, None, key).accounts) == 1
    for data, password, key_file in [
        (both, "pw", None),
        (both, "pW", key),
        (both, "pw", b"\x02" * 32),
        (only_key, "pw", key),
    ]:
        with pytest.raises(WrongPassphrase, match="wrong password or key file"):
            KDBX.parse(data, password, key_file)
    with pytest.raises(PasswordRequired, match="password or key file"):
        KDBX.parse(both, None, None)
    # A key file with an empty password part (KeePassXC can make one) opens without one too.
    empty = keepass_db(KEEPASS_ENTRIES[:1], password="", key_file=key)
    assert len(KDBX.parse(empty, None, key).accounts) == 1
    assert len(KDBX.parse(empty, "", key).accounts) == 1
    with pytest.raises(ImportFailed, match="a key file opens only KeePass databases"):
        ENTE.parse(b"otpauth://totp/x?secret=" + SECRET.encode(), None, key)


@needs_fixtures
@pytest.mark.parametrize("name", ["test3", "test4"])
def test_keepass_fixture_needs_its_key_file(name: str) -> None:
    data = fixture(f"pykeepass-tests/{name}.kdbx")
    (account,) = KDBX.parse(data, "password", fixture(f"pykeepass-tests/{name}.key")).accounts
    assert (account.issuer, account.account) == ("foobar_entry", "foobar")
    with pytest.raises(WrongPassphrase):
        KDBX.parse(data, "password")


def test_keepass_fast_aes_kdf_is_keepass_aes_kdf() -> None:
    from pykeepass.kdbx_parsing.common import aes_kdf as slow_aes_kdf

    seed, composite = bytes(range(32)), bytes(range(32, 64))
    for rounds in (1, 2, 65_535, 65_536, 200_001):
        assert kdbx.aes_kdf(seed, rounds, composite) == slow_aes_kdf(seed, rounds, composite)


@pytest.mark.parametrize(
    ("name", "value"),
    [(b"I", 10**9), (b"M", 64 << 30), (b"P", 4096), (b"I", 0), (b"M", 1024)],
    ids=["passes", "64GiB", "lanes", "no-passes", "tiny-memory"],
)
def test_keepass_absurd_argon2_is_refused_before_running(
    keepass_file: bytes, name: bytes, value: int
) -> None:
    with quickly(), pytest.raises(KdfOutOfBounds, match="Argon2"):
        KDBX.parse(kdbx_set_kdf(keepass_file, name, value), "pw")


def test_keepass_4_with_aes_kdf() -> None:
    data = keepass_db(KEEPASS_ENTRIES[:1], aes_rounds=70_000)  # KeePass's default cost
    assert [a.label for a in KDBX.parse(data, "pw").accounts] == ["GitHub — ann"]
    with quickly(), pytest.raises(KdfOutOfBounds, match="AES-KDF rounds"):
        KDBX.parse(kdbx_set_kdf(data, b"R", 10**12), "pw")


@needs_fixtures
def test_keepass_absurd_aes_kdf_rounds_are_refused_before_running() -> None:
    data = fixture("pykeepass-tests/test3.kdbx")  # KDBX 3.1: field 6, u16 size 8, u64 rounds
    at = data.index(b"\x06\x08\x00", 12) + 3
    planted = data[:at] + (10**12).to_bytes(8, "little") + data[at + 8 :]
    with quickly(), pytest.raises(KdfOutOfBounds, match="1,000,000,000,000 AES-KDF rounds"):
        KDBX.parse(planted, "password", fixture("pykeepass-tests/test3.key"))


def test_keepass_damage_and_truncation(keepass_file: bytes) -> None:
    body = len(keepass_file) - 200
    flipped = keepass_file[:body] + bytes([keepass_file[body] ^ 1]) + keepass_file[body + 1 :]
    with pytest.raises(DamagedFile, match="damaged"):
        KDBX.parse(flipped, "pw")
    header = keepass_file[:20] + bytes([keepass_file[20] ^ 1]) + keepass_file[21:]
    with pytest.raises(DamagedFile, match="damaged"):
        KDBX.parse(header, "pw")
    for cut in (10, 100, len(keepass_file) // 2, len(keepass_file) - 1):
        with pytest.raises(BackupError, match=r"damaged|cut short"):
            KDBX.parse(keepass_file[:cut], "pw")


def test_entes_libsodium_constants_are_libsodiums() -> None:
    """ente.py writes them out so PyNaCl loads only when an export is decrypted."""
    from nacl import bindings
    from nacl.pwhash import argon2id

    from daemon.importers import ente

    assert ente.MAX_MEMORY == argon2id.MEMLIMIT_SENSITIVE
    assert ente.MAX_COST == argon2id.MEMLIMIT_SENSITIVE * argon2id.OPSLIMIT_SENSITIVE
    assert (ente.MIN_MEMORY, ente.MIN_PASSES, ente.SALT_BYTES) == (
        argon2id.MEMLIMIT_MIN, argon2id.OPSLIMIT_MIN, argon2id.SALTBYTES,
    )  # fmt: skip
    assert bindings.crypto_secretstream_xchacha20poly1305_HEADERBYTES == ente.HEADER_BYTES
    assert bindings.crypto_secretstream_xchacha20poly1305_ABYTES == ente.MAC_BYTES
