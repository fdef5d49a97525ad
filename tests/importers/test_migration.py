"""Google Authenticator's otpauth-migration:// payloads, read by hand: round trips through a
tiny encoder, the quirks real exports have, and every way a payload can be malformed."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon import importers
from daemon.core.accounts import normalize_secret
from daemon.errors import ImportFailed
from daemon.importers import Skipped
from daemon.importers.migration import accounts_from_payload
from tests.importers.support import migration_uri, otp_parameters, pb_field, varint

GOOGLE = importers.get("google-authenticator")
ALGORITHMS = {1: "SHA1", 2: "SHA256", 3: "SHA512"}
label_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=":"),
    max_size=30,
)
otp_codes = st.tuples(
    st.binary(min_size=1, max_size=64),
    label_text,
    label_text,
    st.sampled_from([1, 2, 3]),
    st.sampled_from([1, 2]),
    st.sampled_from([1, 2]),
    st.integers(min_value=0, max_value=2**63 - 1),
)


@settings(max_examples=150, deadline=None)
@given(
    codes=st.lists(otp_codes, min_size=1, max_size=6),
    batch_id=st.integers(min_value=-(2**31), max_value=2**31 - 1),
    raw_plus=st.booleans(),
)
def test_round_trip(codes: list[tuple], batch_id: int, raw_plus: bool) -> None:  # type: ignore[type-arg]
    encoded = [otp_parameters(*code) for code in codes]
    accounts = GOOGLE.parse(migration_uri(encoded, batch_id, raw_plus).encode()).accounts
    assert len(accounts) == len(codes)
    for account, (secret, name, issuer, algorithm, digits, otp_type, counter) in zip(
        accounts, codes, strict=True
    ):
        assert account.secret == base64.b32encode(secret).decode().rstrip("=")
        assert (account.account, account.issuer) == (name.strip(), issuer.strip())
        assert account.algorithm == ALGORITHMS[algorithm]
        assert account.digits == (6 if digits == 1 else 8)
        assert account.type == ("hotp" if otp_type == 1 else "totp")
        assert account.counter == (counter if otp_type == 1 else 0)
        assert account.period == 30


def test_minimal_payload_from_the_otpauth_migration_readme() -> None:
    """No version or batch fields at all (johncallahan/otpauth_migration's README)."""
    uri = "otpauth-migration://offline?data=CjEKCkhlbGxvId6tvu8SGEV4YW1wbGU6YWxpY2VAZ29vZ2xlLmNvbRoHRXhhbXBsZTAC"
    (account,) = GOOGLE.parse(uri.encode()).accounts
    assert (account.type, account.issuer, account.account) == (
        "totp",
        "Example",
        "alice@google.com",
    )
    assert account.secret == normalize_secret("JBSWY3DPEHPK3PXP")


def test_many_uris_comments_and_plain_otpauth_lines_mix() -> None:
    first = migration_uri([otp_parameters(b"1" * 10, "a", "A", 1, 1, 2, 0)])
    second = migration_uri([otp_parameters(b"2" * 10, "b", "B", 2, 2, 1, 7)], batch_id=5)
    text = f"# export\n{first}\n\n{second}\notpauth://totp/C:c?secret=GEZDGNBV\n"
    accounts = importers.parse(text.encode()).accounts
    assert [a.issuer for a in accounts] == ["A", "B", "C"]
    assert importers.detect(text.encode()) == "otpauth"  # mixed: the general list format
    assert importers.detect(f"{first}\n{second}".encode()) == "google-authenticator"


def test_form_decoded_plus_still_reads() -> None:
    """A '+' that something turned into a space on the way is still a '+'."""
    encoded = [otp_parameters(bytes([0xFB] * 12), "x", "", 1, 1, 2, 0)]
    uri = migration_uri(encoded)
    assert "+" in uri
    (account,) = GOOGLE.parse(uri.replace("+", " ").encode()).accounts
    assert account.secret == base64.b32encode(bytes([0xFB] * 12)).decode().rstrip("=")


def test_issuer_repeated_in_the_name_is_dropped() -> None:
    encoded = [otp_parameters(b"k" * 10, "ACME:alice@example.com", "ACME", 1, 1, 2, 0)]
    (account,) = GOOGLE.parse(migration_uri(encoded).encode()).accounts
    assert (account.issuer, account.account) == ("ACME", "alice@example.com")


def payload_problem(payload: bytes) -> str:
    """Why a payload gives no code: the payload's error, or its one code's skip reason."""
    try:
        results = accounts_from_payload(payload, "line 1")
    except ImportFailed as exc:
        return exc.message
    [skipped] = results
    assert isinstance(skipped, Skipped)
    return skipped.reason


GOOD = pb_field(1, otp_parameters(b"k" * 10, "n", "i", 1, 1, 2, 0))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "holds no codes"),
        (pb_field(2, 1), "holds no codes"),
        (GOOD[:-1], "not a valid Google payload"),
        (GOOD + b"\x08", "not a valid Google payload"),  # key without a value
        (GOOD + b"\x0b", "not a valid Google payload"),  # wire type 3 (group)
        (b"\x08" + b"\xff" * 11, "not a valid Google payload"),  # varint over 10 bytes
        (b"\x00\x00", "not a valid Google payload"),  # field number 0
        (varint(1 << 3) + b"\x01", "not a valid Google payload"),  # accounts as a varint
        (pb_field(1, pb_field(2, 5)), "not a valid Google payload"),  # name as a varint
        (pb_field(1, pb_field(1, b"k") + pb_field(5, 9)), "unknown digits"),
        (pb_field(1, pb_field(1, b"") + pb_field(6, 2)), "no secret"),
        (pb_field(1, pb_field(1, b"k") + pb_field(2, b"\xff")), "the name is not UTF-8"),
    ],
)
def test_malformed_payloads(payload: bytes, message: str) -> None:
    assert message in payload_problem(payload)


def test_md5_codes_are_skipped_and_the_others_import() -> None:
    md5 = otp_parameters(b"k" * 10, "n", "", 4, 1, 2, 0)
    good = otp_parameters(b"g" * 10, "alice", "ACME", 1, 1, 2, 0)
    uri = migration_uri([md5, good])
    result = GOOGLE.parse(uri.encode())
    assert [a.label for a in result.accounts] == ["ACME — alice"]
    [skipped] = result.skipped
    assert (skipped.label, skipped.malformed) == ("n", False)
    assert "MD5" in skipped.reason


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("otpauth-migration://offline?data=XXXX", "not a valid Google payload"),
        ("otpauth-migration://offline?data=%%%", "not valid base64"),
        ("otpauth-migration://offline?foo=bar", "exactly one data="),
        ("otpauth-migration://offline?data=AA&data=AA", "exactly one data="),
        ("otpauth-migration://online?data=AA", "expected otpauth-migration://offline"),
    ],
)
def test_malformed_uris(line: str, message: str) -> None:
    with pytest.raises(ImportFailed, match=message):
        GOOGLE.parse(line.encode())
