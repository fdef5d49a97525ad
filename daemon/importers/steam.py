"""Steam Guard files: the Steam app's ``Steamguard-<id>`` (an ``accounts`` map, or one bare
object in older versions) and Steam Desktop Authenticator ``.maFile`` files (one object).

``shared_secret`` is the base64 TOTP key; codes are Steam's 5 characters, SHA1, 30 s.
"""

from __future__ import annotations

from typing import Any

from daemon.core.accounts import Account
from daemon.importers._common import (
    Fields,
    Importer,
    Skipped,
    bounded,
    each,
    from_b64,
    is_json_object,
    load_json,
    make_account,
)

SECRET = "shared_secret"


def sniff(data: bytes) -> bool:
    return is_json_object(data, SECRET)


def read(data: bytes, password: str | None) -> list[Account | Skipped]:
    root = Fields.of(load_json(data), "the file")
    if root.has(SECRET):
        return [_account(root.data, "the file")]
    accounts = root.child("accounts")
    return each(bounded(list(accounts.data.values())), _account, "account")


def _account(value: Any, where: str) -> Account:
    guard = Fields.of(value, where)
    return make_account(
        where,
        type="steam",
        secret=from_b64(guard.text(SECRET), where, SECRET),
        issuer="Steam",
        account=guard.text("account_name", ""),
    )


IMPORTER = Importer(
    name="steam",
    title="Steam Guard file",
    description="Steam Guard file (Steam app's Steamguard-*, SDA .maFile)",
    sniff=sniff,
    read=read,
)
