"""QR codes, one PNG per account, for scanning codes into a phone authenticator app.

The QR code holds exactly ``otpauth.to_uri(account)``: the Key Uri Format that Google
Authenticator, Aegis, 2FAS, Ente Auth and FreeOTP scan: plain ASCII, since to_uri
percent-encodes. Error correction M, or L when the URI is too long for M; the standard
4-module quiet zone. Under the code, outside the quiet zone, the account's label ("Issuer —
account", wrapped to two lines at most) is printed so a person can tell the codes apart; the
label is not part of the code. The PNG is greyscale and carries no text chunks or metadata.

``file_name`` gives each PNG an ASCII name that is safe on every common file system and
unique per index (``01-GitHub-alice.png``): the index comes first, the label is transliterated
where it can be and dropped where it cannot.

Each character of the label is drawn with the first of a few common TrueType fonts found on
the system that has it (DejaVu Sans for most scripts, a CJK fallback font where installed),
else Pillow's built-in font. A character no font has prints as a box (emoji, usually), and
right-to-left text is not reordered unless Pillow was built with libraqm.
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw, ImageFont
from qrcode.exceptions import DataOverflowError

from daemon.core.accounts import Account
from daemon.core.otpauth import to_uri
from daemon.errors import InvalidAccount

QUIET_ZONE = 4  # modules: what ISO/IEC 18004 requires around a QR code
MIN_WIDTH = 480  # pixels, so that small codes still have room for a legible label
MIN_MODULE = 6  # pixels per module, so that a phone reads the code off a screen
MAX_LABEL_LINES = 2
FONT_CANDIDATES = (
    "DejaVuSans.ttf",
    "NotoSans-Regular.ttf",
    "LiberationSans-Regular.ttf",
    "Arial.ttf",
    "arial.ttf",
    "Helvetica.ttc",
    # Wider coverage (CJK and more), for labels the fonts above cannot draw.
    "NotoSansCJK-Regular.ttc",
    "DroidSansFallbackFull.ttf",
    "wqy-microhei.ttc",
    "Arial Unicode.ttf",
)
MAX_NAME_PART = 40  # characters of issuer and of account in a file name
_ELLIPSIS = "…"
_UNMAPPED = "\uffff"  # a noncharacter: no font maps it, so it draws the missing-glyph box
_NO_INK = {"Cc", "Cf", "Mn", "Me"}  # controls, format characters, combining marks
_BLACK, _WHITE = 0, 255

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True, slots=True)
class Layout:
    """Pixel sizes of one image: the code's modules, and the label under it."""

    modules: int  # per side, quiet zone included
    module_px: int
    font_px: int

    @property
    def width(self) -> int:
        return self.modules * self.module_px

    @property
    def margin(self) -> int:
        return QUIET_ZONE * self.module_px

    @property
    def line_px(self) -> int:
        return math.ceil(self.font_px * 1.3)

    @classmethod
    def for_modules(cls, modules: int) -> Layout:
        module_px = max(MIN_MODULE, math.ceil(MIN_WIDTH / modules))
        return cls(modules, module_px, font_px=max(16, modules * module_px // 22))


def png(account: Account) -> bytes:
    """A PNG of the account's otpauth URI as a QR code, with its label printed underneath.

    Raises InvalidAccount when the URI does not fit in a QR code (labels of hundreds of
    non-Latin characters, or secrets of about a kilobyte).
    """
    matrix = _matrix(account)
    layout = Layout.for_modules(len(matrix))
    code = Image.new("L", (layout.modules, layout.modules), _WHITE)
    code.putdata([_BLACK if dark else _WHITE for row in matrix for dark in row])
    code = code.resize((layout.width, layout.width), Image.Resampling.NEAREST)

    face = Typeface.of_size(layout.font_px)
    lines = _wrap(account.label, face, layout.width - 2 * layout.margin)
    height = layout.width + len(lines) * layout.line_px + layout.margin
    image = Image.new("L", (layout.width, height), _WHITE)
    image.paste(code, (0, 0))
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        x = (layout.width - face.length(line)) / 2
        face.draw(draw, x, layout.width + i * layout.line_px + layout.font_px, line)

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def file_name(account: Account, index: int, *, width: int = 2) -> str:
    """A safe ASCII file name for the account's PNG: ``01-GitHub-alice.png``.

    ``index`` (as people count, from 1) comes first, zero-padded to ``width`` digits, so
    names sort in export order and distinct indices give distinct names whatever the labels.
    Only ``A-Z a-z 0-9 . _ @ -`` are used; never a slash, a leading dot or a reserved name.
    """
    if index < 0:
        raise ValueError(f"index must not be negative, not {index}")
    parts = [_name_part(account.issuer), _name_part(account.account)]
    stem = "-".join(part for part in parts if part) or "code"
    return f"{index:0{width}d}-{stem}.png"


# --- the code ----------------------------------------------------------------------------------


def _matrix(account: Account) -> list[list[bool]]:
    """The QR modules, quiet zone included, at the strongest error correction that fits."""
    uri = to_uri(account)
    for level in (qrcode.constants.ERROR_CORRECT_M, qrcode.constants.ERROR_CORRECT_L):
        qr = qrcode.QRCode(error_correction=level, box_size=1, border=QUIET_ZONE)
        qr.add_data(uri)
        try:
            qr.make(fit=True)
        except (DataOverflowError, ValueError):  # qrcode 8 says "Invalid version (was 41 …)"
            continue
        return qr.get_matrix()
    raise InvalidAccount(
        f"{account.label}: its otpauth URI ({len(uri):,} characters) is too long for a QR "
        "code; shorten the issuer or account name, or export it another way"
    )


# --- the label ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Typeface:
    """The label's fonts in order of preference: each character is drawn with the first one
    that has a glyph for it (so "GitHub — 日本" mixes DejaVu Sans and a CJK font)."""

    fonts: tuple[Font, ...]

    @classmethod
    def of_size(cls, size: int) -> Typeface:
        found = tuple(font for name in FONT_CANDIDATES if (font := _truetype(name, size)))
        return cls(found or (_builtin_font(size),))

    def runs(self, text: str) -> list[tuple[str, Font]]:
        """``text`` cut into pieces that one font each draws."""
        runs: list[tuple[str, Font]] = []
        for ch in text:
            font = self._font_for(ch, runs[-1][1] if runs else self.fonts[0])
            if runs and runs[-1][1] is font:
                runs[-1] = (runs[-1][0] + ch, font)
            else:
                runs.append((ch, font))
        return runs

    def _font_for(self, ch: str, current: Font) -> Font:
        if ch.isspace() or unicodedata.category(ch) in _NO_INK:
            return current  # spaces and combining marks go with their neighbours
        if len(self.fonts) == 1:
            return self.fonts[0]
        return next((f for f in self.fonts if _has_glyph(f, ch)), self.fonts[0])

    def length(self, text: str) -> float:
        return sum(font.getlength(run) for run, font in self.runs(text))

    def draw(self, draw: ImageDraw.ImageDraw, x: float, baseline: int, text: str) -> None:
        for run, font in self.runs(text):
            if isinstance(font, ImageFont.FreeTypeFont):
                draw.text((x, baseline), run, fill=_BLACK, font=font, anchor="ls")
            else:  # Pillow's bitmap font knows no anchors: place its top instead
                draw.text((x, baseline - font.getbbox(run)[3]), run, fill=_BLACK, font=font)
            x += font.getlength(run)


@lru_cache(maxsize=64)
def _truetype(name: str, size: int) -> ImageFont.FreeTypeFont | None:
    try:  # Pillow also looks a bare file name up in the system's font folders
        return ImageFont.truetype(name, size)
    except OSError:
        return None


def _builtin_font(size: int) -> Font:
    try:
        return ImageFont.load_default(size)
    except TypeError:  # Pillow before 10.1: a fixed-size bitmap font only
        return ImageFont.load_default()


@lru_cache(maxsize=4096)
def _has_glyph(font: ImageFont.FreeTypeFont, ch: str) -> bool:
    """Whether ``font`` draws ``ch`` as something other than its missing-glyph box."""
    return _ink(font, ch) != _ink(font, _UNMAPPED)


@lru_cache(maxsize=4096)
def _ink(font: ImageFont.FreeTypeFont, text: str) -> bytes:
    side = 2 * int(font.size)
    canvas = Image.new("L", (side, side), 0)
    ImageDraw.Draw(canvas).text((0, 0), text, fill=255, font=font)
    return canvas.tobytes()


def _wrap(text: str, face: Typeface, width: int) -> list[str]:
    """``text`` in at most MAX_LABEL_LINES lines of at most ``width`` pixels, broken at a
    space where possible, the last line ending in an ellipsis when text is left over."""
    rest = " ".join(text.split())  # no newlines or tabs from a label
    lines: list[str] = []
    while rest and len(lines) < MAX_LABEL_LINES:
        cut = _fitting(rest, face, width)
        if cut < len(rest):
            space = rest.rfind(" ", 0, cut + 1)
            if space > 0:
                cut = space
        lines.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        last = lines[-1]
        while last and face.length(last + _ELLIPSIS) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + _ELLIPSIS
    return lines


def _fitting(text: str, face: Typeface, width: int) -> int:
    """How many leading characters of ``text`` fit in ``width`` pixels (at least one)."""
    lo, hi = 1, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if face.length(text[:mid]) <= width:
            lo = mid
        else:
            hi = mid - 1
    return lo


# --- file names --------------------------------------------------------------------------------

# Letters NFKD does not decompose into ASCII, spelled as their languages spell them in ASCII.
_TRANSLITERATE = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "SS",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "đ": "d",
        "Đ": "D",
        "ł": "l",
        "Ł": "L",
        "þ": "th",
        "Þ": "Th",
        "ð": "d",
        "Ð": "D",
        "ı": "i",
    }
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._@]+")


def _name_part(text: str) -> str:
    """Issuer or account as a file-name fragment: ASCII letters, digits, ``. _ @``, single
    dashes between words; no dot or dash at either end."""
    ascii_text = (
        unicodedata.normalize("NFKD", text.translate(_TRANSLITERATE))
        .encode("ascii", "ignore")
        .decode("ascii")
    )
    part = _UNSAFE.sub("-", ascii_text)
    part = re.sub(r"\.{2,}", ".", part)
    part = part.strip("-._")[:MAX_NAME_PART]
    return part.rstrip("-._")
