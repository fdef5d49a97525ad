"""Giving memory freed after a burst of work back to the system, so that an idle daemon's
resident size is what it keeps, not what its busiest moment needed.

CPython hands a pymalloc arena back only when all of it is free, and glibc's malloc keeps
freed heap pages mapped. After the start-up scan (Argon2, decrypted backups, JSON), an
export or a merge, a full collection and ``malloc_trim(0)`` return the free pages. Only on
glibc: other C libraries lack the call (musl gives memory back by itself). Never raises.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import logging
import os
import sys
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

# CPU seconds of the worker since the last release that make the next one worth its ~20 ms:
# a heartbeat or a stat rescan costs about a millisecond; a scan, an export or a merge more.
WORTH_RELEASING = 0.05


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library is not glibc."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):  # glibc answers "glibc 2.36"; others fail
            return None
        trim = ctypes.CDLL(None).malloc_trim
    except (ValueError, OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


def release_freed_memory() -> bool:
    """Collect garbage, then return free heap pages to the system where the C library can.
    True when ``malloc_trim`` ran."""
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    try:
        trim(0)
    except OSError as exc:  # ctypes reports a failed foreign call this way; never fatal
        log.debug("malloc_trim failed: %s", exc)
        return False
    return True


class Releaser:
    """Releases freed memory when a thread goes idle after real work, measured as that
    thread's own CPU time. Create and call it on the thread whose work it follows."""

    def __init__(self, worth: float = WORTH_RELEASING) -> None:
        self._worth = worth
        self._since = time.thread_time()

    def idle(self) -> bool:
        """The thread is about to wait: release if it worked enough since the last time.
        True when it released."""
        worked = time.thread_time() - self._since
        if worked < self._worth:
            return False
        release_freed_memory()
        log.debug("gave freed memory back after %.2f s of work", worked)
        self._since = time.thread_time()
        return True
