"""Order without the wall clock: every vault save and backup carries a per-device sequence
number, and snapshots, pruning and "which backup of a device is newest" follow it. The clock
is set back with libfaketime on real ``otpsync`` processes (issue "Left alone for years")."""

from __future__ import annotations

import glob
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from daemon.core import backup_format
from tests.conftest import Home
from tests.daemon_support import LocalHome, Peer, code, daemon_settings, minutes_ago

MakeHome = Callable[..., Home]
MakeLocal = Callable[..., LocalHome]

_LIBFAKETIME = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))


def a_day_ago() -> dict[str, str]:
    """The environment that runs a real otpsync with its clock set back one day."""
    if not _LIBFAKETIME:
        pytest.skip("libfaketime is not installed (Debian: apt-get install faketime)")
    return {"LD_PRELOAD": _LIBFAKETIME[0], "FAKETIME": "-1d", "FAKETIME_DONT_RESET": "1"}


def add(home: Home, n: int, env: dict[str, str] | None = None) -> None:
    home.ok("add", "--issuer", f"Service{n}", "--account", "me", "--secret", "-",
            input=code(n).secret + "\n", env=env)  # fmt: skip


def issuers(home: Home) -> list[str]:
    return sorted(a["issuer"] for a in json.loads(home.ok("list", "--json").stdout))


def test_a_clock_set_back_changes_nothing_about_undo(make_home: MakeHome) -> None:
    home = make_home("laptop")
    add(home, 1)
    add(home, 2, env=a_day_ago())  # the snapshot before it is "taken" a day earlier
    home.ok("undo")
    assert issuers(home) == ["Service1"]  # only the last change undone, not both
    home.ok("undo")
    assert issuers(home) == []


def test_a_new_snapshot_is_kept_when_the_clock_went_back(make_home: MakeHome) -> None:
    home = make_home("laptop")  # snapshots = 20 by default
    for n in range(21):
        add(home, n)
    add(home, 99, env=a_day_ago())
    assert len(list((home.path / "data" / "snapshots").glob("*.4otp.txt"))) == 20
    home.ok("undo")  # the snapshot of the newest change survived: undo steps back over it
    assert "Service99" not in issuers(home)
    assert "Service20" in issuers(home)


def test_a_fresh_export_is_not_pruned_when_the_clock_went_back(make_home: MakeHome) -> None:
    home = make_home("laptop", extra=daemon_settings(keep=2))
    add(home, 1)
    home.ok("export")
    home.ok("export")
    done = home.ok("export", env=a_day_ago())
    path = Path(done.stdout.splitlines()[-1])
    assert path.exists()
    backups = sorted(home.sync.glob("*-laptop-*"))
    assert len(backups) == 2
    assert path in backups


def test_backups_carry_the_vaults_sequence_number_which_only_grows(make_home: MakeHome) -> None:
    home = make_home("laptop")
    seqs = []
    for n in range(3):
        add(home, n)
        out = Path(home.ok("export").stdout.splitlines()[-1])
        seqs.append(backup_format.read_header(out.read_bytes()).seq)
        vault = (home.path / "data" / "vault.4otp.txt").read_bytes()
        assert backup_format.read_header(vault).seq == seqs[-1]
    home.ok("undo")  # undo brings an old vault back, under a new, higher number
    vault = (home.path / "data" / "vault.4otp.txt").read_bytes()
    assert backup_format.read_header(vault).seq > seqs[-1]
    assert seqs == sorted(set(seqs))


def test_a_peer_whose_clock_went_back_still_brings_its_new_code(local_home: MakeLocal) -> None:
    me = local_home("laptop")
    svc = me.service()
    phone = Peer("phone")
    phone.drop(me.sync, [1], minutes_ago(5), seq=7)
    assert [o.kind for o in svc.scan_once()] == ["queued"]
    # its clock went back a day; its next backup (seq 8) holds a new code
    phone.drop(me.sync, [1, 2], minutes_ago(5) - timedelta(days=1), seq=8)
    outcomes = {o.kind for o in svc.scan_once()}
    assert "queued" in outcomes
    (view,) = svc.pending()
    assert view.entry.seq == 8
    assert sorted(c.incoming.issuer for c in view.offered()) == ["Service1", "Service2"]


def test_an_older_backup_of_a_device_is_superseded_without_decrypting(
    local_home: MakeLocal,
) -> None:
    """A replay: a device's older backup, copied back later (a conflict copy), offers
    nothing, even though it holds a code its newer backup no longer has."""
    me = local_home("laptop")
    svc = me.service()
    phone = Peer("phone")
    phone.drop(me.sync, [1], minutes_ago(3), seq=9)
    svc.scan_once()
    conflict_copy = phone.name(minutes_ago(60)).replace(".4otp.txt", ".4otp (1).txt")
    phone.drop(me.sync, [1, 5], minutes_ago(60), seq=4, name=conflict_copy)
    keys = svc.store.keys
    before = keys.kdf_runs
    outcomes = [o for o in svc.scan_once() if o.kind != "seen"]
    assert [o.kind for o in outcomes] == ["superseded"]
    assert keys.kdf_runs == before


def test_a_start_up_scan_opens_only_each_devices_newest_backup(local_home: MakeLocal) -> None:
    me = local_home("laptop")
    svc = me.service()
    svc.vault()
    for d in range(5):
        peer = Peer(f"device{d}")
        for k in range(20):
            peer.drop(me.sync, range(100 * d, 100 * d + k % 5 + 1), minutes_ago(500 - k),
                      seq=k + 1)  # fmt: skip
    outcomes = svc.scan_once()
    kinds = [o.kind for o in outcomes]
    assert kinds.count("queued") == 5
    assert kinds.count("superseded") == 95
    assert svc.store.keys.kdf_runs == 1 + 5  # the vault, then one per device
    for view in svc.pending():
        assert view.entry.seq == 20
