from __future__ import annotations

import pytest

from daemon.core.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("6h", 21600), ("1h30m", 5400), ("500ms", 0.5), ("2d", 172800),
     ("1.5s", 1.5), ("10 m", 600), ("0s", 0)],
)  # fmt: skip
def test_parse(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "6", "h", "6x", "-5s", "1h30", "1e3s"])
def test_refuse(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(40, "40 s"), (720, "12 min"), (20880, "5 h 48 min"), (7200, "2 h"), (200000, "2 d")],
)
def test_format(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
