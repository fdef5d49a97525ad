"""Core figures for the README: one KDF, 10,000-code export and merge, opening 100 backups.

Run: .venv/bin/python bench/bench_core.py   (prints figures; asserts nothing about speed)
"""

from __future__ import annotations

import base64
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from daemon.core import backup_format, merge, payload
from daemon.core.accounts import Account
from daemon.core.backup_format import KdfParams, MasterKeys
from daemon.core.filenames import backup_name
from daemon.core.payload import VaultData
from daemon.fsutil import write_new

N = 10_000
NOW = datetime.now(UTC).replace(microsecond=0)


def timed(fn, repeat: int = 5) -> tuple[float, object]:
    """Median seconds over ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def vault(device: str, n: int, offset: int = 0) -> VaultData:
    accounts = tuple(
        Account.create(
            secret=base64.b32encode((i + offset).to_bytes(20, "big")).decode(),
            issuer=f"Service {i + offset}",
            account=f"user{i + offset}@example.com",
        )
        for i in range(n)
    )
    return VaultData(str(uuid.uuid4()), device, NOW, accounts)


def seal(v: VaultData, keys: MasterKeys, salt: bytes, kdf: KdfParams) -> bytes:
    return backup_format.seal(
        payload.encode(v),
        kind="backup",
        device_id=v.device_id,
        device=v.device,
        created=NOW,
        keys=keys,
        kdf_salt=salt,
        kdf=kdf,
    )


def main() -> None:
    kdf = KdfParams()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(f"KDF: Argon2id {kdf.memory_kib // 1024} MiB, t={kdf.iterations}, p={kdf.lanes}")

    t, _ = timed(lambda: MasterKeys("pw").master_key(os.urandom(16), kdf), repeat=3)
    print(f"  one KDF run: {t * 1000:.0f} ms")

    keys, salt = MasterKeys("pw"), os.urandom(16)
    keys.master_key(salt, kdf)  # the one KDF a device pays; what follows is beyond it
    mine, theirs = vault("laptop", N), vault("phone", N, offset=N // 2)

    t, sealed = timed(lambda: seal(mine, keys, salt, kdf))
    print(f"export {N:,} codes (encode+seal, beyond the KDF): {t * 1000:.0f} ms,"
          f" {len(sealed) / 1048576:.1f} MiB")  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        t, _ = timed(lambda: write_new(Path(d), lambda n: backup_name(NOW, "laptop", n), sealed))
        print(f"  write it atomically (fsync, link): {t * 1000:.1f} ms")

    their_file = seal(theirs, MasterKeys("pw"), os.urandom(16), kdf)
    reader = MasterKeys("pw")
    reader.master_key(backup_format.read_header(their_file).kdf_salt, kdf)
    t, (_, raw) = timed(lambda: backup_format.open_sealed(their_file, reader))
    print(f"open a {N:,}-code backup (verify+decrypt, key cached): {t * 1000:.0f} ms")
    t, incoming = timed(lambda: payload.decode(raw))
    print(f"  decode+validate its payload: {t * 1000:.0f} ms")
    t, plan = timed(lambda: merge.plan(mine, incoming.accounts))
    c = plan.counts()
    print(f"plan merge {N:,} into {N:,}: {t * 1000:.0f} ms ({c['new']:,} new,"
          f" {c['present']:,} present)")  # fmt: skip
    t, merged = timed(lambda: merge.apply(mine, plan))
    print(f"  apply it: {t * 1000:.0f} ms → {len(merged.accounts):,} codes")

    devices = [(MasterKeys("pw"), os.urandom(16), vault(name, 20)) for name in ("laptop", "phone")]
    files = [seal(v, k, s, kdf) for k, s, v in devices for _ in range(50)]
    reader = MasterKeys("pw")
    start = time.perf_counter()
    for data in files:
        backup_format.open_sealed(data, reader)
    elapsed = time.perf_counter() - start
    print(f"open 100 backups from 2 devices: {reader.kdf_runs} KDF runs, {elapsed:.2f} s total")


if __name__ == "__main__":
    main()
