"""Merge never loses a code: properties over generated vaults, and the named cases."""

from __future__ import annotations

import base64
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core import merge
from daemon.core.accounts import Account, Tombstone
from daemon.core.payload import VaultData

T0 = datetime(2026, 1, 1, tzinfo=UTC)
# A small pool of secrets, so generated vaults share codes as real devices do.
SECRETS = [base64.b32encode(bytes([i]) * 10).decode().rstrip("=") for i in range(6)]


@st.composite
def accounts(draw: st.DrawFn) -> Account:
    kind = draw(st.sampled_from(["totp", "hotp"]))
    created = T0 + timedelta(seconds=draw(st.integers(0, 1000)))
    return Account(
        type=kind,
        secret=draw(st.sampled_from(SECRETS)),
        issuer=draw(st.sampled_from(["GitHub", "GitLab", "Corp", ""])),
        account=draw(st.sampled_from(["alice", "bob", ""])),
        digits=draw(st.sampled_from([6, 8])),
        counter=draw(st.integers(0, 5)) if kind == "hotp" else 0,
        id=str(uuid.UUID(int=draw(st.integers(0, 2**32)))),
        created=created,
        updated=created + timedelta(seconds=draw(st.integers(0, 1000))),
    )


def vault_of(accts: list[Account], tombstones: tuple[Tombstone, ...] = ()) -> VaultData:
    # A vault never holds one code twice: that is what add() and merge guarantee.
    unique = merge.apply(VaultData("00000000-0000-4000-8000-000000000000", "here", T0),
                         merge.plan(VaultData("x", "x", T0), accts))  # fmt: skip
    return replace(unique, tombstones=tombstones)


vaults = st.lists(accounts(), max_size=8).map(vault_of)
backups = st.lists(accounts(), max_size=8)


def view(v: VaultData) -> set[tuple]:
    """What a person sees of a vault: each code with its labels and counter (ids aside)."""
    return {(a.identity(), a.issuer, a.account, a.counter, a.updated) for a in v.accounts}


def merged(local: VaultData, incoming: list[Account], **kw: object) -> VaultData:
    return merge.apply(local, merge.plan(local, incoming, **kw))  # type: ignore[arg-type]


@given(vaults, backups)
def test_never_deletes_or_lowers_a_counter(local: VaultData, incoming: list[Account]) -> None:
    after = merged(local, incoming)
    by_identity = {a.identity(): a for a in after.accounts}
    for a in local.accounts:
        assert a.identity() in by_identity
        assert by_identity[a.identity()].counter >= a.counter
        assert by_identity[a.identity()].id == a.id  # our ids are stable


@given(vaults, backups)
def test_idempotent(local: VaultData, incoming: list[Account]) -> None:
    once = merged(local, incoming)
    assert merged(once, incoming) == once
    assert not merge.plan(once, incoming).has_changes


@given(vaults, backups, backups)
@settings(max_examples=300)
def test_order_of_arrival_does_not_matter(
    local: VaultData, first: list[Account], second: list[Account]
) -> None:
    a_then_b = merged(merged(local, first), second)
    b_then_a = merged(merged(local, second), first)
    assert view(a_then_b) == view(b_then_a)


@given(vaults, backups)
def test_everything_incoming_ends_up_here(local: VaultData, incoming: list[Account]) -> None:
    after = merged(local, incoming)
    have = {a.identity() for a in after.accounts}
    assert {a.identity() for a in incoming} <= have
    assert len(have) == len(after.accounts)  # and never twice


@given(vaults, backups)
def test_plan_partitions_distinct_incoming_codes(local: VaultData, incoming: list[Account]) -> None:
    plan = merge.plan(local, incoming)
    counts = plan.counts()
    assert counts["total"] == len({a.identity() for a in incoming})
    assert counts["total"] == sum(counts[k] for k in ("new", "present", "updated", "skipped"))
    assert counts["new"] == len(merged(local, incoming).accounts) - len(local.accounts)


def code(secret: int = 0, **kw: object) -> Account:
    base = {"type": "totp", "secret": SECRETS[secret], "issuer": "GitHub", "account": "alice",
            "created": T0, "updated": T0}  # fmt: skip
    return Account(**(base | kw))  # type: ignore[arg-type]


def test_same_code_with_other_spelling_of_the_secret_is_present() -> None:
    local = vault_of([code()])
    raw = base64.b32encode(bytes([0]) * 10).decode()
    other = Account.create(secret=raw.lower(), issuer="GitHub", account="alice")
    plan = merge.plan(local, [replace(other, created=T0, updated=T0)])
    assert plan.counts() == {"total": 1, "new": 0, "present": 1, "updated": 0, "skipped": 0}


def test_newer_label_is_an_update_older_is_not() -> None:
    local = vault_of([code(updated=T0 + timedelta(hours=1))])
    newer = code(account="alice@new", updated=T0 + timedelta(hours=2))
    older = code(account="alice@old", updated=T0)
    plan = merge.plan(local, [newer])
    assert [c.kind for c in plan.changes] == ["updated"]
    assert "renamed" in plan.changes[0].reason
    assert merge.apply(local, plan).accounts[0].account == "alice@new"
    assert [c.kind for c in merge.plan(local, [older]).changes] == ["present"]


def test_hotp_counter_takes_the_larger() -> None:
    local = vault_of([code(type="hotp", counter=7)])
    assert merged(local, [code(type="hotp", counter=3)]).accounts[0].counter == 7
    plan = merge.plan(local, [code(type="hotp", counter=9)])
    assert plan.changes[0].kind == "updated"
    assert merge.apply(local, plan).accounts[0].counter == 9


def test_removed_code_stays_out_unless_asked() -> None:
    gone = code(1)
    local = vault_of([code()], (Tombstone(gone.fingerprint(), gone.label, T0),))
    plan = merge.plan(local, [gone])
    assert plan.changes[0].kind == "skipped"
    assert plan.changes[0].reason == "removed here"
    assert merge.apply(local, plan) == local
    back = merged(local, [gone], include_deleted=True)
    assert gone.identity() in {a.identity() for a in back.accounts}
    assert back.tombstones == ()


PHONE = "22222222-2222-4222-8222-222222222222"
TABLET = "33333333-3333-4333-8333-333333333333"


def test_rejected_codes_are_not_offered_again_by_that_device() -> None:
    offered = [code(2), code(3)]
    local = vault_of([])
    turned_down = merge.reject(local, merge.plan(local, offered, source=PHONE), PHONE)
    assert merge.reject(turned_down, merge.plan(local, offered, source=PHONE), PHONE) == (
        turned_down  # rejecting twice records nothing new
    )
    again = merge.plan(turned_down, [*offered, code(4)], source=PHONE)
    assert [(c.kind, c.reason) for c in again.changes] == [
        ("skipped", "rejected before"), ("skipped", "rejected before"), ("new", ""),
    ]  # fmt: skip
    # Another device offering the same codes is a new question.
    assert merge.plan(turned_down, offered, source=TABLET).counts()["new"] == 2
    added = merge.apply(turned_down, again).accounts
    assert [a.identity() for a in added] == [code(4).identity()]


def test_a_rejected_rename_comes_back_only_when_renamed_again() -> None:
    local = vault_of([code()])
    renamed = code(account="alice@work", updated=T0 + timedelta(hours=1))
    turned_down = merge.reject(local, merge.plan(local, [renamed], source=PHONE), PHONE)
    assert merge.plan(turned_down, [renamed], source=PHONE).changes[0].kind == "skipped"
    later = code(account="alice@home", updated=T0 + timedelta(hours=2))
    assert merge.plan(turned_down, [later], source=PHONE).changes[0].kind == "updated"


def test_rejections_stay_out_of_backups() -> None:
    local = vault_of([])
    turned_down = merge.reject(local, merge.plan(local, [code(2)], source=PHONE), PHONE)
    assert turned_down.rejected
    assert turned_down.for_backup().rejected == ()


def test_a_plan_applies_safely_to_a_vault_that_changed_since() -> None:
    before = vault_of([])
    plan = merge.plan(before, [code(type="hotp", counter=1)])
    since = vault_of([code(type="hotp", counter=5)])  # the same code arrived another way
    after = merge.apply(since, plan)
    assert len(after.accounts) == 1
    assert after.accounts[0].counter == 5


def test_id_collision_with_a_different_code_keeps_both() -> None:
    mine = code(0, id="11111111-1111-4111-8111-111111111111")
    theirs = code(1, id=mine.id)
    after = merged(vault_of([mine]), [theirs])
    assert len(after.accounts) == 2
    assert len({a.id for a in after.accounts}) == 2
