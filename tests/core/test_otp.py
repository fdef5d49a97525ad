"""Codes must match the published RFC vectors (values copied from RFC 4226 App. D and
RFC 6238 App. B, with the longer SHA256/SHA512 seeds of RFC errata 2866)."""

from __future__ import annotations

import hashlib
import hmac
import struct

import pyotp
import pytest

from daemon.core.accounts import Account
from daemon.core.otp import STEAM_ALPHABET, code_at

RFC4226_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # "12345678901234567890"
RFC4226 = ["755224", "287082", "359152", "969429", "338314",
           "254676", "287922", "162583", "399871", "520489"]  # fmt: skip

RFC6238_SECRETS = {
    "SHA1": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
    "SHA256": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA====",
    "SHA512": "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNA=",
}
RFC6238 = [
    (59, "SHA1", "94287082"), (59, "SHA256", "46119246"), (59, "SHA512", "90693936"),
    (1111111109, "SHA1", "07081804"), (1111111109, "SHA256", "68084774"),
    (1111111109, "SHA512", "25091201"), (1111111111, "SHA1", "14050471"),
    (1111111111, "SHA256", "67062674"), (1111111111, "SHA512", "99943326"),
    (1234567890, "SHA1", "89005924"), (1234567890, "SHA256", "91819424"),
    (1234567890, "SHA512", "93441116"), (2000000000, "SHA1", "69279037"),
    (2000000000, "SHA256", "90698825"), (2000000000, "SHA512", "38618901"),
    (20000000000, "SHA1", "65353130"), (20000000000, "SHA256", "77737706"),
    (20000000000, "SHA512", "47863826"),
]  # fmt: skip


@pytest.mark.parametrize(("counter", "expected"), list(enumerate(RFC4226)))
def test_hotp_matches_rfc4226(counter: int, expected: str) -> None:
    acct = Account.create(type="hotp", secret=RFC4226_SECRET, counter=counter)
    assert code_at(acct, 0).code == expected
    assert code_at(acct, 0).remaining is None


@pytest.mark.parametrize(("when", "algorithm", "expected"), RFC6238)
def test_totp_matches_rfc6238(when: int, algorithm: str, expected: str) -> None:
    acct = Account.create(secret=RFC6238_SECRETS[algorithm], algorithm=algorithm, digits=8)
    assert code_at(acct, when).code == expected


def test_remaining_counts_down_within_the_period() -> None:
    acct = Account.create(secret=RFC4226_SECRET, period=30)
    assert code_at(acct, 60).remaining == 30
    assert code_at(acct, 89.5).remaining == 1


def test_80_bit_secrets_that_pyotp_refuses_still_make_codes() -> None:
    secret = "JBSWY3DPEHPK3PXP"
    with pytest.raises(ValueError, match="112 bits"):
        pyotp.TOTP(secret).at(0)  # the library's default, which real services do not follow
    acct = Account.create(secret=secret)
    expected = _independent_hotp(bytes.fromhex("48656c6c6f21deadbeef"), 1000 // 30, 6)
    assert code_at(acct, 1000).code == expected


def _independent_hotp(key: bytes, counter: int, digits: int) -> str:
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def test_steam_codes_use_steams_alphabet() -> None:
    """Steam Guard: HOTP's 31-bit value, written least-significant first in 26 characters."""
    secret = "JRZCL47CMXVOQMNPZR2F7J4RGI"  # Aegis' reference Steam entry ("Boeing")
    acct = Account.create(type="steam", secret=secret)
    for when in (0, 1_700_000_000, 1_764_324_000):
        digest = hmac.new(acct.identity()[1], struct.pack(">Q", when // 30), hashlib.sha1).digest()
        offset = digest[-1] & 0x0F
        value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
        expected = ""
        for _ in range(5):
            value, i = divmod(value, 26)
            expected += STEAM_ALPHABET[i]
        code = code_at(acct, when)
        assert code.code == expected
        assert len(code.code) == 5
        assert set(code.code) <= set(STEAM_ALPHABET)
