"""TOTP Authenticator (com.authenticator.authservice2): its backup file and its preferences.

The backup is base64 text of AES-256-CBC (zero IV) under SHA-256(password); when the person
set no password the app uses a built-in one, which we try first. The plaintext is a JSON
object whose only *key* is the account list, itself JSON text. The preferences file keeps
the same list in ``STATIC_TOTP_CODES_LIST``. Each account's ``key`` is in base 16, 32 or 64
(``base``); digits and period are stored as text; there is no algorithm (SHA1).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any

from daemon.core.accounts import Account
from daemon.errors import ImportFailed, PasswordRequired, WrongPassphrase
from daemon.importers._common import (
    Fields,
    Importer,
    Skipped,
    cbc_open,
    each,
    from_b64,
    from_hex,
    is_prefs,
    json_items,
    load_json,
    make_account,
    shared_prefs,
)

PREF = "STATIC_TOTP_CODES_LIST"
DEFAULT_PASSWORD = "TotpAuthenticator"  # the app's own, used when no password is set
_BASE64 = re.compile(rb"[A-Za-z0-9+/]+={0,2}")


def _ciphertext(data: bytes) -> bytes | None:
    """The backup's ciphertext, or None when ``data`` is not base64 of whole AES blocks."""
    compact = b"".join(data.split())
    if len(compact) < 24 or len(compact) % 4 or not _BASE64.fullmatch(compact):
        return None
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if raw and len(raw) % 16 == 0 else None


def sniff(data: bytes) -> bool:
    return is_prefs(data, PREF) or _ciphertext(data) is not None


def _decrypt(ciphertext: bytes, password: str) -> list[Any] | None:
    plain = cbc_open(hashlib.sha256(password.encode("utf-8")).digest(), bytes(16), ciphertext)
    if plain is None:
        return None
    try:
        wrapper = load_json(plain)
    except ImportFailed:
        return None
    if not isinstance(wrapper, dict) or len(wrapper) != 1:
        return None
    return json_items(load_json(next(iter(wrapper)), "the account list"), "the account list")


def is_encrypted(data: bytes) -> bool:
    ciphertext = _ciphertext(data)
    return ciphertext is not None and _decrypt(ciphertext, DEFAULT_PASSWORD) is None


def read(data: bytes, password: str | None) -> list[Account | Skipped]:
    if is_prefs(data, PREF):
        items = json_items(load_json(shared_prefs(data)[PREF], PREF), PREF)
    else:
        ciphertext = _ciphertext(data)
        if ciphertext is None:
            raise ImportFailed("the backup is not base64 of AES blocks")
        found = _decrypt(ciphertext, password if password is not None else DEFAULT_PASSWORD)
        if found is None:
            if password is None:
                raise PasswordRequired("the backup is encrypted; its password is needed")
            raise WrongPassphrase("wrong password")
        items = found
    return each(items, _entry, "account")


def _entry(value: Any, where: str) -> Account:
    entry = Fields.of(value, where)
    base, key = entry.integer("base", 16), entry.text("key")
    if base == 16:
        secret: str | bytes = from_hex(key, where)
    elif base == 64:
        secret = from_b64(key, where, "the secret")
    elif base == 32:
        secret = key
    else:
        raise ImportFailed(f"{where}: secrets in base {base} are unknown")
    return make_account(
        where,
        secret=secret,
        issuer=entry.text("issuer", ""),
        account=entry.text("name", ""),
        digits=entry.integer("digits", 6),
        period=entry.integer("period", 30),
    )


IMPORTER = Importer(
    name="totp-authenticator",
    title="TOTP Authenticator backup",
    description="TOTP Authenticator backup (.bin, base64 text) or its preferences XML",
    sniff=sniff,
    read=read,
    is_encrypted=is_encrypted,
    needs="the backup password, if one was set",
)
