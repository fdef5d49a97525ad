"""Issue 9: the sync folder is not trusted. Whoever can write into it (a sync client, another
device, someone with the cloud account's password) must not be able to make otpsync hang,
overspend, leak or lie. Real folders, real FIFOs and symlinks, a real daemon (in-process and
as the installed ``otpsync``)."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.core import backup_format, payload
from daemon.core.accounts import Account, Rejection
from daemon.core.backup_format import KdfParams, MasterKeys
from daemon.core.payload import VaultData
from daemon.exporters import aegis
from tests.conftest import FAST_KDF, PASSPHRASE, Home
from tests.daemon_support import (
    LocalHome,
    Peer,
    Recorder,
    code,
    daemon_settings,
    damage,
    minutes_ago,
    wait_for,
    watching_logs,
)

MakeLocal = Callable[..., LocalHome]
MakeHome = Callable[..., Home]


@pytest.fixture
def me(local_home: MakeLocal) -> LocalHome:
    return local_home("laptop", extra=daemon_settings())


class _OnLog(logging.Handler):
    """Runs ``action`` once, on the logging thread itself, at the first record containing
    ``text``: a way to act at an exact point of the worker's work, without sleeping."""

    def __init__(self, text: str, action: Callable[[], None]) -> None:
        super().__init__(logging.DEBUG)
        self.text, self.action, self.done = text, action, False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.done and self.text in record.getMessage():
            self.done = True
            self.action()


@contextmanager
def on_log(text: str, action: Callable[[], None]) -> Iterator[_OnLog]:
    logger = logging.getLogger("daemon")
    handler = _OnLog(text, action)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _release_fifo(path: Path) -> None:
    """If a reader is stuck opening the FIFO (the bug), give it a writer and an EOF."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return
    os.close(fd)


# --- nothing in the folder can hang a reader ---------------------------------------------------


def test_a_fifo_swapped_in_after_the_settle_check_does_not_stall_the_worker(
    me: LocalHome,
) -> None:
    events = Recorder()
    daemon = me.daemon(events)
    release = threading.Event()
    busy = daemon.submit(lambda: release.wait(20))  # the worker is busy while both settle
    first = Peer("phone").drop(me.sync, [1], minutes_ago(3))
    second = Peer("tablet").drop(me.sync, [2], minutes_ago(2))
    wait_for(lambda: daemon._tracker.waiting() == 2, what="both files noticed")
    settled = time.monotonic() + me.service().config.watch.settle
    wait_for(lambda: time.monotonic() > settled, what="the settle time to pass")

    def swap() -> None:  # between the settle check of `second` and its read
        second.unlink()
        os.mkfifo(second)

    try:
        with watching_logs() as logs, on_log("queued backup from phone", swap) as hook:
            release.set()
            busy.result(timeout=20)
            events.wait("pending", where=lambda e: "phone" in e.message)
            assert hook.done
            later = Peer("watch").drop(me.sync, [3], minutes_ago(1))
            events.wait("pending", where=lambda e: "watch" in e.message)
            logs.wait_count(f"{second}: is a FIFO, not a file", 1)
    finally:
        _release_fifo(second)
    assert sorted(v.entry.device for v in daemon.status().pending) == ["phone", "watch"]
    assert first.exists()
    assert later.exists()


def _plant(folder: Path) -> tuple[Path, Path]:
    """A FIFO and a symlink to /dev/zero, both named like backups. The FIFO sorts first
    (newest name), so a reader that would block on it does so before /dev/zero."""
    zero = folder / Peer("tablet").name(minutes_ago(10))
    zero.symlink_to("/dev/zero")
    fifo = folder / Peer("phone").name(minutes_ago(5))
    os.mkfifo(fifo)
    return fifo, zero


def _run_planted(
    home: Home, command: str
) -> tuple[Path, Path, subprocess.CompletedProcess[str], float]:
    """``otpsync COMMAND`` with a FIFO and a link to /dev/zero planted in the folder: the two
    paths, what it did, and how long it took (the FIFO is released whatever happens)."""
    fifo, zero = _plant(home.sync)
    try:
        started = time.monotonic()
        done = home.run(command)
        return fifo, zero, done, time.monotonic() - started
    finally:
        _release_fifo(fifo)


def test_scan_names_a_planted_fifo_and_link_to_dev_zero_and_finishes(
    make_home: MakeHome,
) -> None:
    home = make_home("laptop")
    fifo, zero, done, elapsed = _run_planted(home, "scan")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Looked at 2 files; queued 0.\n"
    assert sorted(done.stderr.splitlines()) == sorted([
        f"otpsync: warning: {fifo}: is a FIFO, not a file",
        f"otpsync: warning: {zero}: is a symbolic link out of the sync folder; not reading it",
    ])  # fmt: skip
    assert elapsed < 20


def test_init_with_a_planted_fifo_and_link_to_dev_zero_finishes(make_home: MakeHome) -> None:
    home = make_home("laptop", init=False)
    fifo, zero, done, elapsed = _run_planted(home, "init")
    assert done.returncode == 0, done.stderr
    assert sorted(done.stderr.splitlines()) == sorted([
        f"otpsync: warning: ignored {fifo}: is a FIFO, not a file",
        f"otpsync: warning: ignored {zero}: is a symbolic link out of the sync folder;"
        " not reading it",
    ])  # fmt: skip
    assert (home.path / "data" / "vault.4otp.txt").exists()
    assert elapsed < 20


# --- secrets stay put ---------------------------------------------------------------------------


def test_a_watch_source_password_command_does_not_inherit_the_passphrase(
    make_home: MakeHome, tmp_path: Path
) -> None:
    seen = tmp_path / "env.json"
    script = tmp_path / "aegis-password.py"
    script.write_text(
        f"import json, os; open({str(seen)!r}, 'w').write(json.dumps(dict(os.environ)));"
        " print('app password')"
    )
    source = (
        "[[watch.sources]]\n"
        'name = "aegis"\n'
        'pattern = "aegis-backup-*.json"\n'
        'format = "aegis"\n'
        f'password_command = "{sys.executable} {script}"\n'
    )
    home = make_home("laptop", extra=daemon_settings() + "\n" + source)
    account = Account.create(secret="JBSWY3DPEHPK3PXP", issuer="GitHub", account="mason")
    (home.sync / "aegis-backup-20261128-100000.json").write_bytes(
        aegis.encrypted([account], "app password")
    )
    done = home.ok("scan")  # with OTPSYNC_PASSPHRASE set, as scripts and tests set it
    assert done.stdout == "Looked at 1 file; queued 1.\n"
    env = json.loads(seen.read_text())
    assert "OTPSYNC_PASSPHRASE" not in env
    assert not [k for k, v in env.items() if PASSPHRASE in v]


def test_the_log_file_stays_private_across_rotations(
    me: LocalHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    from daemon.cli import run

    monkeypatch.setattr(run, "LOG_BYTES", 2000)
    old_umask = os.umask(0o022)  # the usual one: new files would be 0644
    root = logging.getLogger()
    old_level = root.level
    handler = run._log_to_file(me.service(), verbose=False)
    try:
        for i in range(40):
            logging.getLogger("daemon.test").info("line %d %s", i, "x" * 200)
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(old_level)
        os.umask(old_umask)
    logs = sorted((me.path / "state").glob("otpsync.log*"))
    assert [p.name for p in logs] == ["otpsync.log", *(f"otpsync.log.{n}" for n in (1, 2, 3))]
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in logs} == dict.fromkeys(
        (p.name for p in logs), 0o600
    )


# --- text from outside is data ----------------------------------------------------------------

# An OSC sequence (sets the terminal's title), a screen clear, a CR that hides what precedes
# it, and a right-to-left override that makes "gnp.exe" read as "exe.png".
EVIL_ISSUER = "\x1b]0;pwned\x07Git\x1b[2JHub"
EVIL_ACCOUNT = "alice\rroot \u202egnp.exe"
RAW = ("\x1b", "\x07", "\r", "\u202e")
UTF8 = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def sealed(
    peer: Peer,
    accounts: tuple[Account, ...],
    moment: datetime,
    kdf: KdfParams = FAST_KDF,
    rejected: tuple[Rejection, ...] = (),
) -> bytes:
    """A genuine backup of ``peer`` holding ``accounts``, sealed with ``kdf``."""
    vault = VaultData(peer.device_id, peer.device, moment, accounts, rejected=rejected)
    return backup_format.seal(
        payload.encode(vault), kind="backup", device_id=peer.device_id, device=peer.device,
        created=moment, keys=MasterKeys(PASSPHRASE), kdf_salt=peer.salt, kdf=kdf,
    )  # fmt: skip


def evil_backup(peer: Peer, n: int) -> bytes:
    """A genuine backup of ``peer`` whose code's labels hold terminal controls."""
    account = Account.create(
        secret=f"JBSWY3DPEHPK3PX{'PQRS'[n]}", issuer=EVIL_ISSUER, account=f"{EVIL_ACCOUNT}{n}"
    )
    return sealed(peer, (account,), minutes_ago(5 - n))


def assert_escaped(done: object) -> None:
    out = done.stdout + done.stderr  # type: ignore[attr-defined]
    for raw in RAW:
        assert raw not in out, (raw, out)


def test_labels_with_escape_sequences_are_shown_escaped(
    make_home: MakeHome, tmp_path: Path
) -> None:
    home = make_home("laptop")
    phone = Peer("phone")
    backup = tmp_path / phone.name(minutes_ago(5))
    backup.write_bytes(evil_backup(phone, 0))

    done = home.ok("import", str(backup), "--yes", env=UTF8)
    assert_escaped(done)
    assert "+ \\x1b]0;pwned\\x07Git\\x1b[2JHub — alice\\rroot \\u202egnp.exe0" in done.stdout
    done = home.ok("list", env=UTF8)
    assert_escaped(done)
    assert "\\x1b]0;pwned\\x07Git\\x1b[2JHub  alice\\rroot \\u202egnp.exe0" in done.stdout
    done = home.ok("code", env=UTF8)
    assert_escaped(done)
    assert "\\x1b]0;pwned\\x07Git\\x1b[2JHub — alice\\rroot \\u202egnp.exe0" in done.stdout

    Peer("tablet").drop(home.sync, [])  # something to look at besides
    (home.sync / Peer("tablet").name(minutes_ago(2))).write_bytes(evil_backup(Peer("tablet"), 1))
    assert_escaped(home.ok("scan", env=UTF8))
    done = home.ok("pending", env=UTF8)
    assert_escaped(done)
    assert "+ \\x1b]0;pwned\\x07Git\\x1b[2JHub — alice\\rroot \\u202egnp.exe1" in done.stdout
    done = home.ok("approve", "--all", env=UTF8)
    assert_escaped(done)
    # stored as they came: only their display is escaped
    [first, second] = json.loads(home.ok("list", "--json").stdout)
    assert (first["issuer"], second["account"]) == (EVIL_ISSUER, EVIL_ACCOUNT + "1")


# A conflict-copy name (so it is a candidate) with a newline that would forge a log line and
# a byte that is not UTF-8 (Latin-1 "é"), as a Windows or old Linux machine may write it.
EVIL_NAME = (
    "2026-11-28-10-00-00-phone-4otp-keys-export.4otp"
    " (caf\udce9\n2026-11-28 10:00:00,000 ERROR daemon: forged).txt"
)
SHOWN_NAME = (
    "2026-11-28-10-00-00-phone-4otp-keys-export.4otp"
    " (caf\\xe9\\n2026-11-28 10:00:00,000 ERROR daemon: forged).txt"
)


def test_a_newline_and_invalid_utf8_in_file_names_work_everywhere(
    make_home: MakeHome, tmp_path: Path
) -> None:
    home = make_home("laptop")
    good = home.sync / EVIL_NAME
    good.write_bytes(Peer("phone").backup([1, 2]))
    bad = home.sync / EVIL_NAME.replace("phone", "tablet")
    bad.write_bytes(damage(Peer("tablet").backup([3])))

    done = home.ok("scan", env=UTF8)
    assert done.stdout == "Looked at 2 files; queued 1.\n"
    [line] = done.stderr.splitlines()  # one line for one damaged file
    assert line.startswith(f"otpsync: warning: {home.sync}/{SHOWN_NAME.replace('phone', 'tablet')}")

    done = home.ok("pending", "--json", env=UTF8)
    [entry] = json.loads(done.stdout)  # valid UTF-8 JSON
    assert entry["file"] == str(good).replace("\udce9", "\\xe9")

    done = home.ok("import", str(good), "--dry-run", env=UTF8)
    assert done.stdout.splitlines()[0] == (
        f"{home.sync}/{SHOWN_NAME} holds 2 codes: 2 new, 0 already here, 0 updated"
    )
    done = home.run("import", str(bad), env=UTF8)
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith(f"otpsync: error: {home.sync}/{SHOWN_NAME.replace('phone', 'tablet')}")


def test_the_daemon_log_has_one_line_per_event_whatever_a_file_name_holds(
    make_home: MakeHome, spawn: Callable[..., object]
) -> None:
    home = make_home("laptop", extra=daemon_settings())
    daemon = spawn(home)
    daemon.wait_running()  # type: ignore[attr-defined]
    (home.sync / EVIL_NAME).write_bytes(damage(Peer("tablet").backup([3])))
    daemon.wait_output("damaged")  # type: ignore[attr-defined]
    assert daemon.stop() == 0  # type: ignore[attr-defined]
    log_lines = (home.path / "state" / "otpsync.log").read_bytes().decode("utf-8").splitlines()
    record = re.compile(r"\A\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [a-z._]+: ")
    assert [line for line in log_lines if not record.match(line)] == []  # no forged line
    assert not [line for line in log_lines if line.startswith("2026-11-28 10:00:00,000")]
    [error] = [line for line in log_lines if line.split(" ")[2] == "ERROR"]
    assert f"{SHOWN_NAME}: file is damaged" in error
    for raw in RAW:
        assert raw not in daemon.output()  # type: ignore[attr-defined]


# --- the KDF floor ------------------------------------------------------------------------------


def test_weakly_protected_backups_are_read_with_one_warning_per_device(
    make_home: MakeHome,
) -> None:
    home = make_home("laptop")
    phone, weak = Peer("phone"), KdfParams(memory_kib=1024, iterations=1, lanes=1)
    accounts = [Account.create(secret=s, issuer="GitHub", account="a")
                for s in ("JBSWY3DPEHPK3PXP", "GEZDGNBVGY3TQOJQ")]  # fmt: skip
    first = home.sync / phone.name(minutes_ago(3))
    first.write_bytes(sealed(phone, (accounts[0],), minutes_ago(3), weak))
    done = home.ok("scan")
    assert done.stdout == "Looked at 1 file; queued 1.\n"  # still read: it is genuine
    assert done.stderr == (
        "otpsync: warning: phone writes weakly protected backups: raise [kdf] there\n"
    )
    (home.sync / phone.name(minutes_ago(2))).write_bytes(
        sealed(phone, tuple(accounts), minutes_ago(2), weak)
    )
    done = home.ok("scan")
    assert done.stdout == "Looked at 2 files; queued 1.\n"
    assert done.stderr == ""  # once per device, not once per file
    done = home.ok("import", str(first), "--dry-run")  # a file named by hand: said each time
    assert "warning: phone writes weakly protected backups: raise [kdf] there" in done.stderr
    status = home.ok("status").stdout
    assert "  warning:     phone writes weakly protected backups: raise [kdf] there\n" in status
    assert json.loads(home.ok("status", "--json").stdout)["warnings"] == [
        "phone writes weakly protected backups: raise [kdf] there"
    ]
    # Raised there: the warning goes.
    (home.sync / phone.name(minutes_ago(1))).write_bytes(
        sealed(phone, tuple(accounts), minutes_ago(1))
    )
    home.ok("scan")
    assert "warning" not in home.ok("status").stdout


# --- the spec's corners, through the intake -------------------------------------------------


def test_a_backup_from_before_the_year_1000_is_ordered_as_a_time(me: LocalHome) -> None:
    """Header times compare as times: an unpadded "999-…" sorted after "2026-…" as text, so
    a device with a broken clock (or a writer of such files) could pin its queue entry."""
    phone, svc = Peer("phone"), me.service()
    ancient = datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = me.sync / "ancient-4otp-keys-export.4otp.txt"
    first.write_bytes(phone.backup([1], ancient))
    assert svc.consider(first).kind == "queued"
    [view] = svc.pending()
    assert view.entry.created == "0999-01-02T03:04:05Z"
    later = phone.drop(me.sync, [1, 2], minutes_ago(1))
    outcome = svc.consider(later)
    assert outcome.kind == "queued", outcome
    [view] = svc.pending()
    assert view.entry.file == str(later)


def test_a_backups_rejections_are_read_but_never_adopted(local_home: MakeLocal) -> None:
    me = local_home("laptop")
    phone = Peer("phone")
    theirs = Rejection(str(uuid.uuid4()), "ab" * 32, "Their — choice", minutes_ago(9))
    backup = me.sync / phone.name(minutes_ago(5))
    backup.write_bytes(sealed(phone, (code(1),), minutes_ago(5), rejected=(theirs,)))
    svc = me.service()
    preview = svc.preview_import(backup)
    assert preview.plan.counts()["new"] == 1
    after = svc.apply_import(preview)
    assert [a.label for a in after.accounts] == [code(1).label]
    assert after.rejected == ()  # the phone's decisions stay the phone's
