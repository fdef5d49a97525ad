"""The big apps' encrypted exports: Bitwarden password-protected JSON, Ente Auth's encrypted
export, KeePass KDBX. Real files from other projects (../shared/fixtures, skipped when absent)
and files built here with real crypto at cheap settings: decrypt to exactly the plaintext,
refuse wrong passwords, damage and absurd KDF parameters (before spending on them)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from daemon import importers
from daemon.errors import (
    DamagedFile,
    ImportFailed,
    KdfOutOfBounds,
    PasswordRequired,
    UnsupportedImport,
    WrongPassphrase,
)
from daemon.importers import bitwarden_protected
from daemon.importers._common import Fields
from tests.importers.support import (
    FIXTURES,
    SKIP_REASON,
    bitwarden_protected_export,
    fixture,
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
    accounts = importers.parse(data, password="pässword")
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
