"""Authy's Android preference files (``com.authy.storage.tokens.authenticator.xml`` and
``…authy.xml``): a JSON list of tokens inside one preference.

Third-party ("authenticator") tokens carry ``decryptedSecret`` (base32), or, when the backup
password is set, ``encryptedSecret`` + ``salt``: PBKDF2-HMAC-SHA1(password, salt text, 1000)
→ AES-256-CBC with a zero IV. Authy's own tokens carry a hex ``secretSeed`` and make 7-digit
codes every 10 s. Authy stores no algorithm: SHA1.
"""

from __future__ import annotations

import re
from typing import Any

from daemon.core.accounts import Account
from daemon.errors import ImportFailed, WrongPassphrase
from daemon.importers._common import (
    Fields,
    Importer,
    KdfWork,
    Skipped,
    cbc_open,
    each,
    from_b64,
    from_hex,
    json_items,
    load_json,
    make_account,
    pbkdf2,
    require_password,
    shared_prefs,
    starts_with,
    without_issuer_prefix,
)

PREF_PREFIX = "com.authy.storage.tokens."
KEYS = (PREF_PREFIX + "authenticator.key", PREF_PREFIX + "authy.key")
ITERATIONS = 1000
_BASE32_TEXT = re.compile(r"[A-Za-z2-7=\s-]+")


def sniff(data: bytes) -> bool:
    return starts_with(data, b"<?xml", b"<map") and PREF_PREFIX.encode() in data


def _tokens(data: bytes) -> list[Any]:
    prefs = shared_prefs(data)
    found = [key for key in KEYS if key in prefs]
    if not found:
        raise ImportFailed("no Authy token list in these preferences")
    return [t for key in found for t in json_items(load_json(prefs[key], key), key)]


def _needs_key(token: Any) -> bool:
    return isinstance(token, dict) and not ("decryptedSecret" in token or "secretSeed" in token)


def is_encrypted(data: bytes) -> bool:
    return any(_needs_key(token) for token in _tokens(data))


def read(data: bytes, password: str | None) -> list[Account | Skipped]:
    tokens = _tokens(data)
    secret = None
    sealed = sum(1 for token in tokens if _needs_key(token))
    if sealed:
        secret = require_password(password).encode("utf-8")
        KdfWork().pbkdf2(ITERATIONS, times=sealed).check()  # one PBKDF2 per sealed token
    return each(tokens, lambda value, where: _token(value, where, secret), "token")


def _token(value: Any, where: str, password: bytes | None) -> Account:
    token = Fields.of(value, where)
    if token.has("secretSeed"):
        return make_account(
            where,
            secret=from_hex(token.text("secretSeed"), where),
            issuer=token.text("name", ""),
            digits=token.integer("digits", 7),
            period=10,
        )
    if token.has("decryptedSecret"):
        secret = token.text("decryptedSecret")
    elif password is not None:
        secret = _decrypt(token, password)
    else:
        raise ImportFailed(f"{where} has no secret")
    issuer, account = _names(token)
    return make_account(
        where, secret=secret, issuer=issuer, account=account, digits=token.integer("digits", 6)
    )


def _decrypt(token: Fields, password: bytes) -> str:
    key = pbkdf2(password, token.text("salt").encode("utf-8"), ITERATIONS, digest="SHA1")
    encrypted = from_b64(token.text("encryptedSecret"), token.where, "encryptedSecret")
    plain = cbc_open(key, bytes(16), encrypted)
    try:
        text = plain.decode("ascii") if plain is not None else ""
    except UnicodeDecodeError:
        text = ""
    if not _BASE32_TEXT.fullmatch(text):  # CBC has no tag: garbage means a wrong password
        raise WrongPassphrase("wrong password")
    return text


def _names(token: Fields) -> tuple[str, str]:
    """(issuer, account) from Authy's original label, its display name, or its type."""
    original_issuer = token.text("originalIssuer", "").strip()
    original_name = token.text("originalName", "")
    name = token.text("name", "")
    if original_issuer:
        return original_issuer, without_issuer_prefix(original_name or name, original_issuer)
    head, sep, rest = original_name.partition(":")
    if sep:
        return head.strip(), rest.strip()
    head, sep, rest = name.partition(" - ")
    if sep:
        return head.strip(), rest.strip()
    account_type = token.text("accountType", "")
    issuer = account_type.capitalize() if account_type not in ("", "authenticator") else ""
    return issuer, name


IMPORTER = Importer(
    name="authy",
    title="Authy tokens",
    description="Authy Android preferences (com.authy.storage.tokens.*.xml), plain or encrypted",
    sniff=sniff,
    read=read,
    is_encrypted=is_encrypted,
    needs="the backup password",
)
