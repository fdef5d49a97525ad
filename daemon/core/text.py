"""Text from files, made safe to show: labels and names come from backups and other apps'
exports, so a terminal escape or a bidi override in one must not reach a screen as such."""

from __future__ import annotations

import unicodedata

# Right-to-left/left-to-right overrides and isolates: they reorder what follows them on screen.
_BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def printable(text: str) -> str:
    """``text`` with control characters (C0, C1, line/paragraph separators, bidi controls)
    shown as escapes (``\\x1b``, ``\\u202e``); everything else, emoji included, unchanged."""
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if ch in _BIDI or unicodedata.category(ch) in ("Cc", "Zl", "Zp")
        else ch
        for ch in text
    )
