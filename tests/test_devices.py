"""Devices at a glance: ``otpsync status`` names every other device seen in the folder, with
its last backup's time and code count, and marks the ones silent too long. Real homes, real
backups of other devices (``Peer``) and the installed ``otpsync`` in subprocesses."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from tests.conftest import Home
from tests.daemon_support import Peer, status_json

MakeHome = Callable[..., Home]


def _at(hours_ago: float) -> datetime:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).replace(microsecond=0)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_status_lists_other_devices_and_marks_the_silent_one(make_home: MakeHome) -> None:
    home = make_home("laptop")
    phone_at, tablet_at = _at(2), _at(24 * 20)
    phone, tablet = Peer("phone"), Peer("tablet")
    phone.drop(home.sync, [1, 2, 3], created=phone_at, seq=7)
    tablet.drop(home.sync, [4], created=tablet_at, seq=2)
    assert status_json(home)["devices"] == []  # nothing opened yet
    home.ok("scan")

    devices = status_json(home)["devices"]
    assert devices == [
        {"name": "phone", "id": phone.device_id, "last_backup": _iso(phone_at), "codes": 3,
         "stale": False},
        {"name": "tablet", "id": tablet.device_id, "last_backup": _iso(tablet_at), "codes": 1,
         "stale": True},
    ]  # fmt: skip
    text = home.ok("status").stdout
    assert (
        f"  device seen: phone · last backup {phone_at:%Y-%m-%d %H:%M} UTC (2 h ago) · 3 codes\n"
        in text
    )
    assert (
        f"  device seen: tablet · last backup {tablet_at:%Y-%m-%d %H:%M} UTC (20 d ago) · 1 code"
        " · STALE: silent longer than [devices] stale_after\n" in text
    )


def test_a_newer_backup_of_a_device_updates_its_line(make_home: MakeHome) -> None:
    home = make_home("laptop")
    phone = Peer("phone")
    phone.drop(home.sync, [1], created=_at(24 * 30), seq=1)
    home.ok("scan")
    assert status_json(home)["devices"][0]["stale"] is True
    newer = _at(0.5)
    phone.drop(home.sync, [1, 2], created=newer, seq=2)
    home.ok("scan")
    (only,) = status_json(home)["devices"]
    assert (only["last_backup"], only["codes"], only["stale"]) == (_iso(newer), 2, False)


def test_stale_after_comes_from_the_config(make_home: MakeHome) -> None:
    home = make_home("laptop", extra='[devices]\nstale_after = "30d"\n')
    Peer("tablet").drop(home.sync, [4], created=_at(24 * 20), seq=1)
    home.ok("scan")
    assert [d["stale"] for d in status_json(home)["devices"]] == [False]


def test_an_unreadable_devices_file_means_none_known(make_home: MakeHome) -> None:
    home = make_home("laptop")
    (home.path / "state").mkdir(exist_ok=True)
    (home.path / "state" / "devices.json").write_text("{not json")
    done = home.ok("status", "--json")
    assert json.loads(done.stdout)["devices"] == []


def test_devices_lists_each_device_with_its_kdf_cost(make_home: MakeHome) -> None:
    home = make_home("laptop")
    phone = Peer("phone")
    phone.drop(home.sync, [1, 2], created=_at(2), seq=3)
    assert home.ok("devices").stderr.startswith("No other device's backup")
    home.ok("scan")
    [entry] = json.loads(home.ok("devices", "--json").stdout)
    assert (entry["name"], entry["id"], entry["codes"], entry["stale"]) == (
        "phone",
        phone.device_id,
        2,
        False,
    )
    assert entry["kdf"] == {"memory_kib": 19 * 1024, "iterations": 2, "lanes": 1}
    assert entry["weak_kdf"] is False
    assert entry["opens"] is True
    text = home.ok("devices").stdout.splitlines()
    assert text[0].startswith("phone · last backup ")
    assert text[1] == f"    id {phone.device_id[:8]} · Argon2id 19 MiB × 2"


def test_devices_forget_stops_offering_a_device_and_touches_no_file(make_home: MakeHome) -> None:
    home = make_home("laptop")
    phone = Peer("phone")
    first = phone.drop(home.sync, [1], created=_at(3), seq=1)
    home.ok("scan")
    assert len(json.loads(home.ok("pending", "--json").stdout)) == 1
    done = home.ok("devices", "forget", "Phone")
    assert "Forgot phone" in done.stdout
    assert json.loads(home.ok("pending", "--json").stdout) == []
    assert json.loads(home.ok("devices", "--json").stdout) == []
    later = phone.drop(home.sync, [1, 2], created=_at(1), seq=2)
    assert "queued 0" in home.ok("scan").stdout
    assert first.exists()
    assert later.exists()
    before = home.digest()
    missing = home.run("devices", "forget", "tablet")
    assert missing.returncode == 1
    assert missing.stderr == "otpsync: error: no device 'tablet' (see `otpsync devices`)\n"
    assert home.digest() == before
