"""Proton Authenticator exports, plain or password-protected.

Plain: ``{"version": 1, "entries": [{"content": {"uri", "entry_type", "name"}}]}`` where each
uri is an otpauth:// (or steam://) URI. Password-protected: ``{"version", "salt", "content"}``,
Argon2id (t=2, m=19 MiB, p=1) → AES-256-GCM over the plain export, ``content`` being
nonce‖ciphertext‖tag and the AAD a fixed label.
"""

from __future__ import annotations

from typing import Any

from daemon.core.accounts import Account
from daemon.errors import WrongPassphrase
from daemon.importers._common import (
    Fields,
    Importer,
    Skipped,
    argon2id,
    each,
    from_b64,
    gcm_open,
    has_json_keys,
    is_json_object,
    load_json,
    require_password,
)
from daemon.importers.uris import parse_embedded

AAD = b"proton.authenticator.export.v1"
NONCE = 12
ARGON2 = {"iterations": 2, "memory_kib": 19_456, "lanes": 1}


def _is_plain(data: bytes) -> bool:
    return is_json_object(data, "entries", "entry_type")


def is_encrypted(data: bytes) -> bool:
    return is_json_object(data, "version", "salt", "content") and not has_json_keys(
        data, "kdfParams"
    )


def sniff(data: bytes) -> bool:
    return _is_plain(data) or is_encrypted(data)


def read(data: bytes, password: str | None) -> list[Account | Skipped]:
    root = Fields.of(load_json(data), "the export")
    if root.has("salt") and root.has("content"):
        salt = from_b64(root.text("salt"), "the export", "salt")
        blob = from_b64(root.text("content"), "the export", "content")
        key = argon2id(require_password(password).encode("utf-8"), salt, **ARGON2)
        plain = gcm_open(
            key, blob[:NONCE], blob[NONCE:], AAD, fail=WrongPassphrase("wrong password")
        )
        root = Fields.of(load_json(plain, "the decrypted export"), "the decrypted export")
    return each(root.items("entries"), _entry)


def _entry(value: Any, where: str) -> Account:
    content = Fields.of(value, where).child("content")
    return parse_embedded(content.text("uri"), where, account=content.text("name", ""))


IMPORTER = Importer(
    name="proton",
    title="Proton Authenticator export",
    description="Proton Authenticator export (plain or password-protected JSON)",
    sniff=sniff,
    read=read,
    is_encrypted=is_encrypted,
    needs="the export password",
)
