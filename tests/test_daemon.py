"""The daemon in-process: the real ``Daemon`` on a real home, a real watchdog observer on a
real sync folder, real crypto. Other devices are played by backups sealed with the same
passphrase (``Peer``); every wait is bounded and on something observable."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED

from daemon.core.filenames import NAME_RE
from daemon.errors import PassphraseUnavailable
from daemon.inbox import PendingEntry
from daemon.paths import Paths
from daemon.runner import LOCKED_PROBLEM, Daemon, merged_message
from daemon.service import Approved, PendingView, Service
from daemon.state import read_json
from tests.daemon_support import (
    CONFLICT_NAMES,
    TEMP_NAMES,
    LocalHome,
    LogWatch,
    Peer,
    Recorder,
    code,
    daemon_settings,
    damage,
    minutes_ago,
    named_like,
    seen_outcome,
    stays_false,
    wait_for,
    watching_logs,
)

MakeLocal = Callable[..., LocalHome]
PENDING_KEYS = {"id", "device", "device_id", "created", "file", "total", "new", "updated",
                "entries", "removed"}  # fmt: skip


@pytest.fixture
def me(local_home: MakeLocal) -> LocalHome:
    return local_home("laptop", extra=daemon_settings())


def pending(home: LocalHome) -> list[PendingView]:
    """The queue as ``otpsync pending`` sees it (a Service of its own: not the daemon's)."""
    return home.service().pending()


def offered(view: PendingView) -> list[tuple[str, str, str]]:
    return sorted((e["issuer"], e["account"], e["change"]) for e in view.to_json()["entries"])


def new_codes(*numbers: int) -> list[tuple[str, str, str]]:
    return sorted((code(n).issuer, code(n).account, "new") for n in numbers)


def worker_cpu_seconds(daemon: Daemon) -> float:
    """CPU time the daemon's worker thread has used (Linux: /proc/self/task/TID/stat)."""
    tid = daemon._worker.native_id  # type: ignore[union-attr]
    fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- arriving backups -------------------------------------------------------------------------


def write_slowly(path: Path, data: bytes, logs: LogWatch, chunks: int = 8) -> None:
    """Write ``data`` in ``chunks`` pieces, each time waiting until the daemon has looked at
    the partial file (its log line names it), as a slow download would be seen."""
    size = -(-len(data) // chunks)
    with open(path, "wb") as f:
        for i in range(chunks):
            f.write(data[i * size : (i + 1) * size])
            f.flush()
            if i < chunks - 1:
                logs.wait_count(path.name, i + 1, timeout=5)


def arrive(how: str, data: bytes, folder: Path, name: str, logs: LogWatch) -> Path:
    """Put a backup into the sync folder the way ``how`` says; returns its final path."""
    final = folder / name
    outside = folder.parent / f"download-{name}"
    if how == "written":
        final.write_bytes(data)
    elif how == "copied":
        outside.write_bytes(data)
        shutil.copy(outside, final)
    elif how == "moved-in":
        outside.write_bytes(data)
        os.rename(outside, final)
    elif how == "temp-then-rename":
        temp = folder / f".syncthing.{name}.tmp"
        temp.write_bytes(data)
        temp.rename(final)
    elif how == "slow":
        failed: list[BaseException] = []

        def write() -> None:
            try:
                write_slowly(final, data, logs)
            except BaseException as exc:  # reported on the test's thread, below
                failed.append(exc)

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(timeout=30)
        assert not writer.is_alive()
        assert failed == []
    else:
        raise AssertionError(how)
    return final


@pytest.mark.parametrize(
    ("how", "conflict"),
    [
        ("written", None),
        ("copied", None),
        ("moved-in", None),
        ("temp-then-rename", None),
        ("slow", None),
        ("written", 0),  # Dropbox: "….4otp (laptop's conflicted copy 2026-11-28).txt"
        ("moved-in", 1),  # Syncthing: "….4otp.sync-conflict-20261128-101500-ABCDEFG.txt"
        ("written", 5),  # rclone bisync: "….4otp.txt.conflict1"
    ],
)
def test_a_backup_from_another_device_becomes_one_pending_entry(
    me: LocalHome, how: str, conflict: int | None
) -> None:
    events = Recorder()
    me.daemon(events)
    phone = Peer("phone")
    created = minutes_ago(1)
    name = phone.name(created)
    if conflict is not None:
        name = named_like(CONFLICT_NAMES[conflict], created, "phone")
    with watching_logs() as logs:
        path = arrive(how, phone.backup([1, 2], created), me.sync, name, logs)
        (event,) = events.wait("pending")
    assert event.message == "Backup from phone: 2 new codes"
    (view,) = pending(me)
    doc = view.to_json()
    assert set(doc) == PENDING_KEYS
    assert doc["device"] == "phone"
    assert doc["device_id"] == phone.device_id
    assert doc["file"] == str(path)
    assert doc["created"] == created.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (doc["total"], doc["new"], doc["updated"]) == (2, 2, 0)
    assert offered(view) == new_codes(1, 2)
    assert events.of("error") == []
    if how == "slow":
        assert logs.count("does not open yet") >= 7  # it did look at every partial version


def test_a_truncated_file_that_is_completed_later_is_queued_not_damaged(me: LocalHome) -> None:
    events = Recorder()
    me.daemon(events)
    data = Peer("phone").backup([1])
    path = me.sync / Peer("phone").name(minutes_ago(1))
    with watching_logs() as logs:
        path.write_bytes(data[: len(data) // 2])
        logs.wait_count(f"{path.name} does not open yet", 2)  # looked at it, twice even
        with open(path, "ab") as f:
            f.write(data[len(data) // 2 :])
        events.wait("pending")
    assert events.of("error") == []


# --- what is never queued ---------------------------------------------------------------------


def test_sync_client_temp_files_never_become_pending(local_home: MakeLocal) -> None:
    me = local_home("laptop", extra=daemon_settings(recursive=True))
    events = Recorder()
    me.daemon(events)
    when = minutes_ago(1)
    for i, template in enumerate(TEMP_NAMES):
        peer = Peer(f"temp{i}")
        (me.sync / named_like(template, when, f"temp{i}")).write_bytes(peer.backup([i]))
    for i, folder in enumerate((".tmp.drivedownload", ".dropbox.cache", ".stversions")):
        peer = Peer(f"staged{i}")
        (me.sync / folder).mkdir()
        (me.sync / folder / peer.name(when)).write_bytes(peer.backup([10 + i]))
    sentinel = Peer("sentinel").drop(me.sync, [99], when)  # queued: so the others were seen
    events.wait("pending")
    assert [v.entry.device for v in pending(me)] == ["sentinel"]
    assert [o.path for o in me.service().scan_once() if o.kind != "seen"] == []
    assert [o.path for o in me.service().scan_once()] == [sentinel]


def test_own_exports_never_come_back_as_pending(local_home: MakeLocal) -> None:
    me = local_home("laptop", extra=daemon_settings(on_start=True))
    svc = me.service()
    svc.add(code(1))
    events = Recorder()
    me.daemon(events)
    (exported,) = events.wait("exported")
    path = exported.data.path
    wait_for(lambda: seen_outcome(me.path, path) == "own", what="the daemon to look at it")
    assert pending(me) == []
    assert events.of("pending") == []


def test_a_damaged_file_is_reported_once(local_home: MakeLocal) -> None:
    """Polling mode: only rescans find files here, so each later backup being queued proves
    another rescan went by without a second report."""
    me = local_home("laptop", extra=daemon_settings(mode="polling"))
    events = Recorder()
    me.daemon(events)
    bad = me.sync / Peer("phone").name(minutes_ago(5))
    bad.write_bytes(damage(Peer("phone").backup([1])))
    (error,) = events.wait("error")
    assert bad.name in error.message
    assert "damaged" in error.message
    for i, device in enumerate(("tablet", "desktop", "server")):
        if i == 1:
            os.utime(bad)  # touched: a new stamp, but the same (already reported) content
        Peer(device).drop(me.sync, [10 + i])
        events.wait("pending", count=i + 1)
    assert len(events.of("error")) == 1
    assert seen_outcome(me.path, bad) == "damaged"
    assert pending(me)
    assert all(v.entry.device != "phone" for v in pending(me))


def test_a_damaged_file_is_not_reported_again_after_a_restart(local_home: MakeLocal) -> None:
    me = local_home("laptop", extra=daemon_settings())
    first = Recorder()
    d = me.daemon(first)
    bad = me.sync / Peer("phone").name(minutes_ago(5))
    bad.write_bytes(damage(Peer("phone").backup([1])))
    first.wait("error")
    d.stop()
    again = Recorder()
    me.daemon(again)  # its startup scan finds the file again
    Peer("tablet").drop(me.sync, [2])
    again.wait("pending")
    assert again.of("error") == []


def test_a_backup_sealed_with_another_passphrase_is_reported_not_queued(me: LocalHome) -> None:
    events = Recorder()
    me.daemon(events)
    stranger = Peer("stranger", passphrase="someone else's passphrase")
    path = stranger.drop(me.sync, [1])
    (error,) = events.wait("error")
    assert "another passphrase" in error.message
    assert path.name in error.message
    Peer("phone").drop(me.sync, [2])
    events.wait("pending")
    assert [v.entry.device for v in pending(me)] == ["phone"]
    assert len(events.of("error")) == 1
    assert seen_outcome(me.path, path) == "wrong-passphrase"


def test_500_files_at_once(me: LocalHome) -> None:
    """Mostly junk (named like backups or not), a few damaged files, and 15 backups from 3
    devices: the daemon stays up, queues one entry per device (its newest backup) and
    reports each damaged file once."""
    events = Recorder()
    daemon = me.daemon(events)
    devices = [Peer(name) for name in ("phone", "tablet", "desktop")]
    newest: dict[str, Path] = {}
    files: list[tuple[str, bytes]] = []
    for d, peer in enumerate(devices):
        for k in range(5):
            created = minutes_ago(60 - 10 * k)
            files.append((peer.name(created), peer.backup(range(100 * d, 100 * d + k + 1),
                                                           created)))  # fmt: skip
            newest[peer.device] = me.sync / peer.name(created)
    for j in range(5):
        files.append((f"2026-01-0{j + 1}-00-00-00-broken-4otp-keys-export.4otp.txt",
                      damage(Peer("broken").backup([500 + j]))))  # fmt: skip
    for j in range(300):
        body = os.urandom(64) if j % 3 else f"notes {j}\n".encode()
        files.append((f"2026-02-01-00-00-00-junk{j}-4otp-keys-export.4otp.txt", body))
    for j in range(500 - len(files)):
        files.append((f"IMG_{j:04d}.jpg", os.urandom(256)))
    assert len(files) == 500
    for name, data in files:
        (me.sync / name).write_bytes(data)
    candidates = sum("4otp-keys-export" in name for name, _ in files)
    seen_file = me.path / "state" / "seen.json"
    wait_for(lambda: len(read_json(seen_file, {})) >= candidates, timeout=60,
             what="every candidate looked at")  # fmt: skip
    views = wait_for(lambda: len(p := pending(me)) == 3 and p, what="3 pending entries")
    assert {v.entry.device: Path(v.entry.file) for v in views} == newest
    assert {v.entry.device: v.plan.counts()["new"] for v in views} == {
        "phone": 5, "tablet": 5, "desktop": 5}  # fmt: skip
    errors = events.wait("error", count=5)
    assert len(events.of("error")) == 5
    assert all("broken" in e.message for e in errors)
    Peer("late").drop(me.sync, [900])  # still up and watching
    events.wait("pending", where=lambda e: e.data.entry.device == "late")
    assert daemon.status().problem is None


# --- the queue: restart, approve, reject, replace ---------------------------------------------


def test_a_pending_entry_survives_a_restart_and_approves_without_the_original(
    me: LocalHome,
) -> None:
    events = Recorder()
    first = me.daemon(events)
    path = Peer("phone").drop(me.sync, [1, 2])
    events.wait("pending")
    first.stop()
    path.unlink()  # the sync client removed it meanwhile: the inbox kept a copy

    events = Recorder()
    daemon = me.daemon(events)
    (view,) = wait_for(lambda: daemon.status().pending, what="the queue after restart")
    assert view.entry.device == "phone"
    done = daemon.approve(view.entry.id).result(timeout=10)
    assert sorted(a.issuer for a in done.added) == ["Service1", "Service2"]
    assert done.exported is not None
    assert done.exported.path.exists()
    (merged,) = events.wait("merged")
    assert merged.message == (f"Merged 2 new codes from phone: {code(1).label}, {code(2).label}")
    assert sorted(a.issuer for a in me.service().vault().accounts) == ["Service1", "Service2"]
    assert daemon.status().pending == ()
    assert pending(me) == []


def test_rejected_codes_are_not_offered_again_by_that_device(me: LocalHome) -> None:
    events = Recorder()
    daemon = me.daemon(events)
    phone = Peer("phone")
    phone.drop(me.sync, [1, 2], minutes_ago(30))
    (first,) = events.wait("pending")
    daemon.reject(first.data.entry.id).result(timeout=10)
    assert pending(me) == []

    same_again = phone.drop(me.sync, [1, 2], minutes_ago(20))
    wait_for(lambda: seen_outcome(me.path, same_again), what="the repeat looked at")
    assert seen_outcome(me.path, same_again) == "nothing-new"
    assert len(events.of("pending")) == 1

    phone.drop(me.sync, [1, 2, 3], minutes_ago(10))
    (_, later) = events.wait("pending", count=2)
    assert later.message == "Backup from phone: 1 new code"
    (view,) = pending(me)
    assert offered(view) == new_codes(3)

    Peer("tablet").drop(me.sync, [1])  # rejected from the phone, not from the tablet
    events.wait("pending", where=lambda e: e.data.entry.device == "tablet")
    by_device = {v.entry.device: offered(v) for v in pending(me)}
    assert by_device == {"phone": new_codes(3), "tablet": new_codes(1)}


def test_one_pending_entry_per_device_the_newest_backup_wins(me: LocalHome) -> None:
    events = Recorder()
    me.daemon(events)
    phone = Peer("phone")
    phone.drop(me.sync, [1], minutes_ago(30))
    events.wait("pending")
    newer = phone.drop(me.sync, [1, 2], minutes_ago(20))
    events.wait("pending", count=2)
    (view,) = pending(me)
    assert view.entry.file == str(newer)
    assert offered(view) == new_codes(1, 2)

    older = phone.drop(me.sync, [1, 7], minutes_ago(40))  # a stale copy turning up late
    wait_for(lambda: seen_outcome(me.path, older), what="the stale copy looked at")
    assert seen_outcome(me.path, older) == "superseded"
    (view,) = pending(me)
    assert view.entry.file == str(newer)

    same_offer = phone.drop(me.sync, [1, 2], minutes_ago(10))  # newer, nothing more for us
    wait_for(lambda: seen_outcome(me.path, same_offer), what="the newest looked at")
    assert seen_outcome(me.path, same_offer) == "queued"
    (view,) = pending(me)
    assert view.entry.file == str(same_offer)
    assert len(events.of("pending")) == 2  # replaced quietly: the person was told already
    assert len(list((me.path / "state" / "inbox").glob("*.4otp.txt"))) == 1


def test_two_backups_from_one_second_the_one_offering_more_wins(me: LocalHome) -> None:
    """A device can write two backups within one second (an export, then another after a
    change): header times tie, yet the second one's new code must still be offered."""
    events = Recorder()
    me.daemon(events)
    phone = Peer("phone")
    when = minutes_ago(5)
    phone.drop(me.sync, [1], when)
    events.wait("pending")
    phone.drop(me.sync, [1, 2], when, name=phone.name(when, attempt=2))
    events.wait("pending", count=2)
    (view,) = pending(me)
    assert offered(view) == new_codes(1, 2)

    third = phone.drop(me.sync, [1], when, name=phone.name(when, attempt=3))  # offers less
    wait_for(lambda: seen_outcome(me.path, third), what="the third looked at")
    (view,) = pending(me)
    assert offered(view) == new_codes(1, 2)


def test_an_approved_entry_leaves_the_status_with_its_codes_in_it(me: LocalHome) -> None:
    """Every status a listener hears after an approve that also exports: no moment where
    the entry is gone but its codes are not yet there (the tray would show neither)."""
    events = Recorder()
    daemon = me.daemon(events)
    Peer("phone").drop(me.sync, [1])
    (offer,) = events.wait("pending")
    seen: list[tuple[int, tuple[str, ...]]] = []
    daemon.add_listener(lambda e: seen.append(
        (len(daemon.status().pending), tuple(c.issuer for c in daemon.status().codes))
    ) if e.kind == "status" else None)  # fmt: skip
    result = daemon.approve(offer.data.entry.id).result(timeout=30)
    assert result.exported is not None
    assert seen
    assert all(codes == ("Service1",) for n, codes in seen if n == 0), seen


def test_cli_approve_while_the_daemon_runs_shows_within_2_seconds(me: LocalHome) -> None:
    events = Recorder()
    daemon = me.daemon(events)
    Peer("phone").drop(me.sync, [1])
    events.wait("pending")
    wait_for(lambda: daemon.status().pending, what="the pending entry in status")
    done = me.home.ok("approve", "--all")
    assert "Merged from phone: 1 new code" in done.stdout
    start = time.monotonic()
    wait_for(lambda: not daemon.status().pending, timeout=2.5, what="status to catch up")
    wait_for(lambda: [c.issuer for c in daemon.status().codes] == ["Service1"], timeout=2.5)
    assert time.monotonic() - start < 2.5
    assert events.of("error") == []


# --- exports and retention --------------------------------------------------------------------


def own_backup(svc: Service, path: Path, created: datetime) -> Path:
    """A backup of this home's vault written as its own device writes them, dated
    ``created``: into the folder, and into the ledger of files this device wrote."""
    vault = svc.vault()
    data = svc.store.seal(vault.for_backup(), kind="backup", device="laptop", created=created)
    path.write_bytes(data)
    svc.ledger.record(path.name, hashlib.sha256(data).hexdigest())
    return path


def test_retention_prunes_only_this_devices_own_backups(local_home: MakeLocal) -> None:
    me = local_home("laptop", extra=daemon_settings(keep=2))
    svc = me.service()
    svc.add(code(1))
    own = []
    for k in range(4):
        created = minutes_ago(50 - 10 * k)
        own.append(own_backup(svc, me.sync / Peer("laptop").name(created), created))
    phone = Peer("phone")
    others = [phone.drop(me.sync, [5], minutes_ago(100 + k)) for k in range(3)]
    lookalike = me.sync / Peer("laptop").name(minutes_ago(200))
    lookalike.write_text("my notes, named like a backup\n")
    untouched = {p: p.read_bytes() for p in [*others, lookalike]}

    daemon = me.daemon()
    done = daemon.export_now().result(timeout=10)
    assert sorted(done.pruned) == sorted(own[:3])
    assert done.path.exists()
    assert own[3].exists()
    assert all(p.read_bytes() == data for p, data in untouched.items())


def test_retention_keeps_the_newest_of_backups_from_one_second(local_home: MakeLocal) -> None:
    """Same header time: the collision suffix (-2, -3) orders them, not the raw name."""
    me = local_home("laptop", extra=daemon_settings(keep=2))
    svc = me.service()
    when = minutes_ago(10)
    names = [Peer("laptop").name(when, attempt) for attempt in (1, 2, 3)]
    for name in names:
        own_backup(svc, me.sync / name, when)
    done = svc.export()
    assert sorted(p.name for p in done.pruned) == sorted(names[:2])
    assert (me.sync / names[2]).exists()
    assert done.path.exists()


def test_an_unchanged_vault_is_not_exported_again(local_home: MakeLocal) -> None:
    """By content, not by mtime: a restart, a touched vault file, or a change that stays
    out of backups (a rejection) writes no new backup."""
    me = local_home("laptop", extra=daemon_settings(on_start=True))
    events = Recorder()
    daemon = me.daemon(events)
    events.wait("exported")
    daemon.stop()
    vault_file = me.path / "data" / "vault.4otp.txt"
    os.utime(vault_file)
    events = Recorder()
    daemon = me.daemon(events)
    daemon.submit(lambda: None).result(timeout=10)  # the queue is in order: on_start ran
    Peer("phone").drop(me.sync, [1])
    (offer,) = events.wait("pending")
    before = vault_file.stat().st_mtime_ns
    daemon.reject(offer.data.entry.id).result(timeout=10)
    assert vault_file.stat().st_mtime_ns != before  # the vault file did change
    # the daemon's next look for local changes (1 s) plus the debounce (0.2 s) go by
    assert stays_false(lambda: events.of("exported"), 1.5)
    assert len([p for p in me.sync.iterdir() if "laptop" in p.name]) == 1


def test_a_cron_schedule_sets_the_next_export(local_home: MakeLocal) -> None:
    me = local_home("laptop", extra=daemon_settings(cron="0 */6 * * *"))
    daemon = me.daemon()
    nxt = daemon.status().next_export
    assert nxt is not None
    local = nxt.astimezone()
    assert (local.minute, local.second, local.hour % 6) == (0, 0, 0)
    assert timedelta(0) < nxt - datetime.now(nxt.tzinfo) <= timedelta(hours=6)


def test_after_a_suspend_missed_exports_catch_up_once(me: LocalHome) -> None:
    """Waking after 30 h asleep with exports every 6 h: one export, not five, none dropped
    as "missed". Suspend is simulated by the scheduler's clock being behind: the job's next
    run is moved 30 h into the past, as it is when the machine wakes."""
    me.service().add(code(1))  # changed since the last export (there is none)
    events = Recorder()
    daemon = me.daemon(events)
    ran: list[str] = []
    daemon._scheduler.add_listener(
        lambda e: ran.append("missed" if e.code == EVENT_JOB_MISSED else "ran"),
        EVENT_JOB_EXECUTED | EVENT_JOB_MISSED,
    )
    daemon._scheduler.modify_job("export", next_run_time=datetime.now(UTC) - timedelta(hours=30))
    (exported,) = events.wait("exported")
    assert stays_false(lambda: len(events.of("exported")) > 1 or len(ran) > 1, 1.5)
    assert ran == ["ran"]
    assert [p.name for p in me.sync.iterdir()] == [exported.data.path.name]
    job = daemon._scheduler.get_job("export")
    assert job.next_run_time > datetime.now(UTC)  # back on schedule, in the future


def test_a_vault_change_by_the_cli_is_exported_soon_after(me: LocalHome) -> None:
    events = Recorder()
    me.daemon(events)
    me.home.ok("add", f"otpauth://totp/GitHub:alice?secret={code(1).secret}&issuer=GitHub")
    (exported,) = events.wait("exported", timeout=5)
    assert exported.data.codes == 1
    assert NAME_RE.match(exported.data.path.name)


# --- modes, pause, status ---------------------------------------------------------------------


def test_polling_mode_finds_a_new_file(local_home: MakeLocal) -> None:
    me = local_home("laptop", extra=daemon_settings(mode="polling"))
    events = Recorder()
    daemon = me.daemon(events)
    assert daemon.status().watch_mode == "polling"
    Peer("phone").drop(me.sync, [1])
    (event,) = events.wait("pending", timeout=5)
    assert event.message == "Backup from phone: 1 new code"


def test_pause_stops_watching_and_exports_and_resume_catches_up(me: LocalHome) -> None:
    events = Recorder()
    daemon = me.daemon(events)
    daemon.set_paused(True)
    events.wait("status", where=lambda e: e.message == "paused")
    assert daemon.status().paused
    assert daemon.status().next_export is None
    Peer("phone").drop(me.sync, [1])
    me.service().add(code(2))  # a change that would be exported after the debounce
    # settle 0.2 s, rescan 1 s, local check 1 s, debounce 0.2 s: all long past by then
    assert stays_false(lambda: events.of("pending") or events.of("exported"), 1.6)

    daemon.set_paused(False)
    events.wait("pending", timeout=5)
    (exported,) = events.wait("exported", timeout=5)
    assert exported.data.codes == 1
    assert not daemon.status().paused
    assert daemon.status().next_export is not None


def test_a_missing_sync_folder_is_reported_once_and_picked_up_again(me: LocalHome) -> None:
    events = Recorder()
    daemon = me.daemon(events)
    shutil.rmtree(me.sync)  # a drive unmounted, a sync client re-creating its folder…
    (error,) = events.wait("error", timeout=5)
    assert error.message == f"sync folder {me.sync} is missing"
    me.service().add(code(1))  # its export must wait for the folder, not fail again and again
    assert stays_false(lambda: len(events.of("error")) > 1 or events.of("exported"), 1.5)

    me.sync.mkdir()
    (exported,) = events.wait("exported", timeout=5)  # caught up once the folder is back
    assert exported.data.path.parent == me.sync
    assert daemon.status().problem is None
    assert daemon._watch is not None
    assert daemon._watch.alive()  # native events again, not only the rescans
    Peer("phone").drop(me.sync, [2])
    events.wait("pending")
    assert len(events.of("error")) == 1


def test_a_paused_daemon_sits_idle(me: LocalHome) -> None:
    daemon = me.daemon()
    daemon.set_paused(True)
    wait_for(lambda: daemon.status().paused)
    before = worker_cpu_seconds(daemon)
    started = time.monotonic()
    # past the 1 s rescan deadline, which a paused worker must not spin on
    assert stays_false(lambda: worker_cpu_seconds(daemon) - before > 0.3, 2.5)
    assert time.monotonic() - started >= 2.5


def test_status_in_process(local_home: MakeLocal) -> None:
    me = local_home("laptop", extra=daemon_settings(on_start=True))
    events = Recorder()
    daemon = me.daemon(events)
    (exported,) = events.wait("exported")
    status = daemon.status()
    assert (status.device, status.sync_folder, status.watch_mode) == ("laptop", me.sync, "native")
    assert status.last_export is not None
    assert status.last_export.file == str(exported.data.path)
    assert status.next_export is not None
    assert status.next_export - status.next_export.now(status.next_export.tzinfo) > timedelta(
        hours=5
    )
    assert status.problem is None
    assert status.last_error is None


def test_a_daemon_waiting_for_the_passphrase_starts_when_it_comes(
    local_home: MakeLocal, tmp_path: Path
) -> None:
    """The tray at login, before the password manager is unlocked: it runs, shows the
    problem, does nothing with the folder, and starts backups once the passphrase comes."""
    me = local_home("laptop", extra=daemon_settings(on_start=True))
    me.service().add(code(1))
    later = tmp_path / "unlocked-later"
    locked = Service(Paths.resolve(me.path), passphrase_file=later, interactive=False)

    with pytest.raises(PassphraseUnavailable):  # headless: fail at once, as before
        Daemon(locked).start()

    events = Recorder()
    daemon = Daemon(locked)
    daemon.add_listener(events)
    daemon.start(wait_for_passphrase=True)
    try:
        status = daemon.status()
        assert (status.locked, status.problem) == (True, LOCKED_PROBLEM)
        on_disk = read_json(me.path / "state" / "status.json", {})
        assert on_disk["pid"] == os.getpid()
        assert "does not exist" in on_disk["last_error"]["message"]
        Peer("phone").drop(me.sync, [2])
        daemon.unlock()  # still nothing to unlock with: it stays waiting, quietly
        assert stays_false(lambda: len(list(me.sync.iterdir())) != 1 or events.of("error"), 1.0)

        later.write_text(me.home.passphrase + "\n")
        later.chmod(0o600)
        daemon.unlock()
        events.wait("exported")  # the start-up export, now that the vault opens
        events.wait("pending")  # and the start-up scan found the phone's backup
        status = daemon.status()
        assert (status.locked, status.problem) == (False, None)
        assert [c.issuer for c in status.codes] == [code(1).issuer]
        assert read_json(me.path / "state" / "status.json", {})["last_error"] is None
    finally:
        daemon.stop()
    assert not (me.path / "state" / "daemon.pid").exists()


def test_a_daemon_stops_cleanly_while_waiting_for_the_passphrase(
    local_home: MakeLocal, tmp_path: Path
) -> None:
    me = local_home("laptop", extra=daemon_settings())
    locked = Service(Paths.resolve(me.path), passphrase_file=tmp_path / "nope", interactive=False)
    daemon = Daemon(locked)
    daemon.set_paused(True)  # a click on Pause before the passphrase came: no crash
    daemon.start(wait_for_passphrase=True)
    wait_for(lambda: daemon.status().paused, 5, "the pause")
    daemon.stop()
    assert not (me.path / "state" / "daemon.pid").exists()


def test_the_merged_message_names_a_few_codes_and_counts_the_rest() -> None:
    entry = PendingEntry("e1", "phone", "d1", "2026-11-28T10:00:00Z", "f", "c", "h", "q")
    five = tuple(code(n) for n in range(1, 6))
    many = merged_message(Approved(entry, five, (code(9),), None, None))
    assert many == (
        f"Merged 5 new codes from phone (1 updated): {code(1).label}, {code(2).label},"
        f" {code(3).label}, 2 more"
    )
    assert all(c.secret not in many for c in five)
    assert merged_message(Approved(entry, (), (code(9),), None, None)) == (
        "Merged 0 new codes from phone (1 updated)"
    )
