"""Removals another device made: offered, declined and remembered, or applied with a
tombstone; never applied without being asked. Properties over generated vaults."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from daemon.core import payload, removals
from daemon.core.accounts import Account, Tombstone
from daemon.core.payload import VaultData
from tests.core.test_merge import T0, accounts, vaults

PHONE = "11111111-1111-4111-8111-111111111111"
NOW = T0 + timedelta(days=30)


@st.composite
def stones(draw: st.DrawFn) -> list[Tombstone]:
    """Tombstones for codes drawn like a vault's, removed before or after their change."""
    found = []
    for account in draw(st.lists(accounts(), max_size=6)):
        shift = timedelta(seconds=draw(st.integers(-500, 2000)))
        found.append(Tombstone(account.fingerprint(), account.label, account.updated + shift))
    return found


def stone_for(account: Account, later: int = 60) -> Tombstone:
    return Tombstone(
        account.fingerprint(), account.label, account.updated + timedelta(seconds=later)
    )


@given(vaults, stones())
def test_offering_and_declining_never_delete(local: VaultData, tombs: list[Tombstone]) -> None:
    offered = removals.offered(local, tombs, PHONE)
    declined = removals.decline(local, offered, PHONE)
    assert declined.accounts == local.accounts
    assert declined.tombstones == local.tombstones
    # Declined once, the same removals are not offered again; declining again adds nothing.
    assert removals.offered(declined, tombs, PHONE) == ()
    assert removals.decline(declined, offered, PHONE) == declined
    # The declined removals survive a save and a load of the vault.
    again = payload.decode(payload.encode(declined))
    assert removals.offered(again, tombs, PHONE) == ()


@given(vaults, stones())
def test_applying_removes_only_what_was_offered_and_is_idempotent(
    local: VaultData, tombs: list[Tombstone]
) -> None:
    offered = removals.offered(local, tombs, PHONE)
    after = removals.apply(local, offered, NOW)
    gone = {a.id for a, _ in offered}
    assert {a.id for a in after.accounts} == {a.id for a in local.accounts} - gone
    assert {a.fingerprint() for a, _ in offered} <= {t.fingerprint for t in after.tombstones}
    assert removals.apply(after, offered, NOW) == after
    assert removals.offered(after, tombs, PHONE) == ()


@given(vaults)
def test_a_removal_older_than_our_change_is_not_offered(local: VaultData) -> None:
    tombs = [stone_for(a, later=-1) for a in local.accounts]
    assert removals.offered(local, tombs, PHONE) == ()


def test_a_later_removal_is_offered_on_its_own_and_other_devices_are_apart() -> None:
    a = Account.create(secret="JBSWY3DPEHPK3PXP", issuer="GitHub", account="alice")
    local = VaultData(PHONE.replace("1", "2"), "here", T0, (a,))
    first = removals.offered(local, [stone_for(a, 60)], PHONE)
    assert [x for x, _ in first] == [a]
    kept = removals.decline(local, first, PHONE)
    assert removals.offered(kept, [stone_for(a, 60)], PHONE) == ()
    # The same code removed again there later (re-added, removed): a new question.
    assert [x for x, _ in removals.offered(kept, [stone_for(a, 999)], PHONE)] == [a]
    # Another device's removal of it is its own question too.
    other = "33333333-3333-4333-8333-333333333333"
    assert [x for x, _ in removals.offered(kept, [stone_for(a, 60)], other)] == [a]
