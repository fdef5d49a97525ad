"""The tray menu: real pystray ``Menu``/``MenuItem`` objects built from real service state.

Homes, codes and backups are real (the installed ``otpsync`` adds codes and writes backups;
the laptop's own ``Service`` queues a phone's backup); approving and rejecting go through a
real ``Daemon``. Only the routing test uses a recording actions object.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from daemon.core.accounts import Account
from daemon.core.filenames import backup_name
from daemon.runner import LOCKED_PROBLEM, CodeLabel, Daemon, DaemonStatus
from daemon.service import Service
from tests.conftest import Home
from tests.daemon_support import wait_for
from tests.tray.support import (
    LAPTOP_CODES,
    PHONE_CODES,
    Running,
    StandInIcon,
    drop,
    item,
    labels,
    listed,
    service,
    standin_pystray,
    texts,
    tray_home,
)
from tray.app import TrayApp
from tray.clipboard import Clipboard
from tray.icon import IconState, render
from tray.menu import GROUP_ABOVE, Menu, MenuItem, build_menu

# The phone's backup in the exact-text tests was written at this moment (its sealed header).
PHONE_BACKUP_AT = datetime(2026, 11, 28, 10, 2, tzinfo=UTC)
MERGED = "Merged 3 new codes from phone: GitHub — alice, Google — alice@gmail.com, Dropbox — alice"


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Menus show local times: make local UTC for exact texts."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@dataclass
class World:
    laptop: Home
    phone: Home
    svc: Service  # the laptop's
    status: DaemonStatus  # the laptop's, with one pending import from the phone
    now: datetime


def sealed_backup_at(home: Home, moment: datetime) -> Path:
    """A real backup of ``home``'s vault (its own keys, device id and KDF salt) written at a
    chosen moment, named as otpsync names it, outside the sync folder."""
    svc = service(home)
    data = svc.store.seal(
        svc.vault().for_backup(), kind="backup", device=svc.config.device, created=moment
    )
    out = home.path / "outbox"
    out.mkdir()
    path = out / backup_name(moment, svc.config.device, 1)
    path.write_bytes(data)
    return path


def laptop_status(svc: Service, now: datetime, **changes: Any) -> DaemonStatus:
    """What the daemon would report for this home: built from the real service state."""
    cfg = svc.config
    status = DaemonStatus(
        device=cfg.device,
        sync_folder=cfg.sync_folder,
        watch_mode=cfg.watch.mode,
        last_export=svc.state.last_export(),
        next_export=now + timedelta(hours=5, minutes=48),
        pending=tuple(svc.pending()),
        codes=labels(svc),
        undo=svc.last_change(),
        devices=tuple(svc.devices(now)),
    )
    return replace(status, **changes)


@pytest.fixture
def world(clone_home: Callable[..., Home]) -> World:
    laptop = clone_home("laptop", LAPTOP_CODES)
    phone = clone_home("phone", PHONE_CODES)
    svc = service(laptop)
    svc.export()  # "last backup …"
    outcome = svc.consider(drop(sealed_backup_at(phone, PHONE_BACKUP_AT), laptop.sync))
    assert outcome.kind == "queued", outcome
    last = svc.state.last_export()
    assert last is not None
    now = datetime.fromisoformat(last.time) + timedelta(minutes=12)
    return World(laptop, phone, svc, laptop_status(svc, now), now)


class Recording:
    """TrayActions that only record: for testing which item calls what."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def copy_code(self, account_id: str) -> None:
        self.calls.append(("copy_code", account_id))

    def approve(self, entry_id: str) -> None:
        self.calls.append(("approve", entry_id))

    def approve_with_removals(self, entry_id: str) -> None:
        self.calls.append(("approve_with_removals", entry_id))

    def reject(self, entry_id: str) -> None:
        self.calls.append(("reject", entry_id))

    def export_now(self) -> None:
        self.calls.append(("export_now",))

    def open_sync_folder(self) -> None:
        self.calls.append(("open_sync_folder",))

    def toggle_pause(self) -> None:
        self.calls.append(("toggle_pause",))

    def undo(self) -> None:
        self.calls.append(("undo",))

    def unlock(self) -> None:
        self.calls.append(("unlock",))

    def change_passphrase(self) -> None:
        self.calls.append(("change_passphrase",))

    def enter_new_passphrase(self) -> None:
        self.calls.append(("enter_new_passphrase",))

    def show_codes(self) -> None:
        self.calls.append(("show_codes",))

    def scan_screen(self) -> None:
        self.calls.append(("scan_screen",))

    def add_from_image(self) -> None:
        self.calls.append(("add_from_image",))

    def paste_link(self) -> None:
        self.calls.append(("paste_link",))

    def quit(self) -> None:
        self.calls.append(("quit",))

    def acknowledge_stale(self, device_id: str) -> None:
        self.calls.append(("acknowledge_stale", device_id))


ICON = StandInIcon("otpsync")  # what pystray passes to an item's action


# --- the header and the top level -------------------------------------------------------------


def test_header_says_device_last_and_next_backup(world: World) -> None:
    menu = build_menu(world.status, Recording(), now=world.now)
    header = next(iter(menu))
    assert header.text == "laptop · last backup 12 min ago · next in 5 h 48 min"
    assert not header.enabled


def test_header_when_paused_and_before_any_backup(world: World) -> None:
    paused = replace(world.status, paused=True)
    assert texts(build_menu(paused, Recording(), now=world.now))[0] == (
        "laptop · last backup 12 min ago · paused"
    )
    fresh = replace(world.status, last_export=None)
    assert texts(build_menu(fresh, Recording(), now=world.now))[0] == (
        "laptop · no backup yet · next in 5 h 48 min"
    )


def test_top_level_items_and_their_flags(world: World) -> None:
    menu = build_menu(world.status, Recording(), now=world.now)
    assert texts(menu) == [
        "laptop · last backup 12 min ago · next in 5 h 48 min",
        "Codes",
        "Show codes…",
        "Add code",
        "Pending imports (1)",
        "Devices (2)",
        "Export now",
        "Open sync folder",
        "Pause",
        "Undo last add",
        "Change passphrase…",
        "Quit",
    ]
    enabled = {i.text: i.enabled for i in menu if i is not Menu.SEPARATOR}
    assert [t for t, on in enabled.items() if not on] == [texts(menu)[0]]
    assert item(menu, "Codes").submenu is not None
    assert item(menu, "Pending imports").submenu is not None
    assert item(menu, "Devices").submenu is not None
    # Separators split header / codes, imports and devices / actions / Quit.
    kinds = ["-" if i is Menu.SEPARATOR else "i" for i in menu]
    assert "".join(kinds) == "i-iiiii-iiiii-i"


def test_waiting_for_the_passphrase_shows_the_problem_and_a_retry(world: World) -> None:
    status = replace(world.status, locked=True, problem=LOCKED_PROBLEM)
    actions = Recording()
    menu = build_menu(status, actions, now=world.now)
    assert texts(menu)[1:3] == [f"⚠ {LOCKED_PROBLEM}", "Try the passphrase again"]
    retry = item(menu, "Try the passphrase again")
    assert retry.enabled
    retry(ICON)
    assert actions.calls == [("unlock",)]
    assert "Try the passphrase again" not in texts(build_menu(world.status, actions))
    assert not item(menu, "Change passphrase…").enabled  # the vault is not open yet


def test_a_device_with_another_passphrase_offers_to_enter_it(world: World) -> None:
    """The warning line, then the item that opens the dialog to type phone's passphrase."""
    notice = "phone now uses a different passphrase — run `otpsync passphrase change` here"
    status = replace(world.status, claims=(notice,), other_passphrase=("phone",))
    actions = Recording()
    menu = build_menu(status, actions, now=world.now)
    assert texts(menu)[1:3] == [f"⚠ {notice}", "Enter phone's new passphrase…"]
    item(menu, "Enter phone's new passphrase…")(ICON)
    item(menu, "Change passphrase…")(ICON)
    assert actions.calls == [("enter_new_passphrase",), ("change_passphrase",)]
    two = replace(status, other_passphrase=("phone", "tab\x1b[2J"))
    assert "Enter the new passphrase…" in texts(build_menu(two, actions, now=world.now))


def test_a_problem_shows_under_the_header_and_pause_becomes_resume(world: World) -> None:
    status = replace(
        world.status, paused=True, problem=f"sync folder {world.laptop.sync} is missing"
    )
    menu = build_menu(status, Recording(), now=world.now)
    assert texts(menu)[1] == f"⚠ sync folder {world.laptop.sync} is missing"
    assert not item(menu, "⚠").enabled
    assert "Resume" in texts(menu)
    assert "Pause" not in texts(menu)


def test_a_worker_that_stopped_beating_shows_as_not_responding(world: World) -> None:
    beat = world.now - timedelta(minutes=4)
    stuck = replace(world.status, heartbeat=beat, heartbeat_every=60.0)
    assert texts(build_menu(stuck, Recording(), now=world.now))[1] == (
        f"⚠ not responding since {beat:%H:%M}: quit and start otpsync again"
    )
    recent = replace(stuck, heartbeat=world.now - timedelta(minutes=2))
    assert not texts(build_menu(recent, Recording(), now=world.now))[1].startswith("⚠")


def test_a_failing_export_says_when_it_is_tried_again(world: World) -> None:
    failing = replace(
        world.status, problem="export failed: cannot write into /sync: Read-only file system",
        export_retry=world.now + timedelta(seconds=40),
    )  # fmt: skip
    assert texts(build_menu(failing, Recording(), now=world.now))[1] == (
        "⚠ export failed: cannot write into /sync: Read-only file system (next try in 40 s)"
    )


def test_a_fresh_home_has_nothing_to_open(make_home: Callable[..., Home]) -> None:
    svc = service(tray_home(make_home, "laptop"))
    status = laptop_status(svc, datetime.now(UTC))
    assert status.codes == ()
    assert status.pending == ()
    menu = build_menu(status, Recording())
    codes, pending = item(menu, "Codes"), item(menu, "Pending imports")
    assert (codes.text, codes.enabled, codes.submenu) == ("Codes (none yet)", False, None)
    assert (pending.text, pending.enabled, pending.submenu) == ("Pending imports (0)", False, None)
    assert texts(menu)[0] == "laptop · no backup yet · next in 5 h 48 min"


# --- Devices ----------------------------------------------------------------------------------


def test_devices_this_one_then_each_other_with_age_and_count(world: World) -> None:
    now = PHONE_BACKUP_AT + timedelta(hours=2, minutes=40)
    status = laptop_status(world.svc, now)
    (phone,) = status.devices  # recorded when the laptop opened the phone's backup
    assert (phone.name, phone.last_backup, phone.codes, phone.stale) == (
        "phone", PHONE_BACKUP_AT, 3, False,
    )  # fmt: skip
    devices = item(build_menu(status, Recording(), now=now), "Devices (2)").submenu
    assert devices is not None
    assert texts(devices)[0].startswith("laptop (this device) · last backup ")
    assert texts(devices)[0].endswith(" · next in 5 h 48 min")
    assert texts(devices)[1:] == ["phone · 2 h ago · 3 codes"]
    assert not any(i.enabled for i in devices if i is not Menu.SEPARATOR)


def test_a_fresh_home_has_seen_no_other_device(make_home: Callable[..., Home]) -> None:
    svc = service(tray_home(make_home, "laptop"))
    devices = item(build_menu(laptop_status(svc, datetime.now(UTC)), Recording()), "Devices (1)")
    assert devices.submenu is not None
    assert texts(devices.submenu)[1:] == ["No other device seen in the sync folder yet"]


def test_a_silent_device_is_marked_and_got_it_acknowledges(
    world: World, clone_home: Callable[..., Home]
) -> None:
    tablet = clone_home("tablet", PHONE_CODES[:2])
    now = PHONE_BACKUP_AT + timedelta(days=1)
    old = now - timedelta(days=20, hours=3)
    world.svc.consider(drop(sealed_backup_at(tablet, old), world.laptop.sync))
    status = laptop_status(world.svc, now)
    assert [(d.name, d.stale) for d in status.devices] == [("phone", False), ("tablet", True)]
    stale_id = status.devices[1].id
    actions = Recording()
    menu = build_menu(status, actions, now=now, unacknowledged=frozenset({stale_id}))
    devices = item(menu, "Devices (3) ⚠").submenu
    assert devices is not None
    assert texts(devices)[1:] == [
        "phone · 24 h ago · 3 codes",  # under two days: counted in hours
        "⚠ tablet · 20 d ago · 2 codes · silent (click: got it)",
    ]
    item(devices, "⚠ tablet")(ICON)
    assert actions.calls == [("acknowledge_stale", stale_id)]
    # Acknowledged: still marked, no longer a thing to click.
    devices = item(build_menu(status, actions, now=now), "Devices (3) ⚠").submenu
    assert devices is not None
    assert not item(devices, "⚠ tablet").enabled
    assert texts(devices)[2] == "⚠ tablet · 20 d ago · 2 codes · silent"


def test_stale_after_is_the_configured_limit(world: World, clone_home: Callable[..., Home]) -> None:
    config = world.laptop.path / "config.toml"
    config.write_text(config.read_text() + '\n[devices]\nstale_after = "2d"\n')
    svc = service(world.laptop)
    now = PHONE_BACKUP_AT + timedelta(days=2, minutes=1)
    assert [d.stale for d in svc.devices(now)] == [True]
    assert [d.stale for d in svc.devices(now - timedelta(minutes=2))] == [False]


# --- Codes ------------------------------------------------------------------------------------


def test_codes_one_item_per_account_sorted(world: World) -> None:
    menu = build_menu(world.status, Recording(), now=world.now)
    codes = item(menu, "Codes").submenu
    assert codes is not None
    assert texts(codes) == ["Amazon — alice", "Bitwarden — alice"]
    assert all(i.enabled and i.submenu is None for i in codes)


def add_codes(svc: Service, issuers: list[str], first: int = 0) -> None:
    """Real codes in the real vault: one per issuer given, accounts user0, user1, … (from
    user``first``: each call's codes differ from the last's)."""
    import base64
    import hashlib

    for n, issuer in enumerate(issuers, first):
        secret = base64.b32encode(hashlib.sha256(f"menu-test-{n}".encode()).digest()[:20])
        svc.add(Account.create(secret=secret.decode(), issuer=issuer, account=f"user{n}"))


def test_codes_grouped_by_issuer_above_fifteen(world: World) -> None:
    # 2 codes already (Amazon, Bitwarden) + 14 = 16: one more than GROUP_ABOVE.
    assert GROUP_ABOVE == 15
    issuers = ["GitHub", "github", "GitHub", "Google", "Google", "Steam"]
    issuers += [f"Shop{n:02}" for n in range(8)]
    add_codes(world.svc, issuers)
    status = laptop_status(world.svc, world.now)
    assert len(status.codes) == 16
    codes = item(build_menu(status, Recording(), now=world.now), "Codes").submenu
    assert codes is not None
    groups = texts(codes)
    # One submenu per issuer with several accounts, alphabetical; "GitHub" and "github" are
    # one issuer. An issuer with one account is one item, not a submenu of one.
    assert groups == [
        "Amazon — alice", "Bitwarden — alice", "GitHub", "Google",
        *[f"Shop{n:02} — user{n + 6}" for n in range(8)], "Steam — user5",
    ]  # fmt: skip
    github = item(codes, "GitHub").submenu
    assert github is not None
    assert texts(github) == ["user0", "user1", "user2"]  # accounts only: the issuer is above
    assert all(i.enabled for i in github)
    assert item(codes, "Amazon").submenu is None
    assert item(codes, "Google").submenu is not None


def test_codes_sort_numbers_as_numbers(world: World) -> None:
    """Service2 before Service10, grouped or not; accounts too (user2 before user10)."""
    add_codes(world.svc, ["Service10", "Service2", "service1", "Service11"])
    status = laptop_status(world.svc, world.now)
    codes = item(build_menu(status, Recording(), now=world.now), "Codes").submenu
    assert codes is not None
    assert texts(codes) == [
        "Amazon — alice", "Bitwarden — alice", "service1 — user2", "Service2 — user1",
        "Service10 — user0", "Service11 — user3",
    ]  # fmt: skip
    add_codes(world.svc, ["Many"] * 12, first=4)  # 18 codes: grouped; user4…user15
    status = laptop_status(world.svc, world.now)
    codes = item(build_menu(status, Recording(), now=world.now), "Codes").submenu
    assert codes is not None
    assert texts(codes)[2:] == ["Many", "service1 — user2", "Service2 — user1",
                                "Service10 — user0", "Service11 — user3"]  # fmt: skip
    many = item(codes, "Many").submenu
    assert many is not None
    assert texts(many) == [f"user{n}" for n in range(4, 16)]


def test_codes_not_grouped_at_fifteen(world: World) -> None:
    add_codes(world.svc, [f"Shop{n:02}" for n in range(13)])  # 2 + 13 = 15
    status = laptop_status(world.svc, world.now)
    codes = item(build_menu(status, Recording(), now=world.now), "Codes").submenu
    assert codes is not None
    assert len(texts(codes)) == 15
    assert all(i.submenu is None for i in codes)
    assert texts(codes)[:3] == ["Amazon — alice", "Bitwarden — alice", "Shop00 — user0"]


@pytest.mark.parametrize("grouped", [False, True])
def test_codes_say_when_there_is_no_clipboard_tool(world: World, grouped: bool) -> None:
    if grouped:
        add_codes(world.svc, [f"Shop{n:02}" for n in range(14)])
    status = laptop_status(world.svc, world.now)
    hint = Clipboard(30).missing_hint()  # what TrayApp passes when no tool is found
    menu = build_menu(status, Recording(), clipboard_hint=hint, now=world.now)
    codes = item(menu, "Codes")
    assert codes.enabled  # the submenu opens, to say why nothing can be copied
    assert codes.submenu is not None
    first = next(iter(codes.submenu))
    assert first.text == hint
    assert not first.enabled
    leaves = [
        leaf
        for i in codes.submenu
        if i is not Menu.SEPARATOR and i is not first
        for leaf in (i.submenu if i.submenu is not None else [i])
    ]
    assert len(leaves) == len(status.codes)
    assert not any(leaf.enabled for leaf in leaves)
    # With a tool, the same codes are enabled and there is no notice.
    with_tool = item(build_menu(status, Recording(), now=world.now), "Codes").submenu
    assert with_tool is not None
    assert hint not in texts(with_tool)


# --- Pending imports ----------------------------------------------------------------------------


def test_pending_submenu_titles_offered_codes_then_actions(world: World) -> None:
    menu = build_menu(world.status, Recording(), now=world.now)
    pending = item(menu, "Pending imports (1)").submenu
    assert pending is not None
    assert texts(pending) == ["From phone · 3 new · 28 Nov 10:02"]
    entry = item(pending, "From phone").submenu
    assert entry is not None
    assert texts(entry) == [
        "+ GitHub — alice",
        "+ Google — alice@gmail.com",
        "+ Dropbox — alice",
        "Approve merge",
        "Reject",
    ]
    state = {i.text: i.enabled for i in entry if i is not Menu.SEPARATOR}
    assert state == {
        "+ GitHub — alice": False,
        "+ Google — alice@gmail.com": False,
        "+ Dropbox — alice": False,
        "Approve merge": True,
        "Reject": True,
    }
    kinds = ["-" if i is Menu.SEPARATOR else "i" for i in entry]
    assert "".join(kinds) == "iii-ii"


def test_pending_lists_one_submenu_per_device(
    world: World, clone_home: Callable[..., Home]
) -> None:
    tablet = clone_home("tablet", PHONE_CODES[:1] + LAPTOP_CODES[:1])
    moment = PHONE_BACKUP_AT + timedelta(days=5, hours=1)
    outcome = world.svc.consider(drop(sealed_backup_at(tablet, moment), world.laptop.sync))
    assert outcome.kind == "queued"
    status = laptop_status(world.svc, world.now)
    pending = item(build_menu(status, Recording(), now=world.now), "Pending imports (2)").submenu
    assert pending is not None
    # The tablet's Amazon code is already on the laptop: it offers 1 new code.
    assert texts(pending) == [
        "From phone · 3 new · 28 Nov 10:02",
        "From tablet · 1 new · 3 Dec 11:02",
    ]
    tablet_entry = item(pending, "From tablet").submenu
    assert tablet_entry is not None
    assert texts(tablet_entry) == ["+ GitHub — alice", "Approve merge", "Reject"]


HOTP = "otpauth://hotp/Example:counter?secret=OBQXG43XN5ZGIMJSGM2DKNRXHA4TAMJS&issuer=Example&counter=0"


def test_pending_counts_and_marks_updated_codes(clone_home: Callable[..., Home]) -> None:
    """The phone moved an HOTP code both devices hold to its next counter: the import
    updates it ("~") besides bringing three new codes."""
    laptop = clone_home("laptop", (*LAPTOP_CODES, HOTP))
    phone = clone_home("phone", (*PHONE_CODES, HOTP))
    phone_svc = service(phone)
    hotp = next(a for a in phone_svc.vault().accounts if a.type == "hotp")
    phone_svc.advance(hotp.id)
    svc = service(laptop)
    outcome = svc.consider(drop(sealed_backup_at(phone, PHONE_BACKUP_AT), laptop.sync))
    assert outcome.kind == "queued"
    status = laptop_status(svc, datetime.now(UTC))
    pending = item(build_menu(status, Recording()), "Pending imports (1)").submenu
    assert pending is not None
    assert texts(pending) == ["From phone · 3 new · 1 updated · 28 Nov 10:02"]
    entry = item(pending, "From phone").submenu
    assert entry is not None
    assert texts(entry)[:4] == [
        "+ GitHub — alice",
        "+ Google — alice@gmail.com",
        "+ Dropbox — alice",
        "~ Example — counter",
    ]
    assert not item(entry, "~ Example").enabled


# --- what the items call ----------------------------------------------------------------------


def test_every_item_calls_its_action(world: World) -> None:
    actions = Recording()
    menu = build_menu(world.status, actions, now=world.now)
    entry_id = world.status.pending[0].entry.id
    amazon = next(c for c in world.status.codes if c.issuer == "Amazon")
    for path in (
        ("Codes", "Amazon"),
        ("Pending imports", "From phone", "Approve merge"),
        ("Pending imports", "From phone", "Reject"),
        ("Export now",),
        ("Open sync folder",),
        ("Pause",),
        ("Undo last add",),
        ("Quit",),
    ):
        item(menu, *path)(ICON)
    assert actions.calls == [
        ("copy_code", amazon.id),
        ("approve", entry_id),
        ("reject", entry_id),
        ("export_now",),
        ("open_sync_folder",),
        ("toggle_pause",),
        ("undo",),
        ("quit",),
    ]
    # Disabled items do nothing (pystray never calls them; if it did, nothing would happen).
    item(menu, "Pending imports", "From phone", "+ GitHub")(ICON)
    next(iter(menu))(ICON)
    assert len(actions.calls) == 8


# --- approving and rejecting through the menu, on a real daemon --------------------------------


def test_a_queued_backup_updates_icon_menu_and_notifies(running: Running) -> None:
    app, icon = running.app, running.icon
    assert len(running.daemon.status().pending) == 1
    assert app.icon_state() == IconState(pending=1)
    assert icon.icon is render(IconState(pending=1))
    assert icon.title == "otpsync · 1 pending"
    assert "Pending imports (1)" in texts(icon.menu)
    assert icon.notifications == [
        "Backup from phone: 3 new codes — GitHub — alice, Google — alice@gmail.com,"
        " Dropbox — alice — open the tray menu to review"
    ]


def test_approve_merge_from_the_menu_changes_the_vault(running: Running) -> None:
    assert "GitHub" not in listed(running.laptop)
    approve = item(running.icon.menu, "Pending imports (1)", "From phone", "Approve merge")
    approve(running.icon)  # what pystray does on a click
    (merged,) = running.events.wait("merged")
    assert merged.message == MERGED
    vault = listed(running.laptop)  # the installed CLI reads the real vault
    merged_codes = (("GitHub", "alice"), ("Google", "alice@gmail.com"), ("Dropbox", "alice"))
    for issuer, account in merged_codes:
        assert re.search(rf"\b{issuer}\s+{re.escape(account)}\n", vault), vault
    # The menu and the icon follow: nothing pending, five codes to copy.
    wait_for(lambda: "Pending imports (0)" in texts(running.icon.menu), 5, "the menu rebuilt")
    codes = item(running.icon.menu, "Codes").submenu
    assert codes is not None
    assert len(texts(codes)) == 5
    assert running.icon.icon is render(IconState())
    assert MERGED in running.icon.notifications
    assert running.daemon.status().pending == ()


def test_undo_after_approving_names_the_import_and_takes_it_back(running: Running) -> None:
    item(running.icon.menu, "Pending imports (1)", "From phone", "Approve merge")(running.icon)
    running.events.wait("merged")
    wait_for(lambda: "Undo last import" in texts(running.icon.menu), 5, "the undo item renamed")
    assert "GitHub" in listed(running.laptop)
    item(running.icon.menu, "Undo last import")(running.icon)
    wait_for(lambda: "GitHub" not in listed(running.laptop), 5, "the merge undone")
    wait_for(lambda: "Undone: the last import" in running.icon.notifications, 5, "its notice")
    # Undone: the next undo would step back over the laptop's own last add.
    wait_for(lambda: "Undo last add" in texts(running.icon.menu), 5, "the undo item renamed")


def test_with_no_snapshot_there_is_nothing_to_undo(make_home: Callable[..., Home]) -> None:
    svc = service(tray_home(make_home, "laptop"))
    undo = item(build_menu(laptop_status(svc, datetime.now(UTC)), Recording()), "Nothing to undo")
    assert (undo.enabled, undo.submenu) == (False, None)


def test_reject_from_the_menu_leaves_the_vault_alone(running: Running) -> None:
    before = listed(running.laptop)
    reject = item(running.icon.menu, "Pending imports (1)", "From phone", "Reject")
    reject(running.icon)
    wait_for(lambda: not running.daemon.status().pending, 5, "the queue to empty")
    assert listed(running.laptop) == before
    wait_for(lambda: "Pending imports (0)" in texts(running.icon.menu), 5, "the menu rebuilt")
    assert running.laptop.ok("pending").stdout.strip() in ("", "No pending imports.")


def test_pause_from_the_menu_greys_the_icon_and_resume_restores(running: Running) -> None:
    item(running.icon.menu, "Pause")(running.icon)
    wait_for(lambda: running.daemon.status().paused, 5, "the daemon to pause")
    wait_for(lambda: "Resume" in texts(running.icon.menu), 5, "the menu to offer Resume")
    assert running.icon.icon is render(IconState(pending=1, paused=True))
    item(running.icon.menu, "Resume")(running.icon)
    wait_for(lambda: not running.daemon.status().paused, 5, "the daemon to resume")
    wait_for(lambda: running.icon.icon is render(IconState(pending=1)), 5, "the icon")


def test_menu_items_are_pystray_items(world: World) -> None:
    """The menu is pystray's own Menu/MenuItem, which every backend turns into native
    menus: nothing else (no callables for items, no dynamic properties)."""

    def walk(menu: Menu) -> Iterator[MenuItem]:
        for i in menu:
            assert isinstance(i, MenuItem)
            yield i
            if i.submenu is not None:
                assert isinstance(i.submenu, Menu)
                yield from walk(i.submenu)

    menu = build_menu(world.status, Recording(), now=world.now)
    assert isinstance(menu, Menu)
    assert (
        len(list(walk(menu))) == 30
    )  # 20; Show codes…, Add code and its 3; Devices: 4; passphrase


def test_a_stuck_worker_turns_the_icon_to_attention_until_it_moves_again(
    clone_home: Callable[..., Home],
) -> None:
    """A real daemon whose worker is held by a job that does not end (as a hung network
    folder would hold it): the icon and the menu say so, from the heartbeat alone."""
    laptop = clone_home("laptop", LAPTOP_CODES)
    with open(laptop.path / "config.toml", "a") as f:
        f.write('\n[daemon]\nheartbeat = "1s"\n')
    daemon = Daemon(service(laptop))
    app = TrayApp(daemon, standin_pystray(), Clipboard(30))
    daemon.start()
    gate = threading.Event()
    try:
        assert not app.icon_state().error
        held = daemon.submit(lambda: gate.wait(30))
        wait_for(lambda: app.icon_state().error, timeout=10, what="the attention state")
        assert texts(app._menu()[0])[1].startswith("⚠ not responding since ")
        gate.set()
        held.result(timeout=5)
        wait_for(lambda: not app.icon_state().error, timeout=5, what="the heartbeat back")
    finally:
        gate.set()


def test_a_silent_device_asks_for_attention_once(clone_home: Callable[..., Home]) -> None:
    """The laptop's real daemon finds a tablet backup 20 days old: the icon turns amber and
    one notification says so; "got it" restores the icon; a later refresh does not ask again."""
    laptop = clone_home("laptop", LAPTOP_CODES)
    tablet = clone_home("tablet", PHONE_CODES[:1])
    drop(sealed_backup_at(tablet, datetime.now(UTC) - timedelta(days=20)), laptop.sync)
    daemon = Daemon(service(laptop))
    app = TrayApp(daemon, standin_pystray(), Clipboard(30))
    icon: StandInIcon = app.icon  # type: ignore[assignment]
    daemon.start()
    try:
        icon.visible = True
        wait_for(lambda: daemon.status().devices, what="the tablet recorded")
        app.refresh()
        (tablet_view,) = daemon.status().devices
        assert tablet_view.stale
        assert app.icon_state().attention
        assert icon.icon is render(app.icon_state())
        told = [n for n in icon.notifications if n.startswith("tablet:")]
        assert told == ["tablet: last backup 20 d ago; is otpsync still running there?"]
        assert "Devices (2) ⚠" in texts(icon.menu)
        item(icon.menu, "Devices", "⚠ tablet")(icon)  # "got it"
        assert not app.icon_state().attention
        assert icon.icon is render(IconState(pending=1))
        app.refresh()
        assert [n for n in icon.notifications if n.startswith("tablet:")] == told
        assert not item(icon.menu, "Devices", "⚠ tablet").enabled
    finally:
        app.quit()
        daemon.stop()


# --- text from outside is data (issue 9) -------------------------------------------------------

EVIL = "\x1b]0;pwned\x07Git\x1b[2JHub\r\u202egnp.exe"
EVIL_SHOWN = "\\x1b]0;pwned\\x07Git\\x1b[2JHub\\r\\u202egnp.exe"


def test_menu_labels_and_notifications_escape_control_characters(
    make_home: Callable[..., Home],
) -> None:
    codes = tuple(
        CodeLabel(f"{n:08d}-0000-4000-8000-000000000000", EVIL, f"alice\n{n}", "totp")
        for n in range(GROUP_ABOVE + 1)  # grouped: the issuer is a submenu's title too
    )
    status = DaemonStatus(
        "laptop", Path("/sync"), "native", codes=codes[:2], problem=f"{EVIL} is damaged"
    )
    menu = build_menu(status, Recording())
    assert f"⚠ {EVIL_SHOWN} is damaged" in texts(menu)
    assert texts(item(menu, "Codes").submenu) == [f"{EVIL_SHOWN} — alice\\n{n}" for n in (0, 1)]
    grouped = build_menu(replace(status, codes=codes), Recording())
    [group] = item(grouped, "Codes").submenu
    assert group.text == EVIL_SHOWN
    assert texts(group.submenu)[0] == "alice\\n0"

    app = TrayApp(Daemon(service(tray_home(make_home, "laptop"))), standin_pystray(), Clipboard(30))
    app.notify(f"Backup from {EVIL}: 1 new code")
    assert app.icon.notifications == [f"Backup from {EVIL_SHOWN}: 1 new code"]


def test_the_menu_is_rebuilt_only_when_what_it_shows_changes(running: Running) -> None:
    """A native menu rebuild is the idle tray's main cost: refreshes that change nothing
    shown (the timer's, a status event with nothing new) leave the menu alone."""
    app, icon = running.app, running.icon
    app.refresh()
    shown, updates = icon.menu, icon.menu_updates
    for _ in range(3):
        app.refresh()
    assert (icon.menu, icon.menu_updates) == (shown, updates)
    running.daemon.set_paused(True)  # "Pause" becomes "Resume": that is a change
    wait_for(lambda: "Resume" in texts(icon.menu), what="the menu to say Resume")
    running.daemon.submit(lambda: None).result(timeout=10)  # its events are all out
    assert icon.menu_updates > updates
    paused = icon.menu_updates
    app.refresh()
    assert icon.menu_updates == paused
