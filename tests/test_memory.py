"""Freed memory goes back to the system after a burst of work (daemon/memory.py)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

import pytest

from daemon import memory
from daemon.memory import Releaser, release_freed_memory
from tests.daemon_support import LocalHome, LogWatch, Peer, daemon_settings, wait_for, watching_logs

GLIBC = hasattr(os, "confstr") and bool(os.confstr("CS_GNU_LIBC_VERSION"))


def burn(seconds: float) -> None:
    """Use this thread's CPU (not just wall time) for ``seconds``."""
    start = time.thread_time()
    while time.thread_time() - start < seconds:
        sum(range(1000))


@pytest.mark.skipif(not GLIBC, reason="malloc_trim is glibc's")
def test_on_glibc_the_free_heap_pages_are_trimmed() -> None:
    assert release_freed_memory() is True


def test_without_glibc_it_only_collects_and_never_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_glibc(name: str) -> str:
        raise ValueError(f"unrecognized configuration name {name!r}")  # musl, macOS

    memory._malloc_trim.cache_clear()
    monkeypatch.setattr(os, "confstr", no_glibc)
    try:
        assert release_freed_memory() is False
    finally:
        memory._malloc_trim.cache_clear()


def test_a_thread_releases_only_after_real_work() -> None:
    releaser = Releaser(worth=0.05)
    assert releaser.idle() is False  # nothing done yet: a heartbeat's tick costs nothing
    burn(0.06)
    assert releaser.idle() is True
    assert releaser.idle() is False  # once per burst, not at every wait after it


def test_the_worker_gives_memory_back_after_taking_in_a_backup(
    local_home: Callable[..., LocalHome],
) -> None:
    me = local_home("laptop", extra=daemon_settings())

    def released_after(logs: LogWatch, what: str) -> bool:
        lines = list(logs.messages)
        done = [i for i, line in enumerate(lines) if line.startswith(what)]
        return bool(done) and any("gave freed memory back" in m for m in lines[done[0] :])

    with watching_logs("daemon", logging.DEBUG) as logs:
        me.daemon()
        Peer("phone").drop(me.sync, range(3000))  # decrypt, decode, plan: a burst of work
        wait_for(lambda: released_after(logs, "queued backup from phone"), 15, "the release")
