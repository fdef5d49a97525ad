"""Every error otpsync raises on purpose, in one place.

Each carries a message written for the person at the keyboard; the CLI prints it as one
``otpsync: error: …`` line and the tray shows it. Anything that is not an ``OtpsyncError``
is a bug, and is reported as one.
"""

from __future__ import annotations

from typing import Self


class OtpsyncError(Exception):
    """Base class: a problem we can explain in one line."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def located(self, where: object) -> Self:
        """The same error, prefixed with the file or place it is about."""
        return type(self)(f"{where}: {self.message}")


class UsageError(OtpsyncError):
    """The command line itself is wrong."""

    exit_code = 2


class InvalidAccount(OtpsyncError):
    """An otpauth URI or account parameter that cannot make codes."""


class ConfigError(OtpsyncError):
    """config.toml is missing a key, has a bad value or is not TOML."""


class PassphraseUnavailable(OtpsyncError):
    """No passphrase source gave us a passphrase."""


class NoVault(OtpsyncError):
    """There is no vault yet under this home."""


class VaultExists(OtpsyncError):
    """``init`` would overwrite an existing vault or config."""


class VaultBusy(OtpsyncError):
    """Another otpsync process holds the vault lock for too long."""


class NothingToUndo(OtpsyncError):
    """No snapshot is left to restore."""


class NoSuchAccount(OtpsyncError):
    """A query or id that matches no code (or more than one, where one is needed)."""


class DuplicateAccount(OtpsyncError):
    """``add`` of a code the vault already holds."""


class FileMissing(OtpsyncError):
    """A file or folder the person named does not exist."""


class WouldOverwrite(OtpsyncError):
    """A named output file already exists; otpsync never overwrites one."""


class WriteFailed(OtpsyncError):
    """The OS refused a write (permissions, full disk, vanished folder)."""


class NotAFile(OtpsyncError):
    """A path that is not a regular file (a FIFO, a device, a folder), or a symbolic link
    out of the folder it was found in: never opened for reading, never waited on."""


class ReadFailed(OtpsyncError):
    """The OS refused a read (permissions, I/O error)."""


# --- reading a backup or vault file; every one is raised before anything is written ---------


class BackupError(OtpsyncError):
    """A backup or vault file that cannot be opened."""


class NotABackup(BackupError):
    """The file does not start with the otpsync magic line."""


class UnsupportedVersion(BackupError):
    """An otpsync file of a format version this build does not read."""


class FileTooLarge(BackupError):
    """Larger than the size cap; refused before reading it."""


class TruncatedFile(BackupError):
    """The file ends before its end line: cut short, or still arriving."""


class DamagedFile(BackupError):
    """Checksum, header syntax, or authentication failed: damaged or tampered with."""


class KdfOutOfBounds(BackupError):
    """KDF parameters we refuse to spend on (e.g. 4 GiB of Argon2 memory)."""


class WrongPassphrase(BackupError):
    """The file is intact, but our passphrase does not open it."""


class KdfBudgetSpent(BackupError):
    """Opening the file needs a fresh Argon2 run, and this hour's are used up: it waits."""


# --- importing another authenticator app's export; raised before anything is written -------


class UnknownFormat(BackupError):
    """No importer recognises the file's content (or the named format does not exist)."""


class ImportFailed(BackupError):
    """The file looks like the named format but is malformed: bad JSON, missing field, …"""


class UnsupportedImport(ImportFailed):
    """A real export that otpsync cannot read (e.g. needs crypto we do not ship)."""


class PasswordRequired(BackupError):
    """The export is encrypted and no password was given."""


class UnexpectedlyPlain(BackupError):
    """A file that should be encrypted (its source has a password) but is not."""


class AlreadyRunning(OtpsyncError):
    """Another ``otpsync run`` holds this home's daemon lock."""
