"""Where otpsync keeps things: the platform's dirs, or everything under one home.

``--home DIR`` or ``OTPSYNC_HOME`` puts config, vault and state under DIR, so several
"devices" can live on one machine and tests never touch the real home.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP = "otpsync"


@dataclass(frozen=True, slots=True)
class Paths:
    config_dir: Path
    data_dir: Path
    state_dir: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike[str] | None = None) -> Paths:
        """``home`` (from --home), else $OTPSYNC_HOME, else the platform's user dirs."""
        chosen = home or os.environ.get("OTPSYNC_HOME")
        if chosen:
            base = Path(chosen).expanduser().absolute()
            return cls(base, base / "data", base / "state")
        return cls(
            Path(platformdirs.user_config_dir(APP, appauthor=False)),
            Path(platformdirs.user_data_dir(APP, appauthor=False)),
            Path(platformdirs.user_state_dir(APP, appauthor=False)),
        )

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def vault_file(self) -> Path:
        return self.data_dir / "vault.4otp.txt"

    @property
    def snapshots_dir(self) -> Path:
        return self.data_dir / "snapshots"

    @property
    def vault_lock(self) -> Path:
        return self.data_dir / "vault.lock"
