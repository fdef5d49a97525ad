"""KeePass databases (KDBX 3.1 and 4): the one-time codes their entries hold.

pykeepass does the heavy part (AES-KDF or Argon2d/id, AES/ChaCha20/Twofish, the hashed or
HMAC'd blocks, gzip, the inner stream cipher, the XML). Before it spends anything we read the
outer header ourselves (kdbx_header) and refuse KDF costs no real database asks for; the
AES-KDF we then compute ourselves (pykeepass loops over the rounds in Python, ~2 µs each).

Where an entry keeps its code, in the order KeePassXC reads them (src/core/Entry.cpp,
src/totp/totp.cpp) and then KeePass 2.47+'s own fields (as KeeOtp2 reads them):

- ``TOTP Seed`` + ``TOTP Settings`` (KeeTrayTOTP): "step;digits" or "step;S" (Steam);
- ``otp``: an otpauth:// URI (KeePassXC), or KeeOtp's "key=…&step=…&size=…&type=Hotp&
  counter=…&otpHashMode=Sha256&encoding=Base32";
- ``TimeOtp-Secret-Base32`` / ``-Base64`` / ``-Hex`` / ``TimeOtp-Secret`` (UTF-8) with
  ``TimeOtp-Length``, ``TimeOtp-Period``, ``TimeOtp-Algorithm`` ("HMAC-SHA-256");
- ``HmacOtp-Secret*`` + ``HmacOtp-Counter`` (HOTP, 6 digits, SHA-1).

The issuer is the entry's title and the account its username (what the person sees in
KeePass), falling back to the URI's label. Entries in the Recycle Bin are not imported.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from daemon.core.accounts import Account
from daemon.errors import DamagedFile, ImportFailed, PasswordRequired, WrongPassphrase
from daemon.importers import kdbx_header
from daemon.importers._common import (
    STRUCTURAL_ERRORS,
    Importer,
    Skipped,
    bounded,
    each,
    from_b64,
    from_hex,
    make_account,
)
from daemon.importers.uris import parse_embedded

if TYPE_CHECKING:  # pykeepass (and lxml, construct) load only when a database is opened
    from pykeepass import PyKeePass

_ALGORITHMS = {"HMAC-SHA-1": "SHA1", "HMAC-SHA-256": "SHA256", "HMAC-SHA-512": "SHA512"}
_KEEOTP_HASHES = {"Sha1": "SHA1", "Sha256": "SHA256", "Sha512": "SHA512"}
# KeePassXC writes these into an otpauth label when the title or username was empty.
_PLACEHOLDER_ISSUER, _PLACEHOLDER_ACCOUNT = "KeePassXC", "none"
_BLOCKS_PER_CALL = 65_536  # AES-KDF rounds per cipher call: 1 MiB of zeros at a time


def sniff(data: bytes) -> bool:
    return data.startswith(kdbx_header.SIGNATURE)


def is_encrypted(data: bytes) -> bool:
    return True  # every KDBX is; what opens it is a password, a key file, or both


def read(data: bytes, password: str | None) -> list[Account | Skipped]:
    return read_keyed(data, password, None)


def read_keyed(
    data: bytes, password: str | None, key_file: bytes | None
) -> list[Account | Skipped]:
    """Accounts from a KeePass database opened with a password and/or a key file's bytes."""
    if password is None and key_file is None:
        raise PasswordRequired("the database is encrypted; its password or key file is needed")
    kdf = kdbx_header.read_kdf(data)  # refuses absurd costs before anything is spent
    db = _open_trying_empty(data, password, key_file, kdf)
    recycle_bin = db.recyclebin_group
    kept = [e for e in bounded(db.entries) if recycle_bin is None or not _inside(e, recycle_bin)]

    def code_of(entry: Any, where: str) -> Account | list[Account | Skipped]:
        account = _entry_account(entry, where)
        return [] if account is None else account  # an entry without a code: a password

    return each(kept, code_of, "entry")


def _open_trying_empty(
    data: bytes, password: str | None, key_file: bytes | None, kdf: Any
) -> PyKeePass:
    """With a key file and no password, KeePass means "no password part", but a database
    can also have an empty one: KeePassXC tries the first, then the second; so do we."""
    if password or key_file is None:
        return _open(data, password or "", key_file, kdf)
    try:
        return _open(data, None, key_file, kdf)
    except WrongPassphrase:
        return _open(data, "", key_file, kdf)


def _open(data: bytes, password: str | None, key_file: bytes | None, kdf: Any) -> PyKeePass:
    import construct
    from lxml import etree
    from pykeepass import PyKeePass
    from pykeepass.exceptions import CredentialsError, HeaderChecksumError, PayloadChecksumError
    from pykeepass.kdbx_parsing.common import compute_key_composite

    keyfile = io.BytesIO(key_file) if key_file is not None else None
    try:
        transformed = None
        if isinstance(kdf, kdbx_header.AesKdf):
            composite = compute_key_composite(password=password, keyfile=keyfile)
            transformed = aes_kdf(kdf.seed, kdf.rounds, composite)
        return PyKeePass(io.BytesIO(data), password, keyfile, transformed_key=transformed)
    except CredentialsError:
        raise WrongPassphrase("wrong password or key file") from None
    except (HeaderChecksumError, PayloadChecksumError):
        raise DamagedFile("the database fails its checksum: damaged or tampered with") from None
    except AssertionError:  # pykeepass' check of a v2 XML key file's hash
        raise ImportFailed("the key file's data does not match its hash: damaged") from None
    except (*STRUCTURAL_ERRORS, construct.ConstructError, etree.Error, zlib.error):
        raise DamagedFile("the database is damaged or not laid out as KDBX 3.1/4") from None


def aes_kdf(seed: bytes, rounds: int, composite: bytes) -> bytes:
    """KeePass's AES-KDF: each 16-byte half of the composite key AES-encrypted ``rounds``
    times under ``seed``, then SHA-256. Encrypting zero blocks in CBC mode with the half as IV
    chains exactly those encryptions, so the loop runs inside OpenSSL."""
    out = b""
    zeros = bytes(16 * _BLOCKS_PER_CALL)
    for half in (composite[:16], composite[16:]):
        encryptor = Cipher(algorithms.AES(seed), modes.CBC(half)).encryptor()
        last, left = half, rounds
        while left:
            step = min(left, _BLOCKS_PER_CALL)
            last = encryptor.update(zeros[: 16 * step])[-16:]
            left -= step
        out += last
    return hashlib.sha256(out).digest()


def _inside(entry: Any, group: Any) -> bool:
    node = entry.group
    while node is not None:
        if node.uuid == group.uuid:
            return True
        node = node.parentgroup
    return False


# --- where an entry keeps its code ---------------------------------------------------------


def _entry_account(entry: Any, where: str) -> Account | None:
    fields: dict[str, str] = {k: v for k, v in entry.custom_properties.items() if v is not None}
    otp = (entry.otp or "").strip()
    title, user = (entry.title or "").strip(), (entry.username or "").strip()
    if "TOTP Settings" in fields or "TOTP Seed" in fields:
        return _tray_totp(fields, where, title, user)
    if otp.lower().startswith("otpauth://"):
        return _otpauth(otp, where, title, user)
    if otp:
        return _keeotp(otp, where, title, user)
    if any(k.startswith("TimeOtp-Secret") for k in fields):
        return _builtin(fields, "TimeOtp", where, title, user)
    if any(k.startswith("HmacOtp-Secret") for k in fields):
        return _builtin(fields, "HmacOtp", where, title, user)
    return None


def _otpauth(uri: str, where: str, title: str, user: str) -> Account:
    parsed = parse_embedded(uri, where)
    issuer = title or ("" if parsed.issuer == _PLACEHOLDER_ISSUER else parsed.issuer)
    account = user or ("" if parsed.account == _PLACEHOLDER_ACCOUNT else parsed.account)
    return make_account(
        where,
        type=parsed.type,
        secret=parsed.secret,
        issuer=issuer,
        account=account,
        algorithm=parsed.algorithm,
        digits=parsed.digits,
        period=parsed.period,
        counter=parsed.counter,
    )


def _number(text: str | None, default: int, where: str, what: str) -> int:
    if text is None or not text.strip():
        return default
    if not text.strip().isdigit() or len(text.strip()) > 12:
        raise ImportFailed(f"{where}: {what} is not a whole number")
    return int(text.strip())


def _tray_totp(fields: dict[str, str], where: str, title: str, user: str) -> Account:
    """KeeTrayTOTP: "TOTP Seed" (base32) and "TOTP Settings" = "step;digits[;url]"."""
    parts = fields.get("TOTP Settings", "30;6").split(";")
    period = _number(parts[0], 30, where, "the TOTP Settings step")
    digits_text = parts[1].strip() if len(parts) > 1 else "6"
    steam = digits_text.upper() == "S"
    return make_account(
        where,
        type="steam" if steam else "totp",
        secret=fields.get("TOTP Seed", ""),
        issuer=title,
        account=user,
        digits=None if steam else _number(digits_text, 6, where, "the TOTP Settings digits"),
        period=period,
    )


def _keeotp(value: str, where: str, title: str, user: str) -> Account:
    """KeeOtp's "key=…&type=…&step=…&size=…&counter=…&otpHashMode=…&encoding=…"."""
    params: dict[str, str] = {}
    for piece in value.split("&"):
        name, eq, text = piece.partition("=")
        if eq and "=" not in text:
            params.setdefault(name.strip(), unquote(text.strip()))
    if "key" not in params:
        raise ImportFailed(f"{where}: its otp field is neither an otpauth URI nor KeeOtp's")
    kind = params.get("type", "Totp")
    if kind not in ("Totp", "Hotp"):
        raise ImportFailed(f"{where}: KeeOtp type {kind[:16]!r} is not Totp or Hotp")
    algorithm = _KEEOTP_HASHES.get(params.get("otpHashMode", "Sha1"))
    if algorithm is None:
        raise ImportFailed(f"{where}: KeeOtp otpHashMode is not Sha1, Sha256 or Sha512")
    return make_account(
        where,
        type=kind.lower(),
        secret=_decode(params["key"], params.get("encoding", "Base32"), where),
        issuer=title,
        account=user,
        algorithm=algorithm,
        digits=_number(params.get("size"), 6, where, "the KeeOtp size"),
        period=_number(params.get("step"), 30, where, "the KeeOtp step"),
        counter=_number(params.get("counter"), 0, where, "the KeeOtp counter"),
    )


def _builtin(fields: dict[str, str], prefix: str, where: str, title: str, user: str) -> Account:
    """KeePass 2.47+: {prefix}-Secret-Base32/-Base64/-Hex/-Secret, then its parameters."""
    for suffix, encoding in (("-Base32", "Base32"), ("-Base64", "Base64"), ("-Hex", "Hex"),
                             ("", "UTF8")):  # fmt: skip
        if f"{prefix}-Secret{suffix}" in fields:
            secret = _decode(fields[f"{prefix}-Secret{suffix}"], encoding, where)
            break
    if prefix == "HmacOtp":
        counter = _number(fields.get("HmacOtp-Counter"), 0, where, "HmacOtp-Counter")
        return make_account(
            where, type="hotp", secret=secret, issuer=title, account=user, counter=counter
        )
    algorithm = _ALGORITHMS.get(fields.get("TimeOtp-Algorithm", "HMAC-SHA-1").strip())
    if algorithm is None:
        raise ImportFailed(f"{where}: TimeOtp-Algorithm is not HMAC-SHA-1, -256 or -512")
    return make_account(
        where,
        secret=secret,
        issuer=title,
        account=user,
        algorithm=algorithm,
        digits=_number(fields.get("TimeOtp-Length"), 6, where, "TimeOtp-Length"),
        period=_number(fields.get("TimeOtp-Period"), 30, where, "TimeOtp-Period"),
    )


def _decode(text: str, encoding: str, where: str) -> str | bytes:
    """A secret as KeeOtp/KeePass encode it; base32 stays text for Account's own decoder."""
    if encoding == "Base32":
        return text
    if encoding == "Base64":
        return from_b64(text, where, "the secret")
    if encoding == "Hex":
        return from_hex(text, where)
    if encoding == "UTF8":
        return text.encode("utf-8")
    raise ImportFailed(f"{where}: secret encoding {encoding[:16]!r} is not one KeeOtp writes")


IMPORTER = Importer(
    name="kdbx",
    title="KeePass database",
    description="KeePass / KeePassXC database (.kdbx 3.1 or 4; password and/or --key-file)",
    sniff=sniff,
    read=read,
    is_encrypted=is_encrypted,
    read_keyed=read_keyed,
)
