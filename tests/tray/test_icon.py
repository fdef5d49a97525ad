"""The tray icon, drawn by Pillow: sizes, the pending badge, paused and error states."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from tray.icon import AMBER, BLUE, GREY, RED, IconState, render

SIZES = (16, 22, 24, 32, 48, 64)


def pixels(img: Image.Image) -> list[tuple[int, ...]]:
    """Every pixel, row by row (Pillow 12 renamed ``getdata``; both are supported)."""
    flat = getattr(img, "get_flattened_data", None)
    return list(flat() if flat is not None else img.getdata())


def near(pixel: tuple[int, ...], colour: tuple[int, ...], tolerance: int = 40) -> bool:
    """Opaque enough and within ``tolerance`` of ``colour`` in each channel."""
    close = (abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour[:3], strict=True))
    return pixel[3] > 200 and all(close)


def count(img: Image.Image, colour: tuple[int, ...], box: tuple[int, int, int, int]) -> int:
    region = img.crop(box)
    return sum(near(p, colour) for p in pixels(region))


def top_right(img: Image.Image) -> tuple[int, int, int, int]:
    w, h = img.size
    return (w // 2, 0, w, h // 2)


def dominant(img: Image.Image) -> tuple[int, int, int]:
    """The most common opaque colour: the tile's."""
    opaque = Counter(p[:3] for p in pixels(img) if p[3] == 255)
    return opaque.most_common(1)[0][0]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    "state", [IconState(), IconState(pending=3), IconState(paused=True), IconState(error=True)]
)
def test_every_state_renders_rgba_at_every_size(state: IconState, size: int) -> None:
    img = render(state, size)
    assert img.mode == "RGBA"
    assert img.size == (size, size)


@pytest.mark.parametrize("size", SIZES)
def test_corners_are_transparent(size: int) -> None:
    for state in (IconState(), IconState(paused=True), IconState(error=True)):
        img = render(state, size)
        for corner in ((0, 0), (size - 1, size - 1), (0, size - 1)):
            assert img.getpixel(corner)[3] < 64, (state, size, corner)
    # The badge sits in the top-right corner, but stays round: the corner pixel is clear.
    assert render(IconState(pending=5), size).getpixel((size - 1, size - 1))[3] < 64


@pytest.mark.parametrize("size", SIZES)
def test_badge_is_there_exactly_when_something_is_pending(size: int) -> None:
    without = render(IconState(), size)
    assert count(without, RED, top_right(without)) == 0
    for pending in (1, 3, 9, 10, 250):
        img = render(IconState(pending=pending), size)
        reds = count(img, RED, top_right(img))
        assert reds >= max(3, size * size // 40), (pending, size, reds)
        # ... and only from there: "9+" is wider, and small icons get a relatively bigger
        # badge (legible at 16 px), so it may reach past the middle, never the far edges.
        w, h = img.size
        assert count(img, RED, (0, 0, w // 5, h)) == 0  # left edge
        assert count(img, RED, (0, h - h // 5, w, h)) == 0  # bottom edge
    for state in (IconState(paused=True), IconState(error=True), IconState(pending=0)):
        img = render(state, size)
        assert count(img, RED, (0, 0, size, size)) == 0, state


@pytest.mark.parametrize("size", SIZES)
def test_badge_digit_changes_with_the_number(size: int) -> None:
    three = render(IconState(pending=3), size)
    seven = render(IconState(pending=7), size)
    diff = ImageChops.difference(three, seven).crop(top_right(three))
    changed = sum(1 for p in pixels(diff) if max(p[:3]) > 60)
    assert changed >= 2, f"3 and 7 look the same at {size} px"
    # Outside the badge the two icons are identical.
    w, h = three.size
    assert ImageChops.difference(three, seven).crop((0, h // 2 + 2, w, h)).getbbox() is None


def test_ten_or_more_reads_nine_plus() -> None:
    assert IconState(pending=0).badge == ""
    assert IconState(pending=1).badge == "1"
    assert IconState(pending=9).badge == "9"
    assert IconState(pending=10).badge == "9+"
    assert IconState(pending=250).badge == "9+"
    # Every count from 10 on draws the same "9+" badge, different from a single digit's.
    assert (
        render(IconState(pending=10), 32).tobytes() == render(IconState(pending=99), 32).tobytes()
    )
    assert render(IconState(pending=10), 32).tobytes() != render(IconState(pending=9), 32).tobytes()


@pytest.mark.parametrize("size", SIZES)
def test_normal_paused_and_error_tiles_are_told_apart(size: int) -> None:
    tiles = {
        "normal": dominant(render(IconState(), size)),
        "paused": dominant(render(IconState(paused=True), size)),
        "error": dominant(render(IconState(error=True), size)),
    }
    assert near((*tiles["normal"], 255), BLUE, 8)
    assert near((*tiles["paused"], 255), GREY, 8)
    assert near((*tiles["error"], 255), AMBER, 8)
    assert len(set(tiles.values())) == 3
    # Error wins over paused: a paused app whose export fails still shows the error.
    assert near((*dominant(render(IconState(paused=True, error=True), size)), 255), AMBER, 8)


def test_symbols_differ_between_states() -> None:
    """Not only the colour: the padlock, the pause bars and the "!" are different shapes, so
    the states read apart in a monochrome or colour-blind view too."""
    shapes = {}
    for name, state in (
        ("normal", IconState()),
        ("paused", IconState(paused=True)),
        ("error", IconState(error=True)),
    ):
        img = render(state, 32)
        shapes[name] = bytes(255 if p[0] > 230 and p[1] > 230 and p[2] > 230 else 0
                             for p in pixels(img))  # fmt: skip
    assert len(set(shapes.values())) == 3


GTK_RENDER = """
import hashlib, sys, warnings
import gi
gi.require_version("Gtk", "3.0")
from gi.repository import Gtk  # loads the system's FreeType and HarfBuzz, as the tray does
from PIL import Image
warnings.simplefilter("error", Image.DecompressionBombWarning)
from tray.icon import IconState, render
for pending, paused, error in STATES:
    for size in SIZES:
        img = render(IconState(pending, paused, error), size)
        print(hashlib.sha256(img.tobytes()).hexdigest())
"""


def test_icons_are_the_same_in_a_process_with_gtk_loaded() -> None:
    """The tray process has GTK (and with it the system's FreeType and HarfBuzz) loaded: the
    icons must come out exactly as drawn here, digits and "!" included."""
    gi = subprocess.run(
        [sys.executable, "-c", "import gi; gi.require_version('Gtk', '3.0')"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if gi.returncode != 0:
        pytest.skip(f"PyGObject with GTK 3 is not installed: {gi.stderr.strip()[-200:]}")
    states = [(0, False, False), (3, False, False), (7, False, False), (12, False, False),
              (0, True, False), (0, False, True), (2, True, True)]  # fmt: skip
    code = f"STATES = {states!r}\nSIZES = {SIZES!r}\n{GTK_RENDER}"
    # No display and no session bus: nothing to connect to, nothing autolaunched.
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(NO_AT_BRIDGE="1", DBUS_SESSION_BUS_ADDRESS="unix:path=/nonexistent/otpsync-bus")
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False,
        cwd=Path(__file__).resolve().parents[2], env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    here = [
        hashlib.sha256(render(IconState(*state), size).tobytes()).hexdigest()
        for state in states
        for size in SIZES
    ]
    assert done.stdout.split() == here
