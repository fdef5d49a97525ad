"""otpauth:// URIs as services and apps really write them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.core.accounts import Account
from daemon.core.otpauth import parse_uri, to_uri
from daemon.errors import InvalidAccount


def test_google_key_uri_format_example() -> None:
    a = parse_uri("otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example")
    assert (a.type, a.issuer, a.account, a.secret) == ("totp", "Example", "alice@google.com",
                                                       "JBSWY3DPEHPK3PXP")  # fmt: skip
    assert (a.algorithm, a.digits, a.period) == ("SHA1", 6, 30)


@pytest.mark.parametrize(
    ("uri", "field", "expected"),
    [
        (
            "otpauth://totp/ACME%20Co:john.doe%40email.com?secret=JBSWY3DPEHPK3PXP",
            "issuer",
            "ACME Co",
        ),
        (
            "otpauth://totp/ACME%20Co:john.doe%40email.com?secret=JBSWY3DPEHPK3PXP",
            "account",
            "john.doe@email.com",
        ),
        (
            "otpauth://TOTP/x?SECRET=jbsw y3dp ehpk 3pxp&Algorithm=sha256",
            "secret",
            "JBSWY3DPEHPK3PXP",
        ),
        ("otpauth://TOTP/x?SECRET=jbswy3dpehpk3pxp&Algorithm=sha256", "algorithm", "SHA256"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP====&digits=8&period=60", "digits", 8),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=8&period=60", "period", 60),
        ("otpauth://totp/Label:acct?secret=JBSWY3DPEHPK3PXP&issuer=Param", "issuer", "Param"),
        ("otpauth://totp/Only%20Account?secret=JBSWY3DPEHPK3PXP", "issuer", ""),
        ("otpauth://totp/Foo+Bar:x?secret=JBSWY3DPEHPK3PXP&issuer=Foo+Bar", "issuer", "Foo+Bar"),
        ("otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=42", "counter", 42),
        ("otpauth://totp/Steam:bob?secret=JBSWY3DPEHPK3PXP&encoder=steam", "type", "steam"),
        ("otpauth://steam/Steam:bob?secret=JBSWY3DPEHPK3PXP", "digits", 5),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=&period=", "period", 30),
    ],
)
def test_lenient_reading(uri: str, field: str, expected: object) -> None:
    assert getattr(parse_uri(uri), field) == expected


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("https://example.com", "not an otpauth"),
        ("otpauth://motp/x?secret=JBSWY3DPEHPK3PXP", "unknown code type"),
        ("otpauth://totp/x", "no secret"),
        ("otpauth://totp/x?secret=", "no secret"),
        ("otpauth://totp/x?secret=not!base32", "not base32"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=3", "digits"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=six", "whole number"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=0", "period"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5", "algorithm"),
        ("otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP", "counter"),
        ("otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP&counter=-1", "counter"),
        ("otpauth://totp/x?secret=" + "A" * 9000, "longer than"),
    ],
)
def test_bad_uris_are_refused_with_a_reason(uri: str, message: str) -> None:
    with pytest.raises(InvalidAccount, match=message):
        parse_uri(uri)


labels = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=":"), max_size=40
).map(str.strip)


@given(
    issuer=labels,
    account=labels,
    secret=st.binary(min_size=1, max_size=64),
    kind=st.sampled_from(["totp", "hotp", "steam"]),
    algorithm=st.sampled_from(["SHA1", "SHA256", "SHA512"]),
    digits=st.integers(6, 10),
    period=st.integers(1, 86400),
    counter=st.integers(0, 2**63 - 1),
)
def test_write_then_read_round_trips(
    issuer: str, account: str, secret: bytes, kind: str, algorithm: str, digits: int,
    period: int, counter: int,
) -> None:  # fmt: skip
    import base64

    original = Account.create(
        type=kind,
        secret=base64.b32encode(secret).decode(),
        issuer=issuer,
        account=account,
        algorithm="SHA1" if kind == "steam" else algorithm,
        digits=None if kind == "steam" else digits,
        period=period,
        counter=counter if kind == "hotp" else 0,
    )
    back = parse_uri(to_uri(original))
    assert back.identity() == original.identity()
    assert back.account == original.account
    assert back.issuer == (original.issuer or ("Steam" if kind == "steam" else ""))
    assert back.counter == original.counter


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("jbsw y3dp ehpk 3pxp", "JBSWY3DPEHPK3PXP"),
        ("JBSW-Y3DP-EHPK-3PXP", "JBSWY3DPEHPK3PXP"),
        ("JBSWY3DPEHPK3PXP====", "JBSWY3DPEHPK3PXP"),
        ("JBSWY3DPEHPK3PXPA", "JBSWY3DPEHPK3PXP"),  # odd length: leftover bits dropped
        (
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA",
        ),
    ],
)
def test_secret_spellings_normalise(given: str, canonical: str) -> None:
    from daemon.core.accounts import normalize_secret

    assert normalize_secret(given) == canonical
