"""The sealed format's guarantees that cost nothing to check, and the master-key cache."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime

import pytest

from daemon.core import payload
from daemon.core.accounts import Account
from daemon.core.backup_format import (
    MAX_FILE_BYTES,
    KdfParams,
    MasterKeys,
    open_sealed,
    read_header,
    seal,
)
from daemon.core.payload import VaultData
from daemon.errors import (
    DamagedFile,
    FileTooLarge,
    KdfOutOfBounds,
    NotABackup,
    TruncatedFile,
    UnsupportedVersion,
    WrongPassphrase,
)

KDF = KdfParams(memory_kib=1024, iterations=1, lanes=1)
NOW = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)


def sealed(keys: MasterKeys, salt: bytes, device: str = "laptop", n: int = 1) -> bytes:
    vault = VaultData(
        str(uuid.uuid5(uuid.NAMESPACE_DNS, device)),
        device,
        NOW,
        tuple(Account.create(secret="JBSWY3DPEHPK3PXP" + "A" * (i % 5), issuer=f"S{i}")
              for i in range(n)),
    )  # fmt: skip
    return seal(payload.encode(vault), kind="backup", device_id=vault.device_id, device=device,
                created=NOW, keys=keys, kdf_salt=salt, kdf=KDF)  # fmt: skip


def rechecksum(data: bytes) -> bytes:
    """Recompute the end line, as a deliberate tamperer would."""
    body = data[: data[:-1].rfind(b"\n") + 1]
    return body + f"end sha256={hashlib.sha256(body).hexdigest()}\n".encode()


def test_round_trip_and_header() -> None:
    keys = MasterKeys("pw")
    data = sealed(keys, os.urandom(16), n=3)
    header, raw = open_sealed(data, MasterKeys("pw"))
    assert (header.kind, header.device, header.created) == ("backup", "laptop", NOW)
    assert len(payload.decode(raw, expect_device_id=header.device_id).accounts) == 3
    assert data.startswith(b"otpsync-backup v1\n")
    assert data.isascii()


def test_many_backups_from_two_devices_cost_two_kdf_runs() -> None:
    writer_a, writer_b = MasterKeys("pw"), MasterKeys("pw")
    salt_a, salt_b = os.urandom(16), os.urandom(16)
    files = [sealed(writer_a, salt_a, "laptop") for _ in range(50)]
    files += [sealed(writer_b, salt_b, "phone") for _ in range(50)]
    reader = MasterKeys("pw")
    for data in files:
        open_sealed(data, reader)
    assert reader.kdf_runs == 2
    assert writer_a.kdf_runs == 1


def test_wrong_passphrase_is_told_apart_from_damage() -> None:
    data = sealed(MasterKeys("pw"), os.urandom(16))
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        open_sealed(data, MasterKeys("not it"))


def test_tampering_that_fixes_the_checksum_is_still_caught() -> None:
    data = sealed(MasterKeys("pw"), os.urandom(16))
    forged = rechecksum(data.replace(b"device: laptop", b"device: laptoq"))
    with pytest.raises(DamagedFile, match="tampered"):
        open_sealed(forged, MasterKeys("pw"))
    lines = data.split(b"\n")
    body_line = lines.index(b"") + 1
    flipped = bytearray(lines[body_line])
    flipped[5] = ord("A") if flipped[5] != ord("A") else ord("B")
    lines[body_line] = bytes(flipped)
    with pytest.raises(DamagedFile, match="tampered"):
        open_sealed(rechecksum(b"\n".join(lines)), MasterKeys("pw"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kdf-memory-kib", "4194304"),  # 4 GiB
        ("kdf-iterations", "1000"),
        ("kdf-lanes", "64"),
        ("kdf-memory-kib", "4"),
    ],
)
def test_absurd_kdf_parameters_are_refused_before_any_work(field: str, value: str) -> None:
    data = sealed(MasterKeys("pw"), os.urandom(16))
    lines = [
        (f"{field}: {value}".encode() if line.startswith(field.encode() + b":") else line)
        for line in data.split(b"\n")
    ]
    reader = MasterKeys("pw")
    with pytest.raises(KdfOutOfBounds, match=r"out of bounds|at least"):
        open_sealed(rechecksum(b"\n".join(lines)), reader)
    assert reader.kdf_runs == 0


def test_cheap_checks_come_first() -> None:
    keys = MasterKeys("pw")
    data = sealed(keys, os.urandom(16))
    with pytest.raises(NotABackup):
        open_sealed(b"hello world\n", keys)
    with pytest.raises(NotABackup):
        open_sealed(b"", keys)
    with pytest.raises(UnsupportedVersion, match="v2"):
        open_sealed(data.replace(b"otpsync-backup v1", b"otpsync-backup v2", 1), keys)
    with pytest.raises(TruncatedFile):
        open_sealed(data[: len(data) // 2], keys)
    with pytest.raises(FileTooLarge):
        open_sealed(data + b"x" * MAX_FILE_BYTES, keys)
    assert keys.kdf_runs == 1  # only the writer's own derivation


def test_read_header_needs_no_passphrase() -> None:
    data = sealed(MasterKeys("pw"), os.urandom(16), device="phone")
    header = read_header(data)
    assert header.device == "phone"
    assert header.kdf == KDF


def test_each_file_has_its_own_nonce_and_file_key() -> None:
    keys, salt = MasterKeys("pw"), os.urandom(16)
    a, b = sealed(keys, salt), sealed(keys, salt)
    ha, hb = read_header(a), read_header(b)
    assert ha.kdf_salt == hb.kdf_salt
    assert ha.nonce != hb.nonce
    assert ha.hkdf_salt != hb.hkdf_salt
