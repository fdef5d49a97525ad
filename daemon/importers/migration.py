"""Google Authenticator's export: ``otpauth-migration://offline?data=<base64 protobuf>``.

The payload is a small protobuf (MigrationPayload: repeated OtpParameters = 1, then version,
batch size, batch index and batch id as varints). We read it by hand rather than depend on
protobuf: only varints and length-delimited fields occur, and a hand reader lets us bound
everything. Quirks of real files: batch ids are negative int32s written as 10-byte varints, and
the data is often pasted with raw '+' and '/' (not percent-encoded), so '+' must never be
read as a space. Google's payload has no period: every TOTP code is 30 s.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote

from daemon.core.accounts import Account
from daemon.errors import ImportFailed
from daemon.importers._common import (
    MAX_ENTRIES,
    EntrySkipped,
    Skipped,
    TooManyEntries,
    each,
    entry_label,
    from_b64,
    make_account,
    without_issuer_prefix,
)

SCHEME = "otpauth-migration://"
_ALGORITHMS = {0: "SHA1", 1: "SHA1", 2: "SHA256", 3: "SHA512"}  # 4 = MD5: no one can use it
_DIGITS = {0: 6, 1: 6, 2: 8}
_TYPES = {0: "totp", 1: "hotp", 2: "totp"}  # 0 = unspecified: Google treats it as TOTP

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


class _Malformed(Exception):
    """Internal: the protobuf bytes are cut short or use a wire type we do not expect."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for shift in range(0, 70, 7):
        if pos >= len(buf):
            raise _Malformed
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value & 0xFFFFFFFFFFFFFFFF, pos
    raise _Malformed  # more than 10 bytes


def fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) for each field of one protobuf message."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _Malformed
        if wire == VARINT:
            value, pos = _varint(buf, pos)
            yield number, wire, value
        elif wire == LENGTH:
            size, pos = _varint(buf, pos)
            if size > len(buf) - pos:
                raise _Malformed
            yield number, wire, buf[pos : pos + size]
            pos += size
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
            if size > len(buf) - pos:
                raise _Malformed
            yield number, wire, buf[pos : pos + size]
            pos += size
        else:  # groups (3, 4) are long deprecated and never in this payload
            raise _Malformed


def _text(value: bytes, where: str, what: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ImportFailed(f"{where}: the {what} is not UTF-8") from None


def _account(raw: bytes, where: str) -> Account:
    """One OtpParameters message: 1 secret, 2 name, 3 issuer (bytes); 4 algorithm, 5 digits,
    6 type, 7 counter (varints). Missing enums are 0, "unspecified"."""
    blobs: dict[int, bytes] = {}
    ints: dict[int, int] = {}
    for number, wire, value in fields(raw):
        if number in (1, 2, 3):
            if wire != LENGTH or not isinstance(value, bytes):
                raise _Malformed
            blobs[number] = value
        elif number in (4, 5, 6, 7):
            if wire != VARINT or not isinstance(value, int):
                raise _Malformed
            ints[number] = value
    algorithm, digits, otp_type = ints.get(4, 0), ints.get(5, 0), ints.get(6, 0)
    name = _text(blobs.get(2, b""), where, "name")
    issuer = _text(blobs.get(3, b""), where, "issuer")
    label = entry_label(where, issuer, without_issuer_prefix(name, issuer))
    if algorithm not in _ALGORITHMS:
        raise EntrySkipped(label, f"algorithm {algorithm} (MD5?) is not one otpsync uses")
    if digits not in _DIGITS or otp_type not in _TYPES:
        raise EntrySkipped(label, f"unknown digits ({digits}) or code type ({otp_type})")
    return make_account(
        where,
        secret=blobs.get(1, b""),
        type=_TYPES[otp_type],
        issuer=issuer,
        account=without_issuer_prefix(name, issuer),
        algorithm=_ALGORITHMS[algorithm],
        digits=_DIGITS[digits],
        counter=ints.get(7, 0),
    )


def _parameters(raw: bytes, where: str) -> Account:
    try:
        return _account(raw, where)
    except _Malformed:
        raise ImportFailed(f"{where}: not a valid Google payload entry") from None


def accounts_from_payload(payload: bytes, where: str) -> list[Account | Skipped]:
    """The accounts in one decoded MigrationPayload (field 1, repeated; the rest is batch
    bookkeeping we do not need)."""
    try:
        raw_accounts: list[bytes] = []
        for number, wire, value in fields(payload):
            if number == 1:
                if not isinstance(value, bytes) or wire != LENGTH:
                    raise _Malformed
                raw_accounts.append(value)
                if len(raw_accounts) > MAX_ENTRIES:
                    raise TooManyEntries(f"{where}: more than {MAX_ENTRIES:,} codes in one payload")
    except _Malformed:
        raise ImportFailed(f"{where}: the migration data is not a valid Google payload") from None
    if not raw_accounts:
        raise ImportFailed(f"{where}: the migration data holds no codes")
    return each(raw_accounts, _parameters, lambda i, _: f"{where}, code {i}")


def data_param(uri: str, where: str) -> bytes:
    """The decoded ``data=`` bytes of a migration URI, keeping a raw '+' as '+'."""
    text = uri.strip()
    if not text[: len(SCHEME)].lower() == SCHEME:
        raise ImportFailed(f"{where} is not an otpauth-migration:// URI")
    rest = text[len(SCHEME) :]
    host, _, query = rest.partition("?")
    if host.rstrip("/").lower() != "offline":
        raise ImportFailed(f"{where}: expected otpauth-migration://offline?data=…")
    values = [v for k, _, v in (p.partition("=") for p in query.split("&")) if k == "data"]
    if len(values) != 1 or not values[0]:
        raise ImportFailed(f"{where}: the URI needs exactly one data= parameter")
    # unquote() decodes %2B etc. but, unlike form decoding, leaves a raw '+' alone. A space
    # can only be a '+' that something form-decoded on the way here.
    return from_b64(unquote(values[0]).replace(" ", "+"), where, "the data= value")


def accounts_from_uri(uri: str, where: str) -> list[Account | Skipped]:
    return accounts_from_payload(data_param(uri, where), where)
