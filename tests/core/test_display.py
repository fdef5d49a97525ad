"""``shown``: text from outside made safe for one terminal or log line (issue 9)."""

from __future__ import annotations

import pytest

from daemon.core.display import json_safe, shown


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("GitHub — alice", "GitHub — alice"),
        ("Zürich 😀 日本", "Zürich 😀 日本"),
        ("\x1b]0;pwned\x07title", "\\x1b]0;pwned\\x07title"),  # OSC: sets the window title
        ("\x1b[2J", "\\x1b[2J"),
        ("real\rfake", "real\\rfake"),
        ("one\ntwo\tthree", "one\\ntwo\\tthree"),
        ("nul\x00del\x7f", "nul\\x00del\\x7f"),
        ("c1\x85\x9b", "c1\\x85\\x9b"),  # NEL, CSI
        ("exe.\u202etxt", "exe.\\u202etxt"),
        (
            "\u200e\u200f\u061c\u2066\u2067\u2068\u2069\u202a\u202d",
            "\\u200e\\u200f\\u061c\\u2066\\u2067\\u2068\\u2069\\u202a\\u202d",
        ),
        ("para\u2028graph", "para\\u2028graph"),
        ("bad\udcffbyte", "bad\\xffbyte"),  # an undecodable file-name byte
        ("lone\ud800", "lone\\ud800"),
    ],
)
def test_controls_bidi_and_lone_surrogates_are_made_visible(raw: str, expected: str) -> None:
    assert shown(raw) == expected
    assert shown(raw).encode("utf-8")  # always writable as UTF-8
    assert shown(raw).isprintable()


def test_json_safe_only_replaces_what_utf8_cannot_hold() -> None:
    assert json_safe("a\nb\x1b") == "a\nb\x1b"  # json.dumps escapes these itself
    assert json_safe("file\udcff.txt") == "file\\xff.txt"
