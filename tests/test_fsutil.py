"""The bounded reader: nothing a path turns out to be can hang otpsync or make it allocate
more than the cap (issue 9). Real FIFOs, devices, symlinks and files in a temp dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from daemon.errors import FileMissing, FileTooLarge, NotAFile
from daemon.fsutil import read_bounded


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "sync"
    path.mkdir()
    return path


def test_a_regular_file_is_read_whole(folder: Path) -> None:
    (folder / "f").write_bytes(b"12345")
    assert read_bounded(folder / "f", 5, within=folder) == b"12345"
    assert read_bounded(folder / "f", 5) == b"12345"


def test_a_fifo_is_refused_at_once_without_a_writer(folder: Path) -> None:
    os.mkfifo(folder / "f")
    with pytest.raises(NotAFile, match=r"f: is a FIFO, not a file"):
        read_bounded(folder / "f", 100, within=folder)
    with pytest.raises(NotAFile, match="is a FIFO, not a file"):
        read_bounded(folder / "f", 100)


def test_a_link_to_dev_zero_is_refused_inside_the_folder_and_named_outside_it(
    folder: Path,
) -> None:
    (folder / "z").symlink_to("/dev/zero")
    with pytest.raises(NotAFile, match="is a symbolic link out of the sync folder"):
        read_bounded(folder / "z", 100, within=folder)
    with pytest.raises(NotAFile, match="is a character device, not a file"):
        read_bounded(folder / "z", 100)


def test_links_inside_the_folder_are_followed_links_out_are_not(
    tmp_path: Path, folder: Path
) -> None:
    (tmp_path / "secret").write_bytes(b"not yours")
    (folder / "out").symlink_to(tmp_path / "secret")
    (folder / "sub").mkdir()
    (folder / "sub" / "real").write_bytes(b"mine")
    (folder / "in").symlink_to("sub/real")
    (folder / "dirlink").symlink_to("sub")
    with pytest.raises(NotAFile, match="out of the sync folder"):
        read_bounded(folder / "out", 100, within=folder)
    assert read_bounded(folder / "in", 100, within=folder) == b"mine"
    assert read_bounded(folder / "dirlink" / "real", 100, within=folder) == b"mine"
    assert read_bounded(folder / "out", 100) == b"not yours"  # the person named it


def test_a_folder_and_a_missing_file(folder: Path) -> None:
    (folder / "d").mkdir()
    with pytest.raises(NotAFile, match="is a folder, not a file"):
        read_bounded(folder / "d", 100, within=folder)
    with pytest.raises(FileMissing, match="file not found"):
        read_bounded(folder / "gone", 100, within=folder)


def test_size_is_checked_on_the_descriptor_and_by_what_is_read(folder: Path) -> None:
    (folder / "f").write_bytes(b"x" * 11)
    with pytest.raises(FileTooLarge, match="larger than the 10 bytes"):
        read_bounded(folder / "f", 10, within=folder)
    status = Path("/proc/self/status")  # st_size 0, content longer: a file that "grew"
    if not status.exists() or status.stat().st_size != 0:
        pytest.skip("needs Linux /proc")
    with pytest.raises(FileTooLarge):
        read_bounded(status, 10)


def test_names_in_messages_are_escaped(folder: Path) -> None:
    path = folder / "evil\x1b[2J\nname"
    os.mkfifo(path)
    with pytest.raises(NotAFile) as exc:
        read_bounded(path, 10, within=folder)
    assert "\x1b" not in str(exc.value)
    assert "\n" not in str(exc.value)
    assert "evil\\x1b[2J\\nname" in str(exc.value)
