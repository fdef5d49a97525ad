"""Labels from files are shown as data: controls and bidi overrides spelled out."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from daemon.core.text import printable


def test_controls_and_bidi_are_spelled_out() -> None:
    assert printable("Git\x1b[31mHub") == "Git\\x1b[31mHub"
    assert printable("bank\u202eevil") == "bank\\u202eevil"
    assert printable("a\nb\tc\x85d\x7f") == "a\\x0ab\\x09c\\x85d\\x7f"
    assert printable("line\u2028two") == "line\\u2028two"


def test_ordinary_text_is_left_alone() -> None:
    for text in ("GitHub — alice", "Müller", "日本語", "👩‍💻 dev", "¿äÄéÉ? (demo)"):
        assert printable(text) == text


def test_long_labels_are_cut() -> None:
    assert printable("x" * 100, limit=10) == "x" * 9 + "…"
    assert printable("short", limit=10) == "short"


@given(st.text())
def test_nothing_that_moves_the_cursor_or_the_reading_direction_survives(text: str) -> None:
    shown = printable(text)
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in shown)
    assert not set(shown) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
