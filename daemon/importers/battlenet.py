"""Battle.net Authenticator's Android preferences, current and old.

* Current app (``com.blizzard.messenger.authenticator_preferences.xml``): the device secret
  and the serial in two preferences, each hex, XOR-masked with a fixed 57-byte key published
  by the app's reverse engineers (and used by Aegis); unmasked, the secret is 40 hex digits.
* Old "Battle.net Mobile Authenticator" (``com.blizzard.bma.AUTH_STORE.xml``): one preference,
  ``com.blizzard.bma.AUTH_STORE.HASH``, masked the same way, holding the secret's 40
  lower-case hex digits followed by the serial (as WinAuth's ExportForm writes it).

Codes are TOTP SHA1, 8 digits, 30 s.
"""

from __future__ import annotations

from daemon.core.accounts import Account
from daemon.errors import ImportFailed
from daemon.importers._common import (
    Importer,
    from_hex,
    is_prefs,
    make_account,
    shared_prefs,
)

PREFIX = "com.blizzard.messenger.AUTHENTICATOR_"
SECRET_KEY, SERIAL_KEY = PREFIX + "DEVICE_SECRET", PREFIX + "SERIAL"
OLD_KEY = "com.blizzard.bma.AUTH_STORE.HASH"
SECRET_HEX = 40
MASK = bytes.fromhex(
    "398e27fc50276a656065b0e525f4c06c04c61075286b8e7aeda59da9813b5dd6"
    "c80d2fb38068773fa59ba47c17ca6c6479015c1d5b8b8f6b9a"
)


def sniff(data: bytes) -> bool:
    return is_prefs(data, SECRET_KEY) or is_prefs(data, OLD_KEY)


def _unmask(value: str, what: str) -> str:
    masked = from_hex(value, "the preferences", what)
    if len(masked) > len(MASK):
        raise ImportFailed(f"the {what} is longer than the Battle.net mask")
    try:
        return bytes(a ^ b for a, b in zip(masked, MASK, strict=False)).decode("ascii")
    except UnicodeDecodeError:
        raise ImportFailed(f"the {what} does not unmask to text") from None


def read(data: bytes, password: str | None) -> list[Account]:
    prefs = shared_prefs(data)
    if SECRET_KEY in prefs:
        secret = from_hex(_unmask(prefs[SECRET_KEY], "device secret"), "the device secret")
        serial = _unmask(prefs[SERIAL_KEY], "serial") if prefs.get(SERIAL_KEY) else ""
    elif OLD_KEY in prefs:
        store = _unmask(prefs[OLD_KEY], "authenticator store")
        if len(store) <= SECRET_HEX:
            raise ImportFailed("the authenticator store is too short to hold a secret")
        secret = from_hex(store[:SECRET_HEX], "the authenticator store", "the secret")
        serial = store[SECRET_HEX:].strip()
    else:
        raise ImportFailed("no Battle.net device secret in these preferences")
    return [
        make_account(
            "the authenticator", secret=secret, issuer="Battle.net", account=serial, digits=8
        )
    ]


IMPORTER = Importer(
    name="battlenet",
    title="Battle.net authenticator",
    description="Battle.net Authenticator preferences (authenticator_preferences.xml)",
    sniff=sniff,
    read=read,
)
