"""`init` and `autostart`: setting up this device."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

from daemon.cli.common import ask, confirm, interactive, log, say
from daemon.config import check_device_name, device_slug
from daemon.errors import OtpsyncError, UsageError
from daemon.passphrase import keyring_available, store_in_keyring
from daemon.service import Service


def _detect_sync_folder() -> Path | None:
    home = Path.home()
    for name in (
        "Dropbox",
        "OneDrive",
        "Google Drive",
        "My Drive",
        "Sync",
        "Nextcloud",
        "pCloudDrive",
        "Syncthing",
    ):
        if (home / name).is_dir():
            return home / name / "otpsync"
    return None


def cmd_init(svc: Service, args: argparse.Namespace) -> int:
    if args.new_identity:
        return _new_identity(svc, args)
    device, folder = args.device, args.sync_folder
    written = svc.prewritten_settings() if not svc.paths.vault_file.exists() else {}
    device = device or written.get("device")
    folder = folder or written.get("sync_folder")
    if (device is None or folder is None) and interactive():
        if device is None:
            device = check_device_name(ask("Device name", device_slug(socket.gethostname())))
        if folder is None:
            detected = _detect_sync_folder()
            answer = ask(
                "Sync folder (a folder your cloud client syncs)", str(detected) if detected else ""
            )
            if not answer:
                raise UsageError("a sync folder is needed")
            folder = answer
    result = svc.init(
        None if device == written.get("device") else device,
        None if folder is None or folder == written.get("sync_folder") else Path(folder),
    )
    for warning in result.warnings:
        log.warning(warning)
    if (
        result.passphrase_source == "prompt"
        and keyring_available()
        and confirm("Remember the passphrase in the OS keyring?", default=True)
    ):
        if store_in_keyring(result.passphrase):
            print("Saved the passphrase in the OS keyring.", file=sys.stderr)
        else:
            log.warning("could not save the passphrase in the OS keyring")
    cfg = result.config
    print(f"Set up otpsync for device {cfg.device!r}.")
    say(f"  config:      {svc.paths.config_file}")
    say(f"  vault:       {svc.paths.vault_file}")
    say(f"  sync folder: {cfg.sync_folder}")
    print("Next: `otpsync add -` (paste an otpauth:// URI) or `otpsync import FILE`;")
    print("then `otpsync run` keeps backups going (`otpsync autostart enable`: at login).")
    return 0


def _new_identity(svc: Service, args: argparse.Namespace) -> int:
    if args.device or args.sync_folder:
        raise UsageError("--new-identity keeps the device name and sync folder; leave them out")
    old_id, new_id, done = svc.new_identity()
    print(f"This machine is now device {new_id[:8]} (was {old_id[:8]}); the vault is unchanged.")
    if done is None:
        print("The sync folder is missing: the next backup will be written as the new device.")
        return 0
    print(f"Wrote a backup as the new device: {done.path}")
    if done.pruned:
        print(f"Removed the {len(done.pruned)} backups this machine wrote under the old id.")
    return 0


def cmd_autostart(svc: Service, args: argparse.Namespace) -> int:
    from daemon import autostart

    home = svc.paths.config_dir if (args.home or os.environ.get("OTPSYNC_HOME")) else None
    try:
        if args.action == "enable":
            if svc.passphrase_at_login() is None:  # also: refuses a home that is not set up
                log.warning(
                    "at login there is no terminal to ask for the passphrase: save it in the"
                    " OS keyring (`otpsync init` offers to) or set passphrase_command in"
                    " config.toml, or otpsync will not start"
                )
            print(f"otpsync will start at login: {autostart.enable(home)}")
        elif args.action == "disable":
            path = autostart.disable(home)
            print(f"Removed {path}" if path else "otpsync was not set to start at login.")
        else:
            path = autostart.current(home)
            print(f"enabled: {path}" if path else "disabled")
    except OSError as exc:
        raise OtpsyncError(f"autostart: {exc}") from None
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("init", help="set up this device: config and an empty vault")
    s.add_argument("--device", metavar="NAME", help="this device's name (default: hostname)")
    s.add_argument("--sync-folder", metavar="DIR", help="a folder your cloud client syncs")
    s.add_argument(
        "--new-identity",
        action="store_true",
        help="keep the vault, but give this machine a new device id (for a home copied from"
        " another machine)",
    )
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("autostart", help="start the tray at login (enable, disable, status)")
    s.add_argument("action", choices=["enable", "disable", "status"])
    s.set_defaults(func=cmd_autostart)
