"""Bitwarden exports, JSON or CSV: the codes are the logins' ``totp`` values.

A ``totp`` value is an otpauth URI, a ``steam://`` URI or a bare base32 secret; the item's
name and username fill in what the value lacks. Logins without one are passwords, not codes,
and are skipped. A password-protected export is decrypted (bitwarden_protected) to the plain
JSON inside; an "account restricted" one needs the Bitwarden account key, and is refused with
how to export instead.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from daemon.core.accounts import Account
from daemon.errors import ImportFailed, UnsupportedImport
from daemon.importers import bitwarden_protected
from daemon.importers._common import (
    MAX_ENTRIES,
    Fields,
    Importer,
    Skipped,
    bounded,
    decode_text,
    each,
    has_json_keys,
    is_json_object,
    load_json,
    require_password,
    starts_with,
)
from daemon.importers.uris import parse_embedded

CSV_COLUMN = "login_totp"


def _is_csv(data: bytes) -> bool:
    first = data[:4096].removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    return CSV_COLUMN.encode() in first and b"," in first and not starts_with(data, b"{", b"[")


def sniff(data: bytes) -> bool:
    """The "encrypted" flag is only in newer exports: older ones (and Bitwarden's own
    documented sample) have just "folders"/"collections" and "items" of logins."""
    return (
        is_json_object(data, "encrypted", "items")
        or is_json_object(data, "encrypted", "passwordProtected")
        or (
            is_json_object(data, "items")
            and (has_json_keys(data, "login") or has_json_keys(data, "folders"))
            and not has_json_keys(data, "vaults")  # Proton Pass keeps items inside vaults
        )
        or _is_csv(data)
    )


def is_encrypted(data: bytes) -> bool:
    root = load_json(data)
    return isinstance(root, dict) and bitwarden_protected.is_protected(Fields(root, "the export"))


def read(data: bytes, password: str | None) -> list[Account | Skipped]:
    if starts_with(data, b"{"):
        return _read_json(data, password)
    return _read_csv(data)


def _read_json(data: bytes, password: str | None) -> list[Account | Skipped]:
    root = Fields.of(load_json(data), "the export")
    if root.flag("encrypted", False):
        if bitwarden_protected.is_protected(root):
            plain = bitwarden_protected.decrypt(root, require_password(password))
            root = Fields.of(load_json(plain, "the decrypted export"), "the decrypted export")
        if root.flag("encrypted", False):  # account restricted (or sealed twice)
            raise UnsupportedImport(bitwarden_protected.ACCOUNT_RESTRICTED)
    return each(root.items("items"), _item, "item")


def _item(value: object, where: str) -> list[Account | Skipped] | Account:
    item = Fields.of(value, where)
    if not item.has("login"):
        return []  # a note, card or identity: no code
    login = item.child("login")
    totp = login.text("totp", "")
    if not totp.strip():
        return []  # a password without a code
    name, user = item.text("name", ""), login.text("username", "")
    return parse_embedded(totp, where, issuer=name, account=user)


def _read_csv(data: bytes) -> list[Account | Skipped]:
    reader = csv.DictReader(io.StringIO(decode_text(data), newline=""))
    if reader.fieldnames is None or CSV_COLUMN not in reader.fieldnames:
        raise ImportFailed(f"the CSV has no {CSV_COLUMN} column")
    rows: list[dict[str, Any]] = []
    for row in reader:
        rows.append(row)
        if len(rows) > MAX_ENTRIES:
            break

    def row_code(row: dict[str, Any], where: str) -> list[Account | Skipped] | Account:
        totp = row.get(CSV_COLUMN) or ""
        if not totp.strip():
            return []
        name, user = row.get("name") or "", row.get("login_username") or ""
        return parse_embedded(totp, where, issuer=name, account=user)

    return each(bounded(rows), row_code, lambda i, _: f"row {i + 1}")  # row 1 is the header


IMPORTER = Importer(
    name="bitwarden",
    title="Bitwarden export",
    description="Bitwarden export: .json (plain or password-protected) or .csv (logins with a"
    " TOTP)",
    sniff=sniff,
    read=read,
    is_encrypted=is_encrypted,
)
