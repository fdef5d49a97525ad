"""Entry-level tolerance, file-level strictness (issue 11): one entry otpsync cannot make — an
mOTP or Yandex code, an unknown type, a value that is not a secret — is skipped with its
reason, and every other entry imports. The files are built here the way each app writes them
(its own field names and type codes), since no upstream sample holds such entries."""

from __future__ import annotations

import json
from typing import Any

import pytest

from daemon import importers
from daemon.errors import ImportFailed, WrongPassphrase
from daemon.importers import ImportResult
from tests.importers.support import (
    DENO_ENTRY,
    aegis_db,
    aegis_vault,
    andotp_encrypted,
    totp_authenticator_backup,
)

SECRET = "4SJHB4GSD43FZBAI7C2HLRJGPQ"
GOOD = ("Deno", "Mason")


def shown(result: ImportResult) -> list[str]:
    return [s.shown() for s in result.skipped]


def labels(result: ImportResult) -> list[tuple[str, str]]:
    return [(a.issuer, a.account) for a in result.accounts]


# --- Aegis: "yandex" and "motp" entries (Aegis's YandexInfo / MotpInfo) -------------------------

AEGIS_YANDEX = {
    "type": "yandex",
    "uuid": "0f8a7e44-1b0c-4d8e-9a51-6e1f4f3a2b10",
    "name": "ivan",
    "issuer": "Yandex",
    "info": {"secret": "6SB2IKNM6OBZPAVBVTOHDKS4FA", "algo": "SHA256", "digits": 8,
             "period": 30, "pin": "5239"},
}  # fmt: skip
AEGIS_MOTP = {
    "type": "motp",
    "uuid": "5c2d7b1e-93a4-4f60-8e0b-2a7d9c4e1f33",
    "name": "x",
    "issuer": "Bank",
    "info": {"secret": "e3152afee62599c8", "algo": "MD5", "digits": 6, "period": 10,
             "pin": "1234"},
}  # fmt: skip


def aegis_plain(*entries: dict[str, Any]) -> bytes:
    return json.dumps(
        {"version": 1, "header": {"slots": None, "params": None}, "db": aegis_db(*entries)}
    ).encode()


def test_aegis_skips_yandex_and_motp_and_imports_the_rest() -> None:
    result = importers.parse(aegis_plain(AEGIS_YANDEX, DENO_ENTRY, AEGIS_MOTP))
    assert labels(result) == [GOOD]
    assert shown(result) == [
        "Yandex — ivan (Yandex codes are not supported)",
        "Bank — x (mOTP codes are not supported)",
    ]


def test_encrypted_aegis_skips_the_same_way() -> None:
    vault = aegis_vault(aegis_db(DENO_ENTRY, AEGIS_YANDEX), b"pw")
    result = importers.parse(vault, password="pw")
    assert labels(result) == [GOOD]
    assert shown(result) == ["Yandex — ivan (Yandex codes are not supported)"]


def test_unknown_types_and_non_secrets_are_skipped_by_name() -> None:
    future = {**DENO_ENTRY, "type": "quantum", "issuer": "Lab", "name": "q"}
    junk = {**DENO_ENTRY, "issuer": "Bank", "name": "x", "info": {"secret": "1019"}}
    result = importers.parse(aegis_plain(future, DENO_ENTRY, junk))
    assert labels(result) == [GOOD]
    assert shown(result) == ["Lab — q (unknown code type 'quantum')", "Bank — x (not a secret)"]


# --- andOTP: type "MOTP" (andOTP's Entry.OTPType) ---------------------------------------------

ANDOTP_DENO = {"secret": SECRET, "issuer": "Deno", "label": "Mason", "digits": 6, "type": "TOTP",
               "algorithm": "SHA1", "thumbnail": "Default", "last_used": 0, "used_frequency": 0,
               "period": 30, "tags": []}  # fmt: skip
ANDOTP_MOTP = {"secret": "e3152afee62599c8", "issuer": "Bank", "label": "x", "digits": 6,
               "type": "MOTP", "algorithm": "MD5", "period": 10, "tags": []}  # fmt: skip


def test_andotp_plain_and_encrypted_skip_motp() -> None:
    for data, password in (
        (json.dumps([ANDOTP_MOTP, ANDOTP_DENO]).encode(), None),
        (andotp_encrypted([ANDOTP_MOTP, ANDOTP_DENO], "pw"), "pw"),
    ):
        result = importers.parse(data, password=password)
        assert labels(result) == [GOOD]
        assert shown(result) == ["Bank — x (mOTP codes are not supported)"]


# --- Stratum / Authenticator Pro: Type 3 (mOTP) and 5 (Yandex) --------------------------------


def stratum(type_: int, issuer: str, username: str, algorithm: int = 0) -> dict[str, Any]:
    return {"Type": type_, "Icon": None, "Issuer": issuer, "Username": username,
            "Secret": SECRET, "Pin": None, "Algorithm": algorithm, "Digits": 6, "Period": 30,
            "Counter": 0, "Ranking": 0, "CopyCount": 0}  # fmt: skip


def test_stratum_skips_motp_yandex_and_unknown_algorithms() -> None:
    doc = {"Authenticators": [stratum(5, "Yandex", "ivan"), stratum(2, "Deno", "Mason"),
                              stratum(3, "Bank", "x"), stratum(2, "Odd", "a", algorithm=7)],
           "Categories": [], "AuthenticatorCategories": [], "CustomIcons": []}  # fmt: skip
    result = importers.parse(json.dumps(doc).encode())
    assert labels(result) == [GOOD]
    assert shown(result) == [
        "Yandex — ivan (Yandex codes are not supported)",
        "Bank — x (mOTP codes are not supported)",
        "Odd — a (unknown algorithm 7)",
    ]


# --- Bitwarden: a junk totp value -------------------------------------------------------------


def test_bitwarden_junk_totp_is_skipped_and_the_rest_imports() -> None:
    items = [
        {"type": 1, "name": "Bank", "login": {"username": "x", "totp": "1019"}},
        {"type": 1, "name": "Deno", "login": {"username": "Mason", "totp": SECRET}},
        {"type": 1, "name": "Docs", "login": {"username": "", "totp": "otpauth://totp/my-key"}},
    ]
    result = importers.parse(json.dumps({"encrypted": False, "items": items}).encode())
    assert labels(result) == [GOOD]
    assert shown(result) == ["Bank — x (not a secret)", "Docs (the URI has no secret= parameter)"]
    csv = f"name,login_username,login_totp\nBank,x,1019\nDeno,Mason,{SECRET}\n".encode()
    result = importers.parse(csv)
    assert labels(result) == [GOOD]
    assert shown(result) == ["Bank — x (not a secret)"]


# --- TOTP Authenticator: digits and period stored as "" ---------------------------------------


def test_totp_authenticator_empty_digits_and_period_mean_the_defaults() -> None:
    entries = [{"base": 32, "key": SECRET, "name": "Mason", "issuer": "Deno", "digits": "",
                "period": ""},
               {"base": 32, "key": SECRET[::-1], "name": "b", "issuer": "B", "digits": "8",
                "period": " "}]  # fmt: skip
    result = importers.parse(totp_authenticator_backup("pw", entries), password="pw")
    assert [(a.issuer, a.digits, a.period) for a in result.accounts] == [
        ("Deno", 6, 30),
        ("B", 8, 30),
    ]
    assert result.skipped == ()


# --- the file-level rules ---------------------------------------------------------------------


def test_nothing_importable_but_well_formed_is_a_result_not_an_error() -> None:
    """Every entry is one otpsync cannot make: the file is fine, there is nothing to merge,
    and the preview can say why."""
    result = importers.parse(aegis_plain(AEGIS_YANDEX, AEGIS_MOTP))
    assert result.accounts == ()
    assert len(result.skipped) == 2


def test_nothing_importable_and_malformed_fails_the_file_naming_the_entry() -> None:
    """No entry imports and some are not laid out as the format's entries: the file is not
    really this format (or badly damaged), so it fails as a whole, with nothing offered."""
    broken = {"type": "totp", "name": "a", "issuer": "b"}  # no "info"
    with pytest.raises(ImportFailed, match=r"Aegis vault: entry 2: missing 'info'"):
        importers.parse(aegis_plain(AEGIS_YANDEX, broken))
    # With a good entry beside it, the malformed one is only skipped.
    result = importers.parse(aegis_plain(broken, DENO_ENTRY))
    assert labels(result) == [GOOD]
    assert [(s.label, s.malformed) for s in result.skipped] == [("entry 1", True)]


def test_a_wrong_password_met_inside_one_entry_still_fails_the_file() -> None:
    """Authy encrypts each token on its own: a token that does not open is a wrong password
    for the file, never one skipped entry."""
    from tests.importers.test_fixtures import fixture, needs_fixtures

    needs_fixtures()
    with pytest.raises(WrongPassphrase):
        importers.parse(fixture("aegis-tests/authy_encrypted.xml"), password="not it")


def test_labels_and_reasons_from_the_file_are_shown_escaped() -> None:
    hostile = {**AEGIS_YANDEX, "issuer": "Evil\x1b[2J\u202e", "name": "a\nb"}
    [skipped] = importers.parse(aegis_plain(hostile, DENO_ENTRY)).skipped
    assert skipped.shown() == "Evil\\x1b[2J\\u202e — a\\x0ab (Yandex codes are not supported)"
    odd = {**DENO_ENTRY, "type": "\x07" * 100, "issuer": "Z", "name": "z"}
    [skipped] = importers.parse(aegis_plain(odd, DENO_ENTRY)).skipped
    assert "\x07" not in skipped.shown()


def test_printable_escapes_what_a_terminal_would_obey() -> None:
    from daemon.importers._common import printable

    assert printable("GitHub — ann") == "GitHub — ann"
    assert printable("a\x1b[2Jb\u202ec\r\nd") == "a\\x1b[2Jb\\u202ec\\x0d\\x0ad"
    long = printable("x" * 300)
    assert long.endswith("x…")
    assert len(long) == 201
