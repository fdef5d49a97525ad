"""An idle daemon sleeps: changes the CLI makes arrive as file events, not by polling.

The real Daemon in-process on a real home; the CLI runs as the installed ``otpsync``; the
worker's wake-ups are counted by the kernel (its thread's voluntary context switches)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from daemon import runner
from tests.daemon_support import LocalHome, Recorder, code, stays_false, wait_for

MakeLocal = Callable[..., LocalHome]
# The sync folder's own rescan an hour away: what is left is the worker's own timers.
QUIET = """
[export]
on_start = false
debounce = "0.2s"

[watch]
mode = "native"
settle = "0.2s"
rescan = "1h"
"""
GITHUB = f"otpauth://totp/GitHub:alice?secret={code(1).secret}&issuer=GitHub"


def wakeups(thread_id: int) -> int:
    """How often the thread went to sleep and was woken (Linux: /proc)."""
    status = Path(f"/proc/self/task/{thread_id}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("voluntary_ctxt_switches"))
    return int(line.split()[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts through /proc")
def test_an_idle_worker_does_not_wake_every_second(local_home: MakeLocal) -> None:
    me = local_home("laptop", extra=QUIET)
    daemon = me.daemon()
    daemon.submit(lambda: None).result(timeout=10)  # the start-up work is done
    worker = daemon._worker
    assert worker is not None
    assert worker.native_id is not None
    time.sleep(0.5)  # let the start-up scan's settle deadline pass
    before = wakeups(worker.native_id)
    time.sleep(3.5)  # observation, not synchronisation: nothing is meant to happen
    assert wakeups(worker.native_id) - before <= 1


def test_a_cli_change_arrives_at_once_without_the_poll(
    local_home: MakeLocal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the stat fallback an hour away, only a file event can bring the change."""
    monkeypatch.setattr(runner, "LOCAL_CHECK", 3600.0)
    monkeypatch.setattr(runner, "LOCAL_RESCAN", 3600.0)
    me = local_home("laptop", extra=QUIET)
    events = Recorder()
    daemon = me.daemon(events)
    daemon.submit(lambda: None).result(timeout=10)
    assert daemon.status().codes == ()
    me.home.ok("add", GITHUB)
    wait_for(lambda: [c.label for c in daemon.status().codes] == ["GitHub — alice"], 5,
             "the daemon to see the code the CLI added")  # fmt: skip
    events.wait("exported", timeout=10)  # and, as before, it backs the change up


def test_the_safety_rescan_tells_listeners_nothing_when_nothing_changed(
    local_home: MakeLocal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every "status" event makes the tray rebuild its menu when a relative time in it moved
    on ("last backup 3 min ago"): a native rebuild of ~20 ms, which once a minute alone was
    over the idle tray's CPU budget. The rescan of the CLI's files finds nothing new here."""
    monkeypatch.setattr(runner, "LOCAL_RESCAN", 0.2)
    me = local_home("laptop", extra=QUIET)
    events = Recorder()
    daemon = me.daemon(events)
    daemon.submit(lambda: None).result(timeout=10)  # the start-up work is done
    told = len(events.of("status"))
    assert stays_false(lambda: len(events.of("status")) > told, 1.5), events.of("status")
