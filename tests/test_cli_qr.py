"""`otpsync add --qr IMAGE`, `otpsync import IMAGE` and `add --scan-screen` without a
screen, through the installed command on real homes and real picture files."""

from __future__ import annotations

import json
import os
import pty
import select
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, Home, base_env, otpsync_argv
from tests.qr_support import GITHUB, GITLAB, damaged, encoded, google_export, qr_picture, sheet

MakeHome = Callable[..., Home]


@pytest.fixture
def laptop(make_home: MakeHome) -> Home:
    return make_home("laptop")


def picture(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def listed(home: Home) -> list[str]:
    """ "GitHub — alice" for each code in ``home``'s vault, from ``otpsync list --json``."""
    return [f"{a['issuer']} — {a['account']}" for a in json.loads(home.ok("list", "--json").stdout)]


def test_add_qr_adds_every_account_of_a_google_export_code(laptop: Home, tmp_path: Path) -> None:
    export = picture(
        tmp_path, "export.png", encoded(qr_picture(google_export("ann", "ben", "cid")))
    )
    done = laptop.ok("add", "--qr", str(export), "--yes")
    assert done.stdout.splitlines() == [
        f"Found 3 codes in {export}: 3 new, 0 already here",
        "  + Google — ann",
        "  + Google — ben",
        "  + Google — cid",
        "Added 3 codes. `otpsync undo` reverts it.",
    ]
    assert listed(laptop) == ["Google — ann", "Google — ben", "Google — cid"]
    # Only new codes: the same picture again adds nothing and leaves the vault as it was.
    before = laptop.digest()
    again = laptop.ok("add", "--qr", str(export), "--yes")
    assert "0 new, 3 already here" in again.stdout
    assert "Nothing to add." in again.stderr
    assert laptop.digest() == before


def test_add_qr_reads_the_real_google_export_picture(laptop: Home) -> None:
    image = FIXTURES / "extract-otp-secrets-tests" / "test_googleauth_export.png"
    if not image.exists():
        pytest.skip(f"interop fixtures not found at {FIXTURES}")
    done = laptop.ok("add", "--qr", str(image), "--yes")
    assert "Found 3 codes" in done.stdout
    assert "Added 3 codes." in done.stdout
    assert len(listed(laptop)) == 3


def test_without_a_terminal_or_yes_nothing_is_added(laptop: Home, tmp_path: Path) -> None:
    page = picture(tmp_path, "page.png", encoded(sheet(GITHUB, "https://example.com", GITLAB)))
    before = laptop.digest()
    done = laptop.run("add", "--qr", str(page))
    assert done.returncode == 2
    assert "  + GitHub — alice" in done.stdout
    assert "  + GitLab — alice" in done.stdout
    assert "(1 other QR code passed over: not a 2FA code)" in done.stdout
    assert done.stderr == (
        "otpsync: error: nothing added: no terminal to ask whether to add 2 codes;"
        " run again with --yes\n"
    )
    assert laptop.digest() == before


def in_terminal(home: Home, *args: str, answer: str) -> tuple[int, str]:
    """``otpsync ARGS`` on a pseudo-terminal (so it asks), answering its question."""
    env = base_env(OTPSYNC_HOME=str(home.path), OTPSYNC_PASSPHRASE=home.passphrase)
    argv = [*otpsync_argv(), *args]
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes otpsync
        os.execvpe(argv[0], argv, env)  # noqa: S606 (an argument list, no shell)
    seen, answered = b"", False
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal: it has exited
                break
            if not chunk:
                break
            seen += chunk
            if not answered and b"[y/N]" in seen:
                os.write(fd, answer.encode() + b"\n")
                answered = True
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace").replace("\r", "")


@pytest.mark.parametrize("answer", ["y", "n"])
def test_in_a_terminal_it_asks_before_adding(laptop: Home, tmp_path: Path, answer: str) -> None:
    code = picture(tmp_path, "github.png", encoded(qr_picture(GITHUB)))
    before = laptop.digest()
    status, output = in_terminal(laptop, "add", "--qr", str(code), answer=answer)
    assert status == 0, output
    assert "  + GitHub — alice" in output
    assert "Add 1 new code? [y/N]" in output
    if answer == "y":
        assert "Added 1 code." in output
        assert listed(laptop) == ["GitHub — alice"]
    else:
        assert "Nothing added." in output
        assert laptop.digest() == before


def test_import_reads_a_picture_too(laptop: Home, tmp_path: Path) -> None:
    code = picture(tmp_path, "github.jpg", encoded(qr_picture(GITHUB).convert("RGB"), "JPEG"))
    done = laptop.ok("import", str(code), "--yes")
    assert "holds 1 code: 1 new" in done.stdout
    assert listed(laptop) == ["GitHub — alice"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: encoded(sheet()), "no QR code found in the picture"),
        (lambda: encoded(damaged(GITHUB)), "cannot read the QR code in the picture (damaged,"),
        (
            lambda: encoded(qr_picture("https://example.com/pay?id=7")),
            "the QR code in the picture holds something else, not a 2FA code",
        ),
        (lambda: b"This is just a text file masquerading as an image.", "not a picture otpsync"),
    ],
    ids=["no-qr", "broken-qr", "other-qr", "not-a-picture"],
)
@pytest.mark.parametrize("command", ["add", "import"])
def test_pictures_without_a_code_give_one_line_and_change_nothing(
    laptop: Home, tmp_path: Path, make: Callable[[], bytes], message: str, command: str
) -> None:
    path = picture(tmp_path, "shot.png", make())
    before = laptop.digest()
    args = ("add", "--qr", str(path), "--yes") if command == "add" else ("import", str(path))
    done = laptop.run(*args)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"otpsync: error: {path}: "), done.stderr
    if command == "add" or "not a picture" not in message:
        assert message in lines[0]
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert laptop.digest() == before


def test_a_missing_or_huge_picture(laptop: Home, tmp_path: Path) -> None:
    done = laptop.run("add", "--qr", str(tmp_path / "nope.png"))
    assert done.stderr == f"otpsync: error: {tmp_path / 'nope.png'}: file not found\n"
    huge = picture(tmp_path, "huge.png", b"\x89PNG\r\n\x1a\n" + bytes(17 * 1024 * 1024))
    done = laptop.run("add", "--qr", str(huge))
    assert done.returncode == 1, done.stderr
    assert "larger than" in done.stderr, done.stderr


def test_qr_flags_do_not_mix_with_a_code(laptop: Home, tmp_path: Path) -> None:
    done = laptop.run("add", "--qr", str(tmp_path / "x.png"), "--issuer", "X")
    assert done.returncode == 2
    assert "--qr and --scan-screen take no other code" in done.stderr
    done = laptop.run("add", "--issuer", "X", "--yes", input="JBSWY3DPEHPK3PXP\n")
    assert done.returncode == 2
    assert "--yes goes with --qr or --scan-screen" in done.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DISPLAY": "", "WAYLAND_DISPLAY": ""}, "no graphical session to capture"),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "cannot capture the screen on Wayland"),
    ],
)
def test_scan_screen_says_what_is_missing(laptop: Home, env: dict[str, str], message: str) -> None:
    before = laptop.digest()
    done = laptop.run("add", "--scan-screen", "--yes", env=env)
    assert done.returncode == 1
    assert done.stderr.startswith(f"otpsync: error: {message}")
    assert done.stderr.count("\n") == 1
    assert laptop.digest() == before
