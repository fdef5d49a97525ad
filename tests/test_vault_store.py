"""The vault on disk: private, atomic, snapshotted, locked against a second process."""

from __future__ import annotations

import stat
import subprocess
import sys
import textwrap
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.core.accounts import Account
from daemon.core.backup_format import MasterKeys
from daemon.core.payload import VaultData
from daemon.errors import NothingToUndo, VaultBusy, VaultExists
from daemon.paths import Paths
from daemon.vault_store import VaultStore
from tests.conftest import FAST_KDF


@pytest.fixture
def store(tmp_path: Path) -> VaultStore:
    s = VaultStore(Paths.resolve(tmp_path / "home"), MasterKeys("pw"), FAST_KDF, keep=3)
    s.create(VaultData(str(uuid.uuid4()), "laptop", datetime.now(UTC)), device="laptop")
    return s


def add(store: VaultStore, n: int) -> VaultData:
    with store.locked():
        v = store.load()
        store.snapshot("add")
        acct = Account.create(secret="JBSWY3DPEHPK3PXP" + "A" * 8 * n, issuer=str(n))
        new = VaultData(v.device_id, v.device, v.created, (*v.accounts, acct))
        store.save(new, device="laptop")
    return new


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_files_are_private(store: VaultStore) -> None:
    add(store, 1)
    assert mode(store.paths.vault_file) == 0o600
    assert mode(store.paths.data_dir) == 0o700
    assert mode(store.paths.snapshots_dir) == 0o700
    assert all(mode(p) == 0o600 for p in store.paths.snapshots_dir.iterdir() if p.is_file())
    assert not [p for p in store.paths.data_dir.iterdir() if p.name.endswith(".tmp")]


def test_create_refuses_to_overwrite(store: VaultStore) -> None:
    before = store.paths.vault_file.read_bytes()
    with pytest.raises(VaultExists):
        store.create(VaultData(str(uuid.uuid4()), "x", datetime.now(UTC)), device="x")
    assert store.paths.vault_file.read_bytes() == before


def test_snapshots_keep_the_newest_and_undo_walks_back(store: VaultStore) -> None:
    for n in range(1, 6):
        add(store, n)
    snaps = store.snapshots()
    assert len(snaps) == 3
    with store.locked():
        _, restored = store.undo()
    assert len(restored.accounts) == 4
    with store.locked():
        _, restored = store.undo()
    assert len(restored.accounts) == 3
    assert len(store.load().accounts) == 3
    undone = list((store.paths.snapshots_dir / "undone").iterdir())
    assert len(undone) == 2  # what undo replaced is kept, never lost


def test_undo_with_no_snapshot(store: VaultStore) -> None:
    with store.locked(), pytest.raises(NothingToUndo):
        store.undo()


def test_salt_is_stable_so_a_device_costs_one_kdf(store: VaultStore) -> None:
    keys = MasterKeys("pw")
    reader = VaultStore(store.paths, keys, FAST_KDF, keep=3)
    for n in range(1, 4):
        add(store, n)
        reader.load()
    assert keys.kdf_runs == 1


def test_a_second_process_holding_the_lock_blocks_changes(store: VaultStore) -> None:
    """Another process holds the lock: our change waits, then fails clearly, never clobbers."""
    code = textwrap.dedent(f"""
        import sys, filelock
        with filelock.FileLock({str(store.paths.vault_lock)!r}):
            print("locked", flush=True)
            sys.stdin.read()
    """)
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        impatient = VaultStore(store.paths, store.keys, FAST_KDF, keep=3, lock_timeout=0.2)
        with pytest.raises(VaultBusy, match="locked by another otpsync"), impatient.locked():
            pass
    finally:
        holder.communicate("", timeout=10)
    with store.locked():
        pass  # free again once the other process let go
