"""What every importer shares: the Importer record, entry-level tolerance (``each``,
``Skipped``), typed access to untrusted JSON, secret encodings, bounded KDFs and ciphers,
Android preference files and in-memory SQLite.

Everything here turns a malformed or hostile file into one of our errors with a one-line
message (never quoting file content, which may hold secrets), and refuses to spend more than a
few seconds or a few hundred MiB on a KDF whose parameters came from the file.
"""

from __future__ import annotations

import base64
import binascii
import csv
import json
import re
import sqlite3
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from daemon.core.accounts import MAX_SECRET_BYTES, Account
from daemon.core.backup_format import KDF_BUDGET_KIB_PASSES, KdfParams, check_size
from daemon.errors import (
    BackupError,
    FileTooLarge,
    ImportFailed,
    InvalidAccount,
    KdfOutOfBounds,
    PasswordRequired,
)

MAX_ENTRIES = 10_000  # far beyond any person's codes; bounds work and memory per file
MAX_PBKDF2_ITERATIONS = 2_000_000  # Bitwarden's default is 600k; 2M is a few seconds
SCRYPT_MAX_MEMORY = 256 * 1024 * 1024  # 128·N·r bytes; Aegis uses 32 MiB
SCRYPT_MAX_WORK = 2**23  # N·r·p; Aegis uses 2^18
SCRYPT_MAX_P = 16

# Exceptions that mean "the bytes are not what the format promised". Importer.parse turns any
# that a module did not already explain into one ImportFailed, so none escapes raw.
STRUCTURAL_ERRORS: tuple[type[BaseException], ...] = (
    KeyError,
    IndexError,
    TypeError,
    ValueError,  # also json.JSONDecodeError, UnicodeDecodeError, binascii.Error
    struct.error,
    OverflowError,
    RecursionError,
    LookupError,  # codec lookups
    EOFError,
    NotImplementedError,  # zipfile: unsupported compression
    RuntimeError,  # zipfile: bad password or encrypted member
    zipfile.BadZipFile,
    zlib.error,
    sqlite3.Error,
    csv.Error,
    ElementTree.ParseError,
    InvalidTag,
)


# --- entries otpsync cannot make, and the registry record ---------------------------------------


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry left out of an import, and why: "Yandex — ivan", "Yandex codes are not
    supported". ``malformed`` says the entry is not laid out as the format's entries are (a
    missing field), as opposed to a well-formed entry otpsync cannot make (mOTP, a value that
    is not a secret). Both texts may come from the file: show them through ``shown``."""

    label: str
    reason: str
    malformed: bool = False

    def shown(self) -> str:
        return f"{printable(self.label)} ({printable(self.reason)})"


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What one file gives: the accounts to offer, and the entries left out (with reasons)."""

    accounts: tuple[Account, ...]
    skipped: tuple[Skipped, ...] = ()


class EntrySkipped(ImportFailed):
    """One entry otpsync cannot make. ``each`` turns it into a ``Skipped``; raised anywhere
    else it is an ImportFailed like any other, so it can never be lost."""

    def __init__(self, label: str, reason: str) -> None:
        super().__init__(f"{label}: {reason}")
        self.label, self.reason = label, reason


class TooManyEntries(ImportFailed):
    """The entry cap: a property of the file, never of one entry (``each`` lets it pass)."""


def printable(text: str, limit: int = 200) -> str:
    """Text from a file, safe to print or log: control and format characters (escapes, bidi
    overrides, line breaks) shown as ``\\x1b``/``\\u202e``, and long text cut."""
    out = "".join(
        ch if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp", "Cs") else
        (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        for ch in text[:limit]
    )  # fmt: skip
    return out + ("…" if len(text) > limit else "")


def each(
    items: Iterable[Any], convert: Callable[[Any, str], Account | list[Account | Skipped]],
    what: str | Callable[[int, Any], str] = "entry",
) -> list[Account | Skipped]:  # fmt: skip
    """``convert(item, "entry 3")`` for every item, where one entry that fails becomes a
    ``Skipped`` instead of failing the file. Failures of the file as a whole (a wrong
    password, an authentication failure, a KDF out of bounds) are not ImportFailed and pass.
    ``convert`` may return several results (a line holding a batch of codes); ``what`` names
    the entries ("service" → "service 3"), or is ``(index, item) → name``."""
    out: list[Account | Skipped] = []
    for index, item in enumerate(items, 1):
        where = what(index, item) if callable(what) else f"{what} {index}"
        try:
            made = convert(item, where)
        except EntrySkipped as exc:
            out.append(Skipped(exc.label, exc.reason))
            continue
        except TooManyEntries:
            raise
        except ImportFailed as exc:
            out.append(Skipped(where, _unlocated(exc.message, where), malformed=True))
            continue
        except STRUCTURAL_ERRORS:
            reason = "not laid out as this format's entries are"
            out.append(Skipped(where, reason, malformed=True))
            continue
        out += made if isinstance(made, list) else [made]
        check_count(len(out))
    return out


def _unlocated(message: str, where: str) -> str:
    """The reason alone, to show after the entry's name: "entry 3: missing 'info'" gives
    "missing 'info'", and "entry 3 is not a JSON object" gives "not a JSON object"."""
    for prefix in (f"{where}: ", f"{where} is ", f"{where} "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def _never(data: bytes) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class Importer:
    """One app's export format: how to recognise it by content, and how to read it.

    ``read`` does the work and returns accounts and ``Skipped`` entries (through ``each``);
    ``parse`` wraps it with the size cap, the entry cap and the guarantee that only our
    errors come out, each prefixed with ``title``, and sorts the two apart. A format that can
    be opened with a key file (KeePass) also has ``read_keyed``, which takes its bytes.
    """

    name: str
    title: str
    description: str
    sniff: Callable[[bytes], bool]
    read: Callable[[bytes, str | None], list[Account | Skipped]]
    is_encrypted: Callable[[bytes], bool] = _never
    needs: str = ""  # what an encrypted file of this format needs ("its backup password")
    read_keyed: Callable[[bytes, str | None, bytes | None], list[Account | Skipped]] | None = None

    def encrypted(self, data: bytes) -> bool:
        """Whether parsing ``data`` needs a password (so the CLI knows to ask)."""
        try:
            return self.is_encrypted(data)
        except (*STRUCTURAL_ERRORS, BackupError):
            return False  # unreadable: parse() will say why, located

    def parse(
        self, data: bytes, password: str | None = None, key_file: bytes | None = None
    ) -> ImportResult:
        """The file's accounts and skipped entries. File-level strictness: a file that is
        unreadable as a whole fails; so does one where no entry imports and some entry is
        malformed (the file is not really this format). Entries that are well formed but
        cannot be made (mOTP, Yandex, a value that is no secret) are skipped even when they
        are all there is: the file is fine, and the preview says what is left out."""
        check_size(len(data))
        if key_file is not None and self.read_keyed is None:
            raise ImportFailed(f"{self.title}: a key file opens only KeePass databases")
        try:
            if self.read_keyed is not None:
                results = self.read_keyed(data, password, key_file)
            else:
                results = self.read(data, password)
            check_count(len(results))
        except FileTooLarge:
            raise
        except BackupError as exc:
            raise exc.located(self.title) from None
        except InvalidAccount as exc:
            raise ImportFailed(f"{self.title}: {exc.message}") from None
        except STRUCTURAL_ERRORS:
            raise ImportFailed(
                f"{self.title}: the file is damaged or not laid out as this format is"
            ) from None
        accounts = tuple(r for r in results if isinstance(r, Account))
        skipped = tuple(r for r in results if isinstance(r, Skipped))
        first_malformed = next((s for s in skipped if s.malformed), None)
        if not accounts and first_malformed is not None:
            raise ImportFailed(
                f"{self.title}: {first_malformed.label}: {printable(first_malformed.reason)}"
            )
        return ImportResult(accounts, skipped)


def check_count(count: int) -> None:
    if count > MAX_ENTRIES:
        raise TooManyEntries(f"the file holds more than {MAX_ENTRIES:,} entries; not reading it")


def bounded(items: list[Any]) -> list[Any]:
    """The list, after checking it is not absurdly long (before we spend on each item)."""
    check_count(len(items))
    return items


# --- accounts ----------------------------------------------------------------------------------


def b32(raw: bytes) -> str:
    """Raw key bytes as the unpadded base32 that Account.create expects."""
    return base64.b32encode(raw).decode("ascii").rstrip("=")


# Code types other apps make and otpsync cannot, by the names their files use.
_TYPE_NAMES = {"motp": "mOTP", "yandex": "Yandex", "yaotp": "Yandex", "ocra": "OCRA"}


def entry_label(where: str, issuer: str = "", account: str = "") -> str:
    """How a skipped entry is named: "Yandex — ivan" as in every list, else "entry 3"."""
    issuer, account = issuer.strip(), account.strip()
    if issuer and account:
        return f"{issuer} — {account}"
    return issuer or account or where


def unsupported_type(label: str, otp_type: str) -> EntrySkipped:
    """The skip for a code type otpsync cannot make (mOTP, Yandex, or one it never heard of)."""
    name = _TYPE_NAMES.get(otp_type.strip().lower())
    if name is None:
        return EntrySkipped(label, f"unknown code type {otp_type.strip()[:40]!r}")
    return EntrySkipped(label, f"{name} codes are not supported")


def skip_reason(message: str) -> str:
    """InvalidAccount's words, shortened where the preview wants them short."""
    if message.startswith("the secret is not base32"):
        return "not a secret"
    if message == "the secret is empty":
        return "no secret"
    return message


def make_account(
    where: str,
    *,
    secret: str | bytes,
    type: str = "totp",
    issuer: str = "",
    account: str = "",
    algorithm: str = "SHA1",
    digits: int | None = None,
    period: int = 30,
    counter: int = 0,
) -> Account:
    """Account.create for one entry; an entry it cannot make raises EntrySkipped, named by
    its issuer and account ("Yandex — ivan"), which ``each`` collects."""
    label = entry_label(where, issuer, account)
    if type.lower() not in ("totp", "hotp", "steam"):
        raise unsupported_type(label, type)
    # Refuse a huge "secret" before any decoder walks it (base32 is 8 chars per 5 bytes,
    # plus the spaces and dashes people paste).
    if len(secret) > (MAX_SECRET_BYTES if isinstance(secret, bytes) else 4 * MAX_SECRET_BYTES):
        raise EntrySkipped(label, f"the secret is longer than {MAX_SECRET_BYTES} bytes")
    if isinstance(secret, bytes):
        if not secret:
            raise EntrySkipped(label, "no secret")
        secret = b32(secret)
    try:
        return Account.create(
            type=type,
            secret=secret,
            issuer=issuer,
            account=account,
            algorithm=algorithm,
            digits=None if type.lower() == "steam" else digits,
            period=period,
            counter=counter if type.lower() == "hotp" else 0,  # some files store one anyway
        )
    except InvalidAccount as exc:
        raise EntrySkipped(label, skip_reason(exc.message)) from None


def without_issuer_prefix(name: str, issuer: str) -> str:
    """``Deno:Mason`` with issuer ``Deno`` → ``Mason``.

    Apps that keep a whole otpauth label as the account name repeat the issuer, which would
    read "Deno — Deno:Mason"; parse_uri makes the same split for URIs.
    """
    if issuer:
        head, sep, rest = name.partition(":")
        if sep and head.strip().casefold() == issuer.strip().casefold():
            return rest.strip()
    return name.strip()


# --- typed access to untrusted JSON ------------------------------------------------------------

_REQUIRED: Any = object()


def decode_text(data: bytes, what: str = "the file") -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFailed(f"{what} is not UTF-8 text") from None


def load_json(data: bytes | str, what: str = "the file") -> Any:
    text = decode_text(data, what) if isinstance(data, bytes) else data
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFailed(
            f"{what} is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise ImportFailed(f"{what} is JSON nested too deeply to be an export") from None


@dataclass(frozen=True, slots=True)
class Fields:
    """A JSON object from a file, read with types checked and errors located."""

    data: dict[str, Any]
    where: str

    @classmethod
    def of(cls, value: Any, where: str) -> Fields:
        if not isinstance(value, dict):
            raise ImportFailed(f"{where} is not a JSON object")
        return cls(value, where)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def _get(self, key: str, default: Any) -> tuple[Any, bool]:
        value = self.data.get(key)
        if value is None:
            if default is _REQUIRED:
                raise ImportFailed(f"{self.where}: missing {key!r}")
            return default, True
        return value, False

    def text(self, key: str, default: Any = _REQUIRED) -> str:
        value, missing = self._get(key, default)
        if missing:
            return value
        if not isinstance(value, str):
            raise ImportFailed(f"{self.where}: {key!r} is not text")
        return value

    def integer(self, key: str, default: Any = _REQUIRED) -> int:
        """An int; apps also write numbers as "30" or 30.0, which we accept."""
        value, missing = self._get(key, default)
        if not missing and isinstance(value, str) and not value.strip():
            # Apps that keep numbers as text write "" for "the default" (TOTP Authenticator).
            if default is _REQUIRED:
                raise ImportFailed(f"{self.where}: {key!r} is empty")
            return default
        if missing:
            return value
        if isinstance(value, bool):
            raise ImportFailed(f"{self.where}: {key!r} is not a whole number")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,20}\s*", value):
            return int(value)
        raise ImportFailed(f"{self.where}: {key!r} is not a whole number")

    def flag(self, key: str, default: Any = _REQUIRED) -> bool:
        value, missing = self._get(key, default)
        if not missing and not isinstance(value, bool):
            raise ImportFailed(f"{self.where}: {key!r} is not true or false")
        return value

    def child(self, key: str) -> Fields:
        value, _ = self._get(key, _REQUIRED)
        return Fields.of(value, f"{self.where}: {key!r}")

    def items(self, key: str, default: Any = _REQUIRED) -> list[Any]:
        value, missing = self._get(key, default)
        if not missing and not isinstance(value, list):
            raise ImportFailed(f"{self.where}: {key!r} is not a list")
        return bounded(value)


def json_items(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ImportFailed(f"{where} is not a JSON list")
    return bounded(value)


# --- encodings ---------------------------------------------------------------------------------


def from_b64(text: str, where: str, what: str = "data") -> bytes:
    """Standard or URL-safe base64, padding optional (apps disagree), whitespace ignored."""
    cleaned = "".join(text.split()).translate(str.maketrans("-_", "+/"))
    cleaned = cleaned.rstrip("=")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ImportFailed(f"{where}: {what} is not valid base64") from None


def from_hex(text: str, where: str, what: str = "the secret") -> bytes:
    try:
        return bytes.fromhex(text.strip())
    except ValueError:
        raise ImportFailed(f"{where}: {what} is not hexadecimal") from None


def from_signed_bytes(values: list[Any], where: str, what: str = "the secret") -> bytes:
    """Java writes byte[] as JSON numbers -128..127."""
    if not isinstance(values, list) or len(values) > 4096:
        raise ImportFailed(f"{where}: {what} is not a list of bytes")
    out = bytearray()
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or not -128 <= value <= 255:
            raise ImportFailed(f"{where}: {what} is not a list of bytes")
        out.append(value & 0xFF)
    return bytes(out)


# --- sniffing ----------------------------------------------------------------------------------

_BOM = b"\xef\xbb\xbf"


def starts_with(data: bytes, *prefixes: bytes) -> bool:
    """Does the content (after a BOM and whitespace) start with one of these?"""
    head = data[:4096].removeprefix(_BOM).lstrip()
    return head.startswith(prefixes)


def has_json_keys(data: bytes, *keys: str) -> bool:
    """Cheap test for ``"key":`` in the bytes (a key cannot hide inside an escaped string)."""
    return all(re.search(b'"' + re.escape(k.encode()) + rb'"\s*:', data) for k in keys)


def is_json_object(data: bytes, *keys: str) -> bool:
    return starts_with(data, b"{") and has_json_keys(data, *keys)


def is_json_array(data: bytes, *keys: str) -> bool:
    return starts_with(data, b"[") and has_json_keys(data, *keys)


# --- passwords, KDFs and ciphers ---------------------------------------------------------------


def require_password(password: str | None) -> str:
    if password is None:
        raise PasswordRequired("the file is encrypted; its password is needed")
    return password


# Each KDF a file asks for is bounded on its own (below), and the KDFs one file asks for are
# bounded together: in units of the dearest single run allowed (1.0 = 2M PBKDF2 iterations,
# scrypt N·r·p = 2^23, or Argon2 1 GiB × 1 pass: 1-3 s each on a 2-core machine), one file
# may cost at most FILE_KDF_BUDGET. Eight Aegis slots at the scrypt ceiling (8.0, ~23 s) are
# refused before any runs; real files cost well under 0.1 (Aegis: 1/32 per slot). Formats
# with several derivations (Aegis slots, Authy's per-token keys, 2FAS's reference) add them
# up in a KdfWork; the single-KDF ones (andOTP, Stratum, Proton, FreeOTP 2) stay within it by
# that KDF's own bounds.
FILE_KDF_BUDGET = 2.0


def _check_pbkdf2(iterations: int) -> None:
    if not 1 <= iterations <= MAX_PBKDF2_ITERATIONS:
        raise KdfOutOfBounds(
            f"the file asks for {iterations:,} PBKDF2 iterations; otpsync allows 1 to "
            f"{MAX_PBKDF2_ITERATIONS:,}"
        )


def _check_scrypt(n: int, r: int, p: int) -> None:
    if (
        n < 2
        or n & (n - 1)
        or not 1 <= r <= 64
        or not 1 <= p <= SCRYPT_MAX_P
        or 128 * n * r > SCRYPT_MAX_MEMORY
        or n * r * p > SCRYPT_MAX_WORK
    ):
        raise KdfOutOfBounds(
            f"the file asks for scrypt N={n}, r={r}, p={p}; otpsync allows up to "
            f"{SCRYPT_MAX_MEMORY // 2**20} MiB and N·r·p ≤ 2^23"
        )


def _check_argon2(memory_kib: int, iterations: int, lanes: int) -> None:
    try:
        KdfParams(memory_kib=memory_kib, iterations=iterations, lanes=lanes).check()
    except KdfOutOfBounds as exc:
        raise KdfOutOfBounds(f"the file asks for too costly an Argon2id: {exc}") from None


@dataclass(frozen=True, slots=True)
class KdfWork:
    """The key derivations one file asks for, added up before any runs (as KdfParams.check
    bounds one): ``KdfWork().scrypt(n, r, p, times=2).pbkdf2(10_000).check()``. Each step
    checks that KDF's own bounds too, so a bad slot 8 is refused before slot 1 runs."""

    units: float = 0.0
    runs: int = 0

    def pbkdf2(self, iterations: int, *, times: int = 1) -> KdfWork:
        _check_pbkdf2(iterations)
        return self._plus(iterations / MAX_PBKDF2_ITERATIONS, times)

    def scrypt(self, n: int, r: int, p: int, *, times: int = 1) -> KdfWork:
        _check_scrypt(n, r, p)
        return self._plus(n * r * p / SCRYPT_MAX_WORK, times)

    def argon2(self, memory_kib: int, iterations: int, lanes: int, *, times: int = 1) -> KdfWork:
        _check_argon2(memory_kib, iterations, lanes)
        return self._plus(memory_kib * iterations / KDF_BUDGET_KIB_PASSES, times)

    def _plus(self, units: float, times: int) -> KdfWork:
        return KdfWork(self.units + units * times, self.runs + times)

    def check(self) -> None:
        if self.units > FILE_KDF_BUDGET:
            raise KdfOutOfBounds(
                f"the file asks for {self.runs:,} key derivations costing {self.units:.1f}×"
                f" the dearest one otpsync runs (at most {FILE_KDF_BUDGET:.0f}× per file);"
                " refusing before running any"
            )


def pbkdf2(
    password: bytes, salt: bytes, iterations: int, *, digest: str = "SHA1", length: int = 32
) -> bytes:
    """PBKDF2-HMAC, refusing iteration counts from a file that would take minutes."""
    _check_pbkdf2(iterations)
    algorithm = {
        "SHA1": hashes.SHA1(),  # noqa: S303 (HMAC-SHA1 in PBKDF2 is what these apps chose)
        "SHA256": hashes.SHA256(),
        "SHA512": hashes.SHA512(),
    }
    kdf = PBKDF2HMAC(algorithm=algorithm[digest], length=length, salt=salt, iterations=iterations)
    return kdf.derive(password)


def scrypt(password: bytes, salt: bytes, *, n: int, r: int, p: int, length: int = 32) -> bytes:
    """scrypt, refusing parameters that ask for too much memory or time."""
    _check_scrypt(n, r, p)
    return Scrypt(salt=salt, length=length, n=n, r=r, p=p).derive(password)


def argon2id(
    password: bytes,
    salt: bytes,
    *,
    iterations: int,
    memory_kib: int,
    lanes: int,
    length: int = 32,
) -> bytes:
    """Argon2id within the bounds (and the memory × passes budget) of our own reader."""
    _check_argon2(memory_kib, iterations, lanes)
    if len(salt) < 8:
        raise ImportFailed("the Argon2 salt is shorter than 8 bytes")
    kdf = Argon2id(
        salt=salt, length=length, iterations=iterations, lanes=lanes, memory_cost=memory_kib
    )
    return kdf.derive(password)


def gcm_try(key: bytes, nonce: bytes, data: bytes, aad: bytes | None = None) -> bytes | None:
    """AES-GCM decrypt of ciphertext‖tag; None when the tag does not match (wrong key)."""
    if len(key) not in (16, 24, 32) or not 8 <= len(nonce) <= 128 or len(data) < 16:
        raise ImportFailed("the encrypted data is malformed (key, nonce or length)")
    try:
        return AESGCM(key).decrypt(nonce, data, aad)
    except InvalidTag:
        return None


def gcm_open(
    key: bytes, nonce: bytes, data: bytes, aad: bytes | None, *, fail: BackupError
) -> bytes:
    """gcm_try, where ``fail`` says what a failed tag means at this step."""
    plain = gcm_try(key, nonce, data, aad)
    if plain is None:
        raise fail
    return plain


def cbc_open(key: bytes, iv: bytes, data: bytes) -> bytes | None:
    """AES-CBC with PKCS#7; None when the padding is wrong (usually: a wrong password)."""
    if len(iv) != 16 or not data or len(data) % 16 or len(key) not in (16, 24, 32):
        return None
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        return None


# --- Android shared preferences (XML) ----------------------------------------------------------


_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")


def is_prefs(data: bytes, *names: str) -> bool:
    """An Android shared_prefs file that has every one of these preference names."""
    return starts_with(data, b"<?xml", b"<map") and all(
        re.search(b"name=[\"']" + re.escape(n.encode()) + b"[\"']", data) for n in names
    )


def shared_prefs(data: bytes) -> dict[str, str]:
    """name → value of an Android preferences file (``<map><string name=…>…``)."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        # Preference files never have one; refusing it rules out entity-expansion bombs.
        raise ImportFailed("XML with a DOCTYPE is not an Android preferences file")
    # Android writes UTF-8; parse text without the declaration so that a forged encoding
    # name cannot reach the codec lookup.
    text = _XML_DECLARATION.sub("", decode_text(data, "the XML"), count=1)
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 (no DOCTYPE, so no entities)
    except ElementTree.ParseError as exc:
        raise ImportFailed(f"the XML is not well formed (line {exc.position[0]})") from None
    if root.tag != "map":
        raise ImportFailed("not an Android preferences file (no <map> root)")
    prefs: dict[str, str] = {}
    for child in bounded(list(root)):
        name = child.get("name")
        if name is not None:
            prefs[name] = (child.text or "") if child.tag == "string" else child.get("value", "")
    return prefs


# --- SQLite databases held in memory -----------------------------------------------------------

SQLITE_MAGIC = b"SQLite format 3\x00"
SQLITE_HEADER = 100


@contextmanager
def sqlite_db(data: bytes) -> Iterator[sqlite3.Connection]:
    """The database in ``data``, opened in memory, read-only and with untrusted-schema rules."""
    if not data.startswith(SQLITE_MAGIC) or len(data) < SQLITE_HEADER:
        raise ImportFailed("not an SQLite database")
    raw = bytearray(data)
    if raw[18] == raw[19] == 2:
        # WAL mode (Android's default): an in-memory copy cannot open it, and its -wal file is
        # not here anyway; read the main file as a rollback-journal database.
        raw[18] = raw[19] = 1
    con = sqlite3.connect(":memory:")
    try:
        con.execute("PRAGMA trusted_schema = OFF")
        con.deserialize(bytes(raw))
        con.execute("PRAGMA query_only = ON")
        yield con
    except (sqlite3.Error, MemoryError):  # SQLite reports some malformed files as NOMEM
        raise ImportFailed("the SQLite database is damaged or not a database") from None
    finally:
        con.close()


def sqlite_tables(data: bytes) -> dict[str, set[str]]:
    """table → column names, or {} when ``data`` is not an SQLite database we can open."""
    try:
        with sqlite_db(data) as con:
            names = [
                r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            return {
                name: {col[1] for col in con.execute(f"PRAGMA table_info({quote_ident(name)})")}
                for name in names[:100]
            }
    except ImportFailed:
        return {}


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sqlite_rows(data: bytes, table: str, columns: list[str]) -> list[dict[str, Any]]:
    """Rows of ``table`` (at most MAX_ENTRIES + 1, so the caller's cap can fire)."""
    with sqlite_db(data) as con:
        cols = ", ".join(quote_ident(c) for c in columns)
        cursor = con.execute(f"SELECT {cols} FROM {quote_ident(table)} LIMIT {MAX_ENTRIES + 1}")  # noqa: S608
        rows = [dict(zip(columns, row, strict=True)) for row in cursor]
    return bounded(rows)
