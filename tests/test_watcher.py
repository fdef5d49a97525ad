"""The watcher's parts on their own: the settle tracker (explicit clock values, no waiting),
the stat-only scan, and the native observer on a real folder."""

from __future__ import annotations

import logging
import os
import queue
import shutil
import threading
import time
from pathlib import Path

import pytest

from daemon.core.backup_format import MAX_FILE_BYTES
from daemon.watcher import NativeWatch, SettleTracker, acceptable, scan
from tests.daemon_support import CONFLICT_NAMES, SAMPLE_NAME, TEMP_NAMES, wait_for


def grow(path: Path, data: bytes = b"more\n") -> None:
    with open(path, "ab") as f:
        f.write(data)


def age(path: Path, seconds: float) -> None:
    """Make ``path`` look ``seconds`` old (as a file that arrived a while ago does)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.fixture
def file(tmp_path: Path) -> Path:
    path = tmp_path / SAMPLE_NAME
    path.write_bytes(b"otpsync-backup v1\n")
    return path


# --- SettleTracker ----------------------------------------------------------------------------


def test_a_file_is_handed_on_once_after_holding_still(file: Path) -> None:
    t = SettleTracker(settle=2.0, retries=3)
    t.notice(file, 100.0)
    assert t.next_deadline() == 102.0
    assert t.due(101.9) == []
    assert t.due(102.0) == [(file, False)]
    assert t.due(200.0) == []
    assert t.waiting() == 0
    assert t.next_deadline() is None


def test_a_change_noticed_by_an_event_restarts_the_wait(file: Path) -> None:
    t = SettleTracker(settle=2.0, retries=3)
    t.notice(file, 100.0)
    grow(file)
    t.notice(file, 101.0)
    assert t.due(102.5) == []
    assert t.due(103.0) == [(file, False)]


def test_a_change_without_an_event_is_caught_when_due(file: Path) -> None:
    t = SettleTracker(settle=2.0, retries=3)
    t.notice(file, 100.0)
    grow(file)  # no event (a network folder): the check at the deadline sees it
    assert t.due(102.0) == []
    assert t.due(103.9) == []
    assert t.due(104.0) == [(file, False)]


def test_retries_count_up_to_the_last_attempt(file: Path) -> None:
    t = SettleTracker(settle=1.0, retries=2)
    t.notice(file, 0.0)
    assert t.due(1.0) == [(file, False)]
    t.retry(file, 1.0)
    assert t.due(1.5) == []
    assert t.due(2.0) == [(file, False)]
    t.retry(file, 2.0)
    assert t.due(3.0) == [(file, True)]  # the service reports it now, if it still fails


def test_a_file_that_keeps_growing_is_not_on_its_last_attempt(file: Path) -> None:
    """Each failed read of a file that then changes is progress, not a strike: a slow
    download must never be called damaged half-way (only an unchanging failure is)."""
    t = SettleTracker(settle=1.0, retries=1)
    now = 0.0
    t.notice(file, now)
    for _ in range(5):
        now += 1.0
        assert t.due(now) == [(file, False)]
        t.retry(file, now)
        grow(file)
        t.notice(file, now)
    now += 1.0
    assert t.due(now) == [(file, False)]
    t.retry(file, now)  # unchanged since: this one counts
    assert t.due(now + 1.0) == [(file, True)]


def test_a_change_between_hand_on_and_retry_resets_the_count(file: Path) -> None:
    t = SettleTracker(settle=1.0, retries=1)
    t.notice(file, 0.0)
    assert t.due(1.0) == [(file, False)]
    grow(file)  # more arrived while the service was reading the old content
    t.retry(file, 1.0)
    assert t.due(2.0) == [(file, False)]


def test_a_rescan_does_not_hand_on_an_unchanged_file_again(file: Path) -> None:
    t = SettleTracker(settle=2.0, retries=3)
    t.notice(file, 100.0)
    assert t.due(102.0) == [(file, False)]
    t.notice(file, 160.0, mtime_trusted=True)
    t.notice(file, 220.0)
    assert t.waiting() == 0
    assert t.due(300.0) == []


def test_a_rescan_hands_on_a_file_that_changed_since(file: Path) -> None:
    t = SettleTracker(settle=2.0, retries=3)
    t.notice(file, 100.0)
    assert t.due(102.0) == [(file, False)]
    grow(file)
    age(file, 3600)
    t.notice(file, 160.0, mtime_trusted=True)
    assert t.due(160.0) == [(file, False)]


def test_rescan_trusts_an_old_mtime_but_not_a_fresh_one(tmp_path: Path, file: Path) -> None:
    old = tmp_path / SAMPLE_NAME.replace("phone", "tablet")
    old.write_bytes(b"x")
    age(old, 3600)
    t = SettleTracker(settle=2.0, retries=3)
    t.notice(old, 50.0, mtime_trusted=True)
    t.notice(file, 50.0, mtime_trusted=True)  # written just now: may still be arriving
    assert t.due(50.0) == [(old, False)]
    assert t.due(52.0) == [(file, False)]


def test_gone_missing_or_too_large_files_are_dropped(tmp_path: Path, file: Path) -> None:
    t = SettleTracker(settle=1.0, retries=3)
    t.notice(file, 0.0)
    file.unlink()
    assert t.due(5.0) == []
    assert t.waiting() == 0
    t.notice(tmp_path / "never-there-4otp-keys-export.4otp.txt", 0.0)
    big = tmp_path / SAMPLE_NAME.replace("phone", "huge")
    with open(big, "wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: costs no disk
    t.notice(big, 0.0)
    assert t.waiting() == 0
    assert t.next_deadline() is None


# --- scan and acceptable ----------------------------------------------------------------------


def test_scan_finds_backups_and_conflict_copies_only(tmp_path: Path) -> None:
    folder = tmp_path / "sync"
    folder.mkdir()
    wanted = [SAMPLE_NAME, *CONFLICT_NAMES]
    for name in [*wanted, *TEMP_NAMES, "notes.txt", "photo.jpg"]:
        (folder / name).write_bytes(b"x")
    (folder / f"dir-{SAMPLE_NAME}").mkdir()
    assert sorted(p.name for p in scan(folder, recursive=False)) == sorted(wanted)


def test_scan_recurses_only_when_asked_and_skips_sync_client_folders(tmp_path: Path) -> None:
    folder = tmp_path / "sync"
    for sub in ("phone", ".tmp.drivedownload", ".dropbox.cache", ".stversions", ".hidden"):
        (folder / sub).mkdir(parents=True)
        (folder / sub / SAMPLE_NAME).write_bytes(b"x")
    assert list(scan(folder, recursive=False)) == []
    assert list(scan(folder, recursive=True)) == [folder / "phone" / SAMPLE_NAME]


def test_symlinks_count_only_inside_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "sync"
    folder.mkdir()
    outside = tmp_path / "secret.txt"
    outside.write_text("not yours")
    inside = folder / "real.bin"
    inside.write_text("x")
    (folder / SAMPLE_NAME).symlink_to(outside)
    ok = folder / SAMPLE_NAME.replace("phone", "tablet")
    ok.symlink_to(inside)
    assert not acceptable(folder / SAMPLE_NAME, folder)
    assert acceptable(ok, folder)
    assert list(scan(folder, recursive=False)) == [ok]


def test_a_missing_folder_scans_as_empty(tmp_path: Path) -> None:
    assert list(scan(tmp_path / "gone", recursive=True)) == []


# --- the native observer ----------------------------------------------------------------------


def test_native_watch_notices_writes_and_renames_but_not_temp_files(tmp_path: Path) -> None:
    folder = tmp_path / "sync"
    folder.mkdir()
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"x")
    noticed: queue.Queue[Path] = queue.Queue()
    watch = NativeWatch(folder, recursive=False, notice=noticed.put)
    watch.start()
    try:
        for name in TEMP_NAMES:
            (folder / name).write_bytes(b"x")
        written = folder / SAMPLE_NAME
        written.write_bytes(b"x")
        assert noticed.get(timeout=5) == written
        moved_in = folder / CONFLICT_NAMES[0]
        outside.rename(moved_in)  # from outside the folder
        renamed = folder / CONFLICT_NAMES[1]
        (folder / TEMP_NAMES[0]).rename(renamed)  # temp-then-rename, Syncthing style
        got = set()
        while got != {written, moved_in, renamed}:
            got.add(noticed.get(timeout=5))
        assert not any(p.name in TEMP_NAMES for p in got)
    finally:
        watch.stop()
    assert not watch.observer.is_alive()


def test_native_watch_knows_when_its_folder_was_removed(tmp_path: Path) -> None:
    folder = tmp_path / "sync"
    folder.mkdir()
    watch = NativeWatch(folder, recursive=False, notice=lambda _p: None)
    watch.start()
    try:
        assert watch.alive()
        shutil.rmtree(folder)
        folder.mkdir()  # the same name again: a new inode, unwatched
        wait_for(lambda: not watch.alive(), timeout=5, what="the emitter to end")
    finally:
        watch.stop()
    assert not watch.alive()


def test_stopping_the_native_watch_logs_no_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A clean stop is silent: watchdog's own "queue_events() called when the thread is
    inactive" race at stop must not reach the log as an ERROR (people learn to ignore those)."""

    def write(stopped: threading.Event) -> None:  # events in flight while it stops
        while not stopped.is_set():
            (tmp_path / "poke").write_bytes(b"x")

    caplog.set_level(logging.DEBUG)
    for _ in range(100):
        watch = NativeWatch(tmp_path, recursive=False, notice=lambda _path: None)
        watch.start()
        stopped = threading.Event()
        writer = threading.Thread(target=write, args=(stopped,))
        writer.start()
        watch.stop()
        stopped.set()
        writer.join()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
