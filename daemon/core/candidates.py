"""Which names in the sync folder might be backups, and which are sync-client debris.

Names only decide what is worth a look: the header inside decides what a file is. Conflict
copies keep "4otp-keys-export" in their names, though the suffix lands anywhere (Dropbox
``….4otp (laptop's conflicted copy 2026-11-28).txt``, Syncthing
``….4otp.sync-conflict-20261128-101500-ABCDEFG.txt``, OneDrive ``-COMPUTER``, Google Drive
`` (1)``, iCloud `` 2``, rclone ``.conflict1``).
"""

from __future__ import annotations

import re
from fnmatch import fnmatch

MARKER = "4otp-keys-export"

# Folders where sync clients stage downloads, keep versions or their own data.
IGNORED_DIRS = frozenset(
    {
        ".dropbox.cache", ".tmp.drivedownload", ".tmp.driveupload", ".stfolder", ".stversions",
        ".sync", ".syncthing", ".Trash", ".trash", "$RECYCLE.BIN", ".owncloudsync.log",
        ".nextcloudsync.log", ".SynologyWorkingDirectory", "@eaDir", ".git",
    }
)  # fmt: skip

# Temp names of sync clients and editors: Syncthing ".syncthing.NAME.tmp" and
# "~syncthing~NAME.tmp", Nextcloud ".NAME.~1a2b3c4d", rclone "NAME.abcdefgh.partial",
# MEGA ".getxfer.*", Office "~$NAME", our own ".~otpsync-*.tmp", and generic "*.tmp"/"*.part".
_TEMP = re.compile(
    r"""^(?:\.|~)                     # dotfiles (all of Syncthing's, Nextcloud's, MEGA's, ours)
      | \.(?:tmp|temp|part|partial|crdownload|download|swp)$
      | \.[0-9a-z]{8}\.partial$     # rclone
      | ^~\$                         # office lock files
    """,
    re.IGNORECASE | re.VERBOSE,
)


def is_ignored_dir(name: str) -> bool:
    return name in IGNORED_DIRS or name.startswith(".")


def is_candidate_name(name: str, patterns: tuple[str, ...] = ()) -> bool:
    """Worth a look: names our backups (and their conflict copies) have, or that match a
    configured other app's backup ``patterns`` — never a sync client's temp file."""
    if _TEMP.search(name):
        return False
    return MARKER in name.lower() or any(fnmatch(name, p) for p in patterns)
