"""QR codes in pictures: a website's 2FA set-up QR (``otpauth://``) or Google Authenticator's
export QR (``otpauth-migration://``, many accounts in one), in an image file or a screen grab.

Pure: image bytes (or an already decoded picture) in, QR texts and accounts out. Pillow
decodes the picture, zxing-cpp finds and reads every QR code in it. zxing-cpp ships wheels
for every platform with the library inside (zbar would need a system library, OpenCV's
reader is a 60 MB dependency and misses small codes), and it reads codes that are rotated,
inverted, without a quiet zone or several to an image.

Hostile pictures are bounded twice: the file by the import size cap, and the picture by its
pixel count, read from the header before a single pixel is decoded (a 100 kB PNG can claim
to be 40,000 × 40,000 pixels: a decompression bomb). QR texts are never quoted in errors:
they hold secrets.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from daemon.core.accounts import Account
from daemon.errors import FileTooLarge, ImportFailed
from daemon.importers import migration
from daemon.importers._common import Importer, Skipped, check_count, each, printable
from daemon.importers.uris import OTPAUTH, parse_otpauth

if TYPE_CHECKING:
    from PIL.Image import Image

MAX_PIXELS = 30_000_000  # a 6K screen is 20 Mpx; decoding 30 Mpx needs ~150 MB at most
FORMATS = ("PNG", "JPEG", "BMP", "GIF")
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
_BMP_HEADER_SIZES = (12, 40, 52, 56, 64, 108, 124)
# What Pillow raises for a file that is cut short or damaged inside ("Truncated File Read",
# "broken data stream", a bad chunk): never a traceback for the person.
_BROKEN = (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error, zlib.error)


@dataclass(frozen=True, slots=True)
class QrScan:
    """What a picture holds: the QR texts read (in reading order, each once) and how many
    QR codes were seen but could not be read (damaged, blurred, cut off)."""

    texts: tuple[str, ...] = ()
    unreadable: int = 0

    def __add__(self, other: QrScan) -> QrScan:
        return QrScan(_unique(self.texts + other.texts), self.unreadable + other.unreadable)


@dataclass(frozen=True, slots=True)
class QrCodes:
    """The 2FA codes found, and how many QR codes held something else (a link, a Wi-Fi
    password…), so the person can be told they were passed over."""

    accounts: tuple[Account, ...]
    ignored: int = 0
    skipped: tuple[Skipped, ...] = ()  # 2FA links otpsync cannot make (mOTP, no secret…)


def _unique(texts: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(texts))


def is_image(data: bytes) -> bool:
    """A PNG, JPEG, GIF or BMP by its magic bytes (BMP's two letters plus a known header)."""
    if data.startswith(_MAGIC):
        return True
    return (
        data[:2] == b"BM"
        and len(data) >= 18
        and int.from_bytes(data[14:18], "little") in _BMP_HEADER_SIZES
    )


def open_image(data: bytes) -> Image:
    """Decode ``data`` into an 8-bit greyscale picture (transparent pixels as white), after
    checking its pixel count from the header."""
    from PIL import Image as PILImage

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            picture = PILImage.open(io.BytesIO(data), formats=FORMATS)
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
        raise FileTooLarge(f"the picture has more than {MAX_PIXELS:,} pixels") from None
    except PILImage.UnidentifiedImageError:
        if is_image(data):  # the magic bytes of a picture, then nothing Pillow can read
            raise ImportFailed("the picture is damaged or cut short") from None
        raise ImportFailed("not a picture otpsync can read (PNG, JPEG, BMP or GIF)") from None
    except _BROKEN:
        raise ImportFailed("the picture is damaged or cut short") from None
    width, height = picture.size
    if width * height > MAX_PIXELS:
        raise FileTooLarge(
            f"the picture is {width} × {height} pixels, more than the {MAX_PIXELS:,} otpsync reads"
        )
    try:
        picture.load()
        if picture.format == "BMP" and picture.info.get("compression") == 0:
            picture = _bmp_with_alpha(data, picture)
        return flatten(picture)
    except _BROKEN:
        raise ImportFailed("the picture is damaged or cut short") from None


def _bmp_with_alpha(data: bytes, picture: Image) -> Image:
    """A 32-bit BMP stores a fourth byte that Pillow ignores; what the Windows clipboard
    writes puts alpha there (transparent = black, read without it). Use it when it varies."""
    from PIL import Image as PILImage

    if int.from_bytes(data[28:30], "little") != 32 or picture.mode != "RGB":
        return picture
    offset = int.from_bytes(data[10:14], "little")
    height = int.from_bytes(data[22:26], "little", signed=True)
    width, rows = picture.size
    raw = data[offset : offset + width * rows * 4]
    if len(raw) < width * rows * 4:
        return picture
    withalpha = PILImage.frombuffer(
        "RGBA", (width, rows), raw, "raw", "BGRA", 0, -1 if height > 0 else 1
    )
    lo, hi = withalpha.getchannel("A").getextrema()
    return withalpha if lo != hi else picture


def flatten(picture: Image) -> Image:
    """8-bit greyscale, transparency composited onto white (QR codes copied from web pages
    are often black modules on transparent pixels)."""
    from PIL import Image as PILImage

    if picture.mode in ("RGBA", "LA", "PA") or (
        picture.mode == "P" and "transparency" in picture.info
    ):
        rgba = picture.convert("RGBA")
        white = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
        picture = PILImage.alpha_composite(white, rgba)
    return picture.convert("L")


def scan(picture: Image) -> QrScan:
    """Every QR code in a decoded picture (any size up to MAX_PIXELS)."""
    import zxingcpp

    width, height = picture.size
    if width * height > MAX_PIXELS:
        raise FileTooLarge(f"the picture has more than {MAX_PIXELS:,} pixels")
    found = zxingcpp.read_barcodes(
        flatten(picture), formats=zxingcpp.BarcodeFormat.QRCode, return_errors=True
    )
    texts = tuple(b.text for b in found if b.valid and b.text)
    return QrScan(_unique(texts), sum(1 for b in found if not b.valid))


def scan_bytes(data: bytes) -> QrScan:
    return scan(open_image(data))


def codes(found: QrScan, where: str, item: str = "QR code") -> QrCodes:
    """The accounts in the QR texts found ``where`` ("in the picture", "on the screen"). Raises
    ImportFailed, saying why, when not one QR code holds a 2FA code. ``item`` names each
    text in errors ("QR code 2: the secret is not base32")."""
    results: list[Account | Skipped] = []
    ignored = 0
    for i, text in enumerate(found.texts, 1):
        label = f"{item} {i}" if len(found.texts) > 1 else f"the {item}"
        head = text.lstrip()[:24].lower()
        if head.startswith(migration.SCHEME):
            results += migration.accounts_from_uri(text, label)
        elif head.startswith(OTPAUTH):
            results += each([text], lambda uri, _where, label=label: parse_otpauth(uri, label))
        else:
            ignored += 1
        check_count(len(results))
    accounts = tuple(r for r in results if isinstance(r, Account))
    skipped = tuple(r for r in results if isinstance(r, Skipped))
    if accounts:
        return QrCodes(accounts, ignored, skipped)
    if skipped:  # every 2FA link found is one otpsync cannot make: say why
        raise ImportFailed(f"{skipped[0].label}: {printable(skipped[0].reason)}")
    if ignored:
        what = "the QR code" if ignored == 1 else f"all {ignored} QR codes"
        raise ImportFailed(
            f"{what} {where} {'holds' if ignored == 1 else 'hold'} something else, not a"
            " 2FA code (no otpauth:// or otpauth-migration:// link)"
        )
    if found.unreadable:  # zxing may report one damaged code twice: no count
        raise ImportFailed(f"cannot read the QR code {where} (damaged, blurred or partly covered?)")
    raise ImportFailed(f"no QR code found {where}")


def read(data: bytes, password: str | None = None) -> list[Account | Skipped]:
    found = codes(scan_bytes(data), "in the picture")
    return [*found.accounts, *found.skipped]


IMPORTER = Importer(
    name="qr-image",
    title="QR code picture",
    description="PNG/JPEG picture of QR codes: otpauth:// set-up codes, Google"
    " Authenticator's export QR",
    sniff=is_image,
    read=read,
)
