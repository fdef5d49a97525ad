"""A keyring backend for subprocess tests: a JSON file named by $OTPSYNC_TEST_KEYRING_FILE.

Selected with ``PYTHON_KEYRING_BACKEND=tests.file_keyring.FileKeyring`` (keyring's own
switch), so otpsync's real keyring code runs against it; the machine's keyring is never
touched.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @property
    def _file(self) -> Path:
        return Path(os.environ["OTPSYNC_TEST_KEYRING_FILE"])

    def _all(self) -> dict[str, str]:
        try:
            return json.loads(self._file.read_text())
        except FileNotFoundError:
            return {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._all().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        self._file.write_text(json.dumps({**self._all(), f"{service}/{username}": password}))

    def delete_password(self, service: str, username: str) -> None:
        entries = self._all()
        entries.pop(f"{service}/{username}", None)
        self._file.write_text(json.dumps(entries))
