"""The sealed file format shared by backups and the local vault (spec: docs/format.md).

A text file: a magic line with the version, ``key: value`` header lines, a blank line, the
ciphertext in base64 lines, and an end line carrying a SHA-256 of everything before it::

    otpsync-backup v2
    kind: backup
    device-id: 6f1c…
    …
    seq: 42
    …
    payload-bytes: 1234

    q8Jx…(base64, 76 columns)
    end sha256=9c2e…

passphrase --Argon2id(kdf-salt, params)--> master key (cached per salt+params: one KDF per
device, not per file) --HKDF-SHA256(hkdf-salt)--> file key --AES-256-GCM(nonce, AAD=header)-->
payload. The end line's plain checksum tells accidental damage and truncation apart from a
wrong passphrase; ``key-check`` tells a wrong passphrase apart from tampering.

Readers check size, syntax and KDF bounds before spending any work, and accept only what
the writer produces (canonical UUIDs, times, integers and base64; 76-column body lines), so a
file has exactly one spelling.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from daemon.errors import (
    DamagedFile,
    FileTooLarge,
    KdfOutOfBounds,
    NotABackup,
    TruncatedFile,
    UnsupportedVersion,
    WrongPassphrase,
)

MAGIC = "otpsync-backup"
MAGIC_BYTES = MAGIC.encode("ascii") + b" "
VERSION = 2  # what we write; v1 (no `seq`) is still read
READ_VERSIONS = (1, 2)
MAX_FILE_BYTES = 16 * 1024 * 1024
MAGIC_LINE = f"{MAGIC} v{VERSION}\n".encode("ascii")
MAX_HEADER_LINES = 32
MAX_HEADER_LINE = 256
BODY_COLUMNS = 76
KINDS = ("backup", "vault")
MAX_SEQ = 999_999_999_999  # the largest 12-digit header integer
# \Z, not $: "$" also matches before a final newline, and a name ending in one would write a
# header with an early blank line that no reader can open.
DEVICE_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,31}\Z")

# What readers will spend: an attacker's file must not make us allocate 4 GiB or spin for minutes.
KDF_MEMORY_KIB = (8, 1024 * 1024)  # up to 1 GiB
KDF_ITERATIONS = (1, 10)
KDF_LANES = (1, 16)
# Memory × passes: the per-parameter bounds alone allow 1 GiB × 10 (~15 s here). 1 GiB·pass is
# four times the default (128 MiB × 2) and about 1.6 s on a 2-core machine (docs/format.md §10).
KDF_BUDGET_KIB_PASSES = 1024 * 1024
# What a writer may use at least: OWASP's minimum for Argon2id (19 MiB, 2 passes). Every device
# shares the passphrase, so the weakest writer sets the price of a guess for all of them; the
# format's lower bound (8 KiB, 1 pass) is for reading what exists, not for writing more.
KDF_FLOOR_MEMORY_KIB = 19 * 1024
KDF_FLOOR_ITERATIONS = 2
SALT_BYTES = 16
NONCE_BYTES = 12
KEY_CHECK_BYTES = 16
GCM_TAG_BYTES = 16

_HEADER_KEYS_V1 = (
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
# v2 adds `seq` after `created`: the writing device's sequence number (docs/format.md §4.2).
_HEADER_KEYS = {
    1: _HEADER_KEYS_V1,
    2: (*_HEADER_KEYS_V1[:4], "seq", *_HEADER_KEYS_V1[4:]),
}
_VERSION_TOKENS = tuple(f"v{v}".encode("ascii") for v in READ_VERSIONS)
_MAGIC_LINES = tuple(MAGIC_BYTES + token + b"\n" for token in _VERSION_TOKENS)
_MAGIC_LINES_NO_LF = tuple(line[:-1] for line in _MAGIC_LINES)
_END_PREFIX = b"end sha256="
_END_RE = re.compile(rb"\Aend sha256=([0-9a-f]{64})\n\Z")
_HEX_TAIL_RE = re.compile(rb"\A[0-9a-f]{0,63}\Z")
# A line a cut-short body can end with: base64 characters, padding only at the end.
_BODY_LINE_RE = re.compile(rb"\A[A-Za-z0-9+/]+={0,2}\Z")
_UUID_RE = re.compile(r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_TIME_RE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z")
_INT_RE = re.compile(r"\A(?:0|[1-9][0-9]{0,11})\Z")  # str.isdigit() would take "²"
_PRINTABLE_RE = re.compile(r"\A[\x20-\x7e]*\Z")
_HEADER_TEXT_RE = re.compile(r"\A[\x20-\x7e\n]*\Z")  # printable ASCII lines
_TRUNCATED = "file is truncated (it ends before its end line)"  # the reader adds why, if known
# A complete end line inside the file: anything after it was appended (§6.2 step 6).
_END_INSIDE_RE = re.compile(rb"\nend sha256=[0-9a-f]{64}\n")
# Byte-order marks a text editor puts first when it re-saves a file, and how the magic
# line then reads after it (UTF-8: unchanged; UTF-16: two bytes a character).
_BOMS = (
    (b"\xef\xbb\xbf", "UTF-8", MAGIC_BYTES),
    (b"\xff\xfe", "UTF-16", MAGIC_BYTES.decode("ascii").encode("utf-16-le")),
    (b"\xfe\xff", "UTF-16", MAGIC_BYTES.decode("ascii").encode("utf-16-be")),
)


@dataclass(frozen=True, slots=True)
class KdfParams:
    """Argon2id costs. Defaults cost ~0.3 s on a 2-core machine (see bench/)."""

    memory_kib: int = 128 * 1024
    iterations: int = 2
    lanes: int = 4

    def check(self) -> None:
        """Refuse parameters outside what we are willing to spend or Argon2 accepts."""
        for name, value, (low, high) in (
            ("memory", self.memory_kib, KDF_MEMORY_KIB),
            ("iterations", self.iterations, KDF_ITERATIONS),
            ("lanes", self.lanes, KDF_LANES),
        ):
            if not low <= value <= high:
                raise KdfOutOfBounds(
                    f"KDF {name} {value} is out of bounds ({low}–{high}"
                    f"{' KiB' if name == 'memory' else ''}); refusing to derive a key"
                )
        if self.memory_kib < 8 * self.lanes:
            raise KdfOutOfBounds("KDF memory must be at least 8 KiB per lane")
        if self.memory_kib * self.iterations > KDF_BUDGET_KIB_PASSES:
            raise KdfOutOfBounds(
                f"KDF cost {self.memory_kib} KiB × {self.iterations} passes is out of bounds"
                " (memory × passes at most 1 GiB × 1, e.g. 256 MiB × 4); refusing to derive a key"
            )

    @property
    def weak(self) -> bool:
        """Below the floor a writer may use (KDF_FLOOR_*): readable, but cheap to guess."""
        return self.memory_kib < KDF_FLOOR_MEMORY_KIB or self.iterations < KDF_FLOOR_ITERATIONS


@dataclass(frozen=True, slots=True)
class Header:
    """The authenticated, unencrypted part of a file: enough to decide whether to open it."""

    kind: str
    device_id: str
    device: str
    created: datetime
    kdf: KdfParams
    kdf_salt: bytes
    key_check: bytes
    hkdf_salt: bytes
    nonce: bytes
    payload_bytes: int
    # The writing device's sequence number: grows with every save of its vault, and a backup
    # carries its vault's. Authenticated (the header is the AEAD's associated data) and
    # readable without the key, so the newest backup of a device can be picked before any
    # is decrypted. 0: a v1 file, which has none (ordered by `created`, as v1 was).
    seq: int = 0


class MasterKeys:
    """Master keys for one passphrase, cached by (KDF salt, params).

    Each device seals every file with its own stable KDF salt, so opening 100 backups from two
    devices costs two Argon2 runs. ``kdf_runs`` counts them, for the benchmarks.

    The passphrase is NFC-normalised first: macOS input tends to give NFD ("e" + U+0301),
    Linux and Windows NFC ("é"), and the same typed passphrase must open the same files.
    """

    def __init__(self, passphrase: str, *, max_entries: int = 64) -> None:
        self._passphrase = unicodedata.normalize("NFC", passphrase).encode("utf-8")
        self._cache: OrderedDict[tuple[bytes, KdfParams], bytes] = OrderedDict()
        self._max = max_entries
        self.kdf_runs = 0

    def has(self, salt: bytes, params: KdfParams) -> bool:
        """Whether the key for (salt, params) is cached: opening costs no Argon2 run."""
        return (salt, params) in self._cache

    def master_key(self, salt: bytes, params: KdfParams) -> bytes:
        params.check()
        key = (salt, params)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        master = Argon2id(
            salt=salt,
            length=32,
            iterations=params.iterations,
            lanes=params.lanes,
            memory_cost=params.memory_kib,
        ).derive(self._passphrase)
        self.kdf_runs += 1
        self._cache[key] = master
        if len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return master


def _hkdf(master: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(master)


def _key_check(master: bytes) -> bytes:
    return _hkdf(master, b"", b"otpsync-backup v1 key check")[:KEY_CHECK_BYTES]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def format_time(moment: datetime) -> str:
    """The one spelling of a time (docs/format.md): ``YYYY-MM-DDTHH:MM:SSZ``, UTC. Not
    strftime: its %Y does not zero-pad years before 1000 on every platform (glibc gives
    "999-…"), and such text would no longer sort or parse as a time."""
    m = moment.astimezone(UTC)
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"


def sealed_size(header_bytes: int, payload_bytes: int) -> int:
    """The size of a sealed file, from its header's and its plaintext's lengths."""
    text = 4 * -(-(payload_bytes + GCM_TAG_BYTES) // 3)  # base64 of ciphertext + tag
    body = text + -(-text // BODY_COLUMNS)  # and one LF per line
    return header_bytes + body + len(_END_PREFIX) + 64 + 1


def seal(
    payload: bytes,
    *,
    kind: str,
    device_id: str,
    device: str,
    created: datetime,
    keys: MasterKeys,
    kdf_salt: bytes,
    kdf: KdfParams,
    seq: int = 0,
) -> bytes:
    """Encrypt ``payload`` into the file format. ``kdf_salt`` is the device's stable salt;
    ``seq`` the device's sequence number (0: none known, e.g. another app's backup re-sealed).

    Bad arguments are programming errors (config validation already refuses bad names):
    ValueError. A payload too large for the size cap is the person's: FileTooLarge, raised
    before anything is encrypted, so no caller ever writes a file its reader refuses.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    if not DEVICE_RE.match(device):
        raise ValueError(f"bad device name {device!r}")
    if not _UUID_RE.match(device_id):
        raise ValueError(f"device id {device_id!r} is not a lower-case hyphenated UUID")
    if len(kdf_salt) != SALT_BYTES:
        raise ValueError(f"the KDF salt must be {SALT_BYTES} bytes")
    if not 0 <= seq <= MAX_SEQ:
        raise ValueError(f"seq {seq} is out of bounds")
    master = keys.master_key(kdf_salt, kdf)
    hkdf_salt = os.urandom(SALT_BYTES)
    nonce = os.urandom(NONCE_BYTES)
    file_key = _hkdf(master, hkdf_salt, b"otpsync-backup v1 file key")
    fields = {
        "kind": kind,
        "device-id": device_id,
        "device": device,
        "created": format_time(created),
        "seq": str(seq),
        "kdf": "argon2id",
        "kdf-memory-kib": str(kdf.memory_kib),
        "kdf-iterations": str(kdf.iterations),
        "kdf-lanes": str(kdf.lanes),
        "kdf-salt": _b64(kdf_salt),
        "key-check": _b64(_key_check(master)),
        "hkdf-salt": _b64(hkdf_salt),
        "cipher": "aes-256-gcm",
        "nonce": _b64(nonce),
        "payload-bytes": str(len(payload) + GCM_TAG_BYTES),
    }
    for key, value in fields.items():
        # Every value above is pinned by a check or a formatter; this is the last line of
        # defence against a header that splits or smuggles lines (a CR, an LF, a NUL).
        if not _PRINTABLE_RE.match(value) or len(key) + 2 + len(value) > MAX_HEADER_LINE:
            raise ValueError(f"header {key} {value!r} has a control character or is too long")
    header = f"{MAGIC} v{VERSION}\n" + "".join(f"{k}: {v}\n" for k, v in fields.items()) + "\n"
    size = sealed_size(len(header), len(payload))
    if size > MAX_FILE_BYTES:
        raise FileTooLarge(
            f"the {kind} would be {size / 1048576:.1f} MiB, over the"
            f" {MAX_FILE_BYTES // 1048576} MiB a file can be"
        )
    # The AEAD binds the header, so "change one character and the file is rejected" holds even
    # for someone who recomputes the checksum.
    ciphertext = AESGCM(file_key).encrypt(nonce, payload, header.encode("ascii"))
    text = base64.b64encode(ciphertext).decode("ascii")
    body = "".join(text[i : i + BODY_COLUMNS] + "\n" for i in range(0, len(text), BODY_COLUMNS))
    head_and_body = (header + body).encode("ascii")
    end = _END_PREFIX + hashlib.sha256(head_and_body).hexdigest().encode("ascii") + b"\n"
    return head_and_body + end


def check_size(size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise FileTooLarge(
            f"file is {size / 1048576:.1f} MiB, larger than the {MAX_FILE_BYTES // 1048576} MiB"
            " a backup can be; not reading it"
        )


def _ends_early(data: bytes, last: bytes) -> bool:
    """Whether a file whose last line ``last`` is not an end line looks cut short.

    True when the cut could have fallen after a line of a valid file: the header has not ended
    yet, or the last line is empty, a body line, or the start of an end line. Anything else
    (``fnd sha256=…``, text after the end line) is damage, not an incomplete download.
    """
    if b"\n\n" not in data or not last:
        return True
    if len(last) <= BODY_COLUMNS and _BODY_LINE_RE.match(last):
        return True
    return _END_PREFIX.startswith(last[: len(_END_PREFIX)]) and bool(
        _HEX_TAIL_RE.match(last[len(_END_PREFIX) :])
    )


def looks_sealed(data: bytes) -> bool:
    """Starts like one of our files — or like one a text editor re-saved (a byte-order mark
    first), which the reader then refuses saying so."""
    return data.startswith(MAGIC_BYTES) or any(
        data.startswith(bom + magic) for bom, _, magic in _BOMS
    )


def _split(data: bytes) -> tuple[bytes, bytes]:
    """Check magic, completeness and checksum; return (header bytes, body bytes)."""
    check_size(len(data))
    if data and any(len(data) < len(m) and m.startswith(data) for m in _MAGIC_LINES):
        raise TruncatedFile("file is truncated (it ends inside its first line)")
    first = data.partition(b"\n")[0]
    if not first.startswith(MAGIC_BYTES):
        for bom, encoding, _ in _BOMS:
            if data.startswith(bom):
                raise NotABackup(
                    f"not an otpsync backup as it stands: it starts with a {encoding} byte-order"
                    " mark, so a text editor re-saved it; use the original file"
                )
        raise NotABackup("not an otpsync backup (no otpsync-backup first line)")
    if first.endswith(b"\r"):
        raise DamagedFile(
            "file is damaged (it has CRLF line endings: something converted it as text;"
            " copy it again as a binary file)"
        )
    version = first[len(MAGIC) + 1 :]
    if version not in _VERSION_TOKENS:
        shown = version.decode("ascii", "replace")[:20]
        raise UnsupportedVersion(
            f"backup format {shown!r} is not supported by this otpsync (reads"
            f" {', '.join(t.decode() for t in _VERSION_TOKENS)}); upgrade otpsync to open it"
        )
    if (inside := _END_INSIDE_RE.search(data)) and inside.end() < len(data):
        extra = len(data) - inside.end()
        raise DamagedFile(
            f"file is damaged ({extra} byte{'s' if extra != 1 else ''} after its end line:"
            " something was appended to it)"
        )
    if not data.endswith(b"\n"):
        raise TruncatedFile(_TRUNCATED)
    cut = data[:-1].rfind(b"\n") + 1
    match = _END_RE.match(data[cut:])
    if not match:
        if _ends_early(data, data[cut:-1]):
            raise TruncatedFile(_TRUNCATED)
        raise DamagedFile("file is damaged (its last line is not a well-formed end line)")
    content = data[:cut]
    if hashlib.sha256(content).hexdigest() != match.group(1).decode("ascii"):
        raise DamagedFile("file is damaged or was altered (checksum mismatch)")
    header, sep, body = content.partition(b"\n\n")
    if not sep:
        raise DamagedFile("file is damaged (no blank line after the header)")
    return header + b"\n\n", body


def _decode_b64(value: str, name: str, size: int | None = None) -> bytes:
    """Strict, canonical base64: the writer's spelling is the only one accepted."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise DamagedFile(f"file is damaged (header {name} is not base64)") from None
    if _b64(raw) != value:
        raise DamagedFile(f"file is damaged (header {name} is not canonical base64)")
    if size is not None and len(raw) != size:
        raise DamagedFile(f"file is damaged (header {name} has {len(raw)} bytes, not {size})")
    return raw


def _parse_int(value: str, name: str) -> int:
    if not _INT_RE.match(value):
        raise DamagedFile(f"file is damaged (header {name} is not a number)")
    return int(value)


def _parse_header(header: bytes) -> Header:
    try:
        text = header.decode("ascii")
    except UnicodeDecodeError:
        raise DamagedFile("file is damaged (header is not ASCII)") from None
    if not _HEADER_TEXT_RE.match(text):  # a TAB, CR, NUL, ESC or DEL in a value
        raise DamagedFile("file is damaged (header has a control character)")
    version = int(text.partition("\n")[0].rpartition(" v")[2])  # checked in _split
    expected = _HEADER_KEYS[version]
    lines = text.split("\n")[1:-2]
    if len(lines) > MAX_HEADER_LINES:
        raise DamagedFile("file is damaged (header has too many lines)")
    fields: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition(": ")
        if not sep or len(line) > MAX_HEADER_LINE or key in fields:
            raise DamagedFile(f"file is damaged (bad header line {line[:40]!r})")
        fields[key] = value
    if tuple(fields) != expected:
        missing = [k for k in expected if k not in fields]
        extra = [k for k in fields if k not in expected]
        raise DamagedFile(
            f"file is damaged (header keys: missing {missing or 'none'}, unknown {extra or 'none'}"
            ", or out of order)"
        )
    if fields["kind"] not in KINDS:
        raise DamagedFile(f"file is damaged (unknown kind {fields['kind'][:20]!r})")
    if fields["kdf"] != "argon2id" or fields["cipher"] != "aes-256-gcm":
        raise UnsupportedVersion(
            f"file uses kdf {fields['kdf'][:20]!r} / cipher {fields['cipher'][:20]!r},"
            " which this otpsync does not support"
        )
    if not DEVICE_RE.match(fields["device"]):
        raise DamagedFile("file is damaged (bad device name in header)")
    if not _UUID_RE.match(fields["device-id"]) or not _TIME_RE.match(fields["created"]):
        raise DamagedFile("file is damaged (bad device-id or created in header)")
    try:
        created = datetime.strptime(fields["created"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:  # a well-spelled impossible date: 2026-02-30
        raise DamagedFile("file is damaged (bad device-id or created in header)") from None
    kdf = KdfParams(
        memory_kib=_parse_int(fields["kdf-memory-kib"], "kdf-memory-kib"),
        iterations=_parse_int(fields["kdf-iterations"], "kdf-iterations"),
        lanes=_parse_int(fields["kdf-lanes"], "kdf-lanes"),
    )
    kdf.check()
    parsed = Header(
        kind=fields["kind"],
        device_id=fields["device-id"],
        device=fields["device"],
        created=created,
        kdf=kdf,
        kdf_salt=_decode_b64(fields["kdf-salt"], "kdf-salt", SALT_BYTES),
        key_check=_decode_b64(fields["key-check"], "key-check", KEY_CHECK_BYTES),
        hkdf_salt=_decode_b64(fields["hkdf-salt"], "hkdf-salt", SALT_BYTES),
        nonce=_decode_b64(fields["nonce"], "nonce", NONCE_BYTES),
        payload_bytes=_parse_int(fields["payload-bytes"], "payload-bytes"),
        seq=_parse_int(fields["seq"], "seq") if "seq" in fields else 0,
    )
    if parsed.payload_bytes < GCM_TAG_BYTES:
        raise DamagedFile(
            f"file is damaged (header payload-bytes is under the {GCM_TAG_BYTES}-byte tag)"
        )
    return parsed


def _decode_body(body: bytes, payload_bytes: int) -> bytes:
    """The ciphertext, from body lines laid out exactly as ``seal`` lays them out."""
    lines = body.split(b"\n")[:-1]
    if not lines or not lines[-1]:
        raise DamagedFile("file is damaged (its body is empty or ends with an empty line)")
    if any(len(line) != BODY_COLUMNS for line in lines[:-1]) or len(lines[-1]) > BODY_COLUMNS:
        raise DamagedFile(f"file is damaged (its body lines are not {BODY_COLUMNS} columns)")
    text = b"".join(lines)
    try:
        ciphertext = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DamagedFile("file is damaged (body is not base64)") from None
    if base64.b64encode(ciphertext) != text:
        raise DamagedFile("file is damaged (body is not canonical base64)")
    if len(ciphertext) != payload_bytes:
        raise DamagedFile(
            f"file is damaged (body holds {len(ciphertext)} bytes, header says {payload_bytes})"
        )
    return ciphertext


PEEK_BYTES = 16 * 1024  # more than any valid header: 32 lines of 256, the magic line, blank


def peek_order(prefix: bytes) -> tuple[str, int, str] | None:
    """(device id, seq, created) as the start of a file *claims* them, unverified — only to
    choose which of many files to open first; None when it does not look like our header."""
    head = prefix.partition(b"\n\n")[0].split(b"\n")
    if not head or head[0] not in _MAGIC_LINES_NO_LF:
        return None
    fields = dict(line.partition(b": ")[::2] for line in head[1 : MAX_HEADER_LINES + 1])
    device_id, created = fields.get(b"device-id", b""), fields.get(b"created", b"")
    seq = fields.get(b"seq", b"0")
    if not (
        _UUID_RE.match(device_id.decode("ascii", "replace"))
        and _INT_RE.match(seq.decode("ascii", "replace"))
    ):
        return None
    return device_id.decode("ascii"), int(seq), created.decode("ascii", "replace")


def read_header(data: bytes) -> Header:
    """Check everything that costs nothing (size, magic, checksum, syntax, KDF bounds)."""
    header, _ = _split(data)
    return _parse_header(header)


def open_sealed(data: bytes, keys: MasterKeys) -> tuple[Header, bytes]:
    """Verify and decrypt a sealed file: (header, payload bytes). Raises a BackupError."""
    header_bytes, body = _split(data)
    header = _parse_header(header_bytes)
    ciphertext = _decode_body(body, header.payload_bytes)
    master = keys.master_key(header.kdf_salt, header.kdf)
    if not hmac.compare_digest(_key_check(master), header.key_check):
        raise WrongPassphrase("wrong passphrase (this file was sealed with another one)")
    file_key = _hkdf(master, header.hkdf_salt, b"otpsync-backup v1 file key")
    try:
        payload = AESGCM(file_key).decrypt(header.nonce, ciphertext, header_bytes)
    except InvalidTag:
        raise DamagedFile(
            "file was tampered with (it does not authenticate, though its checksum matches)"
        ) from None
    return header, payload
