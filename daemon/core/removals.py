"""Removals another device made, offered here, never applied silently.

A backup carries its device's tombstones. A code that is here and that the other device
removed *after* our copy's last change (tombstone newer than our ``updated``) is offered as
"removed on phone". Approving without removals declines them: remembered in the vault as a
``Rejection`` of kind "removal" (its version: the tombstone's time), so the same removal is
not offered again, while a later removal of that code there (a newer tombstone) is. With
removals, the codes go and tombstones are recorded here too, so old backups do not bring
them back. Pure: values in, values out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from daemon.core.accounts import Account, Rejection, Tombstone
from daemon.core.payload import VaultData


def offered(
    local: VaultData, tombstones: Iterable[Tombstone], source: str
) -> tuple[tuple[Account, Tombstone], ...]:
    """The codes here that ``source`` removed after our copy last changed, not declined."""
    newest: dict[str, Tombstone] = {}
    for t in tombstones:
        if t.fingerprint not in newest or t.removed > newest[t.fingerprint].removed:
            newest[t.fingerprint] = t
    declined = {
        (r.fingerprint, r.version)
        for r in local.rejected
        if r.kind == "removal" and r.source == source
    }
    found = []
    for account in local.accounts:
        stone = newest.get(account.fingerprint())
        if stone is None or stone.removed <= account.updated:
            continue
        if any(fp == stone.fingerprint and v >= stone.removed for fp, v in declined):
            continue
        found.append((account, stone))
    return tuple(found)


def decline(
    local: VaultData, removals: Iterable[tuple[Account, Tombstone]], source: str
) -> VaultData:
    """Remember these removals as turned down: not offered again (until a newer one)."""
    known = {(r.source, r.fingerprint, r.version, r.kind) for r in local.rejected}
    added = []
    for account, stone in removals:
        r = Rejection(source, stone.fingerprint, account.label, stone.removed, "removal")
        if (r.source, r.fingerprint, r.version, r.kind) not in known:
            added.append(r)
            known.add((r.source, r.fingerprint, r.version, r.kind))
    return replace(local, rejected=(*local.rejected, *added))


def apply(
    local: VaultData, removals: Iterable[tuple[Account, Tombstone]], now: datetime
) -> VaultData:
    """Remove the offered codes that are still here, unchanged since (re-checked against
    ``local``), and record tombstones for them here."""
    wanted = {stone.fingerprint: stone for _, stone in removals}
    keep, stones = [], list(local.tombstones)
    present = {t.fingerprint for t in stones}
    for account in local.accounts:
        fp = account.fingerprint()
        stone = wanted.get(fp)
        if stone is not None and stone.removed > account.updated:
            if fp not in present:
                stones.append(Tombstone(fp, account.label, now))
                present.add(fp)
            continue
        keep.append(account)
    return replace(local, accounts=tuple(keep), tombstones=tuple(stones))
