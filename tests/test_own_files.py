"""This device's own files are known, not guessed: forged headers, copied homes, and the KDF
budget for files that ask for fresh Argon2 runs (issue "The sync folder is not trusted")."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from daemon.core import backup_format
from daemon.core.backup_format import KdfParams
from daemon.errors import KdfBudgetSpent
from daemon.kdf_budget import KdfBudget
from tests.conftest import Home
from tests.daemon_support import (
    LocalHome,
    Peer,
    Recorder,
    daemon_settings,
    minutes_ago,
    seen_outcome,
    status_json,
    wait_for,
)

MakeHome = Callable[..., Home]
MakeLocal = Callable[..., LocalHome]


def forge(genuine: bytes, created: str, salt: bytes | None = None) -> bytes:
    """What someone with write access but no passphrase can make: this device's public
    header with another ``created`` (and maybe another KDF salt), garbage in the body, and a
    correct (unkeyed) checksum line — it passes every check that needs no key."""
    head, _, rest = genuine.partition(b"\n\n")
    head = re.sub(rb"\ncreated: [^\n]*", b"\ncreated: " + created.encode(), head)
    if salt is not None:
        import base64

        head = re.sub(rb"\nkdf-salt: [^\n]*", b"\nkdf-salt: " + base64.b64encode(salt), head)
    body_lines = rest.split(b"\n")[:-2]  # drop the end line
    body = b"\n".join(b"A" * len(line) if line else line for line in body_lines) + b"\n"
    content = head + b"\n\n" + body
    return content + b"end sha256=" + hashlib.sha256(content).hexdigest().encode() + b"\n"


def backups_of(folder: Path, device: str) -> list[Path]:
    return sorted(p for p in folder.iterdir() if f"-{device}-4otp" in p.name)


def test_forged_own_headers_never_delete_genuine_backups(make_home: MakeHome) -> None:
    laptop = make_home("laptop", extra=daemon_settings(keep=3))
    laptop.ok("add", "--issuer", "GitHub", "--account", "alice", "--secret", "JBSWY3DPEHPK3PXP")
    first = Path(laptop.ok("export").stdout.splitlines()[-1])
    genuine = first.read_bytes()
    forged = []
    for k in range(10):
        path = laptop.sync / f"2099-01-01-00-00-{k:02d}-laptop-4otp-keys-export.4otp.txt"
        path.write_bytes(forge(genuine, f"2099-01-01T00:00:{k:02d}Z"))
        forged.append(path)
    written = [first]
    for _ in range(3):
        done = laptop.ok("export")
        written.append(Path(done.stdout.splitlines()[-1]))
        assert written[-1].exists()  # a path is printed only for a file that is there
    # keep = 3: the three newest genuine backups, the new one included; forgeries untouched
    assert all(p.exists() for p in written[-3:])
    assert not written[0].exists()
    assert all(p.exists() for p in forged)
    info = status_json(laptop)
    assert sorted(info["not_written_here"]) == sorted(str(p) for p in forged)
    assert info["identity_clash"] == []
    text = laptop.ok("status").stdout
    assert "10 files claim to come from laptop but it did not write them" in text


def test_a_forged_file_is_not_queued_and_is_reported_once(local_home: MakeLocal) -> None:
    me = local_home("laptop", extra=daemon_settings())
    svc = me.service()
    genuine = svc.export().path.read_bytes()
    recorder = Recorder()
    daemon = me.daemon(recorder)
    planted = me.sync / "2099-01-01-00-00-00-laptop-4otp-keys-export.4otp.txt"
    planted.write_bytes(forge(genuine, "2099-01-01T00:00:00Z"))
    wait_for(lambda: seen_outcome(me.path, planted) == "forged", what="the forgery judged")
    wait_for(lambda: daemon.status().claims, what="the claim shown")
    assert daemon.status().claims == ("1 file claims to come from laptop but it did not write it",)
    assert daemon.status().pending == ()
    assert len([e for e in recorder.of("error") if "did not write it" in e.message]) == 1


def test_a_copied_home_is_detected_and_init_new_identity_resolves_it(
    make_home: MakeHome, tmp_path: Path
) -> None:
    a = make_home("laptop", extra=daemon_settings(keep=2))
    a.ok("add", "--issuer", "GitHub", "--account", "alice", "--secret", "JBSWY3DPEHPK3PXP")
    a.ok("export")
    b = Home(tmp_path / "home-copy", a.sync)
    shutil.copytree(a.path, b.path)  # the whole home, moved to a new computer
    b.ok("add", "--issuer", "GitLab", "--account", "bob", "--secret", "GEZDGNBVGY3TQOJQ")
    for _ in range(3):
        a.ok("export")
        b.ok("export")
    # Neither machine pruned the other's backups: 1 + 3 of a's, 3 of b's
    assert len(backups_of(a.sync, "laptop")) == 7
    for home in (a, b):
        info = status_json(home)
        assert info["identity_clash"], home
        assert "otpsync init --new-identity" in home.ok("status").stdout

    done = b.ok("init", "--new-identity")
    # b's three, and a's first, which b's copied ledger knew as its own
    assert "Removed the 4 backups this machine wrote under the old id" in done.stdout
    assert len(backups_of(a.sync, "laptop")) == 4  # a's three later ones, b's new one
    assert status_json(b)["identity_clash"] == []
    # a now takes b's new backup for another device's, and offers its new code
    scan = a.ok("scan")
    assert "queued 1" in scan.stdout
    pending = json.loads(a.ok("pending", "--json").stdout)
    assert [e["issuer"] for e in pending[0]["entries"]] == ["GitLab"]
    a.ok("export")  # pruning works again: keep = 2 of a's own
    assert status_json(a)["identity_clash"] == []
    assert len([p for p in backups_of(a.sync, "laptop") if p.exists()]) == 3


def test_new_identity_refuses_other_flags(make_home: MakeHome) -> None:
    home = make_home("laptop")
    before = home.digest()
    done = home.run("init", "--new-identity", "--device", "other")
    assert done.returncode == 2
    assert done.stderr.startswith("otpsync: error: --new-identity keeps")
    assert home.digest() == before


def test_fresh_salt_files_are_capped_per_hour(local_home: MakeLocal) -> None:
    """Each planted file with a fresh salt would cost a reader one Argon2 run; past the
    hourly cap they wait (not marked seen), and a known device's backup still opens."""
    me = local_home("laptop")
    svc = me.service()
    desktop = Peer("desktop")
    desktop.drop(me.sync, [1], minutes_ago(5))
    assert [o.kind for o in svc.scan_once()] == ["queued"]
    stranger = Peer("phone", passphrase="not the same passphrase")
    for k in range(12):
        stranger.salt = bytes([k]) * backup_format.SALT_BYTES
        name = f"2026-11-28-10-00-{k:02d}-phone-4otp-keys-export.4otp.txt"
        stranger.drop(me.sync, [k], name=name)
    keys = svc.store.keys
    runs_before = keys.kdf_runs
    outcomes = svc.scan_once()
    kinds = sorted(o.kind for o in outcomes)
    # the desktop's first backup spent one of the hour's PER_HOUR (8) fresh derivations
    assert kinds.count("wrong-passphrase") == 7
    assert kinds.count("deferred") == 5
    assert keys.kdf_runs - runs_before == 7
    deferred = [o for o in outcomes if o.kind == "deferred"]
    assert "this hour" in deferred[0].message
    assert all(seen_outcome(me.path, o.path) is None for o in deferred)  # tried again later
    # A device whose salt opened before costs nothing and is not held back by the cap, in
    # this process or the next (known_kdf.json).
    desktop.drop(me.sync, [1, 2])
    assert "queued" in [o.kind for o in me.service().scan_once()]


def test_a_failed_salt_is_not_derived_again(local_home: MakeLocal) -> None:
    me = local_home("laptop")
    svc = me.service()
    stranger = Peer("phone", passphrase="not the same passphrase")
    for k in range(5):
        stranger.drop(
            me.sync, [k], name=f"2026-11-28-10-00-{k:02d}-phone-4otp-keys-export.4otp.txt"
        )
    svc.vault()  # our own key: derived once, before counting
    keys = svc.store.keys
    before = keys.kdf_runs
    outcomes = svc.scan_once()
    assert [o.kind for o in outcomes] == ["wrong-passphrase"] * 5
    assert keys.kdf_runs - before == 1


def test_the_budget_refills_after_an_hour(local_home: MakeLocal) -> None:
    me = local_home("laptop")
    svc = me.service()
    now = [0.0]
    budget = KdfBudget(svc.store.keys, me.path / "state", per_hour=2, clock=lambda: now[0])
    header = backup_format.read_header(Peer("x", passphrase="other").backup([1]))

    def fresh(n: int) -> backup_format.Header:
        from dataclasses import replace

        return replace(header, kdf_salt=bytes([n]) * 16, kdf=KdfParams(1024, 1, 1))

    budget.check(fresh(1))
    budget.check(fresh(2))
    with pytest.raises(KdfBudgetSpent, match="this hour"):
        budget.check(fresh(3))
    now[0] = 3601.0
    budget.check(fresh(3))


def test_a_conflict_copy_of_an_own_backup_is_no_alarm(make_home: MakeHome) -> None:
    """Sync clients copy a file they saw change on two sides ("… (laptop's conflicted copy
    …)"): the bytes are this device's, under another name, so neither forged nor a clash."""
    laptop = make_home("laptop", extra=daemon_settings(keep=2))
    laptop.ok("add", "--issuer", "GitHub", "--account", "alice", "--secret", "JBSWY3DPEHPK3PXP")
    written = Path(laptop.ok("export").stdout.splitlines()[-1])
    copy = written.with_name(
        written.name.replace(".4otp.txt", ".4otp (laptop's conflicted copy).txt")
    )
    shutil.copyfile(written, copy)
    laptop.ok("scan")
    laptop.ok("export")
    info = status_json(laptop)
    assert (info["not_written_here"], info["identity_clash"]) == ([], [])
    assert copy.exists()
