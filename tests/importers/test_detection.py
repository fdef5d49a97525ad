"""Detection from content, never the name (issue 11): old andOTP encrypted backups (by the
password, since they have no header), Bitwarden exports without the "encrypted" key, the old
Battle.net app's preferences, WinAuth's (password-protected) ZIP."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import pytest

from daemon import importers
from daemon.errors import PasswordRequired, UnknownFormat, WrongPassphrase
from daemon.importers.battlenet import MASK
from tests.importers.support import (
    andotp_encrypted_old,
    fixture,
    zipcrypto_zip,
)
from tests.importers.test_fixtures import needs_fixtures

SECRET = "4SJHB4GSD43FZBAI7C2HLRJGPQ"
ANDOTP = [{"secret": SECRET, "issuer": "Deno", "label": "Mason", "digits": 6, "type": "TOTP",
           "algorithm": "SHA1", "period": 30}]  # fmt: skip
URIS = (
    f"otpauth://totp/Deno:Mason?secret={SECRET}&issuer=Deno\n"
    "otpauth://totp/Battle.net:US-2211-2050-3346?secret=BMGRXPGFARQQF4GMT25JATL2VYLAHDBI"
    "&digits=8&issuer=Battle.net&serial=US-2211-2050-3346\n"
).encode()


# --- old andOTP: no header, so only the password can tell ---------------------------------------


def test_old_andotp_is_detected_by_its_password_only() -> None:
    data = andotp_encrypted_old(ANDOTP, "pw")
    with pytest.raises(UnknownFormat):
        importers.detect(data)
    with pytest.raises(UnknownFormat):
        importers.detect(data, password="not it")  # GCM authenticates: a wrong guess fails
    assert importers.detect(data, password="pw") == "andotp"
    (account,) = importers.parse(data, password="pw").accounts
    assert (account.issuer, account.account, account.secret) == ("Deno", "Mason", SECRET)


def test_a_password_never_makes_random_bytes_an_andotp_backup() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    with pytest.raises(UnknownFormat):
        importers.detect(png, password="pw")


def test_the_old_andotp_fixture_is_detected_with_its_password() -> None:
    needs_fixtures()
    data = fixture("aegis-tests/andotp_encrypted_old.bin")
    assert importers.detect(data, password="test") == "andotp"
    assert len(importers.parse(data, password="test").accounts) == 6


# --- Bitwarden without "encrypted" ----------------------------------------------------------------


def test_bitwarden_without_the_encrypted_key() -> None:
    doc = {"folders": [], "items": [
        {"type": 2, "name": "note", "secureNote": {"type": 0}},
        {"type": 1, "name": "Deno", "login": {"username": "Mason", "totp": SECRET}},
    ]}  # fmt: skip
    data = json.dumps(doc).encode()
    assert importers.detect(data) == "bitwarden"
    (account,) = importers.parse(data).accounts
    assert (account.issuer, account.account) == ("Deno", "Mason")


def test_bitwardens_documented_sample_reports_its_junk_totp() -> None:
    """individual.json: no "encrypted" key; its one totp is an otpauth URI with no secret."""
    needs_fixtures()
    data = fixture("bitwarden-backup-decryptor-tests/individual.json")
    assert importers.detect(data) == "bitwarden"
    result = importers.parse(data)
    assert result.accounts == ()
    [junk] = result.skipped
    assert junk.reason == "the URI has no secret= parameter"
    assert not junk.malformed


# --- the old Battle.net Mobile Authenticator ----------------------------------------------------


def old_battlenet_prefs(secret_hex: str, serial: str) -> bytes:
    """com.blizzard.bma.AUTH_STORE.xml as WinAuth's ExportForm writes it for the old app."""
    plain = (secret_hex.lower() + serial).encode()
    masked = bytes(b ^ m for b, m in zip(plain, MASK, strict=False)).hex()
    return (
        "<?xml version='1.0' encoding='utf-8' standalone='yes' ?>\n<map>\n"
        '<long name="com.blizzard.bma.AUTH_STORE.CLOCK_OFFSET" value="0" />\n'
        f'<string name="com.blizzard.bma.AUTH_STORE.HASH">{masked}</string>\n</map>\n'
    ).encode()


def test_the_old_battlenet_preferences_layout() -> None:
    secret = "BMGRXPGFARQQF4GMT25JATL2VYLAHDBI"  # Aegis's battlenet vector
    data = old_battlenet_prefs(base64.b32decode(secret).hex(), "US-2211-2050-3346")
    assert importers.detect(data) == "battlenet"
    (account,) = importers.parse(data).accounts
    assert (account.issuer, account.account, account.secret) == (
        "Battle.net", "US-2211-2050-3346", secret,
    )  # fmt: skip
    assert (account.digits, account.period) == (8, 30)


# --- WinAuth's ZIP ------------------------------------------------------------------------------


def test_winauth_password_protected_zip() -> None:
    data = zipcrypto_zip("winauth-2026-11-28.txt", URIS, "pw")
    assert importers.detect(data) == "winauth"
    assert importers.needs_password("winauth", data)
    winauth = importers.get("winauth")
    with pytest.raises(PasswordRequired):
        winauth.parse(data)
    with pytest.raises(WrongPassphrase):
        winauth.parse(data, "not it")
    accounts = winauth.parse(data, "pw").accounts
    assert [(a.issuer, a.account, a.digits) for a in accounts] == [
        ("Deno", "Mason", 6), ("Battle.net", "US-2211-2050-3346", 8),
    ]  # fmt: skip
    assert len(importers.parse(data, password="pw").accounts) == 2  # detected, then read


def test_winauth_plain_zip_and_plain_text_through_from_winauth() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export.txt", URIS)
    plain_zip = buffer.getvalue()
    assert importers.detect(plain_zip) == "winauth"
    assert not importers.needs_password("winauth", plain_zip)
    assert len(importers.get("winauth").parse(plain_zip).accounts) == 2
    assert len(importers.get("winauth").parse(URIS).accounts) == 2
