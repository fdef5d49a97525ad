"""Other apps' automatic backups in the sync folder feed the same queue as our own devices'.

Issue 5's "done when": Aegis' encrypted backup copied in under its automatic-backup name, with
a configured [[watch.sources]], becomes one pending import of its 7 codes; approving adds them;
a later Aegis backup with one more code offers just that one.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from daemon import importers
from daemon.core.accounts import Account
from daemon.exporters import aegis
from daemon.intake import source_device_id
from tests.conftest import FIXTURES
from tests.daemon_support import Recorder, daemon_settings

AEGIS = FIXTURES / "aegis-tests" / "aegis_encrypted.json"
PASSWORD = "test"  # the fixture's, per ../shared/fixtures/interop/README.md

needs_aegis_fixture = pytest.mark.skipif(not AEGIS.exists(), reason=f"{AEGIS} is not here")


def source_table(tmp_path: Path) -> str:
    secret = tmp_path / "aegis-password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    return (
        "[[watch.sources]]\n"
        'name = "aegis"\n'
        'pattern = "aegis-backup-*.json"\n'
        'format = "aegis"\n'
        f'password_file = "{secret}"\n'
    )


def drop(data: bytes, folder: Path, name: str) -> Path:
    """Arrive the way sync clients deliver: a temp name, then a rename."""
    tmp = folder / f".{name}.partial"
    tmp.write_bytes(data)
    os.replace(tmp, folder / name)
    return folder / name


@needs_aegis_fixture
def test_aegis_backups_are_queued_approved_and_reoffered_only_when_new(
    local_home, tmp_path: Path
) -> None:
    # The daemon settings table ends with [watch]; [[watch.sources]] must follow it.
    home = local_home("laptop", extra=daemon_settings() + "\n" + source_table(tmp_path))
    recorder = Recorder()
    daemon = home.daemon(recorder)

    drop(AEGIS.read_bytes(), home.sync, "aegis-backup-20261128-100000.json")
    [event] = recorder.wait("pending")
    assert event.message == "Backup from aegis: 7 new codes"
    [view] = daemon.status().pending
    assert (view.entry.device, view.plan.counts()["new"]) == ("aegis", 7)

    approved = daemon.approve(view.entry.id).result(timeout=20)
    assert len(approved.added) == 7
    assert len(home.service().vault().accounts) == 7

    # The app's next automatic backup: the same seven codes and one more.
    seven = importers.get("aegis").parse(AEGIS.read_bytes(), PASSWORD)
    eighth = Account.create(secret="JBSWY3DPEHPK3PXP", issuer="GitHub", account="mason")
    later = aegis.encrypted([*seven, eighth], PASSWORD)
    drop(later, home.sync, "aegis-backup-20261129-100000.json")
    [_, event] = recorder.wait("pending", count=2)
    assert event.message == "Backup from aegis: 1 new code"
    [view] = daemon.status().pending
    assert [c.incoming.label for c in view.offered()] == ["GitHub — mason"]

    # Rejected, it is not offered again by the next backup that brings nothing else.
    daemon.reject(view.entry.id).result(timeout=20)
    again = aegis.encrypted([*seven, eighth], PASSWORD)
    path = drop(again, home.sync, "aegis-backup-20261130-100000.json")
    assert home.service().consider(path).kind in ("nothing-new", "seen")
    assert daemon.submit(daemon.service.pending).result(timeout=10) == []


@needs_aegis_fixture
def test_a_wrong_source_password_is_reported_once_not_queued(local_home, tmp_path: Path) -> None:
    table = source_table(tmp_path).replace(str(tmp_path / "aegis-password"),
                                           str(tmp_path / "wrong"))  # fmt: skip
    (tmp_path / "wrong").write_text("not the password\n")
    home = local_home("laptop", extra=daemon_settings() + "\n" + table)
    recorder = Recorder()
    daemon = home.daemon(recorder)
    shutil.copy(AEGIS, home.sync / "aegis-backup-20261128-100000.json")
    [error] = recorder.wait("error")
    assert "password configured for [[watch.sources]] 'aegis' does not open it" in error.message
    assert daemon.status().pending == ()


@needs_aegis_fixture
def test_files_not_matching_the_pattern_are_ignored(local_home, tmp_path: Path) -> None:
    home = local_home("laptop", extra=daemon_settings() + "\n" + source_table(tmp_path))
    for name in ("aegis-export-20261128.json", "notes-aegis-backup-1.json.tmp",
                 ".aegis-backup-1.json"):  # fmt: skip
        shutil.copy(AEGIS, home.sync / name)
    outcomes = home.service().scan_once()
    assert outcomes == []


@needs_aegis_fixture
def test_scan_once_queues_a_source_backup_from_the_cli(local_home, tmp_path: Path) -> None:
    home = local_home("laptop", extra=daemon_settings() + "\n" + source_table(tmp_path))
    shutil.copy(AEGIS, home.sync / "aegis-backup-20261128-100000.json")
    done = home.home.ok("scan")
    assert "queued 1" in done.stdout
    pending = home.home.ok("pending", "--json").stdout
    assert '"device": "aegis"' in pending
    assert '"new": 7' in pending


def test_the_queue_keeps_a_plain_source_backup_sealed_and_approves_without_it(
    local_home, tmp_path: Path
) -> None:
    """A plain (unencrypted) Aegis backup is queued as a copy sealed with our passphrase: no
    plaintext secret in the state dir, and approval needs neither the original file nor the
    app's password any more."""
    table = source_table(tmp_path).replace('format = "aegis"', 'format = "auto"')
    home = local_home("laptop", extra=daemon_settings() + "\n" + table)
    codes = [Account.create(secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", issuer="GitHub",
                            account="mason"),
             Account.create(secret="GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", issuer="Amazon",
                            account="mason")]  # fmt: skip
    original = drop(aegis.plain(codes), home.sync, "aegis-backup-20261128-100000.json")
    svc = home.service()
    assert svc.consider(original).kind == "queued"

    inbox = home.path / "state" / "inbox"
    for path in inbox.iterdir():
        content = path.read_bytes()
        for account in codes:
            assert account.secret.encode() not in content, path.name
            assert account.issuer.encode() not in content, path.name
    [view] = svc.pending()
    assert (inbox / view.entry.copy).read_bytes().startswith(b"otpsync-backup v2\n")

    original.unlink()
    (tmp_path / "aegis-password").unlink()
    approved = home.service().approve(view.entry.id)
    assert sorted(a.label for a in approved.added) == ["Amazon — mason", "GitHub — mason"]
    assert home.service().pending() == []


def test_an_entry_queued_as_the_raw_file_by_an_earlier_version_still_approves(
    local_home, tmp_path: Path
) -> None:
    home = local_home("laptop", extra=daemon_settings() + "\n" + source_table(tmp_path))
    account = Account.create(secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", issuer="GitHub",
                             account="mason")  # fmt: skip
    svc = home.service()
    entry, _ = svc.inbox.put(
        device="aegis", device_id=source_device_id(svc.config.watch.sources[0]),
        created="2026-11-28T10:00:00Z", file=str(home.sync / "aegis-backup-1.json"),
        sha256="0" * 64, queued="2026-11-28T10:00:01Z", data=aegis.plain([account]),
        source="aegis",
    )  # fmt: skip
    assert entry is not None
    approved = home.service().approve(entry.id)
    assert [a.label for a in approved.added] == ["GitHub — mason"]
