"""How much Argon2 the files in the sync folder may make us spend.

Opening a backup sealed under a KDF salt we have not derived yet costs one Argon2 run (up to
~1.6 s and 1 GiB at the format's ceiling). A genuine device costs one run per salt, ever; a
planted file with a fresh salt costs one run too, and someone who can write to the folder can
plant many. So:

- salts that opened before (kept in ``state/known_kdf.json``: digests of public header
  values, nothing secret) and salts in the key cache are free;
- a (salt, parameters) that failed to open is remembered: the next file under it fails at
  once, without deriving again;
- fresh derivations are capped per hour (``PER_HOUR``); past the cap a file waits (it is not
  marked as seen, so a later rescan tries it again) and status says why.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from daemon.core.backup_format import Header, KdfParams, MasterKeys
from daemon.errors import KdfBudgetSpent, WrongPassphrase
from daemon.state import read_json, write_json

PER_HOUR = 8
_HOUR = 3600.0
MAX_KNOWN = 256


def salt_digest(salt: bytes, params: KdfParams) -> str:
    """A stable name for a (salt, parameters) pair; both are public (in every header)."""
    text = f"{salt.hex()}:{params.memory_kib}:{params.iterations}:{params.lanes}"
    return hashlib.sha256(text.encode("ascii")).hexdigest()


class KdfBudget:
    """Decides, before a file is opened, whether deriving its key is affordable."""

    def __init__(
        self,
        keys: MasterKeys,
        state_dir: Path,
        *,
        per_hour: int = PER_HOUR,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.keys, self.per_hour, self._clock = keys, per_hour, clock
        self._file = state_dir / "known_kdf.json"
        self._failed: set[str] = set()
        self._spent: deque[float] = deque()
        self._lock = threading.Lock()

    def _known(self) -> list[str]:
        doc = read_json(self._file, [])
        return [d for d in doc if isinstance(d, str)] if isinstance(doc, list) else []

    def check(self, header: Header) -> None:
        """Raise WrongPassphrase for a salt that failed before, KdfBudgetSpent when a fresh
        derivation is due and this hour's are used up; otherwise opening may proceed."""
        digest = salt_digest(header.kdf_salt, header.kdf)
        with self._lock:
            if digest in self._failed:
                raise WrongPassphrase(
                    "sealed with another passphrase (its key was derived and failed before)"
                )
            if self.keys.has(header.kdf_salt, header.kdf) or digest in self._known():
                return
            now = self._clock()
            while self._spent and now - self._spent[0] >= _HOUR:
                self._spent.popleft()
            if len(self._spent) >= self.per_hour:
                wait = _HOUR - (now - self._spent[0])
                raise KdfBudgetSpent(
                    f"waits: {self.per_hour} new keys were derived for files in the sync folder"
                    f" this hour (each costs up to a second and 1 GiB); next try in"
                    f" {max(1, round(wait / 60))} min"
                )
            self._spent.append(now)

    def known(self, header: Header) -> bool:
        """Whether the file's (salt, parameters) opened here before (with any passphrase)."""
        return salt_digest(header.kdf_salt, header.kdf) in self._known()

    def opened(self, header: Header) -> None:
        """The file's key checked out: its salt is free from now on."""
        digest = salt_digest(header.kdf_salt, header.kdf)
        known = self._known()
        if digest not in known:
            write_json(self._file, [*known, digest][-MAX_KNOWN:])

    def failed(self, header: Header) -> None:
        """The derived key did not match: never derive for this salt again (this process,
        this passphrase)."""
        with self._lock:
            self._failed.add(salt_digest(header.kdf_salt, header.kdf))
