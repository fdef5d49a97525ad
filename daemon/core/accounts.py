"""Accounts: one 2FA code each, its identity, and the checks that keep it able to make codes."""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from daemon.errors import InvalidAccount

OtpType = Literal["totp", "hotp", "steam"]
Algorithm = Literal["SHA1", "SHA256", "SHA512"]

TYPES: tuple[OtpType, ...] = ("totp", "hotp", "steam")
ALGORITHMS: tuple[Algorithm, ...] = ("SHA1", "SHA256", "SHA512")
DIGITS_RANGE = range(6, 11)  # pyotp's range; Key Uri Format says 6 or 8, apps use up to 10
STEAM_DIGITS = 5
PERIOD_RANGE = range(1, 86_401)
MAX_COUNTER = 2**63 - 1
MAX_SECRET_BYTES = 1024
MAX_LABEL_CHARS = 512  # issuer, account, and a tombstone's or rejection's label
RECOMMENDED_SECRET_BITS = 128  # RFC 4226 §4, R6


def utcnow() -> datetime:
    """Now, in UTC, to the second: what we store, so every device rounds the same way."""
    return datetime.now(UTC).replace(microsecond=0)


def is_canonical_uuid(text: str) -> bool:
    """Whether ``text`` is a UUID spelled as ``str(uuid.UUID(...))`` spells it: lower case,
    hyphenated, no braces or ``urn:uuid:``. Ids are compared as text, so one spelling only."""
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def is_utf8_text(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8: no lone surrogates (which JSON's ``\\ud800``
    and undecodable command-line bytes produce)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_B32 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")}


def _b32decode_lenient(text: str) -> bytes:
    """RFC 4648 base32 without the padding rules: leftover bits at the end are dropped, as
    Google Authenticator does, so an odd-length secret a service printed still works."""
    bits = nbits = 0
    out = bytearray()
    for ch in text:
        if ch not in _B32:
            raise InvalidAccount("the secret is not base32 (letters A-Z and digits 2-7)")
        bits = (bits << 5) | _B32[ch]
        nbits += 5
        if nbits >= 8:
            nbits -= 8
            out.append((bits >> nbits) & 0xFF)
    return bytes(out)


def normalize_secret(text: str) -> str:
    """Canonical base32 of a secret as people paste it: any case, spaces, dashes, padding,
    odd lengths. Returns upper-case base32 without padding; raises InvalidAccount otherwise.
    """
    cleaned = "".join(text.split()).replace("-", "").rstrip("=").upper()
    try:  # the C decoder for the usual case; the lenient loop only for odd lengths
        raw = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
    except ValueError:
        raw = _b32decode_lenient(cleaned)
    if not raw:
        raise InvalidAccount("the secret is empty")
    if len(raw) > MAX_SECRET_BYTES:
        raise InvalidAccount(f"the secret is longer than {MAX_SECRET_BYTES} bytes")
    # Re-encode so that equal secrets have equal text (drops non-canonical trailing bits).
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def secret_bytes(secret: str) -> bytes:
    """The raw key bytes of a normalised base32 secret."""
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


@dataclass(frozen=True, slots=True)
class Account:
    """One 2FA code: what generates it (type, secret, algorithm, digits, period/counter) and
    how the person recognises it (issuer, account). ``id`` is stable across devices."""

    type: OtpType
    secret: str
    issuer: str = ""
    account: str = ""
    algorithm: Algorithm = "SHA1"
    digits: int = 6
    period: int = 30
    counter: int = 0
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created: datetime = field(default_factory=utcnow)
    updated: datetime = field(default_factory=utcnow)

    @classmethod
    def create(
        cls,
        *,
        type: str = "totp",
        secret: str,
        issuer: str = "",
        account: str = "",
        algorithm: str = "SHA1",
        digits: int | None = None,
        period: int = 30,
        counter: int = 0,
    ) -> Account:
        """Build a new account from loosely typed input, normalising and validating it."""
        otp_type = type.lower()
        if otp_type not in TYPES:
            raise InvalidAccount(f"unknown code type {type!r} (use totp, hotp or steam)")
        algo = algorithm.upper().replace("-", "")
        if algo not in ALGORITHMS:
            raise InvalidAccount(
                f"unsupported algorithm {algorithm!r} (use SHA1, SHA256 or SHA512)"
            )
        if digits is None:
            digits = STEAM_DIGITS if otp_type == "steam" else 6
        acct = cls(
            type=otp_type,  # type: ignore[arg-type]
            secret=normalize_secret(secret),
            issuer=issuer.strip(),
            account=account.strip(),
            algorithm=algo,  # type: ignore[arg-type]
            digits=digits,
            period=period,
            counter=counter,
        )
        acct.validate()
        return acct

    def validate(self) -> None:
        """Raise InvalidAccount unless this account can make codes and is within our limits."""
        if self.type not in TYPES:
            raise InvalidAccount(f"unknown code type {self.type!r}")
        if self.algorithm not in ALGORITHMS:
            raise InvalidAccount(f"unsupported algorithm {self.algorithm!r}")
        if self.type == "steam":
            if self.digits != STEAM_DIGITS or self.algorithm != "SHA1":
                raise InvalidAccount("Steam codes are always 5 characters, SHA1")
        elif self.digits not in DIGITS_RANGE:
            raise InvalidAccount(f"digits must be 6 to 10, not {self.digits}")
        if self.period not in PERIOD_RANGE:
            raise InvalidAccount(f"period must be 1 to 86400 seconds, not {self.period}")
        if not 0 <= self.counter <= MAX_COUNTER:
            raise InvalidAccount(f"counter must be 0 to 2^63-1, not {self.counter}")
        if normalize_secret(self.secret) != self.secret:
            raise InvalidAccount("the secret is not in canonical base32")
        if len(self.issuer) > MAX_LABEL_CHARS or len(self.account) > MAX_LABEL_CHARS:
            raise InvalidAccount(f"issuer and account are limited to {MAX_LABEL_CHARS} characters")
        if not is_utf8_text(self.issuer) or not is_utf8_text(self.account):
            raise InvalidAccount("issuer and account must be valid text (not undecodable bytes)")
        if not is_canonical_uuid(self.id):
            raise InvalidAccount(f"account id {self.id!r} is not a lower-case hyphenated UUID")

    @property
    def secret_bits(self) -> int:
        return len(secret_bytes(self.secret)) * 8

    @property
    def label(self) -> str:
        """How a person reads it in a list: "GitHub — alice". At most MAX_LABEL_CHARS, since
        tombstones and rejections store it and readers refuse longer labels."""
        if self.issuer and self.account:
            text = f"{self.issuer} — {self.account}"
        else:
            text = self.issuer or self.account or "(unnamed)"
        return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1] + "…"

    def identity(self) -> tuple[str, bytes, str, int, int]:
        """What makes the codes: two accounts with the same identity give the same OTPs.

        The HOTP counter is not part of it (it moves); the period means nothing for HOTP.
        """
        period = 0 if self.type == "hotp" else self.period
        return (self.type, secret_bytes(self.secret), self.algorithm, self.digits, period)

    def fingerprint(self) -> str:
        """A stable digest of ``identity()``, for tombstones. Only ever stored encrypted."""
        otp_type, raw, algo, digits, period = self.identity()
        h = hashlib.sha256(f"otpsync-id-v1|{otp_type}|{algo}|{digits}|{period}|".encode())
        h.update(raw)
        return h.hexdigest()

    def matches(self, query: str) -> bool:
        """Case-insensitive match on issuer/account text, or an id prefix."""
        q = query.casefold()
        return (
            q in self.issuer.casefold()
            or q in self.account.casefold()
            or q in self.label.casefold()
            or self.id.startswith(q)
        )

    def metadata_key(self) -> tuple[datetime, str, str]:
        """Orders competing versions of the same code: newest wins, ties broken by text so the
        choice never depends on which backup arrived first."""
        return (self.updated, self.issuer, self.account)

    def with_counter(self, counter: int) -> Account:
        return replace(self, counter=counter)


@dataclass(frozen=True, slots=True)
class Tombstone:
    """A code removed here. It keeps old backups from quietly bringing the code back."""

    fingerprint: str
    label: str
    removed: datetime

    def __post_init__(self) -> None:
        _check_label(self.label)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A code another device offered and the person turned down here, so it is not offered
    again by that device. ``version`` is the offered entry's ``updated``: a later rename of a
    code already here is a new question, a re-offer of the same version is not."""

    source: str
    fingerprint: str
    label: str
    version: datetime
    # "code": an offered code turned down; "removal": that device's removal of a code here
    # declined (``version`` is then its tombstone's time), see core/removals.py
    kind: str = "code"

    def __post_init__(self) -> None:
        _check_label(self.label)
        if self.kind not in ("code", "removal"):
            raise ValueError(f"a rejection is of a code or a removal, not {self.kind!r}")


def _check_label(label: str) -> None:
    """A writer-side guard (a programming error): never store a label readers refuse."""
    if len(label) > MAX_LABEL_CHARS or not is_utf8_text(label):
        raise ValueError(f"a label is at most {MAX_LABEL_CHARS} characters of valid text")
