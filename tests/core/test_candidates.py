"""Conflict copies of every sync client are candidates; their temp files are not."""

from __future__ import annotations

import pytest

from daemon.core.candidates import is_candidate_name, is_ignored_dir

BASE = "2026-11-28-10-00-00-laptop-4otp-keys-export"


@pytest.mark.parametrize(
    "name",
    [
        f"{BASE}.4otp.txt",
        f"{BASE}-2.4otp.txt",
        f"{BASE}.4otp (laptop's conflicted copy 2026-11-28).txt",  # Dropbox
        f"{BASE}.4otp (Konflikt-Kopie von laptop 2026-11-28).txt",  # Dropbox, localised
        f"{BASE}.4otp-DESKTOP-1234.txt",  # OneDrive
        f"{BASE}.4otp (1).txt",  # Google Drive
        f"{BASE}.4otp.sync-conflict-20261128-101500-ABCDEFG.txt",  # Syncthing
        f"{BASE}.4otp (conflicted copy 2026-11-28 101500).txt",  # Nextcloud
        f"{BASE}.4otp 2.txt",  # iCloud
        f"{BASE}.4otp.txt.conflict1",  # rclone bisync
        f"{BASE}.4OTP.TXT",
    ],
)
def test_conflict_copies_are_candidates(name: str) -> None:
    assert is_candidate_name(name)


@pytest.mark.parametrize(
    "name",
    [
        f".syncthing.{BASE}.4otp.txt.tmp",
        f"~syncthing~{BASE}.4otp.txt.tmp",
        f".{BASE}.4otp.txt.~1a2b3c4d",  # Nextcloud
        f"{BASE}.4otp.txt.abcdefgh.partial",  # rclone
        f".getxfer.123.{BASE}.4otp.txt",  # MEGA
        f"{BASE}.4otp.txt.part",
        f"{BASE}.4otp.txt.crdownload",
        f"~${BASE}.4otp.txt",
        ".~otpsync-0a1b2c3d4e5f.tmp",
        "notes.txt",
        "aegis-backup-20261128.json",
    ],
)
def test_temp_files_and_others_are_not(name: str) -> None:
    assert not is_candidate_name(name)


@pytest.mark.parametrize(
    ("name", "ignored"),
    [(".dropbox.cache", True), (".tmp.drivedownload", True), (".stversions", True),
     ("$RECYCLE.BIN", True), ("phone", False), ("2026", False)],
)  # fmt: skip
def test_sync_client_folders_are_skipped(name: str, ignored: bool) -> None:
    assert is_ignored_dir(name) is ignored
