"""Starting ``otpsync run`` at login: an XDG autostart entry (Linux), a LaunchAgent (macOS),
a launcher in the Startup folder (Windows). Only the Linux entry is tested on this project's
machines; the other two are written to each platform's documented location and format.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from daemon.fsutil import ensure_private_dir, write_atomic

LABEL = "org.otpsync.tray"


@dataclass(frozen=True, slots=True)
class Entry:
    path: Path
    content: str


def command(home: Path | None) -> list[str]:
    """How to start the tray: this interpreter and module, so it works from any venv."""
    argv = [sys.executable, "-m", "daemon.cli"]
    if home is not None:
        argv += ["--home", str(home)]
    return [*argv, "run"]


def entry_for(platform: str, home: Path | None, env: dict[str, str] | None = None) -> Entry:
    env = dict(os.environ if env is None else env)
    argv = command(home)
    user_home = Path(env.get("HOME") or Path.home())
    if platform.startswith("linux"):
        base = Path(env.get("XDG_CONFIG_HOME") or user_home / ".config")
        return Entry(
            base / "autostart" / "otpsync.desktop",
            "[Desktop Entry]\n"
            "Type=Application\n"
            "Name=otpsync\n"
            "Comment=Keeps your 2FA codes backed up and in sync\n"
            f"Exec={shlex.join(argv)}\n"
            "Icon=security-high\n"
            "Terminal=false\n"
            "X-GNOME-Autostart-enabled=true\n",
        )
    if platform == "darwin":
        args = "".join(f"    <string>{a}</string>\n" for a in argv)
        return Entry(
            user_home / "Library" / "LaunchAgents" / f"{LABEL}.plist",
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN"'
            ' "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
            '<plist version="1.0">\n<dict>\n'
            f"  <key>Label</key><string>{LABEL}</string>\n"
            f"  <key>ProgramArguments</key>\n  <array>\n{args}  </array>\n"
            "  <key>RunAtLoad</key><true/>\n"
            "</dict>\n</plist>\n",
        )
    if platform == "win32":
        appdata = Path(env.get("APPDATA") or user_home / "AppData" / "Roaming")
        startup = appdata / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "Startup"
        pythonw = str(Path(sys.executable).with_name("pythonw.exe"))
        return Entry(
            startup / "otpsync.cmd",
            f'@start "" "{pythonw}" ' + " ".join(f'"{a}"' for a in argv[1:]) + "\r\n",
        )
    raise OSError(f"autostart is not supported on {platform}")


def enable(home: Path | None) -> Path:
    entry = entry_for(sys.platform, home)
    ensure_private_dir(entry.path.parent)
    write_atomic(entry.path, entry.content.encode("utf-8"))
    return entry.path


def disable(home: Path | None) -> Path | None:
    entry = entry_for(sys.platform, home)
    if entry.path.exists():
        entry.path.unlink()
        return entry.path
    return None


def current(home: Path | None) -> Path | None:
    entry = entry_for(sys.platform, home)
    return entry.path if entry.path.exists() else None
