"""Other apps' automatic backups in the sync folder feed the same queue as our own devices'.

Issue 5's "done when": Aegis' encrypted backup copied in under its automatic-backup name, with
a configured [[watch.sources]], becomes one pending import of its 7 codes; approving adds them;
a later Aegis backup with one more code offers just that one.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest

from daemon import importers
from daemon.core.accounts import Account
from daemon.errors import UnsupportedImport
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
    seven = importers.get("aegis").parse(AEGIS.read_bytes(), PASSWORD).accounts
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
    """A plain (unencrypted) Aegis backup, from a source configured without a password, is
    queued as a copy sealed with our passphrase: no plaintext secret in the state dir, and
    approval does not need the original file any more."""
    table = source_table(tmp_path).replace('format = "aegis"', 'format = "auto"')
    table = "\n".join(line for line in table.splitlines() if "password_file" not in line)
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


def test_a_plain_file_is_refused_when_the_source_has_a_password(local_home, tmp_path: Path) -> None:
    """Issue 9: the app writes encrypted backups; a plain file under its name is someone
    else's, and would bring codes nobody had to know a password for."""
    home = local_home("laptop", extra=daemon_settings() + "\n" + source_table(tmp_path))
    planted = Account.create(secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", issuer="Evil",
                             account="mason")  # fmt: skip
    path = drop(aegis.plain([planted]), home.sync, "aegis-backup-20261128-100000.json")
    outcome = home.service().consider(path)
    assert outcome.kind == "damaged"
    assert "is not encrypted, but [[watch.sources]] 'aegis' has a password" in outcome.message
    assert home.service().pending() == []
    done = home.home.ok("scan")
    assert done.stdout == "Looked at 1 file; queued 0.\n"


def test_a_source_backup_with_entries_otpsync_cannot_make_queues_the_rest(
    local_home, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 11: a Yandex entry in the app's backup is logged once (its label escaped) and
    the other codes are queued; looking at the same file again logs nothing more."""
    table = source_table(tmp_path).replace('format = "aegis"', 'format = "auto"')
    # a plain file: from a source configured without a password (one with a password
    # refuses plain files)
    table = "\n".join(line for line in table.splitlines() if "password_file" not in line)
    home = local_home("laptop", extra=daemon_settings() + "\n" + table)
    good = Account.create(secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", issuer="GitHub",
                          account="mason")  # fmt: skip
    vault = json.loads(aegis.plain([good]))
    yandex = {**vault["db"]["entries"][0], "type": "yandex", "issuer": "Yandex\x1b[31m",
              "name": "ivan", "uuid": "0f8a7e44-1b0c-4d8e-9a51-6e1f4f3a2b10"}  # fmt: skip
    vault["db"]["entries"].append(yandex)
    path = drop(json.dumps(vault).encode(), home.sync, "aegis-backup-20261128-100000.json")
    svc = home.service()
    caplog.set_level(logging.WARNING, logger="daemon.intake")

    assert svc.consider(path).kind == "queued"
    [view] = svc.pending()
    assert [c.incoming.label for c in view.offered()] == ["GitHub — mason"]
    warnings = [r.getMessage() for r in caplog.records if r.name == "daemon.intake"]
    assert warnings == [
        f"{path}: 1 not imported: Yandex\\x1b[31m — ivan (Yandex codes are not supported)"
    ]
    assert svc.consider(path).kind == "seen"
    assert len([r for r in caplog.records if r.name == "daemon.intake"]) == 1


def test_an_old_andotp_backup_is_recognised_by_the_sources_password(
    local_home, tmp_path: Path
) -> None:
    """format = "auto": a headerless old andOTP backup is claimed by no sniff; the source's
    password opens it (AES-GCM authenticates), so it queues like any other."""
    from tests.importers.support import andotp_encrypted_old

    table = (
        source_table(tmp_path)
        .replace('format = "aegis"', 'format = "auto"')
        .replace('pattern = "aegis-backup-*.json"', 'pattern = "otp_accounts_*.json.aes"')
    )
    home = local_home("laptop", extra=daemon_settings() + "\n" + table)
    entry = {"secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "issuer": "GitHub", "label": "mason",
             "digits": 6, "type": "TOTP", "algorithm": "SHA1", "period": 30}  # fmt: skip
    data = andotp_encrypted_old([entry], PASSWORD)
    path = drop(data, home.sync, "otp_accounts_2026-11-28_10-00-00.json.aes")
    assert home.service().consider(path).kind == "queued"
    [view] = home.service().pending()
    assert [c.incoming.label for c in view.offered()] == ["GitHub — mason"]


# Each app's automatic backups, under the name the app gives them (README, "Other apps'
# automatic backups"), with format = "auto": detected from the content and queued.
AUTOMATIC = [
    ("aegis", "aegis-backup*.json", "aegis-tests/aegis_encrypted.json",
     "aegis-backup-20261128-100000.json", "test", 7),
    ("2fas", "2fas-backup-*.2fas", "aegis-tests/2fas_authenticator_encrypted_v4.2fas",
     "2fas-backup-20261128-100000-123.2fas", "test", 5),
    ("stratum", "backup-*.stratum", "aegis-tests/stratum_encrypted.bin",
     "backup-2026-11-28_100000.stratum", "test", 7),
    ("proton", "Proton Authenticator_export_*.json",
     "ente-tests/proton_authenticator_backup_encrypted_1231246.json",
     "Proton Authenticator_export_2026-11-28.json", "1231246", 4),
    ("ente", "ente-auth-*-backup-*.json",
     "proton-pass-common-tests/ente/encrypted.lowcomplexity.txt",
     "ente-auth-daily-backup-2026-11-28_10-00-00.json", "password", 3),
]  # fmt: skip


@pytest.mark.parametrize(
    ("app", "pattern", "fixture", "name", "password", "count"),
    AUTOMATIC,
    ids=[a[0] for a in AUTOMATIC],
)
def test_each_apps_automatic_backup_is_detected_and_queued(
    local_home, tmp_path: Path, app: str, pattern: str, fixture: str, name: str, password: str,
    count: int,
) -> None:  # fmt: skip
    source = FIXTURES / fixture
    if not source.exists():
        pytest.skip(f"{source} is not here")
    data = source.read_bytes()
    try:
        importers.parse(data, password=password)
    except UnsupportedImport as exc:
        pytest.skip(f"{app}: {exc} (its importer is not on this branch)")
    secret = tmp_path / f"{app}-password"
    secret.write_text(password + "\n")
    secret.chmod(0o600)
    table = (
        f'[[watch.sources]]\nname = "{app}"\npattern = "{pattern}"\nformat = "auto"\n'
        f'password_file = "{secret}"\n'
    )
    home = local_home("laptop", extra=daemon_settings() + "\n" + table)
    path = drop(data, home.sync, name)
    outcome = home.service().consider(path)
    assert outcome.kind == "queued", outcome.message
    [view] = home.service().pending()
    assert (view.entry.device, view.plan.counts()["new"]) == (app, count)
