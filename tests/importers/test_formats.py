"""The registry (names, aliases, detection, password detection), the importers' purity, and
format variants no fixture covers, built here with real crypto."""

from __future__ import annotations

import ast
import base64
import io
import json
import os
import sqlite3
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from daemon import importers
from daemon.errors import (
    DamagedFile,
    ImportFailed,
    PasswordRequired,
    UnknownFormat,
    WrongPassphrase,
)
from daemon.importers.totp_authenticator import DEFAULT_PASSWORD
from tests.importers.support import totp_authenticator_backup

PACKAGE = Path(importers.__file__).parent
SECRET = "4SJHB4GSD43FZBAI7C2HLRJGPQ"
PURE_IMPORTS = {
    "__future__", "base64", "binascii", "collections", "contextlib", "csv", "dataclasses",
    "hashlib", "io", "json", "re", "sqlite3", "struct", "typing", "urllib", "xml", "zipfile",
    "zlib", "cryptography", "daemon", "unicodedata", "hmac", "nacl", "pykeepass", "construct",
    "lxml",
}  # fmt: skip


# --- registry ----------------------------------------------------------------------------------


def test_every_format_is_described() -> None:
    for name, importer in importers.FORMATS.items():
        assert importer.name == name
        assert importer.title
        assert importer.description
        assert "\n" not in importer.description
    for alias, target in importers.ALIASES.items():
        assert alias not in importers.FORMATS
        assert target in importers.FORMATS


def test_names_and_aliases() -> None:
    assert importers.get("WinAuth").name == "winauth"
    assert importers.get("authenticator-pro").name == "stratum"
    with pytest.raises(UnknownFormat, match=r"unknown format 'nope' \(known: 2fas, aegis"):
        importers.get("nope")


@pytest.mark.parametrize("data", [b"", b"  \n\t", b"hello world", b"{}", b"[]", os.urandom(8)])
def test_detect_refuses_what_is_no_export(data: bytes) -> None:
    with pytest.raises(UnknownFormat, match=r"empty|not a format otpsync can import"):
        importers.detect(data)


def test_importers_are_pure() -> None:
    """Bytes in, accounts out: no files, network, processes, printing or logging."""
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                names = []
            for name in names:
                assert name.split(".")[0] in PURE_IMPORTS, f"{path.name} imports {name}"
                if name.startswith("daemon."):
                    assert name.startswith(("daemon.core", "daemon.errors", "daemon.importers"))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("open", "print", "exec", "eval"), path.name


# --- text formats ------------------------------------------------------------------------------


def test_form_encoded_issuer_follows_the_label() -> None:
    (account,) = importers.parse(
        b"otpauth://totp/Air%20Canada:b?secret=GEZDGNBV&issuer=Air+Canada"
    ).accounts
    assert account.issuer == "Air Canada"
    (literal,) = importers.parse(b"otpauth://totp/b?secret=GEZDGNBV&issuer=Foo+Bar").accounts
    assert literal.issuer == "Foo+Bar"


def test_a_bad_line_in_a_uri_list_is_named() -> None:
    data = f"otpauth://totp/a?secret={SECRET}\n# note\nnot a uri\n".encode()
    assert importers.detect(data) == "otpauth"
    result = importers.parse(data)
    assert [a.account for a in result.accounts] == ["a"]
    assert [(s.label, s.malformed) for s in result.skipped] == [("line 3", True)]
    assert result.skipped[0].reason.startswith("not an otpauth")
    # With nothing good in it, the file is not a URI list after all: one error, named.
    with pytest.raises(ImportFailed, match="line 2: not an otpauth"):
        importers.get("otpauth").parse(b"# only\nnot a uri\n")


def test_bitwarden_values_and_encrypted_exports() -> None:
    items = [
        {"name": "Site", "login": {"username": "ann", "totp": SECRET.lower()}},
        {"name": "Mail", "login": {"username": "bob", "totp": f"otpauth://totp/?secret={SECRET}"}},
        {"name": "Note", "type": 2},
        {"name": "Pass", "login": {"username": "x", "password": "y", "totp": None}},
    ]
    accounts = importers.parse(json.dumps({"encrypted": False, "items": items}).encode()).accounts
    assert [(a.issuer, a.account) for a in accounts] == [("Site", "ann"), ("Mail", "bob")]
    encrypted = {"encrypted": True, "passwordProtected": True, "salt": "x", "data": "2.x|y|z"}
    with pytest.raises(PasswordRequired):
        importers.parse(json.dumps(encrypted).encode())


def test_messages_never_quote_the_file() -> None:
    secret_like = "THIS*IS*NOT*BASE32*BUT*A*SECRET"
    data = json.dumps([{"secret": secret_like, "label": "x", "type": "TOTP"}]).encode()
    [skipped] = importers.parse(data).skipped
    assert skipped.shown() == "x (not a secret)"
    malformed = json.dumps([{"secret": secret_like, "label": "x", "type": "TOTP", "digits": "?"}])
    with pytest.raises(ImportFailed) as caught:
        importers.parse(malformed.encode())
    assert "entry 1" in caught.value.message
    assert secret_like not in caught.value.message


# --- app formats with variants no fixture has --------------------------------------------------


def test_authy_native_tokens() -> None:
    tokens = [{"name": "Twitch", "secretSeed": "00112233445566778899aabbccddeeff", "digits": 7}]
    prefs = (
        '<?xml version="1.0" encoding="utf-8"?><map>'
        '<string name="com.authy.storage.tokens.authy.key">'
        + json.dumps(tokens).replace('"', "&quot;")
        + "</string></map>"
    )
    (account,) = importers.parse(prefs.encode()).accounts
    assert (account.issuer, account.digits, account.period) == ("Twitch", 7, 10)


def sqlite_bytes(schema: str, *rows: tuple[object, ...]) -> bytes:
    con = sqlite3.connect(":memory:")
    con.execute(schema)
    for row in rows:
        con.execute(f"INSERT INTO accounts VALUES ({', '.join('?' * len(row))})", row)  # noqa: S608
    data = con.serialize()
    con.close()
    return data


def test_microsoft_personal_accounts_and_push_only_accounts() -> None:
    personal = base64.b64encode(b"0123456789abcdef0123").decode()
    data = sqlite_bytes(
        "CREATE TABLE accounts (name, username, oath_secret_key, account_type)",
        ("Microsoft", "me@outlook.com", personal, 1),
        ("Contoso", "me@contoso.com", "", 2),
    )
    assert importers.detect(data) == "microsoft-authenticator"
    (account,) = importers.parse(data).accounts
    assert (account.issuer, account.digits, account.type) == ("Microsoft", 8, "totp")


def test_old_google_database_without_issuer_column() -> None:
    data = sqlite_bytes(
        "CREATE TABLE accounts (_id INTEGER PRIMARY KEY, email TEXT, secret TEXT, counter "
        "INTEGER, type INTEGER)",
        (1, "GitHub:ann", SECRET.lower(), 0, 0),
    )
    (account,) = importers.parse(data).accounts
    assert (account.issuer, account.account, account.secret) == ("GitHub", "ann", SECRET)


def test_damaged_sqlite_is_a_clear_error() -> None:
    data = sqlite_bytes("CREATE TABLE accounts (name, username, oath_secret_key, account_type)")
    broken = data[:100] + b"\xff" * (len(data) - 100)
    with pytest.raises(ImportFailed, match=r"SQLite database is damaged|not a database"):
        importers.get("microsoft-authenticator").parse(broken)


def test_totp_authenticator_default_password_needs_no_prompt() -> None:
    accounts = [{"base": 32, "key": SECRET, "name": "ann", "issuer": "X", "digits": "6",
                 "period": "30"}]  # fmt: skip
    data = totp_authenticator_backup(DEFAULT_PASSWORD, accounts)
    assert importers.detect(data) == "totp-authenticator"
    assert not importers.needs_password("totp-authenticator", data)
    assert importers.parse(data).accounts[0].secret == SECRET
    own = totp_authenticator_backup("mine", accounts)
    assert importers.needs_password("totp-authenticator", own)
    with pytest.raises(PasswordRequired):
        importers.parse(own)
    assert importers.parse(own, password="mine").accounts[0].account == "ann"


def test_steam_files_with_several_accounts_and_sda() -> None:
    shared = base64.b64encode(base64.b32decode(SECRET + "======")).decode()
    both = {"accounts": {"1": {"shared_secret": shared, "account_name": "a"},
                         "2": {"shared_secret": shared, "account_name": "b"}}}  # fmt: skip
    assert [a.account for a in importers.parse(json.dumps(both).encode()).accounts] == ["a", "b"]
    sda = {"shared_secret": shared, "account_name": "c", "revocation_code": "R1"}
    (account,) = importers.parse(json.dumps(sda).encode()).accounts
    assert (account.type, account.issuer, account.digits) == ("steam", "Steam", 5)


def twofas_encrypted(services: list[object], password: bytes, *, damage: bool = False) -> bytes:
    salt = os.urandom(256)
    key = PBKDF2HMAC(SHA256(), 32, salt, 10_000).derive(password)

    def seal(plain: bytes) -> str:
        nonce = os.urandom(12)
        sealed = bytearray(AESGCM(key).encrypt(nonce, plain, None))
        return ":".join(base64.b64encode(p).decode() for p in (sealed, salt, nonce))

    blob = seal(json.dumps(services).encode())
    if damage:
        blob = ("A" if blob[0] != "A" else "B") + blob[1:]
    return json.dumps({"services": [], "schemaVersion": 4, "servicesEncrypted": blob,
                       "reference": seal(b"reference text")}).encode()  # fmt: skip


def test_twofas_reference_tells_wrong_password_from_damage() -> None:
    services = [{"name": "X", "secret": SECRET, "otp": {"account": "a", "tokenType": "TOTP"}}]
    twofas = importers.get("2fas")
    assert twofas.parse(twofas_encrypted(services, b"pw"), "pw").accounts[0].issuer == "X"
    with pytest.raises(WrongPassphrase):
        twofas.parse(twofas_encrypted(services, b"pw"), "nope")
    with pytest.raises(DamagedFile):
        twofas.parse(twofas_encrypted(services, b"pw", damage=True), "pw")


def test_authenticator_plus_unencrypted_zip() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("Accounts.txt", f"otpauth://totp/A:b?secret={SECRET}\n")
    data = buffer.getvalue()
    assert importers.detect(data) == "authenticator-plus"
    assert not importers.needs_password("authenticator-plus", data)
    assert importers.parse(data).accounts[0].issuer == "A"
