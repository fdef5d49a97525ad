"""A payload that authenticates is still checked field by field."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from daemon.core import payload
from daemon.core.accounts import Account, Rejection, Tombstone
from daemon.core.payload import VaultData
from daemon.errors import DamagedFile

DEVICE = "6f1c0d1e-2f3a-4b5c-8d6e-7f8091a2b3c4"
NOW = datetime(2026, 11, 28, tzinfo=UTC)


def doc() -> dict:
    acct = Account.create(secret="JBSWY3DPEHPK3PXP", issuer="GitHub", account="alice")
    vault = VaultData(
        DEVICE,
        "laptop",
        NOW,
        (acct,),
        (Tombstone("ab" * 32, "Old — x", NOW),),
        (Rejection(DEVICE, "cd" * 32, "Offered — y", NOW),),
    )
    return json.loads(payload.encode(vault))


def test_round_trip() -> None:
    raw = json.dumps(doc()).encode()
    back = payload.decode(raw, expect_device_id=DEVICE)
    assert payload.encode(back) == payload.encode(payload.decode(payload.encode(back)))
    assert back.accounts[0].label == "GitHub — alice"
    assert back.rejected[0].label == "Offered — y"
    assert "rejected" not in json.loads(payload.encode(back.for_backup()))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format="other"), "unknown payload format"),
        (lambda d: d.update(version=2), "unknown payload format"),
        (lambda d: d.update(device_id="nope"), "not a UUID"),
        (lambda d: d.update(accounts={}), "accounts is missing"),
        (lambda d: d["accounts"][0].update(digits="6"), r"accounts\[0\].digits"),
        (lambda d: d["accounts"][0].update(digits=True), r"accounts\[0\].digits"),
        (lambda d: d["accounts"][0].update(digits=3), "digits must be"),
        (lambda d: d["accounts"][0].update(secret="jbswy3dpehpk3pxp"), "canonical base32"),
        (lambda d: d["accounts"][0].update(type="motp"), "unknown code type"),
        (lambda d: d["accounts"][0].update(created="yesterday"), "not a time"),
        (lambda d: d["accounts"][0].pop("id"), r"accounts\[0\].id"),
        (lambda d: d["tombstones"][0].update(fingerprint="ab"), "fingerprint"),
        (lambda d: d["tombstones"][0].update(fingerprint="AB" * 32), "fingerprint"),
        (lambda d: d["rejected"][0].update(source="phone"), r"rejected\[0\].source"),
        (lambda d: d.update(rejected={}), "rejected is not a list"),
        (lambda d: d.update(accounts=[d["accounts"][0]] * 100_001), "more than"),
    ],
)
def test_bad_payloads_are_refused_with_the_field_named(mutate, message: str) -> None:
    d = doc()
    mutate(d)
    with pytest.raises(DamagedFile, match=message):
        payload.decode(json.dumps(d).encode())


@pytest.mark.parametrize("raw", [b"", b"\xff\xfe", b"[]", b"null", b"[" * 100_000])
def test_garbage_is_damaged(raw: bytes) -> None:
    with pytest.raises(DamagedFile):
        payload.decode(raw)


def test_payload_from_another_device_than_its_header_says() -> None:
    with pytest.raises(DamagedFile, match="differs"):
        payload.decode(json.dumps(doc()).encode(), expect_device_id=DEVICE.replace("6", "7"))
