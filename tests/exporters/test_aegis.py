"""Aegis vault export: what we write reads back through our Aegis importer to the same codes,
decrypts with nothing but Aegis' documented recipe (docs/vault.md), and is laid out like the
vaults Aegis itself writes (its test vaults, in ../shared/fixtures/interop when present)."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon import importers
from daemon.core.accounts import MAX_COUNTER, Account
from daemon.errors import PasswordRequired, WrongPassphrase
from daemon.exporters import aegis

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "interop"
AEGIS_PLAIN = FIXTURES / "aegis-tests" / "aegis_plain.json"
AEGIS_ENCRYPTED = FIXTURES / "aegis-tests" / "aegis_encrypted.json"
AEGIS_PASSWORD = "test"  # the fixture's, per its manifest
NO_FIXTURES = f"Aegis test vaults not found at {FIXTURES} (copyleft; not shipped in this repo)"
PASSWORD = "correct horse 🐎 battery"
ODD_LENGTH = "KRUGKIDROVUWG2ZAMJZG653OEBTG66BANJ2W24DTEBXXMZLSEB2GQZJANRQXU6JAMRXWOLQ"  # 44 bytes

ACCOUNTS = [
    Account.create(issuer="GitHub", account="alice@example.com", secret="JBSWY3DPEHPK3PXP" * 2),
    Account.create(
        type="hotp",
        issuer="Bank",
        account="bob",
        secret="GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        algorithm="SHA256",
        digits=8,
        counter=42,
    ),
    Account.create(type="hotp", issuer="Max", secret="GEZDGNBVGY3TQOJQ", counter=MAX_COUNTER),
    Account.create(
        type="steam", issuer="Steam", account="gamer", secret="JRZCL47CMXVOQMNPZR2F7J4RGI"
    ),
    Account.create(
        issuer="Slow",
        account="carol",
        secret="7ELGJSGXNCCTV3O6LKJWYFV2RA",
        algorithm="SHA512",
        digits=8,
        period=60,
    ),
    Account.create(issuer="Short", account="80-bit", secret="JBSWY3DPEHPK3PXP"),  # 10 bytes
    Account.create(issuer="Ünïcødé 日本", account='名前 🙂 "quoted" \\ back', secret=ODD_LENGTH),
    Account.create(account="no issuer", secret="GEZDGNBV", digits=10, period=1),
]


def fields(account: Account) -> dict[str, Any]:
    """What an Aegis vault carries of a code: period for time codes, counter for HOTP."""
    out: dict[str, Any] = {
        "type": account.type,
        "issuer": account.issuer,
        "account": account.account,
        "secret": account.secret,
        "algorithm": account.algorithm,
        "digits": account.digits,
    }
    if account.type == "hotp":
        out["counter"] = account.counter
    else:
        out["period"] = account.period
    return out


def decrypt(data: bytes, password: str) -> dict[str, Any]:
    """Aegis' recipe from docs/vault.md, written out independently of our importer: the
    vault with ``db`` replaced by its decrypted JSON."""
    vault = json.loads(data)
    (slot,) = [s for s in vault["header"]["slots"] if s["type"] == 1]
    kek = Scrypt(
        salt=bytes.fromhex(slot["salt"]), length=32, n=slot["n"], r=slot["r"], p=slot["p"]
    ).derive(password.encode("utf-8"))
    params = slot["key_params"]
    master = AESGCM(kek).decrypt(
        bytes.fromhex(params["nonce"]), bytes.fromhex(slot["key"] + params["tag"]), None
    )
    db_params = vault["header"]["params"]
    plain = AESGCM(master).decrypt(
        bytes.fromhex(db_params["nonce"]),
        base64.b64decode(vault["db"]) + bytes.fromhex(db_params["tag"]),
        None,
    )
    return {**vault, "db": json.loads(plain)}


# --- round trips through our importer ----------------------------------------------------------


def test_plain_round_trips_through_the_aegis_importer() -> None:
    data = aegis.plain(ACCOUNTS)
    assert importers.detect(data) == "aegis"
    assert not importers.needs_password("aegis", data)
    assert [fields(a) for a in importers.parse(data).accounts] == [fields(a) for a in ACCOUNTS]


def test_encrypted_round_trips_through_the_aegis_importer() -> None:
    data = aegis.encrypted(ACCOUNTS, PASSWORD)
    assert importers.detect(data) == "aegis"
    assert importers.needs_password("aegis", data)
    parsed = importers.parse(data, password=PASSWORD).accounts
    assert [fields(a) for a in parsed] == [fields(a) for a in ACCOUNTS]


def test_encrypted_refuses_a_wrong_or_missing_password() -> None:
    data = aegis.encrypted(ACCOUNTS[:1], PASSWORD)
    with pytest.raises(WrongPassphrase):
        importers.parse(data, password="correct horse 🐎 batterY")
    with pytest.raises(PasswordRequired):
        importers.parse(data)


def test_no_accounts_is_an_empty_vault() -> None:
    assert importers.parse(aegis.plain([])).accounts == ()
    assert importers.parse(aegis.encrypted([], PASSWORD), password=PASSWORD).accounts == ()


@pytest.mark.parametrize("password", ["", "lone \udc80 surrogate"])
def test_encrypted_refuses_a_password_aegis_could_not_type(password: str) -> None:
    with pytest.raises(ValueError, match=r"non-empty|surrogate|encode"):
        aegis.encrypted(ACCOUNTS, password)


# --- the file itself ---------------------------------------------------------------------------


def test_encrypted_holds_exactly_the_plain_vaults_db() -> None:
    opened = decrypt(aegis.encrypted(ACCOUNTS, PASSWORD), PASSWORD)
    assert opened["db"] == json.loads(aegis.plain(ACCOUNTS))["db"]


def test_plain_entries_are_what_aegis_writes() -> None:
    vault = json.loads(aegis.plain(ACCOUNTS))
    assert vault["version"] == 1
    assert vault["header"] == {"slots": None, "params": None}
    db = vault["db"]
    assert (db["version"], db["groups"]) == (3, [])
    by_type = {e["type"]: e for e in reversed(db["entries"])}  # the first of each type
    assert set(by_type) == {"totp", "hotp", "steam"}
    totp = db["entries"][0]
    assert totp == {
        "type": "totp",
        "uuid": ACCOUNTS[0].id,
        "name": "alice@example.com",
        "issuer": "GitHub",
        "note": "",
        "favorite": False,
        "icon": None,
        "info": {"secret": ACCOUNTS[0].secret, "algo": "SHA1", "digits": 6, "period": 30},
        "groups": [],
    }
    assert by_type["hotp"]["info"] == {
        "secret": ACCOUNTS[1].secret, "algo": "SHA256", "digits": 8, "counter": 42,
    }  # fmt: skip
    assert by_type["steam"]["info"] == {
        "secret": ACCOUNTS[3].secret, "algo": "SHA1", "digits": 5, "period": 30,
    }  # fmt: skip
    for entry in db["entries"]:
        assert "=" not in entry["info"]["secret"]
    # Unicode labels are written as UTF-8 text, as Aegis writes them.
    assert "Ünïcødé 日本".encode() in aegis.plain(ACCOUNTS)


@pytest.mark.skipif(not AEGIS_PLAIN.exists(), reason=NO_FIXTURES)
def test_plain_has_the_layout_of_aegis_own_vault() -> None:
    theirs = json.loads(AEGIS_PLAIN.read_bytes())
    ours = json.loads(aegis.plain(ACCOUNTS))
    assert ours.keys() == theirs.keys()
    assert ours["header"] == theirs["header"]
    assert ours["db"].keys() >= theirs["db"].keys()
    their_entries = {e["type"]: e for e in theirs["db"]["entries"]}
    for entry in ours["db"]["entries"]:
        # Their test vault is db version 1; version 3 adds note, favorite and groups.
        assert entry.keys() >= their_entries[entry["type"]].keys()
        assert entry.keys() - their_entries[entry["type"]].keys() <= {"note", "favorite", "groups"}
        assert entry["info"].keys() == their_entries[entry["type"]]["info"].keys()


@pytest.mark.skipif(not AEGIS_ENCRYPTED.exists(), reason=NO_FIXTURES)
def test_encrypted_has_the_layout_of_aegis_own_vault() -> None:
    theirs = json.loads(AEGIS_ENCRYPTED.read_bytes())
    ours = json.loads(aegis.encrypted(ACCOUNTS, PASSWORD))
    assert ours.keys() == theirs.keys()
    assert ours["version"] == theirs["version"] == 1
    assert ours["header"].keys() == theirs["header"].keys()
    assert ours["header"]["params"].keys() == theirs["header"]["params"].keys()
    (slot,) = ours["header"]["slots"]
    (their_slot,) = theirs["header"]["slots"]
    assert slot.keys() == their_slot.keys()
    assert slot["key_params"].keys() == their_slot["key_params"].keys()
    assert (slot["type"], slot["n"], slot["r"], slot["p"]) == (1, 2**15, 8, 1)
    assert slot["repaired"] is True
    assert str(uuid.UUID(slot["uuid"])) == slot["uuid"]
    sizes = {"salt": 32, "key": 32}
    assert {k: len(bytes.fromhex(slot[k])) for k in sizes} == sizes
    for params in (slot["key_params"], ours["header"]["params"]):
        assert (len(bytes.fromhex(params["nonce"])), len(bytes.fromhex(params["tag"]))) == (12, 16)
    assert isinstance(ours["db"], str)
    base64.b64decode(ours["db"], validate=True)


@pytest.mark.skipif(not AEGIS_ENCRYPTED.exists(), reason=NO_FIXTURES)
def test_the_independent_decryptor_opens_aegis_own_vault() -> None:
    """So ``decrypt`` above really is Aegis' recipe, not just the inverse of ours."""
    opened = decrypt(AEGIS_ENCRYPTED.read_bytes(), AEGIS_PASSWORD)
    assert len(opened["db"]["entries"]) == 7


def test_every_encryption_is_fresh() -> None:
    one, two = (json.loads(aegis.encrypted(ACCOUNTS[:1], PASSWORD)) for _ in range(2))
    slot_one, slot_two = one["header"]["slots"][0], two["header"]["slots"][0]
    for key in ("salt", "key", "uuid"):
        assert slot_one[key] != slot_two[key]
    assert slot_one["key_params"]["nonce"] != slot_two["key_params"]["nonce"]
    assert one["header"]["params"]["nonce"] != two["header"]["params"]["nonce"]
    assert one["db"] != two["db"]


# --- generated accounts ------------------------------------------------------------------------

labels = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@st.composite
def accounts(draw: st.DrawFn) -> Account:
    otp_type = draw(st.sampled_from(["totp", "hotp", "steam"]))
    steam = otp_type == "steam"
    return Account.create(
        type=otp_type,
        secret=base64.b32encode(draw(st.binary(min_size=1, max_size=64))).decode(),
        issuer=draw(labels),
        account=draw(labels),
        algorithm="SHA1" if steam else draw(st.sampled_from(["SHA1", "SHA256", "SHA512"])),
        digits=None if steam else draw(st.integers(6, 10)),
        period=draw(st.integers(1, 86_400)),
        counter=draw(st.integers(0, MAX_COUNTER)),
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(accounts(), max_size=5))
def test_plain_round_trips_any_accounts(generated: list[Account]) -> None:
    parsed = importers.parse(aegis.plain(generated)).accounts
    assert [fields(a) for a in parsed] == [fields(a) for a in generated]


@settings(max_examples=8, deadline=None)
@given(st.lists(accounts(), min_size=1, max_size=5), labels.filter(bool))
def test_encrypted_round_trips_any_accounts_and_password(
    generated: list[Account], password: str
) -> None:
    parsed = importers.parse(aegis.encrypted(generated, password), password=password).accounts
    assert [fields(a) for a in parsed] == [fields(a) for a in generated]
