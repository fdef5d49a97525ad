"""`otpsync passphrase change`: vault, snapshots, queue and backups re-sealed under the new
passphrase; old backups of this device removed only after the new one is verified; a crash
at any write leaves a vault that opens with one of the two and a backup in the folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daemon.core import backup_format, payload
from daemon.core.backup_format import MasterKeys
from tests.conftest import PASSPHRASE, Home

NEW = "a brand new passphrase"
URIS = [
    "otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXP&issuer=GitHub",
    "otpauth://totp/Dropbox:carol?secret=KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TFOQ&issuer=Dropbox",
]
KEYS = {PASSPHRASE: MasterKeys(PASSPHRASE), NEW: MasterKeys(NEW)}


def opens_with(path: Path) -> list[str]:
    """Which of the two passphrases open ``path``."""
    data = path.read_bytes()
    found = []
    for phrase, keys in KEYS.items():
        try:
            backup_format.open_sealed(data, keys)
        except backup_format.WrongPassphrase:
            continue
        found.append(phrase)
    return found


def codes_in(path: Path, phrase: str) -> int:
    header, raw = backup_format.open_sealed(path.read_bytes(), KEYS[phrase])
    return len(payload.decode(raw, expect_device_id=header.device_id).accounts)


@pytest.fixture
def laptop(make_home, tmp_path: Path) -> Home:
    home: Home = make_home("laptop")
    for uri in URIS:
        home.add(uri)
        home.ok("export")
    return home


@pytest.fixture
def new_file(tmp_path: Path) -> Path:
    path = tmp_path / "new-pw"
    path.write_text(NEW + "\n")
    path.chmod(0o600)
    return path


def own_files(home: Home) -> list[Path]:
    return [
        *(home.path / "data").rglob("*.4otp.txt"),
        *(home.path / "state" / "inbox").glob("*.4otp.txt"),
    ]


def test_change_reseals_everything_and_removes_old_backups(laptop: Home, new_file: Path) -> None:
    old_backups = sorted(laptop.sync.iterdir())
    assert len(old_backups) == 2
    done = laptop.ok("passphrase", "change", "--new-passphrase-file", str(new_file))
    assert "Passphrase changed" in done.stdout
    assert "Removed 2 old backups" in done.stdout
    assert "$OTPSYNC_PASSPHRASE" in done.stdout  # where the person must give the new one
    # Vault and every snapshot: the new passphrase only.
    assert len(own_files(laptop)) >= 3
    assert all(opens_with(p) == [NEW] for p in own_files(laptop))
    refused = laptop.run("list")
    assert refused.returncode == 1
    assert "passphrase" in refused.stderr
    assert "GitHub" in laptop.ok("list", passphrase=NEW).stdout
    # The folder: one new backup of both codes, nothing that opens with the old passphrase.
    left = sorted(laptop.sync.iterdir())
    assert not set(left) & set(old_backups)
    assert [opens_with(p) for p in left] == [[NEW]]
    assert codes_in(left[0], NEW) == 2
    # Undo still works, under the new passphrase.
    laptop.ok("undo", passphrase=NEW)
    listed = laptop.ok("list", passphrase=NEW).stdout
    assert "GitHub" in listed
    assert "Dropbox" not in listed
    assert not (laptop.path / "data" / "passphrase-change.json").exists()


@pytest.mark.parametrize(
    ("args", "pw", "message"),
    [
        (["--new-passphrase-file", "SAME"], PASSPHRASE, "the one in use"),
        ([], PASSPHRASE, "--new-passphrase-file FILE"),
        (["--new-passphrase-file", "NEW"], "wrong one", "passphrase"),
    ],
)
def test_change_refusals_change_nothing(
    laptop: Home, tmp_path: Path, new_file: Path, args: list[str], pw: str, message: str
) -> None:
    same = tmp_path / "same"
    same.write_text(PASSPHRASE)
    args = [str(same) if a == "SAME" else str(new_file) if a == "NEW" else a for a in args]
    before, folder = laptop.digest(), sorted(laptop.sync.iterdir())
    refused = laptop.run("passphrase", "change", *args, passphrase=pw)
    assert refused.returncode in (1, 2)
    assert message in refused.stderr
    assert "Traceback" not in refused.stderr
    assert laptop.digest() == before
    assert sorted(laptop.sync.iterdir()) == folder


def test_change_says_to_update_passphrase_file(make_home, tmp_path: Path, new_file: Path) -> None:
    pw = tmp_path / "pw-source"
    pw.write_text(PASSPHRASE + "\n")
    pw.chmod(0o600)
    home: Home = make_home("laptop", init=False)
    home.write_config("laptop", passphrase_file=str(pw))
    home.ok("init", passphrase="")
    done = home.ok("passphrase", "change", "--new-passphrase-file", str(new_file), passphrase="")
    assert f"update passphrase_file {pw}" in done.stdout
    pw.write_text(NEW + "\n")
    home.ok("list", passphrase="")


def test_queue_copies_survive_a_change(laptop: Home, make_home, new_file: Path) -> None:
    desk = make_home("desk")
    desk.ok("add", "-", input="otpauth://totp/Desk:d?secret=GEZDGNBVGY3TQOJQ&issuer=Desk\n")
    desk.ok("export")
    laptop.ok("scan")
    assert len(json.loads(laptop.ok("pending", "--json").stdout)) == 1
    laptop.ok("passphrase", "change", "--new-passphrase-file", str(new_file))
    pending = json.loads(laptop.ok("pending", "--json", passphrase=NEW).stdout)
    assert len(pending) == 1


@pytest.mark.parametrize("crash_after", range(1, 12))
def test_a_crash_at_any_write_loses_nothing(laptop: Home, new_file: Path, crash_after: int) -> None:
    first = json.loads(laptop.ok("list", "--json").stdout)[0]["id"]
    laptop.ok("remove", first)
    laptop.ok("export")  # a snapshot per change, three backups of this device in the folder
    wanted = len(json.loads(laptop.ok("list", "--json").stdout))
    crashed = laptop.run(
        "passphrase", "change", "--new-passphrase-file", str(new_file),
        env={"OTPSYNC_TEST_CRASH_AFTER_WRITES": str(crash_after)},
    )  # fmt: skip
    assert crashed.returncode in (0, 86), crashed.stderr
    vault = laptop.path / "data" / "vault.4otp.txt"
    which = opens_with(vault)
    assert len(which) == 1
    # The folder holds a backup of the laptop's codes that opens with one of the two.
    assert any(
        opens_with(p) and codes_in(p, opens_with(p)[0]) == wanted for p in laptop.sync.iterdir()
    )
    if not (laptop.path / "data" / "passphrase-change.json").exists():
        assert which == [NEW]  # the journal goes last: the change was complete
        return
    # Unfinished: the wrong passphrase is told which one works.
    other = NEW if which == [PASSPHRASE] else PASSPHRASE
    told = laptop.run("list", passphrase=other)
    assert told.returncode == 1
    kind = "new" if which == [NEW] else "old"
    assert f"the vault opens with the {kind} passphrase" in told.stderr
    # The next run, with the passphrase the vault opens with, finishes the change.
    laptop.ok("passphrase", "change", "--new-passphrase-file", str(new_file), passphrase=which[0])
    assert all(opens_with(p) == [NEW] for p in own_files(laptop))
    left = list(laptop.sync.iterdir())
    assert left
    assert all(opens_with(p) == [NEW] for p in left)
    assert all(codes_in(p, NEW) == wanted for p in left)


def test_two_homes_one_changes_then_the_other(make_home, new_file: Path) -> None:
    laptop: Home = make_home("laptop")
    desk: Home = make_home("desk")
    laptop.ok("add", "-", input=URIS[0] + "\n")
    laptop.ok("export")
    desk.ok("add", "-", input=URIS[1] + "\n")
    desk.ok("export")
    desk.ok("scan")  # the desk knows the laptop now (devices.json)
    desk.ok("approve", "--all")
    laptop.ok("passphrase", "change", "--new-passphrase-file", str(new_file))
    laptop.ok("add", "-", input="otpauth://totp/Late:z?secret=GEZDGNBVGY3TQOJQ&issuer=Late\n",
              passphrase=NEW)  # fmt: skip
    laptop.ok("export", passphrase=NEW)
    desk_before = desk.ok("list").stdout
    scanned = desk.ok("scan")
    assert "laptop now uses a different passphrase" in scanned.stderr
    status = json.loads(desk.ok("status", "--json").stdout)
    assert [d["device"] for d in status["other_passphrase"]] == ["laptop"]
    assert any("run `otpsync passphrase change` here" in w for w in status["warnings"])
    assert "laptop now uses a different passphrase" in desk.ok("status").stdout
    assert "laptop now uses a different passphrase" in desk.ok("pending").stderr
    assert desk.ok("list").stdout == desk_before  # nothing lost, nothing rejected
    laptop_files = [p for p in desk.sync.iterdir() if "-laptop-" in p.name]
    assert laptop_files
    assert all(opens_with(p) == [NEW] for p in laptop_files)  # none opens with the old one
    # The desk changes to the same new passphrase: the laptop's newer codes are offered.
    desk.ok("passphrase", "change", "--new-passphrase-file", str(new_file))
    desk.ok("scan", passphrase=NEW)
    pending = json.loads(desk.ok("pending", "--json", passphrase=NEW).stdout)
    assert len(pending) == 1
    assert pending[0]["device"] == "laptop"
    assert json.loads(desk.ok("status", "--json").stdout)["other_passphrase"] == []
    desk.ok("approve", "--all", passphrase=NEW)
    assert "Late" in desk.ok("list", passphrase=NEW).stdout
    for home in (laptop, desk):
        assert opens_with(home.path / "data" / "vault.4otp.txt") == [NEW]
    assert all(opens_with(p) == [NEW] for p in desk.sync.iterdir())


def test_change_is_refused_while_the_daemon_runs(laptop: Home, new_file: Path, spawn) -> None:
    daemon = spawn(laptop)
    daemon.wait_running()
    vault = (laptop.path / "data" / "vault.4otp.txt").read_bytes()
    refused = laptop.run("passphrase", "change", "--new-passphrase-file", str(new_file))
    assert refused.returncode == 1
    assert "stop it first" in refused.stderr
    assert (laptop.path / "data" / "vault.4otp.txt").read_bytes() == vault
    assert not (laptop.path / "data" / "passphrase-change.json").exists()
    assert daemon.stop() == 0


def test_change_updates_the_keyring_entry(laptop: Home, new_file: Path, tmp_path: Path) -> None:
    from tests.conftest import REPO

    store = tmp_path / "keyring.json"
    store.write_text(json.dumps({"otpsync/passphrase": PASSPHRASE}))
    env = {
        "PYTHON_KEYRING_BACKEND": "tests.file_keyring.FileKeyring",
        "OTPSYNC_TEST_KEYRING_FILE": str(store),
        "PYTHONPATH": str(REPO),
    }
    laptop.ok("list", passphrase="", env=env)  # the passphrase comes from the keyring
    done = laptop.ok("passphrase", "change", "--new-passphrase-file", str(new_file),
                     passphrase="", env=env)  # fmt: skip
    assert "The OS keyring now holds the new passphrase" in done.stdout
    assert json.loads(store.read_text()) == {"otpsync/passphrase": NEW}
    assert "GitHub" in laptop.ok("list", passphrase="", env=env).stdout


def crash_change(home: Home, new_file: Path, after: int) -> None:
    crashed = home.run(
        "passphrase", "change", "--new-passphrase-file", str(new_file),
        env={"OTPSYNC_TEST_CRASH_AFTER_WRITES": str(after)},
    )  # fmt: skip
    assert crashed.returncode == 86, crashed.stderr
    assert (home.path / "data" / "passphrase-change.json").exists()


def test_resuming_with_another_new_passphrase_is_refused(
    laptop: Home, new_file: Path, tmp_path: Path
) -> None:
    """Crashed after re-sealing a snapshot under NEW, before the vault switched: resuming
    with yet another passphrase would leave that snapshot unreadable; it is refused."""
    crash_change(laptop, new_file, 2)  # the journal, one snapshot
    assert opens_with(laptop.path / "data" / "vault.4otp.txt") == [PASSPHRASE]
    other = tmp_path / "other-pw"
    other.write_text("yet another passphrase\n")
    before = laptop.digest()
    refused = laptop.run("passphrase", "change", "--new-passphrase-file", str(other))
    assert refused.returncode == 2
    assert "an interrupted change began with another new passphrase" in refused.stderr
    assert laptop.digest() == before
    laptop.ok("passphrase", "change", "--new-passphrase-file", str(new_file))
    assert all(opens_with(p) == [NEW] for p in own_files(laptop))


def test_finishing_says_which_passphrase_it_finished_with(
    laptop: Home, new_file: Path, tmp_path: Path
) -> None:
    """Crashed right after the vault switched: the next run (which opens it with NEW) finishes
    with NEW, and says so when it was given another one to change to."""
    data = laptop.path / "data"
    resealed = len(own_files(laptop)) - 1  # snapshots and queue copies: all but the vault
    crash_change(laptop, new_file, 1 + resealed + 1)  # the journal, each of them, the vault
    assert opens_with(data / "vault.4otp.txt") == [NEW]
    other = tmp_path / "other-pw"
    other.write_text("yet another passphrase\n")
    done = laptop.ok("passphrase", "change", "--new-passphrase-file", str(other), passphrase=NEW)
    assert "Finished the passphrase change an earlier run began." in done.stdout
    assert "not the one given now" in done.stdout
    assert not (data / "passphrase-change.json").exists()
    assert all(opens_with(p) == [NEW] for p in own_files(laptop))
