"""``otpsync run --headless`` as a person runs it: real subprocesses on real homes sharing one
real sync folder. Every daemon started here is killed at the end of its test (``spawn``)."""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daemon.core import backup_format, payload
from daemon.core.backup_format import MasterKeys
from daemon.core.filenames import NAME_RE
from daemon.state import read_json
from tests.conftest import PASSPHRASE, Home
from tests.daemon_support import (
    Peer,
    Spawned,
    code,
    daemon_settings,
    damage,
    minutes_ago,
    seen_outcome,
    status_json,
    wait_for,
)

MakeHome = Callable[..., Home]
Spawn = Callable[..., Spawned]
GITHUB_URI = f"otpauth://totp/GitHub:alice?secret={code(1).secret}&issuer=GitHub"
STATUS_KEYS = {"running", "responding", "pid", "heartbeat", "state_disk_full", "device",
               "sync_folder", "last_export", "next_export", "export_failure", "pending",
               "watch_mode", "last_error", "warnings", "not_written_here",
               "identity_clash", "devices",
               "other_passphrase"}  # fmt: skip


def last_export(home: Home) -> str | None:
    doc = read_json(home.path / "state" / "last_export.json", None)
    return doc["file"] if doc else None


def pending_json(home: Home) -> list[dict[str, Any]]:
    return json.loads(home.ok("pending", "--json").stdout)


def test_two_devices_keep_each_other_up_to_date(make_home: MakeHome, spawn: Spawn) -> None:
    """The issue's "Done when", as a new user would try it."""
    a = make_home("laptop", extra=daemon_settings(on_start=True))
    b = make_home("desktop", extra=daemon_settings(on_start=True))
    da, db = spawn(a), spawn(b)
    da.wait_running()
    db.wait_running()
    wait_for(lambda: last_export(a) and last_export(b), what="both start-up exports")
    first_a = last_export(a)

    a.ok("add", GITHUB_URI)
    new_a = wait_for(lambda: last_export(a) != first_a and last_export(a), timeout=5,
                     what="A's backup after the add")  # fmt: skip
    assert Path(new_a).parent == a.sync
    assert NAME_RE.match(Path(new_a).name)
    db.wait_output("otpsync: Backup from laptop: 1 new code", timeout=5)
    (entry,) = pending_json(b)
    assert set(entry) == {"id", "device", "device_id", "created", "file", "total", "new",
                          "updated", "entries", "removed"}  # fmt: skip
    assert entry["removed"] == []
    assert (entry["device"], entry["file"]) == ("laptop", new_a)
    assert (entry["total"], entry["new"], entry["updated"]) == (1, 1, 0)
    assert entry["entries"] == [{"issuer": "GitHub", "account": "alice", "change": "new"}]
    datetime.strptime(entry["created"], "%Y-%m-%dT%H:%M:%SZ")
    assert "secret" not in json.dumps(entry).lower()

    done = b.ok("approve", "--all")
    assert "Merged from laptop: 1 new code" in done.stdout
    assert "+ GitHub — alice" in done.stdout
    assert [r["issuer"] for r in json.loads(b.ok("list", "--json").stdout)] == ["GitHub"]
    b_export = Path(last_export(b) or "")
    assert "desktop" in b_export.name
    wait_for(lambda: seen_outcome(a.path, b_export), timeout=5, what="A looking at B's export")
    assert seen_outcome(a.path, b_export) == "nothing-new"
    assert pending_json(a) == []
    assert pending_json(b) == []

    assert da.stop() == 0
    assert db.stop() == 0
    for out in (da.output(), db.output()):
        assert "error" not in out.lower()
    logs = [h.path / "state" / "otpsync.log" for h in (a, b)]
    for text in [da.output(), db.output(), *(log.read_text() for log in logs)]:
        assert PASSPHRASE not in text
        assert code(1).secret not in text


def test_one_daemon_per_home_and_a_stale_lock_does_not_block(
    make_home: MakeHome, spawn: Spawn
) -> None:
    home = make_home("laptop", extra=daemon_settings())
    first = spawn(home)
    first.wait_running()
    second = home.run("run", "--headless")
    assert second.returncode == 1
    assert f"already running (pid {first.pid})" in second.stderr

    first.signal(signal.SIGKILL)  # no clean-up at all: the pid file stays behind
    first.proc.wait(10)
    assert (home.path / "state" / "daemon.pid").exists()
    assert status_json(home)["running"] is False
    third = spawn(home)
    third.wait_running()
    status = status_json(home)
    assert (status["running"], status["pid"]) == (True, third.pid)
    assert third.stop() == 0


def test_status_json_while_running_and_after_stop(make_home: MakeHome, spawn: Spawn) -> None:
    home = make_home("laptop", extra=daemon_settings(on_start=True))
    idle = status_json(home)
    assert set(idle) == STATUS_KEYS
    assert idle == {"running": False, "responding": False, "pid": None, "heartbeat": None,
                    "state_disk_full": False, "device": "laptop", "sync_folder": str(home.sync),
                    "last_export": None, "next_export": None, "export_failure": None,
                    "pending": 0, "watch_mode": "native", "last_error": None,
                    "warnings": [], "not_written_here": [], "identity_clash": [],
                    "devices": [], "other_passphrase": []}  # fmt: skip

    daemon = spawn(home)
    daemon.wait_running()
    running = wait_for(lambda: (s := status_json(home))["last_export"] and s, what="an export")
    assert set(running) == STATUS_KEYS
    assert (running["running"], running["responding"], running["pid"]) == (True, True, daemon.pid)
    assert datetime.fromisoformat(running["heartbeat"]) <= datetime.now(UTC)
    assert set(running["last_export"]) == {"time", "file"}
    assert Path(running["last_export"]["file"]).exists()
    assert datetime.fromisoformat(running["next_export"]) > datetime.now(UTC)
    assert (running["pending"], running["last_error"]) == (0, None)

    bad = home.sync / Peer("phone").name(minutes_ago(3))
    bad.write_bytes(damage(Peer("phone").backup([1])))
    Peer("tablet").drop(home.sync, [2])
    status = wait_for(lambda: (s := status_json(home))["pending"] and s["last_error"] and s,
                      what="a pending entry and an error")  # fmt: skip
    assert set(status["last_error"]) == {"time", "message"}
    seen = [(d["name"], d["codes"], d["stale"]) for d in status["devices"]]
    assert seen == [("tablet", 1, False)]
    assert bad.name in status["last_error"]["message"]

    assert daemon.stop() == 0
    stopped = status_json(home)
    assert (stopped["running"], stopped["pid"], stopped["next_export"]) == (False, None, None)
    assert stopped["last_export"] == running["last_export"]
    assert stopped["pending"] == 1
    assert stopped["last_error"] == status["last_error"]
    assert "otpsync not running" in home.ok("status").stdout


def test_sigterm_during_an_export_leaves_no_partial_file(
    make_home: MakeHome, spawn: Spawn, tmp_path: Path
) -> None:
    """A 5,000-code vault takes a while to seal and write; SIGTERM lands in the start-up
    export. The daemon finishes that job (or never starts it): never half a file."""
    home = make_home("laptop", extra=daemon_settings(on_start=True))
    big = tmp_path / "big-backup.4otp.txt"
    big.write_bytes(Peer("phone").backup(range(5000)))
    home.ok("import", str(big), "--yes")

    daemon = spawn(home)
    daemon.wait_running()  # the export was queued before this line was printed
    signalled = datetime.now()  # local time, as the log's
    daemon.signal(signal.SIGTERM)
    assert daemon.proc.wait(30) == 0
    log = (home.path / "state" / "otpsync.log").read_text()
    exported = datetime.strptime(
        re.search(r"^(\S+ \S+) INFO daemon.service: exported 5000", log, re.M).group(1),  # type: ignore[union-attr]
        "%Y-%m-%d %H:%M:%S,%f",
    )
    assert signalled < exported, "the signal came after the export: this proved nothing"
    assert log.index("exported 5000") < log.index("stopped")

    keys = MasterKeys(PASSPHRASE)
    backups = [p for p in home.sync.iterdir() if NAME_RE.match(p.name)]
    for path in backups:
        header, raw = backup_format.open_sealed(path.read_bytes(), keys)
        assert len(payload.decode(raw, expect_device_id=header.device_id).accounts) == 5000
    assert len(backups) == 1  # the job in hand was finished, not dropped
    assert [p.name for p in home.sync.iterdir() if p.name.startswith(".~otpsync-")] == []


def test_pending_approve_and_reject_from_the_cli_without_a_daemon(make_home: MakeHome) -> None:
    """``otpsync scan`` does the daemon's watching once; the queue commands work on it."""
    home = make_home("laptop")
    phone = Peer("phone")
    phone.drop(home.sync, [1, 2], minutes_ago(20))
    assert "queued 1" in home.ok("scan").stdout
    done = home.ok("reject", "--all")
    assert "Rejected the backup from phone; its 2 codes will not be offered again" in done.stdout
    phone.drop(home.sync, [1, 2, 3], minutes_ago(10))
    home.ok("scan")
    (entry,) = pending_json(home)
    assert entry["entries"] == [{"issuer": "Service3", "account": "user3@example.com",
                                 "change": "new"}]  # fmt: skip
    done = home.ok("approve", entry["id"])
    assert "+ Service3 — user3@example.com" in done.stdout
    assert pending_json(home) == []
    assert "No pending imports." in home.ok("approve", "--all").stderr


def test_run_without_a_usable_display_says_why_and_carries_on_headless(
    make_home: MakeHome, spawn: Spawn
) -> None:
    """``otpsync run`` (the tray) where no tray can show: one line says why, and the backups
    go on: the daemon runs headless, exports and stops cleanly on SIGTERM."""
    home = make_home("laptop", extra=daemon_settings(on_start=True))
    home.ok("add", GITHUB_URI)
    no_display = spawn(home, "run", env={"DISPLAY": None, "WAYLAND_DISPLAY": None})
    out = no_display.wait_output("otpsync: running for laptop")
    assert "no graphical session (DISPLAY is not set); running headless" in out
    wait_for(lambda: last_export(home) is not None, 15, "the start-up export")
    assert no_display.stop() == 0

    # A DISPLAY nobody serves: with the tray extra installed GTK cannot start there; without
    # it, the line says what to install. Either way it names the problem and carries on.
    gone = spawn(home, "run", env={"DISPLAY": ":31999", "WAYLAND_DISPLAY": None})
    out = gone.wait_output("otpsync: running for laptop")
    assert re.search(
        r"cannot open the graphical display ':31999'|no usable system-tray backend", out
    ), out
    assert "Traceback" not in out
    assert gone.stop() == 0


def test_headless_says_each_error_once(make_home: MakeHome, spawn: Spawn) -> None:
    """An error is logged (stderr shows it as ``otpsync: ERROR: …``); the notification
    printer must not repeat it on a second line."""
    home = make_home("laptop", extra=daemon_settings())
    daemon = spawn(home)
    daemon.wait_running()
    bad = home.sync / Peer("phone").name(minutes_ago(1))
    bad.write_bytes(damage(Peer("phone").backup([1])))
    daemon.wait_output("checksum mismatch")
    daemon.stop()
    lines = [line for line in daemon.output().splitlines() if "checksum mismatch" in line]
    assert len(lines) == 1, lines
    assert lines[0].startswith("otpsync: ERROR: ")
