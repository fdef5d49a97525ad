"""otpauth:// URI lists: one Key Uri Format URI per line, LF-terminated, UTF-8.

``to_uri`` percent-encodes issuer and account, so the text is plain ASCII. It is what the
"plain text" import of Aegis, 2FAS, Ente Auth and WinAuth reads, and what
``daemon.importers`` detects as ``otpauth`` and reads back to the same codes. Unencrypted.
"""

from __future__ import annotations

from collections.abc import Iterable

from daemon.core.accounts import Account
from daemon.core.otpauth import to_uri


def uri_list(accounts: Iterable[Account]) -> bytes:
    """The accounts as an otpauth:// list, in the order given (empty bytes for none)."""
    return "".join(to_uri(account) + "\n" for account in accounts).encode("utf-8")
