"""The big apps' encrypted exports through the real ``otpsync`` command and the real watcher:
Bitwarden password-protected JSON, Ente Auth encrypted, KeePass KDBX (password and/or
``--key-file``). Good files merge; a wrong password, a truncated or a bit-flipped file gets
one ``otpsync: error:`` line and leaves the home byte-identical."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Home
from tests.daemon_support import Recorder, daemon_settings
from tests.importers.support import (
    bitwarden_protected_export,
    ente_encrypted,
    kdbx_set_kdf,
    keepass_db,
)
from tests.test_cli_errors import assert_refused, target  # noqa: F401 (a fixture)
from tests.test_watch_sources import drop

SECRET = "JBSWY3DPEHPK3PXP"
PASSWORD = "export password"
KEY = bytes(range(64))  # a KeePass key file may be any bytes
BITWARDEN = bitwarden_protected_export(
    {"items": [{"type": 1, "name": "GitHub", "login": {"username": "ann", "totp": SECRET}}]},
    PASSWORD,
)
ENTE = ente_encrypted(f"otpauth://totp/GitHub:ann?secret={SECRET}&issuer=GitHub\n", PASSWORD)
KDBX = keepass_db(
    [{"title": "GitHub", "username": "ann", "otp": f"otpauth://totp/x?secret={SECRET}"}],
    password=PASSWORD,
    key_file=KEY,
)
KDBX_KEY_ONLY = keepass_db(
    [{"title": "GitHub", "username": "ann", "TimeOtp-Secret-Base32": SECRET}],
    password=None,
    key_file=KEY,
)


def _json_field(data: bytes, key: str, change: Callable[[Any], Any]) -> bytes:
    root = json.loads(data)
    root[key] = change(root[key])
    return json.dumps(root).encode()


def _flip_char(text: str, at: int) -> str:
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]


def _flip_byte(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, content in {
        "password": PASSWORD.encode() + b"\n",
        "wrong": b"not the export password\n",
        "key": KEY,
        "other-key": bytes(64),
    }.items():
        out[name] = tmp_path / name
        out[name].write_bytes(content)
    return out


# --- good files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "args"),
    [
        (BITWARDEN, ("--password-file", "{password}")),
        (ENTE, ("--password-file", "{password}")),
        (KDBX, ("--password-file", "{password}", "--key-file", "{key}")),
        (KDBX_KEY_ONLY, ("--key-file", "{key}")),
    ],
    ids=["bitwarden", "ente", "kdbx-password-and-key", "kdbx-key-only"],
)
def test_encrypted_exports_merge(
    make_home: Callable[..., Home],
    tmp_path: Path,
    files: dict[str, Path],
    data: bytes,
    args: tuple[str, ...],
) -> None:
    home = make_home("laptop")
    export = tmp_path / "export.bin"  # detected from the content, not the name
    export.write_bytes(data)
    argv = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    done = home.ok("import", str(export), *argv, "--yes", "--json")
    assert json.loads(done.stdout)["new"] == 1
    assert "GitHub" in home.ok("list").stdout


# --- bad files -----------------------------------------------------------------------------

BAD_CASES = [
    ("bitwarden-wrong-password", BITWARDEN, "wrong", (), "Bitwarden export: wrong password"),
    ("bitwarden-truncated", BITWARDEN[: len(BITWARDEN) // 2], "password", (), "not valid JSON"),
    (
        "bitwarden-flipped",
        _json_field(BITWARDEN, "data", lambda v: _flip_char(v, 40)),
        "password",
        (),
        "data fails authentication: damaged or tampered with",
    ),
    (
        "bitwarden-kdf",
        _json_field(BITWARDEN, "kdfIterations", lambda v: 10**9),
        "password",
        (),
        "1,000,000,000 PBKDF2 iterations",
    ),
    ("ente-wrong-password", ENTE, "wrong", (), "Ente Auth export: wrong password"),
    ("ente-truncated", ENTE[: len(ENTE) - 20], "password", (), "not valid JSON"),
    (
        "ente-flipped",
        _json_field(ENTE, "encryptedData", lambda v: _flip_char(v, 10)),
        "password",
        (),
        "wrong password, or the encrypted data is damaged",
    ),
    ("kdbx-wrong-password", KDBX, "wrong", ("--key-file", "key"), "wrong password or key file"),
    ("kdbx-wrong-key", KDBX, "password", ("--key-file", "other-key"), "wrong password or key"),
    ("kdbx-no-key", KDBX, "password", (), "wrong password or key file"),
    ("kdbx-truncated", KDBX[: len(KDBX) // 2], "password", ("--key-file", "key"), "damaged"),
    (
        "kdbx-flipped",
        _flip_byte(KDBX, len(KDBX) - 100),
        "password",
        ("--key-file", "key"),
        "damaged",
    ),
    (
        "kdbx-kdf",
        kdbx_set_kdf(KDBX, b"M", 64 << 30),
        "password",
        ("--key-file", "key"),
        "asks for Argon2 with 68,719,476,736 bytes",
    ),
    ("not-a-keepass-key-user", ENTE, "password", ("--key-file", "key"), "KeePass databases"),
]


@pytest.mark.parametrize(
    ("data", "password", "extra", "expect"),
    [pytest.param(d, p, e, x, id=name) for name, d, p, e, x in BAD_CASES],
)
def test_bad_encrypted_exports_are_refused_and_change_nothing(
    target: Home,  # noqa: F811
    tmp_path: Path,
    files: dict[str, Path],
    data: bytes,
    password: str,
    extra: tuple[str, ...],
    expect: str,
) -> None:
    export = tmp_path / "export.bin"
    export.write_bytes(data)
    argv = [str(files[a]) if a in files else a for a in extra]
    before = target.digest()
    done = target.run("import", str(export), "--password-file", str(files[password]), *argv,
                      "--yes")  # fmt: skip
    usage = expect == "KeePass databases"
    line = assert_refused(done, expect, exit_code=2 if usage else 1, hide=str(export))
    assert PASSWORD not in line
    assert target.digest() == before


def test_a_database_without_password_or_key_file_says_what_it_needs(
    target: Home,  # noqa: F811
    tmp_path: Path,
) -> None:
    export = tmp_path / "db.kdbx"
    export.write_bytes(KDBX)
    done = target.run("import", str(export), "--yes")
    assert_refused(done, "give --password-file FILE and/or --key-file FILE", hide=str(export))


def test_a_missing_key_file_is_one_clear_line(
    target: Home,  # noqa: F811
    tmp_path: Path,
    files: dict[str, Path],
) -> None:
    export = tmp_path / "db.kdbx"
    export.write_bytes(KDBX)
    before = target.digest()
    done = target.run("import", str(export), "--key-file", str(tmp_path / "nope"), "--yes")
    assert_refused(done, "key file", hide=str(tmp_path / "nope"))
    assert target.digest() == before


# --- watch sources -------------------------------------------------------------------------


def _source(tmp_path: Path, name: str, pattern: str, **keys: str) -> str:
    pw = tmp_path / f"{name}-password"
    pw.write_text(PASSWORD + "\n")
    pw.chmod(0o600)
    lines = ["[[watch.sources]]", f'name = "{name}"', f'pattern = "{pattern}"',
             'format = "auto"', f'password_file = "{pw}"']  # fmt: skip
    lines += [f'{k} = "{v}"' for k, v in keys.items()]
    return "\n".join(lines) + "\n"


def test_encrypted_ente_and_bitwarden_backups_queue_like_aegis(local_home, tmp_path: Path) -> None:
    key = tmp_path / "db.key"
    key.write_bytes(KEY)
    key.chmod(0o600)
    tables = (
        _source(tmp_path, "ente", "ente-auth-codes-*.txt")
        + _source(tmp_path, "bitwarden", "bitwarden_encrypted_export_*.json")
        + _source(tmp_path, "keepass", "*.kdbx", key_file=str(key))
    )
    home = local_home("laptop", extra=daemon_settings() + "\n" + tables)
    recorder = Recorder()
    daemon = home.daemon(recorder)
    drop(ENTE, home.sync, "ente-auth-codes-2026-11-28.txt")
    [event] = recorder.wait("pending")
    assert event.message == "Backup from ente: 1 new code"
    drop(BITWARDEN, home.sync, "bitwarden_encrypted_export_20261128.json")
    drop(KDBX, home.sync, "Passwords.kdbx")
    recorder.wait("pending", count=3)
    pending = {view.entry.device: view for view in daemon.status().pending}
    assert sorted(pending) == ["bitwarden", "ente", "keepass"]
    assert all(view.plan.counts()["new"] == 1 for view in pending.values())
    approved = daemon.approve(pending["keepass"].entry.id).result(timeout=20)
    assert [a.label for a in approved.added] == ["GitHub — ann"]


def test_a_wrong_source_key_file_is_reported_not_queued(local_home, tmp_path: Path) -> None:
    key = tmp_path / "other.key"
    key.write_bytes(bytes(64))
    table = _source(tmp_path, "keepass", "*.kdbx", key_file=str(key))
    home = local_home("laptop", extra=daemon_settings() + "\n" + table)
    recorder = Recorder()
    daemon = home.daemon(recorder)
    drop(KDBX, home.sync, "Passwords.kdbx")
    [error] = recorder.wait("error")
    assert "password or key_file configured for [[watch.sources]] 'keepass'" in error.message
    assert daemon.status().pending == ()
