"""Backup file names: ``YYYY-MM-DD-HH-MM-SS-<device>-4otp-keys-export[-N].4otp.txt``.

The seed's name plus a device slug, so two devices never write the same path; a collision
suffix goes before ``.4otp.txt``. Names are only a hint: readers decide by the header.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

SUFFIX = ".4otp.txt"
_STEM = "-4otp-keys-export"
# \A…\Z, not ^…$: "$" matches before a final newline, so "….4otp.txt\n" would pass; [0-9], not
# \d, which takes any Unicode digit.
NAME_RE = re.compile(
    r"\A(?P<stamp>[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2})"
    r"-(?P<device>[A-Za-z0-9][A-Za-z0-9._-]*?)"
    r"-4otp-keys-export(?:-(?P<n>[0-9]+))?\.4otp\.txt\Z"
)


def backup_name(created: datetime, device: str, attempt: int = 1) -> str:
    """The file name for a backup; ``attempt`` > 1 adds the collision suffix ``-N``."""
    stamp = created.astimezone(UTC).strftime("%Y-%m-%d-%H-%M-%S")
    extra = f"-{attempt}" if attempt > 1 else ""
    return f"{stamp}-{device}{_STEM}{extra}{SUFFIX}"


def export_name(created: datetime, device: str, kind: str, attempt: int = 1) -> str:
    """The name of an export in another format, e.g. ``kind="otpauth-UNENCRYPTED.txt"``.

    Unencrypted kinds say so in the name, to make them hard to overlook. Never named like an
    app's own automatic backup (``aegis-backup-*``), so a watcher never mistakes one for it.
    """
    stamp = created.astimezone(UTC).strftime("%Y-%m-%d-%H-%M-%S")
    stem, dot, ext = kind.rpartition(".")
    extra = f"-{attempt}" if attempt > 1 else ""
    return f"{stamp}-{device}-{stem}{extra}{dot}{ext}" if dot else f"{stamp}-{device}-{kind}{extra}"
