"""Proton Pass exports (Settings → Export, unencrypted): a ZIP holding ``Proton Pass/data.json``,
or that JSON alone.

``{"version", "userId", "vaults": {shareId: {"name", "items": [...]}}}``. A login item keeps
its code in ``data.content.totpUri`` (an otpauth URI, or a bare secret), and any item may
carry more in ``data.extraFields`` of type ``totp`` (``data.totpUri``), as Proton's own
importer reads them. The item's name and username fill what a URI lacks. Items in the trash
(``state`` 2) are not imported (listed as skipped): what the person deleted stays deleted.
The PGP-encrypted export needs the person's PGP key: not supported.
"""

from __future__ import annotations

from typing import Any

from daemon.core.accounts import Account
from daemon.errors import ImportFailed, UnsupportedImport
from daemon.importers import zips
from daemon.importers._common import (
    EntrySkipped,
    Fields,
    Importer,
    Skipped,
    bounded,
    each,
    entry_label,
    is_json_object,
    load_json,
    starts_with,
)
from daemon.importers.uris import parse_embedded

MEMBER = "proton pass/data.json"
TRASHED = 2
_PGP = b"-----BEGIN PGP MESSAGE-----"


def _data_json(name: str) -> bool:
    return name.lower() == MEMBER


def _is_json(data: bytes) -> bool:
    return is_json_object(data, "vaults", "userId")


def sniff(data: bytes) -> bool:
    return _is_json(data) or zips.member(data, _data_json) is not None


def is_encrypted(data: bytes) -> bool:
    return zips.encrypted(zips.member(data, _data_json))


def read(data: bytes, password: str | None) -> list[Account | Skipped]:
    if starts_with(data, _PGP):
        raise UnsupportedImport(
            "this is a PGP-encrypted export; in Proton Pass, export without encryption"
        )
    if data.startswith(zips.MAGIC):
        found = zips.member(data, _data_json)
        if found is None:
            raise ImportFailed("the ZIP holds no 'Proton Pass/data.json'")
        data = zips.read(*found, password)
    root = Fields.of(load_json(data), "the export")
    vaults = root.child("vaults")
    items = [
        item
        for vault in bounded(list(vaults.data.values()))
        for item in Fields.of(vault, "a vault").items("items", [])
    ]
    return each(bounded(items), _item, "item")


def _item(value: Any, where: str) -> list[Account | Skipped]:
    item = Fields.of(value, where)
    data = item.child("data")
    name = data.child("metadata").text("name", "") if data.has("metadata") else ""
    content = data.child("content") if data.has("content") else Fields({}, where)
    username = content.text("itemUsername", "") or content.text("itemEmail", "")
    uris: list[tuple[str, str]] = []
    if data.text("type", "") == "login" and content.text("totpUri", "").strip():
        uris.append((where, content.text("totpUri")))
    for index, raw in enumerate(data.items("extraFields", []), 1):
        field = Fields.of(raw, f"{where}, field {index}")
        if field.text("type", "") == "totp" and field.has("data"):
            uri = field.child("data").text("totpUri", "")
            if uri.strip():
                uris.append((f"{where}, field {field.text('fieldName', str(index))!r}", uri))
    if uris and item.integer("state", 1) == TRASHED:
        raise EntrySkipped(entry_label(where, name, username), "in Proton Pass's trash")
    return each(
        uris,
        lambda pair, _: parse_embedded(pair[1], pair[0], issuer=name, account=username),
        lambda _, pair: pair[0],
    )


IMPORTER = Importer(
    name="proton-pass",
    title="Proton Pass export",
    description="Proton Pass export, unencrypted (.zip, or its data.json): TOTP fields",
    sniff=sniff,
    read=read,
    is_encrypted=is_encrypted,
)
