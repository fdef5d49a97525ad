"""End-to-end tests of the ``otpsync`` command: real subprocesses, real files, no mocks.

Happy paths and the CLI contract of issue 2. Error cases live in test_cli_errors.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import stat
import subprocess
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.conftest import FAST_KDF, PASSPHRASE, Home, base_env, otpsync_argv

MakeHome = Callable[..., Home]


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=")


# 160-bit secrets (pyotp computes these without complaint), one per code, all distinct.
GITHUB = _b32(b"github-secret-000001")
GITLAB = _b32(b"gitlab-secret-000002")
AWS = _b32(b"aws-secret-000000003")
STEAM = _b32(b"steam-secret-0000004")
BANK = _b32(b"bank-hotp-secret-005")
SHORT = "JBSWY3DPEHPK3PXP"  # 80 bits: what real services still hand out

THREE_URIS = (
    f"otpauth://totp/GitHub:alice%40example.com?secret={GITHUB}&issuer=GitHub",
    f"otpauth://totp/GitLab:alice?secret={GITLAB}&issuer=GitLab&algorithm=SHA256&digits=8",
    f"otpauth://totp/AWS:root?secret={AWS}&issuer=AWS&period=60",
)

LIST_KEYS = {"id", "type", "issuer", "account", "algorithm", "digits", "period", "counter"}
CODE_KEYS = {"id", "issuer", "account", "code", "remaining"}
IMPORT_KEYS = {"total", "new", "present", "updated", "skipped", "unsupported"}
BACKUP_NAME = re.compile(
    r"^(?P<stamp>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})-(?P<device>[A-Za-z0-9._-]+)"
    r"-4otp-keys-export(?P<n>-\d+)?\.4otp\.txt$"
)
STEAM_ALPHABET = "23456789BCDFGHJKMNPQRTVWXY"


# --- helpers ---------------------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str], input: str = "") -> subprocess.CompletedProcess[str]:
    """``otpsync ARGS`` with exactly ``env`` (plus the no-keyring guard of base_env)."""
    return subprocess.run(
        [*otpsync_argv(), *args],
        input=input,
        capture_output=True,
        text=True,
        env=base_env(**env),
        timeout=60,
        check=False,
    )


def list_json(home: Home) -> list[dict[str, Any]]:
    done = home.ok("list", "--json")
    rows = json.loads(done.stdout)
    assert isinstance(rows, list)
    for row in rows:
        assert set(row) == LIST_KEYS
    return rows


def by_label(rows: Iterable[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["issuer"], r["account"]): r for r in rows}


def last_line(done: subprocess.CompletedProcess[str]) -> Path:
    return Path(done.stdout.splitlines()[-1])


def import_json(home: Home, *args: str) -> dict[str, int]:
    done = home.ok("import", *args, "--json")
    counts = json.loads(done.stdout)  # only JSON on stdout, or this fails
    assert set(counts) == IMPORT_KEYS
    return counts


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def steam_code(secret: str, moment: float) -> str:
    """Steam Guard, computed here from RFC 4226 dynamic truncation (independent of otpsync)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, int(moment // 30).to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    chars = []
    for _ in range(5):
        value, index = divmod(value, len(STEAM_ALPHABET))
        chars.append(STEAM_ALPHABET[index])
    return "".join(chars)


def rfc_totp(secret: str, moment: float) -> str:
    """RFC 6238 TOTP (SHA1, 6 digits, 30 s), straight from the RFC: pyotp 2.12 refuses the
    80-bit secrets real services still issue."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, int(moment // 30).to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 10**6:06d}"


def timed(home: Home, *args: str) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run and return the wall-clock moments around it: a code must be valid at one of them."""
    before = time.time()
    done = home.ok(*args)
    return done, before, time.time()


def stamp_window(before: datetime, after: datetime) -> set[str]:
    """Every file-name time stamp between two moments (to the second, UTC)."""
    out, moment = set(), before.replace(microsecond=0)
    while moment <= after:
        out.add(moment.strftime("%Y-%m-%d-%H-%M-%S"))
        moment += timedelta(seconds=1)
    return out


ALL_URIS = (
    *THREE_URIS,
    f"otpauth://steam/Steam:gamer?secret={STEAM}",
    f"otpauth://hotp/Bank:me?secret={BANK}&issuer=Bank&counter=7",
    f"otpauth://totp/Short:s?secret={SHORT}",
)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """One home holding ALL_URIS, for the tests that only read it (list, code, export).

    Module-scoped to save subprocesses; every test using it must leave the vault as it was.
    """
    root = tmp_path_factory.mktemp("shared")
    sync = root / "Dropbox" / "otpsync"
    sync.mkdir(parents=True)
    home = Home(root / "home-laptop", sync)
    home.write_config("laptop")
    home.ok("init")
    for uri in ALL_URIS:
        home.ok("add", uri)
    return home


def vault_and_config(home: Home) -> dict[str, str]:
    """The digest of what reading commands must never change (state/ may note an export)."""
    return {k: v for k, v in home.digest().items() if not k.startswith("state/")}


@pytest.fixture
def laptop(shared: Home) -> Iterator[Home]:
    """``shared``, checked to hold the same vault, snapshots and config after the test."""
    before = vault_and_config(shared)
    yield shared
    assert vault_and_config(shared) == before


# --- init ------------------------------------------------------------------------------------


def test_init_with_flags_on_a_fresh_home(tmp_path: Path) -> None:
    home = tmp_path / "fresh-home"
    sync = tmp_path / "Dropbox" / "otpsync"  # the parent exists, the folder does not yet
    sync.parent.mkdir()
    env = {"OTPSYNC_PASSPHRASE": PASSPHRASE}
    done = run_cli("--home", str(home), "init", "--device", "laptop", "--sync-folder", str(sync),
                   env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "laptop" in done.stdout

    cfg = tomllib.loads((home / "config.toml").read_text())
    assert cfg["device"] == "laptop"
    assert cfg["sync_folder"] == str(sync)
    vault = home / "data" / "vault.4otp.txt"
    assert vault.read_text().startswith("otpsync-backup v2\nkind: vault\n")
    assert "kdf-memory-kib: 131072\n" in vault.read_text()  # the default cost, nothing lowered
    assert sync.is_dir()
    for d in (home, home / "data", sync):
        assert mode(d) == 0o700, d
    for f in (home / "config.toml", vault):
        assert mode(f) == 0o600, f

    # --home works on its own (no OTPSYNC_HOME): the vault opens and is empty.
    listed = run_cli("--home", str(home), "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []


def test_init_keeps_a_prewritten_kdf_only_config(tmp_path: Path, sync_folder: Path) -> None:
    home = Home(tmp_path / "home", sync_folder)
    home.path.mkdir()
    kdf = (
        f"[kdf]\nmemory_kib = {FAST_KDF.memory_kib}\niterations = {FAST_KDF.iterations}\n"
        f"lanes = {FAST_KDF.lanes}\n"
    )
    (home.path / "config.toml").write_text(kdf)
    home.ok("init", "--device", "desk-1", "--sync-folder", str(sync_folder))

    text = (home.path / "config.toml").read_text()
    cfg = tomllib.loads(text)
    assert cfg["device"] == "desk-1"
    assert cfg["sync_folder"] == str(sync_folder)
    assert cfg["kdf"] == {
        "memory_kib": FAST_KDF.memory_kib,
        "iterations": FAST_KDF.iterations,
        "lanes": FAST_KDF.lanes,
    }
    assert text.endswith(kdf)  # the person's lines are kept as written
    header = (home.path / "data" / "vault.4otp.txt").read_text()
    assert f"kdf-memory-kib: {FAST_KDF.memory_kib}\n" in header
    assert mode(home.path / "config.toml") == 0o600


@pytest.mark.parametrize(
    "flags",
    [pytest.param((), id="no-flags"), pytest.param(("--device", "laptop"), id="same-device")],
)
def test_second_init_is_refused_and_changes_nothing(laptop: Home, flags: tuple[str, ...]) -> None:
    before = laptop.digest()
    done = laptop.run("init", *flags, "--sync-folder", str(laptop.sync))
    assert done.returncode == 1
    assert done.stderr.startswith("otpsync: error: ")
    assert "already exists" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    assert laptop.digest() == before
    assert len(list_json(laptop)) == len(ALL_URIS)


# --- add ---------------------------------------------------------------------------------------


def test_add_in_every_form(make_home: MakeHome) -> None:
    home = make_home("laptop")
    spaced = " ".join(AWS.lower()[i : i + 4] for i in range(0, len(AWS), 4))
    outputs = [
        home.ok("add", THREE_URIS[0]),
        home.ok("add", "-", input=THREE_URIS[1] + "\n"),
        # Flags, the secret on stdin the way people paste it: lower case, in groups.
        home.ok("add", "--issuer", "AWS", "--account", "root", "--secret", "-",
                "--period", "60", input=spaced + "\n"),
        home.ok("add", "--type", "steam", "--account", "gamer", "--secret", "-",
                "--issuer", "Steam", input=STEAM + "\n"),
        home.ok("add", "--type", "hotp", "--issuer", "Bank", "--account", "me",
                "--secret", "-", "--counter", "5", "--digits", "8", "--algorithm", "sha512",
                input=BANK + "\n"),
    ]  # fmt: skip
    for done in outputs:
        assert done.stdout.startswith("Added "), done.stdout
        assert done.stderr == ""  # 160-bit secrets: no warning

    # An 80-bit secret, as real services issue: accepted, with a warning on stderr only.
    short = home.ok("add", f"otpauth://totp/Example:bob?secret={SHORT}&issuer=Example")
    assert short.stdout.startswith("Added ")
    [warning] = short.stderr.splitlines()
    assert warning.startswith("otpsync: warning: ")
    assert "80 bits" in warning

    rows = by_label(list_json(home))
    assert rows.keys() == {
        ("GitHub", "alice@example.com"),
        ("GitLab", "alice"),
        ("AWS", "root"),
        ("Steam", "gamer"),
        ("Bank", "me"),
        ("Example", "bob"),
    }
    without_id = {label: {k: v for k, v in r.items() if k != "id"} for label, r in rows.items()}
    assert without_id["GitLab", "alice"] == {
        "type": "totp", "issuer": "GitLab", "account": "alice", "algorithm": "SHA256",
        "digits": 8, "period": 30, "counter": 0,
    }  # fmt: skip
    assert without_id["AWS", "root"]["period"] == 60
    assert without_id["Steam", "gamer"] == {
        "type": "steam", "issuer": "Steam", "account": "gamer", "algorithm": "SHA1",
        "digits": 5, "period": 30, "counter": 0,
    }  # fmt: skip
    assert without_id["Bank", "me"] == {
        "type": "hotp", "issuer": "Bank", "account": "me", "algorithm": "SHA512",
        "digits": 8, "period": 30, "counter": 5,
    }  # fmt: skip
    ids = [r["id"] for r in rows.values()]
    assert len(set(ids)) == len(ids)
    uuid_re = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert all(re.fullmatch(uuid_re, i) for i in ids)

    # The codes the secrets make, computed independently.
    done, t0, t1 = timed(home, "code", "--json")
    got = {r["issuer"]: r["code"] for r in json.loads(done.stdout)}
    assert got["AWS"] in {pyotp.TOTP(AWS, interval=60).at(t) for t in (t0, t1)}
    assert got["Bank"] == pyotp.HOTP(BANK, digits=8, digest=hashlib.sha512).at(5)
    assert got["Example"] in {rfc_totp(SHORT, t) for t in (t0, t1)}


def test_add_duplicate_is_refused(laptop: Home) -> None:
    before = laptop.digest()
    # The same code under another name and spelling is still the same code.
    done = laptop.run("add", "--issuer", "Other", "--account", "x", "--secret", "-",
                      input=GITHUB.lower() + "\n")  # fmt: skip
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("otpsync: error: ")
    assert "already here" in line
    assert laptop.digest() == before


# --- list and code ---------------------------------------------------------------------------


def test_list_and_code_never_show_a_secret(laptop: Home) -> None:
    outputs = [
        laptop.ok("list"),
        laptop.ok("list", "--json"),
        laptop.ok("code"),
        laptop.ok("code", "--json"),
        laptop.ok("code", "git"),
        laptop.ok("code", "bank", "--json"),
    ]
    text = "\n".join(d.stdout + d.stderr for d in outputs)
    for secret in (GITHUB, GITLAB, AWS, STEAM, BANK, SHORT):
        assert secret not in text
        assert secret.lower() not in text
        assert base64.b32decode(secret + "=" * (-len(secret) % 8)).hex() not in text
    assert "secret" not in outputs[1].stdout
    human = outputs[0].stdout
    assert "GitHub" in human
    assert "alice@example.com" in human


def test_code_json_matches_an_independent_computation(laptop: Home) -> None:
    ids = {r["issuer"]: r["id"] for r in list_json(laptop)}
    done, t0, t1 = timed(laptop, "code", "--json")
    rows = json.loads(done.stdout)
    assert [set(r) for r in rows] == [CODE_KEYS] * len(ALL_URIS)
    got = {r["issuer"]: r for r in rows}
    assert {k: r["id"] for k, r in got.items()} == ids
    assert got["GitHub"]["account"] == "alice@example.com"

    expected: dict[str, tuple[Callable[[float], str], int | None]] = {
        "GitHub": (pyotp.TOTP(GITHUB).at, 30),
        "GitLab": (pyotp.TOTP(GITLAB, digits=8, digest=hashlib.sha256).at, 30),
        "AWS": (pyotp.TOTP(AWS, interval=60).at, 60),
        "Steam": (lambda t: steam_code(STEAM, t), 30),
        "Bank": (lambda _t: pyotp.HOTP(BANK).at(7), None),
        "Short": (lambda t: rfc_totp(SHORT, t), 30),
    }
    assert expected.keys() == got.keys()
    for issuer, (make, period) in expected.items():
        row = got[issuer]
        assert row["code"] in {make(t0), make(t1)}, issuer
        if period is None:
            assert row["remaining"] is None
        else:
            assert 1 <= row["remaining"] <= period
    assert re.fullmatch(f"[{STEAM_ALPHABET}]{{5}}", got["Steam"]["code"])
    assert re.fullmatch(r"\d{8}", got["GitLab"]["code"])


def test_code_query_filters(laptop: Home) -> None:
    def issuers(*args: str) -> list[str]:
        return sorted(r["issuer"] for r in json.loads(laptop.ok("code", *args, "--json").stdout))

    assert issuers() == sorted(u.split("/")[3].split(":")[0] for u in ALL_URIS)
    assert issuers("GIT") == ["GitHub", "GitLab"]  # case-insensitive, issuer text
    assert issuers("example.com") == ["GitHub"]  # account text
    aws_id = by_label(list_json(laptop))["AWS", "root"]["id"]
    assert issuers(aws_id[:6]) == ["AWS"]  # id prefix
    human = laptop.ok("code", "gitlab").stdout
    assert "GitLab" in human
    assert "GitHub" not in human


def test_code_next_advances_an_hotp_code(make_home: MakeHome) -> None:
    home = make_home("laptop")
    home.ok("add", f"otpauth://hotp/Bank:me?secret={BANK}&issuer=Bank&counter=5")
    home.ok("add", THREE_URIS[0])
    bank = by_label(list_json(home))["Bank", "me"]["id"]
    hotp = pyotp.HOTP(BANK)

    [now] = json.loads(home.ok("code", bank, "--json").stdout)
    assert now["code"] == hotp.at(5)
    assert now["remaining"] is None
    [nxt] = json.loads(home.ok("code", "--next", bank, "--json").stdout)
    assert nxt["id"] == bank
    assert nxt["code"] == hotp.at(6)
    human = home.ok("code", "--next", bank[:8]).stdout
    assert hotp.at(7) in human
    assert by_label(list_json(home))["Bank", "me"]["counter"] == 7


# --- remove and undo; file modes ---------------------------------------------------------------


def test_remove_then_undo_and_private_modes(make_home: MakeHome) -> None:
    home = make_home("laptop")
    for uri in THREE_URIS:
        home.ok("add", uri)
    rows = list_json(home)
    victim = by_label(rows)["GitLab", "alice"]["id"]
    done = home.ok("remove", victim[:8])
    assert "GitLab" in done.stdout
    assert "undo" in done.stdout
    assert [r["id"] for r in list_json(home)] == [r["id"] for r in rows if r["id"] != victim]
    undone = home.ok("undo")
    assert "1 code back" in undone.stdout
    assert list_json(home) == rows

    backup = last_line(home.ok("export"))
    data = home.path / "data"
    for d in (home.path, data, data / "snapshots", data / "snapshots" / "undone"):
        assert mode(d) == 0o700, d
    # config.toml here was written by the person (conftest), so it keeps their mode; the one
    # init writes itself is checked in test_init_with_flags_on_a_fresh_home.
    files = [data / "vault.4otp.txt", backup, *(data / "snapshots").rglob("*.4otp.txt")]
    assert len(files) >= 5
    for f in files:
        assert mode(f) == 0o600, f


# --- export ----------------------------------------------------------------------------------


def test_export_writes_a_named_backup_and_prints_its_path_last(
    laptop: Home, tmp_path: Path
) -> None:
    before = datetime.now(UTC)
    done = laptop.ok("export")
    after = datetime.now(UTC)
    path = last_line(done)
    assert path.parent == laptop.sync  # the default destination
    assert path.is_file()
    m = BACKUP_NAME.match(path.name)
    assert m, path.name
    assert m["device"] == "laptop"
    assert m["n"] is None
    assert m["stamp"] in stamp_window(before, after)
    assert path.read_text().startswith("otpsync-backup v2\nkind: backup\n")
    assert mode(path) == 0o600

    second = last_line(laptop.ok("export", "--out", str(tmp_path)))
    assert second.parent == tmp_path
    assert BACKUP_NAME.match(second.name)


def test_export_never_overwrites_a_taken_name(laptop: Home, tmp_path: Path) -> None:
    # Take every name the export could pick in the next seconds, as a same-second export would.
    start = datetime.now(UTC)
    taken = {}
    for stamp in stamp_window(start - timedelta(seconds=1), start + timedelta(seconds=10)):
        f = tmp_path / f"{stamp}-laptop-4otp-keys-export.4otp.txt"
        f.write_text(f"placeholder {stamp}\n")
        taken[f] = f.read_text()
    path = last_line(laptop.ok("export", "--out", str(tmp_path)))
    m = BACKUP_NAME.match(path.name)
    assert m, path.name
    assert m["n"] == "-2"
    assert path.name.endswith("-4otp-keys-export-2.4otp.txt")
    assert tmp_path / path.name.replace("-2.4otp.txt", ".4otp.txt") in taken
    assert path.read_text().startswith("otpsync-backup v2\n")
    for f, text in taken.items():
        assert f.read_text() == text  # untouched

    # Two real exports in a row: distinct files, the second suffixed if in the same second.
    again = last_line(laptop.ok("export", "--out", str(tmp_path)))
    assert again != path
    m2 = BACKUP_NAME.match(again.name)
    assert m2
    if m2["stamp"] == m["stamp"]:
        assert m2["n"] == "-3"


def test_export_otpauth_writes_a_private_plain_list_that_reimports(
    laptop: Home, make_home: MakeHome, tmp_path: Path
) -> None:
    sync_before = sorted(p.name for p in laptop.sync.iterdir())
    done = laptop.ok("export", "--format", "otpauth", "--out", str(tmp_path))
    path = last_line(done)
    assert path.parent == tmp_path
    assert mode(path) == 0o600
    [warning] = done.stderr.splitlines()
    assert warning.startswith("otpsync: warning: ")
    assert "UNENCRYPTED" in warning
    assert sorted(p.name for p in laptop.sync.iterdir()) == sync_before  # nothing synced
    uris = path.read_text().splitlines()
    assert len(uris) == len(ALL_URIS)
    assert all(u.startswith("otpauth://") for u in uris)

    other = make_home("desk")
    for uri in uris:
        other.ok("add", "-", input=uri + "\n")

    def generating(rows: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
        return {tuple(v for k, v in sorted(r.items()) if k != "id") for r in rows}

    assert generating(list_json(other)) == generating(list_json(laptop))
    t = time.time()
    mine = {r["issuer"]: r["code"] for r in json.loads(laptop.ok("code", "--json").stdout)}
    theirs = {r["issuer"]: r["code"] for r in json.loads(other.ok("code", "--json").stdout)}
    if int(time.time() // 30) == int(t // 30):  # not across a 30 s boundary: all equal
        assert mine == theirs
    assert mine["Bank"] == theirs["Bank"] == pyotp.HOTP(BANK).at(7)


@pytest.mark.parametrize(
    ("where", "message"),
    [
        pytest.param(None, "give --out", id="no-out"),
        pytest.param(".", "refusing to write unencrypted", id="sync-folder"),
        pytest.param("file.txt", "refusing to write unencrypted", id="file-in-sync-folder"),
    ],
)
def test_export_otpauth_is_refused_without_out_or_into_the_sync_folder(
    laptop: Home, where: str | None, message: str
) -> None:
    before, sync_before = laptop.digest(), sorted(laptop.sync.iterdir())
    args = ["export", "--format", "otpauth"]
    if where is not None:
        args += ["--out", str(laptop.sync / where)]
    done = laptop.run(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("otpsync: error: ")
    assert message in line
    assert laptop.digest() == before
    assert sorted(laptop.sync.iterdir()) == sync_before


# --- import: the "Done when" scenario and the merge rules --------------------------------------


def test_backup_on_one_device_restores_on_another(make_home: MakeHome) -> None:
    a = make_home("laptop")
    for uri in THREE_URIS:
        a.ok("add", uri)
    done, t0, t1 = timed(a, "code", "--json")
    codes = {r["issuer"]: r["code"] for r in json.loads(done.stdout)}
    assert codes["GitHub"] in {pyotp.TOTP(GITHUB).at(t) for t in (t0, t1)}
    gitlab = pyotp.TOTP(GITLAB, digits=8, digest=hashlib.sha256)
    assert codes["GitLab"] in {gitlab.at(t) for t in (t0, t1)}
    assert codes["AWS"] in {pyotp.TOTP(AWS, interval=60).at(t) for t in (t0, t1)}
    backup = last_line(a.ok("export"))
    assert backup.parent == a.sync
    assert backup.name.endswith("-laptop-4otp-keys-export.4otp.txt")
    a_rows = list_json(a)

    b = make_home("desktop")  # same passphrase, same sync folder
    before = b.digest()

    # No --yes and no terminal: a preview, nothing merged.
    preview = b.ok("import", str(backup))
    assert f"{backup} holds 3 codes: 3 new, 0 already here, 0 updated" in preview.stdout
    assert "GitHub — alice@example.com" in preview.stdout
    assert "--yes" in preview.stderr
    assert b.digest() == before
    assert import_json(b, str(backup)) == {
        "total": 3, "new": 3, "present": 0, "updated": 0, "skipped": 0, "unsupported": 0,
    }  # fmt: skip
    assert b.digest() == before
    # --dry-run wins over --yes.
    dry = b.ok("import", str(backup), "--dry-run", "--yes")
    assert "Dry run" in dry.stderr
    assert b.digest() == before

    merged = b.ok("import", str(backup), "--yes")
    assert "Merged 3 new" in merged.stdout
    assert list_json(b) == a_rows  # same ids, same fields, same order

    # Again: nothing new, and --json with --yes still prints only the JSON object.
    after_first = b.digest()
    assert import_json(b, str(backup), "--yes") == {
        "total": 3, "new": 0, "present": 3, "updated": 0, "skipped": 0, "unsupported": 0,
    }  # fmt: skip
    assert b.digest() == after_first  # nothing to merge: not even a snapshot

    # A code removed here stays out of later imports of the old backup...
    gone = by_label(a_rows)["AWS", "root"]["id"]
    b.ok("remove", gone)
    after_remove = b.digest()
    human = b.ok("import", str(backup), "--yes").stdout
    assert "3 codes: 0 new, 2 already here, 0 updated, 1 skipped" in human
    assert "AWS — root (removed here)" in human
    assert "--include-deleted" in human
    assert import_json(b, str(backup), "--yes") == {
        "total": 3, "new": 0, "present": 2, "updated": 0, "skipped": 1, "unsupported": 0,
    }  # fmt: skip
    assert b.digest() == after_remove
    # ...unless the person asks for it.
    assert import_json(b, str(backup), "--include-deleted", "--yes") == {
        "total": 3, "new": 1, "present": 2, "updated": 0, "skipped": 0, "unsupported": 0,
    }  # fmt: skip
    assert sorted(list_json(b), key=str) == sorted(a_rows, key=str)
    # The tombstone went with it; undo puts back the vault from before that import.
    assert "1 code gone" in b.ok("undo").stdout
    assert [r["id"] for r in list_json(b)] == [r["id"] for r in a_rows if r["id"] != gone]


def test_updates_from_other_devices_rename_and_move_counters(make_home: MakeHome) -> None:
    """The CLI cannot rename, but another device can know the same code under another name
    (entered there by hand, later): importing its backup renames it here. An HOTP code
    advanced on another device moves the counter here. Ids stay ours."""
    a = make_home("laptop")
    a.ok("add", THREE_URIS[0])
    a.ok("add", f"otpauth://hotp/Bank:me?secret={BANK}&issuer=Bank&counter=3")
    b = make_home("desktop")
    b.ok("import", str(last_line(a.ok("export", "--out", str(a.path)))), "--yes")
    b_rows = by_label(list_json(b))

    c = make_home("phone")
    # Same secret, a later entry, and a name that also wins a same-second tie-break.
    c.ok("add", "--issuer", "Zeta Hub", "--account", "alice", "--secret", "-",
         input=GITHUB + "\n")  # fmt: skip
    c_backup = last_line(c.ok("export", "--out", str(c.path)))
    human = b.ok("import", str(c_backup)).stdout
    assert "0 new, 0 already here, 1 updated" in human
    assert "renamed from GitHub — alice@example.com" in human
    assert import_json(b, str(c_backup), "--yes")["updated"] == 1

    bank = b_rows["Bank", "me"]["id"]
    a.ok("code", "--next", bank)
    a.ok("code", "--next", bank)
    a_backup = last_line(a.ok("export", "--out", str(a.path)))
    assert import_json(b, str(a_backup), "--yes") == {
        "total": 2, "new": 0, "present": 1, "updated": 1, "skipped": 0, "unsupported": 0,
    }  # fmt: skip

    after = by_label(list_json(b))
    assert after.keys() == {("Zeta Hub", "alice"), ("Bank", "me")}
    assert after["Zeta Hub", "alice"]["id"] == b_rows["GitHub", "alice@example.com"]["id"]
    assert after["Bank", "me"]["counter"] == 5
    assert after["Bank", "me"]["id"] == bank
    [bank_code] = json.loads(b.ok("code", "bank", "--json").stdout)
    assert bank_code["code"] == pyotp.HOTP(BANK).at(5)


# --- import: entries another app has that otpsync cannot make -----------------------------------


def test_import_lists_what_it_leaves_out_and_merges_the_rest(
    make_home: MakeHome, tmp_path: Path
) -> None:
    """Issue 11: a Yandex code and a junk value in another app's export are named, with why,
    and every other code merges; --json counts them as "unsupported"."""
    home = make_home("laptop")
    deno = {"type": "totp", "uuid": "3ae6f1ad-2e65-4ed2-a953-1ec0dff2386d", "name": "Mason",
            "issuer": "Deno", "info": {"secret": "4SJHB4GSD43FZBAI7C2HLRJGPQ", "algo": "SHA1",
                                       "digits": 6, "period": 30}}  # fmt: skip
    yandex = {**deno, "type": "yandex", "issuer": "Yandex", "name": "ivan"}
    junk = {**deno, "issuer": "Bank", "name": "x", "info": {"secret": "1019"}}
    vault = {"version": 1, "header": {"slots": None, "params": None},
             "db": {"version": 3, "entries": [yandex, deno, junk], "groups": []}}  # fmt: skip
    path = tmp_path / "aegis-export.json"
    path.write_text(json.dumps(vault))
    before = home.digest()

    preview = home.ok("import", str(path))
    assert "holds 1 code: 1 new" in preview.stdout
    assert (
        "  2 not imported: Yandex — ivan (Yandex codes are not supported);"
        " Bank — x (not a secret)\n"
    ) in preview.stdout
    assert import_json(home, str(path)) == {
        "total": 1, "new": 1, "present": 0, "updated": 0, "skipped": 0, "unsupported": 2,
    }  # fmt: skip
    assert home.digest() == before
    merged = home.ok("import", str(path), "--yes")
    assert "Merged 1 new" in merged.stdout
    assert [(r["issuer"], r["account"]) for r in list_json(home)] == [("Deno", "Mason")]

    # Nothing importable at all: the file is fine, there is nothing to merge, exit 0.
    vault["db"]["entries"] = [yandex, junk]  # type: ignore[index]
    path.write_text(json.dumps(vault))
    after = home.digest()
    done = home.ok("import", str(path), "--yes")
    assert "2 not imported" in done.stdout
    assert "Nothing to merge." in done.stderr
    assert home.digest() == after


def test_an_old_andotp_backup_imports_without_from(make_home: MakeHome, tmp_path: Path) -> None:
    """Issue 11: the headerless old andOTP format is recognised by the password given."""
    from tests.conftest import FIXTURES

    old = FIXTURES / "aegis-tests" / "andotp_encrypted_old.bin"
    if not old.exists():
        pytest.skip(f"{old} is not here")
    home = make_home("laptop")
    password = tmp_path / "andotp-password"
    password.write_text("test\n")
    assert import_json(home, str(old), "--password-file", str(password), "--yes")["new"] == 6
    assert len(list_json(home)) == 6
    before = home.digest()
    password.write_text("not it\n")
    done = home.run("import", str(old), "--password-file", str(password), "--yes")
    assert done.returncode == 1
    assert done.stderr.startswith("otpsync: error: ")
    assert "the password opens no old andOTP backup" in done.stderr
    assert home.digest() == before


def test_import_help_lists_every_format_and_what_its_encrypted_form_needs() -> None:
    from daemon import importers

    done = run_cli("import", "--help", env={})
    assert done.returncode == 0, done.stderr
    listed = done.stdout.split("formats (--from NAME):", 1)[1]
    for name, importer in importers.FORMATS.items():
        assert f"\n  {name} " in listed, name
        if importer.needs:
            assert f"encrypted: {importer.needs}" in " ".join(listed.split()), name
    for alias, target in importers.ALIASES.items():
        assert f"{alias} = {target}" in " ".join(listed.split())
    assert max(len(line) for line in done.stdout.splitlines()) <= 100
