"""`otpsync export` in other apps' formats: files that import back, 0600, loud when plain."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.conftest import Home

URIS = [
    "otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXP&issuer=GitHub",
    "otpauth://hotp/Corp:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Corp&counter=5",
    "otpauth://totp/Dropbox:carol?secret=KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TFOQ&issuer=Dropbox",
]


@pytest.fixture
def laptop(make_home) -> Home:
    home: Home = make_home("laptop")
    home.add(*URIS)
    return home


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("fmt", ["otpauth", "aegis"])
def test_plain_formats_import_back_and_warn(
    laptop: Home, make_home, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    done = laptop.ok("export", "--format", fmt, "--out", str(out))
    path = Path(done.stdout.splitlines()[-1])
    assert private(path)
    assert "UNENCRYPTED" in path.name
    assert "UNENCRYPTED" in done.stderr
    other = make_home("desk")
    result = json.loads(other.ok("import", str(path), "--yes", "--json").stdout)
    assert result["new"] == 3


def test_aegis_encrypted_needs_its_password(laptop: Home, make_home, tmp_path: Path) -> None:
    password = tmp_path / "pw"
    password.write_text("share-me\n")
    done = laptop.ok("export", "--format", "aegis-encrypted", "--out", str(tmp_path),
                     "--password-file", str(password), "--only", "git")  # fmt: skip
    path = Path(done.stdout.splitlines()[-1])
    assert private(path)
    assert "UNENCRYPTED" not in done.stderr
    other = make_home("desk")
    refused = other.run("import", str(path))
    assert refused.returncode == 1
    assert "encrypted Aegis vault" in refused.stderr
    got = json.loads(other.ok("import", str(path), "--password-file", str(password), "--yes",
                              "--json").stdout)  # fmt: skip
    assert got["new"] == 1


def test_qr_writes_one_private_png_per_code(laptop: Home, tmp_path: Path) -> None:
    out = tmp_path / "qr"
    out.mkdir()
    laptop.ok("export", "--format", "qr", "--out", str(out))
    names = sorted(p.name for p in out.iterdir())
    assert names == ["01-GitHub-alice.png", "02-Corp-bob.png", "03-Dropbox-carol.png"]
    assert all(private(p) for p in out.iterdir())
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in out.iterdir())


def test_subset_backup_is_not_recorded_as_the_devices_last_export(
    laptop: Home, tmp_path: Path
) -> None:
    laptop.ok("export", "--only", "dropbox", "--out", str(tmp_path))
    status = json.loads(laptop.ok("status", "--json").stdout)
    assert status["last_export"] is None


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["--format", "aegis"], "give --out", 2),
        (["--format", "qr", "--out", "SYNC"], "into the sync folder", 2),
        (["--format", "aegis", "--out", "SYNC"], "into the sync folder", 2),
        (["--format", "qr", "--out", "FILE"], "is not one", 1),
        (["--format", "aegis-encrypted", "--out", "TMP"], "needs a password", 2),
        (["--only", "nothing-like-this"], "no code matches", 1),
        (["--format", "bogus"], "invalid choice", 2),
    ],
)
def test_refusals(laptop: Home, tmp_path: Path, args: list[str], message: str, code: int) -> None:
    (tmp_path / "file.txt").write_text("x")
    swap = {"SYNC": str(laptop.sync), "FILE": str(tmp_path / "file.txt"), "TMP": str(tmp_path)}
    before = sorted(p.name for p in tmp_path.rglob("*") if "home-" not in str(p))
    done = laptop.run("export", *[swap.get(a, a) for a in args])
    assert done.returncode == code
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.rglob("*") if "home-" not in str(p)) == before
