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


def plain_export_name(created: datetime, device: str, attempt: int = 1) -> str:
    """The name of an unencrypted otpauth export; it says so, to make it hard to overlook."""
    stamp = created.astimezone(UTC).strftime("%Y-%m-%d-%H-%M-%S")
    extra = f"-{attempt}" if attempt > 1 else ""
    return f"{stamp}-{device}-otpauth-UNENCRYPTED{extra}.txt"
