"""Stratum / Authenticator Pro's HTML export ("Backup → HTML file"): a printable page with one
table row per code, the URI in ``<code>`` and its QR image beside it.

The app (Stratum.Core/Backup/HtmlBackup.cs) writes ``<td><code>{auth.GetUri()}</code></td>``
into backup_template.html without HTML-escaping, and reads its own export back by taking the
text of every ``<code>`` element (HtmlBackupConverter). So do we, accepting ``&amp;`` as well
for an export some editor re-saved. What GetUri writes (Stratum's Authenticator.cs):

* ``otpauth://totp|hotp/…`` with ``issuer``, and ``algorithm``/``digits``/``period`` only
  when they differ from the type's defaults;
* Steam as ``otpauth://totp/…`` with issuer ``Steam``, or the bare ``&steam`` flag when the
  issuer is something else (a Steam code's default digits are 5, so none are written);
* Yandex as ``otpauth://yaotp/…`` and mOTP as ``motp://…``: codes otpsync cannot make.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

from daemon.core.accounts import Account
from daemon.importers._common import (
    Skipped,
    decode_text,
    each,
    entry_label,
    make_account,
    starts_with,
    unsupported_type,
)
from daemon.importers.uris import parse_otpauth

_CODE = re.compile(r"<code>(.*?)</code>", re.IGNORECASE | re.DOTALL)
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&#x27;": "'"}
_ENTITY = re.compile("|".join(map(re.escape, _ENTITIES)))


def is_html(data: bytes) -> bool:
    head = data[:65536].lower()
    return starts_with(data, b"<!doctype html", b"<html", b"<!DOCTYPE html") and (
        b"<code>otpauth://" in head or b"<code>motp://" in head
    )


def read_html(data: bytes) -> list[Account | Skipped]:
    codes = [_ENTITY.sub(lambda m: _ENTITIES[m.group()], c).strip()
             for c in _CODE.findall(decode_text(data))]  # fmt: skip
    return each(codes, _code, "row")


def _label(uri: str, where: str) -> str:
    """The entry's name, from ``motp://Issuer:user?…`` or ``otpauth://yaotp/Issuer%3Auser?…``."""
    path = uri.partition("://")[2].split("?", 1)[0]
    if uri.lower().startswith("otpauth://"):
        path = path.partition("/")[2]
    issuer, _, user = unquote(path).partition(":")
    return entry_label(where, issuer, user)


def _code(uri: str, where: str) -> Account:
    scheme = uri.partition("://")[0].lower()
    if scheme == "motp":
        raise unsupported_type(_label(uri, where), "motp")
    kind = urlsplit(uri).netloc.lower() if scheme == "otpauth" else ""
    if kind == "yaotp":
        raise unsupported_type(_label(uri, where), "yandex")
    account = parse_otpauth(uri, where)
    query = parse_qs(urlsplit(uri).query, keep_blank_values=True)
    steam = "steam" in query or (account.issuer == "Steam" and "digits" not in query)
    if kind == "totp" and steam:
        return make_account(
            where,
            type="steam",
            secret=account.secret,
            issuer=account.issuer,
            account=account.account,
        )
    return account
