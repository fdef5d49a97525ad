"""Removals travel as offers: another device's removal is listed under `removed`, `approve`
keeps the code and does not offer that removal again, `approve --with-removals` removes it
(undo brings it back); a replayed older backup resurrects nothing."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import Home

URIS = {
    "X": "otpauth://totp/Xcorp:x?secret=JBSWY3DPEHPK3PXP&issuer=Xcorp",
    "Y": "otpauth://totp/Ycorp:y?secret=KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TFOQ&issuer=Ycorp",
    "Z": "otpauth://totp/Zcorp:z?secret=GEZDGNBVGY3TQOJQ&issuer=Zcorp",
}


def ids(home: Home) -> dict[str, str]:
    return {a["issuer"][0]: a["id"] for a in json.loads(home.ok("list", "--json").stdout)}


def pending(home: Home) -> list[dict]:
    home.ok("scan")
    return json.loads(home.ok("pending", "--json").stdout)


def newest_of(home: Home, device: str) -> Path:
    return max(
        (p for p in home.sync.iterdir() if f"-{device}-" in p.name),
        key=lambda p: p.stat().st_mtime_ns,
    )


@pytest.fixture
def pair(make_home) -> tuple[Home, Home]:
    laptop: Home = make_home("laptop")
    desk: Home = make_home("desk")
    for uri in URIS.values():
        laptop.ok("add", "-", input=uri + "\n")
    laptop.ok("export")
    (entry,) = pending(desk)
    desk.ok("approve", entry["id"])
    return laptop, desk


def test_removals_are_offered_declined_or_applied(pair: tuple[Home, Home]) -> None:
    laptop, desk = pair
    laptop.ok("remove", ids(laptop)["X"])
    laptop.ok("export")
    (entry,) = pending(desk)  # its only news is a removal: still an entry
    assert entry["new"] == 0
    assert [(r["issuer"], r["id"]) for r in entry["removed"]] == [("Xcorp", ids(desk)["X"])]
    assert "secret" not in json.dumps(entry)
    text = desk.ok("pending").stdout
    assert "removed on laptop" in text
    assert "- Xcorp" in text
    kept = desk.ok("approve", entry["id"])
    assert "Kept 1 code removed on laptop" in kept.stdout
    assert set(ids(desk)) == {"X", "Y", "Z"}
    assert pending(desk) == []  # not offered again, also after a rescan
    # A later removal on the laptop is offered on its own.
    laptop.ok("remove", ids(laptop)["Y"])
    laptop.ok("export")
    (entry,) = pending(desk)
    assert [r["issuer"] for r in entry["removed"]] == ["Ycorp"]
    done = desk.ok("approve", entry["id"], "--with-removals")
    assert "Removed 1 code removed on laptop" in done.stdout
    assert set(ids(desk)) == {"X", "Z"}
    assert pending(desk) == []
    desk.ok("undo")
    assert set(ids(desk)) == {"X", "Y", "Z"}


def test_reject_also_declines_the_removals(pair: tuple[Home, Home]) -> None:
    laptop, desk = pair
    laptop.ok("remove", ids(laptop)["Z"])
    laptop.ok("export")
    (entry,) = pending(desk)
    desk.ok("reject", entry["id"])
    assert set(ids(desk)) == {"X", "Y", "Z"}
    assert pending(desk) == []


def test_a_replayed_older_backup_resurrects_nothing(pair: tuple[Home, Home], make_home) -> None:
    laptop, desk = pair
    older = newest_of(laptop, "laptop")
    saved = older.parent.parent / "saved-older"
    shutil.copy(older, saved)
    laptop.ok("remove", ids(laptop)["X"])
    laptop.ok("export")
    (entry,) = pending(desk)
    desk.ok("approve", entry["id"], "--with-removals")
    assert set(ids(desk)) == {"Y", "Z"}
    # The older backup comes back under a sync client's conflict-copy name.
    stem = older.name.removesuffix(".txt")
    replay = older.parent / f"{stem} (laptop's conflicted copy 2026-11-28).txt"
    shutil.copy(saved, replay)
    assert pending(desk) == []
    assert set(ids(desk)) == {"Y", "Z"}
    # A device that never saw the older backup: offered Y and Z, never X.
    tablet: Home = make_home("tablet")
    entries = pending(tablet)
    (from_laptop,) = [e for e in entries if e["device"] == "laptop"]
    assert sorted(e["issuer"] for e in from_laptop["entries"]) == ["Ycorp", "Zcorp"]
    assert all("Xcorp" not in json.dumps(e) for e in entries)
    tablet.ok("approve", "--all")
    assert set(ids(tablet)) == {"Y", "Z"}
    assert pending(tablet) == []


def test_the_tray_offers_also_removing_and_the_daemon_does_it(local_home) -> None:
    from daemon.core import backup_format, payload
    from daemon.core.accounts import Tombstone
    from daemon.core.payload import VaultData
    from tests.conftest import FAST_KDF, PASSPHRASE
    from tests.daemon_support import Peer, code, minutes_ago, wait_for
    from tests.tray.test_menu import ICON, Recording
    from tray.menu import build_menu

    me = local_home("desk")
    phone = Peer("phone")
    phone.drop(me.sync, [1, 2], created=minutes_ago(10), seq=1)
    svc = me.service()
    assert [o.kind for o in svc.scan_once()] == ["queued"]
    svc.approve(svc.pending()[0].entry.id)
    # The phone removes code 1: its next backup holds code 2 and code 1's tombstone.
    # (after code 1's last change here, to the second the format keeps)
    later = code(1).updated.replace(microsecond=0) + timedelta(seconds=2)
    stone = Tombstone(code(1).fingerprint(), code(1).label, later)
    moment = minutes_ago(0)
    vault = VaultData(phone.device_id, "phone", moment, (code(2),), (stone,))
    data = backup_format.seal(
        payload.encode(vault), kind="backup", device_id=phone.device_id, device="phone",
        created=moment, keys=backup_format.MasterKeys(PASSPHRASE), kdf_salt=phone.salt,
        kdf=FAST_KDF, seq=2,
    )  # fmt: skip
    (me.sync / phone.name(moment)).write_bytes(data)
    daemon = me.daemon()
    status = wait_for(lambda: daemon.status() if daemon.status().pending else None)
    (entry,) = status.pending
    assert [a.label for a in entry.removed] == [code(1).label]
    actions = Recording()
    pending_item = next(i for i in build_menu(status, actions) if str(i.text).startswith("Pending"))
    (entry_item,) = list(pending_item.submenu)
    texts = [str(i.text) for i in entry_item.submenu]
    assert "Also remove 1 code removed on phone" in texts
    also = next(i for i in entry_item.submenu if str(i.text).startswith("Also remove"))
    also(ICON)
    assert actions.calls == [("approve_with_removals", entry.entry.id)]
    done = daemon.approve(entry.entry.id, with_removals=True).result(20)
    assert [a.label for a in done.removed] == [code(1).label]
    assert [a.label for a in me.service().vault().accounts] == [code(2).label]
