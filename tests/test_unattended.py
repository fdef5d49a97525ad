"""Left alone for years (issue 10): faults, retries, bursts and lost state never stop the
daemon or fool it. Real filesystems (a small tmpfs, a read-only bind mount), real
subprocesses, real daemons; every wait bounded and on something observable."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.cli import SIGPIPE_EXIT
from daemon.core import backup_format, payload
from daemon.core.backup_format import MasterKeys
from daemon.errors import TruncatedFile
from daemon.exporters.otpauth import uri_list
from daemon.intake import explain_truncation
from daemon.notices import Coalescer, DeviceOffer
from daemon.runner import RETRY_MAX, retry_delay
from tests.conftest import PASSPHRASE, Home, base_env, otpsync_argv
from tests.daemon_support import (
    LocalHome,
    Peer,
    Recorder,
    Spawned,
    code,
    daemon_settings,
    damage,
    minutes_ago,
    seen_outcome,
    status_json,
    stays_false,
    wait_for,
    watching_logs,
)

MakeHome = Callable[..., Home]
MakeLocal = Callable[..., LocalHome]
Spawn = Callable[..., Spawned]


# --- real filesystems: a small tmpfs that can be filled, a folder that can be made read-only ---


@dataclass
class SmallDisk:
    """A tmpfs of a few MiB mounted for one test (root only): full means full, ENOSPC."""

    root: Path

    @property
    def filler(self) -> Path:
        return self.root / "filler"

    def fill(self) -> None:
        """Take every free byte, as a runaway download would."""
        chunk = b"\0" * 65536
        with open(self.filler, "ab", buffering=0) as f:
            while True:
                try:
                    f.write(chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    if len(chunk) == 1:
                        return
                    chunk = chunk[: len(chunk) // 2]
        # unreachable: the loop ends on ENOSPC

    def free(self) -> None:
        self.filler.unlink()


def mount_or_skip(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here (needs root): {done.stderr.strip()}")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    root = tmp_path / "small-disk"
    root.mkdir()
    mount_or_skip("-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(root))
    try:
        yield SmallDisk(root)
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


def codes_in_backup(path: Path) -> set[str]:
    """The issuers of the codes a backup holds (opened with the test passphrase)."""
    _, raw = backup_format.open_sealed(path.read_bytes(), MasterKeys(PASSPHRASE))
    return {a.issuer for a in payload.decode(raw).accounts}


# --- a closed pipe is not an error ------------------------------------------------------------


def with_codes(home: Home, tmp_path: Path, n: int) -> Home:
    """``home`` holding codes 0…n-1 (one ``import`` of an otpauth list: one process, not n)."""
    uris = tmp_path / "codes.txt"
    uris.write_bytes(uri_list(code(i) for i in range(n)))
    home.ok("import", str(uris), "--yes")
    return home


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(
    make_home: MakeHome, tmp_path: Path
) -> None:
    home = with_codes(make_home("laptop"), tmp_path, 3)
    read_end, write_end = os.pipe()
    os.close(read_end)  # whatever otpsync writes meets a closed pipe, deterministically
    try:
        done = subprocess.run(
            [*otpsync_argv(), "list"], stdout=write_end, stderr=subprocess.PIPE, text=True,
            env=base_env(OTPSYNC_HOME=str(home.path), OTPSYNC_PASSPHRASE=home.passphrase),
            timeout=60, check=False,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == SIGPIPE_EXIT


def test_list_piped_into_head_prints_its_first_lines_and_nothing_else(
    make_home: MakeHome, tmp_path: Path
) -> None:
    home = with_codes(make_home("laptop"), tmp_path, 5000)
    script = '"$@" list | head -3; echo "exit ${PIPESTATUS[0]}"'
    done = subprocess.run(
        ["/bin/bash", "-c", script, "bash", *otpsync_argv()], capture_output=True, text=True,
        timeout=60,
        env=base_env(OTPSYNC_HOME=str(home.path), OTPSYNC_PASSPHRASE=home.passphrase),
        check=False,
    )  # fmt: skip
    lines = done.stdout.splitlines()
    assert len(lines) == 4, done.stdout
    assert lines[0].startswith("ID")
    assert lines[-1] == f"exit {SIGPIPE_EXIT}"  # 5000 lines overflow the pipe
    assert done.stderr == ""


# --- the worker never dies ------------------------------------------------------------------------


def test_a_worker_that_cannot_record_an_error_carries_on(local_home: MakeLocal) -> None:
    """status.json unwritable (here: a folder where the file should be, which needs no root):
    reporting a damaged file fails too, and the worker still queues the next backup."""
    me = local_home("laptop", extra=daemon_settings(heartbeat="1s"))
    events = Recorder()
    daemon = me.daemon(events)
    status_file = me.path / "state" / "status.json"
    status_file.unlink()
    status_file.mkdir()
    bad = me.sync / Peer("phone").name(minutes_ago(3))
    bad.write_bytes(damage(Peer("phone").backup([1])))
    events.wait("error", where=lambda e: bad.name in e.message)
    Peer("tablet").drop(me.sync, [2])
    events.wait("pending", where=lambda e: "tablet" in e.message)
    assert daemon._worker is not None
    assert daemon._worker.is_alive()
    errors = [e.message for e in events.of("error")]
    assert any("cannot record the daemon's state" in m for m in errors), errors
    kept = daemon.status().last_error  # in memory, as status.json could not take it
    assert kept is not None
    status_file.rmdir()
    wait_for(status_file.is_file, timeout=10, what="status.json written again")
    assert json.loads(status_file.read_text())["last_error"]["time"] >= kept[0]
    wait_for(lambda: daemon.status().problem is None, timeout=5, what="the problem cleared")


def test_a_full_home_disk_stops_nothing_for_good(
    small_disk: SmallDisk, sync_folder: Path, spawn: Spawn
) -> None:
    """The issue's case: the home's disk fills up under a running daemon. A peer's backup
    cannot be queued (nor the error recorded); once there is room, a code added on the CLI is
    exported and the backup queued, without a restart — and status never claimed a healthy
    daemon while it was not."""
    home = Home(small_disk.root / "home", sync_folder)
    home.write_config("laptop", extra=daemon_settings(on_start=True, retry="0.5s"))
    home.ok("init")
    daemon = spawn(home)
    daemon.wait_running()
    wait_for(lambda: status_json(home)["last_export"], what="the start-up export")

    small_disk.fill()
    peer = Peer("phone")
    peer.drop(sync_folder, [1, 2])
    daemon.wait_output("No space left on device")  # on stderr: the log file is on that disk
    status = home.run("status")
    assert status.stdout.startswith(("otpsync running", "otpsync not responding")), status
    assert status_json(home)["pending"] == 0

    small_disk.free()
    home.ok("add", "--issuer", "AfterTheStorm", "--account", "me", "--secret", "-",
            input=f"{code(3).secret}\n")  # fmt: skip
    wait_for(lambda: status_json(home)["pending"] == 1, timeout=15, what="the peer queued")

    def exported_with_the_new_code() -> bool:
        last = status_json(home)["last_export"]
        return bool(last) and "AfterTheStorm" in codes_in_backup(Path(last["file"]))

    wait_for(exported_with_the_new_code, timeout=15, what="an export holding the new code")
    assert daemon.proc.poll() is None
    final = home.run("status")
    assert (final.returncode, final.stdout.splitlines()[0]) == (
        0, f"otpsync running (pid {daemon.pid})"
    )  # fmt: skip


def test_status_says_not_responding_when_the_heartbeat_stops(
    make_home: MakeHome, spawn: Spawn
) -> None:
    """A stopped process still holds the home's lock, as a hung worker would: `status` must
    not call it running. SIGSTOP freezes it; SIGCONT lets it beat again."""
    home = make_home("laptop", extra=daemon_settings(heartbeat="1s"))
    daemon = spawn(home)
    daemon.wait_running()
    assert home.run("status").stdout.startswith(f"otpsync running (pid {daemon.pid})")
    daemon.signal(signal.SIGSTOP)
    try:
        hung = wait_for(
            lambda: (done := home.run("status")).returncode != 0 and done, timeout=15,
            what="status to notice the stopped heartbeat",
        )  # fmt: skip
        first = hung.stdout.splitlines()[0]
        assert first.startswith("otpsync not responding since "), hung.stdout
        assert f"(pid {daemon.pid})" in first
        as_json = home.run("status", "--json")
        assert as_json.returncode == 1
        info = json.loads(as_json.stdout)
        assert (info["running"], info["responding"]) == (True, False)
        assert first.removeprefix("otpsync not responding since ").startswith(info["heartbeat"])
    finally:
        daemon.signal(signal.SIGCONT)
    wait_for(lambda: home.run("status").returncode == 0, timeout=15, what="the heartbeat back")
    assert status_json(home)["responding"] is True


# --- failed exports are retried -----------------------------------------------------------------


class ReadOnly:
    """``folder`` bind-mounted onto itself, read-only until ``writable()`` (root only)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        mount_or_skip("--bind", str(folder), str(folder))
        self.mounted = True
        done = subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=False)
        if done.returncode != 0:
            self.writable()
            pytest.skip("cannot remount read-only here")

    def writable(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.folder)], check=True)
            self.mounted = False


@pytest.fixture
def read_only_sync(sync_folder: Path) -> Iterator[ReadOnly]:
    ro = ReadOnly(sync_folder)
    try:
        yield ro
    finally:
        ro.writable()


def test_retry_delays_start_at_the_base_and_double_to_ten_minutes() -> None:
    assert [retry_delay(n, 30) for n in range(1, 9)] == [30, 60, 120, 240, 480, 600, 600, 600]
    assert retry_delay(10_000, 30) == RETRY_MAX
    assert retry_delay(1, 900) == 900  # a base above the cap is still honoured


def test_an_export_into_a_read_only_sync_folder_is_retried_until_it_works(
    local_home: MakeLocal, read_only_sync: ReadOnly
) -> None:
    me = local_home("laptop", extra=daemon_settings(on_start=True, retry="0.3s"))
    me.service().add(code(1))
    events = Recorder()
    with watching_logs() as logs:
        daemon = me.daemon(events)
        events.wait("error", where=lambda e: "export failed" in e.message)
        logs.wait_count("export failed (2 in a row)", 1)  # tried again, without a change
    assert len(events.of("error")) == 1  # an ongoing problem is reported once
    info = status_json(me.home)
    failure = info["export_failure"]
    assert "Read-only file system" in failure["message"]
    assert failure["failures"] >= 2
    next_try = datetime.fromisoformat(failure["next_try"])
    assert next_try - datetime.now(UTC) < timedelta(seconds=30)
    lines = me.home.ok("status").stdout.splitlines()
    failed = next(line for line in lines if line.startswith("  failed:      "))
    assert failed.endswith("Read-only file system")
    tried = next(line for line in lines if line.startswith("  next try:    "))
    assert datetime.fromisoformat(tried.split()[-1]) >= datetime.fromisoformat(failure["time"])
    assert daemon.status().export_retry is not None

    read_only_sync.writable()
    done = events.wait("exported", timeout=15)[0]
    assert codes_in_backup(done.data.path) == {code(1).issuer}
    wait_for(lambda: status_json(me.home)["export_failure"] is None, what="the failure cleared")
    assert daemon.status().problem is None
    assert daemon.status().export_retry is None


# --- sweeping our own temp files ------------------------------------------------------------------

OURS = ".~otpsync-0a1b2c3d4e5f.tmp"
LOOK_ALIKES = [
    ".~otpsync-0A1B2C3D4E5F.tmp",  # upper-case hex: not what we write
    ".~otpsync-0a1b2c3d4e5.tmp",  # 11 digits
    ".~otpsync-0a1b2c3d4e5f0.tmp",  # 13
    ".~otpsync-0a1b2c3d4e5g.tmp",  # not hex
    ".~otpsync-0a1b2c3d4e5f.tmp.bak",
    "x.~otpsync-0a1b2c3d4e5f.tmp",
    ".~otpsync-0a1b2c3d4e5f.TMP",
    "~otpsync-0a1b2c3d4e5f.tmp",
    ".syncthing.2026-11-28-10-00-00-phone-4otp-keys-export.4otp.txt.tmp",
    ".~lock.notes.odt#",
]


def backdate(path: Path, minutes: float) -> Path:
    moment = (datetime.now(UTC) - timedelta(minutes=minutes)).timestamp()
    os.utime(path, (moment, moment), follow_symlinks=False)
    return path


def litter(folder: Path, tag: str, outside: Path) -> tuple[list[Path], list[Path]]:
    """(what must go, what must stay) in ``folder``: our old temp file, and next to it our
    fresh one, look-alikes, a folder and a symlink with our name, one owned by another
    user (when we may chown)."""
    folder.mkdir(parents=True, exist_ok=True)
    ours = folder / f".~otpsync-{tag:0>12}.tmp"
    ours.write_bytes(b"half a backup")
    stay = [folder / OURS]
    (folder / OURS).write_bytes(b"being written right now")  # fresh: maybe a live write
    backdate(folder / OURS, 9)
    for name in LOOK_ALIKES:
        (folder / name).write_bytes(b"not ours")
        stay.append(backdate(folder / name, 60))
    folder_like = folder / ".~otpsync-aaaaaaaaaaaa.tmp"
    folder_like.mkdir()
    stay.append(backdate(folder_like, 60))
    target = outside / f"target-{tag}"
    target.write_bytes(b"someone else's")
    link = folder / ".~otpsync-bbbbbbbbbbbb.tmp"
    link.symlink_to(target)
    stay += [backdate(link, 60), target]
    if os.getuid() == 0:
        foreign = folder / ".~otpsync-cccccccccccc.tmp"
        foreign.write_bytes(b"another user's")
        os.chown(foreign, 54321, 54321)
        stay.append(backdate(foreign, 60))
    return [backdate(ours, 11)], stay


def test_our_old_temp_files_are_swept_at_start_and_before_exports(
    local_home: MakeLocal, tmp_path: Path
) -> None:
    me = local_home("laptop", extra=daemon_settings())
    outside = tmp_path / "outside"
    outside.mkdir()
    gone, stay = [], []
    for i, folder in enumerate([me.sync, me.path / "state", me.path / "state" / "inbox",
                                me.path / "data", me.path / "data" / "snapshots"]):  # fmt: skip
        g, s = litter(folder, f"{i}", outside)
        gone += g
        stay += s
    events = Recorder()
    me.daemon(events)
    assert [p for p in gone if p.exists() or p.is_symlink()] == []
    assert [p for p in stay if not (p.exists() or p.is_symlink())] == []

    crash_debris = me.sync / ".~otpsync-dddddddddddd.tmp"
    crash_debris.write_bytes(b"another crash")
    backdate(crash_debris, 20)
    me.service().add(code(1))  # the daemon exports soon after a change: sweeping first
    events.wait("exported")
    assert not crash_debris.exists()
    assert [p for p in stay if not (p.exists() or p.is_symlink())] == []


# --- rebuilding lost state ------------------------------------------------------------------------


def queue_file(home: Home, name: str) -> Path:
    return home.path / "state" / "inbox" / name


def only_copy(home: Home) -> Path:
    (copy,) = queue_file(home, "").glob("*.4otp.txt")
    return copy


LOSSES: dict[str, Callable[[Home], None]] = {
    "index deleted": lambda h: queue_file(h, "index.json").unlink(),
    "index damaged": lambda h: queue_file(h, "index.json").write_bytes(b'[{"id": "\x00\xff'),
    "index of the wrong shape": lambda h: queue_file(h, "index.json").write_text(
        '[{"id": 5, "device": ["phone"]}, "x"]'
    ),
    "copy deleted": lambda h: only_copy(h).unlink(),
    "copy damaged": lambda h: only_copy(h).write_bytes(damage(only_copy(h).read_bytes())),
}


@pytest.mark.parametrize("loss", list(LOSSES))
def test_a_lost_queue_entry_is_queued_again_by_the_next_scan(
    make_home: MakeHome, loss: str
) -> None:
    home = make_home("laptop")
    Peer("phone").drop(home.sync, [1, 2])
    assert home.ok("scan").stdout.endswith("queued 1.\n")
    LOSSES[loss](home)
    rescan = home.run("scan")
    assert rescan.returncode == 0, rescan.stderr
    assert rescan.stdout.endswith("queued 1.\n")
    assert "Traceback" not in rescan.stderr
    (entry,) = json.loads(home.ok("pending", "--json").stdout)
    assert (entry["device"], entry["new"]) == ("phone", 2)
    assert [p.name for p in queue_file(home, "").glob("*.4otp.txt")] == [f"{entry['id']}.4otp.txt"]
    assert home.ok("scan").stdout.endswith("queued 0.\n")  # and only once


@pytest.mark.parametrize(
    "damaged", [b"\x00\x01 not json", b"[1, 2, 3]", b'{"abc": "queued", "def": {"outcome": 7}}']
)
def test_a_damaged_seen_file_is_rebuilt_and_changes_nothing_else(
    make_home: MakeHome, damaged: bytes
) -> None:
    home = make_home("laptop")
    Peer("phone").drop(home.sync, [1, 2])
    Peer("tablet").drop(home.sync, [])  # nothing new: remembered as such
    assert home.ok("scan").stdout.endswith("queued 1.\n")
    seen = home.path / "state" / "seen.json"
    seen.write_bytes(damaged)
    again = home.run("scan")
    assert again.returncode == 0, again.stderr
    assert again.stdout == "Looked at 2 files; queued 0.\n"  # the phone's is queued already
    assert len(json.loads(home.ok("pending", "--json").stdout)) == 1
    outcomes = sorted(v["outcome"] for v in json.loads(seen.read_text()).values())
    assert outcomes == ["nothing-new", "queued"]


def test_the_daemon_queues_a_backup_again_when_its_queue_entry_is_lost(
    local_home: MakeLocal,
) -> None:
    me = local_home("laptop", extra=daemon_settings())
    events = Recorder()
    me.daemon(events)
    Peer("phone").drop(me.sync, [1, 2])
    events.wait("pending")
    (me.path / "state" / "inbox" / "index.json").unlink()
    wait_for(lambda: len(me.service().inbox.entries()) == 1, timeout=10, what="queued again")


# --- recovering a damaged vault -------------------------------------------------------------------


def flip_a_byte(path: Path) -> None:
    """One flipped bit in the body, as a failing disk or a bad sync would leave it."""
    data = bytearray(path.read_bytes())
    i = data.index(b"\n\n") + 40
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


def test_undo_recovers_a_vault_with_one_flipped_byte(make_home: MakeHome, tmp_path: Path) -> None:
    home = with_codes(make_home("laptop"), tmp_path, 3)  # snapshot "import" (0 codes)
    home.ok(
        "add", "--issuer", "Fourth", "--account", "a", "--secret", "-", input=f"{code(4).secret}\n"
    )  # fmt: skip  (snapshot "add": 3 codes)
    snapshots = json.loads(home.ok("snapshots", "--json").stdout)
    assert [(s["reason"], s["codes"], s["problem"]) for s in snapshots] == [
        ("add", 3, None), ("import", 0, None),
    ]  # fmt: skip
    flip_a_byte(home.path / "data" / "vault.4otp.txt")

    refused = home.run("list")
    assert refused.returncode == 1
    assert "`otpsync snapshots`" in refused.stderr
    assert "`otpsync undo`" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1

    listing = home.ok("snapshots").stdout.splitlines()
    assert listing[0].split() == ["TAKEN", "(UTC)", "BEFORE", "CODES"]
    assert [line.split()[2:] for line in listing[1:]] == [["add", "3"], ["import", "0"]]

    undone = home.ok("undo")
    assert undone.stdout.startswith(
        "The vault did not open; restored the newest snapshot that does, from before `add` at "
    )
    assert undone.stdout.endswith(": 3 codes.\n")
    assert len(json.loads(home.ok("list", "--json").stdout)) == 3
    kept = list((home.path / "data" / "snapshots" / "undone").glob("*.4otp.txt"))
    assert len(kept) == 1  # the damaged vault is kept aside, not thrown away


def test_undo_skips_damaged_snapshots_when_the_vault_is_damaged_too(
    make_home: MakeHome, tmp_path: Path
) -> None:
    home = with_codes(make_home("laptop"), tmp_path, 3)
    home.ok("add", "--issuer", "Fourth", "--account", "a", "--secret", "-",
            input=f"{code(4).secret}\n")  # fmt: skip
    snaps = home.path / "data" / "snapshots"
    newest = max(snaps.glob("*-add.4otp.txt"))
    flip_a_byte(newest)
    flip_a_byte(home.path / "data" / "vault.4otp.txt")
    rows = json.loads(home.ok("snapshots", "--json").stdout)
    assert (rows[0]["codes"], rows[0]["reason"]) == (None, "add")
    assert "damaged" in rows[0]["problem"]
    assert "does not open" in home.ok("snapshots").stdout
    undone = home.ok("undo")
    assert "from before `import`" in undone.stdout
    assert undone.stdout.endswith(": 0 codes.\n")
    assert home.ok("list", "--json").stdout == "[]\n"

    flip_a_byte(home.path / "data" / "vault.4otp.txt")  # again: now only the bad one is left
    before = home.digest()
    refused = home.run("undo")
    assert refused.returncode == 1
    assert "the vault does not open, nor does any of its 1 snapshot(s)" in refused.stderr
    assert "`otpsync import FILE`" in refused.stderr
    assert home.digest() == before


# --- one notification per burst -------------------------------------------------------------------


def offer(device: str, entry: str, new: int, updated: int = 0) -> DeviceOffer:
    return DeviceOffer(device, f"id-{device}", entry, new, updated)


def test_a_burst_from_one_device_is_one_notice_naming_its_latest_entry() -> None:
    c = Coalescer(quiet=2, longest=20)
    for i in range(5):
        c.add(offer("phone", f"e{i}", new=i + 1), now=i * 0.4)
    assert c.due(now=2.0) is None  # still coming: 0.4 s ago
    notice = c.due(now=1.6 + 2)
    assert notice is not None
    assert notice.message == "Backup from phone: 5 new codes"
    assert (notice.entry_ids, notice.replaces) == (("e4",), "id-phone")
    assert c.due(now=100) is None  # told once


def test_many_devices_at_once_are_one_summary() -> None:
    c = Coalescer(quiet=2, longest=20)
    c.add(offer("phone", "a", new=3), now=0)
    c.add(offer("tablet", "b", new=4, updated=1), now=0.1)
    c.add(offer("desktop", "c", new=5), now=0.2)
    notice = c.due(now=5)
    assert notice is not None
    assert notice.message == "3 devices: 12 new codes, 1 updated"
    assert (notice.entry_ids, notice.replaces) == (("a", "b", "c"), None)


def test_a_steady_stream_is_still_told_and_handled_entries_are_left_out() -> None:
    c = Coalescer(quiet=2, longest=20)
    for i in range(60):  # one backup a second for a minute: never 2 s quiet
        c.add(offer("phone", f"e{i}", new=1), now=float(i))
        if i == 20:
            notice = c.due(now=float(i))
            assert notice is not None
            assert notice.entry_ids == ("e20",)
    c.add(offer("tablet", "t", new=1), now=60)
    c.add(offer("phone", "e60", new=1), now=60, news=False)  # same offer, newer entry
    c.add(offer("laptop", "x", new=1), now=60, news=False)  # nothing held for it: no news
    notice = c.due(now=70, pending={"t"})  # the phone's was approved meanwhile
    assert notice is not None
    assert notice.message == "Backup from tablet: 1 new code"
    assert c.due(now=100, pending=set()) is None


def notifications(daemon: Spawned) -> list[str]:
    return [
        line
        for line in daemon.output().splitlines()
        if line.startswith("otpsync: Backup from") or " devices: " in line
    ]


def quiet_for(daemon: Spawned, seconds: float) -> list[str]:
    """The notifications printed so far, once none more came for ``seconds``."""
    while True:
        seen = notifications(daemon)
        if stays_false(lambda seen=seen: notifications(daemon) != seen, seconds):
            return seen


def test_340_backups_arriving_at_once_are_told_in_a_few_lines(
    make_home: MakeHome, spawn: Spawn
) -> None:
    """A sync client catching up: 85 backups from each of 4 devices, oldest first, each
    offering one code more than the one before (so each is news on its own)."""
    home = make_home("laptop", extra=daemon_settings(notify_after="1s"))
    daemon = spawn(home)
    daemon.wait_running()
    peers = [Peer(name) for name in ("phone", "tablet", "desktop", "work")]
    start = minutes_ago(600)
    began = time.monotonic()
    for k in range(85):
        for d, peer in enumerate(peers):
            created = start + timedelta(minutes=k)
            peer.drop(home.sync, range(d * 1000, d * 1000 + k + 1), created)

    def all_in() -> bool:
        entries = json.loads(home.ok("pending", "--json").stdout)
        return [e["new"] for e in entries] == [85, 85, 85, 85]

    wait_for(all_in, timeout=180, what="each device's newest backup queued")
    took = time.monotonic() - began  # 3 s on a quiet machine; much more on a busy disk
    told = quiet_for(daemon, 3.0)
    # One line per 10 × notify_after (10 s) while the burst lasts, and the last one.
    assert 1 <= len(told) <= min(10, int(took // 10) + 2), (took, told)
    assert told[-1] in ("otpsync: 4 devices: 340 new codes", "otpsync: 4 devices: 339 new codes")


def test_200_rewrites_of_one_file_are_told_once_or_a_few_times(
    make_home: MakeHome, spawn: Spawn
) -> None:
    """A device rewriting its backup every 400 ms, scaled down ten times (40 ms apart, told
    after 0.3 s of quiet instead of 3 s; settle 0 so that every rewrite is looked at)."""
    home = make_home("laptop", extra=daemon_settings(settle="0s", notify_after="0.3s"))
    daemon = spawn(home)
    daemon.wait_running()
    phone = Peer("phone")
    name = phone.name(minutes_ago(60))
    start = minutes_ago(60)
    with watching_logs():
        for k in range(200):
            data = phone.backup(range(k + 1), start + timedelta(seconds=k))
            temp = home.sync / f".syncthing.{name}.tmp"
            temp.write_bytes(data)
            os.replace(temp, home.sync / name)  # as sync clients do: complete, then renamed
            time.sleep(0.04)  # the pace of the rewrites under test, not synchronisation
    wait_for(lambda: (e := json.loads(home.ok("pending", "--json").stdout)) and e[0]["new"] == 200,
             timeout=30, what="the last rewrite queued")  # fmt: skip
    told = quiet_for(daemon, 1.5)
    assert 1 <= len(told) <= 6, told
    assert told[-1] == "otpsync: Backup from phone: 200 new codes"


def test_a_backup_that_brings_nothing_new_tells_nothing(local_home: MakeLocal) -> None:
    me = local_home("laptop", extra=daemon_settings())
    me.service().add(code(1))
    events = Recorder()
    me.daemon(events)
    known = Peer("phone").drop(me.sync, [1])
    wait_for(lambda: seen_outcome(me.path, known) == "nothing-new", what="the backup looked at")
    assert stays_false(lambda: events.of("notify") or events.of("pending"), 0.5)
    Peer("tablet").drop(me.sync, [1, 2])
    (told,) = events.wait("notify")
    assert told.message == "Backup from tablet: 1 new code"
    (view,) = me.service().pending()
    assert told.data.entry_ids == (view.entry.id,)


# --- messages say what happened -------------------------------------------------------------------


def refusal(home: Home, path: Path) -> str:
    """The one line ``otpsync import`` refuses ``path`` with (nothing changed)."""
    before = home.digest()
    done = home.run("import", str(path), "--yes")
    assert done.returncode == 1, done
    (line,) = done.stderr.splitlines()
    assert line.startswith("otpsync: error: ")
    assert home.digest() == before
    return line


RESAVED = {
    "UTF-8": lambda data: b"\xef\xbb\xbf" + data,  # Notepad's "UTF-8 with BOM"
    "UTF-16": lambda data: data.decode("ascii").encode("utf-16"),  # BOM, 2 bytes a character
}


@pytest.mark.parametrize("encoding", list(RESAVED))
def test_a_byte_order_mark_says_a_text_editor_re_saved_it(
    make_home: MakeHome, tmp_path: Path, encoding: str
) -> None:
    home = make_home("laptop")
    path = tmp_path / "edited.4otp.txt"
    path.write_bytes(RESAVED[encoding](Peer("phone").backup([1])))
    line = refusal(home, path)
    assert f"starts with a {encoding} byte-order mark, so a text editor re-saved it" in line


@pytest.mark.parametrize(
    ("extra", "count"), [(b"sent from my phone\n", "19 bytes"), (b"\n", "1 byte"), (b"x", "1 byte")]
)
def test_bytes_after_the_end_line_are_not_called_truncated(
    make_home: MakeHome, tmp_path: Path, extra: bytes, count: str
) -> None:
    home = make_home("laptop")
    path = tmp_path / "appended.4otp.txt"
    path.write_bytes(Peer("phone").backup([1]) + extra)
    line = refusal(home, path)
    assert f"file is damaged ({count} after its end line: something was appended to it)" in line
    assert "truncated" not in line


def test_a_truncated_file_says_whether_it_may_still_be_arriving(
    make_home: MakeHome, tmp_path: Path
) -> None:
    home = make_home("laptop")
    data = Peer("phone").backup([1])
    path = tmp_path / "partial.4otp.txt"
    path.write_bytes(data[: len(data) // 2])
    assert "it changed 0 s ago, so it may still be arriving" in refusal(home, path)
    backdate(path, 120)
    assert "it has not changed for 2 h, so it was cut short: copy it again" in refusal(home, path)


def test_a_file_bigger_than_what_was_read_is_still_growing(tmp_path: Path) -> None:
    data = Peer("phone").backup([1])
    path = tmp_path / "arriving.4otp.txt"
    path.write_bytes(data[:100])
    try:
        backup_format.read_header(path.read_bytes())
    except TruncatedFile as exc:
        path.write_bytes(data[:200])  # the download went on meanwhile
        explained = explain_truncation(exc, path, read=100)
    assert isinstance(explained, TruncatedFile)
    assert str(explained).endswith(
        "; it is still growing: being written or downloaded; try again once it is complete"
    )
