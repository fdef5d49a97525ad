"""A device of ours whose newer backups no longer open with our passphrase changed it: the
daemon (and so the tray) says so, a stranger's file is still "another passphrase"."""

from __future__ import annotations

import pytest

from daemon.core.display import shown
from daemon.errors import WrongPassphrase
from daemon.runner import Daemon
from tests.conftest import PASSPHRASE
from tests.daemon_support import (
    LocalHome,
    Peer,
    Recorder,
    minutes_ago,
    opens_with,
    phone_changed_passphrase,
    wait_for,
)
from tests.tray.test_menu import Recording
from tray.menu import build_menu


def test_the_daemon_and_tray_say_a_known_device_changed_its_passphrase(local_home) -> None:
    me: LocalHome = local_home("desk")
    phone = Peer("phone")
    phone.drop(me.sync, [1], created=minutes_ago(5), seq=1)
    stranger = Peer("intruder", passphrase="not ours")
    stranger.drop(me.sync, [2], seq=1)
    svc = me.service()
    kinds = sorted(o.kind for o in svc.scan_once())
    assert kinds == ["queued", "wrong-passphrase"]
    changed = Peer("phone", passphrase="the new one", device_id=phone.device_id)
    changed.drop(me.sync, [1, 3], seq=2)
    daemon = me.daemon(Recorder())
    expected = "phone now uses a different passphrase — run `otpsync passphrase change` here"
    wait_for(lambda: any(expected in c for c in daemon.status().claims), what="the notice")
    assert not any("intruder" in c for c in daemon.status().claims)
    labels = [shown(str(item.text)) for item in build_menu(daemon.status(), Recording()).items]
    assert any(expected in label for label in labels)
    assert len(me.service().pending()) == 1  # the phone's older entry is kept, not rejected


# --- the running daemon changes its own passphrase (what the tray's dialog calls) -----------

NEW = "the new one"


def offered_from(daemon: Daemon, device: str) -> list[str]:
    return sorted(
        c.incoming.issuer for v in daemon.status().pending if v.entry.device == device
        for c in v.offered()
    )  # fmt: skip


@pytest.fixture
def changed_phone(local_home) -> tuple[LocalHome, Daemon]:
    me: LocalHome = local_home("desk")
    return me, phone_changed_passphrase(me, NEW, Recorder())


def test_the_running_daemon_takes_the_passphrase_the_other_device_uses(changed_phone) -> None:
    """No restart: the daemon checks the typed passphrase against the phone's backup,
    re-seals under it, and reads the phone's newer backup again — its new code is offered."""
    me, daemon = changed_phone
    vault = me.path / "data" / "vault.4otp.txt"
    before = vault.read_bytes()
    with pytest.raises(WrongPassphrase, match="does not open phone's backups either"):
        daemon.change_passphrase("a typo").result(timeout=30)
    assert vault.read_bytes() == before  # a wrong guess changes nothing
    assert daemon.status().other_passphrase == ("phone",)
    done = daemon.change_passphrase(NEW).result(timeout=60)
    assert "--passphrase-file" in done.update_source  # the daemon's source: said to update it
    assert done.backup is not None
    assert opens_with(vault, PASSPHRASE, NEW) == [NEW]
    wait_for(lambda: "Service3" in offered_from(daemon, "phone"), what="the phone's new code")
    assert daemon.status().other_passphrase == ()
    assert not any("different passphrase" in c for c in daemon.status().claims)
    desk_files = [p for p in me.sync.iterdir() if "-desk-" in p.name]
    assert desk_files
    assert all(opens_with(p, PASSPHRASE, NEW) == [NEW] for p in desk_files)
    # It goes on working under the new keys: approving merges the phone's code.
    (view,) = daemon.status().pending
    daemon.approve(view.entry.id).result(timeout=30)
    assert "Service3" in {a.issuer for a in daemon.service.vault().accounts}


def test_a_change_the_person_starts_needs_the_passphrase_in_use(changed_phone) -> None:
    me, daemon = changed_phone
    vault = me.path / "data" / "vault.4otp.txt"
    before = vault.read_bytes()
    with pytest.raises(WrongPassphrase, match="not the passphrase in use"):
        daemon.change_passphrase("mine now", current="a guess").result(timeout=30)
    assert vault.read_bytes() == before
    daemon.change_passphrase("mine now", current=PASSPHRASE).result(timeout=60)
    assert opens_with(vault, PASSPHRASE, "mine now") == ["mine now"]


def test_the_cli_change_names_the_tray_while_the_daemon_runs(changed_phone) -> None:
    me, _ = changed_phone
    new = me.path.parent / "new-pw"
    new.write_text(NEW + "\n")
    refused = me.home.run("passphrase", "change", "--new-passphrase-file", str(new))
    assert refused.returncode == 1
    assert "change it from the tray menu (Change passphrase…)" in refused.stderr
