"""Devices of ours whose newer backups no longer open with our passphrase.

A backup from a device this one knows (in ``state/devices.json``, or under a KDF salt that
opened before) that fails the key check is not damage, nor a stranger: that device changed
the passphrase. Nothing of it is deleted or rejected; status, ``pending`` and the tray say
so until this device changes to the same passphrase (after which its files are read again)
or one of that device's backups opens again. Kept in ``state/other_passphrase.json``
(device id → name; nothing secret).
"""

from __future__ import annotations

from pathlib import Path

from daemon.state import read_json, write_json


def notice(device: str) -> str:
    return (
        f"{device} now uses a different passphrase — run `otpsync passphrase change` here"
        " with the new one"
    )


class OtherPassphrase:
    def __init__(self, state_dir: Path) -> None:
        self.file = state_dir / "other_passphrase.json"

    def devices(self) -> dict[str, str]:
        doc = read_json(self.file, {})
        if not isinstance(doc, dict):
            return {}
        return {str(k): str(v) for k, v in doc.items() if isinstance(v, str)}

    def noticed(self, device_id: str, device: str) -> None:
        known = self.devices()
        if known.get(device_id) != device:
            write_json(self.file, {**known, device_id: device})

    def opened(self, device_id: str) -> None:
        known = self.devices()
        if device_id in known:
            del known[device_id]
            write_json(self.file, known)

    def clear(self) -> None:
        self.file.unlink(missing_ok=True)

    def notices(self) -> list[str]:
        return [notice(name) for name in sorted(self.devices().values())]
