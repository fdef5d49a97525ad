"""Showing text that came from files safely: labels are data, never terminal or layout codes.

An issuer or account name arrives from another app's export, a backup or a QR code on a web
page. Printed raw, a C0/C1 control can move the cursor or recolour a terminal, and a bidi
override can make "GitHub — alice" read as something else in a window. ``printable`` spells
those characters out (``\\x1b``, ``\\u202e``) and leaves every other character, emoji and
zero-width joiners included, as it is.
"""

from __future__ import annotations

# Bidi embeddings, overrides and isolates, the implicit marks, and the line/paragraph
# separators (which start a new line in most widgets).
_SPELLED = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SPELLED |= frozenset("\u2028\u2029\ufeff")


def _spelled(ch: str) -> str:
    code = ord(ch)
    if code < 0x20 or 0x7F <= code < 0xA0:
        return f"\\x{code:02x}"
    if ch in _SPELLED:
        return f"\\u{code:04x}"
    return ch


def printable(text: str, limit: int | None = None) -> str:
    """``text`` with control, bidi and separator characters escaped; at most ``limit``
    characters (cut with "…") when given."""
    shown = "".join(_spelled(ch) for ch in text)
    if limit is not None and len(shown) > limit:
        return shown[: max(0, limit - 1)] + "…"
    return shown
