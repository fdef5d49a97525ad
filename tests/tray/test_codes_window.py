"""The codes window: the real Tk window on a private Xvfb, real homes, the real clipboard.

In-process tests drive ``CodesWindow`` through its own key bindings (``event_generate`` on
the search field) and read its rows; the end-to-end test runs ``otpsync codes`` as a person
would, types with xdotool, presses Enter and reads the clipboard with xclip after the
window has gone. With OTPSYNC_CODES_SCREENSHOT=PATH it also saves the window's picture
there (how docs/codes.png is made).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.conftest import PASSPHRASE, Home, base_env, otpsync_argv
from tests.daemon_support import wait_for
from tests.tray.support import XServer, service, stop, xvfb

tk = pytest.importorskip("tkinter", reason="tkinter missing (Debian: apt-get install python3-tk)")

from tray.clipboard import Clipboard, ClipboardTool  # noqa: E402
from tray.codes_window import CodeBook, CodesWindow, matches  # noqa: E402

GITHUB_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
GOOGLE_SECRET = "KRSXG5CTMVRXEZLUKN2XAZLSKRSXG5CT"
YUBI_SECRET = "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UOV3HO6DZ"
CODES = (
    f"otpauth://totp/GitHub:alice?secret={GITHUB_SECRET}&issuer=GitHub",
    f"otpauth://totp/GitHub:bob%40work?secret={GOOGLE_SECRET}&issuer=GitHub",
    f"otpauth://totp/Google:alice%40gmail.com?secret={GOOGLE_SECRET}&issuer=Google&digits=8",
    f"otpauth://hotp/Yubico:bob?secret={YUBI_SECRET}&issuer=Yubico&counter=7",
    "otpauth://totp/Evil%E2%80%AEcorp:x%1B%5B31m?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    "&issuer=Evil%E2%80%AEcorp",
)
XCLIP = ClipboardTool(
    "xclip",
    ("xclip", "-selection", "clipboard", "-in"),
    ("xclip", "-selection", "clipboard", "-out"),
)


def missing() -> str | None:
    gone = [t for t in ("Xvfb", "xclip", "xdotool") if shutil.which(t) is None]
    return (
        f"{', '.join(gone)} not installed (Debian: apt-get install xvfb xclip xdotool)"
        if gone
        else None
    )


pytestmark = pytest.mark.skipif(missing() is not None, reason=missing() or "")


@pytest.fixture(scope="module")
def server() -> Iterator[XServer]:
    with xvfb("1024x600x24") as x:
        yield x


@pytest.fixture
def display(server: XServer, monkeypatch: pytest.MonkeyPatch) -> XServer:
    monkeypatch.setenv("DISPLAY", server.display)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    return server


@pytest.fixture
def home(clone_home: Callable[..., Home]) -> Home:
    return clone_home("laptop", CODES)


def totp(secret: str, at: float, digits: int = 6) -> str:
    return pyotp.TOTP(secret, digits=digits).at(at)


def paste(server: XServer) -> str:
    done = subprocess.run(
        XCLIP.paste, env=server.env(), capture_output=True, text=True, timeout=10, check=False
    )
    return done.stdout


class Window:
    """A CodesWindow on the test's display, pumped by hand instead of by mainloop()."""

    def __init__(self, home: Home, *, clear_after: float = 0.5, query: str = "") -> None:
        self.book = CodeBook(service(home))
        self.win = CodesWindow(self.book, Clipboard(clear_after, XCLIP), query=query)
        self.win.root.after(0, self.win._wait_loaded)
        self.win._load()  # in this thread: the tests need no race with the loader
        self.pump(lambda: self.win._loaded)

    def pump(self, until: Callable[[], Any], timeout: float = 10.0) -> Any:
        def step() -> Any:
            self.win.root.update()
            return until()

        return wait_for(step, timeout, "the window")

    def rows(self) -> list[tuple[str, ...]]:
        tree = self.win.tree
        return [tuple(tree.item(i, "values")) for i in tree.get_children()]

    def type(self, text: str) -> None:
        self.win.query.set(text)
        self.win.root.update()

    def key(self, name: str) -> None:
        self.win.entry.event_generate(f"<{name}>")
        self.win.root.update()

    def alive(self) -> bool:
        try:
            return bool(self.win.root.winfo_exists())
        except tk.TclError:
            return False

    def close(self) -> None:
        if self.alive():
            self.win.close()
        for clearer in self.win.clipboard.clearers:  # detached by design; here, waited for
            clearer.wait(15)


@pytest.fixture
def window(display: XServer, home: Home) -> Iterator[Callable[..., Window]]:
    made: list[Window] = []

    def make(**kw: Any) -> Window:
        w = Window(home, **kw)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


# --- matching ---------------------------------------------------------------------------------


def test_every_word_must_match_issuer_or_account_in_any_case() -> None:
    assert matches("", "GitHub", "alice")
    assert matches("git ALI", "GitHub", "alice")
    assert matches("hub", "GitHub", "alice")
    assert not matches("git bob", "GitHub", "alice")
    assert matches("ß", "Straße", "")  # casefold, not lower: "STRASSE" would match too
    assert matches("strasse", "Straße", "")


# --- the window, in process ---------------------------------------------------------------------


def test_rows_show_issuer_account_code_and_seconds_left(window: Callable[..., Window]) -> None:
    w = window()
    now = time.time()
    rows = w.rows()
    assert [r[:2] for r in rows] == [
        ("Evil\\u202ecorp", "x\\x1b[31m"),  # controls and a bidi override, spelled out
        ("GitHub", "alice"),
        ("GitHub", "bob@work"),
        ("Google", "alice@gmail.com"),
        ("Yubico", "bob"),
    ]
    github = rows[1]
    assert github[2].replace(" ", "") in {totp(GITHUB_SECRET, now), totp(GITHUB_SECRET, now + 1)}
    assert github[3].endswith(" s")
    assert 1 <= int(github[3].removesuffix(" s")) <= 30
    assert rows[3][2].replace(" ", "") in {
        totp(GOOGLE_SECRET, now, 8), totp(GOOGLE_SECRET, now + 1, 8)
    }  # fmt: skip
    assert rows[4][2:] == ("next", "")  # HOTP: no code until asked for
    assert w.win.status.cget("text") == "↑↓ choose · Enter copies · Esc closes"
    assert w.win.root.focus_get() is w.win.entry  # typing goes to the search field


def test_typing_filters_as_you_type(window: Callable[..., Window]) -> None:
    w = window()
    w.type("git")
    assert [r[:2] for r in w.rows()] == [("GitHub", "alice"), ("GitHub", "bob@work")]
    w.type("GIT bob")
    assert [r[:2] for r in w.rows()] == [("GitHub", "bob@work")]
    w.type("alice")
    assert [r[:2] for r in w.rows()] == [("GitHub", "alice"), ("Google", "alice@gmail.com")]
    w.type("nothing like it")
    assert w.rows() == []
    assert w.win.status.cget("text") == "No code matches “nothing like it”."


def test_enter_copies_the_first_match_and_closes(window: Callable[..., Window], home: Home,
                                                 display: XServer) -> None:  # fmt: skip
    w = window()
    w.type("google")
    before = time.time()
    w.key("Return")
    after = time.time()
    assert not w.alive()
    assert w.win.copied == "Google — alice@gmail.com"
    assert paste(display) in {totp(GOOGLE_SECRET, before, 8), totp(GOOGLE_SECRET, after, 8)}


def test_up_and_down_choose_the_row_enter_copies(window: Callable[..., Window],
                                                 display: XServer) -> None:  # fmt: skip
    w = window()
    w.type("git")
    w.key("Down")  # the first
    w.key("Down")  # the second: bob
    w.key("Down")  # stays on the last
    w.key("Up")
    w.key("Down")
    assert w.win.tree.selection() == (w.win.tree.get_children()[1],)
    before = time.time()
    w.key("Return")
    assert w.win.copied == "GitHub — bob@work"
    assert paste(display) in {totp(GOOGLE_SECRET, before), totp(GOOGLE_SECRET, time.time())}


def test_enter_on_an_hotp_row_steps_its_counter_then_copies(
    window: Callable[..., Window], home: Home, display: XServer
) -> None:
    w = window()
    w.type("yubico")
    w.key("Return")
    assert paste(display) == pyotp.HOTP(YUBI_SECRET).at(8)  # counter 7 → 8, as code --next
    (yubi,) = [a for a in service(home).vault().accounts if a.issuer == "Yubico"]
    assert yubi.counter == 8
    assert service(home).last_change() == "advance"  # undo steps back over it


def test_escape_closes_without_copying(window: Callable[..., Window], display: XServer) -> None:
    subprocess.run(XCLIP.copy, input=b"untouched", env=display.env(), timeout=10, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    w = window()
    w.key("Escape")
    assert not w.alive()
    assert w.win.copied is None
    assert paste(display) == "untouched"


def test_codes_added_while_open_show_up_and_nothing_is_locked(
    window: Callable[..., Window], home: Home
) -> None:
    w = window(query="gitlab")
    assert w.rows() == []
    # The CLI changes the vault while the window is open: it must not wait for any lock.
    uri = f"otpauth://totp/GitLab:carol?secret={GITHUB_SECRET}ABCD&issuer=GitLab"
    started = time.monotonic()
    home.ok("add", "-", input=uri + "\n")
    assert time.monotonic() - started < 10
    w.pump(lambda: w.rows(), timeout=5)
    assert [r[:2] for r in w.rows()] == [("GitLab", "carol")]


def test_long_labels_are_cut(window: Callable[..., Window], home: Home) -> None:
    long_issuer, long_account = "I" * 300, "a" * 400 + "@example.com"
    home.ok("add", "--issuer", long_issuer, "--account", long_account, "--secret", "-",
            input=GITHUB_SECRET + "XY\n")  # fmt: skip
    w = window(query="iii")
    ((issuer, account, _code, _left),) = w.rows()
    assert issuer == "I" * 39 + "…"
    assert account == "a" * 59 + "…"
    w.key("Down")  # chosen: the status line shows the label whole (up to 100 characters)
    assert w.win.status.cget("text") == "I" * 99 + "…"


def test_a_vault_that_does_not_open_is_said_in_the_window(display: XServer, home: Home) -> None:
    svc = service(home)
    svc.use_passphrase("not the passphrase")
    win = CodesWindow(CodeBook(svc), Clipboard(30, XCLIP))
    try:
        win._load()
        win._wait_loaded()
        win.root.update()
        assert win.status.cget("text").startswith("Cannot open the vault: ")
        assert "passphrase" in win.status.cget("text")
        assert win.tree.get_children() == ()
    finally:
        win.close()


# --- end to end: `otpsync codes`, xdotool, xclip ------------------------------------------------


def window_id(server: XServer, proc: subprocess.Popen[str]) -> str:
    """The X window id of the codes window, once it is on screen."""

    def found() -> str | None:
        if proc.poll() is not None:
            raise AssertionError(f"otpsync codes exited {proc.returncode}")
        found = server.windows("--name", "^otpsync$")
        return found[0] if found else None

    return wait_for(found, 15, "the codes window")  # type: ignore[no-any-return]


def focused(server: XServer) -> str:
    """The top-level window with the keyboard focus (xdotool's own lookup)."""
    return subprocess.run(["xdotool", "getwindowfocus"], env=server.env(), capture_output=True,
                          text=True, timeout=10, check=False).stdout.strip()  # fmt: skip


@pytest.mark.parametrize("passphrase", ["stdin", "environment"])
def test_otpsync_codes_types_enter_and_the_code_is_on_the_clipboard_after_it_closed(
    server: XServer, clone_home: Callable[..., Home], tmp_path: Path, passphrase: str
) -> None:
    home = clone_home("laptop", CODES)
    config = home.path / "config.toml"
    config.write_text(config.read_text() + '\n[tray]\nclipboard_clear = "3s"\n')
    env = server.env(**base_env(OTPSYNC_HOME=str(home.path)))
    env["DISPLAY"] = server.display
    args = ["codes"]
    if passphrase == "stdin":  # how the tray opens it: the passphrase through a pipe
        args.append("--passphrase-stdin")
    else:
        env["OTPSYNC_PASSPHRASE"] = PASSPHRASE
    out_file, err_file = tmp_path / "out.txt", tmp_path / "err.txt"
    with open(out_file, "w") as out, open(err_file, "w") as err:
        proc = subprocess.Popen([*otpsync_argv(), *args], stdin=subprocess.PIPE, stdout=out,
                                stderr=err, text=True, env=env)  # fmt: skip
    try:
        assert proc.stdin is not None
        if passphrase == "stdin":
            proc.stdin.write(PASSPHRASE + "\n")
        proc.stdin.close()
        wid = window_id(server, proc)
        # It takes the keyboard focus by itself (started from a shortcut, nothing gives it).
        wait_for(lambda: focused(server) == wid, 10, "the window to take the focus")
        subprocess.run(["xdotool", "type", "--delay", "30", "hub BOB"], env=server.env(),
                       timeout=20, check=True)  # fmt: skip
        before = time.time()
        subprocess.run(["xdotool", "key", "Return"], env=server.env(), timeout=20, check=True)
        proc.wait(20)
        after = time.time()
    finally:
        stop(proc)
    err_text = err_file.read_text()
    assert proc.returncode == 0, err_text
    assert (
        out_file.read_text()
        == "Copied the code of GitHub — bob@work; the clipboard is cleared in 3 s.\n"
    )
    # The window is gone and the code is still there to paste…
    assert paste(server) in {totp(GOOGLE_SECRET, before), totp(GOOGLE_SECRET, after)}
    # …until the clipboard is cleared, by a helper that outlived the window.
    wait_for(lambda: paste(server) == "", 15, "the clipboard to be cleared")


def test_otpsync_codes_without_a_vault_says_so_on_the_command_line(
    make_home: Callable[..., Home], display: XServer
) -> None:
    fresh = make_home("new", init=False)
    done = fresh.run("codes", env={"DISPLAY": display.display})
    assert done.returncode == 1
    assert done.stderr == (
        f"otpsync: error: no vault at {fresh.path / 'data' / 'vault.4otp.txt'};"
        " run `otpsync init` first\n"
    )


def test_otpsync_codes_without_a_display_says_so(home: Home) -> None:
    done = home.run("codes", env={"DISPLAY": "", "WAYLAND_DISPLAY": ""})
    assert done.returncode == 1
    assert done.stderr == (
        "otpsync: error: cannot open the codes window: no display (DISPLAY is not set)\n"
    )


README_CODES = (
    f"otpauth://totp/GitHub:alice?secret={GITHUB_SECRET}&issuer=GitHub",
    f"otpauth://totp/Google:alice%40gmail.com?secret={GOOGLE_SECRET}&issuer=Google",
    "otpauth://totp/Dropbox:alice?secret=MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43UOV3HO6DZ&issuer=Dropbox",
    "otpauth://totp/Amazon:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Amazon",
    f"otpauth://hotp/Yubico:alice?secret={YUBI_SECRET}ABCD&issuer=Yubico&counter=3",
    "otpauth://totp/Bitwarden:alice%40example.com?secret=ONSWG4TFOQYTEMZUGU3DOOBZGAYTEMZU"
    "&issuer=Bitwarden",
)


def test_a_picture_of_the_window(
    display: XServer, clone_home: Callable[..., Home], tmp_path: Path
) -> None:
    """What docs/codes.png shows (OTPSYNC_CODES_SCREENSHOT=docs/codes.png writes it)."""
    from PIL import Image

    w = Window(clone_home("desk", README_CODES))
    try:
        w.type("ali")
        w.key("Down")
        w.key("Down")
        w.win.root.update()
        root = w.win.root
        box = (root.winfo_rootx(), root.winfo_rooty(), root.winfo_width(), root.winfo_height())
        out = Path(os.environ.get("OTPSYNC_CODES_SCREENSHOT") or tmp_path / "codes.png")
        x, y, width, height = box
        crop = ["-crop", f"{width}x{height}+{x}+{y}", "+repage"]
        subprocess.run(["import", "-window", "root", *crop, str(out)], env=display.env(),
                       timeout=20, check=True)  # fmt: skip
    finally:
        w.close()
    with Image.open(out) as img:
        assert img.size == (width, height)
        dark = sum(img.convert("L").point(lambda v: 255 if v < 80 else 0).histogram()[255:])
        assert dark > 2000  # text was drawn: headings, labels, codes


def test_an_empty_vault_says_how_to_add_a_code(
    display: XServer, clone_home: Callable[..., Home]
) -> None:
    w = Window(clone_home("empty"))
    try:
        assert w.rows() == []
        assert w.win.status.cget("text").startswith("No codes yet. Add one with `otpsync add`")
        w.key("Return")  # nothing to copy: the window stays
        assert w.alive()
    finally:
        w.close()
