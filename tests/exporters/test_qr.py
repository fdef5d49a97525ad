"""QR export: each PNG is a readable image of a QR code that scans back to exactly the
account's otpauth URI, with its label printed underneath; file names are safe ASCII."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from daemon import importers
from daemon.core.accounts import MAX_COUNTER, Account
from daemon.core.otpauth import to_uri
from daemon.errors import InvalidAccount
from daemon.exporters import otpauth, qr

SECRET = "JBSWY3DPEHPK3PXP"
ACCOUNTS = {
    "totp": Account.create(issuer="GitHub", account="alice@example.com", secret=SECRET),
    "hotp": Account.create(
        type="hotp", issuer="Bank", account="bob", secret=SECRET * 2, algorithm="SHA512",
        digits=8, counter=MAX_COUNTER,
    ),
    "steam": Account.create(type="steam", issuer="Steam", account="gamer", secret=SECRET),
    "unicode": Account.create(issuer="Ünïcødé 日本", account="名前 🙂 a+b&c=d?e#f", secret=SECRET),
    "long": Account.create(
        issuer="A Very Long Issuer Name Incorporated International " * 3,
        account="someone.with.a.long.address@example.organisation.com",
        secret=SECRET * 8,
    ),
    "unnamed": Account.create(secret=SECRET, period=60),
}  # fmt: skip


def open_png(data: bytes) -> PngImagePlugin.PngImageFile:
    image = Image.open(io.BytesIO(data))
    assert isinstance(image, PngImagePlugin.PngImageFile)
    image.load()
    return image


def find_decoder() -> tuple[Callable[[Path], str] | None, str]:
    """A QR decoder, or None and why there is none."""
    try:
        from pyzbar import pyzbar  # optional; needs the libzbar library
    except (ImportError, OSError):
        pass
    else:
        return (lambda path: pyzbar.decode(Image.open(path))[0].data.decode("ascii")), ""
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        return None, "no QR decoder: pyzbar (with libzbar) or zbarimg (Debian: zbar-tools)"

    def run(path: Path) -> str:
        done = subprocess.run(
            [zbarimg, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
            capture_output=True,
            check=True,
            timeout=60,
        )
        return done.stdout.decode("ascii").removesuffix("\n")

    return run, ""


DECODE, NO_DECODER = find_decoder()


# --- the image ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ACCOUNTS))
def test_png_is_a_square_code_with_a_label_underneath(name: str) -> None:
    image = open_png(qr.png(ACCOUNTS[name]))
    width, height = image.size
    assert width >= qr.MIN_WIDTH
    assert width < height <= 1.35 * width  # the code, then a label area
    grey = image.convert("L")
    quiet = qr.QUIET_ZONE * qr.MIN_MODULE
    assert grey.crop((0, 0, width, quiet)).getextrema() == (255, 255)  # quiet zone above
    assert grey.crop((0, 0, quiet, width)).getextrema() == (255, 255)  # and to the left
    assert grey.crop((0, 0, width, width)).getextrema() == (0, 255)  # the code
    label = grey.crop((0, width, width, height))
    assert label.getextrema()[0] < 128  # something is written there
    assert not image.text  # no metadata: the PNG is the picture and nothing else


def test_png_is_deterministic() -> None:
    account = ACCOUNTS["unicode"]
    assert qr.png(account) == qr.png(account)


@pytest.mark.skipif(DECODE is None, reason=NO_DECODER)
@pytest.mark.parametrize("name", list(ACCOUNTS))
def test_png_scans_back_to_exactly_the_uri(name: str, tmp_path: Path) -> None:
    assert DECODE is not None
    path = tmp_path / "code.png"
    path.write_bytes(qr.png(ACCOUNTS[name]))
    assert DECODE(path) == to_uri(ACCOUNTS[name])


@settings(max_examples=25, deadline=None)
@given(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=120),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=120),
)
def test_png_draws_any_label(issuer: str, account_name: str) -> None:
    """Controls, combining marks, right-to-left and astral characters: always a picture
    (and, with a decoder here, one that scans back to the URI)."""
    account = Account.create(issuer=issuer, account=account_name, secret=SECRET)
    data = qr.png(account)
    image = open_png(data)
    assert image.size[0] < image.size[1]
    if DECODE is not None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "code.png"
            path.write_bytes(data)
            assert DECODE(path) == to_uri(account)


def test_label_wraps_to_two_lines_that_fit() -> None:
    face = qr.Typeface.of_size(20)
    lines = qr._wrap("GitHub — " + "word " * 100, face, 400)
    assert len(lines) == qr.MAX_LABEL_LINES
    assert lines[0].startswith("GitHub — ")
    assert lines[-1].endswith("…")
    assert all(face.length(line) <= 400 for line in lines)
    assert qr._wrap("x" * 300, face, 400)[-1].endswith("…")  # no spaces to break at
    assert qr._wrap("GitHub — alice", face, 400) == ["GitHub — alice"]


def test_label_without_any_system_font(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qr, "FONT_CANDIDATES", ())
    image = open_png(qr.png(ACCOUNTS["totp"]))
    width, height = image.size
    assert image.convert("L").crop((0, width, width, height)).getextrema()[0] < 128


def test_a_uri_too_long_for_any_qr_code_is_refused_clearly() -> None:
    account = Account.create(issuer="日本" * 250, account="名前" * 250, secret=SECRET)
    with pytest.raises(InvalidAccount, match="too long for a QR code"):
        qr.png(account)


def test_the_uri_list_holds_what_the_codes_hold_and_reads_back() -> None:
    """The plain-text export: the same URIs, one a line, read back as the same codes."""
    accounts = list(ACCOUNTS.values())
    data = otpauth.uri_list(accounts)
    assert data.decode("ascii").splitlines() == [to_uri(a) for a in accounts]
    assert importers.detect(data) == "otpauth"
    assert [a.identity() for a in importers.parse(data).accounts] == [
        a.identity() for a in accounts
    ]
    assert [a.label for a in importers.parse(data).accounts] == [a.label for a in accounts]
    assert otpauth.uri_list([]) == b""


# --- file names --------------------------------------------------------------------------------

SAFE_NAME = re.compile(r"[0-9]+-[A-Za-z0-9._@-]+\.png")
TRICKY = [
    ("GitHub", "alice"),
    ("../../etc", "passwd"),
    ("..", ".."),
    (".hidden", ".bashrc"),
    ("a/b\\c", 'd:e*f?g"h<i>j|k'),
    ("CON", "NUL"),
    ("日本", "名前"),
    ("", ""),
    ("Ünïcødé Straße", "Søren Łukasz"),
    ("tab\there", "new\nline\x00nul"),
    ("-", "--"),
    ("x" * 512, "y" * 512),
    ("GitHub", "alice"),  # the same label again
    ("github", "ALICE"),  # the same on a case-insensitive file system
]


def test_file_name_example() -> None:
    assert qr.file_name(ACCOUNTS["totp"], 1) == "01-GitHub-alice@example.com.png"
    assert qr.file_name(Account.create(issuer="GitHub", account="alice", secret=SECRET), 1) == (
        "01-GitHub-alice.png"
    )
    assert qr.file_name(ACCOUNTS["unnamed"], 7, width=3) == "007-code.png"
    assert qr.file_name(ACCOUNTS["unicode"], 12) == "12-Unicode-a-b-c-d-e-f.png"
    with pytest.raises(ValueError, match="negative"):
        qr.file_name(ACCOUNTS["totp"], -1)


def test_file_names_are_safe_and_unique_for_tricky_labels() -> None:
    accounts = [Account.create(issuer=i, account=a, secret=SECRET) for i, a in TRICKY]
    names = [qr.file_name(account, n) for n, account in enumerate(accounts, 1)]
    for name in names:
        assert name.isascii()
        assert SAFE_NAME.fullmatch(name), name
        assert not name.startswith(".")
        assert ".." not in name
        assert len(name) <= 100
    assert len({name.casefold() for name in names}) == len(names)
    assert names[8] == "09-Unicode-Strasse-Soren-Lukasz.png"


@settings(max_examples=300, deadline=None)
@given(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=60),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=60),
    st.integers(0, 10_000),
)
def test_file_name_is_safe_for_any_label(issuer: str, account: str, index: int) -> None:
    name = qr.file_name(Account.create(issuer=issuer, account=account, secret=SECRET), index)
    assert SAFE_NAME.fullmatch(name), name
    assert name.startswith(f"{index:02d}-")
    assert ".." not in name
