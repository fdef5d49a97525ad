"""Merging another device's codes into ours: plan first (for the person to see), then apply.

Rules (docs/architecture.md, "Merge"): two entries are the same code when they make the same
OTPs (``Account.identity``). New codes are added; codes removed here (tombstones) or rejected
before stay out unless asked for. Nothing is ever deleted and no HOTP counter is lowered. For
the same code, the newest metadata wins, ties broken by text, so the result is the same
whatever order backups arrive in, and merging the same backup twice changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from daemon.core.accounts import Account, Rejection
from daemon.core.payload import VaultData

ChangeKind = Literal["new", "present", "updated", "skipped"]


@dataclass(frozen=True, slots=True)
class Change:
    """What merging one incoming code would do here."""

    kind: ChangeKind
    incoming: Account
    local: Account | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class MergePlan:
    """The preview of a merge. ``apply`` re-matches against the vault it is given, so a plan
    made earlier still applies safely after the vault changed in between."""

    changes: tuple[Change, ...]
    include_deleted: bool = False

    def of(self, kind: ChangeKind) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    @property
    def total(self) -> int:
        return len(self.changes)

    def counts(self) -> dict[str, int]:
        """The figures of ``import --json``."""
        out = {"total": self.total}
        for kind in ("new", "present", "updated", "skipped"):
            out[kind] = len(self.of(kind))  # type: ignore[arg-type]
        return out

    @property
    def has_changes(self) -> bool:
        return any(c.kind in ("new", "updated") for c in self.changes)


def _merge_pair(mine: Account, theirs: Account) -> Account:
    """One code known twice: newest metadata, highest counter, earliest creation, our id."""
    winner = theirs if theirs.metadata_key() > mine.metadata_key() else mine
    return replace(
        mine,
        issuer=winner.issuer,
        account=winner.account,
        updated=winner.updated,
        counter=max(mine.counter, theirs.counter),
        created=min(mine.created, theirs.created),
    )


def _dedupe(accounts: Iterable[Account]) -> list[Account]:
    """Collapse entries of one file that are the same code, keeping first-seen order."""
    by_identity: dict[tuple, Account] = {}
    for acct in accounts:
        key = acct.identity()
        by_identity[key] = _merge_pair(by_identity[key], acct) if key in by_identity else acct
    return list(by_identity.values())


def _visible(a: Account) -> tuple[str, str, int]:
    return (a.issuer, a.account, a.counter)


def plan(
    local: VaultData,
    incoming: Iterable[Account],
    *,
    source: str | None = None,
    include_deleted: bool = False,
) -> MergePlan:
    """Classify each distinct incoming code as new, present, updated or skipped.

    ``source`` is the offering device's id: what the person rejected from it stays out.
    """
    mine = {a.identity(): a for a in local.accounts}
    removed = {t.fingerprint for t in local.tombstones}
    rejected = {
        r.fingerprint: r.version for r in local.rejected if r.source == source and r.kind == "code"
    }
    changes = []
    for theirs in _dedupe(incoming):
        here = mine.get(theirs.identity())
        if here is not None:
            merged = _merge_pair(here, theirs)
            turned_down = rejected.get(theirs.fingerprint())
            if _visible(merged) == _visible(here):
                changes.append(Change("present", theirs, here))
            elif turned_down is not None and theirs.updated <= turned_down:
                changes.append(Change("skipped", theirs, here, "rejected before"))
            else:
                reasons = []
                if (merged.issuer, merged.account) != (here.issuer, here.account):
                    reasons.append(f"renamed from {here.label}")
                if merged.counter != here.counter:
                    reasons.append(f"counter {here.counter} → {merged.counter}")
                changes.append(Change("updated", theirs, here, "; ".join(reasons)))
        elif theirs.fingerprint() in removed and not include_deleted:
            changes.append(Change("skipped", theirs, None, "removed here"))
        elif theirs.fingerprint() in rejected:
            changes.append(Change("skipped", theirs, None, "rejected before"))
        else:
            changes.append(Change("new", theirs))
    return MergePlan(tuple(changes), include_deleted)


def reject(local: VaultData, merge_plan: MergePlan, source: str) -> VaultData:
    """Remember the plan's new and updated codes as turned down for ``source``."""
    known = {(r.source, r.fingerprint, r.version) for r in local.rejected}
    added = []
    for change in merge_plan.changes:
        if change.kind not in ("new", "updated"):
            continue
        r = Rejection(source, change.incoming.fingerprint(), change.incoming.label,
                      change.incoming.updated)  # fmt: skip
        if (r.source, r.fingerprint, r.version) not in known:
            added.append(r)
    return replace(local, rejected=(*local.rejected, *added))


def apply(local: VaultData, merge_plan: MergePlan) -> VaultData:
    """The vault with the plan's non-skipped codes merged in. Never removes or lowers anything.

    Present codes are merged too: their labels are unchanged by definition, but the newest
    ``updated`` time is kept, which is what makes the result independent of arrival order.
    """
    accounts = list(local.accounts)
    index = {a.identity(): i for i, a in enumerate(accounts)}
    ids = {a.id for a in accounts}
    added: set[str] = set()
    for change in merge_plan.changes:
        if change.kind == "skipped":
            continue
        theirs = change.incoming
        i = index.get(theirs.identity())
        if i is not None:
            accounts[i] = _merge_pair(accounts[i], theirs)
            continue
        if theirs.id in ids:  # a different code under an id we already use: keep both apart
            theirs = replace(theirs, id=str(uuid.uuid4()))
        index[theirs.identity()] = len(accounts)
        ids.add(theirs.id)
        accounts.append(theirs)
        added.add(theirs.fingerprint())
    tombstones = tuple(t for t in local.tombstones if t.fingerprint not in added)
    return replace(local, accounts=tuple(accounts), tombstones=tombstones)
