"""Durable, private file writes: nothing is ever half-written or silently overwritten."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import time
from collections.abc import Callable
from pathlib import Path

from daemon.errors import FileMissing, WriteFailed

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) as 0700; tighten it if it already exists and is ours."""
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
            path.chmod(PRIVATE_DIR)
    except OSError as exc:
        raise WriteFailed(f"cannot create folder {path}: {exc.strerror}") from None


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (a no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ".~" prefix: Dropbox and OneDrive skip such temp files, and our watcher skips dotfiles.
TEMP_RE = re.compile(r"\A\.~otpsync-[0-9a-f]{12}\.tmp\Z")  # exactly what _temp_path makes
TEMP_MAX_AGE = 600.0  # seconds: older temp files of ours are debris from a crash


def _temp_path(directory: Path) -> Path:
    return directory / f".~otpsync-{secrets.token_hex(6)}.tmp"


def _write_temp(directory: Path, data: bytes) -> Path:
    tmp = _temp_path(directory)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _check_dir(directory: Path) -> None:
    if not directory.is_dir():
        raise FileMissing(f"folder {directory} does not exist")


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: temp file in the same dir, fsync, rename, fsync dir."""
    _check_dir(path.parent)
    try:
        tmp = _write_temp(path.parent, data)
        try:
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise WriteFailed(f"cannot write {path}: {exc.strerror}") from None
    fsync_dir(path.parent)


def write_new(directory: Path, name_for: Callable[[int], str], data: bytes) -> Path:
    """Write ``data`` under a name that did not exist: ``name_for(1)``, else ``name_for(2)``…

    The final name appears only once the content is complete and synced (hard link from a
    temp file, which fails instead of overwriting), so a sync client or watcher never sees a
    partial file under a backup's name.
    """
    _check_dir(directory)
    try:
        tmp = _write_temp(directory, data)
    except OSError as exc:
        raise WriteFailed(f"cannot write into {directory}: {exc.strerror}") from None
    try:
        for attempt in range(1, 1000):
            final = directory / name_for(attempt)
            try:
                os.link(tmp, final)
            except FileExistsError:
                continue
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                    raise
                # No hard links here (FAT, some FUSE mounts): check, then rename.
                if final.exists():
                    continue
                os.rename(tmp, final)
            fsync_dir(directory)
            return final
        raise WriteFailed(f"cannot find a free file name in {directory}")
    except OSError as exc:
        raise WriteFailed(f"cannot write into {directory}: {exc.strerror}") from None
    finally:
        tmp.unlink(missing_ok=True)


def sweep_temp(directory: Path, older_than: float = TEMP_MAX_AGE) -> list[Path]:
    """Remove our own temp files in ``directory`` (not below it) older than ``older_than``
    seconds: what a crash between writing and renaming leaves behind. Only our exact name
    pattern, only regular files (no symlink, no folder) owned by us; anything else, and any
    file that cannot be looked at, is left alone."""
    now = time.time()
    try:
        with os.scandir(directory) as it:
            entries = [e for e in it if TEMP_RE.match(e.name)]
    except OSError:
        return []
    removed = []
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or now - st.st_mtime < older_than:
                continue
            if hasattr(os, "getuid") and st.st_uid != os.getuid():
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed
