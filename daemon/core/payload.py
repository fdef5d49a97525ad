"""The decrypted payload: a device's accounts and tombstones as JSON (spec: docs/format.md).

Decoding trusts nothing: every field is type-checked and every account validated, and entry
counts are capped, so a file that authenticates but was written by a buggy or hostile writer
is still refused with a clear message instead of crashing later.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from daemon.core.accounts import Account, Rejection, Tombstone
from daemon.errors import DamagedFile, InvalidAccount

PAYLOAD_FORMAT = "otpsync-payload"
PAYLOAD_VERSION = 1
MAX_ACCOUNTS = 100_000
MAX_TOMBSTONES = 100_000
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_FINGERPRINT_RE = re.compile(r"\A[0-9a-f]{64}\Z")
_TIME_RE = re.compile(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\Z")


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


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


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
             "version": _time(r.version)}
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


def decode(raw: bytes, *, expect_device_id: str | None = None) -> VaultData:
    """UTF-8 JSON → VaultData, validated. ``expect_device_id`` is the authenticated header's."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise DamagedFile("payload is damaged (not JSON)") from None
    r = _Reader(doc, "payload")
    if r.obj.get("format") != PAYLOAD_FORMAT or r.obj.get("version") != PAYLOAD_VERSION:
        raise DamagedFile("payload is damaged (unknown payload format or version)")
    device_id = r.get("device_id", str)
    try:
        uuid.UUID(device_id)
    except ValueError:
        raise DamagedFile("payload is damaged (device_id is not a UUID)") from None
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
        tombstones.append(Tombstone(tr.fingerprint(), tr.get("label", str), tr.time("removed")))
    rejected_raw = r.obj.get("rejected", [])
    if not isinstance(rejected_raw, list) or len(rejected_raw) > MAX_TOMBSTONES:
        raise DamagedFile("payload is damaged (rejected is not a list, or too long)")
    rejected = []
    for i, item in enumerate(rejected_raw):
        rr = _Reader(item, f"rejected[{i}]")
        source = rr.get("source", str)
        try:
            uuid.UUID(source)
        except ValueError:
            raise DamagedFile(f"payload is damaged (rejected[{i}].source)") from None
        rejected.append(
            Rejection(source, rr.fingerprint(), rr.get("label", str), rr.time("version"))
        )
    return VaultData(
        device_id=device_id,
        device=r.get("device", str),
        created=r.time("created"),
        accounts=accounts,
        tombstones=tuple(tombstones),
        rejected=tuple(rejected),
    )
