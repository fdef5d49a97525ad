"""The sync folder, watched: native events plus a stat-only rescan, or polling only.

Nothing here reads a file's content. The watcher finds candidate names, waits until a file
has kept its size and mtime for ``settle`` seconds, and hands it on; the service decides what
the file is. Events and rescans only ever *notice* paths, so a burst of 500 files costs 500
stats, and a missed event is caught by the next rescan.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from daemon.core.backup_format import MAX_FILE_BYTES
from daemon.core.candidates import is_candidate_name, is_ignored_dir

log = logging.getLogger(__name__)


def _not_the_stop_race(record: logging.LogRecord) -> bool:
    """watchdog's inotify emitter logs an ERROR when ``stop()`` closes inotify while its
    thread is blocked reading (gorakhargosh/watchdog#963): nothing is lost, as we are
    stopping, and an "error" line at every clean stop would teach people to ignore errors."""
    return "called when the thread is inactive" not in record.getMessage()


logging.getLogger("watchdog.observers.inotify").addFilter(_not_the_stop_race)

Stamp = tuple[int, int]  # (size, mtime_ns)


def stamp_of(path: Path) -> Stamp | None:
    """(size, mtime) of a regular file we may read, else None."""
    try:
        st = path.stat()
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE_BYTES:
        return None
    return st.st_size, st.st_mtime_ns


def acceptable(path: Path, folder: Path, patterns: tuple[str, ...] = ()) -> bool:
    """A candidate name, not inside a sync client's folder, no symlink out of the folder."""
    if not is_candidate_name(path.name, patterns):
        return False
    try:
        rel = path.relative_to(folder)
    except ValueError:
        return False
    if any(is_ignored_dir(part) for part in rel.parts[:-1]):
        return False
    if path.is_symlink():
        try:
            return path.resolve().is_relative_to(folder.resolve())
        except OSError:
            return False
    return True


def scan(
    folder: Path,
    recursive: bool,
    patterns: tuple[str, ...] = (),
    _root: Path | None = None,
    *,
    only_files: bool = True,
) -> Iterator[Path]:
    """Candidate files in ``folder`` (stat only, no content read). ``only_files=False``
    also yields what is named like a backup but is not a file inside the folder (a FIFO, a
    link out), for ``otpsync scan`` to name; the reader refuses those on the descriptor."""
    root = _root or folder
    try:
        with os.scandir(folder) as it:
            entries = list(it)
    except OSError:
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            if entry.is_dir(follow_symlinks=False):
                if recursive and not is_ignored_dir(entry.name):
                    yield from scan(path, recursive, patterns, root, only_files=only_files)
            elif only_files:
                if entry.is_file(follow_symlinks=True) and acceptable(path, root, patterns):
                    yield path
            elif is_candidate_name(entry.name, patterns):
                yield path
        except OSError:
            continue


@dataclass
class _Watch:
    stamp: Stamp
    since: float
    attempts: int = 0

    def restart(self, stamp: Stamp, now: float) -> None:
        """The file changed: wait for it to settle again, and forget failed reads of the
        old content (it was still arriving, not damaged)."""
        self.stamp, self.since, self.attempts = stamp, now, 0


class SettleTracker:
    """Files noticed but not yet handed on, each waiting for its size and mtime to hold still.

    It also remembers the stamp of every file already handed on, so a rescan that finds it
    unchanged does not hand it on again (the service would skip it by hash, but only after
    reading it). Thread-safe: events arrive on the observer's thread.

    Retries count failed reads of *unchanged* content only: a file that changed since it
    last failed is still arriving (a slow download, Syncthing's successive versions), so its
    count starts over; only a file that stays broken reaches its last attempt.
    """

    def __init__(self, settle: float, retries: int) -> None:
        self.settle, self.retries = settle, retries
        self._waiting: dict[Path, _Watch] = {}
        self._done: dict[Path, tuple[Stamp, int]] = {}
        self._lock = threading.Lock()

    def notice(self, path: Path, now: float, *, mtime_trusted: bool = False) -> None:
        """A path was seen (event or rescan). ``mtime_trusted``: on a rescan, a file whose
        mtime is older than ``settle`` has settled already and need not wait again."""
        stamp = stamp_of(path)
        with self._lock:
            if stamp is None:
                self._waiting.pop(path, None)
                self._done.pop(path, None)
                return
            done = self._done.get(path)
            if done is not None and done[0] == stamp:
                return
            watch = self._waiting.get(path)
            if watch is None:
                since = now
                if mtime_trusted:
                    since = now - min(max(0.0, time.time() - stamp[1] / 1e9), self.settle)
                self._waiting[path] = _Watch(stamp, since)
            elif watch.stamp != stamp:
                watch.restart(stamp, now)

    def due(self, now: float) -> list[tuple[Path, bool]]:
        """Paths that held still for ``settle``, each with "is this its last attempt"."""
        ready = []
        with self._lock:
            for path, watch in list(self._waiting.items()):
                if now - watch.since < self.settle:
                    continue
                stamp = stamp_of(path)
                if stamp is None:
                    del self._waiting[path]
                elif stamp != watch.stamp:
                    watch.restart(stamp, now)
                else:
                    del self._waiting[path]
                    self._done[path] = (stamp, watch.attempts)
                    ready.append((path, watch.attempts >= self.retries))
        return ready

    def retry(self, path: Path, now: float) -> None:
        """The file did not open yet (it may still be arriving): wait and try again."""
        with self._lock:
            done = self._done.pop(path, None)
            stamp = stamp_of(path)
            if done is None or stamp is None:
                return
            attempts = done[1] + 1 if stamp == done[0] else 0
            self._waiting[path] = _Watch(stamp, now, attempts)

    def forget(self, path: Path) -> None:
        """Looking at the file failed for a reason of ours (a full disk): forget it, so the
        next rescan or event hands it on again, unchanged as it is."""
        with self._lock:
            self._waiting.pop(path, None)
            self._done.pop(path, None)

    def next_deadline(self) -> float | None:
        with self._lock:
            if not self._waiting:
                return None
            return min(w.since for w in self._waiting.values()) + self.settle

    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)


_QUIET_EVENTS = frozenset({"opened", "closed_no_write", "deleted"})


class _Handler(FileSystemEventHandler):
    def __init__(
        self, folder: Path, notice: Callable[[Path], None], patterns: tuple[str, ...]
    ) -> None:
        self.folder, self.notice, self.patterns = folder, notice, patterns

    def on_any_event(self, event: FileSystemEvent) -> None:
        # Reads (ours included) raise opened/closed_no_write events: nothing arrived.
        if event.is_directory or event.event_type in _QUIET_EVENTS:
            return
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if raw:
                path = Path(os.fsdecode(raw))
                if acceptable(path, self.folder, self.patterns):
                    self.notice(path)


class NativeWatch:
    """watchdog's native observer (inotify, FSEvents, ReadDirectoryChangesW) on the folder."""

    def __init__(
        self,
        folder: Path,
        recursive: bool,
        notice: Callable[[Path], None],
        patterns: tuple[str, ...] = (),
    ) -> None:
        self.observer = Observer()
        self.observer.daemon = True
        handler = _Handler(folder, notice, patterns)
        self.observer.schedule(handler, str(folder), recursive=recursive)

    def start(self) -> None:
        self.observer.start()

    def alive(self) -> bool:
        """Whether events still arrive: removing the watched folder ends its emitter for
        good, even if a folder of that name comes back."""
        emitters = self.observer.emitters
        return self.observer.is_alive() and bool(emitters) and all(e.is_alive() for e in emitters)

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=10)


class _FilesHandler(FileSystemEventHandler):
    def __init__(self, files: frozenset[str], changed: Callable[[], None]) -> None:
        self.files, self.changed = files, changed

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory or event.event_type in ("opened", "closed_no_write"):
            return
        raws = (event.src_path, getattr(event, "dest_path", ""))
        if any(raw and os.fsdecode(raw) in self.files for raw in raws):
            self.changed()


class LocalWatch:
    """Native events on a few files of this home (the vault, the queue's index…), so the
    daemon hears of a change the CLI made at once, instead of stat-polling for it every
    second. Each file's folder is watched, not recursively: atomic writes replace the file,
    which only an event on its folder sees. Folders that do not exist are left out."""

    def __init__(self, files: list[Path], changed: Callable[[], None]) -> None:
        self.observer = Observer()
        self.observer.daemon = True
        handler = _FilesHandler(frozenset(str(f) for f in files), changed)
        for folder in sorted({f.parent for f in files}):
            if folder.is_dir():
                self.observer.schedule(handler, str(folder), recursive=False)

    def start(self) -> None:
        self.observer.start()

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=10)
