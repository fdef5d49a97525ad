"""``otpauth://`` URIs (Google's Key Uri Format), read leniently and written canonically.

Read: percent-encoding, ``Issuer:account`` labels, parameters in any case, base32 secrets in
lower case, with spaces or without padding, Steam as ``otpauth://steam/`` or ``encoder=steam``.
Written: what Google Authenticator, Aegis and 2FAS all read back.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, unquote, urlsplit

from daemon.core.accounts import STEAM_DIGITS, Account
from daemon.errors import InvalidAccount

MAX_URI_CHARS = 8192


def _int_param(params: dict[str, str], name: str, default: int | None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value.strip())
    except ValueError:
        raise InvalidAccount(f"{name}={value!r} is not a whole number") from None


def parse_uri(uri: str) -> Account:
    """An ``otpauth://TYPE/LABEL?secret=…`` URI → a new Account (fresh id and times)."""
    text = uri.strip()
    if len(text) > MAX_URI_CHARS:
        raise InvalidAccount(f"the URI is longer than {MAX_URI_CHARS} characters")
    parts = urlsplit(text)
    if parts.scheme.lower() != "otpauth":
        raise InvalidAccount("not an otpauth:// URI")
    otp_type = parts.netloc.lower()
    if otp_type not in ("totp", "hotp", "steam"):
        raise InvalidAccount(f"unknown code type {parts.netloc!r} (expected totp, hotp or steam)")
    # Keep '+' literal: the Key Uri Format percent-encodes spaces (%20), and a literal '+' in
    # an issuer such as "Foo+Bar" must survive.
    params = {
        k.lower(): v for k, v in parse_qsl(parts.query.replace("+", "%2B"), keep_blank_values=True)
    }
    if "secret" not in params or not params["secret"].strip():
        raise InvalidAccount("the URI has no secret= parameter")
    if params.get("encoder", "").lower() == "steam":
        otp_type = "steam"

    label = unquote(parts.path.lstrip("/"))
    label_issuer, _, account = label.partition(":") if ":" in label else ("", "", label)
    issuer = params.get("issuer", "").strip() or label_issuer.strip()
    if otp_type == "steam" and not issuer:
        issuer = "Steam"

    digits = _int_param(params, "digits", None)
    if otp_type == "steam":
        digits = STEAM_DIGITS
    period = _int_param(params, "period", 30)
    counter = _int_param(params, "counter", 0)
    if otp_type == "hotp" and "counter" not in params:
        raise InvalidAccount("an hotp URI needs a counter= parameter")
    return Account.create(
        type=otp_type,
        secret=params["secret"],
        issuer=issuer,
        account=account.strip(),
        algorithm=params.get("algorithm", "SHA1") or "SHA1",
        digits=digits,
        period=period if period is not None else 30,
        counter=counter if counter is not None else 0,
    )


def to_uri(account: Account) -> str:
    """The account as a canonical otpauth URI (what a phone app scans or imports)."""
    label = quote(account.account, safe="@")
    if account.issuer:
        label = f"{quote(account.issuer, safe='')}:{label}"
    query = [f"secret={account.secret}"]
    if account.issuer:
        query.append(f"issuer={quote(account.issuer, safe='')}")
    if account.type != "steam":
        query += [f"algorithm={account.algorithm}", f"digits={account.digits}"]
    if account.type == "hotp":
        query.append(f"counter={account.counter}")
    else:
        query.append(f"period={account.period}")
    return f"otpauth://{account.type}/{label}?{'&'.join(query)}"
