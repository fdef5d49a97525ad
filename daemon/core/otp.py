"""Codes from accounts: pyotp for HOTP/TOTP arithmetic, Steam's alphabet on top of HOTP.

pyotp 2.12 refuses secrets under 112 bits, but services still hand out 80-bit ones
(``JBSWY3DPEHPK3PXP``) and a person's working code must never be refused: we use subclasses
whose minimum is one byte. Our own checks live in ``Account.validate``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pyotp

from daemon.core.accounts import Account

STEAM_ALPHABET = "23456789BCDFGHJKMNPQRTVWXY"
_DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


class _HOTP(pyotp.HOTP):
    min_secret_length_bits = 8


class _TOTP(pyotp.TOTP):
    min_secret_length_bits = 8


@dataclass(frozen=True, slots=True)
class Code:
    """A code as shown: the text, and for time-based codes how many seconds it has left."""

    code: str
    remaining: int | None


def _steam_code(account: Account, timecode: int) -> str:
    """Steam Guard: the HOTP 31-bit value spelled in Steam's 26-letter alphabet, 5 characters."""
    hotp = _HOTP(account.secret, digits=10, digest=hashlib.sha1)
    # pyotp pads to 10 digits after a modulo of 10**10, which is above 2**31: the value is intact.
    value = int(hotp.at(timecode))
    chars = []
    for _ in range(5):
        value, index = divmod(value, len(STEAM_ALPHABET))
        chars.append(STEAM_ALPHABET[index])
    return "".join(chars)


def code_at(account: Account, unix_time: float) -> Code:
    """The code ``account`` shows at ``unix_time`` (HOTP: at its stored counter)."""
    digest = _DIGESTS[account.algorithm]
    if account.type == "hotp":
        hotp = _HOTP(account.secret, digits=account.digits, digest=digest)
        return Code(hotp.at(account.counter), None)
    timecode = int(unix_time // account.period)
    remaining = account.period - int(unix_time % account.period)
    if account.type == "steam":
        return Code(_steam_code(account, timecode), remaining)
    totp = _TOTP(account.secret, digits=account.digits, digest=digest, interval=account.period)
    return Code(totp.generate_otp(timecode), remaining)
