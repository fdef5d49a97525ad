"""The decrypted payload: a device's accounts and tombstones as JSON (spec: docs/format.md).

Decoding trusts nothing: every field is type-checked and every account validated, and entry
counts are capped, so a file that authenticates but was written by a buggy or hostile writer
is still refused with a clear message instead of crashing later. It accepts only what
``encode`` writes: canonical UUIDs and times, ``version`` the integer 1, no duplicate member
names, no lone surrogates (a vault holding one could not be saved again).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from daemon.core.accounts import (
    MAX_LABEL_CHARS,
    Account,
    Rejection,
    Tombstone,
    is_canonical_uuid,
    is_utf8_text,
)
from daemon.core.backup_format import format_time
from daemon.errors import DamagedFile, InvalidAccount

PAYLOAD_FORMAT = "otpsync-payload"
PAYLOAD_VERSION = 1
MAX_ACCOUNTS = 100_000
MAX_TOMBSTONES = 100_000
_FINGERPRINT_RE = re.compile(r"\A[0-9a-f]{64}\Z")
# [0-9], not \d: \d takes any Unicode digit ("٢٠٢٦-…").
_TIME_RE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z")


@dataclass(frozen=True, slots=True)
class VaultData:
    """Everything one device knows: its codes and the codes removed on it."""

    device_id: str
    device: str
    created: datetime
    accounts: tuple[Account, ...] = ()
    tombstones: tuple[Tombstone, ...] = field(default=())
    # Local decisions: kept in the vault, left out of backups (see ``for_backup``).
    rejected: tuple[Rejection, ...] = field(default=())

    def for_backup(self) -> VaultData:
        """What another device gets: codes and tombstones, not this device's rejections."""
        return replace(self, rejected=())


_time = format_time


def _account_json(a: Account) -> dict[str, Any]:
    return {
        "id": a.id,
        "type": a.type,
        "issuer": a.issuer,
        "account": a.account,
        "secret": a.secret,
        "algorithm": a.algorithm,
        "digits": a.digits,
        "period": a.period,
        "counter": a.counter,
        "created": _time(a.created),
        "updated": _time(a.updated),
    }


def encode(data: VaultData) -> bytes:
    """VaultData → compact UTF-8 JSON."""
    doc = {
        "format": PAYLOAD_FORMAT,
        "version": PAYLOAD_VERSION,
        "device_id": data.device_id,
        "device": data.device,
        "created": _time(data.created),
        "accounts": [_account_json(a) for a in data.accounts],
        "tombstones": [
            {"fingerprint": t.fingerprint, "label": t.label, "removed": _time(t.removed)}
            for t in data.tombstones
        ],
    }
    if data.rejected:
        doc["rejected"] = [
            {"source": r.source, "fingerprint": r.fingerprint, "label": r.label,
             "version": _time(r.version), **({"kind": r.kind} if r.kind != "code" else {})}
            for r in data.rejected
        ]  # fmt: skip
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class _Reader:
    """Typed access to one JSON object, raising DamagedFile with the field's path."""

    def __init__(self, obj: Any, where: str) -> None:
        if not isinstance(obj, dict):
            raise DamagedFile(f"payload is damaged ({where} is not an object)")
        self.obj, self.where = obj, where

    def get(self, key: str, kind: type | tuple[type, ...]) -> Any:
        value = self.obj.get(key)
        # bool is an int in Python; never accept it where a number is meant.
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise DamagedFile(f"payload is damaged ({self.where}.{key} is missing or mistyped)")
        if isinstance(value, str) and not is_utf8_text(value):
            raise DamagedFile(f"payload is damaged ({self.where}.{key} is not valid Unicode)")
        return value

    def uuid(self, key: str) -> str:
        value = self.get(key, str)
        if not is_canonical_uuid(value):
            raise DamagedFile(f"payload is damaged ({self.where}.{key} is not a UUID)")
        return value

    def label(self) -> str:
        value = self.get("label", str)
        if len(value) > MAX_LABEL_CHARS:
            raise DamagedFile(
                f"payload is damaged ({self.where}.label is over {MAX_LABEL_CHARS} characters)"
            )
        return value

    def fingerprint(self) -> str:
        value = self.get("fingerprint", str)
        if not _FINGERPRINT_RE.match(value):
            raise DamagedFile(f"payload is damaged ({self.where}.fingerprint)")
        return value

    def time(self, key: str) -> datetime:
        text = self.get(key, str)
        # The regex pins the one accepted spelling; fromisoformat is 10x faster than strptime.
        if not _TIME_RE.match(text):
            raise DamagedFile(f"payload is damaged ({self.where}.{key} is not a time)")
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            raise DamagedFile(f"payload is damaged ({self.where}.{key} is not a time)") from None


def _decode_account(obj: Any, index: int) -> Account:
    r = _Reader(obj, f"accounts[{index}]")
    acct = Account(
        id=r.get("id", str),
        type=r.get("type", str),
        issuer=r.get("issuer", str),
        account=r.get("account", str),
        secret=r.get("secret", str),
        algorithm=r.get("algorithm", str),
        digits=r.get("digits", int),
        period=r.get("period", int),
        counter=r.get("counter", int),
        created=r.time("created"),
        updated=r.time("updated"),
    )
    try:
        acct.validate()
    except InvalidAccount as exc:
        raise DamagedFile(f"payload is damaged (accounts[{index}]: {exc})") from None
    return acct


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json's object hook: refuse duplicate member names instead of keeping the last one."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        twice = next(n for n, count in Counter(n for n, _ in pairs).items() if count > 1)
        raise DamagedFile(f"payload is damaged (member {twice[:40]!r} appears twice)")
    return obj


def _no_constant(name: str) -> Any:
    """json's hook for NaN and Infinity, which are not JSON (RFC 8259)."""
    raise DamagedFile(f"payload is damaged ({name} is not a JSON number)")


def _check_anywhere(doc: Any, fractions: list[str]) -> None:
    """Numbers are integers and strings valid Unicode *anywhere*, ignored members included
    (docs/format.md §7), so every reader refuses the same documents. Checked after the known
    members, whose own checks name the field."""
    if fractions:
        raise DamagedFile(f"payload is damaged (number {fractions[0][:20]!r} is not an integer)")
    try:  # one C-speed pass finds a lone surrogate escape wherever it is
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise DamagedFile("payload is damaged (a string is not valid Unicode)") from None


def decode(raw: bytes, *, expect_device_id: str | None = None) -> VaultData:
    """UTF-8 JSON → VaultData, validated. ``expect_device_id`` is the authenticated header's."""
    fractions: list[str] = []
    try:
        doc = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_unique_members,
            parse_constant=_no_constant,
            parse_float=lambda text: fractions.append(text) or 0.0,
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        # ValueError covers JSONDecodeError and integers over Python's 4300-digit limit.
        raise DamagedFile("payload is damaged (not JSON)") from None
    r = _Reader(doc, "payload")
    # type() is: True == 1 and 1.0 == 1 in Python, but neither is what encode() writes.
    version = r.obj.get("version")
    exact_version = type(version) is int and version == PAYLOAD_VERSION
    if r.obj.get("format") != PAYLOAD_FORMAT or not exact_version:
        raise DamagedFile("payload is damaged (unknown payload format or version)")
    device_id = r.uuid("device_id")
    if expect_device_id is not None and device_id != expect_device_id:
        raise DamagedFile("payload is damaged (its device id differs from the header's)")
    accounts_raw = r.get("accounts", list)
    tombstones_raw = r.get("tombstones", list)
    if len(accounts_raw) > MAX_ACCOUNTS or len(tombstones_raw) > MAX_TOMBSTONES:
        raise DamagedFile(
            f"payload holds more than {MAX_ACCOUNTS} codes or tombstones; refusing it"
        )
    accounts = tuple(_decode_account(a, i) for i, a in enumerate(accounts_raw))
    tombstones = []
    for i, t in enumerate(tombstones_raw):
        tr = _Reader(t, f"tombstones[{i}]")
        tombstones.append(Tombstone(tr.fingerprint(), tr.label(), tr.time("removed")))
    rejected_raw = r.obj.get("rejected", [])
    if not isinstance(rejected_raw, list) or len(rejected_raw) > MAX_TOMBSTONES:
        raise DamagedFile("payload is damaged (rejected is not a list, or too long)")
    rejected = []
    for i, item in enumerate(rejected_raw):
        rr = _Reader(item, f"rejected[{i}]")
        kind = rr.get("kind", str) if "kind" in rr.obj else "code"
        if kind not in ("code", "removal"):
            raise DamagedFile(f"payload is damaged (rejected[{i}].kind is {kind[:20]!r})")
        rejected.append(
            Rejection(rr.uuid("source"), rr.fingerprint(), rr.label(), rr.time("version"), kind)
        )
    data = VaultData(
        device_id=device_id,
        device=r.get("device", str),
        created=r.time("created"),
        accounts=accounts,
        tombstones=tuple(tombstones),
        rejected=tuple(rejected),
    )
    _check_anywhere(doc, fractions)
    return data
