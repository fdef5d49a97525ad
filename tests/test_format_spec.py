"""docs/format.md is precise enough to build a reader from: here is one, checked against ours.

The first half of this file is an independent reader written only from docs/format.md, using
``cryptography`` primitives and the standard library (it must not import otpsync's format
code). The tests then check that it opens what ``backup_format.seal`` writes, that it opens
the worked example embedded in the doc (parsed out of the markdown, so doc and test cannot
drift), and that both readers name the same problem for the same broken file. Hypothesis
properties pin down the reference's own guarantees: round trip, any single-byte change is
refused, any truncation is refused, exactly as the doc's tables say.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# =============================================================================================
# The independent reader (docs/format.md §3–§7). Nothing from daemon.core in this section.
# =============================================================================================

SPEC_CAP = 16 * 1024 * 1024
SPEC_MAGIC = b"otpsync-backup "
SPEC_MAGIC_LINE = b"otpsync-backup v2\n"  # what writers write; v1 is read too (§4.1)
SPEC_KEYS_V1 = (
    "kind",
    "device-id",
    "device",
    "created",
    "kdf",
    "kdf-memory-kib",
    "kdf-iterations",
    "kdf-lanes",
    "kdf-salt",
    "key-check",
    "hkdf-salt",
    "cipher",
    "nonce",
    "payload-bytes",
)
SPEC_KEYS = {b"v1": SPEC_KEYS_V1, b"v2": (*SPEC_KEYS_V1[:4], "seq", *SPEC_KEYS_V1[4:])}
SPEC_END = re.compile(rb"end sha256=([0-9a-f]{64})\n")
SPEC_END_INSIDE = re.compile(rb"\nend sha256=[0-9a-f]{64}\n")  # step 6: a complete end line
SPEC_END_START = b"end sha256="
SPEC_BODY_LINE = re.compile(rb"[A-Za-z0-9+/]+={0,2}")
SPEC_DEVICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
SPEC_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SPEC_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
SPEC_INT = re.compile(r"0|[1-9][0-9]{0,11}")
SPEC_B32 = re.compile(r"[A-Z2-7]+")
SPEC_HEX64 = re.compile(r"[0-9a-f]{64}")
SPEC_HEADER_B64 = {"kdf-salt": 16, "key-check": 16, "hkdf-salt": 16, "nonce": 12}


class SpecError(Exception):
    """One of the doc's §6.1 categories."""

    def __init__(self, category: str, why: str) -> None:
        super().__init__(f"{category}: {why}")
        self.category = category


@dataclass(frozen=True)
class SpecFile:
    header: dict[str, str]
    aad: bytes
    payload: bytes


def _spec_b64(text: str | bytes, size: int | None = None) -> bytes:
    """§3 conventions: strict and canonical (re-encoding gives the same text)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SpecError("damaged", "not base64") from None
    expected = text.encode("ascii") if isinstance(text, str) else text
    if base64.b64encode(raw) != expected:
        raise SpecError("damaged", "not canonical base64")
    if size is not None and len(raw) != size:
        raise SpecError("damaged", "wrong decoded length")
    return raw


def _spec_int(text: str) -> int:
    if not SPEC_INT.fullmatch(text):
        raise SpecError("damaged", f"not an integer: {text!r}")
    return int(text)


def _spec_time(text: Any) -> datetime:
    if not isinstance(text, str) or not SPEC_TIME.fullmatch(text):
        raise SpecError("damaged", f"not a time: {text!r}")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SpecError("damaged", f"not a time: {text!r}") from None


def spec_hkdf(master: bytes, salt: bytes | None, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(master)


def spec_key_check(master: bytes) -> bytes:
    # §5: salt "" is equivalent to HashLen zero bytes (None here), and L = 16 is the first 16
    # bytes of L = 32. Using the equivalent forms checks the doc's claims.
    return spec_hkdf(master, None, b"otpsync-backup v1 key check", 16)


def _spec_cut_short(data: bytes, last: bytes) -> bool:
    """§6.2 step 7: could a file whose last line is not an end line just be incomplete?"""
    if b"\n\n" not in data or last == b"":
        return True
    if len(last) <= 76 and SPEC_BODY_LINE.fullmatch(last):
        return True
    # A proper prefix of an end line: completing it with the rest of "end sha256=" and zeros
    # gives one.
    filler = SPEC_END_START[len(last) :] + b"0" * (75 - max(len(last), len(SPEC_END_START)))
    return len(last) < 75 and SPEC_END.fullmatch(last + filler + b"\n") is not None


class SpecReader:
    """Opens sealed files with one passphrase, caching master keys by salt and params (§9)."""

    def __init__(self, passphrase: str) -> None:
        self.passphrase = unicodedata.normalize("NFC", passphrase).encode("utf-8")
        self.cache: dict[tuple[bytes, int, int, int], bytes] = {}
        self.kdf_runs = 0

    def master_key(self, salt: bytes, memory: int, iterations: int, lanes: int) -> bytes:
        key = (salt, memory, iterations, lanes)
        if key not in self.cache:
            self.cache[key] = Argon2id(
                salt=salt, length=32, iterations=iterations, lanes=lanes, memory_cost=memory
            ).derive(self.passphrase)
            self.kdf_runs += 1
        return self.cache[key]

    def open(self, data: bytes) -> SpecFile:
        """§6.2 steps 1–27, in order."""
        if len(data) > SPEC_CAP:
            raise SpecError("too-large", "over 16 MiB")
        if 0 < len(data) < len(SPEC_MAGIC_LINE) and any(
            magic[: len(data)] == data for magic in (SPEC_MAGIC_LINE, b"otpsync-backup v1\n")
        ):
            raise SpecError("truncated", "cut inside the magic line")
        first = data.split(b"\n", 1)[0]
        if not first.startswith(SPEC_MAGIC):
            raise SpecError("not-otpsync", "no magic line")
        if first.endswith(b"\r"):
            raise SpecError("damaged", "CRLF line endings")
        if first[len(SPEC_MAGIC) :] not in SPEC_KEYS:
            raise SpecError("unsupported-version", repr(first[len(SPEC_MAGIC) :]))
        inside = SPEC_END_INSIDE.search(data)
        if inside and inside.end() < len(data):
            raise SpecError("damaged", "bytes after the end line")
        if not data.endswith(b"\n"):
            raise SpecError("truncated", "no complete last line")
        start = data.rfind(b"\n", 0, len(data) - 1) + 1
        end_line = data[start:]
        match = SPEC_END.fullmatch(end_line)
        if not match:
            cut_short = _spec_cut_short(data, end_line[:-1])
            raise SpecError("truncated" if cut_short else "damaged", "bad end line")
        covered = data[:start]
        if hashlib.sha256(covered).hexdigest().encode("ascii") != match.group(1):
            raise SpecError("damaged", "checksum")
        split = covered.find(b"\n\n")
        if split < 0:
            raise SpecError("damaged", "no blank line")
        aad, body = covered[: split + 2], covered[split + 2 :]
        header = self._header(aad)
        kdf = (
            _spec_int(header["kdf-memory-kib"]),
            _spec_int(header["kdf-iterations"]),
            _spec_int(header["kdf-lanes"]),
        )
        memory, iterations, lanes = kdf
        if not (
            8 <= memory <= 1024 * 1024
            and 1 <= iterations <= 10
            and 1 <= lanes <= 16
            and memory >= 8 * lanes
            and memory * iterations <= 1024 * 1024
        ):
            raise SpecError("kdf-out-of-bounds", repr(kdf))
        raw = {k: _spec_b64(header[k], n) for k, n in SPEC_HEADER_B64.items()}
        payload_bytes = _spec_int(header["payload-bytes"])
        if payload_bytes < 16:
            raise SpecError("damaged", "payload-bytes under the tag's 16")
        lines = body.split(b"\n")[:-1]
        if not lines or any(len(line) != 76 for line in lines[:-1]):
            raise SpecError("damaged", "body lines are not 76 columns")
        if not 1 <= len(lines[-1]) <= 76:
            raise SpecError("damaged", "last body line is not 1-76 columns")
        ciphertext = _spec_b64(b"".join(lines))
        if len(ciphertext) != payload_bytes:
            raise SpecError("damaged", "body length")
        master = self.master_key(raw["kdf-salt"], memory, iterations, lanes)
        if not hmac.compare_digest(spec_key_check(master), raw["key-check"]):
            raise SpecError("wrong-passphrase", "key check")
        file_key = spec_hkdf(master, raw["hkdf-salt"], b"otpsync-backup v1 file key", 32)
        try:
            payload = AESGCM(file_key).decrypt(raw["nonce"], ciphertext, aad)
        except InvalidTag:
            raise SpecError("tampered", "tag") from None
        return SpecFile(header, aad, payload)

    @staticmethod
    def _header(aad: bytes) -> dict[str, str]:
        """§6.2 steps 10–18 (the integer steps are done by the caller, in the same order)."""
        try:
            text = aad.decode("ascii")
        except UnicodeDecodeError:
            raise SpecError("damaged", "header not ASCII") from None
        if any(not (" " <= ch <= "~" or ch == "\n") for ch in text):
            raise SpecError("damaged", "header has a control character")
        keys = SPEC_KEYS[text.split("\n", 1)[0][len(SPEC_MAGIC) :].encode("ascii")]
        lines = text.split("\n")[1:-2]  # drop the magic line and the blank line
        if len(lines) > 32:
            raise SpecError("damaged", "too many header lines")
        fields: dict[str, str] = {}
        for line in lines:
            key, sep, value = line.partition(": ")
            if not sep or len(line) > 256 or key in fields:
                raise SpecError("damaged", f"header line {line!r}")
            fields[key] = value
        if tuple(fields) != keys:
            raise SpecError("damaged", "header keys")
        if fields["kind"] not in ("backup", "vault"):
            raise SpecError("damaged", "kind")
        if fields["kdf"] != "argon2id" or fields["cipher"] != "aes-256-gcm":
            raise SpecError("unsupported-version", "kdf or cipher")
        if not SPEC_DEVICE.fullmatch(fields["device"]):
            raise SpecError("damaged", "device")
        if not SPEC_UUID.fullmatch(fields["device-id"]):
            raise SpecError("damaged", "device-id")
        _spec_time(fields["created"])
        for key in ("seq", "kdf-memory-kib", "kdf-iterations", "kdf-lanes")[keys == SPEC_KEYS_V1 :]:
            _spec_int(fields[key])
        return fields


def spec_secret_bytes(secret: Any) -> bytes:
    """§7.3: canonical base32, 1–1024 bytes."""
    if not isinstance(secret, str) or not SPEC_B32.fullmatch(secret):
        raise SpecError("damaged", "secret is not base32")
    if len(secret) % 8 not in (0, 2, 4, 5, 7):
        raise SpecError("damaged", "secret has an impossible length")
    raw = base64.b32decode(secret + "=" * (-len(secret) % 8))
    if base64.b32encode(raw).decode("ascii").rstrip("=") != secret or not 1 <= len(raw) <= 1024:
        raise SpecError("damaged", "secret is not canonical base32")
    return raw


def spec_fingerprint(acct: dict[str, Any]) -> str:
    """§7.4."""
    period = 0 if acct["type"] == "hotp" else acct["period"]
    prefix = f"otpsync-id-v1|{acct['type']}|{acct['algorithm']}|{acct['digits']}|{period}|"
    return hashlib.sha256(prefix.encode("utf-8") + spec_secret_bytes(acct["secret"])).hexdigest()


def _spec_get(obj: dict[str, Any], key: str, kind: type) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SpecError("damaged", f"{key} missing or mistyped")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise SpecError("damaged", f"{key} is not valid Unicode") from None
    return value


def _spec_account(obj: Any) -> dict[str, Any]:
    """§7.2."""
    if not isinstance(obj, dict):
        raise SpecError("damaged", "account is not an object")
    acct = {
        k: _spec_get(obj, k, kind)
        for k, kind in (
            ("id", str),
            ("type", str),
            ("issuer", str),
            ("account", str),
            ("secret", str),
            ("algorithm", str),
            ("digits", int),
            ("period", int),
            ("counter", int),
            ("created", str),
            ("updated", str),
        )
    }
    checks = [
        SPEC_UUID.fullmatch(acct["id"]) is not None,
        acct["type"] in ("totp", "hotp", "steam"),
        acct["algorithm"] in ("SHA1", "SHA256", "SHA512"),
        (acct["digits"] == 5 and acct["algorithm"] == "SHA1")
        if acct["type"] == "steam"
        else 6 <= acct["digits"] <= 10,
        1 <= acct["period"] <= 86_400,
        0 <= acct["counter"] <= 2**63 - 1,
        len(acct["issuer"]) <= 512 and len(acct["account"]) <= 512,
    ]
    if not all(checks):
        raise SpecError("damaged", f"invalid account {acct['id']!r}")
    spec_secret_bytes(acct["secret"])
    _spec_time(acct["created"])
    _spec_time(acct["updated"])
    return acct


def _spec_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """§7: duplicate member names are refused."""
    if any(count > 1 for count in Counter(name for name, _ in pairs).values()):
        raise SpecError("damaged", "duplicate member name")
    return dict(pairs)


def _spec_not_json(name: str) -> Any:
    raise SpecError("damaged", f"{name} is not JSON")


def _spec_not_integer(text: str) -> Any:
    raise SpecError("damaged", f"{text} is not an integer")


def _spec_all_text_valid(value: Any) -> None:
    """§7: every string, in members a reader ignores too, is valid Unicode."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise SpecError("damaged", "a string is not valid Unicode") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _spec_all_text_valid(key)
            _spec_all_text_valid(item)
    elif isinstance(value, list):
        for item in value:
            _spec_all_text_valid(item)


def _spec_label(obj: dict[str, Any]) -> None:
    if len(_spec_get(obj, "label", str)) > 512:
        raise SpecError("damaged", "label over 512 characters")


def spec_payload(raw: bytes, header_device_id: str) -> dict[str, Any]:
    """§7 and §6.2 steps 28–29: the validated payload document."""
    try:
        doc = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_spec_object,
            parse_constant=_spec_not_json,
            parse_float=_spec_not_integer,
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise SpecError("damaged", "payload is not JSON") from None
    _spec_all_text_valid(doc)
    if not isinstance(doc, dict):
        raise SpecError("damaged", "payload is not an object")
    version = doc.get("version")
    if doc.get("format") != "otpsync-payload" or type(version) is not int or version != 1:
        raise SpecError("damaged", "payload format/version")
    device_id = _spec_get(doc, "device_id", str)
    if not SPEC_UUID.fullmatch(device_id) or device_id != header_device_id:
        raise SpecError("damaged", "payload device_id")
    _spec_get(doc, "device", str)
    _spec_time(doc.get("created"))
    accounts, tombstones = _spec_get(doc, "accounts", list), _spec_get(doc, "tombstones", list)
    if len(accounts) > 100_000 or len(tombstones) > 100_000:
        raise SpecError("damaged", "too many entries")
    doc["accounts"] = [_spec_account(a) for a in accounts]
    for t in tombstones:
        if not isinstance(t, dict) or not SPEC_HEX64.fullmatch(_spec_get(t, "fingerprint", str)):
            raise SpecError("damaged", "tombstone fingerprint")
        _spec_label(t)
        _spec_time(t.get("removed"))
    rejected = doc.get("rejected", [])  # §7.5: vaults only
    if not isinstance(rejected, list) or len(rejected) > 100_000:
        raise SpecError("damaged", "rejected")
    for r in rejected:
        if not isinstance(r, dict) or not SPEC_HEX64.fullmatch(_spec_get(r, "fingerprint", str)):
            raise SpecError("damaged", "rejection fingerprint")
        if not SPEC_UUID.fullmatch(_spec_get(r, "source", str)):
            raise SpecError("damaged", "rejection source")
        _spec_label(r)
        _spec_time(r.get("version"))
    return doc


# =============================================================================================
# Tests. From here on otpsync's own code is used: to write files, and as the reader under test.
# =============================================================================================

from daemon.core import payload  # noqa: E402
from daemon.core.accounts import Account, Tombstone  # noqa: E402
from daemon.core.backup_format import (  # noqa: E402
    DEVICE_RE,
    MAX_FILE_BYTES,
    KdfParams,
    MasterKeys,
    open_sealed,
    seal,
)
from daemon.core.filenames import NAME_RE, backup_name  # noqa: E402
from daemon.core.payload import VaultData  # noqa: E402
from daemon.errors import (  # noqa: E402
    BackupError,
    DamagedFile,
    FileTooLarge,
    KdfOutOfBounds,
    NotABackup,
    TruncatedFile,
    UnsupportedVersion,
    WrongPassphrase,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "format.md"
PASSPHRASE = "spec passphrase"
KDF = KdfParams(memory_kib=1024, iterations=1, lanes=1)
SALT = bytes.fromhex("5eed5a175eed5a175eed5a175eed5a17")
KEYS = MasterKeys(PASSPHRASE)  # shared by every example, so the suite runs one Argon2 per salt
SPEC = SpecReader(PASSPHRASE)
DEVICE_ID = "6f1c0d1e-2f3a-4b5c-8d6e-7f8091a2b3c4"
NOW = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)
FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

CATEGORY_OF: dict[type[BackupError], str] = {
    FileTooLarge: "too-large",
    NotABackup: "not-otpsync",
    UnsupportedVersion: "unsupported-version",
    TruncatedFile: "truncated",
    DamagedFile: "damaged",
    KdfOutOfBounds: "kdf-out-of-bounds",
    WrongPassphrase: "wrong-passphrase",
}


def reference_category(data: bytes, keys: MasterKeys = KEYS) -> str:
    """What otpsync's reader says, as a §6.1 category ("ok" when it opens)."""
    try:
        open_sealed(data, keys)
    except BackupError as exc:
        category = CATEGORY_OF[type(exc)]
        if category == "damaged" and "tampered" in exc.message:
            return "tampered"
        return category
    return "ok"


def spec_category(data: bytes, reader: SpecReader = SPEC) -> str:
    try:
        reader.open(data)
    except SpecError as exc:
        return exc.category
    return "ok"


def sealed(
    raw: bytes = b"{}", *, device: str = "laptop", kind: str = "backup", keys: MasterKeys = KEYS
) -> bytes:
    return seal(
        raw,
        kind=kind,
        device_id=DEVICE_ID,
        device=device,
        created=NOW,
        keys=keys,
        kdf_salt=SALT,
        kdf=KDF,
    )


def rechecksum(data: bytes) -> bytes:
    """Recompute the end line, as a deliberate editor would."""
    covered = data[: data.rfind(b"\n", 0, len(data) - 1) + 1]
    return covered + f"end sha256={hashlib.sha256(covered).hexdigest()}\n".encode()


def edit_header(data: bytes, key: str, value: str) -> bytes:
    pattern = re.compile(rf"^{key}: .*$".encode(), re.M)
    new, count = pattern.subn(f"{key}: {value}".encode(), data, count=1)
    assert count == 1
    return rechecksum(new)


# --- (a) the spec reader opens what otpsync writes ------------------------------------------

SECOND = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=0))
LABEL = st.text(st.characters(codec="utf-8"), max_size=30)


@st.composite
def accounts(draw: st.DrawFn) -> Account:
    otp_type = draw(st.sampled_from(["totp", "hotp", "steam"]))
    steam = otp_type == "steam"
    return Account(
        type=otp_type,
        secret=base64.b32encode(draw(st.binary(min_size=1, max_size=64))).decode().rstrip("="),
        issuer=draw(LABEL),
        account=draw(LABEL),
        algorithm="SHA1" if steam else draw(st.sampled_from(["SHA1", "SHA256", "SHA512"])),
        digits=5 if steam else draw(st.integers(6, 10)),
        period=draw(st.integers(1, 86_400)),
        counter=draw(st.integers(0, 2**63 - 1)),
        id=str(draw(st.uuids())),
        created=draw(SECOND),
        updated=draw(SECOND),
    )


@st.composite
def vaults(draw: st.DrawFn) -> VaultData:
    accts = draw(st.lists(accounts(), max_size=6))
    removed = draw(st.lists(accounts(), max_size=3))
    tombstones = tuple(Tombstone(a.fingerprint(), a.label, draw(SECOND)) for a in removed)
    device = draw(st.from_regex(SPEC_DEVICE, fullmatch=True))
    return VaultData(DEVICE_ID, device, draw(SECOND), tuple(accts), tombstones)


def as_spec_doc(acct: Account) -> dict[str, Any]:
    """An account as the doc's §7.2 object."""
    return {
        "id": acct.id,
        "type": acct.type,
        "issuer": acct.issuer,
        "account": acct.account,
        "secret": acct.secret,
        "algorithm": acct.algorithm,
        "digits": acct.digits,
        "period": acct.period,
        "counter": acct.counter,
        "created": acct.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "updated": acct.updated.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


@FAST
@given(vault=vaults(), kind=st.sampled_from(["backup", "vault"]))
def test_spec_reader_opens_what_otpsync_writes(vault: VaultData, kind: str) -> None:
    for acct in vault.accounts:
        acct.validate()  # the strategy makes only accounts otpsync itself accepts
    data = sealed(payload.encode(vault), device=vault.device, kind=kind)
    opened = SPEC.open(data)
    assert opened.header["kind"] == kind
    assert opened.header["device"] == vault.device
    assert opened.header["created"] == "2026-11-28T10:00:00Z"
    doc = spec_payload(opened.payload, opened.header["device-id"])
    assert doc["accounts"] == [as_spec_doc(a) for a in vault.accounts]
    assert [spec_fingerprint(d) for d in doc["accounts"]] == [
        a.fingerprint() for a in vault.accounts
    ]
    assert [(t["fingerprint"], t["label"]) for t in doc["tombstones"]] == [
        (t.fingerprint, t.label) for t in vault.tombstones
    ]


def test_spec_reader_and_otpsync_agree_on_a_real_vault() -> None:
    vault = VaultData(
        DEVICE_ID,
        "laptop",
        NOW,
        (
            Account.create(secret="jbsw y3dp ehpk 3pxp", issuer="GitHub", account="alice"),
            Account.create(type="hotp", secret="GEZDGNBVGY3TQOJQ", algorithm="sha256", counter=9),
            Account.create(type="steam", secret="KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TFOQ"),
        ),
    )
    data = sealed(payload.encode(vault))
    header, raw = open_sealed(data, KEYS)
    opened = SPEC.open(data)
    assert opened.payload == raw
    assert opened.aad == data[: data.index(b"\n\n") + 2]
    assert opened.header["device-id"] == header.device_id
    decoded = payload.decode(raw, expect_device_id=header.device_id)
    assert decoded.accounts == vault.accounts
    doc = spec_payload(opened.payload, header.device_id)
    assert doc["accounts"] == [as_spec_doc(a) for a in decoded.accounts]


def test_spec_reader_caches_master_keys_by_device_salt() -> None:
    """§9: many files from two devices cost two Argon2 runs."""
    writer = MasterKeys(PASSPHRASE)
    files = [
        seal(
            b"{}",
            kind="backup",
            device_id=DEVICE_ID,
            device="laptop",
            created=NOW,
            keys=writer,
            kdf_salt=salt,
            kdf=KDF,
        )
        for salt in (b"a" * 16, b"b" * 16)
        for _ in range(10)
    ]
    reader = SpecReader(PASSPHRASE)
    for data in files:
        reader.open(data)
    assert (reader.kdf_runs, writer.kdf_runs) == (2, 2)


def test_file_names_follow_the_spec() -> None:
    name = backup_name(NOW, "laptop")
    assert name == "2026-11-28-10-00-00-laptop-4otp-keys-export.4otp.txt"
    second = backup_name(NOW, "laptop", 2)
    assert second == "2026-11-28-10-00-00-laptop-4otp-keys-export-2.4otp.txt"
    for text in (name, second, backup_name(NOW, "a-4otp-keys-export-3", 4)):
        assert re.fullmatch(r"[A-Za-z0-9._-]+", text)
    match = NAME_RE.match(backup_name(NOW, "a-4otp-keys-export-3", 4))
    assert match
    assert (match["device"], match["n"]) == ("a-4otp-keys-export-3", "4")


def _acct(**change: Any) -> Callable[[dict[str, Any]], None]:
    return lambda doc: doc["accounts"][0].update(change)


UUID_B = uuid.UUID("0b6c1f0e-5d2a-4c3b-9a8e-1f2d3c4b5a69")


def _rejection(**change: Any) -> Callable[[dict[str, Any]], None]:
    """A vault's §7.5 rejection list with one entry, changed as asked."""
    entry = {
        "source": str(UUID_B),
        "fingerprint": "cd" * 32,
        "label": "Offered — y",
        "version": "2026-11-28T10:00:00Z",
    }
    return lambda doc: doc.update(rejected=[{**entry, **change}])


def _b32(size: int) -> str:
    return base64.b32encode(b"\x01" * size).decode().rstrip("=")


PAYLOAD_CASES: dict[str, tuple[Callable[[dict[str, Any]], None], bool]] = {
    "as written": (lambda doc: None, True),
    "unknown member ignored": (lambda doc: doc.update(extra=[1, 2]), True),
    # Numbers and strings follow §7 everywhere, ignored members included (issue 9).
    "fraction in an unknown member": (lambda doc: doc.update(extra=1.5), False),
    "fraction deep in an unknown member": (lambda doc: doc.update(extra={"a": [0.5]}), False),
    "fraction in an account's unknown member": (_acct(note=2.0), False),
    "lone surrogate in an unknown member": (lambda doc: doc.update(extra="\ud800"), False),
    "lone surrogate in an unknown member's name": (
        lambda doc: doc.update({"x\udcff": 1}),
        False,
    ),
    "lone surrogate in an account's unknown member": (_acct(note=["\udfff"]), False),
    # Years before 1000 are zero-padded (the time format is always 20 characters).
    "created in year 999, padded": (_acct(created="0999-01-01T00:00:00Z"), True),
    "created in year 999, unpadded": (_acct(created="999-01-01T00:00:00Z"), False),
    "created in year 0": (_acct(created="0000-01-01T00:00:00Z"), False),
    # Two accounts with one id are both kept (a merge gives the second a new id, §7.2).
    "two accounts with one id": (
        lambda doc: doc["accounts"].append({**doc["accounts"][0], "secret": "GEZDGNBV"}),
        True,
    ),
    # §7.5: a backup's rejections are read like a vault's (then not adopted on import).
    "rejection in a backup": (_rejection(), True),
    "wrong format": (lambda doc: doc.update(format="otpsync"), False),
    "version 2": (lambda doc: doc.update(version=2), False),
    "version true": (lambda doc: doc.update(version=True), False),
    "version 1.0": (lambda doc: doc.update(version=1.0), False),
    "version as string": (lambda doc: doc.update(version="1"), False),
    "device_id differs from header": (lambda doc: doc.update(device_id=str(NOW.year)), False),
    "device with a lone surrogate": (lambda doc: doc.update(device="lap\udc80top"), False),
    "accounts not a list": (lambda doc: doc.update(accounts={}), False),
    "account not an object": (lambda doc: doc.update(accounts=[[]]), False),
    "missing id": (lambda doc: doc["accounts"][0].pop("id"), False),
    "id not a UUID": (_acct(id="alice"), False),
    "id upper case": (_acct(id=str(UUID_B).upper()), False),
    "id without hyphens": (_acct(id=UUID_B.hex), False),
    "id as urn": (_acct(id=UUID_B.urn), False),
    "id in braces": (_acct(id=f"{{{UUID_B}}}"), False),
    "type motp": (_acct(type="motp"), False),
    "algorithm lower case": (_acct(algorithm="sha1"), False),
    "digits 10": (_acct(digits=10), True),
    "digits 11": (_acct(digits=11), False),
    "digits 5 for totp": (_acct(digits=5), False),
    "digits as bool": (_acct(digits=True), False),
    "digits as float": (_acct(digits=6.0), False),
    "digits as string": (_acct(digits="6"), False),
    "steam, 5 digits, SHA1": (_acct(type="steam", digits=5), True),
    "steam, 6 digits": (_acct(type="steam", digits=6), False),
    "steam, SHA256": (_acct(type="steam", digits=5, algorithm="SHA256"), False),
    "period 0": (_acct(period=0), False),
    "period 86400": (_acct(period=86_400), True),
    "period 86401": (_acct(period=86_401), False),
    "hotp period 0": (_acct(type="hotp", period=0), False),
    "counter -1": (_acct(counter=-1), False),
    "counter 2^63-1": (_acct(counter=2**63 - 1), True),
    "counter 2^63": (_acct(counter=2**63), False),
    "secret lower case": (_acct(secret="jbswy3dpehpk3pxp"), False),
    "secret padded": (_acct(secret="JBSWY3DPEHPK3PX="), False),
    "secret with space": (_acct(secret="JBSW Y3DP EHPK 3PXP"), False),
    "secret, 7 characters, zero tail": (_acct(secret="JBSWY3A"), True),
    "secret, 7 characters, nonzero tail": (_acct(secret="JBSWY3D"), False),
    "secret, 9 characters": (_acct(secret="JBSWY3DPE"), False),
    "secret 3 characters": (_acct(secret="JBS"), False),
    "secret empty": (_acct(secret=""), False),
    "secret 1024 bytes": (_acct(secret=_b32(1024)), True),
    "secret 1025 bytes": (_acct(secret=_b32(1025)), False),
    "issuer 512 characters": (_acct(issuer="é" * 512), True),
    "issuer 513 characters": (_acct(issuer="é" * 513), False),
    "issuer with a lone surrogate": (_acct(issuer="\ud800"), False),
    "account with a surrogate pair's halves swapped": (_acct(account="\ude00\ud83d"), False),
    "account with an emoji": (_acct(account="\U0001f600"), True),
    "account null": (_acct(account=None), False),
    "created not a time": (_acct(created="2026-11-28 10:00:00"), False),
    "created with offset": (_acct(created="2026-11-28T10:00:00+00:00"), False),
    "created with single-digit fields": (_acct(created="2026-1-2T3:04:05Z"), False),
    "created with Arabic-Indic digits": (_acct(created="٢٠٢٦-11-28T10:00:00Z"), False),
    "created with fractions": (_acct(created="2026-11-28T10:00:00.5Z"), False),
    "updated on Feb 30": (_acct(updated="2026-02-30T10:00:00Z"), False),
    "tombstone fingerprint 63": (
        lambda doc: doc["tombstones"][0].update(fingerprint="a" * 63),
        False,
    ),
    "tombstone fingerprint upper case": (
        lambda doc: doc["tombstones"][0].update(fingerprint="AB" * 32),
        False,
    ),
    "tombstone label 512 characters": (
        lambda doc: doc["tombstones"][0].update(label="é" * 512),
        True,
    ),
    "tombstone label 513 characters": (
        lambda doc: doc["tombstones"][0].update(label="é" * 513),
        False,
    ),
    "tombstone without removed": (lambda doc: doc["tombstones"][0].pop("removed"), False),
    "rejection as written": (_rejection(), True),
    "rejection label 512 characters": (_rejection(label="x" * 512), True),
    "rejection label 513 characters": (_rejection(label="x" * 513), False),
    "rejection source upper case": (_rejection(source=str(UUID_B).upper()), False),
    "rejection version with a space": (_rejection(version="2026-11-28 10:00:00Z"), False),
    "rejected not a list": (lambda doc: doc.update(rejected={}), False),
    "too many tombstones": (lambda doc: doc.update(tombstones=doc["tombstones"] * 100_001), False),
}


def _judge(raw: bytes) -> tuple[bool, bool]:
    """Whether (otpsync, the spec reader) accept a payload; anything but a refusal propagates."""
    try:
        payload.decode(raw, expect_device_id=DEVICE_ID)
        reference = True
    except DamagedFile:
        reference = False
    try:
        spec_payload(raw, DEVICE_ID)
        spec = True
    except SpecError:
        spec = False
    return reference, spec


def _written_payload() -> bytes:
    acct = Account.create(secret="JBSWY3DPEHPK3PXP", issuer="GitHub", account="zoë")
    vault = VaultData(DEVICE_ID, "laptop", NOW, (acct,), (Tombstone("ab" * 32, "x", NOW),))
    return payload.encode(vault)


@pytest.mark.parametrize("name", PAYLOAD_CASES)
def test_both_readers_judge_payloads_alike(name: str) -> None:
    mutate, valid = PAYLOAD_CASES[name]
    doc = json.loads(_written_payload())
    mutate(doc)
    assert _judge(json.dumps(doc).encode()) == (valid, valid)


# Cases json.dumps cannot make from a dict: edits to the JSON text itself.
RAW_PAYLOAD_CASES: dict[str, tuple[Callable[[bytes], bytes], bool]] = {
    "as written": (lambda raw: raw, True),
    "indented, members reordered": (
        lambda raw: json.dumps(dict(reversed(json.loads(raw).items())), indent=2).encode(),
        True,
    ),
    "\\u escapes for non-ASCII": (lambda raw: json.dumps(json.loads(raw)).encode(), True),
    "duplicate top-level member": (
        lambda raw: raw.replace(b'"version":1,', b'"version":1,' * 2),
        False,
    ),
    "duplicate member in an account": (
        lambda raw: raw.replace(b'"digits":6,', b'"digits":8,"digits":6,'),
        False,
    ),
    "duplicate unknown member": (lambda raw: raw[:-1] + b',"x":1,"x":2}', False),
    "NaN": (lambda raw: raw[:-1] + b',"x":NaN}', False),
    "Infinity": (lambda raw: raw[:-1] + b',"x":-Infinity}', False),
    "integer of 5000 digits": (lambda raw: raw[:-1] + b',"x":' + b"9" * 5000 + b"}", False),
    "exponent in an unknown member": (lambda raw: raw[:-1] + b',"x":1e3}', False),
    "minus zero in an unknown member": (lambda raw: raw[:-1] + b',"x":-0}', True),
    "lone surrogate escape": (lambda raw: raw.replace(b'"GitHub"', b'"Git\\udbffHub"'), False),
    "surrogate pair escape": (lambda raw: raw.replace(b'"GitHub"', b'"Git\\ud83d\\ude00"'), True),
    "byte-order mark": (lambda raw: b"\xef\xbb\xbf" + raw, False),
    "latin-1": (lambda raw: raw.replace(b"GitHub", "Gît".encode("latin-1")), False),
}


@pytest.mark.parametrize("name", RAW_PAYLOAD_CASES)
def test_both_readers_judge_payload_text_alike(name: str) -> None:
    mutate, valid = RAW_PAYLOAD_CASES[name]
    original = _written_payload()
    raw = mutate(original)
    assert (raw == original) == (name == "as written")
    assert _judge(raw) == (valid, valid)


# --- (b) the worked example in docs/format.md ------------------------------------------------


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def doc_block(anchor: str) -> str:
    match = re.search(rf"<!-- example:{anchor} -->\n```[a-z]*\n(.*?)```", doc_text(), re.S)
    assert match, f"docs/format.md has no example:{anchor} block"
    return match.group(1)


def doc_row(name: str) -> str:
    match = re.search(rf"^\| {re.escape(name)} \| `([^`]+)` ", doc_text(), re.M)
    assert match, f"docs/format.md has no {name!r} row"
    return match.group(1)


def test_worked_example_opens_with_the_documented_passphrase() -> None:
    data = doc_block("file").encode("ascii")
    reader = SpecReader(doc_row("Passphrase"))
    opened = reader.open(data)
    doc = spec_payload(opened.payload, opened.header["device-id"])
    assert doc == json.loads(doc_block("payload"))
    assert hashlib.sha256(opened.payload).hexdigest() == doc_row("Payload SHA-256")

    header = opened.header
    master = reader.master_key(base64.b64decode(header["kdf-salt"]), 1024, 1, 1)
    assert header["kdf-salt"] == base64.b64encode(bytes(range(16))).decode()
    assert master.hex() == doc_row("Master key")
    assert spec_key_check(master).hex() == doc_row("Key check")
    hkdf_salt = base64.b64decode(header["hkdf-salt"])
    file_key = spec_hkdf(master, hkdf_salt, b"otpsync-backup v1 file key", 32)
    assert file_key.hex() == doc_row("File key")
    tombstone = doc["tombstones"][0]
    removed = {"type": "totp", "algorithm": "SHA1", "digits": 6, "period": 30}
    assert tombstone["fingerprint"] == spec_fingerprint({**removed, "secret": "MFRGGZDFMZTWQ2LK"})
    hotp = next(a for a in doc["accounts"] if a["type"] == "hotp")
    assert f"`{spec_fingerprint(hotp)}`" in doc_text()

    # otpsync's own reader agrees, and the payload is what otpsync would write.
    _, raw = open_sealed(data, MasterKeys(doc_row("Passphrase")))
    assert raw == opened.payload
    assert payload.encode(payload.decode(raw, expect_device_id=header["device-id"])) == raw
    assert reader.open(data).payload == raw
    with pytest.raises(SpecError, match="wrong-passphrase"):
        SpecReader("Example").open(data)


# --- both readers name the same problem ------------------------------------------------------


def _insert_after(key: str, line: str) -> Callable[[bytes], bytes]:
    def mutate(data: bytes) -> bytes:
        pattern = re.compile(rf"^({key}: .*\n)".encode(), re.M)
        return rechecksum(pattern.sub(rb"\1" + line.encode(), data, count=1))

    return mutate


def _rewrap(width: int) -> Callable[[bytes], bytes]:
    def mutate(data: bytes) -> bytes:
        head, _, rest = data.partition(b"\n\n")
        text = b"".join(rest.split(b"\n")[:-2])
        body = b"".join(text[i : i + width] + b"\n" for i in range(0, len(text), width))
        return rechecksum(head + b"\n\n" + body + b"end sha256=\n")

    return mutate


def _noncanonical(text: bytes) -> bytes:
    """The same bytes in base64 with a non-zero unused bit in the last character: what a
    strict decoder accepts and a canonical one refuses. ``text`` must end in padding."""
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    at = len(text.rstrip(b"=")) - 1
    value = alphabet.index(text[at : at + 1]) | 1
    changed = text[:at] + alphabet[value : value + 1] + text[at + 1 :]
    assert changed != text
    assert base64.b64decode(changed) == base64.b64decode(text)
    return changed


def _noncanonical_body(data: bytes) -> bytes:
    cut = data.rindex(b"end ") - 1  # the LF that ends the last body line
    start = data.rindex(b"\n", 0, cut) + 1
    return rechecksum(data[:start] + _noncanonical(data[start:cut]) + data[cut:])


def header_value(data: bytes, key: str) -> str:
    match = re.search(rf"^{key}: (.*)$".encode(), data, re.M)
    assert match
    return match.group(1).decode()


def _noncanonical_header(key: str) -> Callable[[bytes], bytes]:
    def mutate(data: bytes) -> bytes:
        return edit_header(data, key, _noncanonical(header_value(data, key).encode()).decode())

    return mutate


def _end_line(change: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    def mutate(data: bytes) -> bytes:
        end = data.rindex(b"end ")
        return data[:end] + change(data[end:])

    return mutate


def _flip_body(data: bytes) -> bytes:
    at = data.index(b"\n\n") + 2
    swapped = b"B" if data[at : at + 1] != b"B" else b"C"
    return rechecksum(data[:at] + swapped + data[at + 1 :])


def _leading_zero_seq(data: bytes) -> bytes:
    return rechecksum(data.replace(b"\nseq: 0", b"\nseq: 00", 1))


def _leading_zero_seq(data: bytes) -> bytes:
    return rechecksum(data.replace(b"\nseq: 0", b"\nseq: 00", 1))


MUTATIONS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "intact": (lambda d: d, "ok"),
    "empty": (lambda d: b"", "not-otpsync"),
    "utf-8 bom": (lambda d: b"\xef\xbb\xbf" + d, "not-otpsync"),
    "other text": (lambda d: b"hello\n", "not-otpsync"),
    "v3": (lambda d: d.replace(b" v2\n", b" v3\n", 1), "unsupported-version"),
    "v1 magic on a v2 header": (lambda d: d.replace(b" v2\n", b" v1\n", 1), "damaged"),
    "seq removed": (lambda d: rechecksum(re.sub(rb"\nseq: [0-9]+", b"", d, count=1)), "damaged"),
    "seq with a leading zero": (_leading_zero_seq, "damaged"),
    "crlf": (lambda d: d.replace(b"\n", b"\r\n"), "damaged"),
    "v3 with crlf": (lambda d: d.replace(b" v2\n", b" v3\n").replace(b"\n", b"\r\n"), "damaged"),
    "too large": (lambda d: d + b"A" * MAX_FILE_BYTES, "too-large"),
    "cut inside the magic line": (lambda d: d[:16], "truncated"),
    "only the magic line": (lambda d: d[:18], "truncated"),
    "cut after a header line": (lambda d: d[: d.index(b"\n", 20) + 1], "truncated"),
    "cut after the blank line": (lambda d: d[: d.index(b"\n\n") + 2], "truncated"),
    "no end line": (lambda d: d[: d.rindex(b"end ")], "truncated"),
    "end line cut short, then LF": (lambda d: d[:-30] + b"\n", "truncated"),
    "end line upper hex": (lambda d: d[:-65] + d[-65:].upper(), "damaged"),
    "end line first letter changed": (_end_line(lambda e: b"f" + e[1:]), "damaged"),
    "end line without its first letter": (_end_line(lambda e: e[1:]), "damaged"),
    "end line with 63 digits": (_end_line(lambda e: e[:-2] + b"\n"), "truncated"),
    "end line with 65 digits": (_end_line(lambda e: e[:-1] + b"0\n"), "damaged"),
    "text after end": (lambda d: d + b"x\n", "damaged"),
    "a byte after end, no LF": (lambda d: d + b"x", "damaged"),
    "an empty line after end": (lambda d: d + b"\n", "damaged"),
    "the file twice": (lambda d: d + d, "damaged"),
    "sentence after end": (lambda d: d + b"sent from my phone\n", "damaged"),
    "checksum": (lambda d: d.replace(b"kind: backup", b"kind: vault!"), "damaged"),
    "no blank line": (lambda d: rechecksum(d.replace(b"\n\n", b"\n", 1)), "damaged"),
    "unknown key": (_insert_after("kind", "comment: hi\n"), "damaged"),
    "duplicate key": (_insert_after("kind", "kind: backup\n"), "damaged"),
    "missing key": (lambda d: rechecksum(re.sub(rb"cipher: .*\n", b"", d)), "damaged"),
    "keys out of order": (
        lambda d: rechecksum(re.sub(rb"(device-id: .*\n)(device: .*\n)", rb"\2\1", d)),
        "damaged",
    ),
    "no space after colon": (lambda d: rechecksum(d.replace(b"kind: ", b"kind:")), "damaged"),
    "header line > 256": (lambda d: edit_header(d, "device", "x" * 300), "damaged"),
    "header not ascii": (lambda d: edit_header(d, "device", "lapt\xf6p"), "damaged"),
    "unknown kind": (lambda d: edit_header(d, "kind", "export"), "damaged"),
    "other kdf": (lambda d: edit_header(d, "kdf", "scrypt"), "unsupported-version"),
    "other cipher": (
        lambda d: edit_header(d, "cipher", "chacha20-poly1305"),
        "unsupported-version",
    ),
    "bad device": (lambda d: edit_header(d, "device", "-laptop"), "damaged"),
    "bad created": (lambda d: edit_header(d, "created", "yesterday"), "damaged"),
    "created, single-digit fields": (
        lambda d: edit_header(d, "created", "2026-11-28T1:0:0Z"),
        "damaged",
    ),
    "created on Feb 30": (lambda d: edit_header(d, "created", "2026-02-30T10:00:00Z"), "damaged"),
    "device-id upper case": (lambda d: edit_header(d, "device-id", DEVICE_ID.upper()), "damaged"),
    "device-id without hyphens": (
        lambda d: edit_header(d, "device-id", DEVICE_ID.replace("-", "")),
        "damaged",
    ),
    "device-id in braces": (lambda d: edit_header(d, "device-id", f"{{{DEVICE_ID}}}"), "damaged"),
    "kdf not a number": (lambda d: edit_header(d, "kdf-lanes", "one"), "damaged"),
    "kdf leading zero": (lambda d: edit_header(d, "kdf-lanes", "01"), "damaged"),
    "kdf with a sign": (lambda d: edit_header(d, "kdf-lanes", "+1"), "damaged"),
    "4 GiB of memory": (lambda d: edit_header(d, "kdf-memory-kib", "4194304"), "kdf-out-of-bounds"),
    "memory 7 KiB": (lambda d: edit_header(d, "kdf-memory-kib", "7"), "kdf-out-of-bounds"),
    "11 iterations": (lambda d: edit_header(d, "kdf-iterations", "11"), "kdf-out-of-bounds"),
    "0 iterations": (lambda d: edit_header(d, "kdf-iterations", "0"), "kdf-out-of-bounds"),
    "17 lanes": (lambda d: edit_header(d, "kdf-lanes", "17"), "kdf-out-of-bounds"),
    "1 GiB x 2 passes": (
        lambda d: edit_header(edit_header(d, "kdf-memory-kib", "1048576"), "kdf-iterations", "2"),
        "kdf-out-of-bounds",
    ),
    "128 MiB x 9 passes": (
        lambda d: edit_header(edit_header(d, "kdf-memory-kib", "131072"), "kdf-iterations", "9"),
        "kdf-out-of-bounds",
    ),
    "memory < 8 x lanes": (
        lambda d: edit_header(edit_header(d, "kdf-lanes", "16"), "kdf-memory-kib", "64"),
        "kdf-out-of-bounds",
    ),
    "bounds before salts": (
        lambda d: edit_header(edit_header(d, "kdf-salt", "!!"), "kdf-lanes", "99"),
        "kdf-out-of-bounds",
    ),
    "short nonce": (lambda d: edit_header(d, "nonce", "AAAA"), "damaged"),
    "kdf-salt not canonical": (_noncanonical_header("kdf-salt"), "damaged"),
    "key-check not canonical": (_noncanonical_header("key-check"), "damaged"),
    "salt not base64": (
        lambda d: edit_header(d, "hkdf-salt", "not base64 at all!!!!!!"),
        "damaged",
    ),
    "payload-bytes off": (lambda d: edit_header(d, "payload-bytes", "9999"), "damaged"),
    "payload-bytes leading zero": (
        lambda d: edit_header(d, "payload-bytes", "0" + header_value(d, "payload-bytes")),
        "damaged",
    ),
    "payload-bytes under 16": (lambda d: edit_header(d, "payload-bytes", "15"), "damaged"),
    "body line > 76": (_rewrap(80), "damaged"),
    "body not base64": (lambda d: rechecksum(d.replace(b"\n\n", b"\n\n*", 1)), "damaged"),
    "body rewrapped at 60": (_rewrap(60), "damaged"),
    "body rewrapped at 1000": (_rewrap(1000), "damaged"),
    "body with an empty line": (lambda d: rechecksum(d.replace(b"\n\n", b"\n\n\n")), "damaged"),
    "body not canonical": (_noncanonical_body, "damaged"),
    "other kdf-iterations": (lambda d: edit_header(d, "kdf-iterations", "2"), "wrong-passphrase"),
    "other kdf-salt": (lambda d: edit_header(d, "kdf-salt", "A" * 22 + "=="), "wrong-passphrase"),
    "other key-check": (lambda d: edit_header(d, "key-check", "A" * 22 + "=="), "wrong-passphrase"),
    "device renamed": (lambda d: edit_header(d, "device", "phone"), "tampered"),
    "kind changed": (lambda d: edit_header(d, "kind", "vault"), "tampered"),
    "created changed": (lambda d: edit_header(d, "created", "2027-01-01T00:00:00Z"), "tampered"),
    "nonce changed": (lambda d: edit_header(d, "nonce", "A" * 16), "tampered"),
    "hkdf-salt changed": (lambda d: edit_header(d, "hkdf-salt", "A" * 22 + "=="), "tampered"),
    "body changed": (_flip_body, "tampered"),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_both_readers_name_the_same_problem(name: str) -> None:
    mutate, expected = MUTATIONS[name]
    data = mutate(sealed(b'{"some": "payload"}' * 10))  # 190 bytes: the body ends in one "="
    assert (reference_category(data), spec_category(data)) == (expected, expected)


def test_wrong_passphrase_agrees() -> None:
    data = sealed(b"{}")
    assert reference_category(data, MasterKeys("other")) == "wrong-passphrase"
    assert spec_category(data, SpecReader("other")) == "wrong-passphrase"


# --- (c) properties of otpsync's own reader, as the doc's §6.3 states them --------------------


def expected_after_truncation(n: int) -> type[BackupError]:
    """§6.3, truncation table."""
    return NotABackup if n == 0 else TruncatedFile


def expected_after_change(data: bytes, at: int, new: int) -> type[BackupError]:
    """§6.3, single-byte table."""
    end = data.rindex(b"end ")
    if at <= 14:
        return NotABackup
    if at == 16 and new == 0x0D:
        return DamagedFile  # "otpsync-backup v\r" reads as a CRLF line end
    if at == 16 and new == ord("1"):
        return DamagedFile  # a v1 magic line on a v2 header: one key too many
    if at <= 17:
        return UnsupportedVersion
    if at <= end + 9:
        return DamagedFile
    if at == len(data) - 1:
        return TruncatedFile
    return TruncatedFile if new == 0x0A else DamagedFile  # "=" and the digits


def assert_refused(data: bytes, expected: type[BackupError]) -> None:
    """otpsync refuses ``data`` with exactly ``expected``, and the spec reader agrees."""
    raised: BackupError | None = None
    try:
        open_sealed(data, KEYS)
    except BackupError as exc:  # anything else propagates and fails the test
        raised = exc
    assert raised is not None, "a broken file opened"
    assert type(raised) is expected, (type(raised), raised)
    assert spec_category(data) == CATEGORY_OF[expected]


DEVICES = st.from_regex(SPEC_DEVICE, fullmatch=True)
PAYLOADS = st.binary(max_size=600)


@FAST
@given(raw=PAYLOADS, device=DEVICES, kind=st.sampled_from(["backup", "vault"]))
def test_round_trip(raw: bytes, device: str, kind: str) -> None:
    assert DEVICE_RE.match(device)
    data = sealed(raw, device=device, kind=kind)
    header, back = open_sealed(data, KEYS)
    assert back == raw
    assert (header.kind, header.device, header.device_id, header.created) == (
        kind,
        device,
        DEVICE_ID,
        NOW,
    )
    assert header.payload_bytes == len(raw) + 16
    assert data.isascii()
    assert b"\r" not in data
    assert SPEC.open(data).payload == raw
    body = data[data.index(b"\n\n") + 2 : data.rindex(b"end ")].split(b"\n")[:-1]
    assert all(len(line) == 76 for line in body[:-1])
    assert 1 <= len(body[-1]) <= 76


@FAST
@given(raw=PAYLOADS, device=DEVICES, data=st.data())
def test_any_single_byte_change_is_refused(raw: bytes, device: str, data: st.DataObject) -> None:
    original = sealed(raw, device=device)
    at = data.draw(st.integers(0, len(original) - 1), label="offset")
    new = data.draw(st.integers(0, 255).filter(lambda b: b != original[at]), label="byte")
    changed = original[:at] + bytes([new]) + original[at + 1 :]
    assert_refused(changed, expected_after_change(original, at, new))


@FAST
@given(raw=PAYLOADS, device=DEVICES, data=st.data())
def test_any_truncation_is_refused(raw: bytes, device: str, data: st.DataObject) -> None:
    original = sealed(raw, device=device)
    n = data.draw(st.integers(0, len(original) - 1), label="length")
    assert_refused(original[:n], expected_after_truncation(n))


def test_every_offset_and_every_prefix_of_one_file() -> None:
    """The same two tables, exhaustively, for one small file."""
    original = sealed(b'{"a": 1}')
    for at, old in enumerate(original):
        for new in {old ^ 0x01, 0x0A, 0x0D, 0x20, 0x80, 0x00} - {old}:
            changed = original[:at] + bytes([new]) + original[at + 1 :]
            assert_refused(changed, expected_after_change(original, at, new))
    for n in range(len(original)):
        assert_refused(original[:n], expected_after_truncation(n))


def test_seq_is_in_the_header_and_authenticated() -> None:
    data = seal(b"{}", kind="backup", device_id=DEVICE_ID, device="laptop", created=NOW,
                keys=KEYS, kdf_salt=SALT, kdf=KDF, seq=41)  # fmt: skip
    assert SPEC.open(data).header["seq"] == "41"
    assert open_sealed(data, KEYS)[0].seq == 41
    forged = rechecksum(data.replace(b"\nseq: 41\n", b"\nseq: 42\n", 1))
    assert (reference_category(forged), spec_category(forged)) == ("tampered", "tampered")


def test_size_cap_is_exactly_16_mib() -> None:
    data = sealed(b"{}")
    at_cap = data + b"\0" * (MAX_FILE_BYTES - len(data))
    # Read and judged (NULs after the end line: damaged), not refused unread.
    assert (reference_category(at_cap), spec_category(at_cap)) == ("damaged", "damaged")
    over = at_cap + b"\0"
    assert (reference_category(over), spec_category(over)) == ("too-large", "too-large")


# --- the gaps docs/format.md §12 used to list, closed ------------------------------------------


def test_a_device_name_with_a_trailing_newline_is_refused() -> None:
    assert not DEVICE_RE.match("laptop\n")
    with pytest.raises(ValueError, match="device name"):
        sealed(b"{}", device="laptop\n")
    assert not NAME_RE.match(backup_name(NOW, "laptop") + "\n")


def test_seal_never_writes_a_file_over_the_cap() -> None:
    with pytest.raises(FileTooLarge, match=r"the backup would be 17\.\d MiB, over the 16 MiB"):
        sealed(b"\0" * (13 * 1024 * 1024))


def test_payload_with_a_huge_integer_is_damaged() -> None:
    raw = b'{"format":"otpsync-payload","version":1,"x":' + b"9" * 5000 + b"}"
    with pytest.raises(DamagedFile):
        payload.decode(raw)
    with pytest.raises(SpecError, match="damaged"):
        spec_payload(raw, DEVICE_ID)


def test_payload_with_a_lone_surrogate_is_damaged() -> None:
    vault = json.loads(payload.encode(VaultData(DEVICE_ID, "laptop", NOW)))
    vault["accounts"] = [as_spec_doc(Account.create(secret="JBSWY3DPEHPK3PXP", issuer="x"))]
    vault["accounts"][0]["issuer"] = "\ud800"
    raw = json.dumps(vault).encode()
    with pytest.raises(DamagedFile):
        payload.decode(raw)
    with pytest.raises(SpecError, match="damaged"):
        spec_payload(raw, DEVICE_ID)


def test_nfc_and_nfd_spellings_of_a_passphrase_open_the_same_files() -> None:
    """§5: the passphrase is NFC-normalised before Argon2."""
    nfc, nfd = "Zürich café", unicodedata.normalize("NFD", "Zürich café")
    assert nfc != nfd
    data = sealed(b"{}", keys=MasterKeys(nfd))
    assert open_sealed(data, MasterKeys(nfc))[1] == b"{}"
    assert SpecReader(nfd).open(data).payload == SpecReader(nfc).open(data).payload == b"{}"
