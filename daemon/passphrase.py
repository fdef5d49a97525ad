"""Where the one passphrase comes from, in a fixed order, without ever putting it on argv.

1. $OTPSYNC_PASSPHRASE   2. --passphrase-file FILE   3. config passphrase_command
4. config passphrase_file   5. the OS keyring (if any)   6. a prompt, on a TTY only.
"""

from __future__ import annotations

import getpass
import logging
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from daemon.errors import PassphraseUnavailable

if TYPE_CHECKING:
    from daemon.config import WatchSource

log = logging.getLogger(__name__)

ENV_VAR = "OTPSYNC_PASSPHRASE"
KEYRING_SERVICE = "otpsync"
KEYRING_USER = "passphrase"
COMMAND_TIMEOUT = 120  # a password manager may wait for a touch or a PIN


@dataclass(frozen=True, slots=True)
class PassphraseSources:
    """The sources that apply to one run (the CLI's flag plus the config's settings)."""

    file: Path | None = None
    command: str = ""
    config_file: Path | None = None
    use_keyring: bool = True
    interactive: bool = True


# Environment variables that may hold a secret of ours: never passed on to a child process.
SECRET_ENV = (ENV_VAR,)


def child_env() -> dict[str, str]:
    """This process's environment without our secrets: for every command we run (password
    commands, clipboard tools, the file manager), which need not know the master passphrase
    and may log or pass on their environment."""
    return {k: v for k, v in os.environ.items() if k not in SECRET_ENV}


def _utf8(raw: bytes, what: str) -> str:
    """Passphrase bytes as text. Not valid UTF-8 is an error, never a silent replacement: a
    replaced character would derive another key than the same bytes on another device."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PassphraseUnavailable(
            f"the passphrase from {what} is not valid UTF-8; otpsync needs it as UTF-8 text"
        ) from None


def _strip_newline(text: str) -> str:
    return text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")


def _from_file(path: Path, what: str) -> str:
    try:
        mode = path.stat().st_mode
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PassphraseUnavailable(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise PassphraseUnavailable(f"cannot read {what} {path}: {exc.strerror}") from None
    if mode & 0o077:
        log.warning("%s %s is readable by others; chmod 600 it", what, path)
    return _strip_newline(_utf8(raw, f"{what} {path}"))


def _from_command(command: str, what: str = "passphrase_command") -> str:
    """Run ``command`` (no shell) and take its stdout, with none of our secrets in its
    environment."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise PassphraseUnavailable(f"{what} cannot be parsed: {exc}") from None
    if not argv:
        raise PassphraseUnavailable(f"{what} is empty")
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
            env=child_env(),
        )
    except FileNotFoundError:
        raise PassphraseUnavailable(f"{what}: {argv[0]} not found") from None
    except subprocess.TimeoutExpired:
        raise PassphraseUnavailable(f"{what} did not finish within {COMMAND_TIMEOUT} s") from None
    if done.returncode != 0:
        # Its stderr may say why (locked store…); its stdout may hold a secret: never shown.
        last = (done.stderr.decode("utf-8", "replace").strip().splitlines() or [""])[-1]
        why = f": {last[:200]}" if last else ""
        raise PassphraseUnavailable(f"{what} failed (exit {done.returncode}){why}")
    return _strip_newline(_utf8(done.stdout, what))


def _from_keyring() -> str | None:
    """The keyring's entry, or None where there is no keyring or no entry (headless boxes)."""
    try:
        import keyring

        return keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
    except Exception as exc:  # any backend failure means "no keyring here", never a crash
        log.debug("keyring unavailable: %s", type(exc).__name__)
        return None


def store_in_keyring(passphrase: str) -> bool:
    """Save the passphrase in the OS keyring; False where there is none."""
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, KEYRING_USER, passphrase)
    except Exception as exc:
        log.debug("keyring unavailable: %s", type(exc).__name__)
        return False
    return True


def _prompt(confirm: bool) -> str:
    first = getpass.getpass("otpsync passphrase: ")
    if confirm and getpass.getpass("repeat the passphrase: ") != first:
        raise PassphraseUnavailable("the two passphrases differ")
    return first


def get_passphrase(sources: PassphraseSources, *, confirm: bool = False) -> tuple[str, str]:
    """(passphrase, where it came from). ``confirm`` asks twice when prompting (``init``)."""
    found: tuple[str, str] | None = None
    if os.environ.get(ENV_VAR):
        found = os.environ[ENV_VAR], f"${ENV_VAR}"  # undecodable bytes: checked below
    elif sources.file is not None:
        found = _from_file(sources.file, "--passphrase-file"), "--passphrase-file"
    elif sources.command:
        found = _from_command(sources.command), "passphrase_command"
    elif sources.config_file is not None:
        found = _from_file(sources.config_file, "passphrase_file"), "passphrase_file"
    elif sources.use_keyring and (stored := _from_keyring()):
        found = stored, "the OS keyring"
    elif sources.interactive and sys.stdin.isatty():
        found = _prompt(confirm), "prompt"
    if found is None:
        raise PassphraseUnavailable(
            "no passphrase: set OTPSYNC_PASSPHRASE, pass --passphrase-file FILE, set"
            " passphrase_command or passphrase_file in config.toml, or run in a terminal"
        )
    if not found[0]:
        raise PassphraseUnavailable(f"the passphrase from {found[1]} is empty")
    try:
        # The environment (and a prompt) decode bytes that are not UTF-8 to lone surrogates.
        found[0].encode("utf-8")
    except UnicodeEncodeError:
        raise PassphraseUnavailable(f"the passphrase from {found[1]} is not valid UTF-8") from None
    return found


def source_at_login(sources: PassphraseSources) -> str | None:
    """Which source will give the passphrase to a process started at login (no terminal, no
    environment of ours, no flags), or None: then that process could not open the vault."""
    if sources.command:
        return "passphrase_command"
    if sources.config_file is not None:
        return "passphrase_file"
    if sources.use_keyring and _from_keyring():
        return "the OS keyring"
    return None


def keyring_available() -> bool:
    """Whether a real OS keyring backend is there to store into (not the "fail" stub)."""
    try:
        import keyring

        return keyring.get_keyring().priority > 0
    except Exception:
        return False


def source_password(source: WatchSource) -> str | None:
    """The password of another app's automatic backups ([[watch.sources]]): its command,
    its file, or the keyring entry "otpsync" / "source:NAME". None when none is set."""
    if source.password_command:
        return _from_command(source.password_command, f"password_command of {source.name}")
    if source.password_file is not None:
        return _from_file(source.password_file, f"password_file of {source.name}")
    if source.keyring:
        try:
            import keyring

            return keyring.get_password(KEYRING_SERVICE, f"source:{source.name}")
        except Exception as exc:
            log.debug("keyring unavailable: %s", type(exc).__name__)
    return None
