"""A payload that authenticates is still checked field by field."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from daemon.core import payload
from daemon.core.accounts import MAX_LABEL_CHARS, Account, Rejection, Tombstone
from daemon.core.payload import VaultData
from daemon.errors import DamagedFile, InvalidAccount

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


# --- only what encode() writes is read back ------------------------------------------------------


def raw_doc() -> bytes:
    return payload.encode(payload.decode(json.dumps(doc()).encode()))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(version=True), "unknown payload format or version"),
        (lambda d: d.update(version=1.0), "unknown payload format or version"),
        (lambda d: d.update(device_id=DEVICE.upper()), r"payload\.device_id is not a UUID"),
        (lambda d: d.update(device_id=DEVICE.replace("-", "")), "device_id is not a UUID"),
        (lambda d: d["accounts"][0].update(id=d["accounts"][0]["id"].upper()), "accounts\\[0\\]"),
        (lambda d: d["accounts"][0].update(id="{" + d["accounts"][0]["id"] + "}"), "UUID"),
        (lambda d: d["rejected"][0].update(source=DEVICE.upper()), r"rejected\[0\]\.source"),
        (lambda d: d["rejected"][0].update(source="urn:uuid:" + DEVICE), "source is not a UUID"),
        (lambda d: d["accounts"][0].update(created="2026-1-2T03:04:05Z"), "not a time"),
        (lambda d: d["accounts"][0].update(updated="٢٠٢٦-11-28T10:00:00Z"), "not a time"),
        (lambda d: d.update(created="2026-11-28T10:00:00+00:00"), "not a time"),
        (lambda d: d["tombstones"][0].update(removed="2026-11-28T10:00Z"), "not a time"),
        (lambda d: d["rejected"][0].update(version="2026-11-28t10:00:00z"), "not a time"),
        (lambda d: d["tombstones"][0].update(label="x" * 513), r"tombstones\[0\]\.label is over"),
        (lambda d: d["rejected"][0].update(label="x" * 513), r"rejected\[0\]\.label is over"),
        (lambda d: d["accounts"][0].update(issuer="\ud800"), r"accounts\[0\]\.issuer is not valid"),
        (lambda d: d["accounts"][0].update(account="a\udcffb"), r"\.account is not valid Unicode"),
        (lambda d: d.update(device="lap\udc80top"), r"payload\.device is not valid Unicode"),
        (lambda d: d["tombstones"][0].update(label="\udfff"), "not valid Unicode"),
    ],
)
def test_other_spellings_are_refused(mutate, message: str) -> None:
    d = doc()
    mutate(d)
    with pytest.raises(DamagedFile, match=message):
        payload.decode(json.dumps(d).encode())


def test_labels_up_to_the_limit_are_read() -> None:
    d = doc()
    d["tombstones"][0]["label"] = "é" * MAX_LABEL_CHARS
    d["rejected"][0]["label"] = "\U0001f600" * MAX_LABEL_CHARS  # code points, not UTF-16 units
    back = payload.decode(json.dumps(d).encode())
    assert len(back.tombstones[0].label) == len(back.rejected[0].label) == MAX_LABEL_CHARS


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda raw: raw.replace(b'"version":1,', b'"version":1,"version":1,'),
            "'version' appears",
        ),
        (lambda raw: raw.replace(b'"digits":6,', b'"digits":8,"digits":6,'), "'digits' appears"),
        (lambda raw: raw[:-1] + b',"x":{"a":1,"a":1}}', "'a' appears twice"),
        (lambda raw: raw[:-1] + b',"x":' + b"9" * 5000 + b"}", "not JSON"),
        (lambda raw: raw[:-1] + b',"x":NaN}', "NaN is not a JSON number"),
        (lambda raw: raw[:-1] + b',"x":-Infinity}', "Infinity is not a JSON number"),
        (lambda raw: raw.replace(b'"GitHub"', b'"\\ud800"'), "issuer is not valid Unicode"),
    ],
)
def test_json_text_only_encode_would_write(edit, message: str) -> None:
    raw = edit(raw_doc())
    with pytest.raises(DamagedFile, match=message):
        payload.decode(raw)


def test_escaped_and_reformatted_json_is_still_read() -> None:
    raw = raw_doc()
    relaid = json.dumps(json.loads(raw), indent=1, ensure_ascii=True).encode()
    assert relaid != raw
    assert payload.encode(payload.decode(relaid)) == raw
    pair = raw.replace(b'"GitHub"', b'"Git\\ud83d\\ude00"')  # a valid surrogate pair
    assert payload.decode(pair).accounts[0].issuer == "Git\U0001f600"


def test_times_before_year_1000_round_trip() -> None:
    old = datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)
    vault = VaultData(DEVICE, "laptop", old)
    raw = payload.encode(vault)
    assert b'"created":"0999-01-02T03:04:05Z"' in raw
    assert payload.decode(raw).created == old


# --- accounts: what a person types can be refused cleanly ----------------------------------------


@pytest.mark.parametrize("field", ["issuer", "account"])
def test_undecodable_text_is_an_invalid_account(field: str) -> None:
    # What Python makes of `otpsync add --issuer $'\xff'`: a lone surrogate (surrogateescape).
    text = b"\xff".decode("utf-8", "surrogateescape")
    with pytest.raises(InvalidAccount, match="valid text"):
        Account.create(secret="JBSWY3DPEHPK3PXP", **{field: text})


def test_non_canonical_account_ids_are_invalid() -> None:
    acct = Account.create(secret="JBSWY3DPEHPK3PXP")
    for other in (acct.id.upper(), acct.id.replace("-", ""), f"urn:uuid:{acct.id}"):
        with pytest.raises(InvalidAccount, match="not a lower-case hyphenated UUID"):
            replace(acct, id=other).validate()


def test_a_label_never_exceeds_the_limit_readers_enforce() -> None:
    acct = Account.create(
        secret="JBSWY3DPEHPK3PXP", issuer="i" * MAX_LABEL_CHARS, account="a" * MAX_LABEL_CHARS
    )
    assert len(acct.label) == MAX_LABEL_CHARS
    assert acct.label.endswith("…")
    stone = Tombstone(acct.fingerprint(), acct.label, NOW)
    vault = VaultData(DEVICE, "laptop", NOW, (), (stone,))
    assert payload.decode(payload.encode(vault)).tombstones == (stone,)


@pytest.mark.parametrize("label", ["x" * (MAX_LABEL_CHARS + 1), "\ud800"])
def test_tombstones_and_rejections_refuse_labels_readers_refuse(label: str) -> None:
    with pytest.raises(ValueError, match="label"):
        Tombstone("ab" * 32, label, NOW)
    with pytest.raises(ValueError, match="label"):
        Rejection(DEVICE, "ab" * 32, label, NOW)
