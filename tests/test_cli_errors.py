"""Every error of the ``otpsync`` CLI contract (issue 2), run as real subprocesses.

Each case checks: the exit code (1; usage errors 2), exactly one ``otpsync: error: …`` line on
stderr carrying its own message, no traceback, nothing on stdout, and that nothing under the
home changed (not even a snapshot).
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import FAST_KDF, Home

MakeHome = Callable[..., Home]
OTHER_PASSPHRASE = "a different passphrase entirely"
GITHUB = base64.b32encode(b"github-secret-000001").decode()
GITLAB = base64.b32encode(b"gitlab-secret-000002").decode()
URI = f"otpauth://totp/GitHub:alice?secret={GITHUB}&issuer=GitHub"
MAX_FILE_BYTES = 16 * 1024 * 1024  # the documented size cap


# --- helpers ---------------------------------------------------------------------------------


def reseal_checksum(data: bytes) -> bytes:
    """Recompute the ``end sha256=`` line over every byte before it, as a forger would."""
    cut = data[:-1].rfind(b"\n") + 1
    content = data[:cut]
    assert data[cut:].startswith(b"end sha256=")
    return content + b"end sha256=" + hashlib.sha256(content).hexdigest().encode() + b"\n"


def flip(data: bytes, index: int) -> bytes:
    """Change one character (to another base64/hex-safe one)."""
    new = b"B" if data[index : index + 1] == b"A" else b"A"
    return data[:index] + new + data[index + 1 :]


def field_at(data: bytes, name: bytes) -> int:
    """Index of the first character of header field ``name``'s value."""
    return data.index(b"\n" + name + b": ") + len(name) + 3


def body_at(data: bytes) -> int:
    return data.index(b"\n\n") + 2


def set_field(data: bytes, name: bytes, value: bytes) -> bytes:
    start = field_at(data, name)
    end = data.index(b"\n", start)
    return data[:start] + value + data[end:]


def assert_refused(
    done: subprocess.CompletedProcess[str],
    expect: str | tuple[str, ...],
    *,
    exit_code: int = 1,
    not_expect: tuple[str, ...] = (),
    hide: str = "",
) -> str:
    """The one-line error contract. Returns the error line (``hide`` replaced by <FILE>)."""
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    assert "internal error" not in done.stderr, done.stderr
    assert done.returncode == exit_code, (done.returncode, done.stderr)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    line = lines[0].replace(hide, "<FILE>") if hide else lines[0]
    assert line.startswith("otpsync: error: "), line
    for part in (expect,) if isinstance(expect, str) else expect:
        assert part in line, (part, line)
    for other in not_expect:
        assert other not in line, (other, line)
    return line


@dataclass(frozen=True)
class Backups:
    good: bytes  # sealed with the PASSPHRASE every test home uses
    other: bytes  # sealed by a home with another passphrase


@pytest.fixture(scope="module")
def backups(tmp_path_factory: pytest.TempPathFactory) -> Backups:
    root = tmp_path_factory.mktemp("backups")
    out: dict[str, bytes] = {}
    for device, passphrase in (("source", None), ("stranger", OTHER_PASSPHRASE)):
        home = Home(root / device, root / f"sync-{device}")
        if passphrase:
            home.passphrase = passphrase
        home.sync.mkdir()
        home.write_config(device)
        home.ok("init")
        home.ok("add", URI)
        if passphrase is None:
            home.ok("add", f"otpauth://totp/GitLab:bob?secret={GITLAB}&issuer=GitLab")
        path = Path(home.ok("export").stdout.splitlines()[-1])
        out[device] = path.read_bytes()
    good = out["source"]
    assert good.startswith(b"otpsync-backup v2\n")
    assert f"kdf-memory-kib: {FAST_KDF.memory_kib}\n".encode() in good
    return Backups(good, out["stranger"])


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """An initialised home with one code, for cases that must not change anything.

    Shared by many tests to save subprocesses: each one checks the digest itself."""
    root = tmp_path_factory.mktemp("target")
    home = Home(root / "home", root / "sync")
    home.sync.mkdir()
    home.write_config("target")
    home.ok("init")
    home.ok("add", URI)
    return home


# --- opening a file: import --------------------------------------------------------------------

CATEGORIES = {
    "wrong": "wrong passphrase",
    "damaged": "damaged",
    "tampered": "tampered with",
    "truncated": "truncated",
    "notbackup": "not an otpsync backup",
    "version": "is not supported",
    "large": "larger than the 16 MiB",
    "kdf": "out of bounds",
    "missing": "file not found",
    "notfile": "not a file",
}

Writer = Callable[[Path, Backups], None]


def _bytes(make: Callable[[Backups], bytes]) -> Writer:
    return lambda path, b: path.write_bytes(make(b))


def _too_large(path: Path, _b: Backups) -> None:
    with open(path, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: no 16 MiB actually written


FILE_CASES: list[tuple[str, Writer, str]] = [
    ("other-passphrase", _bytes(lambda b: b.other), "wrong"),
    ("flip-header", _bytes(lambda b: flip(b.good, field_at(b.good, b"device-id") + 3)), "damaged"),
    ("flip-body", _bytes(lambda b: flip(b.good, body_at(b.good) + 10)), "damaged"),
    ("flip-checksum", _bytes(lambda b: flip(b.good, len(b.good) - 5)), "damaged"),
    (
        "header-line-dropped-resealed",
        _bytes(lambda b: reseal_checksum(b.good.replace(b"kdf: argon2id\n", b""))),
        "damaged",
    ),
    (
        "flip-header-resealed",
        _bytes(lambda b: reseal_checksum(flip(b.good, field_at(b.good, b"nonce")))),
        "tampered",
    ),
    (
        "flip-body-resealed",
        _bytes(lambda b: reseal_checksum(flip(b.good, body_at(b.good)))),
        "tampered",
    ),
    ("cut-after-magic", _bytes(lambda b: b"otpsync-backup v2"), "truncated"),
    ("cut-mid-header", _bytes(lambda b: b.good[:40]), "truncated"),
    ("cut-mid-body", _bytes(lambda b: b.good[: body_at(b.good) + 100]), "truncated"),
    ("cut-before-end-line", _bytes(lambda b: b.good[: b.good.rindex(b"end sha256=")]), "truncated"),
    ("cut-mid-end-line", _bytes(lambda b: b.good[:-20]), "truncated"),
    ("no-final-newline", _bytes(lambda b: b.good[:-1]), "truncated"),
    ("text", _bytes(lambda b: b"my codes, written down\nGitHub 123456\n"), "notbackup"),
    ("empty", _bytes(lambda b: b""), "notbackup"),
    (
        "png",
        _bytes(lambda b: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4),
        "notbackup",
    ),
    (
        "version-9",
        _bytes(lambda b: b"otpsync-backup v9\n" + b.good.split(b"\n", 1)[1]),
        "version",
    ),
    ("too-large", _too_large, "large"),
    (
        "kdf-memory-4GiB",
        _bytes(lambda b: reseal_checksum(set_field(b.good, b"kdf-memory-kib", b"4194304"))),
        "kdf",
    ),
    (
        "kdf-iterations-huge",
        _bytes(lambda b: reseal_checksum(set_field(b.good, b"kdf-iterations", b"1000000"))),
        "kdf",
    ),
    ("not-found", lambda path, b: None, "missing"),
    ("directory", lambda path, b: path.mkdir(), "notfile"),
]


@pytest.mark.parametrize(
    ("write", "category", "flags"),
    [
        # Every other case with --json: an error still leaves stdout empty.
        pytest.param(w, c, ("--yes", "--json") if i % 2 else ("--yes",), id=name)
        for i, (name, w, c) in enumerate(FILE_CASES)
    ],
)
def test_import_refuses_a_bad_file(
    target: Home,
    backups: Backups,
    tmp_path: Path,
    write: Writer,
    category: str,
    flags: tuple[str, ...],
) -> None:
    """Each bad file gets its category's message and no other category's: the messages are
    distinct, and the person can tell a wrong passphrase from damage from truncation."""
    path = tmp_path / "incoming.4otp.txt"
    write(path, backups)
    before = target.digest()
    started = time.monotonic()
    done = target.run("import", str(path), *flags)
    elapsed = time.monotonic() - started
    assert_refused(
        done,
        CATEGORIES[category],
        not_expect=tuple(v for k, v in CATEGORIES.items() if k != category),
        hide=str(path),
    )
    assert target.digest() == before
    if category in ("kdf", "large", "notbackup", "version"):
        # Refused before any key derivation: no Argon2 run at the file's cost (4 GiB would
        # take far longer, or exhaust memory). The budget is mostly Python start-up.
        assert elapsed < 2.0, elapsed


def test_every_category_has_a_case() -> None:
    assert {category for _, _, category in FILE_CASES} == CATEGORIES.keys()


def test_import_good_backup_with_the_wrong_vault_passphrase(
    target: Home, backups: Backups, tmp_path: Path
) -> None:
    path = tmp_path / "good.4otp.txt"
    path.write_bytes(backups.good)
    before = target.digest()
    done = target.run("import", str(path), "--yes", passphrase="not the passphrase")
    assert_refused(done, "wrong passphrase")
    assert target.digest() == before


# --- other apps' encrypted exports this issue adds (issue 11): WinAuth's ZipCrypto ZIP and
# andOTP's headerless old format, found by its password ----------------------------------------

APP_SECRET = "4SJHB4GSD43FZBAI7C2HLRJGPQ"
APP_PASSWORD = "an app password"


def _winauth_zip() -> bytes:
    from tests.importers.support import zipcrypto_zip

    uris = f"otpauth://totp/Deno:Mason?secret={APP_SECRET}&issuer=Deno\n".encode() * 3
    return zipcrypto_zip("winauth-2026-11-28.txt", uris, APP_PASSWORD)


def _old_andotp() -> bytes:
    from tests.importers.support import andotp_encrypted_old

    entry = {"secret": APP_SECRET, "issuer": "Deno", "label": "Mason", "type": "TOTP"}
    return andotp_encrypted_old([entry], APP_PASSWORD)


def _cut(data: bytes, at: float) -> bytes:
    return data[: int(len(data) * at)]


def _flipped(data: bytes, at: float) -> bytes:
    out = bytearray(data)
    out[int(len(out) * at)] ^= 0x10
    return bytes(out)


def _flipped_at(data: bytes, marker: bytes, offset: int) -> bytes:
    """One bit flipped in a field that matters (a flip in a field readers ignore, like the
    central directory's "made by", is no damage)."""
    out = bytearray(data)
    out[data.index(marker) + offset] ^= 0x10
    return bytes(out)


APP_CASES = [
    ("winauth-wrong-password", _winauth_zip, (), "wrong password", "wrong"),
    ("winauth-wrong-password-from", _winauth_zip, ("--from", "winauth"), "wrong password",
     "wrong"),
    ("winauth-cut-half", lambda: _cut(_winauth_zip(), 0.5), (), "damaged or cut short", ""),
    ("winauth-cut-end", lambda: _cut(_winauth_zip(), 0.95), ("--from", "winauth"),
     "damaged or cut short", ""),
    ("winauth-flip-header", lambda: _flipped(_winauth_zip(), 0.15), (), "damaged", ""),
    ("winauth-flip-data", lambda: _flipped(_winauth_zip(), 0.4), (), "damaged", ""),
    ("winauth-flip-directory-crc", lambda: _flipped_at(_winauth_zip(), b"PK\x01\x02", 16),
     ("--from", "winauth"), "damaged", ""),
    ("andotp-old-wrong-password", _old_andotp, (), "opens no old andOTP backup", "wrong"),
    ("andotp-old-wrong-password-from", _old_andotp, ("--from", "andotp"), "wrong password",
     "wrong"),
    ("andotp-old-cut", lambda: _cut(_old_andotp(), 0.5), (), "opens no old andOTP backup", ""),
    ("andotp-old-flip", lambda: _flipped(_old_andotp(), 0.5), ("--from", "andotp"),
     "wrong password", ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("make", "flags", "expect", "password"),
    [pytest.param(m, f, e, p, id=name) for name, m, f, e, p in APP_CASES],
)
def test_import_refuses_a_bad_app_export(
    target: Home,
    tmp_path: Path,
    make: Callable[[], bytes],
    flags: tuple[str, ...],
    expect: str,
    password: str,
) -> None:
    """A wrong password, a truncated or a bit-flipped copy: one line, the home unchanged (even
    with the right password for the damaged copies)."""
    path = tmp_path / "export.bin"
    path.write_bytes(make())
    secret = tmp_path / "password"
    secret.write_text(("not " if password == "wrong" else "") + APP_PASSWORD + "\n")
    before = target.digest()
    done = target.run("import", str(path), "--password-file", str(secret), "--yes", *flags)
    line = assert_refused(done, expect, hide=str(path))
    assert APP_PASSWORD not in line
    assert target.digest() == before


def test_the_good_app_exports_import(target: Home, tmp_path: Path) -> None:
    """The same files, intact and with the right password, do import (so the cases above
    fail for the reason they name)."""
    secret = tmp_path / "password"
    secret.write_text(APP_PASSWORD + "\n")
    for name, make in (("w.zip", _winauth_zip), ("a.bin", _old_andotp)):
        path = tmp_path / name
        path.write_bytes(make())
        done = target.run("import", str(path), "--password-file", str(secret), "--dry-run")
        assert done.returncode == 0, done.stderr
        assert "holds 1 code" in done.stdout


# --- the vault and the passphrase ------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "passphrase", "expect"),
    [
        pytest.param(("list",), "not the passphrase", "wrong passphrase", id="wrong-list"),
        pytest.param(
            ("add", URI.replace("GitHub", "Other")), "nope", "wrong passphrase", id="wrong-add"
        ),
        pytest.param(("code", "--json"), "", "no passphrase", id="none-code"),
        pytest.param(("remove", "0000"), "", "no passphrase", id="none-remove"),
        pytest.param(
            ("--passphrase-file", "/nonexistent/otpsync-pass", "list"),
            "",
            "--passphrase-file /nonexistent/otpsync-pass does not exist",
            id="passphrase-file-missing",
        ),
    ],
)
def test_vault_access_is_refused(
    target: Home, args: tuple[str, ...], passphrase: str, expect: str
) -> None:
    before = target.digest()
    done = target.run(*args, passphrase=passphrase)
    assert_refused(done, expect)
    assert target.digest() == before


def test_passphrase_file_with_the_wrong_passphrase(target: Home, tmp_path: Path) -> None:
    secret = tmp_path / "pass"
    secret.write_text("not it\n")
    secret.chmod(0o600)
    before = target.digest()
    done = target.run("--passphrase-file", str(secret), "list", passphrase="")
    assert_refused(done, "wrong passphrase")
    assert target.digest() == before


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("list", "--json"), id="list"),
        pytest.param(("code",), id="code"),
        pytest.param(("add", URI), id="add"),
        pytest.param(("export",), id="export"),
        pytest.param(("import", "BACKUP", "--yes"), id="import"),
        pytest.param(("undo",), id="undo"),
    ],
)
def test_no_vault_yet(
    make_home: MakeHome, backups: Backups, tmp_path: Path, args: tuple[str, ...]
) -> None:
    home = make_home("fresh", init=False)  # config.toml written, `otpsync init` never run
    backup = tmp_path / "b.4otp.txt"
    backup.write_bytes(backups.good)
    before = home.digest()
    done = home.run(*(str(backup) if a == "BACKUP" else a for a in args))
    line = assert_refused(done, "no vault")
    assert "run `otpsync init`" in line
    assert home.digest() == before
    assert not (home.path / "data" / "vault.4otp.txt").exists()


def test_not_set_up_at_all(tmp_path: Path, sync_folder: Path) -> None:
    home = Home(tmp_path / "nothing-here", sync_folder)
    done = home.run("list")
    assert_refused(done, "run `otpsync init`")
    assert not home.path.exists()


# --- usage errors (exit 2) and refused values (exit 1) -----------------------------------------


@pytest.mark.parametrize(
    ("args", "stdin", "exit_code", "expect"),
    [
        pytest.param((), "", 2, "required: COMMAND", id="no-command"),
        pytest.param(("frobnicate",), "", 2, "invalid choice: 'frobnicate'", id="unknown-cmd"),
        pytest.param(("remove",), "", 2, "required: id", id="remove-no-id"),
        pytest.param(("import",), "", 2, "required: file", id="import-no-file"),
        pytest.param(("list", "--bogus"), "", 2, "unrecognized arguments", id="unknown-flag"),
        pytest.param(("add", URI, "--secret", GITLAB), "", 2, "not both", id="uri-and-secret"),
        pytest.param(("add", "-", "--type", "hotp"), URI, 2, "not both", id="stdin-uri-and-type"),
        pytest.param(
            ("add", "--type", "motp", "--issuer", "X", "--secret", GITLAB),
            "",
            2,
            "invalid choice: 'motp'",
            id="bad-type",
        ),
        pytest.param(
            ("add", "--digits", "six", "--issuer", "X", "--secret", GITLAB),
            "",
            2,
            "invalid int value",
            id="digits-not-int",
        ),
        pytest.param(("add", "--secret", "-"), GITLAB, 2, "--issuer", id="add-no-name"),
        pytest.param(
            ("add", "--issuer", "X", "--secret", "-"),
            "",
            2,
            "expected the secret on standard input",
            id="secret-stdin-empty",
        ),
        pytest.param(("add", "-"), "", 2, "expected an otpauth:// URI", id="uri-stdin-empty"),
        pytest.param(("code", "--next"), "", 2, "--next needs", id="next-without-id"),
        pytest.param(
            ("add", "--issuer", "X", "--digits", "3", "--secret", "-"),
            GITLAB,
            1,
            "digits must be 6 to 10, not 3",
            id="digits-3",
        ),
        pytest.param(
            ("add", "--issuer", "X", "--secret", "-"),
            "NOT-BASE32-1!",
            1,
            "not base32",
            id="secret-not-base32",
        ),
        pytest.param(
            ("add", "otpauth://totp/X?secret=01189998819991197253"),
            "",
            1,
            "not base32",
            id="uri-secret-not-base32",
        ),
        pytest.param(
            ("add", "https://example.com/?secret=" + GITLAB),
            "",
            1,
            "not an otpauth:// URI",
            id="not-otpauth",
        ),
        pytest.param(
            ("add", f"otpauth://hotp/X?secret={GITLAB}"),
            "",
            1,
            "needs a counter",
            id="hotp-no-counter",
        ),
        pytest.param(("add", "otpauth://totp/X?issuer=X"), "", 1, "no secret", id="no-secret"),
        pytest.param(
            ("remove", "00000000-0000-4000-8000-000000000000"),
            "",
            1,
            "no code with id",
            id="remove-unknown-id",
        ),
        pytest.param(("remove", "ab"), "", 1, "no code with id", id="remove-short-prefix"),
        pytest.param(("code", "no-such-code"), "", 1, "no code matches", id="code-no-match"),
        pytest.param(
            ("code", "--next", "GITHUB-ID"), "", 1, "not a counter-based", id="next-on-totp"
        ),
    ],
)
def test_refused_command_lines(
    target: Home, args: tuple[str, ...], stdin: str, exit_code: int, expect: str
) -> None:
    if "GITHUB-ID" in args:
        listed = target.ok("list")
        github_id = next(line.split()[0] for line in listed.stdout.splitlines() if "GitHub" in line)
        args = tuple(github_id if a == "GITHUB-ID" else a for a in args)
    before = target.digest()
    done = target.run(*args, input=stdin + "\n" if stdin else "")
    assert_refused(done, expect, exit_code=exit_code)
    assert target.digest() == before


def test_export_to_an_existing_file_is_refused(target: Home, tmp_path: Path) -> None:
    taken = tmp_path / "mine.4otp.txt"
    taken.write_text("keep me\n")
    before = target.digest()
    done = target.run("export", "--out", str(taken))
    assert_refused(done, "already exists")
    assert taken.read_text() == "keep me\n"
    assert target.digest() == before


def test_export_into_a_vanished_sync_folder_is_refused(make_home: MakeHome) -> None:
    """The sync folder was moved or its drive unmounted: say so, and write nothing (not a
    file named like the folder in its parent)."""
    home = make_home("laptop")
    home.ok("add", URI)
    home.sync.rmdir()
    before, parent_before = home.digest(), sorted(home.sync.parent.iterdir())
    done = home.run("export")
    line = assert_refused(done, str(home.sync))
    assert "does not exist" in line
    assert not home.sync.exists()
    assert sorted(home.sync.parent.iterdir()) == parent_before
    assert home.digest() == before


def test_undo_with_nothing_to_undo(make_home: MakeHome) -> None:
    home = make_home("laptop")
    before = home.digest()
    assert_refused(home.run("undo"), "nothing to undo")
    assert home.digest() == before


# --- config.toml ---------------------------------------------------------------------------


GOOD_KDF = (
    f"[kdf]\nmemory_kib = {FAST_KDF.memory_kib}\niterations = {FAST_KDF.iterations}\n"
    f"lanes = {FAST_KDF.lanes}\n"
)


@pytest.mark.parametrize(
    ("config", "expect"),
    [
        pytest.param('device = "laptop\nsync_folder = 3\n', "not valid TOML", id="not-toml"),
        pytest.param(b"\x89PNG\r\n\x1a\n\xff\xfe\x00", "not valid TOML", id="binary"),
        pytest.param(
            'device = "laptop"\nsync_folder = "SYNC"\ncolour = "red"\n' + GOOD_KDF,
            ("unknown key", "colour"),
            id="unknown-key",
        ),
        pytest.param(
            'device = "laptop"\nsync_folder = "SYNC"\n' + GOOD_KDF + "argon = 2\n",
            ("unknown key", "argon"),
            id="unknown-kdf-key",
        ),
        pytest.param(
            'device = "laptop"\nsync_folder = "SYNC"\n[kdf]\nmemory_kib = "lots"\n',
            "kdf.memory_kib must be",
            id="wrong-type",
        ),
        pytest.param(
            'device = "laptop"\nsync_folder = "SYNC"\nkeyring = "yes"\n' + GOOD_KDF,
            "keyring must be",
            id="wrong-type-bool",
        ),
        pytest.param(
            'device = "my laptop!"\nsync_folder = "SYNC"\n' + GOOD_KDF,
            "device name 'my laptop!'",
            id="bad-device-name",
        ),
        pytest.param('device = "laptop"\n' + GOOD_KDF, "must be set", id="no-sync-folder"),
        pytest.param(
            'device = "laptop"\nsync_folder = "SYNC"\n[kdf]\nmemory_kib = 4194304\n',
            "out of bounds",
            id="kdf-out-of-bounds",
        ),
    ],
)
def test_bad_config_is_refused(make_home: MakeHome, config: str | bytes, expect: str) -> None:
    home = make_home("laptop", init=False)
    path = home.path / "config.toml"
    if isinstance(config, str):
        config = config.replace("SYNC", str(home.sync)).encode()
    path.write_bytes(config)
    before = home.digest()
    line = assert_refused(home.run("list"), expect)
    assert str(path) in line
    assert home.digest() == before


# --- init --------------------------------------------------------------------------------------


def _kdf_only_home(root: Path, sync: Path, extra: str = "") -> Home:
    home = Home(root / "home", sync)
    home.path.mkdir()
    (home.path / "config.toml").write_text(GOOD_KDF + extra)
    return home


@pytest.mark.parametrize(
    ("flags", "expect"),
    [
        pytest.param(
            ("--device", "laptop", "--sync-folder", "/nonexistent/parent/otpsync"),
            "nor does its parent",
            id="sync-parent-missing",
        ),
        pytest.param(
            ("--device", "bad name!", "--sync-folder", "SYNC"), "device name", id="bad-device"
        ),
    ],
)
def test_init_refused(
    tmp_path: Path, sync_folder: Path, flags: tuple[str, ...], expect: str
) -> None:
    home = _kdf_only_home(tmp_path, sync_folder)
    before = home.digest()
    done = home.run("init", *(str(sync_folder) if f == "SYNC" else f for f in flags))
    assert_refused(done, expect)
    assert home.digest() == before
    assert not Path("/nonexistent/parent").exists()
    assert not (home.path / "data").exists()


@pytest.mark.parametrize("prewritten", [False, True], ids=["fresh-home", "kdf-only-config"])
@pytest.mark.parametrize(
    "flags",
    [pytest.param((), id="no-flags"), pytest.param(("--device", "laptop"), id="no-folder")],
)
def test_init_without_its_flags_and_no_terminal_is_a_usage_error(
    tmp_path: Path, sync_folder: Path, flags: tuple[str, ...], prewritten: bool
) -> None:
    """The same missing flags are the same usage error, whether or not the person wrote a
    config.toml with only [kdf] (or other settings) first."""
    home = (
        _kdf_only_home(tmp_path, sync_folder)
        if prewritten
        else Home(tmp_path / "home", sync_folder)
    )
    before = home.digest()
    done = home.run("init", *flags)
    assert_refused(done, "init needs --device NAME and --sync-folder DIR", exit_code=2)
    assert home.digest() == before
    assert not (home.path / "data").exists()


def test_init_refuses_flags_that_contradict_the_config(make_home: MakeHome) -> None:
    home = make_home("laptop", init=False)
    before = home.digest()
    done = home.run("init", "--device", "desktop")
    assert_refused(done, "already sets device = 'laptop'")
    assert home.digest() == before


@pytest.mark.parametrize(
    ("extra", "expect"),
    [
        pytest.param("[[oops\n", "not valid TOML", id="not-toml"),
        pytest.param("bogus = 1\n", ("unknown key", "bogus"), id="unknown-key"),
        pytest.param('[vault]\nsnapshots = "many"\n', "vault.snapshots must be", id="wrong-type"),
    ],
)
def test_init_with_a_bad_prewritten_config_changes_nothing(
    tmp_path: Path, sync_folder: Path, extra: str, expect: str
) -> None:
    home = _kdf_only_home(tmp_path, sync_folder, extra)
    before = home.digest()
    done = home.run("init", "--device", "laptop", "--sync-folder", str(sync_folder))
    assert_refused(done, expect)
    assert home.digest() == before  # the person's config.toml is exactly as they wrote it


@pytest.mark.parametrize("prewritten", [True, False], ids=["kdf-only-config", "fresh-home"])
def test_init_without_a_passphrase_changes_nothing(
    tmp_path: Path, sync_folder: Path, prewritten: bool
) -> None:
    if prewritten:
        home = _kdf_only_home(tmp_path, sync_folder)
    else:
        home = Home(tmp_path / "home", sync_folder)
    before = home.digest()
    done = home.run("init", "--device", "laptop", "--sync-folder", str(sync_folder), passphrase="")
    assert_refused(done, "no passphrase")
    assert home.digest() == before
    assert home.path.exists() == prewritten
    # ...so that running init again, now with a passphrase and another name, just works.
    home.ok("init", "--device", "desktop", "--sync-folder", str(sync_folder))


def test_refusals_leave_no_snapshot(target: Home, backups: Backups, tmp_path: Path) -> None:
    """A refused import, remove or add takes no snapshot (the digest covers this; this checks
    the snapshot folder by name, in case the digest ever skips it)."""
    snaps = target.path / "data" / "snapshots"
    names = sorted(p.name for p in snaps.iterdir())
    bad = tmp_path / "bad.4otp.txt"
    bad.write_bytes(flip(backups.good, body_at(backups.good)))
    assert target.run("import", str(bad), "--yes").returncode == 1
    assert target.run("remove", "ffff").returncode == 1
    assert target.run("add", URI).returncode == 1  # already there
    assert sorted(p.name for p in snaps.iterdir()) == names
