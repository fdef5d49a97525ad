"""QR pictures for the tests, drawn with the ``qrcode`` package otpsync already uses for its
QR exports: set-up codes, Google export codes holding several accounts, damaged codes."""

from __future__ import annotations

import io
import random

import qrcode
from PIL import Image, ImageDraw

from tests.importers.support import migration_uri, otp_parameters

BOX, BORDER = 8, 4  # pixels per module; quiet zone in modules

# Real-looking set-up links (160-bit secrets).
GITHUB = "otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=GitHub"
GITLAB = "otpauth://totp/GitLab:alice?secret=KRSXG5CTMVRXEZLUKN2XAZLSKRSXG5CT&issuer=GitLab"
COUNTER = "otpauth://hotp/Yubi:bob?secret=MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UOV3HO6DZ&counter=7"


def google_export(*names: str) -> str:
    """An ``otpauth-migration://`` link holding one TOTP account per name (issuer "Google")."""
    params = [
        otp_parameters(f"secret-of-{n}-0123456789".encode(), n, "Google", 1, 1, 2, 0) for n in names
    ]
    return migration_uri(params)


def qr_picture(text: str, *, box: int = BOX) -> Image.Image:
    q = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box,
                      border=BORDER)  # fmt: skip
    q.add_data(text)
    q.make(fit=True)
    return q.make_image().get_image().convert("L")


def sheet(*texts: str, size: tuple[int, int] | None = None) -> Image.Image:
    """Several QR codes side by side on a white page (a web page, a printout)."""
    codes = [qr_picture(t) for t in texts]
    width = sum(c.width for c in codes) + 40 * (len(codes) + 1)
    height = max((c.height for c in codes), default=100) + 80
    page = Image.new("L", size or (width, height), 255)
    x = 40
    for c in codes:
        page.paste(c, (x, 40))
        x += c.width + 40
    return page


def damaged(text: str, share: float = 0.25, seed: int = 1) -> Image.Image:
    """A QR code with ``share`` of its data modules scribbled over: its three finder squares
    are intact, so a reader sees a QR code, but the error correction cannot recover it."""
    q = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, box_size=BOX,
                      border=BORDER)  # fmt: skip
    q.add_data(text)
    q.make(fit=True)
    picture = q.make_image().get_image().convert("L")
    draw = ImageDraw.Draw(picture)
    rng = random.Random(seed)
    n = q.modules_count
    for _ in range(int(share * n * n)):
        x, y = rng.randrange(9, n - 1), rng.randrange(9, n - 1)
        left, top = (x + BORDER) * BOX, (y + BORDER) * BOX
        draw.rectangle([left, top, left + BOX - 1, top + BOX - 1], fill=rng.choice([0, 255]))
    return picture


def encoded(picture: Image.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    picture.save(out, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return out.getvalue()
