"""A device of ours whose newer backups no longer open with our passphrase changed it: the
daemon (and so the tray) says so, a stranger's file is still "another passphrase"."""

from __future__ import annotations

from daemon.core.display import shown
from tests.daemon_support import LocalHome, Peer, Recorder, minutes_ago, wait_for
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
