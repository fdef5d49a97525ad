"""Text from outside (file names, issuers, accounts, device names) shown as data.

A name in a backup or a file name in the sync folder is chosen by whoever wrote it. Printed
raw it could move the cursor, recolour or rewrite the terminal (ESC and OSC sequences), hide
part of a line (CR), reorder what is read (bidi overrides) or forge a second log line (LF).
``shown`` makes every such character visible instead; the stored value never changes.
"""

from __future__ import annotations

# Bidi controls (Unicode UAX #9): they reorder the text around them ("Trojan Source").
_BIDI = frozenset([0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])
# Line and paragraph separators: some terminals, editors and log viewers break lines there.
_SEPARATORS = frozenset([0x2028, 0x2029])
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(ch: str) -> str:
    cp = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    if cp < 0x20 or 0x7F <= cp <= 0x9F:
        return f"\\x{cp:02x}"
    if 0xDC80 <= cp <= 0xDCFF:
        # A byte that was not UTF-8 in a file name (Python's surrogateescape): the byte.
        return f"\\x{cp - 0xDC00:02x}"
    if 0xD800 <= cp <= 0xDFFF or cp in _BIDI or cp in _SEPARATORS:
        return f"\\u{cp:04x}"
    return ch


def _plain(ch: str) -> bool:
    cp = ord(ch)
    return 0x20 <= cp < 0x7F or (
        cp > 0x9F and not 0xD800 <= cp <= 0xDFFF and cp not in _BIDI and cp not in _SEPARATORS
    )


def shown(text: object, limit: int | None = None) -> str:
    """``text`` with C0, C1, DEL, bidi controls, line separators and lone surrogates
    escaped (``\\x1b``, ``\\u202e``, an undecodable file-name byte as ``\\xff``): safe to put
    in one terminal line, log line, notification or menu label. With ``limit``, at most that
    many characters (cut with "…"), for a menu or a window row."""
    s = str(text)
    if not all(_plain(ch) for ch in s):  # the usual case needs no new string
        s = "".join(ch if _plain(ch) else _escape(ch) for ch in s)
    if limit is not None and len(s) > limit:
        return s[: max(0, limit - 1)] + "…"
    return s


def json_safe(text: str) -> str:
    """``text`` for JSON output that must stay valid UTF-8: lone surrogates (undecodable
    file-name bytes) become ``\\xff``-style text; JSON itself escapes control characters."""
    if all(not 0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        return text
    return "".join(_escape(ch) if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)


def count(n: int, noun: str) -> str:
    """ "1 file", "3 files": English plurals of the nouns we count (regular ones only)."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
