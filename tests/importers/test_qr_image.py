"""QR codes in pictures: drawn by the ``qrcode`` package and as real apps and people made
them (the interop fixtures), every way a picture can fail to hold a 2FA code, and pictures
built to exhaust memory."""

from __future__ import annotations

import contextlib
import struct
import time
import zlib

import pytest
from PIL import Image

from daemon import importers
from daemon.errors import BackupError, FileTooLarge, ImportFailed, UnknownFormat
from daemon.importers import qr_image
from tests.importers.support import FIXTURES, SKIP_REASON, manifest
from tests.qr_support import (
    COUNTER,
    GITHUB,
    GITLAB,
    damaged,
    encoded,
    google_export,
    qr_picture,
    sheet,
)

QR = importers.get("qr-image")


def labels(data: bytes) -> list[str]:
    return [a.label for a in QR.parse(data).accounts]


def test_a_set_up_code_becomes_its_account() -> None:
    (account,) = QR.parse(encoded(qr_picture(GITHUB))).accounts
    assert (account.issuer, account.account, account.type) == ("GitHub", "alice", "totp")
    assert account.secret == "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_a_google_export_code_holds_several_accounts() -> None:
    data = encoded(qr_picture(google_export("ann", "ben", "cid")))
    assert importers.detect(data) == "qr-image"
    assert labels(data) == ["Google — ann", "Google — ben", "Google — cid"]


def test_every_code_on_a_page_is_read_and_other_codes_are_passed_over() -> None:
    page = sheet(GITHUB, "https://example.com/menu", google_export("ann"), COUNTER)
    found = qr_image.codes(qr_image.scan(page), "the picture")
    assert sorted(a.label for a in found.accounts) == [
        "GitHub — alice", "Google — ann", "Yubi — bob",
    ]  # fmt: skip
    assert found.ignored == 1
    assert next(a for a in found.accounts if a.type == "hotp").counter == 7


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "GIF"])
def test_picture_formats(fmt: str) -> None:
    data = encoded(sheet(GITHUB, GITLAB).convert("RGB"), fmt)
    assert importers.detect(data) == "qr-image"
    assert sorted(labels(data)) == ["GitHub — alice", "GitLab — alice"]


def test_modules_on_transparent_pixels_read_as_on_white() -> None:
    code = qr_picture(GITHUB)
    rgba = Image.new("RGBA", code.size, (0, 0, 0, 0))
    rgba.putalpha(code.point(lambda v: 255 - v))  # black modules, the rest transparent
    assert labels(encoded(rgba)) == ["GitHub — alice"]


def test_the_same_code_twice_is_one_account() -> None:
    assert labels(encoded(sheet(GITHUB, GITHUB))) == ["GitHub — alice"]


# --- why a picture holds no code ---------------------------------------------------------------


def test_no_qr_code() -> None:
    with pytest.raises(ImportFailed, match=r"^QR code picture: no QR code found in the picture$"):
        QR.parse(encoded(Image.new("L", (400, 300), 255)))


def test_a_damaged_qr_code() -> None:
    with pytest.raises(ImportFailed, match=r"cannot read the QR code in the picture \(damaged"):
        QR.parse(encoded(damaged(GITHUB)))


def test_a_qr_code_with_something_else_in_it() -> None:
    with pytest.raises(ImportFailed, match=r"the QR code in the picture holds something else"):
        QR.parse(encoded(qr_picture("WIFI:S:home;T:WPA;P:hunter22;;")))


def test_a_broken_link_in_a_qr_code_says_what_is_wrong_without_quoting_it() -> None:
    bad = "otpauth://totp/GitHub:alice?secret=NOT-BASE32-!!&issuer=GitHub"
    with pytest.raises(ImportFailed, match=r"the QR code: not a secret") as caught:
        QR.parse(encoded(qr_picture(bad)))
    assert "NOT-BASE32" not in str(caught.value)


def test_not_a_picture() -> None:
    text = b"This is just a text file masquerading as an image file."
    with pytest.raises(UnknownFormat):
        importers.detect(text)
    with pytest.raises(ImportFailed, match="not a picture otpsync can read"):
        QR.parse(text)


def test_a_picture_cut_short() -> None:
    data = encoded(qr_picture(GITHUB))
    with pytest.raises(ImportFailed, match=r"damaged or cut short|no QR code"):
        QR.parse(data[: len(data) // 2])


# --- pictures built to exhaust memory ------------------------------------------------------------


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` × ``height`` 1-bit pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width // 8 + 2) * 64)  # a few rows; the rest is missing
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [6_000, 40_000])  # 36 Mpx (ours), 1.6 Gpx (Pillow's too)
def test_a_decompression_bomb_is_refused_before_decoding(side: int) -> None:
    data = png_claiming(side, side)
    assert len(data) < 100_000
    started = time.monotonic()
    with pytest.raises(FileTooLarge, match="pixels"):
        QR.parse(data)
    assert time.monotonic() - started < 1.0


def test_a_big_screen_is_within_the_cap() -> None:
    assert qr_image.MAX_PIXELS > 7680 * 2160  # two 4K monitors side by side


# --- the interop fixtures ------------------------------------------------------------------------


def negative_records() -> list[object]:
    """The fixture pictures that hold no 2FA code (the others are in test_fixtures.py)."""
    if not (FIXTURES / "manifest.json").exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=SKIP_REASON))]
    return [
        pytest.param(r, id=r["file"])
        for r in manifest()["fixtures"]
        if r["file"].lower().endswith((".png", ".jpg", ".jpeg", ".bmp")) and not r["expected_count"]
    ]


@pytest.mark.parametrize("record", negative_records())
def test_fixture_pictures_without_a_code_say_why(record: dict[str, object]) -> None:
    data = (FIXTURES / str(record["file"])).read_bytes()
    if qr_image.is_image(data):  # a QR code with plain text or a web link in it
        with pytest.raises(ImportFailed, match="holds something else, not a 2FA code"):
            QR.parse(data)
    else:  # the text file with a .jpeg name
        with pytest.raises(ImportFailed, match="not a picture otpsync can read"):
            QR.parse(data)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_pictures_cut_short_or_flipped_fail_with_one_of_our_errors(fmt: str) -> None:
    data = encoded(sheet(GITHUB, google_export("ann")).convert("RGB"), fmt)
    variants = [data[:cut] for cut in (1, 8, 30, len(data) // 3, len(data) // 2, len(data) - 1)]
    for where in (20, 40, len(data) // 3, len(data) // 2):
        flipped = bytearray(data)
        flipped[where] ^= 0x10
        variants.append(bytes(flipped))
    for variant in variants:
        with contextlib.suppress(BackupError):  # anything else fails the test
            QR.parse(variant)
