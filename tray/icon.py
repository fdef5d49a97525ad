"""The tray icon, drawn with Pillow at runtime: a padlock on a rounded tile, plus state.

Drawn at 4x and scaled down, so the shapes stay crisp from 16 to 64 px. States: normal (blue),
paused (grey, two bars), error or attention (amber tile, "!"), and a red badge with the
number of pending imports (1–9, then "9+").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

BLUE = (37, 99, 235, 255)
GREY = (115, 115, 115, 255)
AMBER = (217, 119, 6, 255)
RED = (220, 38, 38, 255)
WHITE = (255, 255, 255, 255)
SCALE = 4


@dataclass(frozen=True, slots=True)
class IconState:
    pending: int = 0
    paused: bool = False
    error: bool = False
    attention: bool = False  # e.g. a device silent too long, until the person says "got it"

    @property
    def badge(self) -> str:
        if self.pending <= 0:
            return ""
        return str(self.pending) if self.pending < 10 else "9+"


def _font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A bold font, laid out by Pillow's own (basic) engine: a tray process has GTK loaded,
    and with the system's HarfBuzz and FreeType in the process, Pillow's Raqm layout measures
    text wrong (glyphs a million pixels wide: "!" and "9+" vanish off the icon, and Pillow
    allocates a mask of 100+ million pixels). One line of digits needs no shaping anyway."""
    for name in ("DejaVuSans-Bold.ttf", "Arial Bold.ttf", "arialbd.ttf", "Helvetica-Bold.ttf"):
        try:
            return ImageFont.truetype(name, px, layout_engine=ImageFont.Layout.BASIC)
        except OSError:
            continue
    return ImageFont.load_default(px)


def _centered_text(draw: ImageDraw.ImageDraw, box: tuple[float, ...], text: str, px: int) -> None:
    font = _font(px)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = (box[0] + box[2] - (right - left)) / 2 - left
    y = (box[1] + box[3] - (bottom - top)) / 2 - top
    draw.text((x, y), text, font=font, fill=WHITE)


@lru_cache(maxsize=64)
def render(state: IconState, size: int = 64) -> Image.Image:
    """The icon for ``state`` at ``size`` px (RGBA). Cached: states repeat."""
    s = size * SCALE
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    alert = state.error or state.attention
    tile = AMBER if alert else GREY if state.paused else BLUE
    d.rounded_rectangle((0, 0, s - 1, s - 1), radius=s * 0.22, fill=tile)

    # The padlock: a body and a shackle, or the state's symbol in its place.
    if alert:
        _centered_text(d, (0, 0, s, s), "!", int(s * 0.72))
    elif state.paused:
        w, h = s * 0.13, s * 0.46
        for x in (s * 0.34, s * 0.53):
            d.rounded_rectangle((x, (s - h) / 2, x + w, (s + h) / 2), radius=w * 0.3, fill=WHITE)
    else:
        body = (s * 0.24, s * 0.44, s * 0.76, s * 0.82)
        d.rounded_rectangle(body, radius=s * 0.07, fill=WHITE)
        stroke = max(2, round(s * 0.085))
        d.arc((s * 0.32, s * 0.16, s * 0.68, s * 0.60), 180, 360, fill=WHITE, width=stroke)
        for x in (s * 0.32, s * 0.68 - stroke):
            d.rectangle((x, s * 0.37, x + stroke, s * 0.46), fill=WHITE)
        hole = s * 0.055
        cx, cy = s * 0.5, s * 0.6
        d.ellipse((cx - hole, cy - hole, cx + hole, cy + hole), fill=tile)
        d.rectangle((cx - hole * 0.45, cy, cx + hole * 0.45, cy + hole * 2.2), fill=tile)

    if state.badge:
        # Small icons get a relatively bigger badge, so the digit stays legible at 16 px.
        r = s * (0.25 if size > 24 else 0.32) * (1 if len(state.badge) == 1 else 1.2)
        box = (s - 2 * r, 0, s, 2 * r)
        d.ellipse(box, fill=RED, outline=WHITE, width=max(1, round(s * 0.03)))
        _centered_text(d, box, state.badge, int(r * (1.3 if len(state.badge) == 1 else 1.05)))

    return img.resize((size, size), Image.Resampling.LANCZOS)
