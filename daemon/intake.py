"""Backups from the person's other devices (and from their other apps): look, queue, decide.

Each file in the sync folder is looked at once (by content hash). What it *offers* — a
device, a time, some accounts — is planned against the vault; only an offer that brings
something new is queued, one entry per source, with an encrypted copy kept in the inbox so
approval works after the sync client removed the original. ``Service`` mixes this in.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING

from daemon.config import WatchSource
from daemon.core import backup_format, merge, payload, removals
from daemon.core.accounts import Account, Tombstone, utcnow
from daemon.core.backup_format import Header
from daemon.core.durations import format_duration
from daemon.core.merge import Change, MergePlan
from daemon.core.payload import VaultData
from daemon.errors import (
    BackupError,
    DamagedFile,
    FileMissing,
    FileTooLarge,
    KdfBudgetSpent,
    KdfOutOfBounds,
    NotABackup,
    NotAFile,
    OtpsyncError,
    PassphraseUnavailable,
    PasswordRequired,
    ReadFailed,
    TruncatedFile,
    UnexpectedlyPlain,
    UnknownFormat,
    UnsupportedVersion,
    WrongPassphrase,
)
from daemon.fsutil import read_bounded, read_head
from daemon.inbox import PendingEntry
from daemon.other_passphrase import OtherPassphrase, notice
from daemon.passphrase import source_password
from daemon.state import file_stamp, now_text, time_of

if TYPE_CHECKING:
    from daemon import importers
    from daemon.service import Exported, Service

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Offer:
    """What one file offers: whose it is, when it was made, and its codes."""

    device: str
    device_id: str
    created: str  # ISO 8601 UTC, to the second
    accounts: tuple[Account, ...]
    skipped: tuple[importers.Skipped, ...] = ()  # another app's entries otpsync cannot make
    seq: int = 0  # the device's sequence number (0: none)
    weak_kdf: bool = False  # sealed below the floor writers must use (KdfParams.weak)
    tombstones: tuple[Tombstone, ...] = ()  # the codes that device removed


@dataclass(frozen=True, slots=True)
class Outcome:
    """What looking at one file in the sync folder came to."""

    kind: str  # queued, superseded, nothing-new, own, seen, not-backup, retry, damaged,
    #            wrong-passphrase, unreadable (not a regular file: never opened), forged,
    #            identity-clash, deferred (KDF budget)
    path: Path
    message: str = ""
    entry: PendingEntry | None = None
    plan: MergePlan | None = None
    renotify: bool = True


@dataclass(frozen=True, slots=True)
class PendingView:
    """A queued backup and what it would change in the vault as it is now."""

    entry: PendingEntry
    plan: MergePlan
    removed: tuple[Account, ...] = ()  # codes here that device removed (offered, not applied)

    def offered(self) -> list[Change]:
        return self.plan.of("new") + self.plan.of("updated")

    def to_json(self) -> dict[str, object]:
        counts = self.plan.counts()
        return {
            "id": self.entry.id,
            "device": self.entry.device,
            "device_id": self.entry.device_id,
            "created": self.entry.created,
            "file": self.entry.file,
            "total": counts["total"],
            "new": counts["new"],
            "updated": counts["updated"],
            "entries": [
                {"issuer": c.incoming.issuer, "account": c.incoming.account, "change": c.kind}
                for c in self.offered()
            ],
            "removed": [
                {"issuer": a.issuer, "account": a.account, "id": a.id} for a in self.removed
            ],
        }


@dataclass(frozen=True, slots=True)
class Approved:
    entry: PendingEntry
    added: tuple[Account, ...]
    updated: tuple[Account, ...]
    exported: Exported | None
    export_error: str | None
    removed: tuple[Account, ...] = ()  # removed here too (--with-removals)
    declined: tuple[Account, ...] = ()  # that device's removals turned down: codes kept


RECENT = 60.0  # seconds: a truncated file changed this recently may still be arriving


def explain_truncation(exc: OtpsyncError, path: Path, read: int) -> OtpsyncError:
    """A truncated file, said as what happened: still growing (bigger now than what was
    read), changed moments ago (may still be arriving), or long unchanged (cut short)."""
    if not isinstance(exc, TruncatedFile):
        return exc
    try:
        st = path.stat()
    except OSError:
        return exc
    if st.st_size != read:
        why = "it is still growing: being written or downloaded; try again once it is complete"
    elif (age := time.time() - st.st_mtime) < RECENT:
        why = f"it changed {format_duration(age)} ago, so it may still be arriving"
    else:
        why = f"it has not changed for {format_duration(age)}, so it was cut short: copy it again"
    return TruncatedFile(f"{exc.message}; {why}")


def describe_claims(device: str, claims: dict[str, list[str]]) -> list[str]:
    """One line per kind of file that claims this device's id but is not its own."""
    lines = []
    if forged := claims.get("forged"):
        n = len(forged)
        lines.append(
            f"{n} file{'s' if n != 1 else ''} claim{'' if n != 1 else 's'} to come from"
            f" {device} but it did not write {'them' if n != 1 else 'it'}"
        )
    if claims.get("identity-clash"):
        lines.append(
            f"another machine uses {device}'s identity: pruning stopped; run"
            " `otpsync init --new-identity` on one of them"
        )
    return lines


def weak_writer_message(device: str) -> str:
    return f"{device} writes weakly protected backups: raise [kdf] there"


def source_device_id(source: WatchSource) -> str:
    """A stable UUID for another app's backups, so rejections work as for a device."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"otpsync:watch-source:{source.name}"))


def _offer_keys(plan: MergePlan, removed: Iterable[Account] = ()) -> set[tuple[str, str]]:
    """What a plan offers, comparable across backups: (change, code fingerprint) pairs."""
    keys = {(c.kind, c.incoming.fingerprint()) for c in plan.changes if c.kind != "present"}
    return keys | {("removed", a.fingerprint()) for a in removed}


def _removed(vault: VaultData, offer: Offer) -> tuple[Account, ...]:
    """The codes here that the offering device removed since (offered, never applied)."""
    return tuple(a for a, _ in removals.offered(vault, offer.tombstones, offer.device_id))


class Intake:
    """The part of ``Service`` that handles what arrives in the sync folder."""

    # (vault file stamp, vault) of the last look at an incoming file; see _vault_now.
    _vault_seen: tuple[tuple[int, int, int], VaultData] | None = None
    # What each queued copy offers, by its content hash: the tray's refresh after every
    # queued file would otherwise decrypt every queued copy again.
    _entry_offers: dict[str, Offer]

    def _vault_now(self: Service) -> VaultData:
        """The vault, decrypted again only when its file changed (size, mtime, inode): a
        burst of 500 incoming files costs one decryption, not 500, and a change the CLI
        made meanwhile is still seen at once."""
        stamp = file_stamp(self.paths.vault_file)
        if stamp is None:
            return self.vault()  # raises the right error
        if self._vault_seen is None or self._vault_seen[0] != stamp:
            self._vault_seen = (stamp, self.vault())
        return self._vault_seen[1]

    def source_for(self: Service, name: str) -> WatchSource | None:
        """The configured other app whose automatic backups are named like ``name``."""
        return next((s for s in self.config.watch.sources if fnmatch(name, s.pattern)), None)

    # --- looking at a file --------------------------------------------------------------------

    def consider(self: Service, path: Path, *, final: bool = True) -> Outcome:
        """Look at one file in the sync folder and queue it if it brings anything new.

        Cheap checks first (size, hash already seen, header, own device); only then the
        decryption, with the cached key. ``final=False`` means a file that does not open may
        still be arriving: answer "retry" instead of reporting it.
        """
        try:
            data = read_bounded(path, backup_format.MAX_FILE_BYTES, within=self.config.sync_folder)
        except FileTooLarge as exc:
            return Outcome("not-backup", path, str(exc))
        except NotAFile as exc:  # a FIFO, a device, a link out of the folder: never waited on
            return Outcome("unreadable", path, str(exc))
        except (FileMissing, ReadFailed) as exc:
            return Outcome("retry" if not final else "damaged", path, str(exc))
        sha = hashlib.sha256(data).hexdigest()
        seen = self.state.seen(sha)
        if seen and seen != "queued":
            return Outcome("seen", path)
        if self.inbox.holds(sha):  # queued already (seen.json may have been lost)
            if seen is None:
                self.state.mark_seen(sha, "queued", str(path))
            return Outcome("seen", path)
        if seen == "queued":  # but the queue lost it (index or copy gone): look again
            log.info("%s was queued but is no longer in the queue; looking at it again", path.name)

        def settle(kind: str, message: str = "") -> Outcome:
            self.state.mark_seen(sha, kind, str(path))
            return Outcome(kind, path, message)

        def retry_or_damaged(exc: OtpsyncError) -> Outcome:
            exc = explain_truncation(exc, path, len(data))
            if not final:
                return Outcome("retry", path, str(exc.located(path)))
            return settle("damaged", str(exc.located(path)))

        source = self.source_for(path.name)
        vault = self._vault_now()
        sender = source.name if source else "another device"
        try:
            if source is not None:
                offer = self._source_offer(data, source, path)
            else:
                header = backup_format.read_header(data)
                if header.device_id == vault.device_id:
                    return settle(*self._own_claim(path, data, sha, header))
                sender = header.device
                if header.device_id in self.state.forgotten():
                    return settle("forgotten")  # `otpsync devices forget`: never offered
                if self._superseded(header):
                    return settle("superseded")
                offer = self._backup_offer(data)
                self._note_kdf(offer)
        except KdfBudgetSpent as exc:
            return Outcome("deferred", path, str(exc.located(path)))
        except NotABackup:
            return settle("not-backup")
        except (UnsupportedVersion, KdfOutOfBounds, PasswordRequired, UnexpectedlyPlain) as exc:
            return settle("damaged", str(exc.located(path)))
        except WrongPassphrase:
            if source is None and self._known_device(header):
                self.other_passphrase.noticed(header.device_id, header.device)
                return settle("other-passphrase", f"{path}: {notice(header.device)}")
            why = (
                f"the password{' or key_file' if source.key_file else ''} configured for"
                f" [[watch.sources]] {sender!r} does not open it"
                if source
                else f"backup from {sender} was sealed with another passphrase; all your"
                " devices must use the same one"
            )
            return settle("wrong-passphrase", f"{path}: {why}")
        except (TruncatedFile, DamagedFile, BackupError) as exc:
            return retry_or_damaged(exc)
        if offer.skipped:  # once per file: the content hash is marked seen below
            log.warning(
                "%s: %d not imported: %s",
                path,
                len(offer.skipped),
                "; ".join(s.shown() for s in offer.skipped),
            )
        plan = merge.plan(vault, offer.accounts, source=offer.device_id)
        if not plan.has_changes and not _removed(vault, offer):
            return settle("nothing-new")
        outcome = self._queue(path, data, sha, offer, plan, vault, source)
        self.state.mark_seen(sha, outcome.kind, str(path))
        return outcome

    def _backup_offer(self: Service, data: bytes) -> Offer:
        header, incoming = self._open_budgeted(data)
        created = backup_format.format_time(header.created)
        codes = incoming.accounts
        self.other_passphrase.opened(header.device_id)
        kdf = {"memory_kib": header.kdf.memory_kib, "iterations": header.kdf.iterations,
               "lanes": header.kdf.lanes}  # fmt: skip
        self.state.device_seen(
            header.device_id, header.device, header.seq, created, len(codes), kdf
        )
        return Offer(
            header.device, header.device_id, created, codes, seq=header.seq,
            weak_kdf=header.kdf.weak, tombstones=incoming.tombstones,
        )  # fmt: skip

    def _open_budgeted(self: Service, data: bytes) -> tuple[Header, VaultData]:
        """Open a file from the folder with our passphrase, spending Argon2 only within the
        KDF budget (daemon/kdf_budget.py). Raises KdfBudgetSpent when it must wait."""
        budget = self.kdf_budget
        claimed = backup_format.read_header(data)
        budget.check(claimed)
        try:
            header, raw = backup_format.open_sealed(data, self.store.keys)
        except WrongPassphrase:
            budget.failed(claimed)
            raise
        budget.opened(header)
        return header, payload.decode(raw, expect_device_id=header.device_id)

    @property
    def other_passphrase(self: Service) -> OtherPassphrase:
        return OtherPassphrase(self.paths.state_dir)

    def _known_device(self: Service, header: Header) -> bool:
        """A device of ours: one whose backup opened here before, or under a salt that did."""
        return header.device_id in self.state.devices() or self.kdf_budget.known(header)

    def _superseded(self: Service, header: Header) -> bool:
        """A backup older than one of its device's already opened: nothing it could offer
        counts (the newer one carries the device's codes *and* its removals). Judged on the
        header's claim before spending anything: a file that lies low only skips itself."""
        known = self.state.devices().get(header.device_id)
        return known is not None and header.seq < int(known.get("seq", 0))

    def consider_all(
        self: Service,
        paths: list[tuple[Path, bool]],
        failed: Callable[[Path, Exception], None] | None = None,
    ) -> Iterator[Outcome]:
        """``consider`` for many files, each device's newest first (by the sequence number
        its header claims): once that one opened, its older backups are superseded without
        being decrypted, so a start-up scan costs one decryption per device, not per file.
        Outcomes come one by one, as each file is looked at.

        ``failed(path, exc)``: a file that raises (a full disk: its queue copy cannot be
        written) is handed to it and the others are still looked at; without it, it raises."""
        folder = self.config.sync_folder
        peeked: list[tuple[int, tuple[int, str], tuple[Path, bool]]] = []
        first_seen: dict[object, int] = {}
        for index, item in enumerate(paths):
            claim = backup_format.peek_order(
                read_head(item[0], backup_format.PEEK_BYTES, within=folder)
            )
            group = first_seen.setdefault(claim[0] if claim else index, index)
            peeked.append((group, (claim[1], claim[2]) if claim else (0, ""), item))
        # Devices in the order their files arrived; within one, the highest number (then the
        # latest time) first: two stable sorts.
        peeked.sort(key=lambda entry: entry[1], reverse=True)
        peeked.sort(key=lambda entry: entry[0])
        ordered = [item for _, _, item in peeked]
        with self.state.batched_seen():
            for path, final in ordered:
                try:
                    outcome = self.consider(path, final=final)
                except Exception as exc:
                    if failed is None:
                        raise
                    failed(path, exc)
                    continue
                yield outcome

    # --- files that claim to be this device's ---------------------------------------------

    def _own_claim(
        self: Service, path: Path, data: bytes, sha: str, header: Header
    ) -> tuple[str, str]:
        """(outcome kind, message) for a file whose header carries this device's id.

        Only a file in the ledger is this device's own. Anything else that authenticates under
        our passphrase with our id inside was written by another machine using this identity;
        anything that does not is a forgery. Neither is ever counted, pruned or queued.
        """
        ledger = self.ledger
        if ledger.wrote(sha):
            return "own", ""
        try:
            _, opened = self._open_budgeted(data)
        except KdfBudgetSpent:
            raise
        except BackupError:
            opened = None
        if opened is None or opened.device_id != header.device_id:
            return "forged", (
                f"{path} claims to come from {header.device}, but this device did not write it"
                " (it does not open with this device's key): ignored, never pruned"
            )
        if not ledger.exists():  # a home from before the ledger: its own files, adopted
            ledger.record(path.name, sha)
            return "own", ""
        return "identity-clash", (
            f"{path} is sealed with your passphrase under this device's identity, but this"
            " device did not write it: another machine uses the same identity (a copied"
            " home?). Pruning stops until it is fixed: run `otpsync init --new-identity` on"
            " one of the two machines"
        )

    def own_claims(self: Service) -> dict[str, list[str]]:
        """Files still in the folder that claim this device's id but are not its own:
        ``{"forged": [...], "identity-clash": [...]}`` (paths), from what was looked at."""
        found: dict[str, list[str]] = {"forged": [], "identity-clash": []}
        for kind, file in self.state.seen_of(tuple(found)):
            if Path(file).exists():
                found[kind].append(file)
        return {kind: sorted(set(files)) for kind, files in found.items()}

    def _note_kdf(self: Service, offer: Offer) -> None:
        """Readers open weaker files, but say once per device that its [kdf] is below the
        floor: the passphrase is shared, so its files are where guessing is cheapest."""
        known = self.state.weak_writers()
        if offer.weak_kdf and known.get(offer.device_id) != offer.device:
            log.warning("%s", weak_writer_message(offer.device))
            self.state.set_weak_writer(offer.device_id, offer.device)
        elif not offer.weak_kdf and offer.device_id in known:
            self.state.set_weak_writer(offer.device_id, None)

    def _source_offer(
        self: Service, data: bytes, source: WatchSource, path: Path, *, queued: bool = False
    ) -> Offer:
        """Another app's automatic backup: its importer, its own password, the file's mtime.
        Entries otpsync cannot make come back in ``skipped``; the rest are offered.
        ``queued``: a copy an earlier otpsync queued as it came (the person approves it)."""
        importer, password = self._source_importer(data, source)
        encrypted = password is not None or importer.encrypted(data)
        key_file = self._source_key_file(source) if importer.read_keyed else None
        has_password = (
            source.password_command or source.password_file or source.keyring or source.key_file
        )
        if not encrypted and has_password and not queued:
            # The app writes encrypted backups here; a plain one is someone else's doing (and
            # would bring codes nobody had to know a password for).
            raise UnexpectedlyPlain(
                f"is not encrypted, but [[watch.sources]] {source.name!r} has a password"
                " configured: refusing it (the app writes encrypted backups; anyone who can"
                " write to the sync folder may have put this one there)"
            )
        if password is None and encrypted:
            password = source_password(source)
            if password is None and key_file is None:
                raise PasswordRequired(
                    f"is an encrypted {importer.title}: set password_command or password_file"
                    f"{' (or key_file)' if importer.read_keyed else ''}"
                    f" for [[watch.sources]] {source.name!r}"
                )
        result = importer.parse(data, password, key_file)
        try:
            mtime = backup_format.format_time(datetime.fromtimestamp(path.stat().st_mtime, UTC))
        except OSError:
            mtime = now_text()
        return Offer(
            source.name, source_device_id(source), mtime, result.accounts, skipped=result.skipped
        )

    @staticmethod
    def _source_importer(data: bytes, source: WatchSource) -> tuple[importers.Importer, str | None]:
        """The source's format, or the one its content shows. A file nothing claims may be an
        old andOTP backup (no header): then the source's password is asked and tried."""
        from daemon import importers  # imported when needed: an idle tray has no use for it

        if source.format != "auto":
            return importers.get(source.format), None
        try:
            return importers.get(importers.detect(data)), None
        except UnknownFormat:
            password = source_password(source)
            if password is None:
                raise
            return importers.get(importers.detect(data, password)), password

    def _source_key_file(self: Service, source: WatchSource) -> bytes | None:
        """The KeePass key file a source names, read like its password_file would be."""
        if source.key_file is None:
            return None
        try:
            return self.read_key_file(source.key_file)
        except (FileMissing, FileTooLarge) as exc:
            raise PassphraseUnavailable(
                f"key_file of [[watch.sources]] {source.name!r}: {exc.message}"
            ) from None

    def _queue(
        self: Service,
        path: Path,
        data: bytes,
        sha: str,
        offer: Offer,
        plan: MergePlan,
        vault: VaultData,
        source: WatchSource | None,
    ) -> Outcome:
        """Queue an offer that brings something new, replacing its source's older entry.

        The entry it replaces is planned *before* the replacement deletes its copy: a newer
        backup offering the same codes is no news (``renotify`` False), and on a tie of
        times the one offering something the other does not wins.
        """
        queued = self.inbox.queued_from(offer.device_id)
        if queued is not None and queued.order > (offer.seq, time_of(offer.created)):
            return Outcome("superseded", path)  # (put checks again, under the lock)
        offer_keys = _offer_keys(plan, _removed(vault, offer))
        queued_offer = self._offer_of(queued, vault) if queued else set()

        def wins_tie(old: PendingEntry) -> bool:
            known = queued_offer if queued and old.id == queued.id else self._offer_of(old, vault)
            return not offer_keys <= known

        entry, replaced = self.inbox.put(
            device=offer.device, device_id=offer.device_id, created=offer.created,
            file=str(path), sha256=sha, queued=now_text(), wins_tie=wins_tie,
            data=data if source is None else self._sealed_copy(offer),
            source=source.name if source else "", seq=offer.seq,
        )  # fmt: skip
        if entry is None:
            return Outcome("superseded", path)
        if replaced is not None and replaced.sha256 != sha:
            # No longer "queued": a lost queue must not bring an older backup back.
            self.state.mark_seen(replaced.sha256, "superseded", replaced.file)
        if source is None:  # the copy is these very bytes: no need to decrypt them again
            self._entry_offers[sha] = offer
        renotify = replaced is None or queued is None or replaced.id != queued.id
        return Outcome("queued", path, entry=entry, plan=plan,
                       renotify=renotify or offer_keys != queued_offer)  # fmt: skip

    def _sealed_copy(self: Service, offer: Offer) -> bytes:
        """Another app's backup as the queue keeps it: sealed in our own format with our
        passphrase. Its file may be plain JSON (the queue must hold no plaintext secret), and
        its own password may come from a command that asks the person each time."""
        created = time_of(offer.created)
        vault = VaultData(offer.device_id, offer.device, created, offer.accounts)
        return self.store.seal(
            vault, kind="backup", device=offer.device, created=created, seq=offer.seq
        )

    # --- the queue ------------------------------------------------------------------------------

    def _open_entry(self: Service, entry: PendingEntry) -> Offer:
        """What a queued entry's copy offers (raises if it is gone or no longer opens)."""
        copy = self.inbox.dir / entry.copy
        try:
            data = read_bounded(copy, backup_format.MAX_FILE_BYTES, within=self.inbox.dir)
        except FileMissing:
            raise FileMissing(f"pending import {entry.id}: its copy is gone") from None
        except OtpsyncError as exc:
            raise FileMissing(f"pending import {entry.id}: its copy: {exc}") from None
        digest = hashlib.sha256(data).hexdigest()
        if (cached := self._entry_offers.get(digest)) is not None:
            return cached
        offer = self._open_copy(entry, copy, data)
        if len(self._entry_offers) >= 256:
            self._entry_offers.clear()
        self._entry_offers[digest] = offer
        return offer

    def _open_copy(self: Service, entry: PendingEntry, copy: Path, data: bytes) -> Offer:
        try:
            if entry.source and not data.startswith(backup_format.MAGIC_BYTES):
                # queued before copies were re-sealed: the other app's file as it came
                source = next(s for s in self.config.watch.sources if s.name == entry.source)
                return self._source_offer(data, source, copy, queued=True)
            return self._backup_offer(data)
        except StopIteration:
            raise FileMissing(
                f"pending import {entry.id}: [[watch.sources]] {entry.source!r} is no longer"
                " configured"
            ) from None
        except BackupError as exc:
            raise exc.located(copy) from None

    def _offer_of(self: Service, entry: PendingEntry, vault: VaultData) -> set[tuple[str, str]]:
        """What a queued entry offers against ``vault`` (nothing, if its copy is unreadable)."""
        try:
            offer = self._open_entry(entry)
        except OtpsyncError:
            return set()
        plan = merge.plan(vault, offer.accounts, source=offer.device_id)
        return _offer_keys(plan, _removed(vault, offer))

    def pending(self: Service) -> list[PendingView]:
        """The queue, each entry planned against the vault as it is now. Entries that no
        longer bring anything (merged another way meanwhile) leave the queue here."""
        vault = self._vault_now()
        views = []
        for entry in self.inbox.entries():
            try:
                offer = self._open_entry(entry)
            except OtpsyncError as exc:
                log.warning("dropping pending import %s: %s", entry.id, exc)
                self.inbox.remove(entry.id)
                self.state.forget_mark(entry.sha256)  # the next scan queues it again
                continue
            plan = merge.plan(vault, offer.accounts, source=offer.device_id)
            removed = _removed(vault, offer)
            if not plan.has_changes and not removed:
                self.inbox.remove(entry.id)
                self.state.mark_seen(entry.sha256, "nothing-new", entry.file)
                continue
            views.append(PendingView(entry, plan, removed))
        return views

    def approve(self: Service, entry_id: str, *, with_removals: bool = False) -> Approved:
        """Snapshot, merge, save, then export, so the union reaches the other devices. The
        codes that device removed are declined (kept, not offered again) unless
        ``with_removals``: then they are removed here too."""
        entry = self.inbox.get(entry_id)
        offer = self._open_entry(entry)
        plans: list[MergePlan] = []
        gone: list[tuple[Account, Tombstone]] = []

        def change(v: VaultData) -> VaultData:
            plans.append(merge.plan(v, offer.accounts, source=offer.device_id))
            gone[:] = removals.offered(v, offer.tombstones, offer.device_id)
            merged = merge.apply(v, plans[-1])
            if with_removals:
                return removals.apply(merged, gone, utcnow())
            return removals.decline(merged, gone, offer.device_id)

        self._change("approve", change)
        self.inbox.remove(entry.id)
        self.state.mark_seen(entry.sha256, "merged", entry.file)
        plan = plans[-1]
        exported, error = None, None
        if plan.has_changes or (with_removals and gone):
            try:
                exported = self.export()
            except OtpsyncError as exc:
                error = str(exc)
                log.warning("merged, but the export after it failed: %s", exc)
        return Approved(
            entry,
            tuple(c.incoming for c in plan.of("new")),
            tuple(c.incoming for c in plan.of("updated")),
            exported,
            error,
            tuple(a for a, _ in gone) if with_removals else (),
            () if with_removals else tuple(a for a, _ in gone),
        )

    def reject(self: Service, entry_id: str) -> PendingView:
        """Turn a pending import down; its codes are not offered again by that source."""
        entry = self.inbox.get(entry_id)
        offer = self._open_entry(entry)
        plans: list[MergePlan] = []

        def change(v: VaultData) -> VaultData:
            plans.append(merge.plan(v, offer.accounts, source=offer.device_id))
            gone = removals.offered(v, offer.tombstones, offer.device_id)
            rejected = merge.reject(v, plans[-1], offer.device_id)
            return removals.decline(rejected, gone, offer.device_id)

        self._change("reject", change)
        self.inbox.remove(entry.id)
        self.state.mark_seen(entry.sha256, "rejected", entry.file)
        return PendingView(entry, plans[-1])

    def scan_once(self: Service) -> list[Outcome]:
        """What the daemon's watcher does, once: every candidate in the sync folder."""
        from daemon.watcher import scan

        folder = self.config.sync_folder
        if not folder.is_dir():
            raise FileMissing(f"sync folder {folder} does not exist")
        patterns = tuple(s.pattern for s in self.config.watch.sources)
        self.pending()  # drops entries whose copy is gone or damaged, so they are queued again
        # everything named like a backup, FIFOs and links out included: each gets its line
        found = scan(folder, self.config.watch.recursive, patterns, only_files=False)
        return list(self.consider_all([(p, True) for p in found]))
