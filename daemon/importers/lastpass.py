"""LastPass Authenticator exports (Settings → Transfer accounts → Export to a file).

JSON ``{"version", "accounts": [...], "folders": [...]}``: version 3 from Android (with
``deviceId``, ``backupInfo``), version 1 from iOS. Each account has a base32 ``secret``,
``issuerName``/``userName`` (what the app shows; ``original*`` keep what the QR code said),
``algorithm``, ``digits`` and ``timeStep``. All are TOTP.
"""

from __future__ import annotations

from typing import Any

from daemon.core.accounts import Account
from daemon.importers._common import (
    Fields,
    Importer,
    Skipped,
    each,
    is_json_object,
    load_json,
    make_account,
)


def sniff(data: bytes) -> bool:
    return is_json_object(data, "accounts", "timeStep", "issuerName")


def read(data: bytes, password: str | None) -> list[Account | Skipped]:
    root = Fields.of(load_json(data), "the export")
    return each(root.items("accounts"), _account, "account")


def _account(value: Any, where: str) -> Account:
    entry = Fields.of(value, where)
    return make_account(
        where,
        secret=entry.text("secret"),
        issuer=entry.text("issuerName", ""),
        account=entry.text("userName", ""),
        algorithm=entry.text("algorithm", "SHA1"),
        digits=entry.integer("digits", 6),
        period=entry.integer("timeStep", 30),
    )


IMPORTER = Importer(
    name="lastpass",
    title="LastPass Authenticator export",
    description="LastPass Authenticator export JSON (Android and iOS)",
    sniff=sniff,
    read=read,
)
