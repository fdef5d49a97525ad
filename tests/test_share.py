"""`otpsync export --only QUERY --share`: a few codes sealed with a passphrase just for the
share, never the owner's, never into the sync folder; `import --password-file` reads it."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.conftest import PASSPHRASE, Home

URIS = [
    "otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXP&issuer=GitHub",
    "otpauth://totp/Dropbox:carol?secret=KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TFOQ&issuer=Dropbox",
]


@pytest.fixture
def laptop(make_home) -> Home:
    home: Home = make_home("laptop")
    home.add(*URIS)
    return home


def _secret(tmp_path: Path, text: str, name: str = "share-pw") -> Path:
    path = tmp_path / name
    path.write_text(text + "\n")
    path.chmod(0o600)
    return path


def test_share_opens_with_its_passphrase_and_not_the_owners(
    laptop: Home, make_home, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    pw = _secret(tmp_path, "for-bob-only")
    done = laptop.ok("export", "--only", "github", "--share", "--share-passphrase-file", str(pw),
                     "--out", str(out))  # fmt: skip
    path = Path(done.stdout.splitlines()[-1])
    assert path.parent == out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in laptop.sync.iterdir() if "shared" in p.name]
    # Another device of the owner (the owner's passphrase) cannot open it.
    desk = make_home("desk")
    refused = desk.run("import", str(path), "--yes")
    assert refused.returncode == 1
    assert "passphrase" in refused.stderr
    assert "Traceback" not in refused.stderr
    # Someone with another passphrase of their own opens it with the share's.
    bob = Home(tmp_path / "home-bob", tmp_path / "bob-sync", passphrase="bob's own")
    bob.sync.mkdir()
    bob.write_config("bob")
    bob.ok("init")
    got = json.loads(bob.ok("import", str(path), "--password-file", str(pw), "--yes",
                            "--json").stdout)  # fmt: skip
    assert got["new"] == 1
    assert got["total"] == 1
    assert "GitHub" in bob.ok("list").stdout
    # Its KDF salt is its own: not the salt of the laptop's vault and backups.
    own = (
        (laptop.path / "data" / "vault.4otp.txt").read_text().split("kdf-salt: ")[1].split("\n")[0]
    )
    assert own not in path.read_text()


def test_share_with_the_owners_passphrase_is_refused(laptop: Home, tmp_path: Path) -> None:
    before = laptop.digest()
    pw = _secret(tmp_path, PASSPHRASE)
    refused = laptop.run("export", "--only", "github", "--share", "--share-passphrase-file",
                         str(pw), "--out", str(tmp_path))  # fmt: skip
    assert refused.returncode == 2
    assert "your own passphrase" in refused.stderr
    assert not list(tmp_path.glob("*shared*"))
    assert laptop.digest() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "SYNC"], "refusing to write a share into the sync folder"),
        ([], "--share needs --out"),
        (["--out", "TMP", "--format", "aegis"], "leave out --format"),
    ],
)
def test_share_refusals(laptop: Home, tmp_path: Path, args: list[str], message: str) -> None:
    pw = _secret(tmp_path, "for-bob-only")
    args = [str(laptop.sync) if a == "SYNC" else str(tmp_path) if a == "TMP" else a for a in args]
    names = sorted(p.name for p in laptop.sync.iterdir())
    refused = laptop.run("export", "--only", "git", "--share", "--share-passphrase-file",
                         str(pw), *args)  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert message in refused.stderr
    assert sorted(p.name for p in laptop.sync.iterdir()) == names


def test_share_needs_only_and_a_passphrase_without_a_terminal(laptop: Home, tmp_path: Path) -> None:
    no_only = laptop.run("export", "--share", "--out", str(tmp_path))
    assert no_only.returncode == 2
    assert "--only QUERY" in no_only.stderr
    no_pw = laptop.run("export", "--share", "--only", "git", "--out", str(tmp_path))
    assert no_pw.returncode == 2
    assert "--share-passphrase-file" in no_pw.stderr
