"""``otpsync codes``: a small window to find a code by typing and copy it with Enter.

Keyboard first: the search field has the focus; every word typed must appear in the issuer
or the account (any case); Up/Down choose a row; Enter copies the chosen code (the first
match when none is chosen) and closes the window; Esc closes it. Codes and seconds left are
redrawn every second, and the vault file is re-read when it changes, so a code added
meanwhile (by the CLI, the tray or a merge) shows up. Nothing is locked while the window is
open: the vault is only read (an HOTP "next" takes the lock for the moment of the step).

The window appears at once and fills when the vault is open: the passphrase's key
derivation (~0.25 s by default) runs on a thread while Tk draws, so the window is up within
half a second of the command starting (bench/bench_codes_window.py measures it). Typing and
Enter before the codes are there are kept and acted on once they are.

The copied code has to stay pasteable after the window is gone: Tk's own clipboard dies
with the window on X11, so the code goes through ``tray.clipboard`` (xclip and friends serve
it from their own process) and the auto-clear is left to a detached helper.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import tkinter as tk
from collections.abc import Callable
from dataclasses import dataclass
from tkinter import font as tkfont
from tkinter import ttk
from typing import Any

from daemon.core.display import shown
from daemon.errors import OtpsyncError
from daemon.service import Service
from tray.clipboard import Clipboard

log = logging.getLogger(__name__)

TITLE = "otpsync"
TICK_MS = 1000
POLL_MS = 30
ISSUER_CHARS, ACCOUNT_CHARS = 40, 60
HINT = "↑↓ choose · Enter copies · Esc closes"


def matches(query: str, issuer: str, account: str) -> bool:
    """Every word of ``query`` appears in the issuer or the account, ignoring case."""
    haystack = f"{issuer}\n{account}".casefold()
    return all(word in haystack for word in query.casefold().split())


def grouped(code: str) -> str:
    """ "492 039": easier to read off; the copy is the bare code."""
    if len(code) in (6, 8) and code.isdigit():
        half = len(code) // 2
        return f"{code[:half]} {code[half:]}"
    return code


@dataclass(frozen=True, slots=True)
class Row:
    """One code as the window shows it (no secret in it)."""

    id: str
    issuer: str
    account: str
    counter_based: bool
    code: str  # grouped digits, or "next" for HOTP
    left: str  # "17 s", or "" for HOTP


class CodeBook:
    """The window's view of the vault, through the service: re-read when the file changes."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._accounts: tuple[Any, ...] = ()
        self._stamp: tuple[int, int, int] | None = None

    def load(self) -> None:
        """Open the vault (on first use this derives the key: slow, run it off the UI)."""
        stamp = self.service.vault_stamp()
        self._accounts = tuple(
            sorted(
                self.service.vault().accounts,
                key=lambda a: (a.issuer.casefold(), a.account.casefold(), a.id),
            )
        )
        self._stamp = stamp

    def changed(self) -> bool:
        return self.service.vault_stamp() != self._stamp

    def rows(self, query: str, now: float | None = None) -> list[Row]:
        moment = time.time() if now is None else now
        out = []
        for a in self._accounts:
            if not matches(query, a.issuer, a.account):
                continue
            hotp = a.type == "hotp"
            code = None if hotp else self.service.code_of(a, moment)
            out.append(
                Row(
                    a.id,
                    shown(a.issuer, ISSUER_CHARS) or "—",
                    shown(a.account, ACCOUNT_CHARS),
                    hotp,
                    "next" if code is None else grouped(code.code),
                    "" if code is None else f"{code.remaining} s",
                )
            )
        return out

    def current(self, account_id: str) -> str:
        """The code to copy now: HOTP steps its counter first (as ``code --next`` does)."""
        for a in self._accounts:
            if a.id == account_id:
                if a.type == "hotp":
                    a = self.service.advance(a.id)
                return self.service.code_of(a).code
        raise OtpsyncError("that code is no longer in the vault")

    def label(self, account_id: str, limit: int = 100) -> str:
        """The whole "Issuer — account" (shown safely), for a row whose cells were cut."""
        for a in self._accounts:
            if a.id == account_id:
                return shown(a.label, limit)
        return ""

    def __len__(self) -> int:
        return len(self._accounts)


class CodesWindow:
    """The Tk window. ``run()`` blocks until Enter copied a code or the window closed."""

    def __init__(
        self,
        book: CodeBook,
        clipboard: Clipboard,
        *,
        query: str = "",
        on_copied: Callable[[str], None] | None = None,
        loading: queue.Queue[BaseException | None] | None = None,
    ) -> None:
        """``loading``: the outcome of ``start_loading(book)``, begun before Tk starts (the
        key derivation then overlaps with drawing); without it, ``run()`` begins it."""
        self.book = book
        self.clipboard = clipboard
        self.copied: str | None = None  # the label of what Enter copied
        self._on_copied = on_copied
        self._loaded = False
        self._enter_pending = False
        self._started_loading = loading is not None
        self._results = loading if loading is not None else queue.Queue()
        self.root = tk.Tk(className="otpsync")
        self.root.title(TITLE)
        self._build(query)

    # --- layout -------------------------------------------------------------------------------

    def _build(self, query: str) -> None:
        root = self.root
        base = tkfont.nametofont("TkDefaultFont")
        base.configure(size=11)
        tkfont.nametofont("TkTextFont").configure(size=12)
        heading = tkfont.Font(root, family=base.cget("family"), size=10, weight="bold")
        style = ttk.Style(root)
        if "clam" in style.theme_names():
            style.theme_use("clam")
        row_height = base.metrics("linespace") + 10
        style.configure("Treeview", rowheight=row_height, font=base, borderwidth=0)
        style.configure("Treeview.Heading", font=heading, padding=(6, 4))
        style.configure("Hint.TLabel", foreground="#555555")

        frame = ttk.Frame(root, padding=10)
        frame.pack(fill="both", expand=True)
        self.query = tk.StringVar(value=query)
        self.entry = ttk.Entry(frame, textvariable=self.query, font="TkTextFont")
        self.entry.pack(fill="x", ipady=3)
        columns = ("issuer", "account", "code", "left")
        self.tree = ttk.Treeview(
            frame, columns=columns, show="headings", selectmode="browse", height=8
        )
        for name, text, width, anchor, stretch in (
            ("issuer", "Issuer", 150, "w", True),
            ("account", "Account", 220, "w", True),
            ("code", "Code", 110, "e", False),
            ("left", "Left", 60, "e", False),
        ):
            self.tree.heading(name, text=text, anchor=anchor)
            self.tree.column(name, width=width, minwidth=40, anchor=anchor, stretch=stretch)
        self.tree.pack(fill="both", expand=True, pady=(8, 6))
        self.status = ttk.Label(frame, text="Opening the vault…", style="Hint.TLabel")
        self.status.pack(fill="x")

        self.query.trace_add("write", lambda *_: self._refill())
        for widget in (self.entry, self.tree):
            widget.bind("<Down>", lambda _e: self._move(1))
            widget.bind("<Up>", lambda _e: self._move(-1))
        root.bind("<Return>", lambda _e: self._enter())
        root.bind("<KP_Enter>", lambda _e: self._enter())
        root.bind("<Escape>", lambda _e: self.close())
        self.tree.bind("<Double-1>", lambda _e: self._enter())
        self.tree.bind("<<TreeviewSelect>>", lambda _e: self._show_chosen())
        root.protocol("WM_DELETE_WINDOW", self.close)

        width, height = 600, 8 * row_height + 120
        x = max(0, (root.winfo_screenwidth() - width) // 2)
        y = max(0, (root.winfo_screenheight() - height) // 3)
        root.geometry(f"{width}x{height}+{x}+{y}")
        root.minsize(420, 200)
        self.entry.icursor("end")
        self.entry.focus_set()

    # --- behaviour ----------------------------------------------------------------------------

    def run(self) -> str | None:
        """Show the window, open the vault on a thread, loop until closed."""
        if not self._started_loading:
            start_loading(self.book, self._results)
        self.root.after(POLL_MS, self._wait_loaded)
        self.root.bind("<Map>", self._mapped, add="+")
        self.root.lift()
        self.entry.focus_force()  # the search field, even when started from a shortcut
        self.root.mainloop()
        return self.copied

    def _mapped(self, event: tk.Event) -> None:  # type: ignore[type-arg]
        if event.widget is self.root:
            log.debug("window on screen (monotonic %.3f)", time.monotonic())

    def _load(self) -> None:
        _load_into(self.book, self._results)

    def _wait_loaded(self) -> None:
        try:
            error = self._results.get_nowait()
        except queue.Empty:
            self.root.after(POLL_MS, self._wait_loaded)
            return
        if error is not None:
            message = str(error) if isinstance(error, OtpsyncError) else repr(error)
            self._say(f"Cannot open the vault: {' '.join(message.split())}", error=True)
            return
        self._loaded = True
        self._refill()
        self.root.update_idletasks()
        log.debug("%d codes shown (monotonic %.3f)", len(self.book), time.monotonic())
        self.root.after(TICK_MS, self._tick)
        if self._enter_pending:
            self._enter()

    def _say(self, text: str, *, error: bool = False) -> None:
        self.status.configure(text=text, foreground="#b91c1c" if error else "#555555")

    def _refill(self) -> None:
        """Rows for the current query; the chosen row stays chosen while it still matches."""
        if not self._loaded:
            return
        chosen = self.tree.selection()
        self.tree.delete(*self.tree.get_children())
        rows = self.book.rows(self.query.get())
        for row in rows:
            self.tree.insert("", "end", iid=row.id, values=self._values(row))
        keep = [i for i in chosen if self.tree.exists(i)]
        if keep:
            self.tree.selection_set(keep)
            self.tree.see(keep[0])
        if not len(self.book):
            self._say("No codes yet. Add one with `otpsync add` or the tray's Add code menu.")
        elif not rows:
            self._say(f"No code matches “{shown(self.query.get(), 40)}”.")
        else:
            self._say(HINT)

    @staticmethod
    def _values(row: Row) -> tuple[str, str, str, str]:
        return row.issuer, row.account, row.code, row.left

    def _tick(self) -> None:
        """Once a second: new codes and seconds left; the whole list if the vault changed."""
        try:
            if self.book.changed():
                self.book.load()
                self._refill()
            else:
                for row in self.book.rows(self.query.get()):
                    if self.tree.exists(row.id):
                        self.tree.item(row.id, values=self._values(row))
        except OtpsyncError as exc:
            self._say(str(exc), error=True)
        self.root.after(TICK_MS, self._tick)

    def _show_chosen(self) -> None:
        """A long label is cut in its cells: the status line shows it whole while chosen."""
        chosen = self.tree.selection()
        if not chosen:
            return
        cells = self.tree.item(chosen[0], "values")
        if any(str(v).endswith("…") for v in cells[:2]):
            self._say(self.book.label(chosen[0]))
        elif self.status.cget("text") != HINT and self.tree.get_children():
            self._say(HINT)

    def _move(self, step: int) -> str:
        items = self.tree.get_children()
        if items:
            chosen = self.tree.selection()
            index = items.index(chosen[0]) + step if chosen else (0 if step > 0 else -1)
            target = items[max(0, min(len(items) - 1, index))]
            self.tree.selection_set(target)
            self.tree.see(target)
        return "break"  # keep the cursor where it is in the search field

    def _enter(self) -> str:
        if not self._loaded:
            self._enter_pending = True  # typed ahead: act once the codes are there
            return "break"
        self._enter_pending = False
        chosen = self.tree.selection() or self.tree.get_children()[:1]
        if not chosen:
            return "break"
        account_id = chosen[0]
        label = " — ".join(v for v in self.tree.item(account_id, "values")[:2] if v)
        try:
            code = self.book.current(account_id)
        except OtpsyncError as exc:
            self._say(str(exc), error=True)
            return "break"
        if not self.clipboard.copy(code, outlive=True):
            self._say(self.clipboard.missing_hint(), error=True)
            return "break"
        self.copied = label
        if self._on_copied is not None:
            self._on_copied(label)
        self.close()
        return "break"

    def close(self) -> None:
        self.root.destroy()


def _load_into(book: CodeBook, results: queue.Queue[BaseException | None]) -> None:
    try:
        book.load()
    except BaseException as exc:
        results.put(exc)
    else:
        results.put(None)


def start_loading(
    book: CodeBook, results: queue.Queue[BaseException | None] | None = None
) -> queue.Queue[BaseException | None]:
    """Open the vault on a thread; the queue gets None, or the error, when done."""
    out: queue.Queue[BaseException | None] = results if results is not None else queue.Queue()
    threading.Thread(target=_load_into, args=(book, out), name="otpsync-open-vault",
                     daemon=True).start()  # fmt: skip
    return out


def open_window(service: Service, *, query: str = "") -> str | None:
    """``otpsync codes``: returns the label of the code copied, or None."""
    clipboard = Clipboard(service.config.clipboard_clear)
    book = CodeBook(service)
    loading = start_loading(book)  # the key derivation overlaps with Tk starting up
    return CodesWindow(book, clipboard, query=query, loading=loading).run()
