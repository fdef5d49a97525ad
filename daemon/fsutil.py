"""Durable, private file writes, and bounded reads of files we do not trust.

Writes: nothing is ever half-written or silently overwritten. Reads (``read_bounded``): no
file can hang us or make us allocate more than a cap.
"""

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

from daemon.core.display import shown
from daemon.errors import (
    FileMissing,
    FileTooLarge,
    NotAFile,
    OtpsyncError,
    ReadFailed,
    WriteFailed,
)

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


# --- reading files that come from the sync folder or the person ------------------------------

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
# O_NONBLOCK: opening a FIFO must not wait for a writer. O_NOFOLLOW: the path we checked is
# the path we open; a symlink swapped in since then fails instead of being followed.
_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_CHUNK = 1 << 20


def _size_text(cap: int) -> str:
    return f"{cap // 1048576} MiB" if cap >= 1048576 and cap % 1048576 == 0 else f"{cap} bytes"


def _kind_of(mode: int) -> str:
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


def _open_within(real: str, within: Path) -> int:
    """Open ``real`` (a resolved path inside ``within``) one component at a time, none of
    them followed if it is a symlink: a folder swapped for a link out cannot redirect us."""
    base = os.path.realpath(within)
    parts = Path(os.path.relpath(real, base)).parts
    dir_flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(base, dir_flags | getattr(os, "O_CLOEXEC", 0))
    try:
        for part in parts[:-1]:
            nxt = os.open(part, dir_flags | getattr(os, "O_CLOEXEC", 0), dir_fd=fd)
            os.close(fd)
            fd = nxt
        return os.open(parts[-1], _READ_FLAGS, dir_fd=fd)
    finally:
        os.close(fd)


def _open_regular(path: Path, within: Path | None) -> int:
    """An open descriptor on the regular file ``path`` (see read_bounded); the caller closes."""
    name = shown(path)
    try:
        real = os.path.realpath(path)
        if within is not None:
            base = os.path.realpath(within)
            if os.path.commonpath([base, real]) != base or real == base:
                raise NotAFile(f"{name}: is a symbolic link out of the sync folder; not reading it")
        if within is not None and os.open in os.supports_dir_fd:
            fd = _open_within(real, within)
        else:
            fd = os.open(real, _READ_FLAGS)
    except FileNotFoundError:
        raise FileMissing(f"{name}: file not found") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotAFile(f"{name}: is a symbolic link (it changed while being read)") from None
        raise ReadFailed(f"{name}: cannot read it ({exc.strerror})") from None
    try:
        mode = os.fstat(fd).st_mode
    except OSError as exc:
        os.close(fd)
        raise ReadFailed(f"{name}: cannot read it ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotAFile(f"{name}: is {_kind_of(mode)}, not a file")
    return fd


def read_bounded(path: Path, cap: int, *, within: Path | None = None) -> bytes:
    """The whole content of the regular file ``path``, at most ``cap`` bytes.

    For every file that comes from the sync folder or the person: nothing it is can hang us
    or make us allocate more than ``cap``. It is opened without blocking (a FIFO) and
    without following a symlink on the last step; type and size are checked on the opened
    descriptor (a path checked and then opened can be swapped in between); at most
    ``cap + 1`` bytes are read (a file that grew meanwhile). With ``within`` (the sync
    folder) a symlink may only lead to a file inside that folder.

    Raises FileMissing, NotAFile, FileTooLarge or ReadFailed, each one line naming ``path``.
    """
    name = shown(path)
    too_large = f"{name}: is larger than the {_size_text(cap)} a file may be; not reading it"
    fd = _open_regular(path, within)
    try:
        if os.fstat(fd).st_size > cap:
            raise FileTooLarge(too_large)
        data = _read_up_to(fd, cap + 1)
        if len(data) > cap:
            raise FileTooLarge(too_large)
        return data
    except OSError as exc:
        raise ReadFailed(f"{name}: cannot read it ({exc.strerror})") from None
    finally:
        os.close(fd)


def read_head(path: Path, size: int, *, within: Path | None = None) -> bytes:
    """The first ``size`` bytes of the regular file ``path`` (the same safe open as
    read_bounded), for a header's claims; b"" for anything that is not such a file."""
    try:
        fd = _open_regular(path, within)
    except OtpsyncError:
        return b""
    try:
        return _read_up_to(fd, size)
    except OSError:
        return b""
    finally:
        os.close(fd)


def _read_up_to(fd: int, limit: int) -> bytes:
    chunks, total = [], 0
    while total < limit:
        chunk = os.read(fd, min(_CHUNK, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


# --- debris of interrupted writes ---------------------------------------------------------------


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
