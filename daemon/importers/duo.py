"""Duo Mobile's third-party accounts (``files/duokit/accounts.json``): a JSON list whose
``otpGenerator`` holds a base32 ``otpSecret`` and, for HOTP, a ``counter``. Duo keeps only a
display name (no issuer) and uses SHA1, 6 digits, 30 s. Duo's own push accounts have no
``otpGenerator`` and are skipped: they have no code to import.
"""

from __future__ import annotations

from daemon.core.accounts import Account
from daemon.importers._common import (
    Fields,
    Importer,
    Skipped,
    each,
    is_json_array,
    json_items,
    load_json,
    make_account,
)


def sniff(data: bytes) -> bool:
    return is_json_array(data, "otpGenerator")


def read(data: bytes, password: str | None) -> list[Account | Skipped]:
    items = json_items(load_json(data), "the file")

    def account(value: object, where: str) -> list[Account | Skipped]:
        entry = Fields.of(value, where)
        return [_account(entry)] if entry.has("otpGenerator") else []

    return each(items, account, "account")


def _account(entry: Fields) -> Account:
    generator = entry.child("otpGenerator")
    hotp = generator.has("counter")
    return make_account(
        entry.where,
        type="hotp" if hotp else "totp",
        secret=generator.text("otpSecret"),
        account=entry.text("name", ""),
        counter=generator.integer("counter", 0),
    )


IMPORTER = Importer(
    name="duo",
    title="Duo Mobile accounts",
    description="Duo Mobile third-party accounts (duokit/accounts.json)",
    sniff=sniff,
    read=read,
)
